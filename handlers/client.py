"""The Slack Web API client every part of the app and the worker shares."""

from __future__ import annotations

from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Env


def build_client(env: Env) -> AsyncWebClient:
    """The Web API client: bot token, SLACK_API_URL, and retries that honour 429 Retry-After."""
    token = env.SLACK_BOT_TOKEN.get_secret_value() if env.SLACK_BOT_TOKEN else None
    client = AsyncWebClient(token=token, base_url=env.SLACK_API_URL)
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=2))
    return client
