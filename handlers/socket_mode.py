"""Socket Mode with a connection we supervise: checked at start, reconnected with capped backoff.

The SDK's client, left to itself, retries a refused app token every 10 s for ever, with a
traceback each time, inside `connect()` — where nothing else (SIGTERM included) gets a
turn. Here the app token is checked with one `apps.connections.open` before anything
else (refused: one line, exit 2), the SDK's own reconnecting is switched off, and `run`
watches the connection: when it drops, each new attempt asks Slack for a fresh URL, and
a failure is one log line with the reason and the wait before the next try (1, 2, 4 …
30 s). Slack's own `disconnect` refresh still goes through the SDK.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import aiohttp
import structlog
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.web.async_client import AsyncWebClient

from handlers.lifecycle import Backoff, InFlight, Phase, sleep_or_stop

log = structlog.get_logger(__name__)

OPEN_TIMEOUT_S = 10.0
CONNECT_TIMEOUT_S = 8.0  # under the SDK's 10 s retry sleep: one attempt of its own at most
CLOSE_TIMEOUT_S = 2.0
WATCH_S = 1.0  # how often the connection is looked at


class SocketProblem(Exception):
    """Why Socket Mode cannot connect now; `refused` when Slack said no to the token."""

    def __init__(self, reason: str, *, refused: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.refused = refused


async def open_url(web: AsyncWebClient, app_token: str) -> str:
    """One `apps.connections.open`: a fresh WebSocket URL, or SocketProblem saying why not."""
    try:
        reply = await asyncio.wait_for(
            web.apps_connections_open(app_token=app_token), OPEN_TIMEOUT_S
        )
    except SlackApiError as exc:
        error = str(exc.response.get("error") or f"HTTP {exc.response.status_code}")
        # ratelimited is Slack saying "later", not "no"; anything else is about the token.
        raise SocketProblem(error, refused=error != "ratelimited") from None
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        raise SocketProblem(f"cannot reach Slack ({type(exc).__name__})") from None
    url = reply.get("url")
    if not isinstance(url, str) or not url.startswith(("wss://", "ws://")):
        raise SocketProblem("apps.connections.open answered without a WebSocket URL")
    return url


def refused_line(problem: SocketProblem) -> str:
    """The one line `serve` prints when Slack refuses the app token at start-up."""
    if not problem.refused:
        return f"Socket Mode cannot start: {problem.reason}"
    return (
        f"Slack refused SLACK_APP_TOKEN ({problem.reason}); create an app-level token "
        "(xapp-...) with the connections:write scope under the app's Basic Information "
        "→ App-Level Tokens"
    )


class _OneLine(logging.Filter):
    """The SDK logs some failures with a traceback; ours are one line, the reason included."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.exc_info = None
        record.exc_text = None
        record.stack_info = None
        return True


def _sdk_logger() -> logging.Logger:
    logger = logging.getLogger("model_access.socket_mode_sdk")
    if not any(isinstance(f, _OneLine) for f in logger.filters):
        logger.addFilter(_OneLine())
    # Its INFO lines narrate every session; ours say what matters (connected, lost, back).
    logger.setLevel(max(logging.WARNING, logging.getLogger().level))
    return logger


class _Handler(AsyncSocketModeHandler):
    """Bolt's Socket Mode handler, with each envelope's dispatch counted as a request in flight."""

    def __init__(self, app: AsyncApp, app_token: str, inflight: InFlight) -> None:
        super().__init__(app, app_token, logger=_sdk_logger())
        self.inflight = inflight

    async def handle(self, client: Any, req: SocketModeRequest) -> None:
        parent = super().handle
        await self.inflight.dispatch(lambda: parent(client, req))


class SocketMode:
    """The bot's Socket Mode connection: `connect(url)` once, then `run(stop)` keeps it up."""

    def __init__(
        self,
        app: AsyncApp,
        app_token: str,
        web: AsyncWebClient,
        inflight: InFlight,
        backoff: Backoff | None = None,
    ) -> None:
        self._token = app_token
        self._web = web
        # The SDK's socket client and Bolt's handler are untyped: Any, on purpose.
        self._handler: Any = _Handler(app, app_token, inflight)
        self._sdk: Any = self._handler.client
        self._sdk.default_auto_reconnect_enabled = False  # `run` reconnects, with backoff
        self._sdk.auto_reconnect_enabled = False
        self.backoff = backoff or Backoff(first=1.0, cap=30.0)
        self.phase = Phase()

    async def connect(self, url: str) -> None:
        """Open the WebSocket at a URL from `open_url`; SocketProblem when it does not open."""
        self._sdk.wss_uri = url
        try:
            await asyncio.wait_for(self._sdk.connect(), CONNECT_TIMEOUT_S)
        except TimeoutError:
            raise SocketProblem(
                f"the WebSocket did not open within {CONNECT_TIMEOUT_S:.0f} s"
            ) from None
        self.phase.set("connected")

    async def run(self, stop: asyncio.Event) -> None:
        """Watch the connection until stop is set; reconnect with backoff when it drops."""
        delays = None
        while not stop.is_set():
            if await self._sdk.is_connected():
                if delays is not None:
                    log.info("socket_reconnected")
                    delays = None
                self.phase.set("connected")
                await sleep_or_stop(stop, WATCH_S)
                continue
            if delays is None:
                log.info("socket_disconnected")
                delays = self.backoff.delays()
            try:
                async with self._sdk.connect_operation_lock:
                    if not await self._sdk.is_connected():
                        await self.connect(await open_url(self._web, self._token))
            except SocketProblem as problem:
                delay = next(delays)
                self.phase.set("reconnecting", problem.reason)
                log.warning(
                    "socket_reconnect_failed", reason=problem.reason, retry_in_s=round(delay, 1)
                )
                await sleep_or_stop(stop, delay)

    async def close(self) -> None:
        """Close the WebSocket (bounded: a Slack that does not answer does not hold us up)."""
        with contextlib.suppress(Exception, TimeoutError):
            await asyncio.wait_for(self._handler.close_async(), CLOSE_TIMEOUT_S)
        self.phase.set("stopped")
