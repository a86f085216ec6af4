"""Key inventories: what each key lists, how that changed, and the outbox posts go through.

The inventory pass lists every key's models (`prober.list_models(key, refresh=True)`),
compares the list with the key's last snapshot in Redis, and posts the additions and
removals ("key prod lost gpt-4-0613"). A key's first snapshot is a baseline and posts
nothing; a failed or empty list changes nothing (an outage is not a removal of every
model). The snapshots also say who a deprecation affects, and carry the shutdown dates
the providers list, which beat the catalog's.

Changes go out through the outbox (bot/broadcasts/outbox.py). A change is one record per
(key, model, direction, snapshot generation): posted once, and posted again only if the
model really comes back and goes again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal, Protocol

import structlog

from bot.broadcasts.outbox import Outbox, PassReport, run_pass
from bot.cache import Cache
from bot.keys import Key
from bot.knowledge.catalog import Catalog
from bot.results import KeyModels

log = structlog.get_logger(__name__)

SNAPSHOT_TTL_S = 400 * 86400
CHANGES_PER_MESSAGE = 40

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
    """Where inventory changes go (Slack: handlers/publisher.py); True once posted."""

    async def changes(self, items: Sequence[Change]) -> bool: ...


def diff(old: Iterable[str], new: Iterable[str]) -> tuple[list[str], list[str]]:
    """(gained, lost) model ids between two lists, each sorted."""
    before, after = set(old), set(new)
    return sorted(after - before), sorted(before - after)


def change_id(key: Key, model: str, direction: str, generation: int) -> str:
    """The record id of one change: posted once per key, model, direction and snapshot."""
    return f"change:{key.cache_id}:{direction}:{generation}:{model}"


ListModels = Callable[[Key], Awaitable[KeyModels]]


@dataclass(frozen=True)
class InventoryPass:
    """What the inventory pass reads: the shared cache, the keys, a way to list their models."""

    cache: Cache
    keys: Sequence[Key]
    catalog: Catalog
    list_models: ListModels  # a fresh (uncached) models list of one key

    async def run(self, poster: ChangePoster, now: datetime) -> PassReport:
        """List every key's models, record the changes since the last snapshot, post them once."""

        async def body(outbox: Outbox) -> PassReport:
            listed = await asyncio.gather(*(self.list_models(key) for key in self.keys))
            for key, models in zip(self.keys, listed, strict=True):
                await self._record(outbox, key, models, now)
            return await self._drain(outbox, poster, now)

        return await run_pass(self.cache, "inventory", body)

    async def _record(self, outbox: Outbox, key: Key, listed: KeyModels, now: datetime) -> None:
        if not listed.ok or not listed.models:
            log.info(
                "inventory_list_failed", key=key.label, cause=listed.cause, count=len(listed.models)
            )
            return
        where = snapshot_key(self.cache, key)
        data = await self.cache.get_json(where)
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
        await self.cache.set_json(where, snap.to_json(), SNAPSHOT_TTL_S)

    async def _drain(self, outbox: Outbox, poster: ChangePoster, now: datetime) -> PassReport:
        report = PassReport()
        taken = await outbox.take_all(now)
        for start in range(0, len(taken), CHANGES_PER_MESSAGE):
            batch = taken[start : start + CHANGES_PER_MESSAGE]
            changes = [self._change(t.payload) for t in batch]
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

    def _change(self, p: Mapping[str, Any]) -> Change:
        entry = self.catalog.lookup(p["model"], p["provider"])
        return Change(
            alias=p["alias"],
            provider=p["provider"],
            fingerprint=p["fingerprint"],
            model=p["model"],
            direction=p["direction"],
            shutdown=entry.shutdown if entry is not None else None,
            replacement=entry.replacement if entry is not None else None,
        )


def _change_payload(key: Key, model: str, direction: str) -> dict[str, Any]:
    return {
        "kind": "change",
        "alias": key.alias,
        "provider": key.provider,
        "fingerprint": key.fingerprint,
        "model": model,
        "direction": direction,
    }
