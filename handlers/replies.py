"""Thread replies: one function posts a reply, one edits it; both say what Slack answered.

The help channel posts its answer at once and edits that same message when the live check
is in, so these two are the only places that talk to chat.postMessage and chat.update for
it. A caller that wants retries (on 429 or 5xx) wraps them; a failure here is logged with
Slack's error code and comes back as None / False, never as an exception.
"""

from __future__ import annotations

import structlog
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from handlers.render.blocks import Reply

log = structlog.get_logger(__name__)


def slack_error(exc: SlackApiError) -> str:
    """The `error` field of a failed Web API call (the class name when there is none)."""
    data = exc.response.data if exc.response is not None else None
    return str(data.get("error")) if isinstance(data, dict) else type(exc).__name__


async def post_reply(
    client: AsyncWebClient, channel: str, thread_ts: str, reply: Reply
) -> str | None:
    """Post `reply` in the thread; the new message's ts, or None (logged) when Slack refuses."""
    try:
        resp = await client.chat_postMessage(
            channel=channel,
            thread_ts=thread_ts,
            unfurl_links=False,
            unfurl_media=False,
            **reply.kwargs(),
        )
    except SlackApiError as exc:
        log.warning("help_reply_failed", channel=channel, error=slack_error(exc))
        return None
    ts = resp.get("ts")
    return ts if isinstance(ts, str) else None


async def edit_reply(client: AsyncWebClient, channel: str, ts: str, reply: Reply) -> bool:
    """Replace the message at ts with `reply`; False (logged) when Slack refuses."""
    try:
        await client.chat_update(channel=channel, ts=ts, **reply.kwargs())
    except SlackApiError as exc:
        log.warning("help_reply_update_failed", channel=channel, error=slack_error(exc))
        return False
    return True
