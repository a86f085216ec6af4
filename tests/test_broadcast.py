"""Deprecation broadcasts: the calendar, due notices, ask counts, and posting each notice once.

Stories run against a real Redis (the `redis_url` fixture), the fake Slack Web API and a
clock the test moves by hand. "Two workers" are two Engines sharing one cache prefix,
running the pass concurrently, as two replicas would.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import SecretStr
from slack_sdk.web.async_client import AsyncWebClient

from bot.broadcasts import asks
from bot.broadcasts import calendar as broadcast
from bot.broadcasts.calendar import threshold_for
from bot.broadcasts.deprecations import Announcement
from bot.broadcasts.inventory import Snapshot, snapshot_key
from bot.broadcasts.outbox import Outbox
from bot.cache import Cache
from bot.config import AppConfig, Env
from bot.engine import Engine
from bot.keys import Key
from bot.knowledge.catalog import Catalog
from bot.knowledge.taxonomy import Taxonomy
from handlers.publisher import RetryPolicy, SlackPublisher
from handlers.render.notices import announcement_blocks, announcement_text
from tests.fakes.slack import BOT_TOKEN, FakeSlack

CHANNEL = "C0NOTICES"
FAST = RetryPolicy(attempts=3, base_delay_s=0.01, max_delay_s=0.02, max_retry_after_s=0.05)
DAY0 = date(2027, 1, 1)

# -- helpers shared with test_inventory.py and test_worker.py ---------------------------------


@dataclass
class Clock:
    """A clock the test moves by hand."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def day(self, d: date, hour: int = 9) -> datetime:
        """Set the clock to `d` at `hour` UTC and return it."""
        self.now = datetime(d.year, d.month, d.day, hour, tzinfo=UTC)
        return self.now


def at(d: date, hour: int = 9) -> datetime:
    """A UTC moment on day d."""
    return datetime(d.year, d.month, d.day, hour, tzinfo=UTC)


def model(
    id: str,
    shutdown: date | None,
    replacement: str | None = None,
    provider: str = "openai",
    **extra: Any,
) -> dict[str, Any]:
    """One catalog row as an operator would write it."""
    row: dict[str, Any] = {
        "id": id,
        "provider": provider,
        "family": id.rsplit("-", 1)[0],
        "endpoints": ["chat"],
        "status": "deprecated" if shutdown else "active",
        "as_of": "2026-11-22",
        "source": "test",
        **extra,
    }
    if shutdown is not None:
        row["shutdown"] = shutdown.isoformat()
        row["announced"] = (shutdown - timedelta(days=180)).isoformat()
    if replacement is not None:
        row["replacement"] = replacement
    return row


def catalog_file(path: Path, rows: Sequence[dict[str, Any]]) -> Path:
    """Write rows as an operator catalog file."""
    data = {"sources": {"test": "made up for a test"}, "models": list(rows)}
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def catalog_of(tmp_path: Path, rows: Sequence[dict[str, Any]], name: str = "ours.yaml") -> Catalog:
    """A catalog holding only these rows (the bundled one is far larger)."""
    return Catalog.only(catalog_file(tmp_path / name, rows))


def make_key(alias: str, base_url: str | None = None, provider: str = "openai") -> Key:
    """A key with an obviously fake secret, built at run time."""
    secret = "sk-proj-" + "FAKE0" * 4 + alias.upper()  # fingerprint: the alias' last 4
    return Key(alias=alias, provider=provider, secret=SecretStr(secret), base_url=base_url)  # type: ignore[arg-type]


@asynccontextmanager
async def engine_on(
    redis_url: str,
    prefix: str,
    catalog: Catalog,
    clock: Clock,
    *,
    keys: Sequence[Key] = (),
    **config: Any,
) -> AsyncIterator[Engine]:
    """An Engine with its own Redis connection on a shared prefix (one 'replica')."""
    cache = await Cache.connect(redis_url, prefix=prefix)
    settings = AppConfig(**{"broadcast_channel": CHANNEL, **config})
    engine = Engine(Env(), settings, list(keys), catalog, Taxonomy.load(), cache, clock)
    try:
        yield engine
    finally:
        await engine.prober.aclose()
        await engine.close()


def publisher(slack: FakeSlack, policy: RetryPolicy = FAST) -> SlackPublisher:
    """The real Slack publisher, pointed at the fake Web API, without pacing."""
    client = AsyncWebClient(token=BOT_TOKEN, base_url=slack.api_url)
    return SlackPublisher(client, CHANNEL, policy=policy, min_interval_s=0)


def posted(slack: FakeSlack) -> list[str]:
    """Fallback texts of the messages Slack accepted (failed attempts excluded)."""
    texts = []
    for call in slack.of("chat.postMessage"):
        texts.append(str(call.body.get("text")))
    return texts


def headers(slack: FakeSlack) -> list[str]:
    """The header line of every chat.postMessage call."""
    out = []
    for call in slack.of("chat.postMessage"):
        blocks = call.body.get("blocks") or []
        out += [b["text"]["text"] for b in blocks if b.get("type") == "header"]
    return out


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def emptied_namespace(cache: Cache) -> None:
    """Each test's Redis namespace is checked for secrets and emptied afterwards (by `cache`)."""


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    """A fake Slack Web API on 127.0.0.1."""
    async with FakeSlack() as fake:
        yield fake


@pytest.fixture
def clock() -> Clock:
    """A clock set to the morning of DAY0."""
    return Clock(at(DAY0))


@pytest.fixture
def five(tmp_path: Path) -> Catalog:
    """Five models shutting down at different points within the next 120 days, and one active."""
    return catalog_of(
        tmp_path,
        [
            model("alpha-1", DAY0 + timedelta(days=100), "alpha-2"),
            model("bravo-1", DAY0 + timedelta(days=95), "bravo-2"),
            model("charlie-1", DAY0 + timedelta(days=60)),
            model("delta-1", DAY0 + timedelta(days=20), "delta-2"),
            model("echo-1", DAY0 + timedelta(days=119), "echo-2"),
            model("alpha-2", None),
            model("bravo-2", None),
            model("delta-2", None),
            model("echo-2", None),
        ],
    )


# -- the calendar and due notices --------------------------------------------------------------


def test_calendar_is_soonest_first_and_within_limits_the_window(five: Catalog) -> None:
    """The calendar lists dated models soonest first; --within keeps only the next N days."""
    rows = broadcast.calendar(five, DAY0, None)
    assert [r.model for r in rows] == ["delta-1", "charlie-1", "bravo-1", "alpha-1", "echo-1"]
    assert [r.model for r in broadcast.calendar(five, DAY0, 60)] == ["delta-1", "charlie-1"]
    later = broadcast.calendar(five, DAY0 + timedelta(days=30), None)
    assert later[0].model == "delta-1" and later[0].status == "retired"
    assert [r.model for r in broadcast.calendar(five, DAY0 + timedelta(days=30), 40)] == [
        "charlie-1"
    ]


def test_due_notices_are_exactly_the_threshold_days(five: Catalog) -> None:
    """A notice is due only on the day a model is exactly 90, 30, 7 or 1 days from shutdown."""
    day = DAY0 + timedelta(days=10)  # alpha-1 at 90 days, delta-1 at 10
    due = broadcast.due_notices(five, day, (90, 30, 7, 1))
    assert [n.to_json() for n in due] == [
        {
            "model": "alpha-1",
            "provider": "openai",
            "shutdown": "2027-04-11",
            "days_left": 90,
            "threshold": 90,
            "replacement": "alpha-2",
        }
    ]
    assert broadcast.due_notices(five, day + timedelta(days=1), (90, 30, 7, 1)) == []
    assert [n.model for n in broadcast.due_notices(five, DAY0 + timedelta(days=19), (1,))] == [
        "delta-1"
    ]


@pytest.mark.parametrize(
    ("days_left", "expected"),
    [(120, None), (90, 90), (89, 90), (30, 30), (8, 30), (7, 7), (1, 1), (0, 1), (-1, None)],
)
def test_threshold_for_picks_the_smallest_crossed_threshold(
    days_left: int, expected: int | None
) -> None:
    """The notice due is the smallest threshold at or above the days left; none once past."""
    assert threshold_for(days_left, (90, 30, 7, 1)) == expected


# -- ask counting -----------------------------------------------------------------------------


async def test_asks_count_over_the_last_thirty_days(cache: Cache) -> None:
    """Questions are counted per model for 30 days, case-insensitively, then fall out."""
    start = at(DAY0)
    for _ in range(3):
        await asks.record_ask(cache, "GPT-4", start)
    await asks.record_ask(cache, "gpt-4", start + timedelta(days=10))
    await asks.record_ask(cache, "o3", start + timedelta(days=10))
    counts = await asks.ask_counts(cache, ["gpt-4", "o3", "never"], start + timedelta(days=29))
    assert counts == {"gpt-4": 4, "o3": 1, "never": 0}
    later = await asks.ask_counts(cache, ["gpt-4"], start + timedelta(days=30))
    assert later == {"gpt-4": 1}


# -- the deprecation pass ---------------------------------------------------------------------


async def test_two_workers_on_the_same_day_post_each_notice_once(
    redis_url: str, cache_prefix: str, five: Catalog, clock: Clock, slack: FakeSlack
) -> None:
    """Two replicas running the pass at the same moment post each due notice exactly once."""
    async with (
        engine_on(redis_url, cache_prefix, five, clock) as a,
        engine_on(redis_url, cache_prefix, five, clock) as b,
    ):
        pub = publisher(slack)
        for _ in range(3):
            await asyncio.gather(a.deprecation_pass(pub), b.deprecation_pass(pub))
    # On DAY0: delta-1 (20 days) is due its 30-day notice, charlie-1 (60) its 90-day one.
    assert sorted(headers(slack)) == [
        "charlie-1 shuts down in 60 days",
        "delta-1 shuts down in 20 days",
    ]


async def test_outage_across_a_threshold_day_posts_one_late_notice_after_restart(
    redis_url: str, cache_prefix: str, tmp_path: Path, clock: Clock, slack: FakeSlack
) -> None:
    """A worker down over the 30- and 7-day marks posts one late 7-day notice when it is back."""
    shutdown = DAY0 + timedelta(days=40)
    catalog = catalog_of(tmp_path, [model("gpt-x", shutdown, "gpt-y"), model("gpt-y", None)])
    async with engine_on(redis_url, cache_prefix, catalog, clock) as engine:
        await engine.deprecation_pass(publisher(slack), now=at(DAY0))  # 90-day notice (late)
    assert headers(slack) == ["gpt-x shuts down in 40 days"]
    # Down from day 1 to day 34 (the 30-day mark was day 10, the 7-day mark day 33).
    async with engine_on(redis_url, cache_prefix, catalog, clock) as restarted:
        report = await restarted.deprecation_pass(
            publisher(slack), now=at(DAY0 + timedelta(days=35))
        )
        again = await restarted.deprecation_pass(
            publisher(slack), now=at(DAY0 + timedelta(days=36))
        )
    assert report.posted == [f"notice:openai:gpt-x:{shutdown}:7"]
    assert again.posted == []
    last = slack.of("chat.postMessage")[-1].body
    assert f"The 7-day mark was {shutdown - timedelta(days=7)}" in str(last["blocks"])
    assert headers(slack) == ["gpt-x shuts down in 40 days", "gpt-x shuts down in 5 days"]


async def test_a_notice_is_never_posted_for_a_threshold_above_one_sent(
    redis_url: str, cache_prefix: str, tmp_path: Path, clock: Clock, slack: FakeSlack
) -> None:
    """Once the 7-day notice went out, no later pass sends a 30- or 90-day one for that date."""
    shutdown = DAY0 + timedelta(days=5)
    catalog = catalog_of(tmp_path, [model("gpt-x", shutdown)])
    async with engine_on(redis_url, cache_prefix, catalog, clock) as engine:
        first = await engine.deprecation_pass(publisher(slack), now=at(DAY0))
        for back in (1, 2):  # a clock that jumps backwards (a replica with a skewed clock)
            await engine.deprecation_pass(
                publisher(slack), now=at(DAY0 - timedelta(days=30 * back))
            )
    assert first.posted == [f"notice:openai:gpt-x:{shutdown}:7"]
    assert len(slack.of("chat.postMessage")) == 1


async def test_slack_429_then_success_posts_once(
    redis_url: str, cache_prefix: str, tmp_path: Path, clock: Clock, slack: FakeSlack
) -> None:
    """A rate-limited post is retried after Retry-After and the notice goes out once."""
    catalog = catalog_of(tmp_path, [model("gpt-x", DAY0 + timedelta(days=30))])
    slack.fail_next("chat.postMessage", 429)
    async with engine_on(redis_url, cache_prefix, catalog, clock) as engine:
        first = await engine.deprecation_pass(publisher(slack))
        second = await engine.deprecation_pass(publisher(slack))
    assert len(first.posted) == 1 and second.posted == []
    calls = slack.of("chat.postMessage")
    assert len(calls) == 2  # the 429, then the one that was accepted
    assert calls[0].body == calls[1].body


async def test_slack_500_every_time_leaves_the_notice_pending_for_the_next_pass(
    redis_url: str, cache_prefix: str, tmp_path: Path, clock: Clock, slack: FakeSlack
) -> None:
    """When every retry gets a 500 the notice stays pending, and the next pass posts it."""
    shutdown = DAY0 + timedelta(days=7)
    catalog = catalog_of(tmp_path, [model("gpt-x", shutdown)])
    slack.fail_next("chat.postMessage", *[500] * FAST.attempts)
    async with engine_on(redis_url, cache_prefix, catalog, clock) as engine:
        failed = await engine.deprecation_pass(publisher(slack))
        outbox = Outbox(engine.cache.client, engine.cache, "deprecation")  # type: ignore[arg-type]
        assert await outbox.state(f"notice:openai:gpt-x:{shutdown}:7") == "pending"
        retried = await engine.deprecation_pass(publisher(slack))
        assert await outbox.state(f"notice:openai:gpt-x:{shutdown}:7") == "sent"
    assert failed.failed == [f"notice:openai:gpt-x:{shutdown}:7"] and failed.posted == []
    assert retried.posted == [f"notice:openai:gpt-x:{shutdown}:7"]
    assert len(slack.of("chat.postMessage")) == FAST.attempts + 1


async def test_a_worker_that_died_mid_post_is_taken_over_after_its_lease(
    redis_url: str, cache_prefix: str, tmp_path: Path, clock: Clock, slack: FakeSlack
) -> None:
    """A record leased by a worker that died is left alone for 10 minutes, then posted by another."""
    shutdown = DAY0 + timedelta(days=1)
    catalog = catalog_of(tmp_path, [model("gpt-x", shutdown)])
    async with engine_on(redis_url, cache_prefix, catalog, clock) as engine:
        dead = Outbox(engine.cache.client, engine.cache, "deprecation")  # type: ignore[arg-type]
        await dead.add(
            f"notice:openai:gpt-x:{shutdown}:1",
            {"kind": "notice", "key": "openai:gpt-x", "shutdown": str(shutdown), "threshold": 1},
            at(DAY0),
        )
        assert len(await dead.take_all(at(DAY0))) == 1  # ... and the worker dies here
        soon = await engine.deprecation_pass(publisher(slack), now=at(DAY0) + timedelta(minutes=5))
        later = await engine.deprecation_pass(
            publisher(slack), now=at(DAY0) + timedelta(minutes=11)
        )
    assert soon.posted == []
    assert later.posted == [f"notice:openai:gpt-x:{shutdown}:1"]
    assert len(slack.of("chat.postMessage")) == 1


async def test_models_people_ask_about_come_first_and_say_so(
    redis_url: str, cache_prefix: str, five: Catalog, clock: Clock, slack: FakeSlack
) -> None:
    """Of two notices due the same day, the model asked about goes first with its ask count."""
    async with engine_on(redis_url, cache_prefix, five, clock) as engine:
        for _ in range(14):
            await engine.record_ask("charlie-1")
        await engine.deprecation_pass(publisher(slack))
    first, second = slack.of("chat.postMessage")
    assert "charlie-1" in first.body["text"]
    assert "Asked about 14 times this month" in str(first.body["blocks"])
    assert "Asked about" not in str(second.body["blocks"])


async def test_a_notice_carries_date_days_replacement_fix_and_affected_keys(
    redis_url: str, cache_prefix: str, tmp_path: Path, clock: Clock, slack: FakeSlack
) -> None:
    """The notice names the model, date, days left, replacement, the migration fix and the keys using it."""
    shutdown = DAY0 + timedelta(days=30)
    catalog = catalog_of(tmp_path, [model("gpt-x", shutdown, "gpt-y"), model("gpt-y", None)])
    keys = [make_key("prod"), make_key("dev")]
    async with engine_on(redis_url, cache_prefix, catalog, clock, keys=keys) as engine:
        for key, models in ((keys[0], ["gpt-x", "gpt-y"]), (keys[1], ["gpt-y"])):
            snap = Snapshot(key.alias, "openai", key.fingerprint, tuple(models), {}, 1, at(DAY0))
            await engine.cache.set_json(snapshot_key(engine.cache, key), snap.to_json(), 600)
        await engine.deprecation_pass(publisher(slack))
    (call,) = slack.of("chat.postMessage")
    text = str(call.body["blocks"])
    assert call.body["channel"] == CHANNEL
    assert call.body["text"].startswith("gpt-x (OpenAI) shuts down on 2027-01-31, in 30 days.")
    for fact in ("`gpt-x`", "2027-01-31", "30 days left", "`gpt-y`", "Move to gpt-y"):
        assert fact in text
    assert f"prod (…{keys[0].fingerprint})" in text and "dev (" not in text


async def test_a_moved_date_gets_one_update_and_a_fresh_series(
    redis_url: str, cache_prefix: str, tmp_path: Path, clock: Clock, slack: FakeSlack
) -> None:
    """When the provider moves a shutdown after our notice, one message says so, then the series restarts."""
    old = DAY0 + timedelta(days=30)
    new = DAY0 + timedelta(days=200)
    others = [model("gpt-y", None)]
    before = catalog_of(tmp_path, [model("gpt-x", old, "gpt-y"), *others], "before.yaml")
    after = catalog_of(tmp_path, [model("gpt-x", new, "gpt-y"), *others], "after.yaml")
    async with engine_on(redis_url, cache_prefix, before, clock) as engine:
        await engine.deprecation_pass(publisher(slack), now=at(DAY0))
        for offset in (1, 2, 3):
            await engine.deprecation_pass(
                publisher(slack), now=at(DAY0 + timedelta(days=offset)), catalog=after
            )
        await engine.deprecation_pass(
            publisher(slack), now=at(new - timedelta(days=90)), catalog=after
        )
    assert headers(slack) == [
        "gpt-x shuts down in 30 days",
        f"gpt-x: shutdown date moved to {new}",
        "gpt-x shuts down in 90 days",
    ]
    assert f"moved from {old} to *{new}*" in str(slack.of("chat.postMessage")[1].body["blocks"])


async def test_a_changed_replacement_gets_one_update(
    redis_url: str, cache_prefix: str, tmp_path: Path, clock: Clock, slack: FakeSlack
) -> None:
    """When the recommended replacement changes after our notice, exactly one update says so."""
    shutdown = DAY0 + timedelta(days=60)
    others = [model("gpt-y", None), model("gpt-z", None)]
    before = catalog_of(tmp_path, [model("gpt-x", shutdown, "gpt-y"), *others], "before.yaml")
    after = catalog_of(tmp_path, [model("gpt-x", shutdown, "gpt-z"), *others], "after.yaml")
    async with engine_on(redis_url, cache_prefix, before, clock) as engine:
        await engine.deprecation_pass(publisher(slack), now=at(DAY0))
        for offset in (1, 2):
            await engine.deprecation_pass(
                publisher(slack), now=at(DAY0 + timedelta(days=offset)), catalog=after
            )
    assert headers(slack) == ["gpt-x shuts down in 60 days", "gpt-x: new recommended replacement"]
    assert "changed from `gpt-y` to `gpt-z`" in str(slack.of("chat.postMessage")[1].body["blocks"])


@pytest.mark.parametrize("listed", ["gpt-x", "gpt-x-latest"])
async def test_a_live_shutdown_date_beats_the_catalog(
    redis_url: str, cache_prefix: str, tmp_path: Path, clock: Clock, slack: FakeSlack, listed: str
) -> None:
    """A shutdown date a provider lists, under the id or an alias, wins over the catalog's."""
    row = model("gpt-x", DAY0 + timedelta(days=300), aliases=["gpt-x-latest"])
    catalog = catalog_of(tmp_path, [row])
    key = make_key("prod")
    live = DAY0 + timedelta(days=7)
    async with engine_on(redis_url, cache_prefix, catalog, clock, keys=[key]) as engine:
        snap = Snapshot("prod", "openai", key.fingerprint, (listed,), {listed: live}, 1, at(DAY0))
        await engine.cache.set_json(snapshot_key(engine.cache, key), snap.to_json(), 600)
        await engine.deprecation_pass(publisher(slack))
        calendar = broadcast.calendar(catalog, DAY0, None, live={("openai", listed): live})
    assert headers(slack) == ["gpt-x shuts down in 7 days"]
    assert [(r.model, r.shutdown) for r in calendar] == [("gpt-x", live)]


async def test_the_same_id_at_two_providers_gets_a_notice_each(
    redis_url: str, cache_prefix: str, tmp_path: Path, clock: Clock, slack: FakeSlack
) -> None:
    """OpenAI and Azure retire the same id on different dates: each gets its own notice."""
    rows = [
        model("gpt-x", DAY0 + timedelta(days=30)),
        model("gpt-x", DAY0 + timedelta(days=7), provider="azure"),
    ]
    async with engine_on(redis_url, cache_prefix, catalog_of(tmp_path, rows), clock) as engine:
        report = await engine.deprecation_pass(publisher(slack))
        again = await engine.deprecation_pass(publisher(slack))
    assert sorted(report.posted) == [
        f"notice:azure:gpt-x:{DAY0 + timedelta(days=7)}:7",
        f"notice:openai:gpt-x:{DAY0 + timedelta(days=30)}:30",
    ]
    assert again.posted == []
    assert [c.body["text"].split(")")[0] for c in slack.of("chat.postMessage")] == [
        "gpt-x (Azure OpenAI",
        "gpt-x (OpenAI",
    ]


# -- acceptance -------------------------------------------------------------------------------


def _day_of(text: str) -> date:
    """The day a notice was posted on, from 'X shuts down on D, in N days.'"""
    shutdown = date.fromisoformat(text.split(" shuts down on ")[1][:10])
    left = text.split(", ")[1]
    days = 1 if left.startswith("tomorrow") else int(left.split()[1])
    return shutdown - timedelta(days=days)


def expected_notices(
    shutdowns: Sequence[date], days: Sequence[date], thresholds: Sequence[int]
) -> int:
    """What the rules promise: per model, one notice per distinct 'smallest threshold crossed'."""
    total = 0
    for shutdown in shutdowns:
        due = {threshold_for((shutdown - d).days, thresholds) for d in days}
        total += len(due - {None})
    return total


async def test_acceptance_two_workers_over_120_days_post_every_notice_once(
    redis_url: str, cache_prefix: str, tmp_path: Path, clock: Clock, slack: FakeSlack
) -> None:
    """Two workers, 120 simulated days, 5 dated models: exactly the notices the dates call for."""
    thresholds = (90, 30, 7, 1)
    names = ["m-91", "m-100", "m-105", "m-112", "m-119"]
    catalog = catalog_of(
        tmp_path,
        [model(n, DAY0 + timedelta(days=int(n[2:])), "m-next") for n in names]
        + [model("m-next", None)],
    )
    days = [DAY0 + timedelta(days=i) for i in range(120)]
    shutdowns = [r.shutdown for r in broadcast.calendar(catalog, DAY0) if r.shutdown]
    expected = expected_notices(shutdowns, days, thresholds)
    assert expected == 5 * len(thresholds)  # every model crosses every threshold in the window
    async with (
        engine_on(redis_url, cache_prefix, catalog, clock) as a,
        engine_on(redis_url, cache_prefix, catalog, clock) as b,
    ):
        pub = publisher(slack)
        for d in days:
            now = at(d)
            await asyncio.gather(a.deprecation_pass(pub, now=now), b.deprecation_pass(pub, now=now))
    texts = posted(slack)
    assert len(texts) == expected
    assert len(set(texts)) == len(texts)
    for name in names:
        shutdown = DAY0 + timedelta(days=int(name[2:]))
        got = sorted((shutdown - _day_of(t)).days for t in texts if t.startswith(name + " "))
        assert got == [1, 7, 30, 90], name


def test_notice_text_from_data_cannot_mention_anyone() -> None:
    """Model ids and key labels are escaped, so catalog or provider data cannot ping a channel."""
    item = Announcement(
        kind="notice",
        model="evil<!channel>",
        provider="openai",
        shutdown=DAY0,
        days_left=7,
        threshold=7,
        replacement="<@U123>",
        affected=("prod <!here> (…ABCD)",),
    )
    rendered = str(announcement_blocks(item)[1:]) + announcement_text(item)
    assert "<!channel>" not in rendered and "<@U123>" not in rendered and "<!here>" not in rendered
    assert "&lt;!channel&gt;" in rendered
