"""Exactly-once claims and noise control, on the real Redis shared by two 'replicas'."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.web.async_client import AsyncWebClient

from bot.cache import Cache
from handlers import dedupe
from tests.fakes.slack import BOT_TOKEN, FakeSlack, sign

SIGNING_SECRET = "dedupe-test-signing-secret"


@pytest.fixture
async def replica(redis_url: str, cache_prefix: str, cache: Cache) -> AsyncIterator[Cache]:
    """A second Cache on the same Redis namespace as `cache`, as another replica would have."""
    other = await Cache.connect(redis_url, prefix=cache_prefix)
    yield other
    await other.close()


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    """The fake Slack Web API (the app calls auth.test once)."""
    async with FakeSlack() as fake:
        yield fake


def event_body(event_id: str, text: str = "hello") -> dict[str, Any]:
    """An Events API envelope for a plain channel message."""
    return {
        "type": "event_callback",
        "team_id": "T0FAKE001",
        "api_app_id": "A0FAKE001",
        "event_id": event_id,
        "event_time": 1_700_000_000,
        "event": {
            "type": "message",
            "channel": "C0HELP001",
            "user": "U0HUMAN01",
            "text": text,
            "ts": "1700000000.000100",
        },
    }


def signed_request(body: dict[str, Any], retry: int = 0) -> AsyncBoltRequest:
    """The request Slack would send, signed with the real v0 algorithm, with a retry header."""
    raw = json.dumps(body)
    headers: dict[str, str | list[str]] = {
        "content-type": "application/json",
        **{k.lower(): v for k, v in sign(SIGNING_SECRET, raw).items()},
    }
    if retry:
        headers["x-slack-retry-num"] = str(retry)
        headers["x-slack-retry-reason"] = "http_timeout"
    return AsyncBoltRequest(body=raw, headers=headers)  # type: ignore[arg-type]


def counting_app(cache: Cache, slack: FakeSlack, seen: list[str]) -> AsyncApp:
    """A Bolt app whose message listener, behind EventOnce, records each event it runs for."""
    app = AsyncApp(
        client=AsyncWebClient(token=BOT_TOKEN, base_url=slack.api_url),
        signing_secret=SIGNING_SECRET,
        process_before_response=True,
    )

    async def listener(body: dict[str, Any]) -> None:
        seen.append(body["event_id"])

    app.event("message", middleware=[dedupe.EventOnce(cache)])(listener)
    return app


async def test_event_retries_reach_the_listener_once(cache: Cache, slack: FakeSlack) -> None:
    """The first delivery and Slack's retries 1..3 of one event_id run the listener once, all 200."""
    seen: list[str] = []
    app = counting_app(cache, slack, seen)
    statuses = [
        (await app.async_dispatch(signed_request(event_body("Ev01"), retry=n))).status
        for n in range(4)
    ]
    assert statuses == [200, 200, 200, 200]
    assert seen == ["Ev01"]


async def test_two_replicas_share_the_event_claim(
    cache: Cache, replica: Cache, slack: FakeSlack
) -> None:
    """The same event delivered to two app instances on one Redis runs on only one of them."""
    seen: list[str] = []
    first, second = counting_app(cache, slack, seen), counting_app(replica, slack, seen)
    await first.async_dispatch(signed_request(event_body("Ev02")))
    await second.async_dispatch(signed_request(event_body("Ev02"), retry=1))
    await second.async_dispatch(signed_request(event_body("Ev03")))
    assert seen == ["Ev02", "Ev03"]


async def test_badly_signed_request_is_refused_before_any_claim(
    cache: Cache, slack: FakeSlack
) -> None:
    """A forged request gets a 401 and does not use up the event id of the real one."""
    seen: list[str] = []
    app = counting_app(cache, slack, seen)
    forged = signed_request(event_body("Ev04"))
    forged.headers["x-slack-signature"] = ["v0=" + "0" * 64]
    assert (await app.async_dispatch(forged)).status == 401
    assert (await app.async_dispatch(signed_request(event_body("Ev04")))).status == 200
    assert seen == ["Ev04"]


async def test_message_claim_is_once_across_replicas(cache: Cache, replica: Cache) -> None:
    """Only the first replica may reply to a (channel, ts); other messages stay claimable."""
    assert await dedupe.claim_message(cache, "C1", "1.1")
    assert not await dedupe.claim_message(replica, "C1", "1.1")
    assert await dedupe.claim_message(replica, "C1", "1.2")
    assert await dedupe.claim_message(replica, "C2", "1.1")


async def test_message_claim_lives_thirty_days(cache: Cache, redis_url: str) -> None:
    """A message claim is kept for 30 days, an event claim for a day."""
    await dedupe.claim_message(cache, "C1", "9.9")
    assert cache.client is not None
    msg_ttl = await cache.client.ttl(cache.key("help", "msg", "C1", "9.9"))
    assert 29 * 86400 < msg_ttl <= 30 * 86400
    assert dedupe.EVENT_TTL_S == 86400


async def test_thread_gets_one_unprompted_reply(cache: Cache, replica: Cache) -> None:
    """The thread claim is granted once per thread, whichever replica asks."""
    assert await dedupe.claim_thread(cache, "C1", "5.0")
    assert not await dedupe.claim_thread(replica, "C1", "5.0")


async def test_channel_budget_runs_out_after_six(cache: Cache, replica: Cache) -> None:
    """Six replies per channel per minute are allowed across replicas; the seventh is not."""
    granted = [await dedupe.channel_budget_left(c, "C7") for c in [cache, replica] * 4]
    assert granted == [True] * 6 + [False] * 2
    assert await dedupe.channel_budget_left(cache, "C8")


async def test_mute_on_a_reply_mutes_its_thread(cache: Cache, replica: Cache) -> None:
    """A muted thread is muted for every replica; a reply's ts leads back to its thread."""
    await dedupe.remember_reply(cache, "C1", "7.5", "7.0")
    root = await dedupe.thread_of(replica, "C1", "7.5")
    assert root == "7.0"
    assert await dedupe.thread_of(replica, "C1", "8.0") == "8.0"
    await dedupe.mute(replica, "C1", root)
    assert await dedupe.is_muted(cache, "C1", "7.0")
    await dedupe.unmute(cache, "C1", "7.0")
    assert not await dedupe.is_muted(replica, "C1", "7.0")


async def test_claims_still_hold_within_a_process_without_redis() -> None:
    """With Redis unreachable, a replica still claims each message and event only once."""
    down = await Cache.connect("redis://127.0.0.1:1/0")
    assert not down.available
    assert await dedupe.claim_message(down, "C1", "1.1")
    assert not await dedupe.claim_message(down, "C1", "1.1")
    assert await dedupe.channel_budget_left(down, "C1")
