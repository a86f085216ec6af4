"""The outbox: durable pending/sent records in Redis that every broadcast is posted through.

The scheme that makes each message go out exactly once is described in
bot/broadcasts/deprecations.py. A pass runs under a leader lock with its outbox
(`run_pass`); records are added atomically, taken with a lease, and finished.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, cast

import redis.asyncio as redis
import structlog
from redis.exceptions import RedisError

from bot.cache import Cache

log = structlog.get_logger(__name__)

RECORD_TTL_S = 400 * 86400
LEASE_S = 600.0
PASS_LOCK_S = 900.0

# -- the outbox -------------------------------------------------------------------------------

_ADD = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'state', 'pending', 'payload', ARGV[1], 'lease_until', '0',
           'attempts', '0', 'created', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('SADD', KEYS[2], KEYS[1])
return 1
"""
_TAKE = """
local state = redis.call('HGET', KEYS[1], 'state')
if state ~= 'pending' then
  redis.call('SREM', KEYS[2], KEYS[1])
  return false
end
local lease = tonumber(redis.call('HGET', KEYS[1], 'lease_until') or '0')
if lease > tonumber(ARGV[2]) then return false end
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'lease_until', ARGV[3])
redis.call('HINCRBY', KEYS[1], 'attempts', 1)
return redis.call('HGET', KEYS[1], 'payload')
"""
_RELEASE = """
if redis.call('HGET', KEYS[1], 'owner') == ARGV[1] and
   redis.call('HGET', KEYS[1], 'state') == 'pending' then
  redis.call('HSET', KEYS[1], 'lease_until', '0')
  return 1
end
return 0
"""
_DROP_PENDING = """
if redis.call('HGET', KEYS[1], 'state') == 'pending' then
  redis.call('HSET', KEYS[1], 'state', 'dropped')
  redis.call('SREM', KEYS[2], KEYS[1])
  return 1
end
return 0
"""


@dataclass(frozen=True)
class Taken:
    """A record this worker holds the lease on, with the facts stored when it was added."""

    id: str
    payload: dict[str, Any]


class Outbox:
    """Pending/sent records of one pass ('deprecation' or 'inventory') in Redis.

    Leases are measured on the pass's clock (`now`), so tests can let one run out.
    """

    def __init__(self, client: redis.Redis, cache: Cache, kind: str) -> None:
        self._client = client
        self._cache = cache
        self._pending = cache.key("bc", "pending", kind)
        self._rec_prefix = cache.key("bc", "rec", "")
        self.owner = uuid.uuid4().hex[:12]  # short: a 32-hex token looks like a key

    def _rec(self, record_id: str) -> str:
        return self._rec_prefix + record_id

    async def _run(self, script: str, keys: Sequence[str], *args: object) -> Any:
        pending = self._client.eval(script, len(keys), *keys, *(str(a) for a in args))
        return await cast(Awaitable[Any], pending)

    async def add(self, record_id: str, payload: Mapping[str, Any], now: datetime) -> bool:
        """Create the record as pending unless it exists in any state; True if created."""
        data = json.dumps(payload, sort_keys=True, default=str)
        keys = (self._rec(record_id), self._pending)
        return bool(await self._run(_ADD, keys, data, now.isoformat(), RECORD_TTL_S * 1000))

    async def count_existing(self, record_ids: Sequence[str]) -> int:
        """How many of these records exist (pending, sent or dropped)."""
        if not record_ids:
            return 0
        return int(await self._client.exists(*(self._rec(r) for r in record_ids)))

    async def drop_pending(self, record_id: str) -> bool:
        """Mark a pending record dropped (no longer relevant); True if it was pending."""
        return bool(await self._run(_DROP_PENDING, (self._rec(record_id), self._pending)))

    async def take_all(self, now: datetime) -> list[Taken]:
        """Lease every pending record whose lease ran out or was given back."""
        taken = []
        stamp, until = now.timestamp(), now.timestamp() + LEASE_S
        members = await cast(Awaitable[set[str]], self._client.smembers(self._pending))
        for key in sorted(members):
            raw = await self._run(_TAKE, (key, self._pending), self.owner, stamp, until)
            if raw is not None:
                taken.append(Taken(str(key).removeprefix(self._rec_prefix), json.loads(raw)))
        return taken

    async def finish(
        self, record_id: str, state: Literal["sent", "dropped"], now: datetime
    ) -> None:
        """Mark a record sent (or dropped) and take it off the pending set."""
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.hset(self._rec(record_id), mapping={"state": state, "finished": now.isoformat()})
            pipe.srem(self._pending, self._rec(record_id))
            await pipe.execute()

    async def release(self, record_id: str) -> None:
        """Give the lease back after a failed post: the next pass posts the record."""
        await self._run(_RELEASE, (self._rec(record_id),), self.owner)

    async def state(self, record_id: str) -> str | None:
        """'pending', 'sent', 'dropped', or None when there is no such record."""
        value = await cast(Awaitable[str | None], self._client.hget(self._rec(record_id), "state"))
        return None if value is None else str(value)


@dataclass
class PassReport:
    """What one pass did, or why it did nothing."""

    posted: list[str] = field(default_factory=list)  # record ids, in posting order
    failed: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    skipped: str | None = None


async def run_pass(
    cache: Cache, kind: str, body: Callable[[Outbox], Awaitable[PassReport]]
) -> PassReport:
    """Run one pass under its leader lock with its outbox; skip it (logged) without Redis."""
    client = cache.client
    if client is None:
        log.warning("broadcast_skipped", pass_kind=kind, reason=cache.status)
        return PassReport(skipped=cache.status)
    async with cache.leader(f"{kind}-pass", PASS_LOCK_S) as leader:
        if not leader:
            return PassReport(skipped="another worker is running this pass")
        try:
            return await body(Outbox(client, cache, kind))
        except (RedisError, OSError) as exc:
            log.warning("broadcast_pass_failed", pass_kind=kind, error=type(exc).__name__)
            return PassReport(skipped=f"Redis failed: {type(exc).__name__}")
