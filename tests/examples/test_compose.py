"""docker-compose.yml, the local trial, as Compose v2 reads it (offline: `config` needs no
engine). What the trial does when it runs is checked by scripts/check-containers.sh."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import compose
import pytest

ROOT = Path(__file__).resolve().parents[2]
# The binary itself: the package's wrapper script drops the exit code.
COMPOSE = Path(compose.__file__).parent / "docker-compose"
PEERS = {"nginx": "nginx:1.27-alpine", "redis": "redis:7-alpine", "app": "redis:7-alpine"}


def model(**env: str) -> dict[str, Any]:
    clean = {k: v for k, v in os.environ.items() if not k.endswith("_IMAGE")}
    done = subprocess.run(
        [str(COMPOSE), "-f", str(ROOT / "docker-compose.yml"), "config", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**clean, **env},
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    result: dict[str, Any] = model()["services"]
    return result


def test_every_published_port_is_bound_to_loopback(services: dict[str, Any]) -> None:
    published = [p for s in services.values() for p in s.get("ports", [])]
    assert len(published) == 5
    assert all(p["host_ip"] == "127.0.0.1" for p in published), published


def test_peer_images_default_to_official_ones_and_can_be_replaced(
    services: dict[str, Any],
) -> None:
    assert {name: services[name]["image"] for name in PEERS} == PEERS
    replaced = model(NGINX_IMAGE="local/nginx:1", REDIS_IMAGE="local/redis:1")["services"]
    assert replaced["nginx"]["image"] == "local/nginx:1"
    assert replaced["redis"]["image"] == replaced["app"]["image"] == "local/redis:1"


def test_helpers_share_their_app_network_namespace(services: dict[str, Any]) -> None:
    assert services["gitsync"]["network_mode"] == "service:nginx"
    assert services["nginxlog"]["network_mode"] == "service:nginx"
    assert services["ambassador"]["network_mode"] == "service:app"
    assert services["ambassador"]["environment"]["AMBASSADOR_LISTEN"] == "127.0.0.1:6379"


def test_waitfor_is_an_init_step(services: dict[str, Any]) -> None:
    for name in ("gitsync", "app"):
        condition = services[name]["depends_on"]["waitfor"]["condition"]
        assert condition == "service_completed_successfully", name
    assert services["waitfor"]["restart"] == "no"


def test_helpers_run_locked_down(services: dict[str, Any]) -> None:
    for name in ("waitfor", "gitsync", "nginxlog", "ambassador", "git-server"):
        service = services[name]
        assert service["image"].startswith("sidecars/"), name
        assert service["read_only"] is True, name
        assert service["cap_drop"] == ["ALL"], name
        assert "/tmp" in service["tmpfs"], name


def test_registry_switch_names_the_published_images() -> None:
    services = model(SIDECARS_REGISTRY="registry.example.com/sidecars", SIDECARS_VERSION="9.8.7")[
        "services"
    ]
    for name in ("waitfor", "gitsync", "nginxlog", "ambassador"):
        assert services[name]["image"] == f"registry.example.com/sidecars/{name}:9.8.7", name
    assert services["git-server"]["image"] == "registry.example.com/sidecars/gitsync:9.8.7"


def test_shared_volumes_are_mounted_where_each_side_expects_them(
    services: dict[str, Any],
) -> None:
    def mounts(name: str) -> dict[str, tuple[str, bool]]:
        return {
            v["source"]: (v["target"], v.get("read_only", False))
            for v in services[name]["volumes"]
            if v["type"] == "volume"
        }

    assert mounts("gitsync")["content"] == ("/srv/content", False)
    assert mounts("nginx")["content"] == ("/srv/content", True)
    assert mounts("nginx")["logs"] == ("/var/log/site", False)
    assert mounts("nginxlog")["logs"] == ("/var/log/site", True)
    env = services["nginxlog"]["environment"]
    conf = (ROOT / "examples" / "compose" / "nginx.conf").read_text()
    assert env["NGINXLOG_FILES"] == "/var/log/site/access.log"
    declared = re.search(r"log_format trial (.*?);", conf, re.S)
    assert declared is not None
    nginx_format = "".join(re.findall(r"'([^']*)'", declared.group(1)))
    # `config` prints $ escaped as $$, as the file spells it.
    assert env["NGINXLOG_FORMAT"].replace("$$", "$").split() == nginx_format.split()
