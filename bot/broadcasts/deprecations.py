"""What to broadcast, and how each broadcast is posted exactly once across replicas.

Two passes feed the broadcast channel: the deprecation pass here (a notice at each
threshold before a shutdown, and one update when a date or replacement changes after we
announced it) and the inventory pass in bot/broadcasts/inventory.py (a key gained or lost a model).

Exactly once. Claim-then-post loses a notice when the post fails; post-then-mark posts it
twice when two workers race. So every message is a durable *record* in Redis (a hash
under ``bc:rec:``, kept 400 days) that moves ``pending -> sent``, or ``dropped`` once it
stops being relevant:

1. A pass runs under a leader lock (``cache.leader``), so normally one worker decides.
2. It *adds* the records it finds due. Adding is an atomic create-if-absent, so a record
   id such as ``notice:gpt-4-0613:2026-10-23:30`` exists once, ever; new records join a
   pending set.
3. It *drains* the pending set: each record is *taken* with a lease (atomically: only a
   pending record whose lease has run out can be taken), posted with retries, then marked
   ``sent``. A failed post gives the lease back at once, so the record stays pending and
   the next pass posts it. A worker that dies while holding a lease blocks the record
   only until the lease runs out (LEASE_S, 10 minutes); then any worker retakes it.

The lock makes races rare; the add and take scripts make them harmless. The one window
left is a worker that posts and then dies (or stalls past its lease) before marking the
record sent: that message can appear twice. It can never be lost.

Catch-up. Each pass asks, per model whose shutdown is today or later: which is the
smallest threshold at or above the days left? That notice is added unless a notice at
that threshold or a smaller one already exists for the same shutdown date; adding it
drops pending larger ones. So a notice missed while the bot was down goes out late, once,
and never one for a threshold above one already sent. Notices are keyed by shutdown
date: a moved date starts a new series, and its first message says what moved.

Shutdown dates come from the providers' model lists first (the inventory snapshots),
then the catalog, merged in one place: bot/broadcasts/calendar.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal, Protocol

import structlog

from bot.broadcasts.asks import ask_counts
from bot.broadcasts.calendar import Lifecycle, lifecycles, threshold_for
from bot.broadcasts.inventory import Change, Snapshot, affected, live_dates, load_snapshots
from bot.broadcasts.outbox import RECORD_TTL_S, Outbox, PassReport, Taken, run_pass
from bot.cache import Cache
from bot.causes import Cause
from bot.keys import Key
from bot.knowledge.catalog import Catalog
from bot.knowledge.taxonomy import Taxonomy
from bot.results import Fix

log = structlog.get_logger(__name__)

MIGRATION_CAUSE = Cause.MODEL_RETIRED

# -- the calendar -----------------------------------------------------------------------------


# -- what gets posted -------------------------------------------------------------------------


@dataclass(frozen=True)
class Announcement:
    """A threshold notice ('notice'), or news about one already announced ('update')."""

    kind: Literal["notice", "update"]
    model: str
    provider: str
    shutdown: date
    days_left: int
    threshold: int | None
    replacement: str | None
    asks: int = 0
    affected: tuple[str, ...] | None = None  # keys still listing it; None: no inventory yet
    fix: Fix | None = None
    previous_shutdown: date | None = None  # set when the date moved since we announced it
    replacement_changed: bool = False
    previous_replacement: str | None = None
    late: bool = False  # posted after its threshold day (bot down, or Slack failing)


class Publisher(Protocol):
    """Where broadcasts go (Slack: handlers/publisher.py). Each call: True once posted."""

    async def announce(self, item: Announcement) -> bool: ...

    async def changes(self, items: Sequence[Change]) -> bool: ...


def notice_id(lc: Lifecycle, threshold: int) -> str:
    """Record id of a threshold notice: one per model, shutdown date and threshold."""
    return f"notice:{lc.key}:{lc.shutdown}:{threshold}"


def update_id(lc: Lifecycle) -> str:
    """Record id of an update: one per model and new (shutdown, replacement)."""
    return f"update:{lc.key}:{lc.shutdown}:{lc.replacement or '-'}"


# -- the deprecation pass ---------------------------------------------------------------------


@dataclass(frozen=True)
class DeprecationPass:
    """What the deprecation pass reads: the shared cache, the keys, the knowledge, the thresholds."""

    cache: Cache
    keys: Sequence[Key]
    catalog: Catalog
    taxonomy: Taxonomy
    notice_days: tuple[int, ...]

    async def run(self, publisher: Publisher, now: datetime) -> PassReport:
        """Add the notices and updates due by `now`, then post every pending one, most asked first."""

        async def body(outbox: Outbox) -> PassReport:
            snapshots = await load_snapshots(self.cache, self.keys)
            rows = lifecycles(self.catalog, now.date(), live_dates(snapshots))
            for lc in rows:
                await self._add_due(outbox, lc, now)
            by_key = {lc.key: lc for lc in rows}
            return await self._drain(outbox, publisher, by_key, snapshots, now)

        return await run_pass(self.cache, "deprecation", body)

    async def _add_due(self, outbox: Outbox, lc: Lifecycle, now: datetime) -> None:
        left = lc.days_left(now.date())
        if left is None or left < 0:
            return
        thresholds = self.notice_days
        due = threshold_for(left, thresholds)
        if due is not None:
            at_or_below = [notice_id(lc, t) for t in thresholds if t <= due]
            if await outbox.count_existing(at_or_below) == 0:
                payload = {"kind": "notice", "key": lc.key, "shutdown": str(lc.shutdown)}
                await outbox.add(notice_id(lc, due), {**payload, "threshold": due}, now)
                for t in thresholds:
                    if t > due:
                        await outbox.drop_pending(notice_id(lc, t))
                return  # this notice also says what changed since the last one
        said = await _announced(self.cache, lc)
        if said is not None and said != (lc.shutdown, lc.replacement):
            payload = {"kind": "update", "key": lc.key, "shutdown": str(lc.shutdown)}
            await outbox.add(update_id(lc), {**payload, "replacement": lc.replacement}, now)

    async def _drain(
        self,
        outbox: Outbox,
        publisher: Publisher,
        rows: Mapping[str, Lifecycle],
        snapshots: Mapping[str, Snapshot],
        now: datetime,
    ) -> PassReport:
        report = PassReport()
        ready: list[tuple[Taken, Announcement]] = []
        for taken in await outbox.take_all(now):
            item = await self._announcement(taken.payload, rows, snapshots, now)
            if item is None:
                await outbox.finish(taken.id, "dropped", now)
                report.dropped.append(taken.id)
            else:
                ready.append((taken, item))
        ready.sort(key=lambda pair: (-pair[1].asks, pair[1].days_left, pair[1].model))
        for taken, item in ready:
            if await publisher.announce(item):
                await outbox.finish(taken.id, "sent", now)
                await _remember(self.cache, item, rows[taken.payload["key"]])
                report.posted.append(taken.id)
                log.info("notice_posted", record=taken.id, asks=item.asks, late=item.late)
            else:
                await outbox.release(taken.id)
                report.failed.append(taken.id)
                log.warning("notice_post_failed", record=taken.id)
        return report

    async def _announcement(
        self,
        payload: Mapping[str, Any],
        rows: Mapping[str, Lifecycle],
        snapshots: Mapping[str, Snapshot],
        now: datetime,
    ) -> Announcement | None:
        """The message for a pending record, from today's facts; None if it no longer applies."""
        lc = rows.get(payload["key"])
        if lc is None or lc.shutdown is None or str(lc.shutdown) != payload["shutdown"]:
            return None
        left = (lc.shutdown - now.date()).days
        if left < 0 or (payload["kind"] == "update" and payload["replacement"] != lc.replacement):
            return None
        names = [lc.model, *lc.aliases]
        asks = sum((await ask_counts(self.cache, names, now)).values())
        said = await _announced(self.cache, lc)
        threshold = payload.get("threshold")
        if payload["kind"] == "update":
            threshold = threshold_for(left, self.notice_days)
        return Announcement(
            kind=payload["kind"],
            model=lc.model,
            provider=lc.provider,
            shutdown=lc.shutdown,
            days_left=left,
            threshold=threshold,
            replacement=lc.replacement,
            asks=asks,
            affected=affected(snapshots, lc.provider, names),
            fix=migration_fix(self.taxonomy, lc),
            previous_shutdown=said[0] if said is not None and said[0] != lc.shutdown else None,
            replacement_changed=said is not None and said[1] != lc.replacement,
            previous_replacement=said[1] if said is not None else None,
            late=payload["kind"] == "notice" and left != threshold,
        )


def migration_fix(taxonomy: Taxonomy, lc: Lifecycle) -> Fix | None:
    """The taxonomy's first fix for a retired model (how to migrate), filled in for this one."""
    fixes = taxonomy.diagnosis(
        MIGRATION_CAUSE,
        model=lc.model,
        provider=lc.provider,
        shutdown=lc.shutdown,
        replacement=lc.replacement,
    ).fixes
    return fixes[0] if fixes else None


def _announced_key(cache: Cache, lc: Lifecycle) -> str:
    return cache.key("bc", "announced", lc.key)


async def _announced(cache: Cache, lc: Lifecycle) -> tuple[date, str | None] | None:
    """The (shutdown, replacement) our last posted message about a model gave."""
    data = await cache.get_json(_announced_key(cache, lc))
    if data is None:
        return None
    return date.fromisoformat(data["shutdown"]), data["replacement"]


async def _remember(cache: Cache, item: Announcement, lc: Lifecycle) -> None:
    value = {"shutdown": item.shutdown.isoformat(), "replacement": item.replacement}
    await cache.set_json(_announced_key(cache, lc), value, RECORD_TTL_S)
