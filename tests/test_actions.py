"""The buttons on an answer: Share in channel, Re-probe, Show fix code.

A user runs `/model-access`, then clicks a button on the ephemeral answer; the click is a
signed block_actions request carrying the button's value, as Slack sends it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlencode

import pytest
from structlog.testing import capture_logs

from bot.cache import Cache
from tests.slack_helpers import (
    ADMIN,
    CHANNEL,
    FORM,
    USER,
    SlackWorld,
    action_form,
    block_texts,
    shown,
    slack_world,
)


@pytest.fixture
async def world(
    tmp_path: Path, redis_url: str, cache_prefix: str, cache: Cache
) -> AsyncIterator[SlackWorld]:
    """The app with prod and dev OpenAI keys, two probes per user per minute."""
    async with slack_world(tmp_path, redis_url, cache_prefix, probes_per_user_per_minute=2) as w:
        yield w


async def answer_buttons(world: SlackWorld, text: str, user: str = USER) -> dict[str, str]:
    """Run a command and return the answer's buttons (action_id -> value)."""
    _, rid = await world.command(text, user=user)
    (answer,) = await world.answer(rid)
    return {
        e["action_id"]: e["value"]
        for b in answer.body["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    }


async def test_share_posts_to_the_channel_and_removes_the_ephemeral(world: SlackWorld) -> None:
    """Share in channel posts the answer (no buttons, who shared it) and deletes the private copy."""
    value = (await answer_buttons(world, "gpt-4o"))["share_in_channel"]
    ack, rid = await world.click("share_in_channel", value)
    assert ack.status == 200
    (post,) = await world.slack.wait_for("chat.postMessage")
    assert post.body["channel"] == CHANNEL
    assert f"Shared by <@{USER}>" in shown(post)
    assert all(b["type"] != "actions" for b in post.body["blocks"])
    assert "1 of 2 keys can use it" in shown(post)
    (deleted,) = await world.answer(rid)
    assert deleted.body["delete_original"] is True


async def test_share_falls_back_to_the_response_url_outside_the_bots_channels(
    world: SlackWorld,
) -> None:
    """Where the bot is not a member, the answer is shared through the response_url instead."""
    world.slack.not_in_channel.add(CHANNEL)
    value = (await answer_buttons(world, "gpt-4o"))["share_in_channel"]
    _, rid = await world.click("share_in_channel", value)
    deleted, public = await world.answer(rid, 2)
    assert deleted.body["delete_original"] is True
    assert public.body["response_type"] == "in_channel"
    assert "1 of 2 keys can use it" in shown(public)


async def test_share_reuses_the_cache(world: SlackWorld) -> None:
    """Sharing does not probe the providers again: the answer comes from the cache."""
    value = (await answer_buttons(world, "gpt-4o"))["share_in_channel"]
    before = world.openai.count()
    _, rid = await world.click("share_in_channel", value)
    await world.answer(rid)
    assert world.openai.count() == before
    assert "cached result" in shown(world.slack.of("chat.postMessage")[0])


async def test_reprobe_bypasses_the_cache_and_replaces_the_answer(world: SlackWorld) -> None:
    """Re-probe asks the provider again (a plain repeat would not) and replaces the answer."""
    value = (await answer_buttons(world, "gpt-4o", user=ADMIN))["reprobe"]
    after_first = world.openai.count()
    _, rid = await world.command("gpt-4o", user=ADMIN)
    await world.answer(rid)
    assert world.openai.count() == after_first  # cached
    _, rid = await world.click("reprobe", value, user=ADMIN)
    (fresh,) = await world.answer(rid)
    assert world.openai.count() > after_first
    assert fresh.body["replace_original"] is True
    assert "live probe" in block_texts(fresh.body["blocks"])


async def test_reprobe_counts_against_a_users_limit(world: SlackWorld) -> None:
    """A non-admin's re-probes count toward the per-minute limit; the refusal goes below the answer."""
    value = (await answer_buttons(world, "gpt-4o"))["reprobe"]
    _, rid = await world.click("reprobe", value)
    (ok,) = await world.answer(rid)
    assert ok.body["replace_original"] is True
    _, rid = await world.click("reprobe", value)
    (refused,) = await world.answer(rid)
    assert refused.body["text"].startswith("⏱️ You've run 2 checks in the last minute")
    assert refused.body["replace_original"] is False


async def test_show_fix_code_sends_the_snippets(world: SlackWorld) -> None:
    """Show fix code on a typo answer adds the model-listing snippet in a code block."""
    value = (await answer_buttons(world, "gpt4o"))["show_fix_code"]
    _, rid = await world.click("show_fix_code", value)
    (code,) = await world.answer(rid)
    text = block_texts(code.body["blocks"])
    assert "```\nfrom openai import OpenAI" in text
    assert code.body["replace_original"] is False


async def test_a_forged_button_value_is_refused_politely(world: SlackWorld) -> None:
    """A value that is not one of ours gets 'expired', not an error or a probe."""
    for action in ("share_in_channel", "reprobe", "show_fix_code"):
        _, rid = await world.click(action, "{not json")
        (reply,) = await world.answer(rid)
        assert reply.body["text"] == "That button has expired."
    assert not world.openai.count()


async def test_a_failure_is_logged_and_told_without_a_traceback(world: SlackWorld) -> None:
    """A click the app cannot handle is logged and counted; the user gets one calm line, no traceback."""
    value = (await answer_buttons(world, "gpt-4o"))["share_in_channel"]
    rid, url = world.new_response_url()
    payload = json.loads(
        parse_qs(action_form("share_in_channel", value, response_url=url))["payload"][0]
    )
    del payload["channel"]  # Slack always sends it; without it the share cannot work
    with capture_logs() as logs:
        await world.post(urlencode({"payload": json.dumps(payload)}), FORM)
        (reply,) = await world.answer(rid)
    assert reply.body["text"].startswith("😵 Something went wrong on my side")
    assert (
        "Traceback" not in world.everything_posted() and "KeyError" not in world.everything_posted()
    )
    assert any(e["event"] == "answer_failed" and e["where"] == "button_share" for e in logs)
    errors = world.metrics.registry.get_sample_value(
        "model_access_errors_total", {"where": "button_share"}
    )
    assert errors == 1
