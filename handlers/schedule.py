"""The broadcasts' arq worker, kept running through Redis outages and stopped on request.

arq's worker ends when its Redis connection drops (its poll raises), and nothing starts it
again: one Redis restart used to end every broadcast while the bot looked healthy. The
`Scheduler` runs the worker, and when Redis goes away it logs that once, waits for Redis
with capped exponential backoff (asking with PING), logs the recovery once, and starts a
fresh worker. Its `Phase` is what /healthz shows: running, waiting for Redis, off (no
broadcast channel), stopped, or dead (an unexpected failure; /healthz then answers 503).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path
from typing import Any

import structlog
from arq.connections import ArqRedis, create_pool
from redis.exceptions import RedisError
from slack_sdk.web.async_client import AsyncWebClient

from bot.engine import Engine
from handlers.lifecycle import (
    Backoff,
    Health,
    Phase,
    health_app,
    sleep_or_stop,
    start_http,
    stop_on_signals,
)
from handlers.startup import announce
from handlers.worker import (
    broadcasts_off,
    build_worker,
    publisher_for,
    redis_settings,
    slack_client,
)

log = structlog.get_logger(__name__)

JOB_GRACE_S = 4.0  # on stop, a pass that is posting gets this long to finish before it is cancelled


class Scheduler:
    """Run the broadcast jobs until `stop` is set, across Redis outages."""

    def __init__(
        self,
        engine: Engine,
        client: AsyncWebClient,
        *,
        backoff: Backoff | None = None,
        **worker_overrides: Any,
    ) -> None:
        self.engine = engine
        self.client = client
        self.backoff = backoff or Backoff(first=0.5, cap=30.0)
        self.phase = Phase()
        self._overrides = worker_overrides
        self._down_since: float | None = None

    async def run(self, stop: asyncio.Event) -> None:
        """Run until stop is set (or, in burst mode, until the queue is empty)."""
        try:
            await self._run(stop)
        except Exception as exc:
            self.phase.set("dead", f"{type(exc).__name__}: {exc}"[:200])
            log.error("scheduler_died", error_type=type(exc).__name__, error=str(exc)[:200])
            raise

    async def _run(self, stop: asyncio.Event) -> None:
        off = broadcasts_off(self.engine)
        if off is not None:
            self.phase.set("off", off)
            log.warning("broadcasts_off", reason=off)
            return
        publisher = publisher_for(self.engine, self.client)
        while not stop.is_set():
            if not await self._wait_for_redis(stop):
                break
            try:
                pool = await create_pool(await redis_settings(self.engine))
            except (RedisError, OSError) as exc:  # gone again between the PING and now
                self._outage(exc)
                continue
            try:
                ended = await self._run_worker(publisher, pool, stop)
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pool.aclose()
            if ended:
                break
        self.phase.set("stopped")

    async def _run_worker(self, publisher: Any, pool: ArqRedis, stop: asyncio.Event) -> bool:
        """Run one arq worker; True when it ended for good (stop, burst), False on a Redis loss."""
        worker = build_worker(
            self.engine,
            publisher,
            pool=pool,
            **{"handle_signals": False, **self._overrides},
        )
        self.phase.set("running")
        running = asyncio.create_task(worker.async_run())
        stopping = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if not running.done():
                await self._stop(worker, running)
                return True
            error = running.exception()
            if error is None:  # burst mode: the queue is empty
                return True
            if not isinstance(error, RedisError | OSError):
                raise error
            self._outage(error)
            return False
        finally:
            stopping.cancel()
            await _close(worker)

    async def _stop(self, worker: Any, running: asyncio.Task[None]) -> None:
        """Take no new job; let a running pass finish (JOB_GRACE_S), then cancel what is left."""
        worker.allow_pick_jobs = False
        jobs = [t for t in worker.tasks.values() if not t.done()]
        if jobs:
            await asyncio.wait(jobs, timeout=JOB_GRACE_S)
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await running

    def _outage(self, error: BaseException) -> None:
        if self._down_since is None:
            self._down_since = time.monotonic()
            reason = _describe(error)
            self.phase.set("waiting_for_redis", reason)
            log.warning("scheduler_down", reason=reason, retry="with backoff, up to 30 s apart")

    async def _wait_for_redis(self, stop: asyncio.Event) -> bool:
        """True once Redis answers (logging a recovery once); False when stop is set first."""
        cache = self.engine.cache
        delays = self.backoff.delays()
        while not await cache.ping():
            if self._down_since is None:
                self._outage(ConnectionError(cache.status))
            if await sleep_or_stop(stop, next(delays)):
                return False
        if self._down_since is not None:
            down_s = round(time.monotonic() - self._down_since, 1)
            self._down_since = None
            log.info("scheduler_resumed", down_s=down_s)
        return True


async def _close(worker: Any) -> None:
    """Close an arq worker whose Redis may be gone: its own close can fail half-way."""
    with contextlib.suppress(asyncio.CancelledError, RedisError, OSError, TimeoutError):
        await asyncio.wait_for(worker.close(), 2.0)


def _describe(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0][:160]


def start_in_process(
    engine: Engine, client: AsyncWebClient, stop: asyncio.Event | None = None
) -> tuple[Scheduler, asyncio.Task[None]]:
    """Run the broadcasts inside the current process (for `serve`): set `stop` (or cancel) to end."""
    scheduler = Scheduler(engine, client)
    task = asyncio.create_task(
        scheduler.run(stop or asyncio.Event()), name="model-access-broadcasts"
    )
    return scheduler, task


def run_worker(keys_file: Path | None, config_file: Path | None, port: int | None) -> int:
    """`model-access worker`: run the broadcasts until SIGINT/SIGTERM; exit code."""
    return asyncio.run(_worker(keys_file, config_file, port))


async def _worker(keys_file: Path | None, config_file: Path | None, port: int | None) -> int:
    stop = stop_on_signals()
    engine = await Engine.build(keys_file=keys_file, config_file=config_file)
    runner = None
    try:
        scheduler = Scheduler(engine, slack_client(engine.env))
        if stop.is_set():  # told to stop while starting
            return 0
        health = Health("worker", engine.cache, len(engine.keys), {"scheduler": scheduler.phase})
        if port is not None:
            runner = await start_http(health_app(health), port)
        announce(engine, mode="worker", port=port, event="worker_started")
        task = asyncio.create_task(scheduler.run(stop))
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if task.done() and task.exception() is not None:
            return 1  # the scheduler died (logged): exit so the process is restarted
        # With broadcasts off the scheduler ends at once and the worker idles: exiting would
        # have a restart policy start it again and again, saying the same thing each time.
        await stopping
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, JOB_GRACE_S + 3)
        log.info("worker_stopped")
        return 0
    finally:
        if runner is not None:
            await runner.cleanup()
        await engine.close()
