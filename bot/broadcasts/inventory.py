"""Key inventories: what each key lists, how that changed, and the outbox posts go through.

The inventory pass lists every key's models (`prober.list_models(key, refresh=True)`),
compares the list with the key's last snapshot in Redis, and posts the additions and
removals ("key prod lost gpt-4-0613"). A key's first snapshot is a baseline and posts
nothing; a failed or empty list changes nothing (an outage is not a removal of every
model). The snapshots also say who a deprecation affects, and carry the shutdown dates
the providers list, which beat the catalog's.

`Outbox` is the durable pending/sent record store both passes post through; the scheme
that makes each message go out exactly once is described in bot/broadcasts/deprecations.py. A change is
one record per (key, model, direction, snapshot generation): posted once, and posted
again only if the model really comes back and goes again.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol, cast

import redis.asyncio as redis
import structlog
from redis.exceptions import RedisError

from bot.cache import Cache
from bot.results import KeyModels

if TYPE_CHECKING:
    from bot.engine import Engine
    from bot.keys import Key

log = structlog.get_logger(__name__)

RECORD_TTL_S = 400 * 86400
SNAPSHOT_TTL_S = 400 * 86400
LEASE_S = 600.0
PASS_LOCK_S = 900.0
CHANGES_PER_MESSAGE = 40

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
    engine: Engine, kind: str, body: Callable[[Outbox], Awaitable[PassReport]]
) -> PassReport:
    """Run one pass under its leader lock with its outbox; skip it (logged) without Redis."""
    client = engine.cache.client
    if client is None:
        log.warning("broadcast_skipped", pass_kind=kind, reason=engine.cache.status)
        return PassReport(skipped=engine.cache.status)
    async with engine.cache.leader(f"{kind}-pass", PASS_LOCK_S) as leader:
        if not leader:
            return PassReport(skipped="another worker is running this pass")
        try:
            return await body(Outbox(client, engine.cache, kind))
        except (RedisError, OSError) as exc:
            log.warning("broadcast_pass_failed", pass_kind=kind, error=type(exc).__name__)
            return PassReport(skipped=f"Redis failed: {type(exc).__name__}")


# -- snapshots --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    """The models one key listed at its last successful inventory."""

    alias: str
    provider: str
    fingerprint: str
    models: tuple[str, ...]
    shutdowns: dict[str, date]
    generation: int
    at: datetime

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "alias": self.alias,
            "provider": self.provider,
            "fingerprint": self.fingerprint,
            "models": list(self.models),
            "shutdowns": {m: d.isoformat() for m, d in self.shutdowns.items()},
            "generation": self.generation,
            "at": self.at.isoformat(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Snapshot:
        """Inverse of to_json."""
        return cls(
            alias=data["alias"],
            provider=data["provider"],
            fingerprint=data["fingerprint"],
            models=tuple(data["models"]),
            shutdowns={m: date.fromisoformat(d) for m, d in data["shutdowns"].items()},
            generation=int(data["generation"]),
            at=datetime.fromisoformat(data["at"]),
        )


def snapshot_key(cache: Cache, key: Key) -> str:
    """Where a key's latest snapshot lives (by cache_id: no secret in the name)."""
    return cache.key("inv", "snap", key.cache_id)


async def load_snapshots(cache: Cache, keys: Sequence[Key]) -> dict[str, Snapshot]:
    """The latest snapshot of each key that has one, by alias."""
    found: dict[str, Snapshot] = {}
    for key in keys:
        data = await cache.get_json(snapshot_key(cache, key))
        if data is not None:
            found[key.alias] = Snapshot.from_json(data)
    return found


def live_dates(snapshots: Mapping[str, Snapshot]) -> dict[tuple[str, str], date]:
    """Shutdown dates the providers listed, by (provider, id); the earliest wins."""
    merged: dict[tuple[str, str], date] = {}
    for snap in snapshots.values():
        for model, day in snap.shutdowns.items():
            key = (snap.provider, model)
            merged[key] = min(day, merged.get(key, day))
    return merged


def affected(
    snapshots: Mapping[str, Snapshot], provider: str, names: Iterable[str]
) -> tuple[str, ...] | None:
    """Labels of the provider's keys whose latest snapshot lists any of names.

    None when no key of that provider has a snapshot yet (nothing is known).
    """
    ours = [s for s in snapshots.values() if s.provider == provider]
    if not ours:
        return None
    wanted = {n.lower() for n in names}
    return tuple(
        f"{s.alias} (…{s.fingerprint})" for s in ours if wanted & {m.lower() for m in s.models}
    )


# -- changes ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """A key gained or lost a model between two inventory snapshots."""

    alias: str
    provider: str
    fingerprint: str
    model: str
    direction: Literal["gained", "lost"]
    shutdown: date | None = None  # from the catalog, to explain a loss
    replacement: str | None = None

    def describe(self) -> str:
        """One line: 'key prod lost gpt-4-0613'."""
        return f"key {self.alias} {self.direction} {self.model}"


class ChangePoster(Protocol):
    """Where inventory changes go (Slack in handlers/notices.py); True once posted."""

    async def changes(self, items: Sequence[Change]) -> bool: ...


def diff(old: Iterable[str], new: Iterable[str]) -> tuple[list[str], list[str]]:
    """(gained, lost) model ids between two lists, each sorted."""
    before, after = set(old), set(new)
    return sorted(after - before), sorted(before - after)


def change_id(key: Key, model: str, direction: str, generation: int) -> str:
    """The record id of one change: posted once per key, model, direction and snapshot."""
    return f"change:{key.cache_id}:{direction}:{generation}:{model}"


async def inventory_pass(
    engine: Engine, poster: ChangePoster, *, now: datetime | None = None
) -> PassReport:
    """List every key's models, record the changes since the last snapshot, post them once."""
    at = now or engine.clock()

    async def body(outbox: Outbox) -> PassReport:
        listed = await asyncio.gather(
            *(engine.prober.list_models(key, refresh=True) for key in engine.keys)
        )
        for key, models in zip(engine.keys, listed, strict=True):
            await _record(engine, outbox, key, models, at)
        return await _drain_changes(engine, outbox, poster, at)

    return await run_pass(engine, "inventory", body)


async def _record(
    engine: Engine, outbox: Outbox, key: Key, listed: KeyModels, now: datetime
) -> None:
    if not listed.ok or not listed.models:
        log.info(
            "inventory_list_failed", key=key.label, cause=listed.cause, count=len(listed.models)
        )
        return
    where = snapshot_key(engine.cache, key)
    data = await engine.cache.get_json(where)
    old = None if data is None else Snapshot.from_json(data)
    generation = 1 if old is None else old.generation + 1
    if old is not None:
        gained, lost = diff(old.models, listed.models)
        for direction, models in (("gained", gained), ("lost", lost)):
            for model in models:
                record = change_id(key, model, direction, old.generation)
                await outbox.add(record, _change_payload(key, model, direction), now)
        if gained or lost:
            log.info("inventory_changed", key=key.label, gained=gained, lost=lost)
    snap = Snapshot(
        alias=key.alias,
        provider=key.provider,
        fingerprint=key.fingerprint,
        models=tuple(sorted(set(listed.models))),
        shutdowns=dict(listed.shutdowns),
        generation=generation,
        at=now,
    )
    # Written after the changes are recorded: a crash in between re-derives the same ids.
    await engine.cache.set_json(where, snap.to_json(), SNAPSHOT_TTL_S)


def _change_payload(key: Key, model: str, direction: str) -> dict[str, Any]:
    return {
        "kind": "change",
        "alias": key.alias,
        "provider": key.provider,
        "fingerprint": key.fingerprint,
        "model": model,
        "direction": direction,
    }


async def _drain_changes(
    engine: Engine, outbox: Outbox, poster: ChangePoster, now: datetime
) -> PassReport:
    report = PassReport()
    taken = await outbox.take_all(now)
    for start in range(0, len(taken), CHANGES_PER_MESSAGE):
        batch = taken[start : start + CHANGES_PER_MESSAGE]
        changes = [_change(engine, t.payload) for t in batch]
        ok = await poster.changes(changes)
        for t in batch:
            if ok:
                await outbox.finish(t.id, "sent", now)
                report.posted.append(t.id)
            else:
                await outbox.release(t.id)
                report.failed.append(t.id)
        log.info("inventory_posted" if ok else "inventory_post_failed", changes=len(batch))
    return report


def _change(engine: Engine, p: Mapping[str, Any]) -> Change:
    entry = engine.catalog.get(p["model"], p["provider"])
    return Change(
        alias=p["alias"],
        provider=p["provider"],
        fingerprint=p["fingerprint"],
        model=p["model"],
        direction=p["direction"],
        shutdown=entry.shutdown if entry is not None else None,
        replacement=entry.replacement if entry is not None else None,
    )
