"""`/model-access`: acknowledge at once, then answer through the response_url.

Slack gives a slash command 3 seconds. Requests that need no provider or Redis call
(help, usage errors, `explain`, `deprecations`, a refused `keys`) are answered in the
acknowledgement itself. The rest are acknowledged with a short "checking…" message, and
the answer replaces it when ready (`respond(replace_original=True)`): Bolt returns the
HTTP response as soon as `ack` is called and lets the listener carry on. A check shows its
progress the same way: the keys that answered within a second or so, the rest marked
"still checking…", replaced by the answer when every key answered or timed out.
"""

from __future__ import annotations

from typing import Any

import structlog
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from handlers import parse
from handlers.answers import Answers
from handlers.render import lists as render_lists
from handlers.render.blocks import Reply, context
from handlers.render.check import checking

log = structlog.get_logger(__name__)

COMMAND = "/model-access"


def kind_of(request: parse.Command) -> str:
    """The sub-command's name, for logs and metrics."""
    return type(request).__name__.lower()


def working(request: parse.Command) -> Reply:
    """The acknowledgement shown while the answer is prepared."""
    if isinstance(request, parse.Check):
        return checking(request)
    text = {
        "models": "⏳ Asking each key for its models…",
        "keys": "⏳ Gathering the keys' health…",
    }.get(kind_of(request), "⏳ Working on it…")
    return Reply(text, [context(text)])


def register(app: AsyncApp, answers: Answers) -> None:
    """Add the /model-access listener."""

    async def on_command(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        user_id = command.get("user_id")
        request = answers.parse_text(str(command.get("text") or ""))
        kind = kind_of(request)
        answers.metrics.commands.labels(f"command_{kind}").inc()
        log.info("command_received", sub=kind)
        try:
            quick = await answers.immediate(request, user_id)
        except Exception:
            log.exception("answer_failed", where=f"command_{kind}")
            answers.metrics.errors.labels(f"command_{kind}").inc()
            quick = render_lists.failed()
        if quick is not None:
            await ack(**quick.kwargs(), response_type="ephemeral")
            answers.metrics.replies.labels("ephemeral").inc()
            return
        await ack(**working(request).kwargs(), response_type="ephemeral")
        async with answers.guard(f"command_{kind}", respond):

            async def show(progress: Reply) -> None:
                await respond(**progress.kwargs(), response_type="ephemeral", replace_original=True)

            reply = await answers.run(request, user_id, show)
            await respond(**reply.kwargs(), response_type="ephemeral", replace_original=True)
            answers.metrics.replies.labels("ephemeral").inc()
            log.info("command_answered", sub=kind)

    app.command(COMMAND)(on_command)
