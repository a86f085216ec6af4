"""What a long-running mode says when it starts: one INFO line of facts, a warning without keys."""

from __future__ import annotations

from collections import Counter
from typing import Any

import structlog

from bot.engine import Engine

log = structlog.get_logger(__name__)

NO_KEYS = (
    "no provider keys are configured, so every check will say so: set OPENAI_API_KEY "
    "(or ANTHROPIC_API_KEY, AZURE_OPENAI_API_KEY + AZURE_OPENAI_ENDPOINT), or name a keys "
    "file in MODEL_ACCESS_KEYS_FILE"
)


def facts(engine: Engine) -> dict[str, Any]:
    """What this process runs with: keys per provider, channels, and which Redis."""
    return {
        "keys": dict(sorted(Counter(k.provider for k in engine.keys).items())),
        "help_channels": list(engine.config.help_channels),
        "broadcast_channel": engine.config.broadcast_channel,
        "redis": engine.cache.kind,
        "cache": engine.cache.label,
    }


def announce(engine: Engine, *, mode: str, port: int | None, event: str = "serving") -> None:
    """Log the start-up line, and warn once when there is no provider key at all."""
    log.info(event, mode=mode, port=port, **facts(engine))
    if not engine.keys:
        log.warning("no_provider_keys", hint=NO_KEYS)
