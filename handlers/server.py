"""`model-access serve`: check the settings, then serve the app in Socket Mode or HTTP.

HTTP mode serves Bolt at POST /slack/events, GET /healthz and GET /metrics (aiohttp);
Socket Mode serves /healthz and /metrics only on a port asked for (--port or $PORT).
The scheduled broadcasts run in the same process (handlers/schedule.py). SIGINT and
SIGTERM stop it within 10 s: no new work is taken, replies in flight and a posting pass
get a few seconds to finish, connections close, and the exit code is 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from pathlib import Path

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
from handlers.lifecycle import (
    Health,
    InFlight,
    health_app,
    start_http,
    stop_on_signals,
)
from handlers.metrics import Metrics
from handlers.schedule import start_in_process
from handlers.socket_mode import SocketMode, SocketProblem, open_url, refused_line
from handlers.startup import announce

log = structlog.get_logger(__name__)

MANIFEST = "deploy/slack-app-manifest.yaml"
AUTH_TIMEOUT_S = 10.0
DRAIN_S = 5.0  # replies in flight and a posting pass, together, on stop


# -- HTTP -------------------------------------------------------------------------------------


def http_app(
    app: AsyncApp,
    engine: Engine,
    metrics: Metrics,
    *,
    health: Health | None = None,
    inflight: InFlight | None = None,
) -> web.Application:
    """aiohttp: Bolt at POST /slack/events, GET /healthz, GET /metrics (pass the app's Metrics)."""
    tracker = inflight or InFlight()

    async def events(request: web.Request) -> web.StreamResponse:
        bolt_request = await to_bolt_request(request)
        response = await tracker.dispatch(lambda: app.async_dispatch(bolt_request))
        return await to_aiohttp_response(response)

    return health_app(
        health or Health("http", engine.cache, len(engine.keys)),
        events=events,
        metrics=lambda: (metrics.render(), metrics.content_type),
    )


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


def settings_line(env: Env, mode: str, *, chosen: bool) -> str | None:
    """What to set before serving, in one line; None when nothing is missing.

    With neither mode's token set and no flag, Socket Mode leads (no public URL needed),
    as the README and the manifest do.
    """
    missing = missing_settings(env, mode)
    if not missing:
        return None
    if not chosen and env.SLACK_APP_TOKEN is None and env.SLACK_SIGNING_SECRET is None:
        first = "SLACK_BOT_TOKEN and " if env.SLACK_BOT_TOKEN is None else ""
        return (
            f"model-access serve: set {first}SLACK_APP_TOKEN (Socket Mode, no public URL "
            f"needed) or SLACK_SIGNING_SECRET (HTTP mode); create the Slack app from "
            f"{MANIFEST} to get them."
        )
    names = " and ".join(missing)
    return (
        f"model-access serve: set {names} ({'Socket Mode' if mode == 'socket' else 'HTTP mode'}); "
        f"create the Slack app from {MANIFEST} to get them."
    )


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
    problem = settings_line(env, mode, chosen=socket or http)
    if problem is not None:
        print(problem, file=sys.stderr)
        return 2
    http_port = port if port is not None else env.PORT
    # Socket Mode needs no port; it serves /healthz and /metrics only when one is asked for.
    health_port = (
        http_port if mode == "http" or port is not None or os.environ.get("PORT") else None
    )
    return asyncio.run(_serve(env, keys_file, config_file, mode, health_port))


async def _serve(
    env: Env, keys_file: Path | None, config_file: Path | None, mode: str, port: int | None
) -> int:
    stop = stop_on_signals()  # first: a SIGTERM during start-up still ends with exit 0
    client = build_client(env)
    problem = await slack_problem(client, env.SLACK_API_URL)
    url = None
    if problem is None and mode == "socket":
        assert env.SLACK_APP_TOKEN is not None
        try:
            url = await open_url(client, env.SLACK_APP_TOKEN.get_secret_value())
        except SocketProblem as refused:
            problem = refused_line(refused)
    if problem is not None:
        print(f"model-access serve: {problem}", file=sys.stderr)
        return 2
    if stop.is_set():  # told to stop while starting: do not start the rest
        return 0
    engine = await Engine.build(keys_file=keys_file, config_file=config_file)
    try:
        warm_up(engine)
        if stop.is_set():
            return 0
        return await _run(env, engine, client, mode, port, url, stop)
    finally:
        await engine.close()


async def _run(
    env: Env,
    engine: Engine,
    client: AsyncWebClient,
    mode: str,
    port: int | None,
    url: str | None,
    stop: asyncio.Event,
) -> int:
    metrics = Metrics()
    inflight = InFlight()
    inflight.install(asyncio.get_running_loop())
    app = build_app(engine, client=client, metrics=metrics)
    scheduler, broadcasts = start_in_process(engine, client, stop)
    health = Health(mode, engine.cache, len(engine.keys), {"scheduler": scheduler.phase})
    runner: web.AppRunner | None = None
    socket: SocketMode | None = None
    watcher: asyncio.Task[None] | None = None
    try:
        if port is not None:
            server = http_app(app, engine, metrics, health=health, inflight=inflight)
            runner = await start_http(server, port)
        if url is not None and env.SLACK_APP_TOKEN is not None:
            socket = SocketMode(app, env.SLACK_APP_TOKEN.get_secret_value(), client, inflight)
            health.parts["socket"] = socket.phase
            with contextlib.suppress(SocketProblem):  # `run` retries, with backoff
                await socket.connect(url)
            watcher = asyncio.create_task(socket.run(stop))
        announce(engine, mode=mode, port=port)
        await stop.wait()
        log.info("stopping", mode=mode, replies_in_flight=len(inflight.pending()))
    finally:
        # Stop taking work first, then let replies and a posting pass finish together.
        if socket is not None:
            await socket.close()
        if runner is not None:
            await runner.cleanup()
        stop.set()
        late, _ = await asyncio.gather(inflight.drain(DRAIN_S), _finish(broadcasts, watcher))
        if late:
            log.warning("replies_cancelled", count=late)
    log.info("stopped", mode=mode)
    return 0


async def _finish(*tasks: asyncio.Task[None] | None) -> None:
    """Wait (bounded) for the scheduler and the socket watcher, which end once stop is set."""
    running = [t for t in tasks if t is not None]
    if not running:
        return
    _, late = await asyncio.wait(running, timeout=DRAIN_S)
    for task in late:
        task.cancel()
    for task in running:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


async def slack_problem(client: AsyncWebClient, api_url: str) -> str | None:
    """Why Slack will not work with this bot token, in one line; None when auth.test passes.

    Bolt's AsyncApp does not check its token at start-up, and Socket Mode retries a failed
    connection forever: one call here turns a revoked token or a wrong SLACK_API_URL into a
    clear exit instead of a log full of retries.
    """
    try:
        await asyncio.wait_for(client.auth_test(), AUTH_TIMEOUT_S)
    except SlackApiError as exc:
        error = exc.response.get("error", "an error")
        return (
            f"Slack refused SLACK_BOT_TOKEN ({error}); copy the Bot User OAuth Token (xoxb-...) "
            "again from the app's OAuth & Permissions page"
        )
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        return f"cannot reach Slack at {api_url} ({type(exc).__name__}); check the network"
    return None
