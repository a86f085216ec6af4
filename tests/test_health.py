"""The pieces the long-running modes stop and report with: /healthz, backoff, replies in flight."""

from __future__ import annotations

import asyncio
import itertools
import json
import urllib.error
import urllib.request

from bot.cache import Cache
from handlers.lifecycle import Backoff, Health, InFlight, Phase, health_app, start_http
from tests.test_serve import free_port


def get(port: int) -> tuple[int, dict[str, object]]:
    """GET /healthz; status and body."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=3) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


async def test_healthz_is_503_only_when_a_part_is_dead(cache: Cache) -> None:
    """Waiting for Redis is reported with 200 (a restart would not help); a dead scheduler is 503."""
    scheduler = Phase()
    health = Health("http", cache, 2, {"scheduler": scheduler})
    port = free_port()
    runner = await start_http(health_app(health), port)
    try:
        scheduler.set("waiting_for_redis", "Connection refused")
        status, body = await asyncio.to_thread(get, port)
        assert status == 200 and body["ok"] is True
        assert body["scheduler"] == {
            "state": "waiting_for_redis",
            "reason": "Connection refused",
            "since": scheduler.since.isoformat(),
        }
        assert body["cache_kind"] == "external" and body["keys"] == 2
        scheduler.set("dead", "RuntimeError: boom")
        status, body = await asyncio.to_thread(get, port)
        assert status == 503 and body["ok"] is False
    finally:
        await runner.cleanup()


def test_backoff_doubles_up_to_its_cap_with_a_little_jitter() -> None:
    """1, 2, 4, 8, 16, 30, 30 … seconds, each within 10% of that."""
    delays = list(itertools.islice(Backoff(first=1.0, cap=30.0).delays(), 8))
    for got, want in zip(delays, [1, 2, 4, 8, 16, 30, 30, 30], strict=True):
        assert want * 0.9 <= got <= want * 1.1


async def test_in_flight_replies_are_waited_for_and_late_ones_cancelled() -> None:
    """Tasks a request starts are tracked; drain waits for the quick one and cancels the slow one."""
    inflight = InFlight()
    inflight.install(asyncio.get_running_loop())
    finished: list[str] = []

    async def reply(name: str, seconds: float) -> None:
        await asyncio.sleep(seconds)
        finished.append(name)

    started: list[asyncio.Future[None]] = []

    async def dispatch() -> None:  # as Bolt does: ack, and answer in a task of its own
        started.append(asyncio.ensure_future(reply("quick", 0.1)))
        started.append(asyncio.ensure_future(reply("slow", 10)))

    outside = asyncio.ensure_future(reply("not a request", 0.05))
    await inflight.dispatch(dispatch)
    assert len(inflight.pending()) == 2  # the two replies, not the unrelated task
    late = await inflight.drain(0.5)
    assert late == 1 and finished == ["not a request", "quick"]
    await outside
