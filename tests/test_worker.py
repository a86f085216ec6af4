"""The scheduled broadcasts on arq: real workers on the test Redis, in-process and as a command."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from arq.connections import RedisSettings
from redis import Redis as SyncRedis
from slack_sdk.web.async_client import AsyncWebClient

from bot.knowledge.catalog import Catalog
from cli.main import main
from handlers.schedule import start_in_process
from handlers.worker import build_worker, inventory_job
from tests import test_broadcast as shared
from tests.fakes.slack import BOT_TOKEN, FakeSlack
from tests.test_broadcast import (
    CHANNEL,
    DAY0,
    Clock,
    catalog_file,
    catalog_of,
    engine_on,
    headers,
    model,
    publisher,
)

ROOT = Path(__file__).resolve().parent.parent


# Fixtures shared with test_broadcast.py: a fake Slack, a clock moved by hand, and the
# autouse check that empties each test's Redis namespace (and finds no secret in it).
slack, clock, emptied_namespace = shared.slack, shared.clock, shared.emptied_namespace


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    """Two models due a notice on DAY0: one at 30 days, one at 7."""
    return catalog_of(
        tmp_path,
        [model("gpt-x", DAY0 + timedelta(days=30)), model("gpt-w", DAY0 + timedelta(days=7))],
    )


async def test_two_arq_workers_in_burst_mode_post_each_notice_once(
    redis_url: str, cache_prefix: str, catalog: Catalog, clock: Clock, slack: FakeSlack
) -> None:
    """Two real arq workers on one Redis run the start-up passes; Slack sees each notice once."""
    settings = RedisSettings.from_dsn(redis_url)
    async with (
        engine_on(redis_url, cache_prefix, catalog, clock) as a,
        engine_on(redis_url, cache_prefix, catalog, clock) as b,
    ):
        workers = [
            build_worker(
                e, publisher(slack), settings, burst=True, handle_signals=False, poll_delay=0.05
            )
            for e in (a, b)
        ]
        try:
            await asyncio.wait_for(asyncio.gather(*(w.async_run() for w in workers)), 20)
        finally:
            for w in workers:
                await w.close()
        done = sum(w.jobs_complete for w in workers)
        failed = sum(w.jobs_failed for w in workers)
    assert failed == 0 and done >= 2  # each worker's start-up deprecation and inventory jobs
    assert sorted(headers(slack)) == ["gpt-w shuts down in 7 days", "gpt-x shuts down in 30 days"]


async def test_start_in_process_posts_then_stops_when_asked(
    redis_url: str, cache_prefix: str, catalog: Catalog, clock: Clock, slack: FakeSlack
) -> None:
    """The single-process mode runs the passes in the bot's loop and stops within 5 s of `stop`."""
    async with engine_on(redis_url, cache_prefix, catalog, clock) as engine:
        client = AsyncWebClient(token=BOT_TOKEN, base_url=slack.api_url)
        stop = asyncio.Event()
        scheduler, task = start_in_process(engine, client, stop)
        await slack.wait_for("chat.postMessage", 2, timeout=15)
        assert scheduler.phase.state == "running"
        stop.set()
        await asyncio.wait_for(task, 5)
        assert scheduler.phase.state == "stopped"
    assert sorted(headers(slack)) == ["gpt-w shuts down in 7 days", "gpt-x shuts down in 30 days"]


async def test_start_in_process_stops_when_cancelled(
    redis_url: str, cache_prefix: str, catalog: Catalog, clock: Clock, slack: FakeSlack
) -> None:
    """Cancelling the in-process scheduler's task ends it (and its arq worker) at once."""
    async with engine_on(redis_url, cache_prefix, catalog, clock) as engine:
        client = AsyncWebClient(token=BOT_TOKEN, base_url=slack.api_url)
        _, task = start_in_process(engine, client)
        await slack.wait_for("chat.postMessage", 2, timeout=15)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, 5)


async def test_start_in_process_without_a_channel_does_nothing(
    redis_url: str, cache_prefix: str, catalog: Catalog, clock: Clock, slack: FakeSlack
) -> None:
    """With no broadcast_channel configured, the in-process worker logs, says 'off', and ends at once."""
    async with engine_on(redis_url, cache_prefix, catalog, clock, broadcast_channel=None) as engine:
        scheduler, task = start_in_process(
            engine, AsyncWebClient(token=BOT_TOKEN, base_url=slack.api_url)
        )
        await asyncio.wait_for(task, 5)
    assert slack.calls == []
    assert scheduler.phase.state == "off" and "broadcast_channel" in str(scheduler.phase.reason)


async def test_the_inventory_job_runs_once_per_interval(
    redis_url: str, cache_prefix: str, catalog: Catalog, clock: Clock, slack: FakeSlack
) -> None:
    """The 5-minute cron tick runs the inventory pass only when inventory_interval_min has passed."""
    async with engine_on(redis_url, cache_prefix, catalog, clock) as engine:
        ctx = {"engine": engine, "publisher": publisher(slack)}
        first = await inventory_job(ctx)
        second = await inventory_job(ctx)
    assert first["skipped"] is None and first["posted"] == 0
    assert second == {"skipped": "not due yet"}


def test_worker_command_without_a_bot_token_is_a_one_line_error(
    redis_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`model-access worker` without SLACK_BOT_TOKEN exits 2 with one line naming it."""
    config = tmp_path / "config.yaml"
    config.write_text(f"broadcast_channel: {CHANNEL}\n", encoding="utf-8")
    monkeypatch.setenv("REDIS_URL", redis_url)
    assert main(["--config", str(config), "worker"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "SLACK_BOT_TOKEN" in err


def test_worker_process_posts_and_exits_cleanly_on_sigterm(redis_url: str, tmp_path: Path) -> None:
    """`model-access worker` as its own process posts due notices and stops with exit 0 on SIGTERM."""
    name = f"zz-test-{uuid.uuid4().hex[:8]}"  # the process uses the default cache prefix
    slack = FakeSlack().start_in_thread()
    try:
        ours = tmp_path / "ours.yaml"
        shutdown = datetime.now(UTC).date() + timedelta(days=1)
        catalog_file(ours, [model(name, shutdown)])
        config = tmp_path / "config.yaml"
        config.write_text(
            yaml.safe_dump(
                {"broadcast_channel": CHANNEL, "catalog_file": str(ours), "notice_days": [1]}
            ),
            encoding="utf-8",
        )
        env = {
            **os.environ,
            "REDIS_URL": redis_url,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_API_URL": slack.api_url,
            "MODEL_ACCESS_CONFIG": str(config),
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", "cli", "worker"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            deadline = time.monotonic() + 20
            while (
                time.monotonic() < deadline
                and proc.poll() is None
                and not any(name in str(c.body.get("text")) for c in slack.of("chat.postMessage"))
            ):
                time.sleep(0.05)
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=10)
            assert proc.returncode == 0, err.decode()[-2000:]
        finally:
            if proc.poll() is None:
                proc.kill()
        texts = [str(c.body.get("text")) for c in slack.of("chat.postMessage")]
        assert sum(name in t for t in texts) == 1
    finally:
        slack.stop_thread()
        _forget(redis_url, f"ma:*{name}*")


def _forget(url: str, pattern: str) -> None:
    """Delete what the worker process stored about the test's model (it uses the real prefix)."""
    client = SyncRedis.from_url(url)
    try:
        for key in client.scan_iter(match=pattern):
            client.delete(key)
    finally:
        client.close()
