"""Raw request and response vectors: RFC 9112 grammar edges and the smuggling classics.

Each request vector is written on a fresh client connection to HAProxy and to the ambassador;
each response vector is what the backend sends back to ``/first``. ``differs`` names the
reason when the ambassador deliberately does not do what HAProxy does (keep these few)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .harness import Exchange, Request, parse_llhttp

__all__ = ["REQUESTS", "RESPONSES", "ResponseVector", "Vector"]

Check = Callable[[Exchange], str | None]


@dataclass(frozen=True)
class Vector:
    """A request vector. ``requests``: final answers a client expects when all goes well
    (the read stops early once they came); ``refuse``: RFC 9112 (or the ambassador's README)
    says the ambassador answers 4xx, whatever HAProxy does; ``check``: one more condition
    on the ambassador's exchange, returning a problem or None."""

    name: str
    raw: bytes
    differs: str | None = None
    requests: int = 1
    half_close: bool = False
    refuse: bool = False
    methods: tuple[bytes, ...] = ()
    check: Check | None = field(default=None, compare=False)


@dataclass(frozen=True)
class ResponseVector:
    """A response vector: the backend's raw answer to ``method /first``; ``close``: the
    backend closes after sending it (a body read to EOF)."""

    name: str
    raw: bytes
    method: bytes = b"GET"
    close: bool = False
    differs: str | None = None
    check: Check | None = field(default=None, compare=False)


# helpers

H = b"Host: x\r\n"
SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"


def get(target: bytes = b"/", *lines: bytes, version: bytes = b"HTTP/1.1") -> bytes:
    return b"GET " + target + b" " + version + b"\r\n" + H + b"".join(lines) + b"\r\n"


def post(body: bytes, *lines: bytes, length: bool = True) -> bytes:
    cl = b"Content-Length: %d\r\n" % len(body) if length else b""
    return b"POST /p HTTP/1.1\r\n" + H + cl + b"".join(lines) + b"\r\n" + body


def chunked(body: bytes, *lines: bytes, te: bytes = b"Transfer-Encoding: chunked\r\n") -> bytes:
    return b"POST /p HTTP/1.1\r\n" + H + te + b"".join(lines) + b"\r\n" + body


def cl_te(te_line: bytes) -> bytes:
    """Content-Length covers a chunked end and a smuggled request; chunked ends early."""
    body = b"0\r\n\r\n" + SMUGGLED
    return (
        b"POST /p HTTP/1.1\r\n"
        + H
        + b"Content-Length: %d\r\n" % len(body)
        + te_line
        + (b"\r\n" + body)
    )


def te_cl(te_line: bytes) -> bytes:
    """Chunked covers a chunk holding a smuggled request; Content-Length covers its size line."""
    size = b"%x\r\n" % len(SMUGGLED)
    body = size + SMUGGLED + b"\r\n0\r\n\r\n"
    return (
        b"POST /p HTTP/1.1\r\n"
        + H
        + te_line
        + b"Content-Length: %d\r\n" % len(size)
        + (b"\r\n" + body)
    )


def te_only(te_line: bytes) -> bytes:
    """Only an (obfuscated) Transfer-Encoding; read as chunked, the body ends early."""
    return b"POST /p HTTP/1.1\r\n" + H + te_line + b"\r\n0\r\n\r\n" + SMUGGLED


def _forwarded(exchange: Exchange) -> list[Request]:
    return [r for conn in exchange.upstream for r in parse_llhttp(bytes(conn.data)).requests]


def header_is(name: bytes, value: bytes) -> Check:
    def check(exchange: Exchange) -> str | None:
        for request in _forwarded(exchange):
            values = request.get_all(name)
            if values != [value]:
                return f"forwarded {name.decode()} {values}, expected [{value!r}]"
        return None

    return check


def xff_keeps_all(exchange: Exchange) -> str | None:
    for request in _forwarded(exchange):
        chain = b", ".join(request.get_all(b"x-forwarded-for"))
        if b"1.1.1.1" not in chain or b"2.2.2.2" not in chain:
            return f"forwarded X-Forwarded-For {chain!r} lost a client line"
    return None


def http10_keep_alive(exchange: Exchange) -> str | None:
    """An HTTP/1.0 client keeps the connection only when told Connection: keep-alive."""
    finals = exchange.finals
    if finals and b"keep-alive" not in finals[0].tokens and not exchange.eof:
        return "answer to an HTTP/1.0 keep-alive request lacks Connection: keep-alive, yet open"
    if len(finals) > 1 and b"keep-alive" not in finals[0].tokens:
        return "a second answer follows one an HTTP/1.0 client reads as the last"
    return None


def body_is(body: bytes) -> Check:
    def check(exchange: Exchange) -> str | None:
        bodies = [r.body for r in _forwarded(exchange)]
        return None if bodies in ([], [body]) else f"forwarded bodies {bodies}, expected {body!r}"

    return check


# request vectors

_V = Vector
REQUESTS: list[Vector] = [
    # plain, valid traffic: both forward
    _V("get", get()),
    _V("get-query", get(b"/a/b?c=d&e=%20f")),
    _V("get-percent-and-subdelims", get(b"/a;p=1/%7Euser/!$&'()*+,=:@")),
    _V("get-fragment-in-target", get(b"/a#frag")),
    _V("get-long-target-8k", get(b"/" + b"a" * 8000)),
    _V("get-custom-method", b"PURGE / HTTP/1.1\r\n" + H + b"\r\n"),
    _V("head", b"HEAD / HTTP/1.1\r\n" + H + b"\r\n", methods=(b"HEAD",)),
    _V("options-asterisk", b"OPTIONS * HTTP/1.1\r\n" + H + b"\r\n"),
    _V("delete", b"DELETE /d HTTP/1.1\r\n" + H + b"\r\n"),
    _V("post-cl", post(b"hello"), check=body_is(b"hello")),
    _V("post-cl-zero", post(b"")),
    _V("post-cl-leading-zeros", post(b"", b"Content-Length: 005\r\n", length=False) + b"hello"),
    _V(
        "put-cl-1mb-ish",
        b"PUT /u HTTP/1.1\r\n" + H + b"Content-Length: 200000\r\n\r\n" + b"z" * 200000,
    ),
    _V("get-with-cl-body", get(b"/", b"Content-Length: 3\r\n") + b"abc", check=body_is(b"abc")),
    _V(
        "post-chunked",
        chunked(b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"),
        check=body_is(b"hello world"),
    ),
    _V("post-chunked-upper-hex", chunked(b"A\r\n0123456789\r\n0\r\n\r\n")),
    _V("post-chunked-leading-zeros", chunked(b"0005\r\nhello\r\n000\r\n\r\n")),
    _V("post-chunked-ext", chunked(b"5;a=b\r\nhello\r\n0;last\r\n\r\n")),
    _V("post-chunked-ext-quoted", chunked(b'5;a="q;x"\r\nhello\r\n0\r\n\r\n')),
    _V("post-chunked-ext-bws", chunked(b"5 ;a=b\r\nhello\r\n0\r\n\r\n")),
    _V("post-chunked-ext-long", chunked(b"5;" + b"e" * 4000 + b"\r\nhello\r\n0\r\n\r\n")),
    _V("post-chunked-trailer", chunked(b"5\r\nhello\r\n0\r\nX-Sum: 1\r\n\r\n")),
    _V("post-chunked-trailers-two", chunked(b"5\r\nhello\r\n0\r\nX-A: 1\r\nX-B: 2\r\n\r\n")),
    _V("post-chunked-te-case", chunked(b"0\r\n\r\n", te=b"Transfer-Encoding: ChUnKeD\r\n")),
    _V("post-chunked-te-tab-ows", chunked(b"0\r\n\r\n", te=b"Transfer-Encoding:\tchunked\t\r\n")),
    _V("post-gzip-chunked", chunked(b"0\r\n\r\n", te=b"Transfer-Encoding: gzip, chunked\r\n")),
    _V("header-empty-value", get(b"/", b"X-Empty:\r\n")),
    _V("header-tab-in-value", get(b"/", b"X-Tab: a\tb\r\n")),
    _V("header-obs-text-value", get(b"/", b"X-Latin: caf\xe9\r\n")),
    _V("header-duplicate-names", get(b"/", b"X-Dup: 1\r\nX-Dup: 2\r\n")),
    _V("header-many-200", get(b"/", *[b"X-H%d: v\r\n" % n for n in range(200)])),
    _V("header-value-20k", get(b"/", b"X-Big: " + b"v" * 20000 + b"\r\n")),
    _V(
        "head-60k-one-write",
        get(b"/", *[b"X-Fill%d: %s\r\n" % (n, b"f" * 1000) for n in range(60)]),
    ),
    _V(
        "xff-two-lines",
        get(b"/", b"X-Forwarded-For: 1.1.1.1\r\nX-Forwarded-For: 2.2.2.2\r\n"),
        check=xff_keeps_all,
    ),
    _V("connection-close", get(b"/", b"Connection: close\r\n")),
    _V("connection-keep-alive", get(b"/", b"Connection: keep-alive\r\n")),
    _V("leading-empty-line", b"\r\n" + get()),
    # request line
    _V("rl-bare-lf-everywhere", b"GET / HTTP/1.1\nHost: x\n\n", refuse=True),
    _V("rl-bare-lf-request-line", b"GET / HTTP/1.1\n" + H + b"\r\n", refuse=True),
    _V("rl-bare-cr-in-target", b"GET /a\rb HTTP/1.1\r\n" + H + b"\r\n", refuse=True),
    _V("rl-bare-cr-terminator", b"GET / HTTP/1.1\r" + H + b"\r\n", refuse=True),
    _V("rl-two-spaces", b"GET  / HTTP/1.1\r\n" + H + b"\r\n"),
    _V("rl-tab-separator", b"GET\t/\tHTTP/1.1\r\n" + H + b"\r\n"),
    _V("rl-trailing-space", b"GET / HTTP/1.1 \r\n" + H + b"\r\n"),
    _V("rl-lowercase-version", b"GET / http/1.1\r\n" + H + b"\r\n"),
    _V("rl-version-2", b"GET / HTTP/2.0\r\n" + H + b"\r\n"),
    _V("rl-version-1-9", b"GET / HTTP/1.9\r\n" + H + b"\r\n"),
    _V("rl-version-garbage", b"GET / HTTP/1.x\r\n" + H + b"\r\n"),
    _V("rl-http09", b"GET /\r\n\r\n", half_close=True),
    _V("rl-nul-in-target", b"GET /a\x00b HTTP/1.1\r\n" + H + b"\r\n", refuse=True),
    _V("rl-ctl-01-in-target", b"GET /a\x01b HTTP/1.1\r\n" + H + b"\r\n", refuse=True),
    _V("rl-del-in-target", b"GET /a\x7fb HTTP/1.1\r\n" + H + b"\r\n", refuse=True),
    _V("rl-vt-in-target", b"GET /a\x0bb HTTP/1.1\r\n" + H + b"\r\n", refuse=True),
    _V("rl-space-in-target", b"GET /a b HTTP/1.1\r\n" + H + b"\r\n"),
    _V("rl-high-byte-target", b"GET /caf\xe9 HTTP/1.1\r\n" + H + b"\r\n"),
    _V("rl-empty-method", b" / HTTP/1.1\r\n" + H + b"\r\n"),
    _V("rl-bad-method-char", b"G@T / HTTP/1.1\r\n" + H + b"\r\n"),
    _V("rl-nul-in-method", b"G\x00T / HTTP/1.1\r\n" + H + b"\r\n", refuse=True),
    _V("rl-asterisk-get", b"GET * HTTP/1.1\r\n" + H + b"\r\n"),
    _V("rl-authority-form-get", b"GET x:80 HTTP/1.1\r\n" + H + b"\r\n"),
    _V(
        "rl-absolute-form",
        b"GET http://a.example/v2/a HTTP/1.1\r\nHost: a.example\r\n\r\n",
        check=header_is(b"host", b"a.example"),
    ),
    _V(
        "rl-absolute-form-other-host",
        b"GET http://a.example/v2/a HTTP/1.1\r\n" + H + b"\r\n",
        check=header_is(b"host", b"a.example"),
    ),
    _V(
        "rl-absolute-form-no-host",
        b"GET http://a.example/v2/a HTTP/1.1\r\n\r\n",
        check=header_is(b"host", b"a.example"),
    ),
    _V(
        "rl-absolute-form-port",
        b"GET http://a.example:8080/ HTTP/1.1\r\n" + H + b"\r\n",
        check=header_is(b"host", b"a.example:8080"),
    ),
    _V("rl-absolute-form-userinfo", b"GET http://u@a.example/ HTTP/1.1\r\n" + H + b"\r\n"),
    # Host
    _V("host-missing-11", b"GET / HTTP/1.1\r\n\r\n", refuse=True),
    _V("host-missing-10", b"GET / HTTP/1.0\r\n\r\n"),
    _V("host-duplicate-same", get(b"/", b"Host: x\r\n"), refuse=True),
    _V("host-duplicate-other", get(b"/", b"Host: y\r\n"), refuse=True),
    _V("host-list", b"GET / HTTP/1.1\r\nHost: x, y\r\n\r\n"),
    _V("host-empty", b"GET / HTTP/1.1\r\nHost:\r\n\r\n"),
    _V("host-space-before-colon", b"GET / HTTP/1.1\r\nHost : x\r\n\r\n", refuse=True),
    _V("host-obs-fold", b"GET / HTTP/1.1\r\nHost:\r\n x\r\n\r\n"),
    _V("host-with-port", b"GET / HTTP/1.1\r\nHost: x:8080\r\n\r\n"),
    # field lines
    _V("field-no-colon", get(b"/", b"X-Broken\r\n")),
    _V("field-empty-name", get(b"/", b": v\r\n")),
    _V("field-space-before-colon", get(b"/", b"X-Internal : secret\r\n"), refuse=True),
    _V("field-tab-before-colon", get(b"/", b"X-Internal\t: secret\r\n"), refuse=True),
    _V(
        "field-space-before-colon-cl",
        b"POST /p HTTP/1.1\r\n" + H + b"Content-Length : 5\r\n\r\n" + b"hello",
        refuse=True,
    ),
    _V("field-space-in-name", get(b"/", b"X Internal: secret\r\n")),
    _V("field-leading-space-first", b"GET / HTTP/1.1\r\n X-A: 1\r\n" + H + b"\r\n"),
    _V("field-obs-fold", get(b"/", b"X-Fold: a\r\n b\r\n")),
    _V("field-obs-fold-tab", get(b"/", b"X-Fold: a\r\n\tb\r\n")),
    _V("field-nul-in-name", get(b"/", b"X-N\x00ul: v\r\n"), refuse=True),
    _V("field-nul-in-value", get(b"/", b"X-Nul: a\x00b\r\n"), refuse=True),
    _V("field-ctl-01-in-value", get(b"/", b"X-Ctl: a\x01b\r\n"), refuse=True),
    _V("field-vt-in-value", get(b"/", b"X-Vt: a\x0bb\r\n"), refuse=True),
    _V("field-del-in-value", get(b"/", b"X-Del: a\x7fb\r\n"), refuse=True),
    _V("field-ctl-in-name", get(b"/", b"X-\x01: v\r\n"), refuse=True),
    _V("field-high-byte-in-name", get(b"/", b"X-\xe9: v\r\n")),
    _V("field-bare-cr-in-value", get(b"/", b"X-Cr: a\rb\r\n"), refuse=True),
    _V("field-bare-cr-terminator", get(b"/", b"X-Cr: a\rX-B: b\r\n"), refuse=True),
    _V("field-bare-lf-terminator", get(b"/", b"X-Lf: a\nX-B: b\r\n"), refuse=True),
    _V("field-bare-lf-end-of-head", b"GET / HTTP/1.1\r\n" + H + b"\n", refuse=True),
    _V(
        "field-bare-lf-smuggle",
        b"GET / HTTP/1.1\r\n" + H + b"X-A: a\nContent-Length: 5\r\n\r\n" + b"hello",
        refuse=True,
    ),
    _V("field-cr-lf-cr", get(b"/", b"X-A: a\r\n\r\r\n")),
    _V("field-line-70k", get(b"/", b"X-Huge: " + b"h" * 70000 + b"\r\n")),
    # Content-Length
    _V("cl-plus", post(b"", b"Content-Length: +5\r\n", length=False) + b"hello", refuse=True),
    _V("cl-minus", post(b"", b"Content-Length: -5\r\n", length=False) + b"hello", refuse=True),
    _V("cl-hex", post(b"", b"Content-Length: 0x5\r\n", length=False) + b"hello", refuse=True),
    _V("cl-list-same", post(b"", b"Content-Length: 5,5\r\n", length=False) + b"hello"),
    _V("cl-list-same-space", post(b"", b"Content-Length: 5, 5\r\n", length=False) + b"hello"),
    _V(
        "cl-list-differ",
        post(b"", b"Content-Length: 5,6\r\n", length=False) + b"hello!",
        refuse=True,
    ),
    _V("cl-two-lines-same", post(b"hello", b"Content-Length: 5\r\n")),
    _V("cl-two-lines-differ", post(b"hello", b"Content-Length: 6\r\n"), refuse=True),
    _V("cl-empty", post(b"", b"Content-Length:\r\n", length=False) + SMUGGLED, refuse=True),
    _V(
        "cl-space-inside",
        post(b"", b"Content-Length: 5 5\r\n", length=False) + b"hello",
        refuse=True,
    ),
    _V("cl-decimal", post(b"", b"Content-Length: 5.0\r\n", length=False) + b"hello", refuse=True),
    _V("cl-exponent", post(b"", b"Content-Length: 5e0\r\n", length=False) + b"hello", refuse=True),
    _V(
        "cl-huge",
        post(b"", b"Content-Length: 99999999999999999999999\r\n", length=False) + b"hello",
        refuse=True,
    ),
    _V(
        "cl-2-pow-64",
        post(b"", b"Content-Length: 18446744073709551621\r\n", length=False) + b"hello",
        refuse=True,
    ),
    _V("cl-nul", post(b"", b"Content-Length: 5\x00\r\n", length=False) + b"hello", refuse=True),
    _V("cl-vt", post(b"", b"Content-Length: \x0b5\r\n", length=False) + b"hello", refuse=True),
    _V(
        "cl-fullwidth-digit",
        post(b"", b"Content-Length: \xef\xbc\x95\r\n", length=False) + b"hello",
        refuse=True,
    ),
    _V("cl-obs-fold", post(b"", b"Content-Length:\r\n 5\r\n", length=False) + b"hello"),
    _V("cl-shorter-than-body", post(b"", b"Content-Length: 3\r\n", length=False) + b"helGET"),
    _V("cl-zero-then-smuggle", post(b"") + SMUGGLED, requests=2),
    _V(
        "cl-longer-than-body",
        post(b"", b"Content-Length: 50\r\n", length=False) + b"hello",
        half_close=True,
    ),
    _V("cl-connection-named", post(SMUGGLED, b"Connection: Content-Length\r\n")),
    _V("cl-connection-named-close", post(SMUGGLED, b"Connection: close, Content-Length\r\n")),
    _V("cl-connection-named-get", get(b"/", b"Connection: Content-Length\r\n")),
    # CL.TE, TE.CL
    _V("clte-plain", cl_te(b"Transfer-Encoding: chunked\r\n"), refuse=True),
    _V("clte-te-first", te_cl(b"Transfer-Encoding: chunked\r\n"), refuse=True),
    _V("clte-te-vt", cl_te(b"Transfer-Encoding: \x0bchunked\r\n"), refuse=True),
    _V("clte-te-ff", cl_te(b"Transfer-Encoding: \x0cchunked\r\n"), refuse=True),
    _V("clte-te-space-colon", cl_te(b"Transfer-Encoding : chunked\r\n"), refuse=True),
    _V("clte-te-xchunked", cl_te(b"Transfer-Encoding: xchunked\r\n"), refuse=True),
    _V("clte-te-chunked-identity", cl_te(b"Transfer-Encoding: chunked, identity\r\n"), refuse=True),
    _V("clte-te-identity-chunked", cl_te(b"Transfer-Encoding: identity, chunked\r\n"), refuse=True),
    _V("clte-te-obs-fold", cl_te(b"Transfer-Encoding:\r\n chunked\r\n"), refuse=True),
    _V(
        "clte-te-duplicate",
        cl_te(b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"),
        refuse=True,
    ),
    _V("clte-te-quoted", cl_te(b'Transfer-Encoding: "chunked"\r\n'), refuse=True),
    _V("clte-te-nul", cl_te(b"Transfer-Encoding: chunked\x00\r\n"), refuse=True),
    _V("clte-te-underscore", cl_te(b"Transfer_Encoding: chunked\r\n")),
    _V(
        "clte-te-connection-named",
        cl_te(b"Transfer-Encoding: chunked\r\nConnection: Transfer-Encoding\r\n"),
        refuse=True,
    ),
    _V("tecl-te-vt", te_cl(b"Transfer-Encoding: \x0bchunked\r\n"), refuse=True),
    _V("tecl-te-space-colon", te_cl(b"Transfer-Encoding : chunked\r\n"), refuse=True),
    _V(
        "tecl-te-duplicate-identity",
        te_cl(b"Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n"),
        refuse=True,
    ),
    _V("tete-vt", te_only(b"Transfer-Encoding: \x0bchunked\r\n"), refuse=True),
    _V("tete-space-colon", te_only(b"Transfer-Encoding : chunked\r\n"), refuse=True),
    _V("tete-xchunked", te_only(b"Transfer-Encoding: xchunked\r\n"), refuse=True),
    _V("tete-chunkedx", te_only(b"Transfer-Encoding: chunkedx\r\n"), refuse=True),
    _V("tete-chunked-identity", te_only(b"Transfer-Encoding: chunked, identity\r\n"), refuse=True),
    _V("tete-chunked-gzip", te_only(b"Transfer-Encoding: chunked, gzip\r\n"), refuse=True),
    _V("tete-identity", te_only(b"Transfer-Encoding: identity\r\n"), refuse=True),
    _V(
        "tete-duplicate",
        te_only(b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"),
        refuse=True,
    ),
    _V(
        "tete-duplicate-identity-last",
        te_only(b"Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n"),
        refuse=True,
    ),
    _V("tete-obs-fold", te_only(b"Transfer-Encoding:\r\n chunked\r\n")),
    _V(
        "tete-http10",
        b"POST /p HTTP/1.0\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n" + b"0\r\n\r\n",
        half_close=True,
    ),
    _V(
        "te-connection-named",
        chunked(b"0\r\n\r\n" + SMUGGLED, b"Connection: Transfer-Encoding\r\n"),
    ),
    _V("te-on-get", get(b"/", b"Transfer-Encoding: chunked\r\n") + b"0\r\n\r\n"),
    # chunk lines
    _V("chunk-overlong-size", chunked(b"0" * 40 + b"5\r\nhello\r\n0\r\n\r\n")),
    _V("chunk-0x-prefix", chunked(b"0x5\r\nhello\r\n0\r\n\r\n"), refuse=True),
    _V("chunk-leading-space", chunked(b" 5\r\nhello\r\n0\r\n\r\n"), refuse=True),
    _V("chunk-trailing-space", chunked(b"5 \r\nhello\r\n0\r\n\r\n")),
    _V("chunk-tab-before-ext", chunked(b"5\t;a=b\r\nhello\r\n0\r\n\r\n")),
    _V("chunk-plus", chunked(b"+5\r\nhello\r\n0\r\n\r\n"), refuse=True),
    _V("chunk-minus", chunked(b"-5\r\nhello\r\n0\r\n\r\n"), refuse=True),
    _V("chunk-not-hex", chunked(b"5g\r\nhello\r\n0\r\n\r\n"), refuse=True),
    _V("chunk-empty-size", chunked(b"\r\nhello\r\n0\r\n\r\n"), refuse=True),
    _V("chunk-huge-size", chunked(b"ffffffffffffffffff\r\nhello\r\n0\r\n\r\n"), refuse=True),
    _V("chunk-size-2-pow-64", chunked(b"10000000000000005\r\nhello\r\n0\r\n\r\n"), refuse=True),
    _V("chunk-bare-lf-size-line", chunked(b"5\nhello\r\n0\r\n\r\n"), refuse=True),
    _V("chunk-bare-lf-after-data", chunked(b"5\r\nhello\n0\r\n\r\n"), refuse=True),
    _V("chunk-bare-cr-size-line", chunked(b"5\rhello\r\n0\r\n\r\n"), refuse=True),
    _V("chunk-data-longer", chunked(b"3\r\nhello\r\n0\r\n\r\n"), refuse=True),
    _V("chunk-data-shorter", chunked(b"8\r\nhello\r\n0\r\n\r\n" + SMUGGLED), refuse=True),
    _V("chunk-missing-crlf", chunked(b"5\r\nhello0\r\n\r\n"), refuse=True),
    _V("chunk-ext-bare-cr", chunked(b"5;a=\rb\r\nhello\r\n0\r\n\r\n"), refuse=True),
    _V("chunk-ext-bare-lf", chunked(b"5;a=\nb\r\nhello\r\n0\r\n\r\n"), refuse=True),
    _V("chunk-ext-nul", chunked(b"5;a=\x00\r\nhello\r\n0\r\n\r\n"), refuse=True),
    _V("chunk-ext-no-name", chunked(b"5;\r\nhello\r\n0\r\n\r\n")),
    _V("chunk-last-bare-lf", chunked(b"5\r\nhello\r\n0\n\n"), refuse=True),
    _V("chunk-missing-last", chunked(b"5\r\nhello\r\n"), half_close=True),
    _V("chunk-then-pipelined", chunked(b"5\r\nhello\r\n0\r\n\r\n") + get(b"/2"), requests=2),
    # trailers
    _V("trailer-whitespace-line", chunked(b"5\r\nhello\r\n0\r\n \r\n\r\n"), refuse=True),
    _V("trailer-request-line", chunked(b"5\r\nhello\r\n0\r\nGET /x HTTP/1.1\r\n\r\n"), refuse=True),
    _V("trailer-no-colon", chunked(b"0\r\nX-Broken\r\n\r\n"), refuse=True),
    _V("trailer-space-before-colon", chunked(b"0\r\nX-T : v\r\n\r\n"), refuse=True),
    _V("trailer-obs-fold", chunked(b"0\r\nX-T: a\r\n b\r\n\r\n")),
    _V("trailer-bare-lf", chunked(b"0\r\nX-T: a\nX-U: b\r\n\r\n"), refuse=True),
    _V("trailer-bare-cr", chunked(b"0\r\nX-T: a\rb\r\n\r\n"), refuse=True),
    _V("trailer-nul", chunked(b"0\r\nX-T: a\x00b\r\n\r\n"), refuse=True),
    _V("trailer-content-length", chunked(b"0\r\nContent-Length: 5\r\n\r\nhello")),
    _V("trailer-then-pipelined", chunked(b"0\r\nX-T: v\r\n\r\n") + get(b"/2"), requests=2),
    # Connection naming other fields
    _V("connection-host", get(b"/", b"Connection: Host\r\n")),
    _V(
        "connection-x-forwarded-for",
        get(b"/", b"X-Forwarded-For: 1.1.1.1\r\nConnection: X-Forwarded-For\r\n"),
    ),
    _V("connection-upgrade-no-upgrade", get(b"/", b"Connection: Upgrade\r\n")),
    # Expect, Upgrade, CONNECT
    _V("expect-100-body-at-once", post(b"hello", b"Expect: 100-continue\r\n")),
    _V("expect-100-no-body", get(b"/", b"Expect: 100-continue\r\n")),
    _V("expect-unknown", get(b"/", b"Expect: 200-ok\r\n")),
    _V(
        "upgrade-websocket",
        get(
            b"/ws",
            b"Connection: Upgrade\r\nUpgrade: websocket\r\n"
            b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: "
            b"dGhlIHNhbXBsZSBub25jZQ==\r\n",
        ),
    ),
    _V(
        "upgrade-h2c",
        get(
            b"/",
            b"Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
            b"HTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n",
        ),
    ),
    _V("upgrade-with-body", post(b"hello", b"Connection: Upgrade\r\nUpgrade: websocket\r\n")),
    _V(
        "upgrade-then-pipelined",
        get(b"/ws", b"Connection: Upgrade\r\nUpgrade: websocket\r\n") + get(b"/2"),
        requests=2,
        differs="HAProxy refuses bytes after an Upgrade request; the "
        "ambassador holds them until the answer: a 101 starts the relay with them, any other "
        "answer leaves the next request plain HTTP",
    ),
    _V("connect", b"CONNECT x:443 HTTP/1.1\r\nHost: x:443\r\n\r\n"),
    _V("connect-path-target", b"CONNECT /p HTTP/1.1\r\n" + H + b"\r\n"),
    _V(
        "connect-with-body",
        b"CONNECT x:443 HTTP/1.1\r\nHost: x:443\r\nContent-Length: 5\r\n\r\n" + b"hello",
    ),
    # pipelining
    _V("pipeline-2", get(b"/1") + get(b"/2"), requests=2),
    _V("pipeline-3", get(b"/1") + get(b"/2") + get(b"/3"), requests=3),
    _V("pipeline-post-get", post(b"hello") + get(b"/2"), requests=2),
    _V(
        "pipeline-head-get",
        b"HEAD / HTTP/1.1\r\n" + H + b"\r\n" + get(b"/2"),
        requests=2,
        methods=(b"HEAD", b"GET"),
    ),
    _V(
        "pipeline-get-then-bad",
        get(b"/1") + b"GET /2 HTTP/1.1\r\nHost : x\r\n\r\n",
        requests=2,
        refuse=True,
    ),
    _V("pipeline-get-then-garbage", get(b"/1") + b"\x00\x01\x02garbage\r\n\r\n", requests=2),
    _V("pipeline-close-then-more", get(b"/1", b"Connection: close\r\n") + get(b"/2")),
    # HTTP/1.0
    _V("http10", b"GET / HTTP/1.0\r\n" + H + b"\r\n"),
    _V(
        "http10-keep-alive",
        b"GET / HTTP/1.0\r\n" + H + b"Connection: keep-alive\r\n\r\n",
        check=http10_keep_alive,
    ),
    _V(
        "http10-keep-alive-pipeline",
        (b"GET /1 HTTP/1.0\r\n" + H + b"Connection: keep-alive\r\n\r\n") * 2,
        requests=2,
        check=http10_keep_alive,
    ),
    _V("http10-post-cl", b"POST /p HTTP/1.0\r\n" + H + b"Content-Length: 5\r\n\r\nhello"),
    # sizes
    _V(
        "head-70k-one-write",
        get(b"/", *[b"X-Fill%d: %s\r\n" % (n, b"f" * 1000) for n in range(70)]),
        refuse=True,
    ),
    _V(
        "head-100k-one-write",
        get(b"/", *[b"X-Fill%d: %s\r\n" % (n, b"f" * 1000) for n in range(100)]),
        refuse=True,
    ),
    _V(
        "head-70k-half-closed",
        get(b"/", *[b"X-Fill%d: %s\r\n" % (n, b"f" * 1000) for n in range(70)]),
        refuse=True,
        half_close=True,
    ),
    # half-close after the request
    _V("half-close-get", get(), half_close=True),
    _V("half-close-post", post(b"hello"), half_close=True),
    _V("half-close-chunked", chunked(b"5\r\nhello\r\n0\r\n\r\n"), half_close=True),
    _V(
        "half-close-pipeline-2",
        get(b"/1") + get(b"/2"),
        requests=2,
        half_close=True,
        differs="HAProxy (http-server-close) may stop after the first answer once the client "
        "half-closed; the ambassador answers each complete request that came before the EOF",
    ),
    _V("half-close-incomplete-head", b"GET / HTTP/1.1\r\n" + H, half_close=True),
    _V(
        "half-close-incomplete-body",
        post(b"hel", b"Content-Length: 5\r\n", length=False),
        half_close=True,
    ),
]


# response vectors

_R = ResponseVector
OK = b"HTTP/1.1 200 OK\r\n"
SMUGGLED_RESPONSE = b"HTTP/1.1 200 OK\r\nX-Smuggled: 1\r\nContent-Length: 0\r\n\r\n"

RESPONSES: list[ResponseVector] = [
    _R("ok-cl", OK + b"Content-Length: 5\r\n\r\nhello"),
    _R("ok-cl-zero", OK + b"Content-Length: 0\r\n\r\n"),
    _R("ok-chunked", OK + b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
    _R(
        "ok-chunked-ext-trailer",
        OK + b"Transfer-Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\n" + b"0\r\nX-T: v\r\n\r\n",
    ),
    _R("ok-read-to-eof", OK + b"\r\nhello", close=True),
    _R("ok-http10", b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello", close=True),
    _R("ok-no-reason", b"HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n"),
    _R("ok-100-then-200", b"HTTP/1.1 100 Continue\r\n\r\n" + OK + b"Content-Length: 0\r\n\r\n"),
    _R("head-with-body", OK + b"Content-Length: 5\r\n\r\nhello", method=b"HEAD"),
    _R(
        "head-with-smuggled-body",
        OK + b"Content-Length: %d\r\n\r\n" % len(SMUGGLED_RESPONSE) + SMUGGLED_RESPONSE,
        method=b"HEAD",
    ),
    _R("204-with-body", b"HTTP/1.1 204 No Content\r\n\r\n" + SMUGGLED_RESPONSE),
    _R(
        "204-with-cl-body",
        b"HTTP/1.1 204 No Content\r\nContent-Length: %d\r\n\r\n" % len(SMUGGLED_RESPONSE)
        + SMUGGLED_RESPONSE,
    ),
    _R("304-with-body", b"HTTP/1.1 304 Not Modified\r\n\r\n" + SMUGGLED_RESPONSE),
    _R(
        "304-with-cl-body",
        b"HTTP/1.1 304 Not Modified\r\nContent-Length: %d\r\n\r\n" % len(SMUGGLED_RESPONSE)
        + SMUGGLED_RESPONSE,
    ),
    _R("cl-shorter-then-response", OK + b"Content-Length: 0\r\n\r\n" + SMUGGLED_RESPONSE),
    _R(
        "cl-and-te",
        OK
        + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
        + b"0\r\n\r\n"
        + SMUGGLED_RESPONSE,
    ),
    _R("cl-duplicate-differ", OK + b"Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"),
    _R("cl-plus", OK + b"Content-Length: +5\r\n\r\nhello"),
    _R("cl-hex", OK + b"Content-Length: 0x5\r\n\r\nhello"),
    _R("cl-negative", OK + b"Content-Length: -1\r\n\r\nhello"),
    _R("cl-list-differ", OK + b"Content-Length: 5, 6\r\n\r\nhello!"),
    _R("cl-empty", OK + b"Content-Length:\r\n\r\nhello", close=True),
    _R(
        "cl-connection-named",
        OK
        + b"Connection: Content-Length\r\nContent-Length: %d\r\n\r\n" % len(SMUGGLED_RESPONSE)
        + SMUGGLED_RESPONSE,
    ),
    _R(
        "te-connection-named",
        OK
        + b"Connection: Transfer-Encoding\r\nTransfer-Encoding: "
        + b"chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    ),
    _R(
        "te-vt",
        OK + b"Transfer-Encoding: \x0bchunked\r\n\r\n0\r\n\r\n" + SMUGGLED_RESPONSE,
        close=True,
    ),
    _R(
        "te-xchunked",
        OK + b"Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n" + SMUGGLED_RESPONSE,
        close=True,
        differs="RFC 9112 6.3: a response whose last coding is not chunked is read "
        "until the server closes; relayed that way, then closed, it cannot desync the client",
    ),
    _R(
        "te-space-colon",
        OK + b"Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n" + SMUGGLED_RESPONSE,
        close=True,
    ),
    _R("chunk-size-0x", OK + b"Transfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n"),
    _R("chunk-data-longer", OK + b"Transfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n"),
    _R("chunk-huge", OK + b"Transfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\nhello\r\n"),
    _R("status-line-bare-lf", b"HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n"),
    _R("field-bare-lf", OK + b"X-A: a\nContent-Length: 0\r\n\r\n"),
    _R("field-bare-cr-split", OK + b"X-A: a\rSet-Cookie: evil=1\r\nContent-Length: 0\r\n\r\n"),
    _R("field-crlf-split-body", OK + b"X-A: a\r\nContent-Length: 0\r\n\r\n" + SMUGGLED_RESPONSE),
    _R("field-nul-value", OK + b"X-A: a\x00b\r\nContent-Length: 0\r\n\r\n"),
    _R("field-space-before-colon", OK + b"X-A : a\r\nContent-Length: 0\r\n\r\n"),
    _R("field-obs-fold", OK + b"X-A: a\r\n b\r\nContent-Length: 0\r\n\r\n"),
    _R("field-no-colon", OK + b"X-Broken\r\nContent-Length: 0\r\n\r\n"),
    _R("status-garbage", b"HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n"),
    _R("status-line-garbage", b"NOT HTTP\r\n\r\n", close=True),
    _R("version-2", b"HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n"),
    _R("status-1000", b"HTTP/1.1 1000 Big\r\nContent-Length: 0\r\n\r\n"),
    _R(
        "101-unasked",
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: Upgrade"
        + b"\r\n\r\n"
        + SMUGGLED_RESPONSE,
    ),
    _R("close-mid-body", OK + b"Content-Length: 10\r\n\r\nhello", close=True),
]
