"""Formats as written in nginx.conf, and lines NGINX can write parsed back field by field."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sidecars.nginxlog.logformat import COMBINED, LogFormat
from sidecars.nginxlog.parser import LineParser

from .conftest import REFERENCE

ALL = {"method", "path", "status", "bytes", "request_time", "upstream_time"}


def test_combined_is_the_default_and_a_name() -> None:
    assert LogFormat.parse("").text == COMBINED
    assert LogFormat.parse("combined").text == COMBINED


def test_a_whole_directive_with_several_quoted_parts() -> None:
    text = """log_format  main  '$remote_addr - $remote_user [$time_local] "$request" '
                      '$status $body_bytes_sent "$http_referer" '
                      '"$http_user_agent" "$http_x_forwarded_for"';"""
    parsed = LogFormat.parse(text)
    assert parsed.text.startswith('$remote_addr - $remote_user [$time_local] "$request" $status')
    assert parsed.text.endswith('"$http_user_agent" "$http_x_forwarded_for"')
    assert parsed.escape == "default"


def test_escape_json_directive() -> None:
    text = """log_format j escape=json '{"s":$status,"r":"$request","t":$request_time}';"""
    parsed = LogFormat.parse(text)
    assert parsed.escape == "json"
    parser = LineParser(parsed, {"method", "path", "status", "request_time"})
    rows: list[tuple[bytes, ...]] = []
    bad: list[bytes] = []
    line = b'{"s":200,"r":"GET /a\\"b HTTP/1.1","t":0.5}\n'
    assert parser.scan(line, rows, bad) == 1
    assert not bad
    (row,) = rows
    fields = dict(zip(parser.fields, row, strict=False))
    assert fields == {
        "method": b"GET",
        "path": b'/a\\"b',
        "status": b"200",
        "request_time": b"0.5",
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("$remote_addr $stauts", "unknown variable $stauts at column 14"),
        ("no variables here", "names no $variable"),
        ("log_format x escape=yaml '$status';", "escape=yaml"),
    ],
)
def test_bad_formats_are_explained(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("$", r"\$")):
        LogFormat.parse(text)


def test_variables_from_map_can_be_declared() -> None:
    parsed = LogFormat.parse("$status $my_var", frozenset({"my_var"}))
    assert parsed.variables() == ["status", "my_var"]


_SAFE = st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters='"\\')
_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E, exclude_characters='"\\'))
_TIME = st.integers(0, 99_999).map(lambda ms: f"{ms / 1000:.3f}")
_UPSTREAM = st.lists(st.one_of(_TIME, st.just("-")), min_size=1, max_size=4).flatmap(
    lambda items: st.lists(st.sampled_from([", ", " : "]), min_size=len(items) - 1,
                           max_size=len(items) - 1).map(
        lambda seps: items[0] + "".join(s + i for s, i in zip(seps, items[1:], strict=True))
    )
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PROPFIND", "BREW"]),
    path=st.text(_SAFE, min_size=1, max_size=60),
    status=st.integers(100, 599).map(str),
    size=st.integers(0, 10**12).map(str),
    request_time=_TIME,
    upstream=_UPSTREAM,
    user=st.one_of(st.just("-"), st.text(_SAFE, min_size=1, max_size=20)),
    referer=_TEXT,
    agent=_TEXT,
)
def test_any_line_nginx_writes_parses_back_to_its_fields(
    method: str,
    path: str,
    status: str,
    size: str,
    request_time: str,
    upstream: str,
    user: str,
    referer: str,
    agent: str,
) -> None:
    values = {
        "remote_addr": "10.1.2.3",
        "remote_user": user,
        "time_local": "22/Nov/2026:04:00:01 +0000",
        "request": f"{method} {path} HTTP/1.1",
        "status": status,
        "body_bytes_sent": size,
        "http_referer": referer,
        "http_user_agent": agent,
        "request_time": request_time,
        "upstream_response_time": upstream,
    }
    line = REFERENCE
    for name in sorted(values, key=len, reverse=True):
        line = line.replace(f"${name}", values[name])
    parser = LineParser(LogFormat.parse(REFERENCE), ALL)
    rows: list[tuple[bytes, ...]] = []
    bad: list[bytes] = []
    assert parser.scan(line.encode() + b"\n", rows, bad) == 1
    assert bad == []
    (row,) = rows
    fields = dict(zip(parser.fields, row, strict=False))
    assert fields == {
        "method": method.encode(),
        "path": path.encode(),
        "status": status.encode(),
        "bytes": size.encode(),
        "request_time": request_time.encode(),
        "upstream_time": upstream.encode(),
    }


JSON_FORMAT = (
    "log_format j escape=json "
    """'{"r":"$request","s":$status,"t":$request_time,"a":"$http_user_agent"}';"""
)


@settings(max_examples=200, deadline=None)
@given(
    path=st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=40),
    agent=st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40),
    status=st.integers(100, 599).map(str),
    request_time=_TIME,
)
def test_escape_json_lines_parse_back(
    path: str, agent: str, status: str, request_time: str
) -> None:
    def escaped(text: str) -> str:
        return json.dumps(text)[1:-1]  # what escape=json writes for printable ASCII

    line = (
        f'{{"r":"{escaped(f"GET {path} HTTP/1.1")}","s":{status},"t":{request_time},'
        f'"a":"{escaped(agent)}"}}'
    )
    assert json.loads(line)["a"] == agent
    parser = LineParser(LogFormat.parse(JSON_FORMAT), {"method", "path", "status", "request_time"})
    rows: list[tuple[bytes, ...]] = []
    bad: list[bytes] = []
    assert parser.scan(line.encode() + b"\n", rows, bad) == 1
    assert bad == []
    (row,) = rows
    assert dict(zip(parser.fields, row, strict=False)) == {
        "method": b"GET",
        "path": escaped(path).encode(),
        "status": status.encode(),
        "request_time": request_time.encode(),
    }
