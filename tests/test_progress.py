"""Showing a check while it runs (handlers.progress.follow): few updates, the answer always last.

The steps are CheckProgress values as the engine yields them, produced on a schedule by a
small generator, so the pacing can be read off the clock.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Sequence

from bot.results import CheckProgress, CheckReport, Diagnosis, PendingKey, ProbeResult
from handlers.progress import Pacing, follow

KEYS = [PendingKey(alias=f"k{i}", provider="openai", fingerprint=f"{i:04d}") for i in range(6)]


def result(key: PendingKey) -> ProbeResult:
    """A usable result for one key."""
    return ProbeResult(
        alias=key.alias,
        provider=key.provider,
        fingerprint=key.fingerprint,
        accessible=True,
        cause=None,
    )


def step(done: int, *, final: bool = False) -> CheckProgress:
    """The check after `done` keys answered (the report once all have)."""
    results = [result(k) for k in KEYS[:done]]
    report = None
    if final:
        report = CheckReport(
            model="gpt-4o", endpoint=None, results=results, diagnosis=Diagnosis(cause="unknown")
        )
    return CheckProgress(
        model="gpt-4o", endpoint=None, results=results, pending=KEYS[done:], report=report
    )


class Steps:
    """A check whose keys answer at the given offsets (seconds); records whether it was closed."""

    def __init__(self, offsets: Sequence[float]) -> None:
        self.offsets = offsets
        self.closed = False

    async def run(self) -> AsyncGenerator[CheckProgress, None]:
        """Yield a step per answer, the last with the report."""
        start = time.monotonic()
        try:
            for n, at in enumerate(self.offsets, start=1):
                await asyncio.sleep(max(0.0, start + at - time.monotonic()))
                yield step(n, final=n == len(self.offsets))
        finally:
            self.closed = True


async def test_a_check_done_before_the_first_update_shows_nothing_but_its_answer() -> None:
    """Keys that all answer within first_s: no progress update, the final step comes back."""
    shown: list[CheckProgress] = []

    async def show(s: CheckProgress) -> None:
        shown.append(s)

    last = await follow(Steps([0.01, 0.02]).run(), show, deadline_s=5, pacing=Pacing(first_s=0.5))
    assert shown == [] and last is not None and last.report is not None


async def test_updates_are_few_and_spaced_then_the_answer() -> None:
    """Six keys answering over 1.2 s: the first update after first_s, gaps that grow, at most max_updates."""
    times: list[float] = []
    counts: list[int] = []
    start = time.monotonic()

    async def show(s: CheckProgress) -> None:
        times.append(time.monotonic() - start)
        counts.append(s.done)

    pacing = Pacing(first_s=0.2, gap_s=0.2, max_updates=2)
    offsets = [0.05, 0.1, 0.3, 0.5, 0.9, 1.2]
    last = await follow(Steps(offsets).run(), show, deadline_s=5, pacing=pacing)
    assert last is not None and last.report is not None and last.done == 6
    assert len(times) == 2
    assert times[0] >= 0.2 and times[1] - times[0] >= 0.2
    assert counts[0] >= 2 and counts[1] > counts[0]


async def test_past_the_deadline_the_latest_step_comes_back_and_the_check_is_closed() -> None:
    """A key that never answers: at the deadline the check is closed and the latest step names it pending."""
    steps = Steps([0.01, 3600])
    started = time.monotonic()
    last = await follow(steps.run(), None, deadline_s=0.3)
    assert time.monotonic() - started < 2
    assert last is not None and last.report is None
    assert [p.alias for p in last.pending] == [k.alias for k in KEYS[1:]]
    assert steps.closed


async def test_a_failing_update_does_not_sink_the_answer() -> None:
    """show raising (Slack refusing an update) is logged; the final step still comes back."""

    async def show(s: CheckProgress) -> None:
        raise RuntimeError("response_url gone")

    pacing = Pacing(first_s=0.05, gap_s=0.05, max_updates=3)
    last = await follow(Steps([0.01, 0.3]).run(), show, deadline_s=5, pacing=pacing)
    assert last is not None and last.report is not None
