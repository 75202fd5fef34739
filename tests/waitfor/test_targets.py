import pytest

from sidecars.waitfor import Target


@pytest.mark.parametrize(
    "text",
    [
        "tcp://127.0.0.1:6379",
        "tcp://[::1]:5432",
        "http://app:8080/healthz",
        "https://app/ready#status=200,204",
        "file:///var/run/ready",
        "dns://db.default.svc",
    ],
)
def test_accepts(text: str) -> None:
    assert str(Target.parse(text)) == text


@pytest.mark.parametrize(
    "text",
    [
        "tcp://host",
        "tcp://host:1/path",
        "ftp://host/file",
        "http:///nohost",
        "http://app/#code=200",
        "http://app/#status=",
        "file:///",
        "dns://",
        "127.0.0.1:80",
    ],
)
def test_rejects(text: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - parsers raise a bare ValueError
        Target.parse(text)


def test_statuses_come_from_the_fragment_which_is_never_sent() -> None:
    target = Target.parse("http://app/ready#status=204,409")
    assert target.statuses == {204, 409}
    assert target.url.fragment == ""


def test_a_password_is_masked_when_shown() -> None:
    assert str(Target.parse("http://user:pw@app/")) == "http://user:****@app/"
