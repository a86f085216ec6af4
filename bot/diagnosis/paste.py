"""A pasted error as text to search: Slack escapes undone, and the `{...}` bodies in it loaded.

Everything here takes bounded time for any input: a huge paste is cut to its head and tail
before anything else, the object-start pattern has bounded repeats and no nested quantifiers,
brace matching is one pass over at most MAX_OBJECT characters, and at most MAX_OBJECTS
candidates are tried.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from typing import Any

SCAN_HEAD = 48_000  # characters of a huge paste searched for structure, from the start ...
SCAN_TAIL = 16_000  # ... and from the end (tracebacks end with the error)
MAX_OBJECT = 12_000  # longest {...} span handed to json / ast
MAX_OBJECTS = 16  # most candidate objects tried per paste
MAX_NESTING = 3  # an error message that itself embeds an error body, e.g. LiteLLM wrappers

_SLACK_LINK = re.compile(r"<((?:https?|mailto):[^|<>\s]{1,2000})(?:\|([^<>]{0,2000}))?>")
_OBJECT_START = re.compile(
    r"""\{\s{0,40}\\?["']?(?:error|type|message|code|status|detail)\\?["']?\s{0,8}:"""
)


def normalise(text: str) -> str:
    """Cut a huge paste to head and tail, undo Slack escaping, drop code fences."""
    if len(text) > SCAN_HEAD + SCAN_TAIL:
        text = text[:SCAN_HEAD] + "\n" + text[-SCAN_TAIL:]
    if "<" in text:
        text = _SLACK_LINK.sub(lambda m: m.group(2) or m.group(1), text)
    if "&" in text:
        text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
        text = text.replace("&#39;", "'").replace("&amp;", "&")
    if "```" in text:
        text = text.replace("```", "\n")
    if '\\"' in text:
        text = text.replace('\\"', '"')
    return text


def objects(text: str) -> Iterator[tuple[str, Any]]:
    """Candidate error objects in text: (span, parsed dict or None)."""
    tried = 0
    last_end = -1
    for match in _OBJECT_START.finditer(text):
        start = match.start()
        if start < last_end:
            continue
        tried += 1
        if tried > MAX_OBJECTS:
            return
        end = _balanced_end(text, start)
        if end is None:
            continue
        last_end = end
        span = text[start:end]
        yield span, _load(span)


def _balanced_end(text: str, start: int) -> int | None:
    """Index just past the `}` closing the `{` at start, in one pass; None if not within reach."""
    depth = 0
    quote = ""
    escaped = False
    stop = min(len(text), start + MAX_OBJECT)
    for i in range(start, stop):
        ch = text[i]
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote or ch == "\n":
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
            if depth == 0:
                return i + 1
    return None


def _load(span: str) -> Any:
    """A dict from JSON or a Python literal; None when neither parses."""
    try:
        return json.loads(span)
    except ValueError:
        pass
    try:
        return ast.literal_eval(span)
    except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError):
        pass
    if "\n" in span:
        # Bodies wrapped by a terminal or an issue form: newlines inside strings.
        try:
            return json.loads(span.replace("\n", " "))
        except ValueError:
            pass
    if "null" in span or "true" in span or "false" in span:
        swapped = re.sub(r"\bnull\b", "None", span)
        swapped = re.sub(r"\btrue\b", "True", re.sub(r"\bfalse\b", "False", swapped))
        try:
            return ast.literal_eval(swapped)
        except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError):
            return None
    return None
