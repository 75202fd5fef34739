"""The helper contract: a subclass with a name, a settings class and one ``run()`` coroutine."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar, Generic, TypeVar

from prometheus_client import CollectorRegistry

from .settings import Settings
from .web import Handler

__all__ = ["Command", "Handler", "HealthCheck", "Helper", "HelperContext", "Route"]

S = TypeVar("S", bound=Settings)

HealthCheck = Callable[[], str | None]
"""Returns ``None`` while healthy, else the reason ``/healthz`` reports."""

Command = Callable[[Sequence[str]], int]
"""An extra CLI word of a helper (``sidecars nginxlog check FILE``): argv in, exit code out."""


@dataclass(frozen=True, slots=True)
class Route:
    """An admin route: its handler, and whether the admin guard stands in front of it."""

    handler: Handler
    guarded: bool


class HelperContext(Generic[S]):
    """Everything the runtime hands a running helper.

    The helper reads its settings, logs through ``log``, registers its collectors in
    ``registry``, calls ``ready()`` once it serves, and returns (or stops its loops)
    soon after ``stopping`` is set.
    """

    def __init__(self, name: str, settings: S, registry: CollectorRegistry) -> None:
        self.name = name
        self.settings = settings
        self.registry = registry
        self.log = logging.getLogger(f"sidecars.{name}")
        self.stopping = asyncio.Event()
        self.is_ready = False
        self.draining = False
        self.not_ready_reason = "starting"
        self.health_checks: list[HealthCheck] = []
        self.routes: dict[str, dict[str, Route]] = {}
        self.reload_handlers: list[Callable[[], Awaitable[None] | None]] = []
        self.admin_url: str | None = None
        self._stop: Callable[[str], None] = lambda reason: self.stopping.set()

    def ready(self) -> None:
        """Say the helper serves: ``/readyz`` answers 200 (until draining starts)."""
        if not self.is_ready:
            self.log.info("ready")
        self.is_ready = True

    def not_ready(self, reason: str) -> None:
        """Take the helper out of service: ``/readyz`` answers 503 with ``reason``."""
        self.is_ready = False
        self.draining = False
        self.not_ready_reason = reason

    def add_health_check(self, check: HealthCheck) -> None:
        """Make ``/healthz`` fail (so the kubelet restarts us) while ``check`` returns a reason."""
        self.health_checks.append(check)

    def add_route(
        self,
        method: str,
        path: str,
        handler: Handler,
        *,
        mutates: bool | None = None,
        own_secret: bool = False,
    ) -> None:
        """Serve an extra endpoint on the admin server, such as ``POST /reload``.

        Args:
            mutates: Whether the route changes something; ``None`` means every method but
                GET and HEAD does. A mutating route answers only loopback peers, or only
                requests bearing ``<PREFIX>ADMIN_TOKEN`` once that is set.
            own_secret: The handler checks a credential of its own (a webhook's shared
                secret, as gitsync's ``POST /sync``), so the admin guard lets every peer through.
        """
        method = method.upper()
        if mutates is None:
            mutates = method not in ("GET", "HEAD")
        route = Route(handler, guarded=mutates and not own_secret)
        self.routes.setdefault(path, {})[method] = route

    def on_reload(self, handler: Callable[[], Awaitable[None] | None]) -> None:
        """Run ``handler`` on SIGHUP, the conventional 'reread your configuration' signal."""
        self.reload_handlers.append(handler)

    def shutdown(self, reason: str) -> None:
        """Start the same drain as SIGTERM (e.g. ``POST /quitquitquit`` for a Job's sidecar)."""
        self._stop(reason)

    async def sleep(self, seconds: float) -> bool:
        """Wait ``seconds`` or until stopping; ``True`` means the helper should stop."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), timeout=max(seconds, 0))
        return self.stopping.is_set()


class Helper(Generic[S]):
    """Base class of every helper, built in or third-party.

    Set ``name`` (the CLI word and entry-point key), ``settings_class``, optionally
    ``admin_port`` in the settings class and ``commands``, and implement ``run()``.
    The class docstring's first line is the description ``sidecars list`` shows.
    """

    name: ClassVar[str]
    settings_class: ClassVar[type[Settings]]
    commands: ClassVar[Mapping[str, Command]] = {}

    async def run(self, ctx: HelperContext[S]) -> None:
        """Do the helper's work until done (one-shot helpers) or until ``ctx.stopping``.

        Raise ``HelperError`` for a failure the operator should read (exit 1), or
        ``ConfigError`` for a setting that turned out to be unusable (exit 2).
        """
        raise NotImplementedError

    @classmethod
    def description(cls) -> str:
        doc = (cls.__doc__ or "").strip()
        return doc.splitlines()[0] if doc else ""
