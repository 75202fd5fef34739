"""Listener configuration from variables and from a YAML or JSON file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sidecars import ConfigError
from sidecars.ambassador.config import Target, load_listeners
from sidecars.ambassador.settings import AmbassadorSettings


def test_targets_parse_addresses_names_and_srv() -> None:
    assert Target.parse("10.0.0.1:80") == Target("10.0.0.1", 80)
    assert Target.parse("[::1]:6379") == Target("::1", 6379)
    assert Target.parse("redis.default.svc:6379").is_name
    assert not Target.parse("[::1]:6379").is_name
    assert Target.parse("srv:_redis._tcp.cache") == Target("_redis._tcp.cache", 0, srv=True)
    for bad in ("redis", "redis:0", "redis:99999", ":80", "srv:"):
        with pytest.raises(ValueError, match=bad.split(":")[0] or ":"):
            Target.parse(bad)


def test_file_entries_override_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "c.json"
    config.write_text(
        json.dumps(
            {"listeners": [
                {"name": "cache", "listen": "127.0.0.1:7000", "upstreams": ["a:1", "b:2"],
                 "lb": "ketama", "idle_timeout": "30s"},
                {"listen": "127.0.0.1:7001", "mode": "http", "upstreams": ["c:3"],
                 "routes": [{"prefix": "/api", "upstreams": ["d:4"], "retries": 0}]},
            ]}
        )
    )  # fmt: skip
    settings = AmbassadorSettings.from_env(
        {"AMBASSADOR_CONFIG_FILE": str(config), "AMBASSADOR_CONNECT_TIMEOUT": "2s"}
    )
    cache, web = load_listeners(settings)
    assert cache.name == "cache"
    assert cache.settings.lb == "ketama"
    assert float(cache.settings.idle_timeout) == 30.0
    assert float(cache.settings.connect_timeout) == 2.0  # from the environment
    assert [str(t) for t in cache.targets] == ["a:1", "b:2"]
    assert web.name == "listener1"
    assert web.routes[0].prefix == "/api"
    assert web.routes[0].settings.retries == 0
    assert web.routes[0].settings.mode == "http"


def test_duplicate_binds_and_routes_in_tcp_mode_are_refused(tmp_path: Path) -> None:
    config = tmp_path / "c.json"
    config.write_text(
        json.dumps(
            {"listeners": [
                {"listen": "127.0.0.1:7000", "upstreams": ["a:1"]},
                {"listen": "127.0.0.1:7000", "upstreams": ["a:1"],
                 "routes": [{"prefix": "/x", "upstreams": ["b:1"]}]},
            ]}
        )
    )  # fmt: skip
    settings = AmbassadorSettings.from_env({"AMBASSADOR_CONFIG_FILE": str(config)})
    with pytest.raises(ConfigError) as caught:
        load_listeners(settings)
    text = caught.value.render()
    assert "two listeners bind the same address" in text
    assert "routes need mode http" in text


def test_drain_budget_must_fit_in_the_drain_timeout() -> None:
    with pytest.raises(ConfigError, match="AMBASSADOR_DRAIN_TIMEOUT"):
        AmbassadorSettings.from_env(
            {"AMBASSADOR_UPSTREAMS": "a:1", "AMBASSADOR_DRAIN_TIMEOUT": "10s"}
        )


YAML_CONFIG = """
listeners:
  - name: cache
    listen: 127.0.0.1:7000
    upstreams: [a:1, b:2]
    lb: ketama
    idle_timeout: 30s
    tcp_keepalive: no
  - listen: 127.0.0.1:7001
    mode: http
    upstreams:
      - c:3
    routes:
      - prefix: /api
        upstreams: [d:4]
        retries: 0
"""


@pytest.mark.parametrize("suffix", [".yaml", ".yml"])
def test_yaml_file_has_the_json_schema(tmp_path: Path, suffix: str) -> None:
    config = tmp_path / f"c{suffix}"
    config.write_text(YAML_CONFIG)
    settings = AmbassadorSettings.from_env({"AMBASSADOR_CONFIG_FILE": str(config)})
    cache, web = load_listeners(settings)
    assert cache.name == "cache"
    assert cache.settings.lb == "ketama"
    assert float(cache.settings.idle_timeout) == 30.0
    assert cache.settings.tcp_keepalive is False
    assert [str(t) for t in cache.targets] == ["a:1", "b:2"]
    assert web.settings.mode == "http"
    assert [str(t) for t in web.targets] == ["c:3"]
    assert web.routes[0].prefix == "/api"
    assert web.routes[0].settings.retries == 0


def test_yaml_errors_name_the_file_the_key_path_and_the_expectation(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(
        "listeners:\n"
        "  - listen: 127.0.0.1:7000\n"
        "    upstreams: [a:1]\n"
        "    lb: fastest\n"
        "  - listen: 127.0.0.1:7001\n"
        "    mode: http\n"
        "    routes:\n"
        "      - prefix: api\n"
        "        upstreams: [b:2]\n"
        "        colour: blue\n"
    )
    settings = AmbassadorSettings.from_env({"AMBASSADOR_CONFIG_FILE": str(config)})
    with pytest.raises(ConfigError) as caught:
        load_listeners(settings)
    text = caught.value.render()
    assert f"{config}: listeners[0].lb" in text
    assert "round_robin" in text  # what was expected
    assert f"{config}: listeners[1].routes[0].colour" in text
    assert "not a listener setting" in text
    assert f"{config}: listeners[1].routes[0].prefix='api': must start with /" in text


def test_yaml_syntax_and_shape_errors_say_where(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("listeners:\n  - listen: 127.0.0.1:7000\n   upstreams: [a:1\n")
    settings = AmbassadorSettings.from_env({"AMBASSADOR_CONFIG_FILE": str(broken)})
    with pytest.raises(ConfigError) as caught:
        load_listeners(settings)
    text = caught.value.render()
    assert str(broken) in text
    assert "not valid YAML at line 3" in text
    shapeless = tmp_path / "list.yaml"
    shapeless.write_text("- listen: 127.0.0.1:7000\n")
    settings = AmbassadorSettings.from_env({"AMBASSADOR_CONFIG_FILE": str(shapeless)})
    with pytest.raises(ConfigError, match="expected an object with a 'listeners' list"):
        load_listeners(settings)


def test_a_missing_config_file_names_the_variable(tmp_path: Path) -> None:
    settings = AmbassadorSettings.from_env(
        {"AMBASSADOR_CONFIG_FILE": str(tmp_path / "absent.yaml")}
    )
    with pytest.raises(ConfigError, match="AMBASSADOR_CONFIG_FILE"):
        load_listeners(settings)
