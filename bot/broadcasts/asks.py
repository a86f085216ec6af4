"""How often people ask about each model: slash commands and pasted errors, per day in Redis.

Broadcasts and App Home rank models by it ("asked about 14 times this month"). Counting
is best effort: without Redis nothing is counted and every count reads zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

import structlog
from redis.exceptions import RedisError

from bot.cache import Cache

log = structlog.get_logger(__name__)

ASK_WINDOW_DAYS = 30
ASK_TTL_S = 31 * 86400


def _ask_key(cache: Cache, day: date) -> str:
    return cache.key("asks", day.isoformat())


async def record_ask(cache: Cache, model: str, now: datetime) -> None:
    """Count one question about a model (one hash per day, expiring after 31 days)."""
    client, name = cache.client, model.strip().lower()
    if client is None or not name:
        return
    key = _ask_key(cache, now.date())
    try:
        async with client.pipeline(transaction=True) as pipe:
            pipe.hincrby(key, name, 1)
            pipe.expire(key, ASK_TTL_S)
            await pipe.execute()
    except (RedisError, OSError) as exc:
        log.warning("ask_not_counted", model=name, error=type(exc).__name__)


async def ask_counts(cache: Cache, models: Sequence[str], now: datetime) -> dict[str, int]:
    """How often each model was asked about in the last 30 days (zeros when uncached)."""
    counts = dict.fromkeys(models, 0)
    client = cache.client
    if client is None or not models:
        return counts
    names = [m.strip().lower() for m in models]
    try:
        async with client.pipeline(transaction=False) as pipe:
            for back in range(ASK_WINDOW_DAYS):
                pipe.hmget(_ask_key(cache, now.date() - timedelta(days=back)), names)
            per_day = await pipe.execute()
    except (RedisError, OSError) as exc:
        log.warning("ask_counts_unavailable", error=type(exc).__name__)
        return counts
    for values in per_day:
        for model, value in zip(models, values, strict=True):
            counts[model] += int(value or 0)
    return counts
