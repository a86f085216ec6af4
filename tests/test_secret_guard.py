"""The secret guard: a pasted key or token gets one warning to rotate it, and is never repeated."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import structlog

from bot.cache import Cache
from bot.redact import ROTATION_PAGES
from handlers import secret_guard
from tests.test_help_channel import (
    GPT4_32K_PASTE,
    HELP,
    OTHER,
    Workspace,
    reply_text,
    workspace,
)


def openai_key() -> str:
    """A fake OpenAI project key, built at run time."""
    return "sk-proj-" + "FAKE0" * 4 + "wxyz"


def anthropic_key() -> str:
    """A fake Anthropic key, built at run time."""
    return "sk-ant-api03-" + "FAKE0" * 4 + "ab12"


def slack_user_token() -> str:
    """A fake Slack user token, built at run time."""
    return "xoxp-" + "-".join(["1234", "5678", "FAKE0" * 3])


def azure_key() -> str:
    """A fake Azure OpenAI key: 32 hex characters, built at run time."""
    return "0123456789abcdef" + "fedcba9876543210"


@pytest.fixture
async def ws(
    tmp_path: Path, redis_url: str, cache_prefix: str, cache: Cache
) -> AsyncIterator[Workspace]:
    """One app instance serving #help (the guard itself watches every channel)."""
    async with workspace(tmp_path, redis_url, cache_prefix) as w:
        yield w


def assert_never_posted(ws: Workspace, *secrets: str) -> None:
    """No request the app made to Slack carries any of the secrets."""
    for body in ws.slack.posted_texts():
        for secret in secrets:
            assert secret not in body


# -- what counts as a secret -------------------------------------------------------------------


def test_scan_names_kind_and_last_four_only() -> None:
    """Keys of each provider and Slack tokens are found, in order, by kind and last four."""
    text = f"prod {openai_key()} and {anthropic_key()} plus {slack_user_token()}"
    found = secret_guard.scan(text)
    assert [(s.provider, s.fingerprint) for s in found] == [
        ("openai", "wxyz"),
        ("anthropic", "ab12"),
        ("slack", "AKE0"),
    ]


def test_trace_ids_are_not_azure_keys_without_context() -> None:
    """A 32-hex trace id alone is not a key; the same string next to AZURE_OPENAI_API_KEY is."""
    assert secret_guard.scan(f"trace id {azure_key()} in the logs") == []
    found = secret_guard.scan(f"AZURE_OPENAI_API_KEY={azure_key()}")
    assert [(s.provider, s.fingerprint) for s in found] == [("azure", "3210")]


def test_warning_says_rotate_where_and_never_the_key() -> None:
    """The warning names the kind, last four and rotation page, and not one more character."""
    key = openai_key()
    text = secret_guard.warning_text(secret_guard.scan(f"my key is {key}"))
    assert "Rotate it now" in text
    assert "OpenAI project key ending in `wxyz`" in text
    assert ROTATION_PAGES["openai"] in text
    assert key not in text and key[:-4] not in text


# -- in Slack ----------------------------------------------------------------------------------


async def test_a_key_in_any_channel_gets_one_warning(ws: Workspace) -> None:
    """A key pasted in an ordinary channel gets one thread warning, even delivered twice."""
    key = openai_key()
    event = ws.message(f"why does this not work? OPENAI_API_KEY={key}", channel=OTHER)
    await asyncio.gather(
        ws.deliver(event, event_id="Ev0KEY0001"), ws.deliver(event, event_id="Ev0KEY0001", retry=1)
    )
    await ws.settle()
    await ws.deliver(event, event_id="Ev0REPLAY1")  # a replay under a new event id
    await ws.settle()
    replies = ws.replies_to(event)
    assert len(replies) == 1
    text = reply_text(replies[0])
    assert "ending in `wxyz`" in text
    assert ROTATION_PAGES["openai"] in text
    assert_never_posted(ws, key)


async def test_a_slack_token_points_at_the_slack_rotation_page(ws: Workspace) -> None:
    """A pasted Slack token is called a Slack token, with where to rotate it."""
    token = slack_user_token()
    await ws.say(ws.message(f"is this token still valid {token}", channel=OTHER))
    text = reply_text(ws.replies()[0])
    assert "Slack user token" in text
    assert "https://api.slack.com/apps" in text
    assert_never_posted(ws, token)


async def test_an_error_with_a_key_gets_one_reply_with_both(ws: Workspace) -> None:
    """An error pasted with the key in it: one reply that warns, diagnoses, and masks the key."""
    key = openai_key()
    paste = f"client = OpenAI(api_key='{key}')\n{GPT4_32K_PASTE}"
    event = await ws.say(ws.message(paste, channel=HELP))
    replies = ws.replies_to(event)
    assert len(replies) == 1
    text = reply_text(replies[0])
    assert "Rotate it now" in text
    assert "Live check of `gpt-4-32k`" in text
    assert_never_posted(ws, key)


async def test_a_muted_thread_still_hears_about_a_leaked_key(ws: Workspace) -> None:
    """Muting silences answers, not security warnings: a key pasted in a muted thread is flagged."""
    parent = await ws.say(ws.message("thread for my errors", channel=HELP))
    await ws.say(ws.mention("stop", channel=HELP, thread_ts=parent["ts"]))
    key = anthropic_key()
    await ws.say(ws.message(f"{GPT4_32K_PASTE} key={key}", thread_ts=parent["ts"]))
    replies = ws.replies_to(parent)
    assert len(replies) == 1
    text = reply_text(replies[0])
    assert "Anthropic API key ending in `ab12`" in text
    assert "Live check" not in text
    assert_never_posted(ws, key)


async def test_no_log_event_carries_the_key(ws: Workspace) -> None:
    """The guard logs what it saw (kind, last four) without handing the key to the logger."""
    key = openai_key()
    with structlog.testing.capture_logs() as logs:
        await ws.say(ws.message(f"{GPT4_32K_PASTE}\nkey: {key}"))
    assert any(e["event"] == "secret_pasted" and e["fingerprints"] == ["wxyz"] for e in logs)
    assert all(key not in repr(e) for e in logs)


def groq_key() -> str:
    """A fake Groq key (gsk_ and 52 letters and digits), built at run time."""
    return "gsk_" + "FAKE0groq1" * 5 + "zz"


async def test_a_key_of_another_provider_quoted_as_the_model_goes_nowhere(ws: Workspace) -> None:
    """A Groq key pasted as the "model" of an error: warned about, never echoed, sent, counted or stored."""
    key = groq_key()
    paste = (
        "Error code: 404 - {'error': {'message': 'The model `"
        + key
        + "` does not exist or you do not have access to it.', 'type': 'invalid_request_error', "
        "'param': None, 'code': 'model_not_found'}}"
    )
    with structlog.testing.capture_logs() as logs:
        event = await ws.say(ws.message(paste, channel=HELP))
    replies = ws.replies_to(event)
    assert len(replies) == 1
    text = reply_text(replies[0])
    assert "Groq API key ending in `" + key[-4:] + "`" in text and "Rotate it now" in text
    assert_never_posted(ws, key)
    assert ws.openai.count() == 0  # not sent to a provider as a model name
    assert all(key not in repr(e) for e in logs)
    client = ws.engine.cache.client
    assert client is not None
    for name in await client.keys(ws.engine.cache.prefix + "*"):
        kind = await client.type(name)
        value = (
            await client.hgetall(name)
            if kind == "hash"
            else await client.get(name)
            if kind == "string"
            else ""
        )
        assert key not in f"{name} {value}"
    health = await ws.engine.health()
    assert all(key not in failure for h in health for failure in h.recent_failures)
