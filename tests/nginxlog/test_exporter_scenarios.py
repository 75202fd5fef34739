"""prometheus-nginxlog-exporter's behaviour scenarios, each run against a real
``sidecars nginxlog`` process configured only as the exporter would be: its config file
(``-config-file``) or its command line (``--format ... FILE``).

The one setting added is the admin address (a free 127.0.0.1 port instead of the file's
4040) so that tests can run beside other processes; the scenario's own metric paths
(``/custom``) are kept.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import signal
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from sidecars.testing import HelperProcess, eventually

from .exporter_scenarios import SCENARIOS, Expect, Scenario, Write


def _send(write: Write, sandbox: Path) -> None:
    kind, _, where = write.to.partition(":")
    if kind not in ("udp", "unix"):
        with (sandbox / write.to).open("a", encoding="utf-8") as log:
            log.write("\n".join(write.lines) + "\n")
        return
    address: tuple[str, int] | str = ("127.0.0.1", int(where)) if kind == "udp" else where
    handler = logging.handlers.SysLogHandler(address, logging.handlers.SysLogHandler.LOG_USER)
    try:
        for text in write.lines:
            handler.emit(logging.makeLogRecord({"msg": text, "levelno": logging.INFO,
                                                "levelname": "INFO"}))  # fmt: skip
    finally:
        handler.close()


def _found(text: str, expect: Expect) -> bool:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == expect.name and sample.labels == expect.labels:
                return float(sample.value) == expect.value
    return False


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.id for s in SCENARIOS])
async def test_scenario(scenario: Scenario, tmp_path: Path) -> None:
    sandbox = tmp_path / ".behave-sandbox"
    sandbox.mkdir()
    args = list(scenario.args)
    if scenario.config is not None:
        name, text = scenario.config
        (tmp_path / name).write_text(text, encoding="utf-8")
        args = ["-config-file", name]
    env = {key: value for key, value in os.environ.items() if not key.startswith("NGINXLOG_")}
    async with HelperProcess("nginxlog", env, args=args, cwd=str(tmp_path),
                             inherit_env=False) as helper:  # fmt: skip
        await helper.wait_ready()
        for write in scenario.writes:
            _send(write, sandbox)
        for expect in scenario.expects:

            async def shown(expect: Expect = expect) -> bool:
                status, text = await helper.get(expect.endpoint)
                return status == 200 and _found(text, expect)

            try:
                await eventually(shown, 15.0, f"{expect}")
            except AssertionError:
                _, text = await helper.get(expect.endpoint)
                raise AssertionError(f"{expect} not in:\n{text}\n{helper.stderr()}") from None
        assert helper.process is not None
        assert helper.process.returncode is None
        if scenario.stop_removes is not None:
            helper.send(signal.SIGTERM)
            assert await helper.wait() == 0
            assert not Path(scenario.stop_removes).exists()


@pytest.mark.parametrize("listen", [True, False])
async def test_listen_warning_only_with_a_listen_block(tmp_path: Path, listen: bool) -> None:
    text = "namespaces:\n  - name: a\n    source_files: [a.log]\n"
    (tmp_path / "c.yml").write_text(("listen: {port: 4040}\n" if listen else "") + text)
    async with HelperProcess("nginxlog", {}, args=["-config-file", "c.yml"],
                             cwd=str(tmp_path)) as helper:  # fmt: skip
        await helper.wait_log(lambda e: e.get("msg") == "log format read")
        warned = [e for e in helper.logs if "is not applied" in str(e.get("msg"))]
        assert bool(warned) == listen
