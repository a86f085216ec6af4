"""How long the prober's answers live in the cache, and how a model id becomes a cache-key part."""

from __future__ import annotations

import hashlib
from typing import Any

from bot.causes import TRANSIENT, Cause
from bot.config import CacheTTL
from bot.redact import mask

TRANSIENT_TTL_S = 5.0


def probe_ttl(ttl: CacheTTL, value: Any) -> float:
    """Seconds to keep one key's result: positive, negative, or briefly for a passing failure."""
    if value.get("accessible"):
        return float(ttl.positive)
    if value.get("cause") in TRANSIENT or value.get("cause") == Cause.UNKNOWN:
        return min(TRANSIENT_TTL_S, float(ttl.negative))
    return float(ttl.negative)


def listing_ttl(ttl: CacheTTL, value: Any) -> float:
    """Seconds to keep a key's models list: a 5xx, 429 or transport failure only briefly."""
    call = value.get("call") or {}
    if call.get("outcome") == "ok":
        return float(ttl.models_list)
    status = call.get("status")
    if call.get("outcome") != "error" or status is None or status >= 500 or status == 429:
        return min(TRANSIENT_TTL_S, float(ttl.negative))
    return float(ttl.negative)


def model_part(model: str) -> str:
    """The model as a cache-key part: as typed, or a hash when it looks like a secret."""
    if mask(model) != model or len(model) > 200:
        return "h-" + hashlib.sha256(model.encode()).hexdigest()[:16]
    return model
