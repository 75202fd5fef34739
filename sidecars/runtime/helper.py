"""The helper contract: a subclass with a name, a settings class and one ``run()`` coroutine."""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from asyncio import FIRST_COMPLETED
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, TypeVar

from .errors import ConfigError, HelperError
from .settings import Settings
from .web import Handler

if TYPE_CHECKING:
    from .families import Collector
    from .metrics import HelperRegistry

__all__ = ["Command", "Handler", "HealthCheck", "Helper", "HelperContext", "Route"]

S = TypeVar("S", bound=Settings)
T = TypeVar("T")

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

    def __init__(self, name: str, settings: S, registry: HelperRegistry | None = None) -> None:
        self.name = name
        self.settings = settings
        self._registry = registry
        self._collectors: list[Callable[[], Collector]] = []
        self.log = logging.getLogger(f"sidecars.{name}")
        self.stopping = asyncio.Event()
        self.is_ready = False
        self.draining = False
        self.not_ready_reason = "starting"
        self.health_checks: list[HealthCheck] = []
        self.routes: dict[str, dict[str, Route]] = {}
        self.reload_handlers: list[Callable[[], Awaitable[None] | None]] = []
        self.admin_url: str | None = None
        self.tasks: set[asyncio.Task[Any]] = set()
        self.failure: tuple[str, BaseException] | None = None
        self.failed = asyncio.Event()
        self._stop: Callable[[str], None] = lambda reason: self.stopping.set()

    @property
    def registry(self) -> HelperRegistry:
        """The helper's own registry, made on first use with the runtime's metrics in it:
        a one-shot helper that is never scraped never builds it."""
        if self._registry is None:
            from .metrics import RuntimeCollector, new_registry

            self._registry = new_registry()
            self._registry.register(RuntimeCollector(self))
            for factory in self._collectors:
                self._registry.register(factory())
        return self._registry

    def add_collector(self, factory: Callable[[], Collector]) -> None:
        """Register the collector ``factory()`` builds once the registry exists (at the first
        scrape, or now if it does): a helper whose metrics are rarely scraped, such as an
        init container, then never imports its collector's module."""
        if self._registry is None:
            self._collectors.append(factory)
        else:
            self._registry.register(factory())

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

    async def sleep(self, seconds: float, wake: asyncio.Event | None = None) -> bool:
        """Wait ``seconds``, until ``wake`` is set, or until stopping, whichever comes first.

        Args:
            seconds: The longest wait; 0 or less only checks for the stop.
            wake: An event that ends the wait early (a trigger, a signal). It is left set,
                so the caller can tell a wake-up from a timeout and clears it when it acts.

        Returns:
            ``True`` when the helper should stop, ``False`` otherwise.
        """
        if self.stopping.is_set() or (wake is not None and wake.is_set()):
            return self.stopping.is_set()
        waiters = [asyncio.ensure_future(self.stopping.wait())]
        if wake is not None:
            waiters.append(asyncio.ensure_future(wake.wait()))
        try:
            await asyncio.wait(waiters, timeout=max(seconds, 0), return_when=FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
        return self.stopping.is_set()

    def spawn(self, coro: Coroutine[Any, Any, T], *, name: str) -> asyncio.Task[T]:
        """Run ``coro`` beside ``run()``, supervised by the runtime.

        If it raises, the helper ends: the log names the task, the exit code is 1 (2 for a
        ``ConfigError``). When ``run()`` ends, tasks still running are cancelled and awaited,
        so a loop that watches ``stopping`` needs no cleanup of its own.
        """
        task = asyncio.create_task(coro, name=name)
        self.tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self.tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is None:
            return
        name = task.get_name()
        if isinstance(exc, HelperError | ConfigError):
            self.log.error("task %s failed: %s", name, exc, extra={"task": name})
        else:
            self.log.error("task %s crashed", name, extra={"task": name}, exc_info=exc)
        if self.failure is None:
            self.failure = (name, exc)
        self.failed.set()

    async def cancel_tasks(self, timeout: float = 5.0) -> None:
        """Cancel the supervised tasks still running and wait up to ``timeout`` for them."""
        pending = set(self.tasks)
        for task in pending:
            task.cancel()
        if pending:
            _, stuck = await asyncio.wait(pending, timeout=timeout)
            for task in stuck:
                self.log.warning("task ignored its cancellation", extra={"task": task.get_name()})


class Helper(ABC, Generic[S]):
    """Base class of every helper, built in or third-party.

    Set ``name`` (the CLI word and entry-point key), ``settings_class``, optionally
    ``admin_port`` in the settings class and ``commands``, and implement ``run()``.
    The class docstring's first line is the description ``sidecars list`` shows.
    """

    name: ClassVar[str]
    settings_class: type[S]
    """The settings class, the same ``S`` as in ``Helper[S]`` (mypy holds the two together)."""
    commands: ClassVar[Mapping[str, Command]] = {}
    event_loop: ClassVar[Literal["uvloop", "asyncio"]] = "uvloop"
    """uvloop for helpers that carry traffic; the standard loop saves 2.4 MB and 0.01 CPU-s
    of start-up where a helper only waits (measured with ``benchmarks/footprint``)."""

    @abstractmethod
    async def run(self, ctx: HelperContext[S]) -> None:
        """Do the helper's work until done (one-shot helpers) or until ``ctx.stopping``.

        Raise ``HelperError`` for a failure the operator should read (exit 1), or
        ``ConfigError`` for a setting that turned out to be unusable (exit 2).
        """

    @classmethod
    def description(cls) -> str:
        doc = (cls.__doc__ or "").strip()
        return doc.splitlines()[0] if doc else ""
