"""Inject a fault into a helper running as a real process: a ``sitecustomize`` module on
its ``PYTHONPATH`` wraps one function so that it raises once a trigger file exists."""

from __future__ import annotations

import os
from pathlib import Path

_SITECUSTOMIZE = """\
import functools, importlib, inspect, pathlib

_trigger = pathlib.Path({trigger!r})
_owner = importlib.import_module({module!r})
for _part in {path!r}[:-1]:
    _owner = getattr(_owner, _part)
_original = getattr(_owner, {path!r}[-1])

def _check():
    if _trigger.exists():
        raise RuntimeError("injected fault")

if inspect.iscoroutinefunction(_original):
    @functools.wraps(_original)
    async def _faulty(*args, **kwargs):
        _check()
        return await _original(*args, **kwargs)
else:
    @functools.wraps(_original)
    def _faulty(*args, **kwargs):
        _check()
        return _original(*args, **kwargs)

setattr(_owner, {path!r}[-1], _faulty)
"""


def fault_env(directory: Path, target: str, trigger: Path) -> dict[str, str]:
    """Environment making ``module:Attr.name`` raise ``RuntimeError`` once ``trigger`` exists."""
    module, _, dotted = target.partition(":")
    directory.mkdir(parents=True, exist_ok=True)
    text = _SITECUSTOMIZE.format(trigger=str(trigger), module=module, path=dotted.split("."))
    (directory / "sitecustomize.py").write_text(text, encoding="utf-8")
    root = str(Path(__file__).resolve().parents[1])
    return {"PYTHONPATH": os.pathsep.join([str(directory), root])}
