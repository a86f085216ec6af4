"""How each key has been doing: its last live probe, its models count, recent failures.

The prober writes here after every live (not cached) probe and models list; App Home and
`keys` read it. Stored in Redis (a hash and a short list per key, kept 30 days) so every
replica sees the same history; when Redis is down, this process's own memory answers.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import structlog
from redis.exceptions import RedisError

from bot.cache import Cache
from bot.keys import Key
from bot.results import KeyHealth

log = structlog.get_logger(__name__)

HEALTH_TTL_S = 30 * 86400
FAILURES_KEPT = 10


class HealthLog:
    """Per-key probe history in Redis, with an in-process fallback."""

    def __init__(self, cache: Cache, clock: Callable[[], datetime]) -> None:
        self.cache = cache
        self.clock = clock
        self._local: dict[str, dict[str, Any]] = {}

    def _mine(self, key: Key) -> dict[str, Any]:
        return self._local.setdefault(key.cache_id, {"failures": []})

    async def record_probe(self, key: Key, ok: bool, failure: str | None) -> None:
        """Remember a live probe: when, whether it worked, and (if not) "model cause"."""
        now = self.clock().isoformat()
        local = self._mine(key)
        local.update(last_probe_at=now, last_ok=ok)
        if failure:
            local["failures"] = [failure, *local["failures"]][:FAILURES_KEPT]
        client = self.cache.client
        if client is None:
            return
        name = self.cache.key("health", key.cache_id)
        try:
            async with client.pipeline(transaction=True) as pipe:
                pipe.hset(name, mapping={"last_probe_at": now, "last_ok": int(ok)})
                pipe.expire(name, HEALTH_TTL_S)
                if failure:
                    pipe.lpush(name + ":failures", failure)
                    pipe.ltrim(name + ":failures", 0, FAILURES_KEPT - 1)
                    pipe.expire(name + ":failures", HEALTH_TTL_S)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            log.warning("health_not_recorded", alias=key.alias, error=type(exc).__name__)

    async def record_models(self, key: Key, count: int) -> None:
        """Remember how many models the key listed."""
        self._mine(key)["models_count"] = count
        client = self.cache.client
        if client is None:
            return
        name = self.cache.key("health", key.cache_id)
        try:
            async with client.pipeline(transaction=True) as pipe:
                pipe.hset(name, "models_count", str(count))
                pipe.expire(name, HEALTH_TTL_S)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            log.warning("health_not_recorded", alias=key.alias, error=type(exc).__name__)

    async def read(self, key: Key) -> KeyHealth:
        """The key's history: Redis when reachable, else what this process saw."""
        data: dict[str, Any] = dict(self._local.get(key.cache_id, {}))
        client = self.cache.client
        if client is not None:
            name = self.cache.key("health", key.cache_id)
            try:
                async with client.pipeline(transaction=False) as pipe:
                    pipe.hgetall(name)
                    pipe.lrange(name + ":failures", 0, FAILURES_KEPT - 1)
                    stored, failures = await pipe.execute()
                if stored:
                    data = {
                        "last_probe_at": stored.get("last_probe_at"),
                        "last_ok": stored["last_ok"] == "1" if "last_ok" in stored else None,
                        "models_count": stored.get("models_count"),
                        "failures": failures,
                    }
            except (RedisError, OSError) as exc:
                log.warning("health_not_read", alias=key.alias, error=type(exc).__name__)
        return KeyHealth(
            alias=key.alias,
            provider=key.provider,
            fingerprint=key.fingerprint,
            last_probe_at=data.get("last_probe_at"),
            last_ok=data.get("last_ok"),
            models_count=data.get("models_count"),
            recent_failures=list(data.get("failures") or []),
        )
