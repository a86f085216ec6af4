"""A fake Slack Web API on 127.0.0.1 that records what the app posts.

It speaks the Web API's wire format (form or JSON bodies, `{"ok": ...}` replies, 429 with
Retry-After) for the methods the bot uses, plus `response_url` endpoints under
/response/<id>. Tests point `AsyncWebClient(base_url=fake.api_url)` (or SLACK_API_URL)
at it and read back `fake.calls`. Failures can be injected per method: a number of
429s or 500s before the method succeeds again.

Socket Mode too: `apps.connections.open` (app-level `xapp-` token in the Authorization
header) answers a one-use `ws://` URL on the same server; the WebSocket says `hello`,
records every frame the app sends back (`socket_acks`), and `socket_send(envelope)` pushes
an envelope to the app. Shapes: the `hello` frame as Slack sends it (a slack-go debug log
of a real connection), envelopes and acks as in python-slack-sdk's
`tests/slack_sdk/socket_mode/mock_socket_mode_server.py` and `socket_mode/response.py`,
and the `apps.connections.open` reply from its reference page.

Like bolt-python's own mock Web API server, but aiohttp, port 0, and stateful enough for
threads, reactions and views.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import itertools
import json
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import WSCloseCode, WSMsgType, web

BOT_TOKEN = "xoxb-" + "-".join(["1111", "2222", "fakebottoken0000"])
BOT_USER_ID = "UBOT00001"
TEAM_ID = "T0FAKE001"
APP_ID = "A0FAKE0001"
SOCKET_PATH = "/socket-mode/link"


@dataclass
class Call:
    """One request the app made: the method (or response_url id) and its decoded body."""

    method: str
    body: dict[str, Any]
    token: str | None
    at: float = field(default_factory=time.monotonic)
    response: dict[str, Any] | None = None  # what the fake answered (e.g. a posted message's ts)


class FakeSlack:
    """The fake Web API. Use `async with FakeSlack() as slack:` or `start_in_thread()`."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.failures: dict[str, list[int]] = defaultdict(
            list
        )  # method -> statuses to return first
        self.not_in_channel: set[str] = (
            set()
        )  # channels where chat.postMessage fails not_in_channel
        self.revoked: set[str] = set()  # tokens (bot or app-level) answered with invalid_auth
        self.delays: dict[str, float] = {}  # method -> seconds before it answers (a slow Slack)
        # (channel, thread ts) -> messages that conversations.replies returns, parent first
        self.threads: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._ts = itertools.count(1)
        # Socket Mode: every frame the app sent (acks), connections made, tickets not yet used
        self.socket_acks: list[dict[str, Any]] = []
        self.socket_connections = 0
        self._sockets: list[web.WebSocketResponse] = []
        self._tickets: set[str] = set()
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.port = 0

    # -- lifecycle ----------------------------------------------------------------------------

    def _app(self) -> web.Application:
        app = web.Application(client_max_size=8 * 1024 * 1024)
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)  # conversations.replies and other reads
        app.router.add_post("/response/{rid}", self._response_url)
        app.router.add_get(SOCKET_PATH, self._socket_link)
        return app

    async def start(self) -> FakeSlack:
        """Bind to 127.0.0.1 on a free port."""
        self._runner = web.AppRunner(self._app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        """Close the server (and any Socket Mode connection still open)."""
        for ws in list(self._sockets):
            await ws.close(code=WSCloseCode.GOING_AWAY)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeSlack:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def start_in_thread(self) -> FakeSlack:
        """Run the server on its own event loop in a daemon thread (for sync code and subprocesses)."""
        ready = threading.Event()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            self._loop.run_until_complete(self.start())
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, daemon=True, name="fake-slack")
        self._thread.start()
        ready.wait(5)
        return self

    def stop_thread(self) -> None:
        """Stop a server started with start_in_thread."""
        if self._loop is not None:
            asyncio.run_coroutine_threadsafe(self.stop(), self._loop).result(5)
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(5)

    @property
    def api_url(self) -> str:
        """Base URL for AsyncWebClient / SLACK_API_URL (ends with /api/)."""
        return f"http://127.0.0.1:{self.port}/api/"

    def response_url(self, rid: str = "r1") -> str:
        """A response_url the fake records posts to."""
        return f"http://127.0.0.1:{self.port}/response/{rid}"

    # -- inspection ---------------------------------------------------------------------------

    def of(self, method: str) -> list[Call]:
        """Calls to one method (e.g. 'chat.postMessage', or 'response' for response_url posts)."""
        return [c for c in self.calls if c.method == method]

    def posted_texts(self) -> list[str]:
        """Every text and block payload the app sent anywhere, as JSON strings (for leak checks)."""
        return [json.dumps(c.body) for c in self.calls]

    async def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Wait until at least `count` calls to `method` arrived; return them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.of(method)
            if len(found) >= count:
                return found
            await asyncio.sleep(0.01)
        raise AssertionError(f"expected {count} {method} call(s), got {len(self.of(method))}")

    async def wait_for_socket(self, count: int = 1, timeout: float = 5.0) -> None:
        """Wait until the app has opened `count` Socket Mode connections (each one got `hello`)."""
        deadline = time.monotonic() + timeout
        while self.socket_connections < count:
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"expected {count} socket connection(s), got {self.socket_connections}"
                )
            await asyncio.sleep(0.01)

    async def wait_for_ack(self, envelope_id: str, timeout: float = 3.0) -> dict[str, Any]:
        """Wait until the app acknowledged this envelope over the socket; return the ack."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for ack in self.socket_acks:
                if ack.get("envelope_id") == envelope_id:
                    return ack
            await asyncio.sleep(0.01)
        raise AssertionError(f"no ack for envelope {envelope_id} within {timeout}s")

    async def socket_send(self, envelope: dict[str, Any]) -> None:
        """Push one envelope to the app over its newest socket, from any loop or thread.

        With `start_in_thread` the sockets belong to the fake's own loop, so the send hops
        there and this waits for it.
        """
        loop = self._loop
        if loop is not None and loop is not asyncio.get_running_loop():
            future = asyncio.run_coroutine_threadsafe(self._socket_send(envelope), loop)
            await asyncio.wrap_future(future)
        else:
            await self._socket_send(envelope)

    async def drop_sockets(self) -> None:
        """Close every Socket Mode connection from Slack's side (as a Slack restart does)."""
        loop = self._loop
        if loop is not None and loop is not asyncio.get_running_loop():
            await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(self._drop(), loop))
        else:
            await self._drop()

    async def _drop(self) -> None:
        for ws in list(self._sockets):
            await ws.close(code=WSCloseCode.GOING_AWAY)

    def fail_next(self, method: str, *statuses: int) -> None:
        """Make the next calls to `method` fail with these HTTP statuses (429 carries Retry-After: 1)."""
        self.failures[method].extend(statuses)

    # -- handlers -----------------------------------------------------------------------------

    @staticmethod
    async def _decode(request: web.Request) -> dict[str, Any]:
        raw = await request.read()
        if not raw:
            return dict(request.query)
        if request.content_type == "application/json":
            data = json.loads(raw)
            return data if isinstance(data, dict) else {"_": data}
        body: dict[str, Any] = dict(parse_qsl(raw.decode(), keep_blank_values=True))
        for key in ("blocks", "view", "attachments"):
            if isinstance(body.get(key), str):
                with contextlib.suppress(json.JSONDecodeError):
                    body[key] = json.loads(body[key])
        return body

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        body = await self._decode(request)
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") or body.get("token")
        call = Call(method, body, token)
        self.calls.append(call)
        if method in self.delays:
            await asyncio.sleep(self.delays[method])
        pending = self.failures.get(method)
        if pending:
            status = pending.pop(0)
            if status == 429:
                return web.json_response(
                    {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "1"}
                )
            return web.Response(status=status, text="upstream trouble")
        if method == "apps.connections.open":
            call.response = self._connections_open(auth)
        elif not token or not token.startswith("xox"):
            return web.json_response({"ok": False, "error": "not_authed"})
        elif token in self.revoked:
            call.response = {"ok": False, "error": "invalid_auth"}  # Slack's answer, HTTP 200
        else:
            call.response = self._reply(method, body)
        return web.json_response(call.response)

    def _connections_open(self, auth: str) -> dict[str, Any]:
        # Slack takes the app-level token only in the Authorization header.
        if not auth.startswith("Bearer "):
            return {"ok": False, "error": "not_authed"}
        if not auth.startswith("Bearer xapp-"):
            return {"ok": False, "error": "not_allowed_token_type"}
        if auth.removeprefix("Bearer ") in self.revoked:  # a revoked or deleted app token
            return {"ok": False, "error": "invalid_auth"}
        ticket = uuid.uuid4().hex
        self._tickets.add(ticket)
        url = f"ws://127.0.0.1:{self.port}{SOCKET_PATH}?ticket={ticket}&app_id={APP_ID}"
        return {"ok": True, "url": url}

    def _reply(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://fake.slack.com/",
                "team": "Fake",
                "user": "model-access",
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "bot_id": "BFAKE0001",
                "is_enterprise_install": False,
            }
        if method in ("chat.postMessage", "chat.update"):
            channel = str(body.get("channel", ""))
            if channel in self.not_in_channel:
                return {"ok": False, "error": "not_in_channel"}
            ts = body.get("ts") or f"{1700000000 + next(self._ts)}.000100"
            return {
                "ok": True,
                "channel": channel,
                "ts": ts,
                "message": {"text": body.get("text"), "ts": ts},
            }
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": f"{1700000000 + next(self._ts)}.000200"}
        if method in ("views.publish", "views.open", "views.update"):
            return {"ok": True, "view": {"id": "VFAKE0001", **(body.get("view") or {})}}
        if method == "conversations.replies":
            key = (str(body.get("channel", "")), str(body.get("ts", "")))
            return {"ok": True, "messages": self.threads.get(key, []), "has_more": False}
        if method == "conversations.info":
            return {"ok": True, "channel": {"id": body.get("channel"), "is_member": True}}
        return {"ok": True}

    async def _response_url(self, request: web.Request) -> web.Response:
        body = await self._decode(request)
        self.calls.append(Call("response", {**body, "_rid": request.match_info["rid"]}, None))
        return web.Response(text="ok")

    async def _socket_link(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        if ticket not in self._tickets:  # each URL from apps.connections.open works once
            return web.Response(status=401, text="invalid ticket")
        self._tickets.discard(ticket)
        ws = web.WebSocketResponse()  # answers the client's pings by itself
        await ws.prepare(request)
        self._sockets.append(ws)
        self.socket_connections += 1
        await ws.send_json(
            {
                "type": "hello",
                "num_connections": len(self._sockets),
                "debug_info": {
                    "host": "applink-fake",
                    "build_number": 1,
                    "approximate_connection_time": 18060,
                },
                "connection_info": {"app_id": APP_ID},
            }
        )
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    self.socket_acks.append(json.loads(msg.data))
        finally:
            self._sockets.remove(ws)
        return ws

    async def _socket_send(self, envelope: dict[str, Any]) -> None:
        if not self._sockets:
            raise AssertionError("the app has no Socket Mode connection open")
        await self._sockets[-1].send_json(envelope)


def sign(secret: str, body: str, timestamp: int | None = None) -> dict[str, str]:
    """Headers Slack would send with `body`: a v0 HMAC-SHA256 signature over 'v0:{ts}:{body}'."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": f"v0={digest}",
    }
