"""The providers' SDKs, imported once each and only when a key of theirs is probed live.

Importing openai costs about 0.6 s here and anthropic about 1.3 s, which a command that
needs neither (explain, a fully cached check) must not pay.
"""

from __future__ import annotations

import gc
import importlib
import threading

from bot.keys import Key

_LOADED: set[str] = set()
_LOCK = threading.Lock()


def load_sdk(name: str) -> None:
    """Import an SDK once, then move its long-lived objects out of the cyclic GC's way.

    The SDKs define some 200k objects (types, validators) that live as long as the process.
    Left in the collector's generations, every full collection walks them all, which showed
    up as a 100-150 ms pause in the middle of a cold check; frozen, they are skipped.
    """
    with _LOCK:  # called from worker threads: two keys' probes may ask at once
        if name in _LOADED:
            return
        importlib.import_module(name)
        gc.collect()
        gc.freeze()
        _LOADED.add(name)


def sdk_loaded(name: str) -> bool:
    """Whether load_sdk has run for this SDK in this process."""
    return name in _LOADED


def sdk_of(key: Key) -> str:
    """The SDK package a key's adapter speaks through."""
    return "anthropic" if key.provider == "anthropic" else "openai"
