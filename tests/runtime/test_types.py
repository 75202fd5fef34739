import pytest

from sidecars import ByteSize, Duration, HostPort, Secret


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("500ms", 0.5),
        ("10s", 10),
        ("2m", 120),
        ("1h", 3600),
        ("1m30s", 90),
        ("0", 0),
        ("1.5s", 1.5),
    ],
)
def test_duration_parses(text: str, seconds: float) -> None:
    assert Duration.parse(text) == seconds


@pytest.mark.parametrize("text", ["", "10", "5x", "s", "10s junk", "-1s", "1m 30s", "ms"])
def test_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the parser raises a bare ValueError
        Duration.parse(text)


@pytest.mark.parametrize(
    ("seconds", "text"), [(0.5, "500ms"), (10, "10s"), (120, "2m"), (3600, "1h"), (90, "90s")]
)
def test_duration_prints_as_written(seconds: float, text: str) -> None:
    assert str(Duration(seconds)) == text


@pytest.mark.parametrize(
    ("text", "size"),
    [("1024", 1024), ("64KiB", 65536), ("10MB", 10_000_000), ("1Gi", 2**30), ("2k", 2000)],
)
def test_byte_size_parses(text: str, size: int) -> None:
    assert ByteSize.parse(text) == size


@pytest.mark.parametrize("text", ["", "ten", "10XB", "1.5", "-1"])
def test_byte_size_rejects(text: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        ByteSize.parse(text)


@pytest.mark.parametrize(
    ("text", "host", "port"),
    [("127.0.0.1:80", "127.0.0.1", 80), ("[::1]:8080", "::1", 8080), (":9", "", 9)],
)
def test_host_port_parses(text: str, host: str, port: int) -> None:
    assert HostPort.parse(text) == HostPort(host, port)


@pytest.mark.parametrize(
    "text", ["localhost", "host:", "host:http", "::1:80", "h:70000", "[::1:80"]
)
def test_host_port_rejects(text: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        HostPort.parse(text)


def test_host_port_prints_ipv6_in_brackets() -> None:
    assert str(HostPort("::1", 80)) == "[::1]:80"


def test_secret_hides_its_value_from_repr() -> None:
    secret = Secret("hunter2")
    assert "hunter2" not in repr(secret)
    assert secret == "hunter2"
