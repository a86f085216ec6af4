"""The deprecation calendar: every model's shutdown facts, a provider's live date winning.

Shutdown dates come from the providers' model lists first (the inventory snapshots),
then the catalog; ``calendar`` is the one place both are merged, for the CLI, Slack and
the deprecation pass alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from bot.knowledge.catalog import Catalog
from bot.providers import PROVIDERS
from bot.results import Deprecation, Notice

LIVE_SOURCE = "the provider's models list"


@dataclass(frozen=True)
class Lifecycle:
    """One model's shutdown facts, a live date from a provider winning over the catalog."""

    model: str
    provider: str
    status: str
    announced: date | None
    shutdown: date | None
    replacement: str | None
    aliases: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """Provider and id: the same id can have different dates at different providers."""
        return f"{self.provider}:{self.model}"

    def days_left(self, today: date) -> int | None:
        """Days from today to the shutdown date (negative once past)."""
        return None if self.shutdown is None else (self.shutdown - today).days


def lifecycles(
    catalog: Catalog, today: date, live: Mapping[tuple[str, str], date] | None = None
) -> list[Lifecycle]:
    """Every catalog model, plus live-only ones; `live` maps (provider, listed id) -> date.

    Replacements follow the catalog's chain past retired models (`replacement_for`).
    """
    entries = {(e.provider, e.id): e for e in catalog.entries()}
    for (provider, model), day in (live or {}).items():
        seen = catalog.with_live(
            model,
            shutdown=day,
            status=None,
            replacement=None,
            source=LIVE_SOURCE,
            provider=provider,
            seen=today,
        )
        entries[(seen.provider, seen.id)] = seen
    rows = []
    for entry in entries.values():
        successor = catalog.replacement_for(entry.id, provider=entry.provider, today=today)
        rows.append(
            Lifecycle(
                model=entry.id,
                provider=entry.provider,
                status=entry.status_on(today),
                announced=entry.announced,
                shutdown=entry.shutdown,
                replacement=successor.id if successor is not None else entry.replacement,
                aliases=entry.aliases,
            )
        )
    return rows


def calendar(
    catalog: Catalog,
    today: date,
    within_days: int | None = None,
    live: Mapping[tuple[str, str], date] | None = None,
) -> list[Deprecation]:
    """The deprecation calendar, soonest shutdown first.

    With within_days None: every model with a shutdown date, past ones included;
    otherwise only shutdowns from today to today + within_days.
    """
    rows = []
    for lc in lifecycles(catalog, today, live):
        left = lc.days_left(today)
        if left is None or (within_days is not None and not 0 <= left <= within_days):
            continue
        rows.append(
            Deprecation(
                model=lc.model,
                provider=lc.provider,
                status=lc.status,
                announced=lc.announced,
                shutdown=lc.shutdown,
                replacement=lc.replacement,
            )
        )
    rank: dict[str, int] = {p: i for i, p in enumerate(PROVIDERS)}
    return sorted(rows, key=lambda r: (r.shutdown or date.max, rank.get(r.provider, 9), r.model))


def due_notices(
    catalog: Catalog,
    day: date,
    thresholds: Iterable[int],
    live: Mapping[tuple[str, str], date] | None = None,
) -> list[Notice]:
    """The notices due on `day`: models exactly `threshold` days before shutdown."""
    marks = set(thresholds)
    return [
        Notice(
            model=row.model,
            provider=row.provider,
            shutdown=row.shutdown,
            days_left=(row.shutdown - day).days,
            threshold=(row.shutdown - day).days,
            replacement=row.replacement,
        )
        for row in calendar(catalog, day, None, live)
        if row.shutdown is not None and (row.shutdown - day).days in marks
    ]


def threshold_for(days_left: int, thresholds: Iterable[int]) -> int | None:
    """The notice a model is due: the smallest threshold at or above days_left, if any."""
    if days_left < 0:
        return None
    crossed = [t for t in thresholds if t >= days_left]
    return min(crossed) if crossed else None
