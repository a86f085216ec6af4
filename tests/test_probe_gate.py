"""An org with many keys on one provider endpoint: bounded probes at once, and a 429 slows the rest.

Keys share the fake OpenAI's base URL; the fake records when each request arrived, so the
number of requests in flight can be read off its log.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from bot.cache import Cache
from tests.fakes.providers import Account, Failure, FakeProviders
from tests.test_probe import engine_for, fake_secret, openai_key

LATENCY_S = 0.3


@pytest.fixture
async def fakes() -> AsyncIterator[FakeProviders]:
    """The fake providers, empty."""
    async with FakeProviders() as fp:
        yield fp


def most_in_flight(arrivals: list[float], latency: float) -> int:
    """The most requests any moment had in flight, each taking `latency` seconds."""
    return max(sum(1 for a in arrivals if a <= t < a + latency) for t in arrivals)


async def test_probes_at_once_per_base_url_are_bounded(cache: Cache, fakes: FakeProviders) -> None:
    """12 keys on one base URL, max_concurrent_probes 3: at most 3 keys' requests (6) in flight, all answered."""
    keys = []
    for i in range(12):
        secret = fake_secret("openai", f"gate{i:02d}")
        fakes.openai.add_account(Account(secret, models=["gpt-4o"], latency=LATENCY_S))
        keys.append(openai_key(fakes, f"k{i:02d}", secret))
    engine = engine_for(cache, keys, max_concurrent_probes=3)
    report = await engine.check("gpt-4o")
    assert all(r.accessible for r in report.results)
    arrivals = [r.at for r in fakes.openai.recorded()]
    assert len(arrivals) == 24  # the list and the free probe, per key
    assert most_in_flight(arrivals, LATENCY_S) <= 6
    # Each key's latency is its own provider time, not the wait for a slot.
    assert max(r.latency_ms for r in report.results) < 4 * LATENCY_S * 1000


async def test_a_429_with_retry_after_pauses_the_other_keys_of_that_base_url(
    cache: Cache, fakes: FakeProviders
) -> None:
    """The first key's 429 (Retry-After: 1) holds the next keys of the base URL back for a second, no retry."""
    busy = fake_secret("openai", "gatebusy")
    fakes.openai.add_account(
        Account(busy, models=["gpt-4o"], failures=[Failure("rate_limited", retry_after=1)])
    )
    keys = [openai_key(fakes, "busy", busy)]  # one base URL for all three
    for tag in ("gatea", "gateb"):
        secret = fake_secret("openai", tag)
        fakes.openai.add_account(Account(secret, models=["gpt-4o"]))
        keys.append(openai_key(fakes, tag, secret))
    engine = engine_for(cache, keys, max_concurrent_probes=1)
    started = time.monotonic()
    first = await engine.check("gpt-4o", aliases=["busy"])
    assert first.results[0].cause == "rate_limit"
    rest = await engine.check("gpt-4o", aliases=["gatea", "gateb"])
    assert [r.cause for r in rest.results] == [None, None]
    busy_at = max(r.at for r in fakes.openai.recorded(key=busy))
    later = [r.at for r in fakes.openai.recorded() if r.key != busy]
    assert len(later) == 4 and min(later) - busy_at >= 0.9
    assert len(fakes.openai.recorded(key=busy)) == 2  # the list and one probe: never retried
    assert time.monotonic() - started < 5
