"""The message shortcut *Diagnose this error* (callback_id `diagnose_message`).

Classifies the message's text, live-checks the model it names, and replies in that
message's thread. Where the bot cannot post (not a member of the channel, a DM, an
archived channel) the answer goes to the person who asked, through the response_url.
"""

from __future__ import annotations

from typing import Any

import structlog
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from handlers.answers import Answers
from handlers.listeners.actions import slack_error
from handlers.listeners.help_channel import message_text
from handlers.render.blocks import unescape

log = structlog.get_logger(__name__)

CALLBACK_ID = "diagnose_message"


def register(app: AsyncApp, answers: Answers) -> None:
    """Add the message shortcut listener."""

    async def on_diagnose(
        ack: AsyncAck, shortcut: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        answers.metrics.commands.labels("shortcut_diagnose").inc()
        message = shortcut.get("message") or {}
        channel = str((shortcut.get("channel") or {}).get("id", ""))
        thread_ts = message.get("thread_ts") or message.get("ts")
        user_id = (shortcut.get("user") or {}).get("id")
        async with answers.guard("shortcut_diagnose", respond):
            reply = await answers.diagnose_message(unescape(message_text(message)), user_id)
            try:
                await client.chat_postMessage(
                    channel=channel, thread_ts=thread_ts, **reply.kwargs(), unfurl_links=False
                )
            except SlackApiError as exc:
                log.info("shortcut_reply_ephemeral", channel=channel, error=slack_error(exc))
                await respond(**reply.kwargs(), response_type="ephemeral")
                answers.metrics.replies.labels("ephemeral").inc()
                return
            answers.metrics.replies.labels("thread").inc()
            log.info("shortcut_answered", channel=channel, thread_ts=thread_ts)

    app.shortcut(CALLBACK_ID)(on_diagnose)
