"""Model ids in text: every catalog id and alias, and their gateway forms, found in one pass.

One Aho-Corasick automaton (ahocorasick-rs, over the lower-cased bytes) finds every
candidate at once; a candidate counts only where it stands as an id of its own (not inside
`xgpt-4o`, `gpt-4o_x` or `gpt-4.1`), the longest one wins where ids nest (`openai/gpt-4o`
over `gpt-4o`, `gpt-4o-mini` over `gpt-4o`), and short or word-like ids (`o3`, `ada`,
`davinci`) count only as a quoted or assigned value, where they cannot be an ordinary word.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import ahocorasick_rs

from bot.knowledge.catalog import Catalog, ModelEntry

# Prefixes under which gateways and SDK wrappers name a provider's model.
GATEWAY_PREFIXES: dict[str, tuple[str, ...]] = {
    "openai": ("openai/", "azure/"),
    "azure": ("azure/",),
    "anthropic": ("anthropic/", "anthropic.", "bedrock/anthropic.", "vertex_ai/"),
}
_ID_BYTES = frozenset(b"abcdefghijklmnopqrstuvwxyz0123456789_-")
_VALUE_BEFORE = frozenset(b"'\"`=:/[(,")
_VALUE_AFTER = frozenset(b"'\"`,;)]}\n\r\t ")
_BEDROCK_TAIL = re.compile(rb"-v\d{1,2}(?::\d{1,2})?")
_DOT = ord(".")
_SPACE = ord(" ")


@dataclass(frozen=True)
class Found:
    """One id in a text: where (byte offsets), as written, and the catalog entry it names."""

    start: int
    end: int
    text: str
    entry: ModelEntry
    gateway: str | None  # the provider prefix it was written with (`openai/`), if any


@dataclass(frozen=True)
class _Form:
    entry: ModelEntry
    gateway: str | None
    ambiguous: bool


def _ambiguous(name: str) -> bool:
    """Ids that are also words or too short to stand alone (o3, ada, davinci, tts)."""
    return len(name) <= 4 or (not any(c.isdigit() for c in name) and "-" not in name)


class Matcher:
    """Finds the catalog's ids (and extra names, e.g. Azure deployments) in text."""

    def __init__(self, catalog: Catalog, extra: Iterable[tuple[str, ModelEntry]] = ()) -> None:
        forms: dict[str, _Form] = {}
        for name in catalog.names():
            entry = catalog.get(name)  # the first provider's, as everywhere else
            if entry is None:
                continue
            forms.setdefault(name.lower(), _Form(entry, None, _ambiguous(name)))
            for prefix in GATEWAY_PREFIXES.get(entry.provider, ()):
                forms.setdefault(prefix + name.lower(), _Form(entry, prefix, False))
        for name, entry in extra:
            forms.setdefault(name.lower(), _Form(entry, None, _ambiguous(name)))
        self._keys = list(forms)
        self._forms = [forms[k] for k in self._keys]
        self._automaton = ahocorasick_rs.BytesAhoCorasick([k.encode() for k in self._keys])

    def find(self, text: str) -> list[Found]:
        """Every id standing on its own in a str (offsets in UTF-8 bytes)."""
        return self.find_bytes(text.encode())

    def find_bytes(self, data: bytes) -> list[Found]:
        """Every id standing on its own in the bytes, longest first where they nest, in order."""
        lowered = data.lower()
        hits = sorted(self._candidates(data, lowered), key=lambda f: (f.start, f.start - f.end))
        kept: list[Found] = []
        for hit in hits:
            if kept and hit.start < kept[-1].end:
                continue  # inside a longer id found at an earlier or the same start
            kept.append(hit)
        return kept

    def _candidates(self, data: bytes, lowered: bytes) -> Iterator[Found]:
        for index, start, end in self._automaton.find_matches_as_indexes(lowered, overlapping=True):
            form = self._forms[index]
            if not _stands_alone(lowered, start, end):
                continue
            if form.ambiguous and not _is_value(lowered, start, end):
                continue
            written = data[start:end].decode("utf-8", "replace")
            yield Found(start, end, written, form.entry, form.gateway)


def _stands_alone(data: bytes, start: int, end: int) -> bool:
    """No id character on either side (and not `.`+digit after: gpt-4 is not gpt-4.1)."""
    if start > 0 and data[start - 1] in _ID_BYTES:
        return False
    if end < len(data):
        after = data[end]
        if after == _DOT and end + 1 < len(data) and chr(data[end + 1]).isalnum():
            return False
        if after in _ID_BYTES:
            return _BEDROCK_TAIL.match(data, end) is not None  # anthropic.claude-…-v1:0
    return True


def _is_value(data: bytes, start: int, end: int) -> bool:
    """Quoted, or the value of an assignment: `"o3"`, `model: o3`, `MODEL=o3`."""
    i = start - 1
    while i >= 0 and start - i <= 8 and data[i] == _SPACE:
        i -= 1
    if i < 0 or data[i] not in _VALUE_BEFORE:
        return False
    return end >= len(data) or data[end] in _VALUE_AFTER
