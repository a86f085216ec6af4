"""The Slack app: the Bolt AsyncApp built from an Engine, with every listener registered.

* `build_app(engine, client=, signing_secret=)` — the AsyncApp with every listener.
* `warm_up(engine)` — import the provider SDKs the keys need before serving.

Serving it is handlers/server.py; the Web API client is handlers/client.py.
"""

from __future__ import annotations

import functools
import importlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from slack_bolt.async_app import AsyncApp
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.engine import Engine
from bot.probing.sdks import load_sdk
from bot.redact import mask
from handlers.answers import Answers
from handlers.client import build_client
from handlers.listeners import actions, commands, help_channel, home, shortcuts
from handlers.metrics import Metrics

log = structlog.get_logger(__name__)

_SDK_RESOURCES = {
    "openai": ("models", "chat.completions", "completions", "responses", "embeddings",
               "moderations", "images", "audio.speech"),
    "anthropic": ("models", "messages", "messages.count_tokens"),
}  # fmt: skip


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


class _TokenFromClient(logging.Filter):
    """Drop Bolt's "token will be unused" warning: our client already carries that token.

    Bolt reads SLACK_BOT_TOKEN from the environment even when it is handed a client, and
    warns at every start that it ignores it; the client is built from the same variable.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_client_prioritized_and_token_skipped()


def _bolt_logger() -> logging.Logger:
    logger = logging.getLogger("slack_bolt.AsyncApp")
    if not any(isinstance(f, _TokenFromClient) for f in logger.filters):
        logger.addFilter(_TokenFromClient())
    return logger


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
        logger=_bolt_logger(),
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
