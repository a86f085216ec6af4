"""Showing a check while it runs: the fast keys at once, the slow ones as they come, few updates.

`follow` consumes the engine's `check_progress` steps and hands the latest one to `show`
now and then: the first time `first_s` after the start (a check that is done by then sends
only its answer), then with a growing gap, and at most `max_updates` times, so a 300-key
org causes a handful of edits, not 300. A slash command's response_url takes at most five
posts within 30 minutes (Slack's "Handling user interaction" guide, message responses):
three progress updates leave room for the answer and a failure notice.

When `deadline_s` runs out first, the check is closed (its probes cancelled) and the latest
step comes back without a report: the keys still pending are the ones that did not answer.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass

import structlog

from bot.results import CheckProgress

log = structlog.get_logger(__name__)

Show = Callable[[CheckProgress], Awaitable[None]]


@dataclass(frozen=True)
class Pacing:
    """When progress is shown: first after `first_s`, then gaps of `gap_s` doubling each time."""

    first_s: float = 1.0
    gap_s: float = 1.0
    max_updates: int = 3


RESPONSE_URL = Pacing()


async def follow(
    steps: AsyncGenerator[CheckProgress, None],
    show: Show | None,
    *,
    deadline_s: float,
    pacing: Pacing = RESPONSE_URL,
) -> CheckProgress | None:
    """Run a check to its end, showing its progress; the last step (None if none came in time).

    The last step carries the report, unless the deadline ran out first. A failing `show`
    is logged and the check goes on: the final answer matters more than an update.
    """
    loop = asyncio.get_running_loop()
    start = loop.time()
    due, gap, updates = start + pacing.first_s, pacing.gap_s, 0
    latest: CheckProgress | None = None
    shown: CheckProgress | None = None
    nxt = asyncio.ensure_future(anext(steps))
    try:
        while True:
            wants_show = show is not None and latest is not shown and updates < pacing.max_updates
            wake = min(due if wants_show else math.inf, start + deadline_s)
            done, _ = await asyncio.wait({nxt}, timeout=max(0.0, wake - loop.time()))
            if nxt in done:
                latest = nxt.result()
                if latest.report is not None:
                    return latest
                nxt = asyncio.ensure_future(anext(steps))
                continue
            if loop.time() >= start + deadline_s:
                log.warning("check_deadline_passed", deadline_s=deadline_s)
                return latest
            if show is not None and latest is not None:
                await _show(show, latest)
                shown, updates = latest, updates + 1
                due, gap = loop.time() + gap, gap * 2
    finally:
        nxt.cancel()
        await asyncio.wait({nxt})
        await steps.aclose()


async def _show(show: Show, step: CheckProgress) -> None:
    try:
        await show(step)
    except Exception as exc:  # an update that fails must not sink the answer
        log.warning("progress_update_failed", error=type(exc).__name__)
