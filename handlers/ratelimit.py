"""Per-user probe limit: N checks per user per minute, counted in Redis across replicas.

A fixed one-minute window (`Cache.incr` sets the expiry on the first count). Admins are
not limited. With Redis down nothing is counted and everyone may probe: the provider's
own rate limits and the probe cache still protect the keys.
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog

from bot.cache import Cache

log = structlog.get_logger(__name__)

WINDOW_S = 60.0


@dataclass(frozen=True)
class Verdict:
    """Whether this probe may go ahead, and how many the user has asked for in the window."""

    allowed: bool
    count: int


@dataclass(frozen=True)
class ProbeLimit:
    """The limit for one deployment: `per_minute` probes per user, admins exempt."""

    cache: Cache
    per_minute: int
    admins: frozenset[str] = frozenset()

    async def take(self, user_id: str | None) -> Verdict:
        """Count one probe for the user; allowed unless it goes over the limit."""
        if user_id is None or user_id in self.admins:
            return Verdict(True, 0)
        count = await self.cache.incr(self.cache.key("probes", user_id), WINDOW_S)
        if count is None:
            return Verdict(True, 0)
        if count > self.per_minute:
            log.info("probe_rate_limited", user_id=user_id, count=count, limit=self.per_minute)
            return Verdict(False, count - 1)
        return Verdict(True, count)
