"""The model catalog: ids, aliases, endpoints, lifecycle dates and gating, loaded from YAML.

The bundled file is bot/data/catalog.yaml; an operator file (config `catalog_file`) can
override bundled entries field by field or add new ones. Ids are unique per provider: the
same id can exist for openai, azure and an openai-compatible gateway, each with its own
lifecycle, and `get()` without a provider prefers the provider's own entry in the order of
`PROVIDERS`. Errors name the file, line and field, e.g.
`our-models.yaml:12: models[3].shutdown: invalid date 'soon'`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any, cast

from bot import providers
from bot.knowledge import catalog_file
from bot.knowledge.catalog_file import CatalogError
from bot.knowledge.model_entry import ENDPOINTS, STATUSES, Gate, ModelEntry, Status
from bot.providers import PROVIDERS, Provider

__all__ = [
    "BUNDLED_FILE",
    "ENDPOINTS",
    "PROVIDERS",
    "STATUSES",
    "Catalog",
    "CatalogError",
    "Gate",
    "ModelEntry",
]

BUNDLED_FILE = Path(__file__).parent / "data" / "catalog.yaml"


class Catalog:
    """Model entries indexed by id and alias. Build with `Catalog.load()`."""

    def __init__(
        self,
        entries: Iterable[ModelEntry],
        *,
        as_of: date,
        sources: Mapping[str, str] | None = None,
    ) -> None:
        self.as_of = as_of
        self._sources = dict(sources or {})
        self._entries = tuple(entries)
        rank = {p: i for i, p in enumerate(PROVIDERS)}
        index: dict[str, list[ModelEntry]] = {}
        for entry in self._entries:
            for name in entry.names:
                index.setdefault(name, []).append(entry)
        self._index = {
            name: tuple(sorted(hits, key=lambda e: rank[e.provider]))
            for name, hits in index.items()
        }

    @classmethod
    def load(cls, extra_file: Path | None = None) -> Catalog:
        """The bundled catalog, extended and overridden by an operator file if given."""
        return cls.from_files(BUNDLED_FILE, extra_file)

    @classmethod
    def from_files(cls, bundled: Path, extra_file: Path | None = None) -> Catalog:
        """Load a base catalog file plus an optional operator file; CatalogError if invalid."""
        return cls._checked(catalog_file.read_files(bundled, extra_file))

    @classmethod
    def only(cls, path: Path) -> Catalog:
        """A catalog of one operator-format file alone, without the bundled data (for tests)."""
        return cls._checked(catalog_file.read_operator_file(path))

    @classmethod
    def _checked(cls, contents: catalog_file.Contents) -> Catalog:
        catalog = cls(contents.entries(), as_of=contents.as_of, sources=contents.sources)
        # A replacement is any id or alias of the merged files: only the built index resolves it.
        contents.check_links(catalog._successor)
        return catalog

    @property
    def sources(self) -> Mapping[str, str]:
        """Source short names -> what they are (URL and description)."""
        return MappingProxyType(self._sources)

    def get(self, model_id: str, provider: str | None = None) -> ModelEntry | None:
        """The entry with this exact id or alias (case-sensitive), for one provider or the first."""
        hits = self._index.get(model_id, ())
        if provider is None:
            return hits[0] if hits else None
        return next((e for e in hits if e.provider == provider), None)

    def lookup(self, model_id: str, provider: str | None = None) -> ModelEntry | None:
        """The entry a model id names for a key or an error of `provider`: the one lookup rule.

        Only the entries of providers whose models that provider serves count (an OpenAI
        key never reads Anthropic's lifecycle); the id as given first, then a gateway id's
        tail (`openai/gpt-4o` -> `gpt-4o`). Without a provider, any provider's entry.
        """
        head, _, tail = model_id.rpartition("/")
        names = (model_id, tail) if head else (model_id,)
        whose = providers.owners(provider, model_id)
        for name in names:
            for owner in whose or (None,):
                entry = self.get(name, owner)
                if entry is not None:
                    return entry
        return None

    def names(self, provider: str | None = None) -> list[str]:
        """Every id and alias, sorted (the candidates for did-you-mean)."""
        return sorted({n for e in self._entries if provider in (None, e.provider) for n in e.names})

    def entries(self) -> list[ModelEntry]:
        """All entries in file order (bundled first, then operator additions)."""
        return list(self._entries)

    def replacement_for(
        self, model_id: str, *, today: date, provider: str | None = None
    ) -> ModelEntry | None:
        """The model to move to on `today`: the named replacement, followed on while it is retired.

        Stops at the last link when a chain ends on a retired model without a successor.
        """
        entry = self.get(model_id, provider)
        if entry is None:
            return None
        day = today
        seen = {(entry.provider, entry.id)}
        current = self._successor(entry)
        while current is not None and current.status_on(day) == "retired":
            further = self._successor(current)
            if further is None or (further.provider, further.id) in seen:
                break
            seen.add((current.provider, current.id))
            current = further
        return current

    def deprecations(self, today: date, within_days: int | None = None) -> list[ModelEntry]:
        """Entries with a shutdown date, soonest first.

        With `within_days`, only those shutting down from today to today + N days (inclusive);
        without it, all of them, past ones included.
        """
        if within_days is not None and within_days < 0:
            raise ValueError("within_days must be 0 or more")
        last = today + timedelta(days=within_days) if within_days is not None else None
        rank = {p: i for i, p in enumerate(PROVIDERS)}
        rows = [
            e
            for e in self._entries
            if e.shutdown is not None and (last is None or today <= e.shutdown <= last)
        ]
        return sorted(rows, key=lambda e: (e.shutdown, rank[e.provider], e.id))

    def with_live(
        self,
        model_id: str,
        *,
        shutdown: date | None,
        status: str | None,
        replacement: str | None,
        source: str,
        provider: str | None = None,
        seen: date | None = None,
    ) -> ModelEntry:
        """The entry with lifecycle fields from a provider's models list taking precedence.

        None means the provider said nothing about that field. When a live value contradicts
        the bundled one, the bundled value is kept in `notes`. A model the catalog does not
        know yields a minimal entry (endpoints unknown: empty).
        """
        if status is not None and status not in STATUSES:
            raise ValueError(f"unknown status {status!r}; expected one of {', '.join(STATUSES)}")
        live_status = cast("Status | None", status)
        bundled = self.get(model_id, provider)
        if bundled is None:
            return ModelEntry(
                id=model_id,
                provider=cast("Provider", provider or "openai"),
                family=model_id,
                endpoints=(),
                status=live_status or ("deprecated" if shutdown else "active"),
                shutdown=shutdown,
                replacement=replacement,
                as_of=seen or self.as_of,
                source=source,
                notes="Known only from the provider's live models list.",
            )
        if shutdown is None and live_status is None and replacement is None:
            return bundled
        return bundled.model_copy(
            update=_live_update(bundled, shutdown, live_status, replacement, source, seen)
        )

    def _successor(self, entry: ModelEntry) -> ModelEntry | None:
        if entry.replacement is None:
            return None
        return self.get(entry.replacement, entry.provider) or self.get(entry.replacement)


def _live_update(
    bundled: ModelEntry,
    shutdown: date | None,
    status: Status | None,
    replacement: str | None,
    source: str,
    seen: date | None,
) -> dict[str, Any]:
    """The fields a live report changes, with the bundled values it contradicts noted."""
    was = f"({bundled.source}, as of {bundled.as_of})"
    kept: list[str] = []
    if shutdown is not None and bundled.shutdown is not None and shutdown != bundled.shutdown:
        kept.append(f"The bundled catalog had shutdown {bundled.shutdown} {was}.")
    if replacement is not None and bundled.replacement not in (None, replacement):
        kept.append(f"The bundled catalog suggested {bundled.replacement} {was}.")
    if status is not None and status != bundled.status:
        kept.append(f"The bundled catalog had status {bundled.status} {was}.")
    new_status = status or bundled.status
    if status is None and shutdown is not None and bundled.status == "active":
        new_status = "deprecated"  # a shutdown date on a model means it is on its way out
    notes = " ".join(n for n in (bundled.notes, *kept) if n) or None
    return {
        "shutdown": shutdown or bundled.shutdown,
        "status": new_status,
        "replacement": replacement or bundled.replacement,
        "source": source,
        "as_of": seen or bundled.as_of,
        "notes": notes,
    }
