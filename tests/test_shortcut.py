"""*Diagnose this error*: a user picks the shortcut on someone's pasted error.

The bot classifies the message, live-checks the model it names, and answers in the
message's thread; where it cannot post, the answer goes privately to whoever asked.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.cache import Cache
from tests.slack_helpers import (
    CHANNEL,
    SlackWorld,
    block_texts,
    fake_openai_key,
    shown,
    slack_world,
)

GPT4O_MINI_404 = (
    "openai.NotFoundError: Error code: 404 - {'error': {'message': 'The model `gpt-4o-mini` "
    "does not exist or you do not have access to it.', 'type': 'invalid_request_error', "
    "'param': None, 'code': 'model_not_found'}}"
)


@pytest.fixture
async def world(
    tmp_path: Path, redis_url: str, cache_prefix: str, cache: Cache
) -> AsyncIterator[SlackWorld]:
    """The app with prod and dev OpenAI keys (both can use gpt-4o-mini)."""
    async with slack_world(tmp_path, redis_url, cache_prefix) as w:
        yield w


def message(text: str, ts: str = "1700000500.000100", **extra: Any) -> dict[str, Any]:
    """A message as it appears in a shortcut payload."""
    return {"type": "message", "user": "U0OTHER001", "ts": ts, "text": text, **extra}


async def test_the_answer_goes_in_the_messages_thread_with_a_live_check(
    world: SlackWorld,
) -> None:
    """The reply is threaded under the message, names the cause, and shows both keys' live rows."""
    ack, _ = await world.shortcut(message(GPT4O_MINI_404))
    assert ack.status == 200
    (reply,) = await world.slack.wait_for("chat.postMessage")
    assert reply.body["channel"] == CHANNEL
    assert reply.body["thread_ts"] == "1700000500.000100"
    text = shown(reply)
    assert "`model_not_found`" in text or "model_not_found" in reply.body["text"]
    assert "Live check of `gpt-4o-mini`" in text
    table = next(b for b in reply.body["blocks"] if b["type"] == "table")
    assert [row[2]["text"].split()[-1] for row in table["rows"][1:]] == ["yes", "yes"]


async def test_a_reply_in_a_thread_stays_in_that_thread(world: SlackWorld) -> None:
    """An error posted as a thread reply is answered in the same thread, not a new one."""
    await world.shortcut(message(GPT4O_MINI_404, ts="1700000600.000200", thread_ts="1700000599.1"))
    (reply,) = await world.slack.wait_for("chat.postMessage")
    assert reply.body["thread_ts"] == "1700000599.1"


async def test_outside_the_bots_channels_the_answer_is_private(world: SlackWorld) -> None:
    """When the bot cannot post in the channel, the asker gets the answer ephemerally instead."""
    world.slack.not_in_channel.add(CHANNEL)
    _, rid = await world.shortcut(message(GPT4O_MINI_404))
    (private,) = await world.answer(rid)
    assert private.body["response_type"] == "ephemeral"
    assert "Live check of `gpt-4o-mini`" in block_texts(private.body["blocks"])


async def test_chatter_gets_a_hint_and_no_probe(world: SlackWorld) -> None:
    """A message with no API error says so, and nothing is probed."""
    await world.shortcut(message("has anyone tried the new model yet?"))
    (reply,) = await world.slack.wait_for("chat.postMessage")
    assert "could not find an API error" in shown(reply)
    assert not world.openai.count()


async def test_a_pasted_key_is_masked_and_flagged(world: SlackWorld) -> None:
    """A message quoting a whole key gets a rotate warning, and the key appears nowhere."""
    key = fake_openai_key("shrt")
    text = f"Error code: 401 - Incorrect API key provided: {key}. You can find your API key at ..."
    await world.shortcut(message(text))
    (reply,) = await world.slack.wait_for("chat.postMessage")
    assert "Rotate it now" in shown(reply)
    assert key not in world.everything_posted()


async def test_slack_rate_limits_on_the_reply_are_waited_out(world: SlackWorld) -> None:
    """A 429 from chat.postMessage is retried after its Retry-After, and the reply lands once."""
    world.slack.fail_next("chat.postMessage", 429)
    _, rid = await world.shortcut(message(GPT4O_MINI_404))
    calls = await world.slack.wait_for("chat.postMessage", 2, timeout=10)
    assert calls[1].at - calls[0].at >= 0.9  # Retry-After: 1
    await world.settle()
    assert len(world.slack.of("chat.postMessage")) == 2 and world.responses(rid) == []
