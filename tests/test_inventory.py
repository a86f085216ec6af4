"""Inventory broadcasts: a key gains or loses a model, and the channel hears about it once.

The keys talk to a fake OpenAI server whose accounts the test edits while it runs (a model
removed, an outage injected); the posts land in the fake Slack Web API.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import pytest

from bot.broadcasts.inventory import diff, load_snapshots
from bot.broadcasts.outbox import Outbox
from bot.cache import Cache
from bot.engine import Engine
from bot.keys import Key
from bot.knowledge.catalog import Catalog
from tests import test_broadcast as shared
from tests.fakes.providers import Account, FakeOpenAI
from tests.fakes.slack import FakeSlack
from tests.test_broadcast import (
    DAY0,
    FAST,
    Clock,
    at,
    catalog_of,
    engine_on,
    headers,
    make_key,
    model,
    posted,
    publisher,
)

# Fixtures shared with test_broadcast.py: a fake Slack, a clock moved by hand, and the
# autouse check that empties each test's Redis namespace (and finds no secret in it).
slack, clock, emptied_namespace = shared.slack, shared.clock, shared.emptied_namespace


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    """gpt-4-0613 shut down yesterday (replacement gpt-5.6-sol); the others are active."""
    return catalog_of(
        tmp_path,
        [
            model("gpt-4-0613", DAY0 - timedelta(days=1), "gpt-5.6-sol"),
            model("gpt-5.6-sol", None),
            model("o3", None),
        ],
    )


@pytest.fixture
async def openai() -> AsyncIterator[FakeOpenAI]:
    """A fake OpenAI with two accounts: prod lists gpt-4-0613 and gpt-5.6-sol, dev lists gpt-5.6-sol."""
    accounts = [
        Account(make_key("prod").secret.get_secret_value(), models=["gpt-4-0613", "gpt-5.6-sol"]),
        Account(make_key("dev").secret.get_secret_value(), models=["gpt-5.6-sol"]),
    ]
    async with FakeOpenAI(accounts=accounts) as fake:
        yield fake


@pytest.fixture
async def engine(
    redis_url: str, cache_prefix: str, catalog: Catalog, clock: Clock, openai: FakeOpenAI
) -> AsyncIterator[Engine]:
    """One worker whose prod and dev keys point at the fake OpenAI."""
    keys = [make_key("prod", openai.base_url), make_key("dev", openai.base_url)]
    async with engine_on(redis_url, cache_prefix, catalog, clock, keys=keys) as one:
        yield one


def account(fake: FakeOpenAI, alias: str) -> Account:
    """The fake's account behind one of our keys."""
    return fake.account(make_key(alias).secret.get_secret_value())


def test_diff_names_gains_and_losses() -> None:
    """diff() returns what appeared and what disappeared, sorted."""
    assert diff(["a", "b", "c"], ["c", "d", "a"]) == (["d"], ["b"])
    assert diff([], []) == ([], [])


async def test_the_first_snapshot_is_a_baseline_and_posts_nothing(
    engine: Engine, openai: FakeOpenAI, slack: FakeSlack
) -> None:
    """A key seen for the first time is recorded, not announced."""
    report = await engine.inventory_pass(publisher(slack))
    snaps = await load_snapshots(engine.cache, engine.keys)
    assert report.posted == [] and slack.of("chat.postMessage") == []
    assert snaps["prod"].models == ("gpt-4-0613", "gpt-5.6-sol")
    assert snaps["dev"].models == ("gpt-5.6-sol",)


async def test_a_key_that_loses_a_model_gets_exactly_one_removal_notice(
    engine: Engine, openai: FakeOpenAI, slack: FakeSlack, redis_url: str, clock: Clock
) -> None:
    """Two workers, several passes: the loss is posted once, naming the key and the model."""
    twin = engine_on(redis_url, engine.cache.prefix, engine.catalog, clock, keys=engine.keys)
    async with twin as other:
        pub = publisher(slack)
        await engine.inventory_pass(pub)
        account(openai, "prod").remove_model("gpt-4-0613")
        for _ in range(3):
            await asyncio.gather(engine.inventory_pass(pub), other.inventory_pass(pub))
    assert posted(slack) == ["key prod lost gpt-4-0613"]
    blocks = str(slack.of("chat.postMessage")[0].body["blocks"])
    assert "Key prod" in blocks and "`gpt-4-0613`" in blocks
    assert f"shutdown date {DAY0 - timedelta(days=1)}; replacement `gpt-5.6-sol`" in blocks


async def test_gains_and_losses_on_several_keys_share_one_message(
    engine: Engine, openai: FakeOpenAI, slack: FakeSlack
) -> None:
    """One pass that sees prod lose a model and dev gain one posts one message with both."""
    await engine.inventory_pass(publisher(slack))
    account(openai, "prod").remove_model("gpt-4-0613")
    account(openai, "dev").add_model("o3")
    await engine.inventory_pass(publisher(slack))
    assert posted(slack) == ["key dev gained o3; key prod lost gpt-4-0613"]
    assert headers(slack) == ["Model availability changed"]


async def test_a_failed_list_is_not_a_removal(
    engine: Engine, openai: FakeOpenAI, slack: FakeSlack
) -> None:
    """A key whose list fails (revoked, outage) posts nothing and keeps its snapshot."""
    await engine.inventory_pass(publisher(slack))
    account(openai, "prod").add_failure("invalid_key")
    account(openai, "dev").add_failure("server_error")
    await engine.inventory_pass(publisher(slack))
    account(openai, "prod").clear_failures()
    account(openai, "dev").clear_failures()
    await engine.inventory_pass(publisher(slack))
    snaps = await load_snapshots(engine.cache, engine.keys)
    assert slack.of("chat.postMessage") == []
    assert snaps["prod"].models == ("gpt-4-0613", "gpt-5.6-sol")


async def test_a_change_whose_post_fails_is_posted_by_the_next_pass(
    engine: Engine, openai: FakeOpenAI, slack: FakeSlack
) -> None:
    """Slack failing every retry keeps the change pending; the next pass posts it once."""
    await engine.inventory_pass(publisher(slack))
    account(openai, "dev").add_model("o3")
    slack.fail_next("chat.postMessage", *[503] * FAST.attempts)
    failed = await engine.inventory_pass(publisher(slack))
    retried = await engine.inventory_pass(publisher(slack))
    quiet = await engine.inventory_pass(publisher(slack))
    assert len(failed.failed) == 1 and len(retried.posted) == 1 and quiet.posted == []
    assert posted(slack)[-1] == "key dev gained o3"
    assert len(slack.of("chat.postMessage")) == FAST.attempts + 1


async def test_a_model_that_comes_back_and_goes_again_is_announced_each_time(
    engine: Engine, openai: FakeOpenAI, slack: FakeSlack
) -> None:
    """Each real transition is news: lost, regained, lost again make three posts."""
    await engine.inventory_pass(publisher(slack))
    prod = account(openai, "prod")
    for change in (prod.remove_model, prod.add_model, prod.remove_model):
        change("gpt-4-0613")
        await engine.inventory_pass(publisher(slack))
        await engine.inventory_pass(publisher(slack))
    assert posted(slack) == [
        "key prod lost gpt-4-0613",
        "key prod gained gpt-4-0613",
        "key prod lost gpt-4-0613",
    ]


async def test_a_crash_between_recording_and_posting_still_posts_once(
    engine: Engine, openai: FakeOpenAI, slack: FakeSlack, clock: Clock
) -> None:
    """Changes recorded by a worker that died before posting are posted by the next pass, once."""
    await engine.inventory_pass(publisher(slack))
    account(openai, "prod").remove_model("gpt-4-0613")
    slack.fail_next("chat.postMessage", 400)  # a 4xx: no retry, the change stays pending
    await engine.inventory_pass(publisher(slack))
    outbox = Outbox(engine.cache.client, engine.cache, "inventory")  # type: ignore[arg-type]
    assert [t.payload["model"] for t in await outbox.take_all(clock.now)] == ["gpt-4-0613"]
    # That worker died holding the lease; another pass within the lease posts nothing.
    assert (await engine.inventory_pass(publisher(slack), now=clock.now)).posted == []
    later = clock.now + timedelta(minutes=11)
    assert len((await engine.inventory_pass(publisher(slack), now=later)).posted) == 1
    assert posted(slack)[-1] == "key prod lost gpt-4-0613"
    assert len(slack.of("chat.postMessage")) == 2


LIVE_SHUTDOWN = DAY0 + timedelta(days=30)


@asynccontextmanager
async def live_dated(
    redis_url: str, cache_prefix: str, tmp_path: Path, clock: Clock
) -> AsyncIterator[tuple[Engine, Key]]:
    """Key prod lists gpt-5 with a shutdown_date that the catalog does not have."""
    catalog = catalog_of(tmp_path, [model("gpt-5", None)])
    key = make_key("prod")
    spec = {"id": "gpt-5", "shutdown_date": LIVE_SHUTDOWN.isoformat()}
    async with FakeOpenAI(accounts=[Account(key.secret.get_secret_value(), models=[spec])]) as fake:
        keys = [make_key("prod", fake.base_url)]
        async with engine_on(redis_url, cache_prefix, catalog, clock, keys=keys) as engine:
            yield engine, key


async def test_live_shutdown_dates_from_the_inventory_drive_notices(
    redis_url: str, cache_prefix: str, tmp_path: Path, clock: Clock, slack: FakeSlack
) -> None:
    """A shutdown_date in a key's models list (absent from the catalog) produces a notice."""
    async with live_dated(redis_url, cache_prefix, tmp_path, clock) as (engine, key):
        await engine.inventory_pass(publisher(slack))
        await engine.deprecation_pass(publisher(slack))
    assert headers(slack) == ["gpt-5 shuts down in 30 days"]
    assert f"prod (…{key.fingerprint})" in str(slack.of("chat.postMessage")[0].body["blocks"])


async def test_the_calendar_and_notices_use_the_live_dates_the_inventory_saw(
    redis_url: str, cache_prefix: str, tmp_path: Path, clock: Clock, slack: FakeSlack
) -> None:
    """`deprecations` and `notices` (CLI, slash command, App Home) agree with the broadcasts."""
    async with live_dated(redis_url, cache_prefix, tmp_path, clock) as (engine, _):
        assert await engine.deprecations() == []  # the catalog alone has no date
        await engine.inventory_pass(publisher(slack))
        rows = await engine.deprecations(within_days=90)
        due = await engine.notices()
    assert [(r.model, r.shutdown) for r in rows] == [("gpt-5", LIVE_SHUTDOWN)]
    assert [(n.model, n.threshold) for n in due] == [("gpt-5", 30)]


async def test_racing_workers_take_a_pending_record_once(cache: Cache) -> None:
    """Twenty workers taking the same pending record at once: exactly one gets the lease."""
    now = at(DAY0)
    outboxes = [Outbox(cache.client, cache, "inventory") for _ in range(20)]  # type: ignore[arg-type]
    assert await outboxes[0].add("change:k:lost:1:gpt-4", {"kind": "change"}, now)
    assert not await outboxes[1].add("change:k:lost:1:gpt-4", {"kind": "other"}, now)
    taken = await asyncio.gather(*(o.take_all(now) for o in outboxes))
    assert sum(len(t) for t in taken) == 1
    winner = next(o for o, t in zip(outboxes, taken, strict=True) if t)
    await winner.finish("change:k:lost:1:gpt-4", "sent", now)
    later = await asyncio.gather(*(o.take_all(now + timedelta(days=1)) for o in outboxes))
    assert sum(len(t) for t in later) == 0


async def test_a_provider_moving_a_date_gets_one_message_saying_so(
    redis_url: str, cache_prefix: str, tmp_path: Path, clock: Clock, slack: FakeSlack
) -> None:
    """After our notice the provider's list shows a later date: one message says it moved."""
    catalog = catalog_of(tmp_path, [model("gpt-5", DAY0 + timedelta(days=300))])
    first, moved = DAY0 + timedelta(days=30), DAY0 + timedelta(days=75)
    key = make_key("prod")
    spec = {"id": "gpt-5", "shutdown_date": first.isoformat()}
    async with FakeOpenAI(accounts=[Account(key.secret.get_secret_value(), models=[spec])]) as fake:
        keys = [make_key("prod", fake.base_url)]
        async with engine_on(redis_url, cache_prefix, catalog, clock, keys=keys) as engine:
            await engine.inventory_pass(publisher(slack))
            await engine.deprecation_pass(publisher(slack))
            account(fake, "prod").models[0].shutdown_date = moved.isoformat()
            for _ in range(2):
                await engine.inventory_pass(publisher(slack))
                await engine.deprecation_pass(publisher(slack))
    # The new date is 75 days out: the new series' first (90-day) notice says what moved.
    assert headers(slack) == ["gpt-5 shuts down in 30 days", "gpt-5 shuts down in 75 days"]
    assert f"moved from {first} to *{moved}*" in str(slack.of("chat.postMessage")[1].body["blocks"])
