"""The taxonomy's matchers, compiled: which cause the evidence points to, by points.

Every matcher's constraints (provider, status, type, code, exception, message, Retry-After)
must all hold for it to score; a cause's points are the sum over its matchers and the best
sum wins, ties going to the cause listed first in the taxonomy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.diagnosis.evidence import Evidence
from bot.knowledge.taxonomy import Matcher, Taxonomy


class Rules:
    """Scores evidence against every matcher of a taxonomy."""

    def __init__(self, taxonomy: Taxonomy) -> None:
        self._rules: list[_Rule] = []
        known: set[str] = set()
        for order, cause in enumerate(taxonomy.entries()):
            for m in cause.matchers:
                self._rules.append(_Rule.build(cause.id, order, m))
                known.update(m.error_code)
                known.update(m.error_type)
        # Only tokens that cannot be an ordinary word prove anything on their own: `tokens`
        # finds them in a paste, where they show an API error wherever they appear.
        distinctive = sorted(
            (t for t in known if "_" in t or any(c.isupper() for c in t[1:])), key=len, reverse=True
        )
        self.tokens: re.Pattern[str] = re.compile(
            r"\b(?:" + "|".join(re.escape(t) for t in distinctive) + r")\b"
            if distinctive
            else r"(?!)"
        )

    def best(self, ev: Evidence) -> tuple[str | None, bool]:
        """The best cause by matcher points, and whether a standalone phrase was seen."""
        facts = _Facts.of(ev)
        totals: dict[str, int] = {}
        order: dict[str, int] = {}
        standalone = False
        for rule in self._rules:
            points, said = rule.score(ev, facts)
            if points:
                totals[rule.cause] = totals.get(rule.cause, 0) + points
                order[rule.cause] = rule.order
                standalone = standalone or (said and rule.standalone)
        if not totals:
            return None, False
        best = max(totals, key=lambda c: (totals[c], -order[c]))
        return best, standalone


@dataclass(frozen=True)
class _Facts:
    """The evidence in the shape rules compare against (all lowercase)."""

    hay: str  # message and scanned text
    code: str | None  # the provider's code field
    codes: frozenset[str]  # everything that may stand for a code
    types: frozenset[str]  # everything that may stand for a type

    @classmethod
    def of(cls, ev: Evidence) -> _Facts:
        code = ev.error_code.lower() if ev.error_code else None
        kind = ev.error_type.lower() if ev.error_type else None
        tokens = frozenset(t.lower() for t in ev.tokens)
        # A specific code (Anthropic's details.error_code, OpenAI's code) outranks the broad
        # type; without one, older bodies put the code in `type` (insufficient_quota).
        codes = tokens | ({code} if code else {kind} if kind else set())
        types = tokens | {v for v in (kind, code) if v}
        return cls(
            hay="\n".join(s for s in (ev.message, ev.text) if s).lower(),
            code=code,
            codes=frozenset(codes),
            types=frozenset(types),
        )


@dataclass(frozen=True)
class _Rule:
    """One taxonomy matcher, prepared for fast matching."""

    cause: str
    order: int
    provider: str | None
    statuses: frozenset[int]
    types: frozenset[str]
    codes: frozenset[str]
    exceptions: frozenset[str]
    literals: tuple[str, ...]
    regexes: tuple[re.Pattern[str], ...]
    retry_after: bool | None
    standalone: bool

    @classmethod
    def build(cls, cause: str, order: int, m: Matcher) -> _Rule:
        literals = tuple(p.lower() for p in m.message if not p.startswith("re:"))
        regexes = tuple(re.compile(p[3:], re.IGNORECASE) for p in m.message if p.startswith("re:"))
        return cls(
            cause=cause,
            order=order,
            provider=m.provider,
            statuses=frozenset(m.http_status),
            types=frozenset(t.lower() for t in m.error_type),
            codes=frozenset(c.lower() for c in m.error_code),
            exceptions=frozenset(m.exception),
            literals=literals,
            regexes=regexes,
            retry_after=m.retry_after,
            standalone=m.standalone,
        )

    def score(self, ev: Evidence, facts: _Facts) -> tuple[int, bool]:
        """(points, message matched) when every constraint holds, else (0, False)."""
        if self.provider and ev.provider and self.provider != ev.provider:
            return 0, False
        points = 0
        if self.statuses:
            if ev.http_status not in self.statuses:
                return 0, False
            points += 1
        if self.types:
            if not self.types & facts.types:
                return 0, False
            points += 2
        if self.codes:
            if facts.code in self.codes:
                points += 5  # the provider's own code names the cause
            elif self.codes & facts.codes:
                points += 3
            else:
                return 0, False
        if self.exceptions:
            if ev.exception not in self.exceptions:
                return 0, False
            points += 3
        said = False
        if self.literals or self.regexes:
            said = any(lit in facts.hay for lit in self.literals) or any(
                r.search(facts.hay) for r in self.regexes
            )
            if not said:
                return 0, False
            points += 4
        if self.retry_after is not None:
            if ev.retry_after is not self.retry_after:
                return 0, False
            points += 1
        return points, said
