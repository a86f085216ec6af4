"""The buttons on an answer: Share in channel, Re-probe, Show fix code.

Each button's value carries the request (model, endpoint, key aliases, deep; or the
masked paste of an `explain`), never a secret, so a click can rebuild the answer: from
the probe cache for Share and Show fix code, live for Re-probe. An ephemeral answer
cannot be edited with chat.update, only through the click's response_url.
"""

from __future__ import annotations

from typing import Any

import structlog
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from handlers import parse
from handlers.answers import Answers
from handlers.render import lists as render_lists
from handlers.render.blocks import Reply
from handlers.render.check import REPROBE, SHARE, SHOW_CODE

log = structlog.get_logger(__name__)


def slack_error(exc: SlackApiError) -> str:
    """The `error` field of a failed Web API call."""
    data = exc.response.data if exc.response is not None else None
    return str(data.get("error")) if isinstance(data, dict) else type(exc).__name__


def _value(action: dict[str, Any]) -> str | None:
    value = action.get("value")
    return value if isinstance(value, str) else None


def register(app: AsyncApp, answers: Answers) -> None:
    """Add the three button listeners."""

    async def on_share(
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        respond: AsyncRespond,
        client: AsyncWebClient,
    ) -> None:
        await ack()
        answers.metrics.commands.labels("button_share").inc()
        async with answers.guard("button_share", respond):
            user_id = str(body["user"]["id"])
            channel = body["channel"]["id"]
            reply = await answers.shared(_value(action), user_id)
            if reply is None:
                await respond(**render_lists.notice("That button has expired.").kwargs())
                return
            try:
                await client.chat_postMessage(
                    channel=str(channel), **reply.kwargs(), unfurl_links=False
                )
            except SlackApiError as exc:
                # Not a member (or a DM we cannot post to): Slack can still post it for us.
                log.info("share_via_response_url", error=slack_error(exc))
                await respond(delete_original=True)
                await respond(**reply.kwargs(), response_type="in_channel", replace_original=False)
            else:
                await respond(delete_original=True)
            answers.metrics.replies.labels("channel").inc()
            log.info("answer_shared", channel=channel)

    async def on_reprobe(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        answers.metrics.commands.labels("button_reprobe").inc()
        async with answers.guard("button_reprobe", respond):
            user_id = str(body["user"]["id"])
            request = parse.check_from_value(_value(action))
            if request is None:
                await respond(**render_lists.notice("That button has expired.").kwargs())
                return

            async def show(progress: Reply) -> None:
                await respond(**progress.kwargs(), replace_original=True)

            reply, fresh = await answers.reprobe(request, user_id, show)
            # A fresh answer replaces the old one; a refusal (rate limit) goes below it.
            await respond(**reply.kwargs(), replace_original=fresh)
            answers.metrics.replies.labels("ephemeral").inc()

    async def on_show_code(ack: AsyncAck, action: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        answers.metrics.commands.labels("button_show_code").inc()
        async with answers.guard("button_show_code", respond):
            reply = await answers.fix_code(_value(action))
            if reply is None:
                reply = render_lists.notice("That button has expired.")
            await respond(**reply.kwargs(), replace_original=False)
            answers.metrics.replies.labels("ephemeral").inc()

    app.action(SHARE)(on_share)
    app.action(REPROBE)(on_reprobe)
    app.action(SHOW_CODE)(on_show_code)
