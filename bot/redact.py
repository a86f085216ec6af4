"""Find and mask secrets (provider API keys, Slack tokens) in any text.

Used by the log processor, by every renderer that echoes user text, and by the
help-channel secret guard. Patterns are linear (no nested quantifiers).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

# Order matters: the most specific prefix first, so a key is reported under its provider.
_PATTERNS: tuple[tuple[str, str, re.Pattern[str]], ...] = (
    ("anthropic", "Anthropic API key", re.compile(r"\bsk-ant-[A-Za-z0-9_\-]{12,}")),
    ("openai", "OpenAI project key", re.compile(r"\bsk-proj-[A-Za-z0-9_\-]{12,}")),
    ("openai", "OpenAI service-account key", re.compile(r"\bsk-svcacct-[A-Za-z0-9_\-]{12,}")),
    ("openai", "OpenAI admin key", re.compile(r"\bsk-admin-[A-Za-z0-9_\-]{12,}")),
    ("openai", "OpenAI API key", re.compile(r"\bsk-[A-Za-z0-9_\-]{12,}")),
    ("slack", "Slack bot token", re.compile(r"\bxoxb-[0-9A-Za-z\-]{10,}")),
    ("slack", "Slack user token", re.compile(r"\bxox[pasor]-[0-9A-Za-z\-]{10,}")),
    ("slack", "Slack app token", re.compile(r"\bxapp-[0-9A-Za-z\-]{10,}")),
    ("azure", "Azure OpenAI key", re.compile(r"(?<![0-9A-Za-z_\-])[0-9a-f]{32}(?![0-9A-Za-z_\-])")),
    (
        "azure",
        "Azure OpenAI key",
        re.compile(r"(?<![0-9A-Za-z_\-])[0-9A-Za-z]{84}(?![0-9A-Za-z_\-])"),
    ),
)

ROTATION_PAGES: dict[str, str] = {
    "openai": "https://platform.openai.com/api-keys",
    "anthropic": "https://console.anthropic.com/settings/keys",
    "azure": "https://portal.azure.com (your Azure OpenAI resource > Keys and Endpoint > Regenerate)",
    "slack": "https://api.slack.com/apps (your app > OAuth & Permissions / Basic Information)",
}


@dataclass(frozen=True)
class FoundSecret:
    """A secret seen in some text: what it is, never the secret itself."""

    provider: str
    kind: str
    fingerprint: str  # last 4 characters, the only part we ever show


def fingerprint(secret: str) -> str:
    """The last four characters of a secret, the only part we ever display."""
    return secret[-4:] if len(secret) >= 8 else "????"


_SHOWN_PREFIXES = ("sk-ant-", "sk-proj-", "sk-svcacct-", "sk-admin-", "sk-", "xapp-")


def _mask_one(match: re.Match[str]) -> str:
    text = match.group(0)
    if text.startswith("xox"):
        prefix = text[:5]
    else:
        prefix = next((p for p in _SHOWN_PREFIXES if text.startswith(p)), "")
    return f"{prefix}****{fingerprint(text)}"


def mask(text: str) -> str:
    """Return text with every secret replaced by its prefix, stars and last four characters."""
    if not text:
        return text
    for _, _, pattern in _PATTERNS:
        text = pattern.sub(_mask_one, text)
    return text


def find(text: str) -> list[FoundSecret]:
    """List the secrets in text (provider, kind, fingerprint), each once."""
    found: list[FoundSecret] = []
    seen: set[tuple[int, int]] = set()
    for provider, kind, pattern in _PATTERNS:
        for m in pattern.finditer(text):
            if any(a <= m.start() < b for a, b in seen):
                continue
            seen.add((m.start(), m.end()))
            found.append(FoundSecret(provider, kind, fingerprint(m.group(0))))
    return found


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
