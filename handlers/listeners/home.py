"""App Home: on `app_home_opened`, publish the user's Home tab (key health, shutdowns, usage)."""

from __future__ import annotations

from typing import Any

import structlog
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from handlers.answers import Answers
from handlers.render.home import HOME_SHUTDOWN_DAYS, home

log = structlog.get_logger(__name__)


async def build_home(answers: Answers) -> dict[str, Any]:
    """The Home view from the engine's current health, calendar and ask counts."""
    engine = answers.engine
    shutdowns = await engine.deprecations(HOME_SHUTDOWN_DAYS)
    asks = await engine.ask_counts([r.model for r in shutdowns])
    health = await engine.health()
    return home(health, shutdowns, asks, engine.today(), cache=engine.cache.status)


def register(app: AsyncApp, answers: Answers) -> None:
    """Add the app_home_opened listener."""

    async def on_home_opened(event: dict[str, Any], client: AsyncWebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        user_id = str(event.get("user", ""))
        async with answers.guard("app_home"):
            view = await build_home(answers)
            await client.views_publish(user_id=user_id, view=view)
            answers.metrics.replies.labels("home").inc()
            log.info("home_published", blocks=len(view.get("blocks", [])))

    app.event("app_home_opened")(on_home_opened)
