"""Cause prose templates: `{placeholder}` values, and `[optional parts]` dropped when empty.

The taxonomy's titles, meanings and fixes are written in this small language; it is
checked when the data loads and filled in when a diagnosis is made.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from bot import providers

PLACEHOLDERS: tuple[str, ...] = (
    "model",
    "replacement",
    "endpoint",
    "provider",
    "shutdown",
    "suggestion",
)
# What a placeholder reads as when its value is unknown (outside an optional [...] part).
_DEFAULTS: dict[str, str] = {
    "model": "the model",
    "replacement": "a current model",
    "endpoint": "its own",
    "provider": "the provider",
    "shutdown": "its shutdown date",
    "suggestion": "the closest real id",
}
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
_OPTIONAL = re.compile(r"\[([^\[\]]*)\]")


def check_template(text: str) -> str:
    """Reject unknown placeholders and nested or unbalanced optional parts."""
    for name in _PLACEHOLDER.findall(text):
        if name not in PLACEHOLDERS:
            raise ValueError(f"unknown placeholder {{{name}}} (known: {', '.join(PLACEHOLDERS)})")
    stripped = _OPTIONAL.sub("", text)
    if "[" in stripped or "]" in stripped:
        raise ValueError("optional parts in [...] must be balanced and not nested")
    return text


def _display(name: str, value: Any) -> str | None:
    if value is None or value == "" or value == []:
        return None
    if name == "provider":
        return providers.title(str(value))
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def render(template: str, values: Mapping[str, Any]) -> str:
    """Fill placeholders; drop [optional parts] whose placeholders have no value.

    Only the known placeholder names are substituted (no attribute access, no format specs),
    so user-controlled values cannot reach anything but the text.
    """
    shown = {name: _display(name, values.get(name)) for name in PLACEHOLDERS}

    def optional(match: re.Match[str]) -> str:
        part = match.group(1)
        if any(shown.get(n) is None for n in _PLACEHOLDER.findall(part)):
            return ""
        return part

    text = _OPTIONAL.sub(optional, template)
    out: list[str] = []
    pos = 0
    for match in _PLACEHOLDER.finditer(text):
        out.append(text[pos : match.start()])
        name = match.group(1)
        value = shown.get(name)
        if value is None:
            value = _DEFAULTS.get(name, "")
            before = "".join(out).rstrip()
            if not before or before.endswith((".", ":", "!", "?")):
                value = value[:1].upper() + value[1:]
        out.append(value)
        pos = match.end()
    out.append(text[pos:])
    return re.sub(r" {2,}", " ", "".join(out)).replace(" .", ".").replace(" ,", ",").strip()
