"""Shared helpers for Slack app tests: payload builders, signed requests, and a wired-up world.

`slack_world(...)` starts a fake Slack Web API, a fake OpenAI with two keys (prod, dev),
an Engine on the real test Redis, and the app's own aiohttp server (`handlers.app.http_app`)
on 127.0.0.1 port 0. Requests reach it as Slack sends them: POSTs to /slack/events
signed with the real v0 algorithm. Bolt answers when `ack` is called and keeps running
the listener; `world.settle()` waits for those listener tasks to finish.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.models.blocks import Block

from bot.cache import Cache
from bot.clock import Clock, utc_now
from bot.config import Env
from bot.engine import Engine
from handlers.app import build_app, warm_up
from handlers.client import build_client
from handlers.metrics import Metrics
from handlers.server import http_app
from tests.fakes.providers import Account, FakeOpenAI
from tests.fakes.slack import BOT_TOKEN, TEAM_ID, Call, FakeSlack, sign

SIGNING_SECRET = "slack-app-test-signing-secret"
USER = "U0HUMAN001"
ADMIN = "U0ADMIN001"
CHANNEL = "C0GENERAL1"
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
BOLT_LISTENER_TASK = "run_ack_function_asynchronously"
_ids = itertools.count(1)


def fake_openai_key(tag: str) -> str:
    """An obviously fake project key, long enough for the redaction patterns, built at run time."""
    return "sk-proj-" + "FAKE0" * 4 + tag


def default_accounts() -> list[Account]:
    """prod can use gpt-4o and gpt-4o-mini; dev only gpt-4o-mini."""
    return [
        Account(fake_openai_key("prod"), models=["gpt-4o", "gpt-4o-mini"]),
        Account(fake_openai_key("dev0"), models=["gpt-4o-mini"]),
    ]


# -- payloads ---------------------------------------------------------------------------------


def slash_form(text: str, *, response_url: str, user: str = USER, channel: str = CHANNEL) -> str:
    """The form body Slack POSTs for `/model-access <text>`."""
    n = next(_ids)
    return urlencode(
        {
            "token": "unused-verification-token",
            "team_id": TEAM_ID,
            "team_domain": "fake",
            "channel_id": channel,
            "channel_name": "general",
            "user_id": user,
            "user_name": "someone",
            "command": "/model-access",
            "text": text,
            "api_app_id": "A0FAKE0001",
            "response_url": response_url,
            "trigger_id": f"1000{n}.2000.abcdef",
        }
    )


def action_form(
    action_id: str,
    value: str | None,
    *,
    response_url: str,
    user: str = USER,
    channel: str = CHANNEL,
) -> str:
    """The form body of a button click on an ephemeral answer."""
    n = next(_ids)
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": "someone", "team_id": TEAM_ID},
        "api_app_id": "A0FAKE0001",
        "token": "unused-verification-token",
        "container": {"type": "message", "channel_id": channel, "is_ephemeral": True},
        "trigger_id": f"2000{n}.3000.abcdef",
        "team": {"id": TEAM_ID, "domain": "fake"},
        "channel": {"id": channel, "name": "general"},
        "response_url": response_url,
        "actions": [
            {
                "action_id": action_id,
                "block_id": "actions",
                "type": "button",
                "value": value,
                "text": {"type": "plain_text", "text": "button"},
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)})


def shortcut_form(
    message: dict[str, Any],
    *,
    response_url: str,
    user: str = USER,
    channel: str = CHANNEL,
) -> str:
    """The form body of the *Diagnose this error* message shortcut."""
    n = next(_ids)
    payload = {
        "type": "message_action",
        "callback_id": "diagnose_message",
        "trigger_id": f"3000{n}.4000.abcdef",
        "response_url": response_url,
        "team": {"id": TEAM_ID, "domain": "fake"},
        "channel": {"id": channel, "name": "general"},
        "user": {"id": user, "name": "someone"},
        "message": message,
        "token": "unused-verification-token",
        "action_ts": f"{time.time():.6f}",
    }
    return urlencode({"payload": json.dumps(payload)})


def event_json(event: dict[str, Any], event_id: str | None = None) -> str:
    """The Events API envelope around an event."""
    return json.dumps(
        {
            "token": "unused-verification-token",
            "team_id": TEAM_ID,
            "api_app_id": "A0FAKE0001",
            "type": "event_callback",
            "event_id": event_id or f"Ev{next(_ids):08d}",
            "event_time": int(time.time()),
            "event": event,
        }
    )


def signed_headers(
    body: str, content_type: str, *, secret: str = SIGNING_SECRET, timestamp: int | None = None
) -> dict[str, str]:
    """Content type plus Slack's v0 signature headers for this body."""
    return {"Content-Type": content_type, **sign(secret, body, timestamp)}


def bolt_request(
    body: str, content_type: str, *, secret: str = SIGNING_SECRET, timestamp: int | None = None
) -> AsyncBoltRequest:
    """A signed AsyncBoltRequest for `app.async_dispatch` (unit-level, no HTTP)."""
    headers = signed_headers(body, content_type, secret=secret, timestamp=timestamp)
    return AsyncBoltRequest(body=body, headers={k.lower(): [v] for k, v in headers.items()})


def block_texts(blocks: Sequence[dict[str, Any]]) -> str:
    """Every string under a `text` key in the blocks, joined (what a reader sees)."""
    out: list[str] = []
    stack: list[Any] = list(blocks)
    while stack:
        item = stack.pop(0)
        if isinstance(item, dict):
            for key, value in item.items():
                if key == "text" and isinstance(value, str):
                    out.append(value)
                else:
                    stack.append(value)
        elif isinstance(item, list):
            stack.extend(item)
    return "\n".join(out)


def shown(call: Call) -> str:
    """Fallback text and block text of one recorded post."""
    return str(call.body.get("text", "")) + "\n" + block_texts(call.body.get("blocks") or [])


# -- the world --------------------------------------------------------------------------------


@dataclass
class Acked:
    """Slack's view of one request: HTTP status, the ack body, and how long the ack took."""

    status: int
    body: Any
    seconds: float


@dataclass
class SlackWorld:
    """A fake Slack and OpenAI, the engine, and the app served over HTTP."""

    slack: FakeSlack
    openai: FakeOpenAI
    engine: Engine
    app: AsyncApp
    metrics: Metrics
    base: str
    session: aiohttp.ClientSession
    _rids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def events_url(self) -> str:
        """POST /slack/events."""
        return self.base + "/slack/events"

    def new_response_url(self) -> tuple[str, str]:
        """A fresh response_url id and URL on the fake Slack."""
        rid = f"r{next(self._rids)}"
        return rid, self.slack.response_url(rid)

    async def post(
        self, body: str, content_type: str, headers: dict[str, str] | None = None
    ) -> Acked:
        """POST a body to /slack/events (signed unless headers are given); time the answer."""
        headers = headers if headers is not None else signed_headers(body, content_type)
        started = time.perf_counter()
        async with self.session.post(self.events_url, data=body, headers=headers) as resp:
            raw = await resp.read()
            seconds = time.perf_counter() - started
            try:
                parsed: Any = json.loads(raw) if raw else None
            except ValueError:
                parsed = raw.decode(errors="replace")
            return Acked(resp.status, parsed, seconds)

    async def command(self, text: str, *, user: str = USER) -> tuple[Acked, str]:
        """`/model-access <text>` as a user; the ack and the response_url id."""
        rid, url = self.new_response_url()
        return await self.post(slash_form(text, response_url=url, user=user), FORM), rid

    async def click(
        self, action_id: str, value: str | None, *, user: str = USER
    ) -> tuple[Acked, str]:
        """Click a button on an ephemeral answer; the ack and the response_url id."""
        rid, url = self.new_response_url()
        return await self.post(
            action_form(action_id, value, response_url=url, user=user), FORM
        ), rid

    async def shortcut(
        self, message: dict[str, Any], *, channel: str = CHANNEL, user: str = USER
    ) -> tuple[Acked, str]:
        """Run *Diagnose this error* on a message; the ack and the response_url id."""
        rid, url = self.new_response_url()
        body = shortcut_form(message, response_url=url, user=user, channel=channel)
        return await self.post(body, FORM), rid

    async def event(self, event: dict[str, Any]) -> Acked:
        """Deliver one event."""
        return await self.post(event_json(event), JSON)

    def responses(self, rid: str) -> list[Call]:
        """What the app posted to one response_url."""
        return [c for c in self.slack.of("response") if c.body.get("_rid") == rid]

    async def answer(self, rid: str, count: int = 1, timeout: float = 10.0) -> list[Call]:
        """Wait until `count` posts reached the response_url; return them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.responses(rid)
            if len(found) >= count:
                return found
            await asyncio.sleep(0.01)
        raise AssertionError(
            f"expected {count} response(s) on {rid}, got {len(self.responses(rid))}"
        )

    async def settle(self, timeout: float = 20.0) -> None:
        """Wait until no Bolt listener task is running (they carry on after the ack)."""
        me = asyncio.current_task()
        deadline = time.monotonic() + timeout
        while True:
            busy = [
                t
                for t in asyncio.all_tasks()
                if t is not me
                and not t.done()
                and BOLT_LISTENER_TASK in getattr(t.get_coro(), "__qualname__", "")
            ]
            if not busy:
                return
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"{len(busy)} listener(s) still running after {timeout}s"
            await asyncio.wait(busy, timeout=remaining)

    def assert_posts_valid(self) -> None:
        """Every message and view the app posted fits Slack's limits and parses block by block."""
        for call in self.slack.calls:
            view = call.body.get("view")
            blocks, limit = (view.get("blocks"), 100) if isinstance(view, dict) else (None, 50)
            blocks = blocks if blocks is not None else call.body.get("blocks")
            if not blocks:
                continue
            assert len(blocks) <= limit, f"{call.method}: {len(blocks)} blocks"
            for block in blocks:
                parsed = Block.parse(block)
                assert parsed is not None, f"{call.method}: unknown block {block}"
                parsed.to_dict()

    def everything_posted(self) -> str:
        """Every body the app sent to Slack (Web API and response_urls), as one string."""
        return "\n".join(self.slack.posted_texts())


def write_files(
    tmp: Path, base_url: str, *, admins: Sequence[str] = (ADMIN,), **config: Any
) -> tuple[Path, Path]:
    """A keys file (prod, dev at the fake OpenAI) and a config naming the admins."""
    keys = tmp / "keys.yaml"
    keys.write_text(
        "keys:\n"
        f"  - {{alias: prod, provider: openai, api_key_env: PROD_KEY, base_url: '{base_url}'}}\n"
        f"  - {{alias: dev, provider: openai, api_key_env: DEV_KEY, base_url: '{base_url}'}}\n"
    )
    cfg = tmp / "config.yaml"
    cfg.write_text(json.dumps({"admins": list(admins), "probe_timeout_s": 5, **config}))
    return keys, cfg


@asynccontextmanager
async def slack_world(
    tmp: Path,
    redis_url: str,
    cache_prefix: str,
    *,
    accounts: list[Account] | None = None,
    clock: Clock = utc_now,
    **config: Any,
) -> AsyncIterator[SlackWorld]:
    """Start the fakes, the engine and the app's HTTP server; stop them all afterwards."""
    async with AsyncExitStack() as stack:
        slack = await stack.enter_async_context(FakeSlack())
        openai = await stack.enter_async_context(
            FakeOpenAI(accounts if accounts is not None else default_accounts())
        )
        keys, cfg = write_files(tmp, openai.base_url, **config)
        environ = {"PROD_KEY": fake_openai_key("prod"), "DEV_KEY": fake_openai_key("dev0")}
        cache = await Cache.connect(redis_url, prefix=cache_prefix)
        engine = await Engine.build(
            keys_file=keys, config_file=cfg, environ=environ, cache=cache, clock=clock
        )
        stack.push_async_callback(engine.close)
        warm_up(engine)  # as `serve` does before it listens
        metrics = Metrics()
        app = build_app(
            engine,
            client=build_client(Env(SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_API_URL=slack.api_url)),
            signing_secret=SIGNING_SECRET,
            metrics=metrics,
        )
        runner = web.AppRunner(http_app(app, engine, metrics), access_log=None)
        await runner.setup()
        stack.push_async_callback(runner.cleanup)
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        session = await stack.enter_async_context(aiohttp.ClientSession())
        world = SlackWorld(slack, openai, engine, app, metrics, f"http://127.0.0.1:{port}", session)
        try:
            yield world
        finally:
            await world.settle()
        world.assert_posts_valid()
