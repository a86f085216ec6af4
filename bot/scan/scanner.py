"""`scan`: where a tree names a model that is retired or shutting down, with the date and the move.

Offline and fast: the catalog's ids become one automaton (bot/scan/matcher.py), each file is
read once, and a line and column are computed only for what was found.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

from bot.knowledge.catalog import Catalog, ModelEntry
from bot.results import Reference, ScanReport
from bot.scan import walk
from bot.scan.matcher import Found, Matcher

WORKERS = min(8, 2 * (os.cpu_count() or 1))


class Scanner:
    """Scans trees for references to the catalog's retiring models, as of a day."""

    def __init__(
        self, catalog: Catalog, today: date, extra: Iterable[tuple[str, ModelEntry]] = ()
    ) -> None:
        self.catalog = catalog
        self.today = today
        self.matcher = Matcher(catalog, extra)

    def scan(self, paths: Sequence[Path]) -> ScanReport:
        """Every reference under `paths` to a model with a shutdown date, soonest first.

        Files are read and searched on a few threads: reading and the automaton's search
        release the GIL, so a large tree uses every core.
        """
        found: list[Reference] = []
        count = 0
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            for root, path, data, hits in pool.map(self._search, walk.files(list(paths))):
                if data is None:
                    continue
                count += 1
                name, kind = path.relative_to(root).as_posix(), walk.kind_of(path)
                found += [self._reference(h, data, name, kind) for h in hits]
        found.sort(key=lambda r: (r.shutdown or date.max, r.file, r.line, r.column))
        return ScanReport(references=found, files=count, today=self.today)

    def _search(self, item: tuple[Path, Path]) -> tuple[Path, Path, bytes | None, list[Found]]:
        root, path = item
        data = walk.read_bytes(path)
        if data is None:
            return root, path, None, []
        return root, path, data, self._dated(data)

    def _dated(self, data: bytes) -> list[Found]:
        return [h for h in self.matcher.find_bytes(data) if h.entry.shutdown is not None]

    def references(self, data: bytes, name: str, kind: str) -> list[Reference]:
        """The references in one file's bytes (UTF-8; line and column count characters)."""
        return [self._reference(h, data, name, kind) for h in self._dated(data)]

    def _reference(self, hit: Found, data: bytes, name: str, kind: str) -> Reference:
        line = data.count(b"\n", 0, hit.start) + 1
        line_start = data.rfind(b"\n", 0, hit.start) + 1
        column = len(data[line_start : hit.start].decode("utf-8", "replace")) + 1
        entry = hit.entry
        successor = self.catalog.replacement_for(
            entry.id, provider=entry.provider, today=self.today
        )
        shutdown = entry.shutdown
        return Reference(
            file=name,
            line=line,
            column=column,
            text=hit.text,
            model=entry.id,
            provider=entry.provider,
            status=entry.status_on(self.today),
            shutdown=shutdown,
            days_left=(shutdown - self.today).days if shutdown else None,
            replacement=successor.id if successor is not None else entry.replacement,
            kind=kind,
            gateway=hit.gateway.rstrip("/.") if hit.gateway else None,
        )
