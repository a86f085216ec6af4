"""How hard one provider endpoint is asked: a bounded number of probes at once, and a pause on 429.

An org with 300 keys behind one base URL must not open 300 connections at once, and when
the provider answers one of them with 429 and a Retry-After, the others of that base URL
wait that long before they start rather than each collecting its own 429 (the SDKs'
retries are off, so nothing is retried: a pause is all that is needed to avoid a storm).

One `Gate` per (provider, base URL), created on first use by `Gates`. A probe holds a slot
for its whole ladder; the time it waits for a slot or a pause is not its provider time.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog

from bot.keys import Key
from bot.probing.observed import Call

log = structlog.get_logger(__name__)


class Gate:
    """At most `limit` probes at once to one endpoint, none while a 429's Retry-After runs."""

    def __init__(self, name: str, limit: int, max_pause_s: float) -> None:
        self.name = name
        self.max_pause_s = max_pause_s
        self._slots = asyncio.Semaphore(limit)
        self._resume_at = 0.0  # loop time before which no new probe starts

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one of the gate's slots, after any pause has run out."""
        async with self._slots:
            loop = asyncio.get_running_loop()
            # A new 429 may push the pause further while we sleep, hence the loop.
            while (delay := self._resume_at - loop.time()) > 0:  # noqa: ASYNC110
                await asyncio.sleep(delay)
            yield

    def observe(self, call: Call) -> None:
        """A 429 with a Retry-After pauses every probe that has not started yet (capped)."""
        if call.status != 429 or not call.retry_after or call.retry_after <= 0:
            return
        pause = min(call.retry_after, self.max_pause_s)
        resume = asyncio.get_running_loop().time() + pause
        if resume > self._resume_at:
            self._resume_at = resume
            log.info("probe_gate_paused", gate=self.name, pause_s=round(pause, 2))

    @property
    def paused_for(self) -> float:
        """Seconds left of the current pause (0 when none)."""
        return max(0.0, self._resume_at - asyncio.get_running_loop().time())


class Gates:
    """The gates of one event loop, one per (provider, base URL)."""

    def __init__(self, limit: int, max_pause_s: float) -> None:
        self.limit = limit
        self.max_pause_s = max_pause_s
        self._gates: dict[tuple[str, str], Gate] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    def for_key(self, key: Key) -> Gate:
        """The gate of the key's provider and base URL (the provider's default when unset)."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # semaphores belong to a loop; tests run several
            self._gates, self._loop = {}, loop
        where = (key.provider, (key.base_url or "").rstrip("/"))
        gate = self._gates.get(where)
        if gate is None:
            name = f"{where[0]} {where[1] or 'default'}"
            gate = self._gates[where] = Gate(name, self.limit, self.max_pause_s)
        return gate
