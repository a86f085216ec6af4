"""Find and mask secrets in any text: provider keys of every shape, tokens, and our own keys.

The one detector: the log processor, every renderer that echoes user text, the help
channel's secret guard and the model-id check all use it. The formats are in
bot/secret_formats.py. Each rule is scanned once (linear: bounded repeats, no nested
quantifiers); overlapping matches are resolved in one sort, the earlier rule naming the
secret. On top of the formats, the keys this process was configured with are masked
wherever their exact text appears (`remember`), whatever their shape.
"""

from __future__ import annotations

import bisect
import functools
import math
import re
import string
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import ahocorasick_rs

from bot.secret_formats import (
    PLACEHOLDER,
    POSSIBLE_KIND,
    ROTATION_PAGES,
    RULES,
    Rule,
    Strength,
    possible_shapes,
)

__all__ = ["ROTATION_PAGES", "FoundSecret", "find", "fingerprint", "mask", "mask_any", "remember"]

MIN_ENTROPY = 3.5  # bits per character for a keyword-anchored value (hex: 3.0)
_HEX = re.compile(r"^[0-9a-fA-F]+$")
_DIGIT = re.compile(r"[0-9]")
_LETTER = re.compile(r"[A-Za-z]")
_CONFIGURED = Rule.of("configured", "configured key", r"(?!)", ())
_POSSIBLE = Rule.of("azure", POSSIBLE_KIND, r"(?!)", (), strength="possible")
_WORD = frozenset(string.ascii_letters + string.digits + "_")
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


@dataclass(frozen=True)
class _Needles:
    """Every needle of the rules that match with (or without) case, and their rule numbers."""

    automaton: ahocorasick_rs.AhoCorasick
    orders: list[tuple[int, ...]]

    @classmethod
    def of(cls, nocase: bool) -> _Needles:
        needles: dict[str, list[int]] = {}
        for order, rule in enumerate(RULES):
            if rule.nocase == nocase:
                for needle in rule.needles:
                    needles.setdefault(needle.lower() if nocase else needle, []).append(order)
        keys = list(needles)
        return cls(ahocorasick_rs.AhoCorasick(keys), [tuple(needles[k]) for k in keys])


_EXACT, _NOCASE = _Needles.of(nocase=False), _Needles.of(nocase=True)


@dataclass(frozen=True)
class FoundSecret:
    """A secret seen in some text: what it is, never the secret itself."""

    provider: str
    kind: str
    fingerprint: str  # last 4 characters, the only part we ever show
    strength: Strength = "certain"


@dataclass(frozen=True)
class _Hit:
    start: int  # of the secret itself (a context rule's value group)
    end: int
    rule: Rule
    order: int


def fingerprint(secret: str) -> str:
    """The last four characters of a secret, the only part we ever display."""
    return secret[-4:] if len(secret) >= 8 else "????"


class _Known:
    """The exact secrets this process holds (its configured keys and tokens)."""

    def __init__(self) -> None:
        self.values: set[str] = set()
        self.pattern: re.Pattern[str] | None = None

    def add(self, secrets: tuple[str, ...]) -> None:
        fresh = {s for s in secrets if len(s) >= 8} - self.values
        if fresh:
            self.values |= fresh
            alternatives = sorted(self.values, key=len, reverse=True)
            self.pattern = re.compile("|".join(re.escape(v) for v in alternatives))


_KNOWN = _Known()


def remember(*secrets: str) -> None:
    """Mask these exact values everywhere from now on (process-wide, like the log processor).

    Called for every key and token read at start-up, so a key in a format no rule knows
    (a gateway's, a custom proxy's) is still never printed.
    """
    _KNOWN.add(secrets)


def _entropy(value: str) -> float:
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values())


@functools.lru_cache(maxsize=4096)
def _plausible(value: str) -> bool:
    """A keyword-anchored value that looks random enough to be a credential, not a word or id."""
    if not (_DIGIT.search(value) and _LETTER.search(value)) or PLACEHOLDER.search(value):
        return False
    floor = 3.0 if _HEX.match(value) else MIN_ENTROPY
    return _entropy(value) >= floor


def _candidates(text: str) -> Iterator[tuple[int, int]]:
    """(rule number, start) wherever a rule's needle occurs: one pass per automaton."""
    for needles, haystack in ((_EXACT, text), (_NOCASE, text.translate(_ASCII_LOWER))):
        for index, start, _ in needles.automaton.find_matches_as_indexes(
            haystack, overlapping=True
        ):
            for order in needles.orders[index]:
                yield order, start - RULES[order].back


def _hits(text: str) -> Iterator[_Hit]:
    for order, start in _candidates(text):
        rule = RULES[order]
        if start < 0:
            continue
        if rule.strength == "certain" and start > 0 and text[start - 1] in _WORD:
            continue  # `sk-` inside `task-12` is no key
        m = rule.pattern.match(text, start)
        if m is None:
            continue
        if rule.strength == "context":
            if _plausible(m.group("v")):
                yield _Hit(m.start("v"), m.end("v"), rule, order)
        elif not PLACEHOLDER.search(m.group()):  # sk-your-key-here is documentation
            yield _Hit(m.start(), m.end(), rule, order)
    for start, end in possible_shapes(text):
        yield _Hit(start, end, _POSSIBLE, len(RULES))
    if _KNOWN.pattern is not None:
        for m in _KNOWN.pattern.finditer(text):
            yield _Hit(m.start(), m.end(), _CONFIGURED, -1)


def _resolve(text: str) -> list[_Hit]:
    """The secrets in text, left to right, without overlaps: where two overlap, the earlier rule wins."""
    ranked = sorted(_hits(text), key=lambda h: (h.order, h.start))
    starts: list[int] = []  # the kept spans, sorted and disjoint
    ends: list[int] = []
    taken: list[_Hit] = []
    for hit in ranked:
        i = bisect.bisect_right(starts, hit.start)
        if (i > 0 and ends[i - 1] > hit.start) or (i < len(starts) and starts[i] < hit.end):
            continue
        starts.insert(i, hit.start)
        ends.insert(i, hit.end)
        taken.append(hit)
    return sorted(taken, key=lambda h: h.start)


def find(text: str, *, possible: bool = False) -> list[FoundSecret]:
    """The secrets in text (provider, kind, fingerprint), each once, in order.

    By default only what is surely a secret; `possible=True` adds the bare shapes of keys
    (a 32-hex string), for checks that must err on the safe side.
    """
    if not text:
        return []
    found: list[FoundSecret] = []
    for hit in _resolve(text):
        if hit.rule.strength == "possible" and not possible:
            continue
        value = text[hit.start : hit.end]
        found.append(
            FoundSecret(hit.rule.provider, hit.rule.kind, fingerprint(value), hit.rule.strength)
        )
    return found


def _masked(value: str, rule: Rule) -> str:
    shown = rule.shown if value.startswith(rule.shown) else ""
    if rule.shown == "xox":
        shown = value[:5]
    return f"{shown}****{fingerprint(value)}"


def mask(text: str) -> str:
    """Text with every secret (possible ones too) replaced by its prefix, stars and last four."""
    if not text:
        return text
    hits = _resolve(text)
    if not hits:
        return text
    out: list[str] = []
    pos = 0
    for hit in hits:
        out.append(text[pos : hit.start])
        out.append(_masked(text[hit.start : hit.end], hit.rule))
        pos = hit.end
    out.append(text[pos:])
    return "".join(out)


def mask_any(value: Any) -> Any:
    """Mask secrets in a value of any shape: strings, and strings nested in dicts, lists, tuples."""
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, dict):
        return {k: mask_any(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_any(v) for v in value]
    if isinstance(value, tuple):
        return tuple(mask_any(v) for v in value)
    if isinstance(value, BaseException):
        return mask(repr(value))
    return value
