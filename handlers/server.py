"""`model-access serve`: check the settings, then serve the app in Socket Mode or HTTP.

HTTP mode serves Bolt at POST /slack/events, GET /healthz and GET /metrics (aiohttp).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path
from typing import Any

import aiohttp
import structlog
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Env, load_env
from bot.engine import Engine
from handlers.app import build_app, warm_up
from handlers.client import build_client
from handlers.metrics import Metrics

log = structlog.get_logger(__name__)

MANIFEST = "deploy/slack-app-manifest.yaml"
EVENTS_PATH = "/slack/events"


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
