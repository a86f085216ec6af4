"""The `/model-access` text, parsed into one request value; and button values, both ways.

Pure functions. Slack sends slash text with `&`, `<` and `>` escaped; `parse` unescapes it,
and every renderer escapes again on the way out. Some clients turn `--` into an em or en
dash as people type, so `—key` and `–key` are read as `--key`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.knowledge.catalog import ENDPOINTS
from handlers.render.blocks import unescape

MODEL_MAX = 200  # longer than any real id; keeps button values small
EXPLAIN_VALUE_MAX = 1800  # pasted text carried by a button, under Slack's 2,000
DEFAULT_DEPRECATION_DAYS = 90

USAGE = (
    "`/model-access MODEL [--key ALIAS]... [--endpoint E] [--deep] [--refresh]`\n"
    "`/model-access explain PASTED ERROR`\n"
    "`/model-access models [ALIAS]`\n"
    "`/model-access deprecations [DAYS]`\n"
    "`/model-access keys` (admins)\n"
    "`/model-access help`"
)


@dataclass(frozen=True)
class Check:
    """Can our keys use this model?"""

    model: str
    aliases: tuple[str, ...] = ()
    endpoint: str | None = None
    deep: bool = False
    refresh: bool = False

    def to_value(self) -> str:
        """A button value that lets a click repeat this check (never a secret)."""
        data: dict[str, Any] = {"m": self.model}
        if self.aliases:
            data["k"] = list(self.aliases)
        if self.endpoint:
            data["e"] = self.endpoint
        if self.deep:
            data["d"] = 1
        return _dumps(data)


@dataclass(frozen=True)
class Explain:
    """What does this pasted error mean?"""

    text: str

    def to_value(self) -> str | None:
        """A button value carrying the (already masked) paste, or None when it is too long."""
        value = _dumps({"x": self.text})
        return value if len(value) <= EXPLAIN_VALUE_MAX else None


@dataclass(frozen=True)
class Models:
    """What can each key list?"""

    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Deprecations:
    """Which models shut down soon?"""

    days: int = DEFAULT_DEPRECATION_DAYS


@dataclass(frozen=True)
class Keys:
    """Admins: the configured keys and how they are doing."""


@dataclass(frozen=True)
class Help:
    """How to use the command; `unknown` names a sub-command we did not recognise."""

    unknown: str | None = None


@dataclass(frozen=True)
class Invalid:
    """The text asked for something malformed; `error` is one friendly line."""

    error: str


Command = Check | Explain | Models | Deprecations | Keys | Help | Invalid

_DASHES = re.compile(r"(?<!\S)[\u2014\u2013\u2012](?=\w)")
_HELP_WORDS = frozenset({"help", "-h", "--help", "?", "usage"})
_MODEL_SHAPE = re.compile(r"[0-9\-.:/_@]")


def _words(text: str) -> list[str]:
    return _DASHES.sub("--", text).split()


def parse(text: str, is_model: Callable[[str], bool] = lambda _: False) -> Command:
    """Parse slash text. A bare word that is no sub-command is a model only if it looks like one.

    Model ids carry digits or punctuation (gpt-4o, o3, claude-3-5-haiku); a plain word
    such as `halp` is an unknown sub-command unless `is_model` knows it (e.g. `davinci`).
    """
    raw = unescape(text or "").strip()
    if not raw:
        return Help()
    first = raw.split(maxsplit=1)[0].lower()
    if first in _HELP_WORDS:
        return Help()
    if first == "explain":
        pasted = raw[len(first) :].strip()
        return Explain(pasted) if pasted else Invalid("paste the error text after `explain`")
    words = _words(raw)
    head, rest = words[0], words[1:]
    if first == "models":
        return _models(rest)
    if first == "deprecations":
        return _deprecations(rest)
    if first == "keys":
        return Keys() if not rest else Invalid("`keys` takes no arguments")
    if first == "check":
        return _check(rest)
    if head.startswith("-") or _MODEL_SHAPE.search(head) or is_model(head):
        return _check(words)
    return Help(unknown=head)


def _check(words: list[str]) -> Command:
    model: str | None = None
    aliases: list[str] = []
    endpoint: str | None = None
    deep = refresh = False
    i = 0
    while i < len(words):
        word = words[i]
        name, eq, inline = word.partition("=")
        if name in ("--key", "-k", "--endpoint", "-e"):
            value = inline if eq else (words[i + 1] if i + 1 < len(words) else "")
            i += 1 if eq else 2
            if not value or value.startswith("-"):
                return Invalid(f"`{name}` needs a value")
            if name in ("--key", "-k"):
                aliases.append(value)
            elif value.lower() not in ENDPOINTS:
                return Invalid(f"unknown endpoint `{value}` (one of: {', '.join(ENDPOINTS)})")
            else:
                endpoint = value.lower()
            continue
        if word == "--deep":
            deep = True
        elif word == "--refresh":
            refresh = True
        elif word.startswith("-"):
            return Invalid(f"unknown option `{word}`")
        elif model is not None:
            return Invalid(f"one model at a time (got `{model}` and `{word}`)")
        else:
            model = word
        i += 1
    if model is None:
        return Invalid("name a model, e.g. `/model-access gpt-4o`")
    if len(model) > MODEL_MAX:
        return Invalid(f"that model name is longer than {MODEL_MAX} characters")
    return Check(model, tuple(dict.fromkeys(aliases)), endpoint, deep, refresh)


def _models(words: list[str]) -> Command:
    aliases: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        name, eq, inline = word.partition("=")
        if name in ("--key", "-k"):
            value = inline if eq else (words[i + 1] if i + 1 < len(words) else "")
            if not value or value.startswith("-"):
                return Invalid(f"`{name}` needs a value")
            aliases.append(value)
            i += 1 if eq else 2
            continue
        if word.startswith("-"):
            return Invalid(f"unknown option `{word}`")
        aliases.append(word)
        i += 1
    return Models(tuple(dict.fromkeys(aliases)))


def _deprecations(words: list[str]) -> Command:
    days = " ".join(words).removeprefix("--within").strip(" =")
    if not days:
        return Deprecations()
    if not days.isdigit():
        return Invalid("`deprecations` takes a number of days, e.g. `deprecations 90`")
    return Deprecations(int(days))


def check_from_value(value: str | None) -> Check | None:
    """The check a button carries, or None when the value is not one of ours."""
    data = _load(value) or {}
    model, aliases, endpoint = data.get("m"), data.get("k", []), data.get("e")
    if not isinstance(model, str) or not model or len(model) > MODEL_MAX:
        return None
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
        return None
    if endpoint is not None and endpoint not in ENDPOINTS:
        return None
    return Check(model, tuple(aliases), endpoint, bool(data.get("d")))


def explain_from_value(value: str | None) -> Explain | None:
    """The pasted text an explain reply's button carries, or None."""
    text = (_load(value) or {}).get("x")
    return Explain(text) if isinstance(text, str) and text else None


def _dumps(data: dict[str, Any]) -> str:
    """Compact JSON with &, < and > as \\u escapes: no mention syntax even where nobody looks."""
    text = json.dumps(data, separators=(",", ":"))
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def _load(value: str | None) -> dict[str, Any] | None:
    if not value:
        return None
    try:
        data = json.loads(value)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None
