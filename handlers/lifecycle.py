"""How the long-running modes start and stop: signals, backoff, requests in flight, health.

* `stop_on_signals()` — an Event that SIGINT and SIGTERM set (each mode waits on it).
* `Backoff` — capped exponential delays with a little jitter, for reconnect loops.
* `InFlight` — the tasks answering Slack requests, so a stopping bot lets them finish.
* `Health` and `health_app` — GET /healthz (and /metrics, /slack/events for the bot).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
import weakref
from collections.abc import Awaitable, Callable, Coroutine, Generator
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog
from aiohttp import web

from bot.cache import Cache

log = structlog.get_logger(__name__)

EVENTS_PATH = "/slack/events"


def stop_on_signals() -> asyncio.Event:
    """An Event set by SIGINT or SIGTERM, installed on the running loop before anything slow."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def sleep_or_stop(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep up to `seconds`; True when `stop` was set meanwhile (the caller should end)."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
    return stop.is_set()


@dataclass(frozen=True)
class Backoff:
    """Delays of first, 2×first, 4×first … up to cap seconds, each ±10% so replicas spread out."""

    first: float = 1.0
    cap: float = 30.0

    def delays(self) -> Generator[float, None, None]:
        """The delay before each next attempt, for ever (the caller stops when it succeeds)."""
        delay = self.first
        while True:
            yield delay * random.uniform(0.9, 1.1)
            delay = min(delay * 2, self.cap)


# -- requests in flight -----------------------------------------------------------------------

_ANSWERING: ContextVar[bool] = ContextVar("model_access_answering", default=False)


class InFlight:
    """The tasks started while a Slack request was dispatched: the replies still being made.

    Bolt acknowledges a request and runs its listener in a task of its own, so the HTTP
    handler (or the socket envelope) is done long before the reply is posted. `dispatch`
    marks the request's context; the loop's task factory remembers every task started
    in a marked context; `drain` waits for them when the bot stops.
    """

    def __init__(self) -> None:
        self._tasks: weakref.WeakSet[asyncio.Task[Any]] = weakref.WeakSet()

    def install(self, loop: asyncio.AbstractEventLoop) -> None:
        """Make the loop's task factory note the tasks that requests start."""
        previous = loop.get_task_factory()

        def factory(
            loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any], **kwargs: Any
        ) -> asyncio.Task[Any]:
            task: asyncio.Task[Any] = (
                previous(loop, coro, **kwargs)  # type: ignore[assignment]
                if previous is not None
                else asyncio.Task(coro, loop=loop, **kwargs)
            )
            if _ANSWERING.get():
                self._tasks.add(task)
            return task

        loop.set_task_factory(factory)  # type: ignore[arg-type]

    async def dispatch(self, answer: Callable[[], Awaitable[Any]]) -> Any:
        """Run one request's dispatch with its context marked (the mark ends with it)."""
        token = _ANSWERING.set(True)
        try:
            return await answer()
        finally:
            _ANSWERING.reset(token)

    def pending(self) -> list[asyncio.Task[Any]]:
        """The request tasks not finished yet."""
        return [t for t in self._tasks if not t.done()]

    async def drain(self, timeout_s: float) -> int:
        """Wait up to timeout_s for the pending replies; cancel the rest and say how many."""
        pending = self.pending()
        if not pending:
            return 0
        _, late = await asyncio.wait(pending, timeout=timeout_s)
        for task in late:
            task.cancel()
        return len(late)


# -- health -----------------------------------------------------------------------------------


@dataclass
class Phase:
    """What a supervised part (the scheduler, the Socket Mode connection) is doing, and since when."""

    state: str = "starting"
    reason: str | None = None
    since: datetime = field(default_factory=lambda: datetime.now(UTC))

    def set(self, state: str, reason: str | None = None) -> None:
        """Move to a state (the time changes only when the state does)."""
        if state != self.state:
            self.since = datetime.now(UTC)
        self.state, self.reason = state, reason

    def to_json(self) -> dict[str, Any]:
        """{state, reason, since} for /healthz."""
        return {"state": self.state, "reason": self.reason, "since": self.since.isoformat()}


@dataclass
class Health:
    """What GET /healthz reports. A part in state 'dead' (it stopped and will not come back)
    makes the answer 503, so a liveness probe restarts the process; a Redis or Slack outage
    does not (a restart would not help) but shows in the body."""

    mode: str
    cache: Cache
    keys: int
    parts: dict[str, Phase] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The /healthz body."""
        return {
            "ok": self.ok,
            "mode": self.mode,
            "cache": self.cache.status,
            "cache_kind": self.cache.kind,
            "keys": self.keys,
            **{name: phase.to_json() for name, phase in self.parts.items()},
        }

    @property
    def ok(self) -> bool:
        """False when a part died."""
        return all(phase.state != "dead" for phase in self.parts.values())


def health_app(
    health: Health,
    *,
    events: Callable[[web.Request], Awaitable[web.StreamResponse]] | None = None,
    metrics: Callable[[], tuple[bytes, str]] | None = None,
) -> web.Application:
    """aiohttp: GET /healthz, plus POST /slack/events and GET /metrics when given."""

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response(health.to_json(), status=200 if health.ok else 503)

    server = web.Application()
    server.router.add_get("/healthz", healthz)
    if events is not None:
        server.router.add_post(EVENTS_PATH, events)
    if metrics is not None:
        render = metrics

        async def exposition(_: web.Request) -> web.Response:
            body, content_type = render()
            return web.Response(body=body, headers={"Content-Type": content_type})

        server.router.add_get("/metrics", exposition)
    return server


async def start_http(server: web.Application, port: int) -> web.AppRunner:
    """Serve on 0.0.0.0:port; in-flight HTTP requests get 2 s at cleanup (acks are quick)."""
    runner = web.AppRunner(server, access_log=None, shutdown_timeout=2.0)
    await runner.setup()
    await web.TCPSite(runner, "0.0.0.0", port).start()  # noqa: S104 - a server
    return runner
