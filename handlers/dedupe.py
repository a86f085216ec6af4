"""Exactly-once and noise control for help-channel replies, shared by every replica via Redis.

Slack delivers an event up to four times (X-Slack-Retry-Num 1..3, or Socket Mode's
retry_attempt, which Bolt >= 1.29 copies into the same header), and each replica may
receive a copy; Bolt itself dedupes nothing. So two claims stand between an event and a
reply, both `SET NX` with a TTL in the shared cache:

* the event: `help:event:<event_id>` (24 h; Slack stops retrying after about 5 minutes),
  taken by the `EventOnce` listener middleware before the listener runs;
* the message: `help:msg:<channel>:<ts>` (30 days), taken just before posting, so the
  `message` and `app_mention` events of one message, or a replay, still get one reply.

The reply's ts is remembered per message (`help:answer:<channel>:<ts>`): the answer is
posted at once and edited when the live check is in, and an attempt that finds a reply
already posted edits it rather than posting a second one.

Noise control lives here too: one unprompted reply per thread, a per-channel budget per
minute, and a per-thread mute flag. With Redis down the cache grants claims per process.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.cache import Cache

log = structlog.get_logger(__name__)

DAY_S = 24 * 3600.0
EVENT_TTL_S = DAY_S
MESSAGE_TTL_S = 30 * DAY_S
THREAD_TTL_S = 30 * DAY_S
MUTE_TTL_S = 30 * DAY_S
REPLY_MAP_TTL_S = 30 * DAY_S
CHANNEL_WINDOW_S = 60.0
CHANNEL_REPLIES_PER_WINDOW = 6


def retry_num(req: AsyncBoltRequest) -> int:
    """The delivery attempt Slack reports (0 for the first delivery)."""
    values = req.headers.get("x-slack-retry-num") or []
    try:
        return int(values[0]) if values else 0
    except ValueError:
        return 0


class EventOnce(AsyncMiddleware):
    """Listener middleware: let each event_id through once across retries and replicas.

    A duplicate is acknowledged with a 200 and dropped, so Slack stops retrying it.
    """

    def __init__(self, cache: Cache, *, ttl_s: float = EVENT_TTL_S) -> None:
        self.cache = cache
        self.ttl_s = ttl_s

    async def async_process(
        self,
        *,
        req: AsyncBoltRequest,
        resp: BoltResponse,
        next: Callable[[], Awaitable[BoltResponse]],
    ) -> BoltResponse:
        """Claim the event id, then continue; a second sighting ends here with a 200."""
        body: dict[str, Any] = req.body or {}
        event_id = body.get("event_id")
        key = self.cache.key("help", "event", event_id) if isinstance(event_id, str) else None
        if event_id and key and not await self.cache.claim(key, self.ttl_s):
            log.info("event_duplicate_dropped", event_id=event_id, retry_num=retry_num(req))
            return BoltResponse(status=200, body="")
        return await next()

    @property
    def name(self) -> str:
        """How Bolt names this middleware in its debug logs."""
        return "EventOnce"


async def claim_message(cache: Cache, channel: str, ts: str) -> bool:
    """True for the first caller that may reply to the message (channel, ts), ever (30 days)."""
    return await cache.claim(cache.key("help", "msg", channel, ts), MESSAGE_TTL_S)


async def claim_thread(cache: Cache, channel: str, root: str) -> bool:
    """True if the bot has not yet replied unprompted in the thread rooted at root."""
    return await cache.claim(cache.key("help", "thread", channel, root), THREAD_TTL_S)


async def channel_budget_left(cache: Cache, channel: str) -> bool:
    """Spend one reply of the channel's per-minute budget; False once it is used up."""
    count = await cache.incr(cache.key("help", "rate", channel), CHANNEL_WINDOW_S)
    return count is None or count <= CHANNEL_REPLIES_PER_WINDOW


async def mute(cache: Cache, channel: str, root: str) -> None:
    """Silence the bot in one thread for 30 days."""
    await cache.set_json(cache.key("help", "mute", channel, root), 1, MUTE_TTL_S)


async def unmute(cache: Cache, channel: str, root: str) -> None:
    """Let the bot speak in a thread again."""
    await cache.delete(cache.key("help", "mute", channel, root))


async def is_muted(cache: Cache, channel: str, root: str) -> bool:
    """Whether someone silenced the bot in this thread."""
    return await cache.get_json(cache.key("help", "mute", channel, root)) is not None


async def remember_reply(cache: Cache, channel: str, reply_ts: str, root: str) -> None:
    """Note which thread a bot reply belongs to, so a :mute: on the reply mutes its thread."""
    await cache.set_json(cache.key("help", "reply", channel, reply_ts), root, REPLY_MAP_TTL_S)


async def remember_answer(cache: Cache, channel: str, ts: str, reply_ts: str) -> None:
    """Note the bot's reply to message ts, so a later attempt at it edits that reply."""
    await cache.set_json(cache.key("help", "answer", channel, ts), reply_ts, MESSAGE_TTL_S)


async def answer_of(cache: Cache, channel: str, ts: str) -> str | None:
    """The ts of the bot's reply to message ts, if one was posted."""
    reply_ts = await cache.get_json(cache.key("help", "answer", channel, ts))
    return reply_ts if isinstance(reply_ts, str) and reply_ts else None


async def thread_of(cache: Cache, channel: str, ts: str) -> str:
    """The thread root of a message: the remembered one for a bot reply, else the message itself."""
    root = await cache.get_json(cache.key("help", "reply", channel, ts))
    return root if isinstance(root, str) and root else ts
