"""Scheduled broadcasts on arq: the deprecation pass and the inventory pass, across replicas.

`model-access worker` runs them as a process of their own; `serve` runs them inside the
bot too, for a single-process install (both through handlers/schedule.py, which keeps the
worker running across Redis outages). Any number
of workers may run: arq's unique cron job ids, a leader lock per pass and the outbox
records (bot/broadcasts/deprecations.py) keep every message to one post.

Schedule (UTC): the deprecation pass at minute 7 of every hour and at start-up. It is
idempotent (it posts what is due *today* and anything still pending), so running it
hourly means a notice whose post failed goes out within the hour, and a restarted worker
catches up at once. The inventory pass is considered every 5 minutes and at start-up,
but runs only when the `inventory_interval_min` gate (a Redis claim) has expired.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC
from typing import Any, ClassVar

import structlog
from arq import cron
from arq.connections import ArqRedis, RedisSettings
from arq.cron import CronJob
from arq.worker import Worker, create_worker
from slack_sdk.web.async_client import AsyncWebClient

from bot import embedded
from bot.broadcasts.outbox import PASS_LOCK_S, PassReport
from bot.config import Env
from bot.engine import Engine
from bot.errors import ConfigError
from handlers.client import build_client
from handlers.publisher import SlackPublisher

log = structlog.get_logger(__name__)

INVENTORY_TICK_MIN = 5


def _summary(report: PassReport) -> dict[str, Any]:
    return {
        "posted": len(report.posted),
        "failed": len(report.failed),
        "dropped": len(report.dropped),
        "skipped": report.skipped,
    }


async def deprecation_job(ctx: dict[str, Any]) -> dict[str, Any]:
    """arq job: post the deprecation notices due now (and any still pending)."""
    engine: Engine = ctx["engine"]
    report = await engine.deprecation_pass(ctx["publisher"])
    log.info("deprecation_pass_done", **_summary(report))
    return _summary(report)


async def inventory_job(ctx: dict[str, Any]) -> dict[str, Any]:
    """arq job: every inventory_interval_min, diff each key's models and post the changes."""
    engine: Engine = ctx["engine"]
    interval_s = engine.config.inventory_interval_min * 60
    # A little under the interval, so a 5-minute tick landing just after expiry runs it.
    gate = engine.cache.key("inv", "due")
    if not await engine.cache.claim(gate, interval_s - 90):
        return {"skipped": "not due yet"}
    report = await engine.inventory_pass(ctx["publisher"])
    log.info("inventory_pass_done", **_summary(report))
    return _summary(report)


async def _startup(ctx: dict[str, Any]) -> None:
    if "engine" not in ctx:
        ctx["engine"] = await Engine.build(
            keys_file=ctx.get("keys_file"), config_file=ctx.get("config_file")
        )
        ctx["owns_engine"] = True
    if "publisher" not in ctx:
        engine: Engine = ctx["engine"]
        ctx["publisher"] = publisher_for(engine, slack_client(engine.env))
    log.info("worker_started", channel=ctx["publisher"].channel)


async def _shutdown(ctx: dict[str, Any]) -> None:
    if ctx.get("owns_engine"):
        await ctx["engine"].close()


def cron_jobs() -> list[CronJob]:
    """Fresh cron jobs (arq keeps each one's next run on the object: one set per worker)."""
    return [
        cron(deprecation_job, minute={7}, run_at_startup=True, timeout=PASS_LOCK_S),
        cron(
            inventory_job,
            minute=set(range(0, 60, INVENTORY_TICK_MIN)),
            run_at_startup=True,
            timeout=PASS_LOCK_S,
        ),
    ]


class WorkerSettings:
    """The arq settings that do not depend on the environment; see `worker_kwargs`."""

    functions: ClassVar[tuple[Any, ...]] = (deprecation_job, inventory_job)
    cron_jobs: ClassVar[list[CronJob]] = cron_jobs()
    on_startup = _startup
    on_shutdown = _shutdown
    timezone = UTC
    keep_result = 0
    job_timeout = PASS_LOCK_S
    max_tries = 1
    poll_delay = 0.5


def slack_client(env: Env) -> AsyncWebClient:
    """The Web API client for broadcasts; ConfigError without SLACK_BOT_TOKEN."""
    if env.SLACK_BOT_TOKEN is None:
        raise ConfigError("the worker posts to Slack: set SLACK_BOT_TOKEN")
    return build_client(env)  # the app's client: same URL, token and 429 handling


def broadcasts_off(engine: Engine) -> str | None:
    """Why this install posts no broadcasts (no channel, no Redis at all), or None."""
    if engine.config.broadcast_channel is None:
        return "no broadcast_channel in MODEL_ACCESS_CONFIG: shutdown notices and key changes are not posted"
    if not engine.cache.configured:
        return f"broadcasts need Redis ({engine.cache.status})"
    return None


def publisher_for(engine: Engine, client: AsyncWebClient) -> SlackPublisher:
    """The broadcast channel's publisher; ConfigError when no channel is configured."""
    channel = engine.config.broadcast_channel
    if channel is None:
        raise ConfigError("set broadcast_channel in MODEL_ACCESS_CONFIG to post notices")
    return SlackPublisher(client, channel)


async def redis_settings(engine: Engine) -> RedisSettings:
    """arq's connection: the Redis the cache uses (REDIS_URL, or the embedded Valkey).

    No connection retries of arq's own: the scheduler waits for Redis itself, with backoff.
    """
    url = engine.cache.url or engine.env.REDIS_URL
    if url is None:
        url = await asyncio.to_thread(embedded.ensure_running)
    return dataclasses.replace(RedisSettings.from_dsn(url), conn_retries=0)


def worker_kwargs(
    engine: Engine,
    publisher: Any,
    settings: RedisSettings | None = None,
    *,
    pool: ArqRedis | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """WorkerSettings plus what depends on this engine, for `arq.worker.create_worker`.

    The queue is namespaced by the cache prefix, so installs sharing a Redis stay apart.
    Give the Redis as `settings` (arq connects) or as an open `pool` (the caller closes it).
    """
    static = {k: v for k, v in vars(WorkerSettings).items() if not k.startswith("_")}
    return {
        **static,
        "redis_settings": settings,
        "redis_pool": pool,
        "queue_name": engine.cache.key("arq", "queue"),
        "cron_jobs": cron_jobs(),
        "ctx": {"engine": engine, "publisher": publisher},
        **overrides,
    }


def build_worker(
    engine: Engine,
    publisher: Any,
    settings: RedisSettings | None = None,
    *,
    pool: ArqRedis | None = None,
    **overrides: Any,
) -> Worker:
    """An arq Worker running the broadcast jobs for this engine (tests pass burst=True)."""
    return create_worker(worker_kwargs(engine, publisher, settings, pool=pool, **overrides))
