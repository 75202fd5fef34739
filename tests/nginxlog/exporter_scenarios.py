"""prometheus-nginxlog-exporter's behaviour scenarios, restated as data for
``test_exporter_scenarios.py``: each configures nginxlog as the exporter would be
configured (its config file, or its command line), writes log lines to files or sends them
over syslog, and names the samples ``/metrics`` must then show."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["SCENARIOS", "Expect", "Scenario", "Write"]

_HEAD = '$remote_addr - $remote_user [$time_local] \\"$request\\" $status $body_bytes_sent'
_TAIL = '\\"$http_referer\\" \\"$http_user_agent\\"'
COMBINED_XFF = f'{_HEAD} {_TAIL} \\"$http_x_forwarded_for\\"'
"""The exporter's default format, as written inside a double-quoted config string."""
FLAG_FORMAT = COMBINED_XFF.replace('\\"', '"')

LINE = (
    '172.17.0.1 - - [23/Jun/2016:16:04:20 +0000] "{method} {path} HTTP/1.1" {status} 612 '
    '"-" "curl/7.29.0" "-"'
)


def line(method: str = "GET", status: int = 200, path: str = "/", tail: str = "") -> str:
    return LINE.format(method=method, status=status, path=path) + tail


@dataclass(frozen=True)
class Write:
    """Lines appended to a file under ``.behave-sandbox/`` or sent to a syslog address
    (``udp:PORT`` or ``unix:PATH``)."""

    to: str
    lines: tuple[str, ...]


@dataclass(frozen=True)
class Expect:
    name: str
    value: float
    labels: dict[str, str] = field(default_factory=dict)
    endpoint: str = "/metrics"


@dataclass(frozen=True)
class Scenario:
    id: str
    writes: tuple[Write, ...]
    expects: tuple[Expect, ...]
    config: tuple[str, str] | None = None
    """(file name, text) of an exporter config file, or None for ``args``."""
    args: tuple[str, ...] = ()
    stop_removes: str | None = None
    """A path that must be gone after SIGTERM."""


def _get200(_value: float, **extra: str) -> dict[str, str]:
    return {"method": "GET", "status": "200", **extra}


COUNT = "nginx_http_response_count_total"

HCL_TWO = f"""port = 4040

namespace "nginx" {{
  source {{
    files = [".behave-sandbox/access-1.log"]
  }}
  format = "{COMBINED_XFF}"
  histogram_buckets = [.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10]
}}

namespace "apache" {{
  source {{
    files = [".behave-sandbox/access-2.log"]
  }}
  format = "{COMBINED_XFF}"
}}
"""

YAML_TWO = f"""listen:
  port: 4040

namespaces:
  - name: nginx
    source:
      files:
        - .behave-sandbox/access-1.log
    format: "{COMBINED_XFF}"
    histogram_buckets: [.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10]
  - name: apache
    source:
      files:
        - .behave-sandbox/access-2.log
    format: "{COMBINED_XFF}"
"""

CUSTOM_ENDPOINT = f"""listen:
  port: 4040
  metrics_endpoint: /custom

namespaces:
  - name: nginx
    source:
      files:
        - .behave-sandbox/access.log
    format: "{COMBINED_XFF}"
    histogram_buckets: [.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10]
"""

LABELS = f"""port = 4040

namespace "nginx" {{
  source {{
    files = [".behave-sandbox/access.log"]
  }}
  format = "{COMBINED_XFF}"
  labels {{
    foo = "bar"
  }}
}}
"""


def _labelled(names: list[str], extra: str = "") -> str:
    files = {"one": "access", "two": "access-two", "three": "access-three",
             "four": "access-four", "five": "access-five"}  # fmt: skip
    blocks = []
    for number, name in enumerate(names, start=1):
        blocks.append(f"""namespace "test{name}" {{
  source_files = [".behave-sandbox/{files[name]}.log"]
  format = "{COMBINED_XFF}"
  labels {{
    test1 = "{number}-1"
    test2 = "{number}-2"
  }}
{extra}}}
""")
    return "port = 4040\n\n" + "\n".join(blocks)


LABELS_MULTI = _labelled(["one", "two", "three", "four", "five"])
NAMESPACE_LABEL = _labelled(
    ["one", "two"], '  metrics_override = { prefix = "test" }\n  namespace_label = "vhost"\n'
)

ROUTES = f"""port = 4040
enable_experimental = true

namespace "nginx" {{
  source_files = [".behave-sandbox/access.log"]
  format = "{COMBINED_XFF}"
  relabel "request_uri" {{
    from = "request"
    split = 2
    match "^/users/[0-9]+" {{
      replacement = "/users/:id"
    }}
    match "^/profile" {{
      replacement = "/profile"
    }}
    match {{
      replacement = ""
    }}
  }}
}}
"""


def _yaml_one(format_text: str, name: str = "test", files: str = "access") -> str:
    sources = "".join(f"      - .behave-sandbox/{f}.log\n" for f in files.split(","))
    return (
        "enable_experimental: true\n\nlisten:\n  port: 4040\n\nnamespaces:\n"
        f'  - name: {name}\n    format: "{format_text}"\n    source_files:\n{sources}'
    )


TAB_SEPARATED = _yaml_one(
    "$time_iso8601\\t$geoip_country_code\\t$remote_addr\\t$scheme\\t$host\\t$request_method"
    '\\t\\"$request_uri\\"\\t$status\\t$body_bytes_sent\\t\\"$http_referer\\"'
    '\\t\\"$http_user_agent\\"\\t-\\t$request_time\\t$upstream_response_time',
    name="ht_router",
)
XFF_FORMAT = _yaml_one(COMBINED_XFF)
SIZES_FORMAT = f"{_HEAD} {_TAIL} $process_time $bytes_sent $request_length"
TRAILING_NUMBERS = _yaml_one(SIZES_FORMAT)
MESSAGE_SIZES = _yaml_one(f"{_HEAD} {_TAIL} $bytes_sent $request_length")
UPSTREAM_LISTS = _yaml_one(
    f'$server_name {_HEAD} {_TAIL} $request_time \\"$upstream_response_time\\" $pipe '
    "$ssl_protocol/$ssl_cipher $request_id $host"
)
LITERAL_TWO = (
    "enable_experimental: true\n\nlisten:\n  port: 4040\n\nnamespaces:\n"
    '  - name: test\n    format: "foo"\n    source_files:\n      - .behave-sandbox/access.log\n'
    '  - name: test2\n    format: "bar"\n    source_files:\n      - .behave-sandbox/access2.log\n'
)
LITERAL_TWO_FILES = _yaml_one("foo", files="access,access2")
LITERAL_LABELLED = "enable_experimental: true\n\nlisten:\n  port: 4040\n\nnamespaces:\n" + "".join(
    f"  - name: {name}\n    namespace_label: vhost\n    metrics_override:\n"
    f'      prefix: http\n    format: "{text}"\n    source_files:\n'
    f"      - .behave-sandbox/{log}.log\n"
    for name, text, log in (("test", "foo", "access"), ("test2", "bar", "access2"))
)
TIMES = f"{COMBINED_XFF} $request_time $upstream_response_time"
ONLY_COUNTER_STATUS = f"""listen {{
  port = 4040
}}

namespace "nginx" {{
  source = {{
    files = [".behave-sandbox/access.log"]
  }}
  format = "{TIMES}"
  relabel "status" {{
    from = "status"
    only_counter = true
  }}
  relabel "method" {{
    from = "request"
    only_counter = true
    split = 1
    whitelist = [ "GET" ]
  }}
}}
"""
ONLY_COUNTER = f"""port = 4040
enable_experimental = true

namespace "nginx" {{
  source {{
    files = [".behave-sandbox/access.log"]
  }}
  format = "{TIMES}"
  relabel "user" {{
    from = "remote_user"
    whitelist = ["foo", "bar"]
  }}
  relabel "path" {{
    from = "request"
    split = 2
    only_counter = true
  }}
}}
"""
RELABEL = f"""port = 4040
enable_experimental = true

namespace "nginx" {{
  source {{
    files = [".behave-sandbox/access.log"]
  }}
  format = "{COMBINED_XFF}"
  relabel "user" {{
    from = "remote_user"
    whitelist = ["foo", "bar"]
  }}
}}
"""


def _syslog(address: str) -> str:
    return (
        "listen:\n  port: 4040\n\nnamespaces:\n  - name: nginx\n    source:\n      syslog:\n"
        f'        listen_address: {address}\n        tags:\n          - ""\n'
        f'    format: "{COMBINED_XFF}"\n'
    )


SOCKET = "/tmp/syslog.sock"

_UPSTREAM = f"{FLAG_FORMAT} $upstream_response_time"
_CONNECT = f"{FLAG_FORMAT} $upstream_response_time $upstream_connect_time"
_REQUEST = f"{FLAG_FORMAT} $request_time"
_ACCESS = ".behave-sandbox/access.log"
_REF_217 = (
    'www.example.com 10.0.0.{n} - - [27/Oct/2021:06:00:1{s} +0200] "GET /websocket HTTP/1.1" '
    '200 {size} "-" "{agent}" {rt} "{ut}" . TLSv1.3/TLS_AES_256_GCM_SHA384 1234567890 '
    "www.example.com"
)


def _w(to: str, *lines: str) -> Write:
    return Write(to, lines)


def _e(name: str, value: float, endpoint: str = "/metrics", **labels: str) -> Expect:
    return Expect(name, value, labels, endpoint)


_ONLY = (
    line(path="/users", tail=" 10 10"),
    line(path="/groups", tail=" 10 10").replace("- - [", "- foo [").replace(" 612 ", " 518 "),
)
_ONE = line()


def _quartet(tail: list[str]) -> tuple[str, ...]:
    return tuple(line(tail=f" {t}") for t in tail)


SCENARIOS: list[Scenario] = [
    # configfile
    Scenario("hcl-one-request", (_w("access-1.log", _ONE),),
             (_e(COUNT, 1, **_get200(1)),), config=("c.hcl", HCL_TWO)),
    Scenario("hcl-two-files", (_w("access-1.log", _ONE), _w("access-2.log", line(status=400))),
             (_e(COUNT, 1, **_get200(1)),
              _e("apache_http_response_count_total", 1, method="GET", status="400")),
             config=("c.hcl", HCL_TWO)),
    # configfile_yaml
    Scenario("yaml-one-request", (_w("access-1.log", _ONE),),
             (_e(COUNT, 1, **_get200(1)),), config=("c.yaml", YAML_TWO)),
    Scenario("yaml-two-files", (_w("access-1.log", _ONE), _w("access-2.log", line(status=400))),
             (_e(COUNT, 1, **_get200(1)),
              _e("apache_http_response_count_total", 1, method="GET", status="400")),
             config=("c.yaml", YAML_TWO)),
    # counting (command line)
    Scenario("flags-one", (_w("access.log", _ONE),), (_e(COUNT, 1, **_get200(1)),),
             args=("--format", FLAG_FORMAT, _ACCESS)),
    Scenario("flags-three", (_w("access.log", _ONE, _ONE, _ONE),), (_e(COUNT, 3, **_get200(1)),),
             args=("--format", FLAG_FORMAT, _ACCESS)),
    Scenario("flags-by-method", (_w("access.log", _ONE, _ONE, line("POST")),),
             (_e(COUNT, 2, **_get200(1)), _e(COUNT, 1, method="POST", status="200")),
             args=("--format", FLAG_FORMAT, _ACCESS)),
    Scenario("flags-by-status", (_w("access.log", _ONE, _ONE, line(status=500)),),
             (_e(COUNT, 2, **_get200(1)), _e(COUNT, 1, method="GET", status="500")),
             args=("--format", FLAG_FORMAT, _ACCESS)),
    # custom_endpoint
    Scenario("custom-endpoint", (_w("access.log", _ONE),),
             (_e(COUNT, 1, "/custom", **_get200(1)),), config=("c.yaml", CUSTOM_ENDPOINT)),
    # custom_labels
    Scenario("static-labels", (_w("access.log", _ONE),),
             (_e(COUNT, 1, foo="bar", **_get200(1)),), config=("c.hcl", LABELS)),
    Scenario("static-labels-five-namespaces",
             (_w("access.log", _ONE), _w("access-two.log", line("POST", 500))),
             (_e("testone_http_response_count_total", 1, test1="1-1", test2="1-2", **_get200(1)),
              _e("testtwo_http_response_count_total", 1, method="POST", status="500",
                 test1="2-1", test2="2-2")),
             config=("c.hcl", LABELS_MULTI)),
    Scenario("relabel-routes",
             (_w("access.log", line(path="/users/1234"), line(path="/users/4321"),
                 line(path="/profile"), line(path="/foo")),),
             (_e(COUNT, 2, request_uri="/users/:id", **_get200(1)),
              _e(COUNT, 1, request_uri="/profile", **_get200(1)),
              _e(COUNT, 1, request_uri="", **_get200(1))),
             config=("c.hcl", ROUTES)),
    Scenario("namespace-label",
             (_w("access.log", _ONE), _w("access-two.log", line("POST", 500))),
             (_e("test_http_response_count_total", 1, test1="1-1", test2="1-2", vhost="testone",
                 **_get200(1)),
              _e("test_http_response_count_total", 1, method="POST", status="500",
                 test1="2-1", test2="2-2", vhost="testtwo")),
             config=("c.hcl", NAMESPACE_LABEL)),
    # formats and values the exporter once got wrong
    Scenario("tab-separated-method-without-request",
             (_w("access.log", "2018-07-19T23:21:56+03:00\tRU\t141.8.0.0\thttps\twww.example.com"
                 '\tGET\t"/robots.txt"\t200\t38\t"-"\t"Mozilla/5.0 (compatible; YandexBot/3.0; '
                 '+http://yandex.com/bots)"\t-\t0.000\t0.001'),),
             (_e("ht_router_http_response_count_total", 1, method="", status="200"),),
             config=("c.yaml", TAB_SEPARATED)),
    Scenario("paths-with-digits",
             (_w("access.log", *(
                 f'10.rr.ii.yy - - [25/Dec/2019:08:06:42 +0300] "GET {p} HTTP/1.1" 200 {s} "-" '
                 '"Java/11.0.2" "-"' for p, s in (
                     ("/offsets/topic/xxx-xxx/partition/0", 96),
                     ("/api/v2/topics/xxx-xxxx/partitions/0/offsets", 68),
                     ("/api/v2/topics/xxxxxx/partitions/2/messages?offset=96&count=10", 41)))),),
             (_e("test_http_response_count_total", 3, **_get200(1)),),
             config=("c.yaml", XFF_FORMAT)),
    Scenario("trailing-numbers",
             (_w("access.log", '28.90.74.145 - - [17/Jan/2020:10:18:11 +0000] "GET '
                 '/category/finance HTTP/1.1" 200 83 "/category/books?from=20" "Mozilla/5.0 '
                 '(compatible; Googlebot/2.1; +http://www.google.com/bot.html)" 5175 1477 8842'),),
             (_e("test_http_response_count_total", 1, **_get200(1)),),
             config=("c.yaml", TRAILING_NUMBERS)),
    Scenario("upstream-time-lists",
             (_w("access.log", *(
                 _REF_217.format(n=n, s=s, size=size, agent=agent, rt=rt,
                                 ut="1.000, 0.250, 2.000, 0.750")
                 for n, s, size, agent, rt in (
                     (1, 4, 552, "SomeUserAgentString", "0.000"),
                     (2, 5, 552, "AnotherUserAgent", "0.000"),
                     (3, 5, 150, "SomeUserAgentString", "0.001")))),),
             (_e("test_http_upstream_time_seconds_sum", 12, **_get200(1)),),
             config=("c.yaml", UPSTREAM_LISTS)),
    Scenario("literal-formats-two-namespaces",
             (_w("access.log", "wrong", "foo", "wrong", "wrong", "foo"),
              _w("access2.log", "bar", "wrong", "bar", "wrong")),
             (_e("test_parse_errors_total", 3), _e("test2_parse_errors_total", 2)),
             config=("c.yaml", LITERAL_TWO)),
    Scenario("literal-format-two-files",
             (_w("access.log", "foo", "bar", "bar", "bar"), _w("access2.log", "bar", "bar")),
             (_e("test_parse_errors_total", 5),), config=("c.yaml", LITERAL_TWO_FILES)),
    Scenario("literal-formats-namespace-label",
             (_w("access.log", "wrong", "foo", "wrong", "wrong", "foo"),
              _w("access2.log", "bar", "wrong", "bar", "wrong")),
             (_e("http_parse_errors_total", 3, vhost="test"),
              _e("http_parse_errors_total", 2, vhost="test2")),
             config=("c.yaml", LITERAL_LABELLED)),
    Scenario("only-counter-status-and-method",
             (_w("access.log", *(line(m, s, tail=" 10 10")
                                 for m, s in (("GET", 200), ("POST", 200), ("GET", 500),
                                              ("GET", 418)))),),
             (_e(COUNT, 1, **_get200(1)), _e(COUNT, 1, method="other", status="200"),
              _e("nginx_http_response_time_seconds_hist_count", 4)),
             config=("c.hcl", ONLY_COUNTER_STATUS)),
    Scenario("upstream-time-dashes",
             (_w("access.log",
                 _REF_217.format(n=1, s=4, size=552, agent="SomeUserAgentString", rt="0.000",
                                 ut="1.000, -, 2.000"),
                 _REF_217.format(n=2, s=5, size=552, agent="AnotherUserAgent", rt="-",
                                 ut="1.000")),),
             (_e("test_parse_errors_total", 0),
              _e("test_http_upstream_time_seconds_sum", 4, **_get200(1))),
             config=("c.yaml", UPSTREAM_LISTS)),
    # message_sizes
    Scenario("response-sizes",
             (_w("access.log", SIZES_FORMAT.replace('\\"', '\\"'),
                 line(tail=" 300 400").replace(" 612 ", " 1000 ").replace(' "-" 300', " 300"),
                 line(tail=" 300 500").replace(" 612 ", " 2000 ").replace(' "-" 300', " 300")),),
             (_e("test_http_response_size_bytes", 3000, **_get200(1)),),
             config=("c.yaml", MESSAGE_SIZES)),
    Scenario("request-sizes",
             (_w("access.log",
                 line(tail=" 300 400").replace(" 612 ", " 1000 ").replace(' "-" 300', " 300"),
                 line(tail=" 300 500").replace(" 612 ", " 2000 ").replace(' "-" 300', " 300")),),
             (_e("test_http_request_size_bytes", 900, **_get200(1)),),
             config=("c.yaml", MESSAGE_SIZES)),
    # only_counter_relabel
    Scenario("only-counter-on-counter", (_w("access.log", *_ONLY),),
             (_e(COUNT, 1, path="/groups", user="foo", **_get200(1)),
              _e(COUNT, 1, path="/users", user="other", **_get200(1))),
             config=("c.hcl", ONLY_COUNTER)),
    Scenario("only-counter-not-on-sizes", (_w("access.log", *_ONLY),),
             (_e("nginx_http_response_size_bytes", 518, user="foo", **_get200(1)),
              _e("nginx_http_response_size_bytes", 612, user="other", **_get200(1))),
             config=("c.hcl", ONLY_COUNTER)),
    Scenario("only-counter-not-on-times", (_w("access.log", *_ONLY),),
             tuple(_e(f"nginx_http_{kind}_time_seconds{suffix}_count", 1, user=user, **_get200(1))
                   for kind in ("upstream", "response") for suffix in ("_hist", "")
                   for user in ("foo", "other")),
             config=("c.hcl", ONLY_COUNTER)),
    # relabel
    Scenario("relabel-whitelist", (_w("access.log", _ONE, _ONE.replace("- - [", "- foo [")),),
             (_e(COUNT, 1, user="foo", **_get200(1)), _e(COUNT, 1, user="other", **_get200(1))),
             config=("c.hcl", RELABEL)),
    # response_times (command line; summaries are on, as in the exporter)
    Scenario("summary-one", (_w("access.log", *_quartet(["10"])),),
             (_e("nginx_http_upstream_time_seconds", 10, quantile="0.5", **_get200(1)),),
             args=("--format", _UPSTREAM, _ACCESS)),
    Scenario("summary-upstream-median", (_w("access.log", *_quartet(["10", "20", "30", "40"])),),
             (_e("nginx_http_upstream_time_seconds", 20, quantile="0.5", **_get200(1)),),
             args=("--format", _UPSTREAM, _ACCESS)),
    Scenario("summary-connect-median",
             (_w("access.log", *_quartet(["10 5", "20 5", "30 10", "40 10"])),),
             (_e("nginx_http_upstream_connect_time_seconds", 5, quantile="0.5", **_get200(1)),),
             args=("--format", _CONNECT, _ACCESS)),
    Scenario("summary-response-median", (_w("access.log", *_quartet(["10", "20", "30", "40"])),),
             (_e("nginx_http_response_time_seconds", 20, quantile="0.5", **_get200(1)),),
             args=("--format", _REQUEST, _ACCESS)),
    # syslog
    Scenario("syslog-udp", (_w("udp:1234", _ONE),), (_e(COUNT, 1, **_get200(1)),),
             config=("c.yaml", _syslog("udp://0.0.0.0:1234"))),
    Scenario("syslog-unix", (_w(f"unix:{SOCKET}", _ONE),), (_e(COUNT, 1, **_get200(1)),),
             config=("c.yaml", _syslog(f"unix://{SOCKET}")), stop_removes=SOCKET),
]  # fmt: skip
