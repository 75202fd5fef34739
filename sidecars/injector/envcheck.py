"""A helper's env checked by that helper's own ``Settings`` class, before the Pod exists.

The messages are the ones the helper would print at start-up, so a typo in an annotation
is caught at admission instead of as a crash-looping container. Each settings class is
imported on first use only, a built-in helper's without the helper itself (importing every
helper costs the injector more memory than everything else it does); others come through
their ``sidecars.helpers`` entry point.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from sidecars import ConfigError
from sidecars.runtime import discovery
from sidecars.runtime.settings import Settings

from .templates import Template

__all__ = ["EnvCheck"]

log = logging.getLogger("sidecars.injector")

_REMEMBERED = 1024
_UNKNOWABLE = "\x00from-elsewhere"
"""Stands for a value the Pod gets at run time (valueFrom, a ``_FILE`` secret): never read,
and a problem it causes is not reported."""


class EnvCheck:
    """Answers are remembered (the Pods of one workload carry the same annotations): a
    check costs milliseconds, an admission without it a fraction of one."""

    def __init__(self) -> None:
        self.classes: dict[str, type[Settings] | None] = {}
        self.registered: set[str] | None = None
        self.answers: OrderedDict[tuple[Any, ...], tuple[Template, list[str]]] = OrderedDict()

    def settings_class(self, template: Template) -> type[Settings] | None:
        """The settings class of the helper behind ``template``, or ``None`` when no
        installed helper matches it (a third-party image: nothing to check against)."""
        candidates = [template.helper] if template.helper else [template.name]
        candidates.append(template.name.split("-", 1)[0])
        for name in candidates:
            if name not in discovery.BUILT_IN and self.registered is None:
                self.registered = set(discovery.available())
            if name in discovery.BUILT_IN or name in (self.registered or ()):
                if name not in self.classes:
                    self.classes[name] = _load(name)
                return self.classes[name]
        return None

    def warnings(self, template: Template, env: Mapping[str, str]) -> list[str]:
        """Problems with ``env`` (the Pod's annotations) on top of the template's env."""
        # the entry holds the template, so its id is not reused while the entry lives
        key = (id(template), tuple(sorted(env.items())))
        entry = self.answers.get(key)
        if entry is None:
            entry = (template, self._check(template, env))
            self.answers[key] = entry
            if len(self.answers) > _REMEMBERED:
                self.answers.popitem(last=False)
        else:
            self.answers.move_to_end(key)
        return list(entry[1])

    def _check(self, template: Template, env: Mapping[str, str]) -> list[str]:
        cls = self.settings_class(template)
        if cls is None:
            return []
        combined: dict[str, str] = {}
        for item in template.container.get("env") or ():
            value: Any = item.get("value") if "valueFrom" not in item else _UNKNOWABLE
            combined[item["name"]] = value if isinstance(value, str) else _UNKNOWABLE
        combined.update(env)
        for name in [n for n in combined if n.endswith("_FILE")]:
            combined.setdefault(name[: -len("_FILE")], _UNKNOWABLE)
            combined[name] = _UNKNOWABLE
        found = [f"{template.name}: {text}" for text in cls.unknown_variables(env)]
        try:
            cls.from_env({k: v for k, v in combined.items() if not k.endswith("_FILE")})
        except ConfigError as exc:
            for problem in exc.problems:
                if isinstance(problem, str):
                    found.append(f"{template.name}: {problem}")
                elif problem.value == _UNKNOWABLE or (
                    problem.value is not None and problem.variable not in env
                ):
                    continue
                found.append(f"{template.name}: {problem}")
        except Exception as exc:  # a third-party validate() that raises
            found.append(f"{template.name}: its settings could not be checked: {exc}")
        return found


def _load(name: str) -> type[Settings] | None:
    try:
        return discovery.load_settings(name)
    except Exception as exc:
        log.warning("cannot load helper %s to check its settings: %s", name, exc)
        return None
