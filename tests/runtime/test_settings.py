import enum
from pathlib import Path
from typing import Literal

import pytest

from sidecars import (
    URL,
    ByteSize,
    ConfigError,
    Duration,
    HostPort,
    Problem,
    Secret,
    Settings,
    setting,
)


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Every(Settings, prefix="EV_", admin_port=9999):
    text: str = setting(default="x", help="a string")
    count: int = setting(default=1, help="an int")
    ratio: float = setting(default="0.5", help="a float")
    flag: bool = setting(default=False, help="a bool")
    wait: Duration = setting(default="10s", help="a duration")
    size: ByteSize = setting(default="1KiB", help="a size")
    names: list[str] = setting(default="a,b", help="a list")
    ports: tuple[int, ...] = setting(default="", help="a tuple")
    mode: Literal["fast", "safe"] = setting(default="safe", help="a literal")
    color: Color = setting(default="red", help="an enum")
    where: Path = setting(default="/tmp", help="a path")
    url: URL = setting(default="http://127.0.0.1/x", help="a URL")
    addr: HostPort = setting(default="127.0.0.1:80", help="an address")
    maybe: HostPort | None = setting(default=None, help="an optional address")
    password: Secret = setting(default="", help="a secret")


def test_defaults_are_typed_values() -> None:
    s = Every.from_env({})
    assert s.ratio == 0.5
    assert s.wait == 10.0
    assert isinstance(s.wait, Duration)
    assert s.size == 1024
    assert s.names == ["a", "b"]
    assert s.ports == ()
    assert s.color is Color.RED
    assert s.where == Path("/tmp")
    assert s.url == URL("http://127.0.0.1/x")
    assert s.addr == HostPort("127.0.0.1", 80)
    assert s.maybe is None
    assert s.admin_addr == HostPort("", 9999)


def test_list_defaults_are_not_shared_between_instances() -> None:
    first, second = Every.from_env({}), Every.from_env({})
    first.names.append("c")
    assert second.names == ["a", "b"]


GOOD = {
    "EV_TEXT": " spaced ",
    "EV_COUNT": "42",
    "EV_RATIO": "2.5",
    "EV_FLAG": "yes",
    "EV_WAIT": "1m30s",
    "EV_SIZE": "10MB",
    "EV_NAMES": "x, y ,,z",
    "EV_PORTS": "80,443",
    "EV_MODE": "FAST",
    "EV_COLOR": "blue",
    "EV_WHERE": "/srv",
    "EV_URL": "https://example.test:8443/p?q=1",
    "EV_ADDR": "[::1]:53",
    "EV_MAYBE": ":8080",
    "EV_PASSWORD": "hunter2",
}


def test_every_type_parses_its_good_value() -> None:
    s = Every.from_env(GOOD)
    assert s.text == " spaced "
    assert s.count == 42
    assert s.ratio == 2.5
    assert s.flag is True
    assert s.wait == 90.0
    assert s.size == 10_000_000
    assert s.names == ["x", "y", "z"]
    assert s.ports == (80, 443)
    assert s.mode == "fast"
    assert s.color is Color.BLUE
    assert s.where == Path("/srv")
    assert s.url.port == 8443
    assert s.addr == HostPort("::1", 53)
    assert s.maybe == HostPort("", 8080)
    assert s.password == "hunter2"


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("EV_COUNT", "4.5", "a whole number"),
        ("EV_RATIO", "half", "a number"),
        ("EV_FLAG", "maybe", "true or false"),
        ("EV_WAIT", "10", "a duration"),
        ("EV_SIZE", "lots", "a byte size"),
        ("EV_PORTS", "80,http", "'http' is not valid"),
        ("EV_MODE", "turbo", "one of fast, safe"),
        ("EV_COLOR", "green", "one of red, blue"),
        ("EV_URL", "/relative", "an absolute URL"),
        ("EV_ADDR", "nohost", "host:port"),
        ("EV_MAYBE", "bad", "host:port"),
    ],
)
def test_a_bad_value_names_the_variable_value_and_expectation(
    variable: str, value: str, expected: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        Every.from_env({variable: value})
    (problem,) = caught.value.problems
    assert problem.variable == variable
    assert problem.value == value
    assert expected in problem.reason


def test_all_bad_variables_are_reported_together() -> None:
    with pytest.raises(ConfigError) as caught:
        Every.from_env({"EV_COUNT": "x", "EV_WAIT": "soon", "EV_FLAG": "2"})
    message = caught.value.render()
    assert message.startswith("configuration error: 3 problems")
    for part in ("EV_COUNT='x'", "EV_WAIT='soon'", "EV_FLAG='2'"):
        assert part in message


class Needs(Settings, prefix="NEED_"):
    target: str = setting(help="required")
    token: Secret = setting(help="required secret")


def test_required_variables_say_they_are_not_set() -> None:
    with pytest.raises(ConfigError) as caught:
        Needs.from_env({})
    assert [p.variable for p in caught.value.problems] == ["NEED_TARGET", "NEED_TOKEN"]
    assert "NEED_TARGET is not set: required" in caught.value.render()


def test_a_secret_is_read_from_its_file_variable(tmp_path: Path) -> None:
    secret_file = tmp_path / "token"
    secret_file.write_text("s3cret\n")
    s = Needs.from_env({"NEED_TARGET": "t", "NEED_TOKEN_FILE": str(secret_file)})
    assert s.token == "s3cret"
    assert "s3cret" not in repr(s)


def test_an_unreadable_secret_file_is_a_problem_naming_the_file_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        Needs.from_env({"NEED_TARGET": "t", "NEED_TOKEN_FILE": str(tmp_path / "missing")})
    (problem,) = caught.value.problems
    assert problem.variable == "NEED_TOKEN_FILE"
    assert "cannot read the secret file" in problem.reason


def test_a_bad_secret_is_masked_in_the_error() -> None:
    class SecretNumber(Settings, prefix="SN_"):
        pin: int = setting(default=0, secret=True, help="a secret number")

    with pytest.raises(ConfigError) as caught:
        SecretNumber.from_env({"SN_PIN": "hunter2"})
    assert "hunter2" not in caught.value.render()
    assert "SN_PIN='****'" in caught.value.render()


def test_unknown_prefixed_variables_get_a_did_you_mean_warning() -> None:
    warnings = Every.unknown_variables({"EV_COUNTT": "1", "EV_PASSWORD_FILE": "/x", "OTHER": "1"})
    assert warnings == [
        "EV_COUNTT is not a setting of this helper and is ignored; did you mean EV_COUNT?"
    ]


def test_validate_adds_cross_variable_problems() -> None:
    class Range(Settings, prefix="R_"):
        low: int = setting(default=0, help="low")
        high: int = setting(default=10, help="high")

        def validate(self) -> list[Problem]:
            if self.low > self.high:
                return [Problem("R_LOW", str(self.low), "must not exceed R_HIGH")]
            return []

    assert Range.from_env({"R_LOW": "5"}).low == 5
    with pytest.raises(ConfigError, match="R_LOW='11': must not exceed R_HIGH"):
        Range.from_env({"R_LOW": "11"})


def test_settings_are_frozen_and_comparable() -> None:
    first, second = Every.from_env(GOOD), Every.from_env(GOOD)
    assert first == second
    with pytest.raises(AttributeError):
        first.count = 3  # type: ignore[misc]


def test_an_attribute_without_setting_is_a_declaration_error() -> None:
    with pytest.raises(TypeError, match="must be declared with setting"):

        class Broken(Settings, prefix="B_"):
            plain: int = 3


def test_a_default_that_does_not_parse_is_a_declaration_error() -> None:
    with pytest.raises(TypeError, match="is not a duration"):

        class Broken(Settings, prefix="B_"):
            wait: Duration = setting(default="soon", help="bad default")


class Delayed(Settings, prefix="DL_", drain_delay="5s"):
    pass


class OwnsTheFormerName(Settings, prefix="OW_"):
    shutdown_delay: Duration = setting(default="2s", help="its own, older setting")


def test_the_drain_delay_defaults_to_0_and_a_subclass_may_change_that() -> None:
    assert Every.from_env({}).drain_delay == 0.0
    assert Delayed.from_env({}).drain_delay == 5.0
    assert Delayed.from_env({"DL_DRAIN_DELAY": "1s"}).drain_delay == 1.0


def test_a_former_name_is_read_when_the_current_one_is_unset() -> None:
    assert Delayed.aliases() == {"DL_SHUTDOWN_DELAY": "DL_DRAIN_DELAY"}
    environ = {"DL_SHUTDOWN_DELAY": "3s"}
    assert Delayed.from_env(environ).drain_delay == 3.0
    assert Delayed.deprecated_variables(environ) == [
        "DL_SHUTDOWN_DELAY is deprecated; use DL_DRAIN_DELAY"
    ]
    assert Delayed.unknown_variables(environ) == []
    both = {"DL_SHUTDOWN_DELAY": "3s", "DL_DRAIN_DELAY": "4s"}
    assert Delayed.from_env(both).drain_delay == 4.0
    assert Delayed.deprecated_variables(both) == [
        "DL_SHUTDOWN_DELAY is deprecated; use DL_DRAIN_DELAY (it is set too and wins)"
    ]


def test_errors_name_the_former_variable_the_operator_wrote() -> None:
    with pytest.raises(ConfigError) as bad:
        Delayed.from_env({"DL_SHUTDOWN_DELAY": "soon"})
    assert [p.variable for p in bad.value.problems] == ["DL_SHUTDOWN_DELAY"]
    with pytest.raises(ConfigError) as long:
        Delayed.from_env({"DL_SHUTDOWN_DELAY": "30s"})
    assert long.value.problems == [
        Problem("DL_SHUTDOWN_DELAY", "30s", "must be shorter than DL_DRAIN_TIMEOUT (20s)")
    ]


def test_a_class_that_declares_the_former_name_keeps_it() -> None:
    assert OwnsTheFormerName.aliases() == {}
    settings = OwnsTheFormerName.from_env({"OW_SHUTDOWN_DELAY": "7s"})
    assert (settings.shutdown_delay, settings.drain_delay) == (7.0, 0.0)
    assert OwnsTheFormerName.deprecated_variables({"OW_SHUTDOWN_DELAY": "7s"}) == []
