"""Did-you-mean for model ids: which real ids a mistyped one is a near miss of.

Only near misses count (case, separators, a date suffix, a slip or two that keeps the version
numbers), so a non-empty answer means "probably a typo", not "something vaguely similar".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from functools import lru_cache

from rapidfuzz.distance import OSA

from bot.knowledge.catalog import Catalog

_DATEISH = re.compile(r"^(?:\d{4,8}|latest|preview|\d{4,8}(?:latest|preview))$")
_SPLIT = re.compile(r"[^a-z0-9]+|(?<=[a-z])(?=\d)|(?<=\d)(?=[a-z])")


class Suggester:
    """Ranks the catalog's ids (and a key's own list) as corrections of a model id."""

    def __init__(self, catalog: Catalog) -> None:
        self._names: list[str] = [
            name for model in catalog.entries() for name in (model.id, *model.aliases)
        ]
        self._retired_on: dict[str, date] = {
            name: model.shutdown
            for model in catalog.entries()
            if model.shutdown is not None
            for name in model.names
        }

    def did_you_mean(
        self, model: str, available: Sequence[str] | None, *, today: date, limit: int
    ) -> list[str]:
        """Real ids that `model` is a near miss of, best first: `available`, then the catalog."""
        if not model.strip():
            return []
        ranked: dict[str, float] = {}
        for bonus, names in ((1000.0, available or ()), (0.0, self._names)):
            for name in names:
                if name == model or name in ranked:
                    continue
                score = near_miss_score(model, name)
                if score is not None:
                    # Models that can still be called come before retired ones.
                    gone = self._retired_on.get(name)
                    ranked[name] = score + bonus - (500.0 if gone and gone <= today else 0.0)
        best = sorted(ranked.items(), key=lambda kv: (-kv[1], len(kv[0]), kv[0]))
        return [name for name, _ in best[:limit]]


def near_miss_score(query: str, candidate: str) -> float | None:
    """How surely `candidate` is what someone meant by `query`, or None if it is no near miss.

    100 when only case and separators differ; mid-90s when a date, `latest` or `preview`
    suffix is missing or a short one is extra; about 90 for one or two slips of the keyboard
    that leave the version numbers alone.
    """
    q, c = _norm(query), _norm(candidate)
    if not q or not c:
        return None
    if q == c:
        return 100.0
    if len(q) >= 4 and c.startswith(q) and _suffix_like(c[len(q) :]):
        return 96.0 - min(3.0, (len(c) - len(q)) / 4)
    if len(c) >= 4 and q.startswith(c) and _suffix_like(q[len(c) :]):
        return 94.0
    tq = _tokens(query)
    if len(tq) >= 2 and tq == _tokens(candidate):
        return 93.0
    if _versions(query) != _versions(candidate):
        # claude-4-sonnet is not a slip of claude-3-sonnet: version numbers name other models.
        return None
    distance = OSA.distance(q, c)
    if distance == 1 and len(q) >= 4:
        return 92.0
    if distance == 2 and len(q) >= 8:
        return 89.0
    if len(q) >= 6:
        # A slip plus a missing date suffix: claude-3-5-sonet -> claude-3-5-sonnet-20241022.
        for cut in (len(q) - 1, len(q), len(q) + 1):
            if _DATEISH.match(c[cut:]) and OSA.distance(q, c[:cut]) <= 1:
                return 90.0
    return None


@lru_cache(maxsize=4096)
def _norm(model: str) -> str:
    return re.sub(r"[^a-z0-9]", "", model.lower())


@lru_cache(maxsize=4096)
def _tokens(model: str) -> frozenset[str]:
    return frozenset(t for t in _SPLIT.split(model.lower()) if t)


@lru_cache(maxsize=4096)
def _versions(model: str) -> tuple[str, ...]:
    """The short numbers in an id (4, 3.5 -> 3 5), leaving out dates and long snapshots."""
    return tuple(n for n in re.findall(r"\d+", model) if len(n) <= 3)


def _suffix_like(rest: str) -> bool:
    """A normalised tail that only dates or labels a snapshot (or is at most two characters)."""
    return len(rest) <= 2 or bool(_DATEISH.match(rest))
