"""Help channels: answer a pasted API error in its thread, once; warn about pasted secrets everywhere.

Listeners (registered by `register`):

* `message` in any channel the bot reads: the secret guard; in a help channel also the
  error answer; a direct message to the bot counts as a mention. Edits, deletions and
  bot messages are ignored.
* `app_mention` anywhere: an explicit ask (answers even in a thread already answered),
  plus the `stop` / `start` commands for the thread.
* `reaction_added` with :mute: on a bot reply or a thread parent: silence that thread.

Noise rules: one unprompted reply per thread (a mention asks again), six replies per
channel per minute, and a muted thread (30 days) hears nothing until `start` — except a
secret warning, because a leaked key is an incident, not chatter.

A message that mentions the bot arrives as both a `message` and an `app_mention` event;
both paths treat it as a mention and the per-message claim lets only one of them reply.
Slack needs a 2xx within 3 seconds: Bolt acknowledges events before the listener runs,
and the `EventOnce` middleware only does one Redis SET before that.
"""

from __future__ import annotations

import asyncio
import functools
import re
from dataclasses import dataclass
from typing import Any

import structlog
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.causes import Cause
from bot.engine import Engine
from bot.redact import FoundSecret
from bot.results import Diagnosis, LiveCheck
from handlers import dedupe, secret_guard
from handlers.render import help as help_render
from handlers.render.blocks import Reply
from handlers.replies import edit_reply, post_reply, slack_error

log = structlog.get_logger(__name__)

HANDLED_SUBTYPES = frozenset({None, "file_share", "thread_broadcast"})
MAX_TEXT = 20_000  # Slack allows 40k; an error worth answering is far shorter
WORKING_REACTION = "eyes"
MUTE_REACTION = "mute"
DONE_REACTION = "white_check_mark"
STOP_WORDS = frozenset({"stop", "mute", "quiet", "be quiet", "hush", "shush", "shut up"})
START_WORDS = frozenset({"start", "unmute", "resume"})
# A live check done this soon (cached, or nothing to probe) goes into the first post;
# a slower one is added by editing the reply, which is posted within about this long.
QUICK_LIVE_S = 0.5
_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")


@dataclass(frozen=True)
class Message:
    """The parts of a Slack message event the help channel uses."""

    channel: str
    ts: str
    root: str  # the thread this message belongs to (its own ts at the top level)
    user: str | None
    text: str
    direct: bool = False  # a direct message to the bot: always an explicit ask

    @property
    def in_thread(self) -> bool:
        """Whether the message is a reply inside a thread."""
        return self.root != self.ts


def message_text(event: dict[str, Any]) -> str:
    """The message text plus the preview of any snippet or text file shared with it."""
    parts = [str(event.get("text") or "")]
    for file in event.get("files") or []:
        if isinstance(file, dict) and isinstance(file.get("preview"), str):
            parts.append(file["preview"])
    return "\n".join(p for p in parts if p)[:MAX_TEXT]


def parse(event: dict[str, Any], bot_user_id: str | None) -> Message | None:
    """The message to consider, or None for edits, deletions, bots and the bot itself."""
    if event.get("subtype") not in HANDLED_SUBTYPES or event.get("bot_id"):
        return None
    user = event.get("user")
    if user is not None and user == bot_user_id:
        return None
    channel, ts = event.get("channel"), event.get("ts")
    if not isinstance(channel, str) or not isinstance(ts, str):
        return None
    root = event.get("thread_ts")
    root = root if isinstance(root, str) else ts
    direct = event.get("channel_type") == "im"
    return Message(channel, ts, root, user, message_text(event), direct)


def mentions(text: str, bot_user_id: str | None) -> bool:
    """Whether the text mentions the bot."""
    return bot_user_id is not None and f"<@{bot_user_id}" in text


def mention_command(text: str) -> str | None:
    """'stop' or 'start' when a mention says only that, else None."""
    words = _MENTION.sub(" ", text).strip(" \t\n.!").lower()
    words = " ".join(words.split())
    if words in STOP_WORDS:
        return "stop"
    if words in START_WORDS:
        return "start"
    return None


class HelpChannel:
    """The listeners, bound to one engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.cache = engine.cache
        self.titles = {entry.id: entry.title for entry in engine.taxonomy.entries()}

    # -- listeners ----------------------------------------------------------------------------

    async def on_message(
        self, event: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
    ) -> None:
        """A message in any channel the bot reads."""
        msg = parse(event, context.bot_user_id)
        if msg is not None:
            asked = msg.direct or mentions(msg.text, context.bot_user_id)
            await self.handle(msg, client, mentioned=asked)

    async def on_mention(
        self, event: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
    ) -> None:
        """@model-access in any channel the bot is in."""
        msg = parse(event, context.bot_user_id)
        if msg is not None:
            await self.handle(msg, client, mentioned=True)

    async def on_reaction(self, event: dict[str, Any]) -> None:
        """:mute: on a bot reply or a thread parent silences that thread."""
        item = event.get("item") or {}
        if event.get("reaction") != MUTE_REACTION or item.get("type") != "message":
            return
        channel, ts = item.get("channel"), item.get("ts")
        if isinstance(channel, str) and isinstance(ts, str):
            root = await dedupe.thread_of(self.cache, channel, ts)
            await dedupe.mute(self.cache, channel, root)
            log.info("help_thread_muted", channel=channel, thread_ts=root, via="reaction")

    # -- the decision -------------------------------------------------------------------------

    async def handle(self, msg: Message, client: AsyncWebClient, *, mentioned: bool) -> None:
        """Warn about secrets, answer an error, or obey a command; at most one post per message."""
        if mentioned and (command := mention_command(msg.text)) is not None:
            await self._command(msg, client, command)
            return
        secrets = secret_guard.scan(msg.text)
        asked = mentioned or msg.channel in self.engine.config.help_channels
        diagnosis = self.detect(msg.text) if asked else None
        if diagnosis is None and mentioned and msg.in_thread:
            diagnosis = self.detect(await self._parent_text(client, msg))
        if not secrets and diagnosis is None and not mentioned:
            return
        if not await dedupe.claim_message(self.cache, msg.channel, msg.ts):
            log.info("help_message_already_handled", channel=msg.channel, ts=msg.ts)
            return
        wants = diagnosis is not None or mentioned
        # An attempt that finds its reply already posted finishes it, past the noise rules.
        again = await dedupe.answer_of(self.cache, msg.channel, msg.ts) is not None
        answer = wants and (again or await self._may_answer(msg, mentioned=mentioned))
        if secrets:
            log.warning(
                "secret_pasted",
                channel=msg.channel,
                ts=msg.ts,
                kinds=sorted({s.kind for s in secrets}),
                fingerprints=[s.fingerprint for s in secrets],
            )
        if answer:
            await self._answer(msg, client, secrets, diagnosis)
        elif secrets:
            await self._post(
                msg, client, help_render.reply(titles=self.titles, secrets=secrets, diagnosis=None)
            )

    def detect(self, text: str) -> Diagnosis | None:
        """The pasted error's diagnosis: the cheap pre-filter first, None when it is not an error."""
        if not text or not self.engine.classifier.prefilter(text):
            return None
        diagnosis = self.engine.explain(text)
        return None if diagnosis.cause == Cause.NOT_AN_ERROR else diagnosis

    async def _may_answer(self, msg: Message, *, mentioned: bool) -> bool:
        """Noise control: muted threads, one unprompted reply per thread, a channel budget."""
        where = {"channel": msg.channel, "thread_ts": msg.root}
        if await dedupe.is_muted(self.cache, msg.channel, msg.root):
            log.info("help_reply_suppressed", reason="thread_muted", **where)
            return False
        first = await dedupe.claim_thread(self.cache, msg.channel, msg.root)
        if not first and not mentioned:
            log.info("help_reply_suppressed", reason="thread_already_answered", **where)
            return False
        if not await dedupe.channel_budget_left(self.cache, msg.channel):
            log.warning("help_reply_suppressed", reason="channel_rate_limit", **where)
            return False
        return True

    # -- doing it -----------------------------------------------------------------------------

    async def _answer(
        self,
        msg: Message,
        client: AsyncWebClient,
        secrets: list[FoundSecret],
        diagnosis: Diagnosis | None,
    ) -> None:
        """Post the diagnosis at once; edit that reply when the live check is in.

        A live check done within QUICK_LIVE_S (cached, or nothing to probe) goes into the
        first post. A reply an earlier attempt at this message posted is edited, not posted
        again.
        """
        await self._react(client, "reactions_add", msg)
        task: asyncio.Future[LiveCheck] | None = None
        try:
            facts = live = None
            if diagnosis is not None and diagnosis.model:
                await self.engine.record_ask(diagnosis.model)
                facts = self.engine.model_facts(diagnosis.model, diagnosis.provider)
                task = asyncio.ensure_future(
                    self.engine.live_check(diagnosis.model, diagnosis.provider)
                )
                if (await asyncio.wait({task}, timeout=QUICK_LIVE_S))[0]:
                    live, task = task.result(), None
            answer = functools.partial(
                help_render.reply,
                titles=self.titles,
                secrets=secrets,
                diagnosis=diagnosis,
                facts=facts,
                hint=diagnosis is None,
            )
            checking = diagnosis.model if task is not None and diagnosis is not None else None
            reply_ts = await self._post_once(msg, client, answer(live=live, checking=checking))
            if reply_ts is None:
                return
            log.info(
                "help_reply_posted",
                channel=msg.channel,
                ts=msg.ts,
                cause=diagnosis.cause if diagnosis else None,
                model=diagnosis.model if diagnosis else None,
                live=bool(live and live.report),
                pending=task is not None,
                secrets=len(secrets),
            )
            if task is not None:
                live = await task
                if await edit_reply(client, msg.channel, reply_ts, answer(live=live)):
                    log.info("help_reply_updated", channel=msg.channel, ts=msg.ts)
        finally:
            if task is not None and not task.done():
                task.cancel()
            await self._react(client, "reactions_remove", msg)

    async def _post_once(self, msg: Message, client: AsyncWebClient, reply: Reply) -> str | None:
        """The reply's ts: posted now, or an earlier attempt's reply brought up to `reply`."""
        earlier = await dedupe.answer_of(self.cache, msg.channel, msg.ts)
        if earlier is None:
            return await self._post(msg, client, reply)
        log.info("help_reply_exists", channel=msg.channel, ts=msg.ts)
        return earlier if await edit_reply(client, msg.channel, earlier, reply) else None

    async def _post(self, msg: Message, client: AsyncWebClient, reply: Reply) -> str | None:
        """Post the reply in the message's thread and remember it; None when Slack refuses."""
        reply_ts = await post_reply(client, msg.channel, msg.root, reply)
        if reply_ts is not None:
            await dedupe.remember_answer(self.cache, msg.channel, msg.ts, reply_ts)
            await dedupe.remember_reply(self.cache, msg.channel, reply_ts, msg.root)
        return reply_ts

    async def _react(self, client: AsyncWebClient, method: str, msg: Message) -> None:
        try:
            await getattr(client, method)(
                channel=msg.channel, timestamp=msg.ts, name=WORKING_REACTION
            )
        except SlackApiError as exc:
            log.info("help_reaction_failed", method=method, error=slack_error(exc))

    async def _command(self, msg: Message, client: AsyncWebClient, command: str) -> None:
        if not await dedupe.claim_message(self.cache, msg.channel, msg.ts):
            return
        if not msg.in_thread:
            if msg.user is not None:
                await _quietly(
                    client.chat_postEphemeral(
                        channel=msg.channel,
                        user=msg.user,
                        text=f"Say `@model-access {command}` inside a thread to apply it there.",
                    )
                )
            return
        if command == "stop":
            await dedupe.mute(self.cache, msg.channel, msg.root)
        else:
            await dedupe.unmute(self.cache, msg.channel, msg.root)
        log.info(
            "help_thread_muted" if command == "stop" else "help_thread_unmuted",
            channel=msg.channel,
            thread_ts=msg.root,
            via="mention",
        )
        await _quietly(
            client.reactions_add(channel=msg.channel, timestamp=msg.ts, name=DONE_REACTION)
        )

    async def _parent_text(self, client: AsyncWebClient, msg: Message) -> str:
        """The thread parent's text, for a mention that asks about the error above it."""
        try:
            resp = await client.conversations_replies(
                channel=msg.channel, ts=msg.root, limit=1, inclusive=True
            )
        except SlackApiError as exc:
            log.info("help_parent_unreadable", channel=msg.channel, error=slack_error(exc))
            return ""
        for parent in resp.get("messages") or []:
            if parent.get("ts") == msg.root and not parent.get("bot_id"):
                return message_text(parent)
        return ""


async def _quietly(call: Any) -> None:
    """Await a Slack call whose failure changes nothing for the user (logged, not raised)."""
    try:
        await call
    except SlackApiError as exc:
        log.info("slack_call_failed", error=slack_error(exc))


def register(app: AsyncApp, engine: Engine) -> HelpChannel:
    """Add the help-channel, mention and :mute: listeners (with event dedupe) to the app."""
    help_channel = HelpChannel(engine)
    once = dedupe.EventOnce(engine.cache)
    app.event("message", middleware=[once])(help_channel.on_message)
    app.event("app_mention", middleware=[once])(help_channel.on_mention)
    app.event("reaction_added", middleware=[once])(help_channel.on_reaction)
    return help_channel
