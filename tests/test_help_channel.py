"""Help channels: a pasted API error gets one reply in its thread, with a live check; chatter none.

Stories run against a fake Slack and a fake OpenAI on 127.0.0.1, with a real Redis shared
by every app instance. Events reach an instance as Slack sends them: signed HTTP POSTs
(the real v0 algorithm) to /slack/events of the Bolt aiohttp server, port 0. Bolt
acknowledges an event before its listener runs, so `settle()` waits for the listeners.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import structlog
import yaml
from aiohttp import web
from slack_sdk.web.async_client import AsyncWebClient

from bot.cache import Cache
from bot.engine import Engine
from handlers.app import build_app
from handlers.metrics import Metrics
from handlers.server import http_app
from tests.fakes.providers import HANG_S, Account
from tests.fakes.slack import BOT_TOKEN, BOT_USER_ID, Call
from tests.slack_helpers import (
    JSON,
    SIGNING_SECRET,
    SlackWorld,
    event_json,
    fake_openai_key,
    shown,
    signed_headers,
    slack_world,
    write_files,
)

HELP = "C0HELP0001"
OTHER = "C0RANDOM01"
HUMAN = "U0HUMAN001"


@dataclass
class Workspace:
    """One Slack workspace (fake Slack, fake OpenAI) and the app instances serving it."""

    world: SlackWorld
    urls: list[str]
    engines: list[Engine]
    _ts: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def slack(self) -> Any:
        """The fake Slack Web API every instance talks to."""
        return self.world.slack

    @property
    def openai(self) -> Any:
        """The fake OpenAI behind the prod and dev keys."""
        return self.world.openai

    @property
    def engine(self) -> Engine:
        """The first instance's engine."""
        return self.world.engine

    def new_ts(self) -> str:
        """A fresh message timestamp."""
        return f"{1_700_000_100 + next(self._ts)}.000100"

    def message(
        self,
        text: str,
        *,
        channel: str = HELP,
        thread_ts: str | None = None,
        user: str = HUMAN,
        **extra: Any,
    ) -> dict[str, Any]:
        """A `message` event as Slack sends it for a human's post."""
        event: dict[str, Any] = {
            "type": "message",
            "channel": channel,
            "user": user,
            "text": text,
            "ts": self.new_ts(),
            "channel_type": "channel",
            **extra,
        }
        if thread_ts is not None:
            event["thread_ts"] = thread_ts
        return event

    def mention(self, text: str, **kwargs: Any) -> dict[str, Any]:
        """An `app_mention` event: a message addressed to the bot."""
        event = self.message(f"<@{BOT_USER_ID}> {text}", **kwargs)
        event["type"] = "app_mention"
        event.pop("channel_type", None)
        return event

    async def deliver(
        self,
        event: dict[str, Any],
        *,
        event_id: str | None = None,
        retry: int = 0,
        instance: int = 0,
    ) -> int:
        """POST one signed delivery of the event to an app instance; the HTTP status it answered."""
        body = event_json(event, event_id)
        headers = signed_headers(body, JSON)
        if retry:
            headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
        async with self.world.session.post(self.urls[instance], data=body, headers=headers) as r:
            await r.read()
            return r.status

    async def say(self, event: dict[str, Any]) -> dict[str, Any]:
        """Deliver an event once and wait until the app has finished with it."""
        assert await self.deliver(event) == 200
        await self.settle()
        return event

    async def settle(self) -> None:
        """Wait until every instance's listeners are done."""
        await self.world.settle()

    def replies(self) -> list[Call]:
        """Every thread reply the app posted, as it reads now: with its last chat.update applied."""
        return [self.as_now(post) for post in self.slack.of("chat.postMessage")]

    def edits_of(self, post: Call) -> list[Call]:
        """The chat.update calls that edited one posted reply."""
        ts = (post.response or {}).get("ts")
        return [
            c
            for c in self.slack.of("chat.update")
            if c.body.get("ts") == ts and c.body.get("channel") == post.body.get("channel")
        ]

    def as_now(self, post: Call) -> Call:
        """A posted reply with the text and blocks of its last edit (the post's time and ts kept)."""
        edits = self.edits_of(post)
        if not edits:
            return post
        body = {
            **post.body,
            "text": edits[-1].body.get("text"),
            "blocks": edits[-1].body.get("blocks"),
        }
        return Call(post.method, body, post.token, post.at, post.response)

    def replies_to(self, event: dict[str, Any]) -> list[Call]:
        """The bot's posts in the thread of this message."""
        root = event.get("thread_ts") or event["ts"]
        return [
            c
            for c in self.replies()
            if c.body.get("channel") == event["channel"] and c.body.get("thread_ts") == root
        ]


@asynccontextmanager
async def workspace(
    tmp: Path,
    redis_url: str,
    cache_prefix: str,
    *,
    instances: int = 1,
    accounts: list[Account] | None = None,
) -> AsyncIterator[Workspace]:
    """The app serving #help, plus more instances on the same fakes and Redis namespace."""
    async with (
        slack_world(tmp, redis_url, cache_prefix, accounts=accounts, help_channels=[HELP]) as world,
        AsyncExitStack() as stack,
    ):
        urls, engines = [world.events_url], [world.engine]
        keys, cfg = write_files(tmp, world.openai.base_url, help_channels=[HELP])
        environ = {"PROD_KEY": fake_openai_key("prod"), "DEV_KEY": fake_openai_key("dev0")}
        for _ in range(instances - 1):
            cache = await Cache.connect(redis_url, prefix=cache_prefix)
            engine = await Engine.build(
                keys_file=keys, config_file=cfg, environ=environ, cache=cache
            )
            stack.push_async_callback(engine.close)
            metrics = Metrics()
            app = build_app(
                engine,
                client=AsyncWebClient(token=BOT_TOKEN, base_url=world.slack.api_url),
                signing_secret=SIGNING_SECRET,
                metrics=metrics,
            )
            runner = web.AppRunner(http_app(app, engine, metrics), access_log=None)
            await runner.setup()
            stack.push_async_callback(runner.cleanup)
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            urls.append(f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events")
            engines.append(engine)
        ws = Workspace(world, urls, engines)
        yield ws
        await ws.settle()


reply_text = shown


def key_table(call: Call) -> dict[str, str]:
    """The per-key table of a reply: the key cell -> 'yes' or 'no' (whatever emoji precedes it)."""
    for block in call.body.get("blocks") or []:
        if block.get("type") == "table":
            rows = [[cell.get("text", "") for cell in row] for row in block["rows"][1:]]
            return {row[0]: row[2].split()[-1] for row in rows}
    return {}


CORPUS = yaml.safe_load((Path(__file__).parent / "corpus" / "help_chatter.yaml").read_text())
GPT4_32K_PASTE = (
    "openai.NotFoundError: Error code: 404 - {'error': {'message': 'The model `gpt-4-32k` "
    "does not exist or you do not have access to it.', 'type': 'invalid_request_error', "
    "'param': None, 'code': 'model_not_found'}}"
)
GPT4O_PASTE = (
    "openai.NotFoundError: Error code: 404 - {'error': {'message': 'The model `gpt-4o` "
    "does not exist or you do not have access to it.', 'type': 'invalid_request_error', "
    "'param': None, 'code': 'model_not_found'}}"
)


@pytest.fixture
async def ws(
    tmp_path: Path, redis_url: str, cache_prefix: str, cache: Cache
) -> AsyncIterator[Workspace]:
    """One app instance serving #help, with prod and dev OpenAI keys."""
    async with workspace(tmp_path, redis_url, cache_prefix) as w:
        yield w


# -- detection ---------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CORPUS["errors"], ids=[e["name"] for e in CORPUS["errors"]])
async def test_each_paste_format_gets_one_reply_with_its_cause(
    ws: Workspace, case: dict[str, str]
) -> None:
    """Traceback, JSON body, Node error, curl output and a code fence each get one threaded reply naming the cause."""
    event = await ws.say(ws.message(case["text"]))
    replies = ws.replies()
    assert len(replies) == 1
    assert replies[0].body["thread_ts"] == event["ts"]
    assert f"`{case['cause']}`" in reply_text(replies[0])


async def test_ordinary_chatter_gets_no_reply(ws: Workspace) -> None:
    """Twenty-plus ordinary messages about models and errors get no reply; an error after them does."""
    assert len(CORPUS["chatter"]) >= 20
    for text in CORPUS["chatter"]:
        assert await ws.deliver(ws.message(text)) == 200
    error = await ws.say(ws.message(GPT4_32K_PASTE))
    assert [c.body["thread_ts"] for c in ws.replies()] == [error["ts"]]


async def test_the_bot_works_with_eyes_then_removes_them(ws: Workspace) -> None:
    """A 👀 reaction goes on the pasted message while the bot works and comes off afterwards."""
    event = await ws.say(ws.message(GPT4_32K_PASTE))
    added, removed = ws.slack.of("reactions.add"), ws.slack.of("reactions.remove")
    assert [(c.body["name"], c.body["timestamp"]) for c in added] == [("eyes", event["ts"])]
    assert [(c.body["name"], c.body["timestamp"]) for c in removed] == [("eyes", event["ts"])]
    assert added[0].at <= ws.replies()[0].at <= removed[0].at


async def test_a_reply_inside_a_thread_goes_to_that_thread(ws: Workspace) -> None:
    """An error pasted as a thread reply is answered in the same thread, not a new one."""
    parent = await ws.say(ws.message("the summariser broke again, details below"))
    await ws.say(ws.message(GPT4_32K_PASTE, thread_ts=parent["ts"]))
    assert [c.body["thread_ts"] for c in ws.replies()] == [parent["ts"]]


async def test_a_snippet_is_read_from_its_preview(ws: Workspace) -> None:
    """A file share whose snippet preview holds the error is answered without downloading the file."""
    event = ws.message(
        "logs attached",
        subtype="file_share",
        files=[{"id": "F0001", "mode": "snippet", "filetype": "text", "preview": GPT4_32K_PASTE}],
    )
    await ws.say(event)
    assert len(ws.replies_to(event)) == 1
    assert not ws.slack.of("files.info")


async def test_outside_help_channels_an_error_needs_a_mention(ws: Workspace) -> None:
    """An error in another channel is left alone, unless someone mentions the bot with it."""
    await ws.say(ws.message(GPT4_32K_PASTE, channel=OTHER))
    assert ws.replies() == []
    asked = await ws.say(ws.mention(GPT4_32K_PASTE, channel=OTHER))
    assert len(ws.replies_to(asked)) == 1


async def test_a_direct_message_is_an_ask(ws: Workspace) -> None:
    """An error sent to the bot in a DM is answered; a DM without one gets the how-to."""
    error = await ws.say(ws.message(GPT4_32K_PASTE, channel="D0DIRECT01", channel_type="im"))
    hello = await ws.say(ws.message("hi there", channel="D0DIRECT01", channel_type="im"))
    assert "`model_retired`" in reply_text(ws.replies_to(error)[0])
    assert "could not find an API error" in reply_text(ws.replies_to(hello)[0])


# -- the answer --------------------------------------------------------------------------------


async def test_gpt_4_32k_answer_names_retirement_replacement_and_live_check(
    ws: Workspace,
) -> None:
    """A pasted model_not_found for gpt-4-32k: retired, its replacement, and every key probed live."""
    await ws.say(ws.message(GPT4_32K_PASTE))
    text = reply_text(ws.replies()[0])
    assert "`model_retired`" in text and "retired" in text
    assert re.search(r"replacement is `gpt-4o[^`]*`", text)
    assert "Live check of `gpt-4-32k`" in text
    assert key_table(ws.replies()[0]) == {"prod (…prod)": "no", "dev (…dev0)": "no"}
    assert "None of our 2 keys can use `gpt-4-32k` right now either" in text
    assert ws.openai.count() > 0


async def test_answer_says_which_key_can_use_the_model_right_now(ws: Workspace) -> None:
    """When prod can use gpt-4o but the pasted error says not found, the reply says so."""
    await ws.say(ws.message(GPT4O_PASTE))
    text = reply_text(ws.replies()[0])
    assert "Key *prod* can use `gpt-4o` right now" in text
    assert "your error came from a key, organization or project without access" in text
    assert key_table(ws.replies()[0]) == {"prod (…prod)": "yes", "dev (…dev0)": "no"}


async def test_an_error_from_a_provider_we_hold_no_key_for_skips_the_probe(ws: Workspace) -> None:
    """An Anthropic error with only OpenAI keys configured: diagnosed, but no pointless probe."""
    paste = (
        "anthropic.NotFoundError: Error code: 404 - {'type': 'error', 'error': "
        "{'type': 'not_found_error', 'message': 'model: claude-3-opus-20240229'}}"
    )
    await ws.say(ws.message(paste))
    text = reply_text(ws.replies()[0])
    assert "Live check of `claude-3-opus-20240229` skipped" in text
    assert "we hold no anthropic key to probe with" in text
    assert ws.openai.count() == 0


async def test_the_ask_is_recorded(ws: Workspace) -> None:
    """Answering a pasted error counts an ask for the model it names."""
    await ws.say(ws.message(GPT4_32K_PASTE))
    assert (await ws.engine.ask_counts(["gpt-4-32k"]))["gpt-4-32k"] == 1


async def test_live_check_is_coalesced_with_the_cache(ws: Workspace) -> None:
    """Two people pasting the same error a moment apart cost one round of provider calls."""
    await ws.say(ws.message(GPT4O_PASTE))
    calls = ws.openai.count()
    await ws.say(ws.message(GPT4O_PASTE))
    assert len(ws.replies()) == 2
    assert ws.openai.count() == calls
    assert "cached result" in reply_text(ws.replies()[1])


async def test_events_are_acknowledged_before_a_slow_provider_answers(
    tmp_path: Path, redis_url: str, cache_prefix: str, cache: Cache
) -> None:
    """The HTTP 200 comes back at once even when the live probe takes seconds."""
    slow = [
        Account(fake_openai_key("prod"), models=["gpt-4o"], latency=1.0),
        Account(fake_openai_key("dev0"), models=[], latency=1.0),
    ]
    async with workspace(tmp_path, redis_url, cache_prefix, accounts=slow) as w:
        started = time.monotonic()
        assert await w.deliver(w.message(GPT4O_PASTE)) == 200
        assert time.monotonic() - started < 0.5
        await w.settle()
        assert len(w.replies()) == 1


async def test_user_text_cannot_ping_the_channel(ws: Workspace) -> None:
    """A paste whose model name is `<!channel>` or `<@U…>` is shown escaped, never as a ping."""
    for name in ("<!channel>", "<@U0VICTIM1>"):
        await ws.say(ws.message(GPT4O_PASTE.replace("gpt-4o", name)))
    texts = [reply_text(c) for c in ws.replies()]
    assert len(texts) == 2
    assert "`&lt;!channel&gt;`" in texts[0] and "`&lt;@U0VICTIM1&gt;`" in texts[1]
    for body in ws.slack.posted_texts():
        assert "<!channel>" not in body and "<@U0VICTIM1>" not in body


# -- exactly once ------------------------------------------------------------------------------


async def test_redeliveries_to_two_instances_yield_one_reply(
    tmp_path: Path, redis_url: str, cache_prefix: str, cache: Cache
) -> None:
    """One event delivered 3 times (retry 0..2) to each of two instances on one Redis: one reply."""
    async with workspace(tmp_path, redis_url, cache_prefix, instances=2) as w:
        event = w.message(GPT4_32K_PASTE)
        with structlog.testing.capture_logs() as logs:
            statuses = await asyncio.gather(
                *(
                    w.deliver(event, event_id="Ev0SAME001", retry=retry, instance=instance)
                    for retry in range(3)
                    for instance in range(2)
                )
            )
            await w.settle()
        assert statuses == [200] * 6
        dropped = [e for e in logs if e["event"] == "event_duplicate_dropped"]
        assert len(dropped) == 5
        assert len(w.replies()) == 1
        assert len(w.slack.of("reactions.add")) == 1


async def test_message_and_mention_events_of_one_message_yield_one_reply(
    tmp_path: Path, redis_url: str, cache_prefix: str, cache: Cache
) -> None:
    """Slack sends `message` and `app_mention` for one post (different event ids): one reply."""
    async with workspace(tmp_path, redis_url, cache_prefix, instances=2) as w:
        mention = w.mention(GPT4_32K_PASTE)
        message = {**mention, "type": "message", "channel_type": "channel"}
        await asyncio.gather(w.deliver(message, instance=0), w.deliver(mention, instance=1))
        await w.settle()
        assert len(w.replies()) == 1


async def test_the_bot_ignores_itself_other_bots_edits_and_deletions(ws: Workspace) -> None:
    """Its own posts, other bots, edits, deletions and topic changes never get a reply, error or not."""
    await ws.say(ws.message(GPT4_32K_PASTE, user=BOT_USER_ID))
    await ws.say(ws.message(GPT4_32K_PASTE, bot_id="B0OTHER01", subtype="bot_message"))
    await ws.say(ws.message(GPT4_32K_PASTE, bot_id="B0OTHER01"))
    edited = ws.message("", subtype="message_changed")
    edited["message"] = {"type": "message", "user": HUMAN, "text": GPT4_32K_PASTE, "ts": "1.1"}
    await ws.say(edited)
    await ws.say(
        ws.message("", subtype="message_deleted", previous_message={"text": GPT4_32K_PASTE})
    )
    await ws.say(ws.message(f"set the channel topic: {GPT4_32K_PASTE}", subtype="channel_topic"))
    assert ws.replies() == []


# -- noise control -----------------------------------------------------------------------------


async def test_one_unprompted_reply_per_thread_unless_mentioned(ws: Workspace) -> None:
    """A second error in an answered thread gets nothing; asking the bot by mention gets an answer."""
    parent = await ws.say(ws.message(GPT4_32K_PASTE))
    await ws.say(ws.message(GPT4O_PASTE, thread_ts=parent["ts"]))
    assert len(ws.replies_to(parent)) == 1
    await ws.say(ws.mention(GPT4O_PASTE, thread_ts=parent["ts"]))
    replies = ws.replies_to(parent)
    assert len(replies) == 2
    assert "`gpt-4o`" in reply_text(replies[1])


async def test_a_mention_in_a_thread_reads_the_error_above(ws: Workspace) -> None:
    """`@model-access what's this?` under a pasted error answers about the parent's error."""
    parent = ws.message(GPT4_32K_PASTE, channel=OTHER)
    await ws.say(parent)
    ws.slack.threads[(OTHER, parent["ts"])] = [
        {"type": "message", "user": HUMAN, "text": GPT4_32K_PASTE, "ts": parent["ts"]}
    ]
    await ws.say(ws.mention("what does this mean?", channel=OTHER, thread_ts=parent["ts"]))
    replies = ws.replies_to(parent)
    assert len(replies) == 1
    assert "Live check of `gpt-4-32k`" in reply_text(replies[0])


async def test_a_mention_without_an_error_gets_a_hint(ws: Workspace) -> None:
    """Mentioning the bot with no error anywhere gets a short how-to instead of silence."""
    asked = await ws.say(ws.mention("can you help?", channel=OTHER))
    replies = ws.replies_to(asked)
    assert len(replies) == 1
    assert "could not find an API error" in reply_text(replies[0])


async def test_channel_budget_caps_replies_per_minute(ws: Workspace) -> None:
    """Eight errors in a minute in one channel get six replies; another channel is unaffected."""
    for _ in range(8):
        await ws.deliver(ws.message(GPT4_32K_PASTE))
    await ws.settle()
    assert len(ws.replies()) == 6
    await ws.say(ws.mention(GPT4_32K_PASTE, channel=OTHER))
    assert len(ws.replies()) == 7


async def test_mute_reaction_on_the_reply_silences_the_thread(ws: Workspace) -> None:
    """:mute: on the bot's reply: even a mention in that thread gets no further reply."""
    parent = await ws.say(ws.message(GPT4_32K_PASTE))
    reply = ws.replies()[0].response
    assert reply is not None
    reaction = {
        "type": "reaction_added",
        "user": HUMAN,
        "reaction": "mute",
        "item_user": BOT_USER_ID,
        "item": {"type": "message", "channel": HELP, "ts": reply["ts"]},
        "event_ts": ws.new_ts(),
    }
    await ws.say(reaction)
    await ws.say(ws.mention(GPT4O_PASTE, thread_ts=parent["ts"]))
    assert len(ws.replies()) == 1


async def test_mute_reaction_on_the_parent_silences_the_thread(ws: Workspace) -> None:
    """:mute: on a thread's parent before the bot spoke: errors in it get no reply at all."""
    parent = await ws.say(ws.message("we keep getting errors, pasting below"))
    await ws.say(
        {
            "type": "reaction_added",
            "user": HUMAN,
            "reaction": "mute",
            "item": {"type": "message", "channel": HELP, "ts": parent["ts"]},
            "event_ts": ws.new_ts(),
        }
    )
    await ws.say(ws.message(GPT4_32K_PASTE, thread_ts=parent["ts"]))
    assert ws.replies() == []


async def test_stop_silences_the_thread_and_start_undoes_it(ws: Workspace) -> None:
    """`@model-access stop` in a thread mutes it (acknowledged with ✅); `start` lets the bot speak again."""
    parent = await ws.say(ws.message("errors below", channel=OTHER))
    stop = await ws.say(ws.mention("stop", channel=OTHER, thread_ts=parent["ts"]))
    assert ("white_check_mark", stop["ts"]) in [
        (c.body["name"], c.body["timestamp"]) for c in ws.slack.of("reactions.add")
    ]
    await ws.say(ws.mention(GPT4_32K_PASTE, channel=OTHER, thread_ts=parent["ts"]))
    assert ws.replies() == []
    await ws.say(ws.mention("start", channel=OTHER, thread_ts=parent["ts"]))
    await ws.say(ws.mention(GPT4_32K_PASTE, channel=OTHER, thread_ts=parent["ts"]))
    assert len(ws.replies_to(parent)) == 1


# -- the answer first, the live check after ------------------------------------------------------


def hanging_accounts() -> list[Account]:
    """prod can use gpt-4o at once; dev's provider never answers."""
    return [
        Account(fake_openai_key("prod"), models=["gpt-4o"]),
        Account(fake_openai_key("dev0"), models=["gpt-4o"], latency=HANG_S),
    ]


async def test_with_a_hanging_key_the_reply_comes_at_once_then_gains_the_live_check(
    tmp_path: Path, redis_url: str, cache_prefix: str, cache: Cache
) -> None:
    """dev hangs: the diagnosis is posted within 2 s, once, and that reply is edited with the live check."""
    async with workspace(tmp_path, redis_url, cache_prefix, accounts=hanging_accounts()) as w:
        started = time.monotonic()
        event = w.message(GPT4O_PASTE)
        assert await w.deliver(event) == 200
        (post,) = await w.slack.wait_for("chat.postMessage", 1, timeout=2.0)
        assert post.at - started < 2.0
        first = reply_text(post)
        assert "`model_not_found`" in first and "Checking `gpt-4o` with our keys" in first
        assert key_table(post) == {}
        await w.settle()
        assert len(w.slack.of("chat.postMessage")) == 1
        (edit,) = w.edits_of(post)
        assert edit.body["channel"] == HELP and edit.at > post.at
        assert key_table(edit) == {"prod (…prod)": "yes", "dev (…dev0)": "no"}
        assert "Live check of `gpt-4o`" in reply_text(edit)
        assert "Checking `gpt-4o`" not in reply_text(edit)


async def test_redeliveries_to_two_instances_with_a_hanging_key_yield_one_reply_and_one_edit(
    tmp_path: Path, redis_url: str, cache_prefix: str, cache: Cache
) -> None:
    """One event, 3 deliveries to each of two instances, while a key hangs: one post, one edit of it."""
    async with workspace(
        tmp_path, redis_url, cache_prefix, instances=2, accounts=hanging_accounts()
    ) as w:
        event = w.message(GPT4O_PASTE)
        await asyncio.gather(
            *(
                w.deliver(event, event_id="Ev0HANG0001", retry=retry, instance=instance)
                for retry in range(3)
                for instance in range(2)
            )
        )
        await w.settle()
        (post,) = w.slack.of("chat.postMessage")
        assert len(w.edits_of(post)) == 1
        assert len(w.slack.of("chat.update")) == 1


async def test_an_attempt_that_finds_its_reply_posted_edits_it(ws: Workspace, cache: Cache) -> None:
    """Given a reply posted and the message's claim released (a retry after a failure), a redelivery edits that reply."""
    event = await ws.say(ws.message(GPT4O_PASTE))
    (post,) = ws.slack.of("chat.postMessage")
    edits = len(ws.edits_of(post))  # 1 when the live check took longer than QUICK_LIVE_S
    await cache.delete(cache.key("help", "msg", HELP, event["ts"]))
    await ws.say(event)  # a new delivery (new event id) of the same message
    assert len(ws.slack.of("chat.postMessage")) == 1
    assert len(ws.edits_of(post)) == edits + 1
    assert key_table(ws.edits_of(post)[-1]) == {"prod (…prod)": "yes", "dev (…dev0)": "no"}
