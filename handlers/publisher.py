"""Posting broadcasts to Slack: `SlackPublisher` is the `bot.broadcasts.deprecations.Publisher`
the worker uses. It posts with a bounded retry loop that honours 429 Retry-After and backs
off on 5xx and connection errors, and reports False when the post finally fails, so the
outbox keeps the message pending for the next pass.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

import aiohttp
import structlog
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.broadcasts.deprecations import Announcement
from bot.broadcasts.inventory import Change
from bot.redact import mask_any
from handlers.render.blocks import Block
from handlers.render.notices import (
    announcement_blocks,
    announcement_text,
    changes_blocks,
    changes_text,
)

log = structlog.get_logger(__name__)


# -- posting ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try one post: attempts, exponential backoff, and a cap on Retry-After."""

    attempts: int = 5
    base_delay_s: float = 1.0
    max_delay_s: float = 30.0
    max_retry_after_s: float = 60.0


def _delay(exc: BaseException, attempt: int, policy: RetryPolicy) -> float | None:
    """Seconds to wait before retrying, or None if this error will not go away by retrying."""
    backoff: float = min(policy.base_delay_s * 2.0**attempt, policy.max_delay_s)
    if isinstance(exc, SlackApiError):
        status: int = exc.response.status_code
        if status == 429:
            header = exc.response.headers.get("Retry-After", "1")
            try:
                wait = float(header)
            except ValueError:
                wait = backoff
            return min(max(wait, 0.0), policy.max_retry_after_s)
        return backoff if status >= 500 else None
    return backoff  # connection trouble and timeouts


def _describe(exc: BaseException) -> tuple[str, int | None]:
    if not isinstance(exc, SlackApiError):
        return type(exc).__name__, None
    data = exc.response.data
    error = data.get("error") if isinstance(data, dict) else None
    return str(error or "http_error"), exc.response.status_code


async def post(
    client: AsyncWebClient,
    channel: str,
    text: str,
    blocks: Sequence[Block],
    policy: RetryPolicy = RetryPolicy(),
) -> bool:
    """chat.postMessage with retries; True once Slack accepted the message."""
    payload = mask_any(list(blocks))
    for attempt in range(policy.attempts):
        try:
            await client.chat_postMessage(
                channel=channel, text=text, blocks=payload, unfurl_links=False
            )
            return True
        except (SlackApiError, aiohttp.ClientError, TimeoutError, OSError) as exc:
            wait = _delay(exc, attempt, policy)
            error, status = _describe(exc)
            log.warning(
                "slack_post_failed",
                channel=channel,
                attempt=attempt + 1,
                status=status,
                error=error,
                retry_in_s=wait,
            )
            if wait is None or attempt + 1 >= policy.attempts:
                return False
            await asyncio.sleep(wait)
    return False


class SlackPublisher:
    """The broadcast channel as a `bot.broadcasts.deprecations.Publisher`, at most one post per min_interval_s."""

    def __init__(
        self,
        client: AsyncWebClient,
        channel: str,
        *,
        policy: RetryPolicy = RetryPolicy(),
        min_interval_s: float = 1.0,
    ) -> None:
        self.client = client
        self.channel = channel
        self.policy = policy
        self.min_interval_s = min_interval_s  # Slack: about one message per second per channel
        self._last = 0.0

    async def _post(self, text: str, blocks: Sequence[Block]) -> bool:
        wait = self._last + self.min_interval_s - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        try:
            return await post(self.client, self.channel, text, blocks, self.policy)
        finally:
            self._last = time.monotonic()

    async def announce(self, item: Announcement) -> bool:
        """Post a deprecation notice or update."""
        return await self._post(announcement_text(item), announcement_blocks(item))

    async def changes(self, items: Sequence[Change]) -> bool:
        """Post a batch of availability changes."""
        if not items:
            return True
        return await self._post(changes_text(items), changes_blocks(items))
