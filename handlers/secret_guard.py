"""The secret guard: spot a whole provider key or Slack token in a message and say how to rotate it.

Only what `bot.redact.find` reports is used (provider, kind, last four characters); the
secret itself never leaves the incoming event. The detector decides what is surely a secret
(a bare 32-character hex string is a trace id until an `api-key` stands before it).
"""

from __future__ import annotations

from bot import providers
from bot.redact import ROTATION_PAGES, FoundSecret, find
from handlers.render.blocks import escape


def scan(text: str) -> list[FoundSecret]:
    """The secrets in a message worth warning about, each once."""
    return find(text)


def warning_text(found: list[FoundSecret]) -> str:
    """The mrkdwn warning: what was pasted (kind and last four), rotate now, and where."""
    lines = [":rotating_light: *This message contains a live secret. Rotate it now.*"]
    for secret in found:
        lines.append(f"• {escape(secret.kind)} ending in `{escape(secret.fingerprint)}`")
    lines.append(
        "Anyone who can read this channel (and Slack's search and exports) can use it, so "
        "deleting the message is not enough: revoke the key, create a new one, and update "
        "wherever it is stored."
    )
    for provider in sorted({s.provider for s in found}):
        page = ROTATION_PAGES.get(provider)
        if page:
            name = providers.title(provider)
            lines.append(f"Rotate {name} {_NOUNS.get(provider, 'keys')} at {escape(page)}")
    lines.append("I have not stored or logged it, and I mask it in everything I post.")
    return "\n".join(lines)


_NOUNS = {"slack": "tokens"}
