"""App Home: opening the bot's Home tab shows key health, coming shutdowns and how to use it."""

from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from slack_sdk.models.views import View

from bot.broadcasts.calendar import calendar
from bot.cache import Cache
from bot.config import AppConfig
from bot.knowledge.load import load_knowledge
from bot.results import Deprecation
from tests.fakes.providers import HANG_S, Account
from tests.slack_helpers import USER, SlackWorld, block_texts, fake_openai_key, slack_world


def home_opened(tab: str = "home") -> dict[str, Any]:
    """The app_home_opened event Slack sends when the user opens a tab."""
    return {"type": "app_home_opened", "user": USER, "channel": "D0HOME0001", "tab": tab}


async def published(world: SlackWorld, count: int = 1) -> dict[str, Any]:
    """The latest view the app published."""
    calls = await world.slack.wait_for("views.publish", count)
    assert calls[-1].body["user_id"] == USER
    view = calls[-1].body["view"]
    assert isinstance(view, dict)
    return view


def two_close_shutdowns() -> tuple[Deprecation, Deprecation]:
    """Two catalog models whose shutdowns are less than 60 days apart (the earlier one first)."""
    catalog, _ = load_knowledge(AppConfig())
    dated = [r for r in calendar(catalog, datetime(2000, 1, 1).date()) if r.shutdown]
    dated.sort(key=lambda r: r.shutdown or datetime.max.date())
    for first, second in itertools.pairwise(dated):
        assert first.shutdown is not None and second.shutdown is not None
        if first.model != second.model and 1 <= (second.shutdown - first.shutdown).days <= 60:
            return first, second
    raise AssertionError("the catalog has no two shutdowns within 60 days of each other")


async def test_home_shows_keys_usage_and_health(
    tmp_path: Path, redis_url: str, cache_prefix: str, cache: Cache
) -> None:
    """The Home tab lists both keys (never probed, then probed) and how to use the bot."""
    async with slack_world(tmp_path, redis_url, cache_prefix) as world:
        assert (await world.event(home_opened())).status == 200
        view = await published(world)
        View(**view).to_dict()
        assert view["type"] == "home" and len(view["blocks"]) <= 100
        text = block_texts(view["blocks"])
        assert "/model-access gpt-4o" in text
        assert "*prod*" in text and "*dev*" in text and "never probed yet" in text
        _, rid = await world.command("gpt-4o")
        await world.answer(rid)
        await world.event(home_opened())
        text = block_texts((await published(world, 2))["blocks"])
        assert "✅ last probe" in text and "❌ last probe" in text


async def test_models_people_ask_about_come_first(
    tmp_path: Path, redis_url: str, cache_prefix: str, cache: Cache
) -> None:
    """Of two coming shutdowns, the one people asked about is listed first even if it is later."""
    first, second = two_close_shutdowns()
    assert first.shutdown is not None
    today = datetime.combine(first.shutdown - timedelta(days=5), datetime.min.time(), UTC)
    async with slack_world(tmp_path, redis_url, cache_prefix, clock=lambda: today) as world:
        await world.engine.record_ask(second.model)
        await world.event(home_opened())
        text = block_texts((await published(world))["blocks"])
        assert text.index(f"`{second.model}`") < text.index(f"`{first.model}`")
        assert "asked about 1 time in 30 days" in text


async def test_other_tabs_publish_nothing(
    tmp_path: Path, redis_url: str, cache_prefix: str, cache: Cache
) -> None:
    """Opening the Messages tab does not publish a Home view."""
    async with slack_world(tmp_path, redis_url, cache_prefix) as world:
        await world.event(home_opened(tab="messages"))
        await world.settle()
        assert world.slack.of("views.publish") == []


async def test_home_is_published_at_once_even_while_a_key_hangs(
    tmp_path: Path, redis_url: str, cache_prefix: str, cache: Cache
) -> None:
    """App Home reads only Redis and the catalog: with dev's provider hanging it is published within 2 s, no provider asked."""
    accounts = [
        Account(fake_openai_key("prod"), models=["gpt-4o"]),
        Account(fake_openai_key("dev0"), models=["gpt-4o"], latency=HANG_S),
    ]
    async with slack_world(tmp_path, redis_url, cache_prefix, accounts=accounts) as world:
        started = time.monotonic()
        await world.event(home_opened())
        (publish,) = await world.slack.wait_for("views.publish", timeout=2.0)
        assert publish.at - started < 2.0
        assert "prod" in block_texts(publish.body["view"]["blocks"])
        assert world.openai.count() == 0
