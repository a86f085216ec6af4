"""The Slack app: build the Bolt AsyncApp from an Engine, and serve it (Socket Mode or HTTP).

Names other modules use:

* `build_client(env)` — the AsyncWebClient (bot token, SLACK_API_URL, retries on 429).
* `build_app(engine, client=, signing_secret=)` — the AsyncApp with every listener.
* `http_app(app, engine, metrics)` — aiohttp: POST /slack/events, GET /healthz, GET /metrics.
* `serve(...)` — `model-access serve`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib
import os
import signal
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import structlog
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Env, load_env
from bot.engine import Engine
from bot.probing.adapters import load_sdk
from bot.redact import mask
from handlers.answers import Answers
from handlers.listeners import actions, commands, help_channel, home, shortcuts
from handlers.metrics import Metrics

log = structlog.get_logger(__name__)

MANIFEST = "deploy/slack-app-manifest.yaml"
EVENTS_PATH = "/slack/events"
_SDK_RESOURCES = {
    "openai": ("models", "chat.completions", "completions", "responses", "embeddings",
               "moderations", "images", "audio.speech"),
    "anthropic": ("models", "messages", "messages.count_tokens"),
}  # fmt: skip


def build_client(env: Env) -> AsyncWebClient:
    """The Web API client: bot token, SLACK_API_URL, and retries that honour 429 Retry-After."""
    token = env.SLACK_BOT_TOKEN.get_secret_value() if env.SLACK_BOT_TOKEN else None
    client = AsyncWebClient(token=token, base_url=env.SLACK_API_URL)
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=2))
    return client


def request_kind(body: dict[str, Any]) -> str:
    """slash_command, block_actions, message_action, event:<type>, … for logs and metrics."""
    if "command" in body:
        return "slash_command"
    kind = str(body.get("type", "unknown"))
    if kind == "event_callback":
        return "event:" + str((body.get("event") or {}).get("type", "unknown"))
    return kind


def request_id(body: dict[str, Any]) -> str:
    """Slack's own id for the request when it has one (event_id, trigger_id), else a new one."""
    for name in ("event_id", "trigger_id"):
        value = body.get(name)
        if isinstance(value, str) and value:
            return value
    return uuid.uuid4().hex[:16]


def _middleware(answers: Answers) -> Callable[..., Awaitable[BoltResponse]]:
    async def log_context(
        req: AsyncBoltRequest, next: Callable[[], Awaitable[BoltResponse]]
    ) -> BoltResponse:
        """Bind request id, kind, user and channel for every log line of this request."""
        body = req.body or {}
        kind = request_kind(body)
        ctx = req.context
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(
            request_id=request_id(body),
            request_kind=kind,
            user_id=ctx.user_id,
            channel_id=ctx.channel_id,
            team_id=ctx.team_id,
        )
        started = time.perf_counter()
        try:
            return await next()
        finally:
            answers.metrics.ack_seconds.labels(kind).observe(time.perf_counter() - started)

    return log_context


def build_app(
    engine: Engine,
    *,
    client: AsyncWebClient | None = None,
    signing_secret: str | None = None,
    metrics: Metrics | None = None,
) -> AsyncApp:
    """The Bolt app with the slash command, buttons, shortcut, App Home and help channels."""
    if signing_secret is None and engine.env.SLACK_SIGNING_SECRET is not None:
        signing_secret = engine.env.SLACK_SIGNING_SECRET.get_secret_value()
    app = AsyncApp(
        name="model-access",
        client=client or build_client(engine.env),
        signing_secret=signing_secret or "",
    )
    answers = Answers(engine, metrics or Metrics())
    app.use(_middleware(answers))

    @app.error
    async def on_error(error: Exception, body: dict[str, Any]) -> None:
        """Log any listener failure, redacted; Slack shows its own short notice, no traceback."""
        answers.metrics.errors.labels("listener").inc()
        log.error(
            "listener_failed",
            kind=request_kind(body),
            error_type=type(error).__name__,
            error=mask(str(error))[:500],
        )

    commands.register(app, answers)
    actions.register(app, answers)
    shortcuts.register(app, answers)
    home.register(app, answers)
    help_channel.register(app, engine)
    return app


def warm_up(engine: Engine) -> None:
    """Import the provider SDKs the keys need now, before serving.

    Imported lazily they cost about a second of blocked event loop inside the first
    request that probes, which would delay every acknowledgement waiting behind it.
    """
    needed = {"anthropic" if key.provider == "anthropic" else "openai" for key in engine.keys}
    for name in sorted(needed):
        load_sdk(name)
        sdk = importlib.import_module(name)
        # The SDKs also import each API resource on first attribute access: touch them now.
        client = sdk.AsyncAnthropic if name == "anthropic" else sdk.AsyncOpenAI
        made = client(api_key="warm-up-no-requests", base_url="http://127.0.0.1:9/")
        for resource in _SDK_RESOURCES[name]:
            functools.reduce(getattr, resource.split("."), made)


# -- HTTP -------------------------------------------------------------------------------------


def http_app(app: AsyncApp, engine: Engine, metrics: Metrics) -> web.Application:
    """aiohttp: Bolt at POST /slack/events, GET /healthz, GET /metrics (pass the app's Metrics)."""

    async def events(request: web.Request) -> web.Response:
        bolt_request = await to_bolt_request(request)
        return await to_aiohttp_response(await app.async_dispatch(bolt_request))

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response(
            {"ok": True, "cache": engine.cache.status, "keys": len(engine.keys)}
        )

    async def exposition(_: web.Request) -> web.Response:
        return web.Response(body=metrics.render(), headers={"Content-Type": metrics.content_type})

    server = web.Application()
    server.router.add_post(EVENTS_PATH, events)
    server.router.add_get("/healthz", healthz)
    server.router.add_get("/metrics", exposition)
    return server


# -- serve ------------------------------------------------------------------------------------


def missing_settings(env: Env, mode: str) -> list[str]:
    """The Slack variables the mode needs that are not set."""
    needed = ["SLACK_BOT_TOKEN", "SLACK_APP_TOKEN" if mode == "socket" else "SLACK_SIGNING_SECRET"]
    return [name for name in needed if getattr(env, name) is None]


def choose_mode(env: Env, *, socket: bool, http: bool) -> str:
    """--socket, --http, or Socket Mode when SLACK_APP_TOKEN is set, else HTTP."""
    if socket:
        return "socket"
    if http:
        return "http"
    return "socket" if env.SLACK_APP_TOKEN is not None else "http"


def serve(
    keys_file: Path | None,
    config_file: Path | None,
    socket: bool,
    http: bool,
    port: int | None,
) -> int:
    """`model-access serve`: check the Slack settings, then run until SIGINT/SIGTERM."""
    env = load_env()
    mode = choose_mode(env, socket=socket, http=http)
    missing = missing_settings(env, mode)
    if missing:
        names = " and ".join(missing)
        print(
            f"model-access serve: set {names} ({'Socket Mode' if mode == 'socket' else 'HTTP mode'}); "
            f"create the Slack app from {MANIFEST} to get them.",
            file=sys.stderr,
        )
        return 2
    http_port = port if port is not None else env.PORT
    # Socket Mode needs no port; it serves /healthz and /metrics only when one is asked for.
    health_port = http_port if mode == "http" or port is not None or "PORT" in os.environ else None
    return asyncio.run(_serve(env, keys_file, config_file, mode, health_port))


async def _serve(
    env: Env, keys_file: Path | None, config_file: Path | None, mode: str, port: int | None
) -> int:
    client = build_client(env)
    problem = await slack_problem(client, env.SLACK_API_URL)
    if problem is not None:
        print(f"model-access serve: {problem}", file=sys.stderr)
        return 2
    engine = await Engine.build(keys_file=keys_file, config_file=config_file)
    warm_up(engine)
    metrics = Metrics()
    app = build_app(engine, client=client, metrics=metrics)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    runner: web.AppRunner | None = None
    socket_handler: Any = None
    broadcasts = _start_broadcasts(engine, client)
    try:
        if port is not None:
            runner = web.AppRunner(http_app(app, engine, metrics), access_log=None)
            await runner.setup()
            await web.TCPSite(runner, "0.0.0.0", port).start()  # noqa: S104 - a server
        if mode == "socket":
            from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

            assert env.SLACK_APP_TOKEN is not None
            socket_handler = AsyncSocketModeHandler(app, env.SLACK_APP_TOKEN.get_secret_value())
            await socket_handler.connect_async()
        log.info("serving", mode=mode, port=port, keys=len(engine.keys), cache=engine.cache.status)
        await stop.wait()
        log.info("stopping", mode=mode)
    finally:
        if broadcasts is not None:
            broadcasts.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await broadcasts
        if socket_handler is not None:
            await socket_handler.close_async()
        if runner is not None:
            await runner.cleanup()
        await engine.close()
    return 0


async def slack_problem(client: AsyncWebClient, api_url: str) -> str | None:
    """Why Slack will not work with this bot token, in one line; None when auth.test passes.

    Bolt's AsyncApp does not check its token at start-up, and Socket Mode retries a failed
    connection forever: one call here turns a revoked token or a wrong SLACK_API_URL into a
    clear exit instead of a log full of retries.
    """
    try:
        await client.auth_test()
    except SlackApiError as exc:
        error = exc.response.get("error", "an error")
        return (
            f"Slack refused SLACK_BOT_TOKEN ({error}); copy the Bot User OAuth Token (xoxb-...) "
            "again from the app's OAuth & Permissions page"
        )
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        return f"cannot reach Slack at {api_url} ({type(exc).__name__}); check the network"
    return None


def _start_broadcasts(engine: Engine, client: AsyncWebClient) -> asyncio.Task[None] | None:
    """Run the scheduled notices in this process too (a single-process install needs no worker)."""
    try:
        from handlers.worker import start_in_process
    except ImportError as exc:  # the worker's optional dependencies are missing
        log.warning("broadcasts_off", reason=str(exc))
        return None
    return start_in_process(engine, client)
