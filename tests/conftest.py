"""Shared fixtures: a real Redis (REDIS_URL or an embedded Valkey), a clean environment per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis.asyncio as redis

from bot import embedded, redact
from bot.cache import Cache
from bot.redact import find as find_secrets
from tests.environ import scrubbed
from tests.fakes.slack import FakeSlack
from tests.valkey import start_valkey

# Captured once, before the per-test environment scrub removes it.
_REDIS_URL_FROM_ENV = os.environ.get("REDIS_URL")


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The Redis every test uses: REDIS_URL when set, else a session-wide embedded Valkey."""
    if _REDIS_URL_FROM_ENV:
        yield _REDIS_URL_FROM_ENV
        return
    server = start_valkey(tmp_path_factory.mktemp("valkey"))
    try:
        yield server.connection_url
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No developer's real token or key leaks into a test; the user cache dir is a temp dir.

    A test that starts the embedded Valkey there (a daemon, by design) has it stopped after.
    """
    for name in list(os.environ):
        if scrubbed(name):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    # Keys a test configured are masked process-wide (bot.redact.remember); another test
    # in the same worker must not see its text masked by them.
    monkeypatch.setattr(redact, "_KNOWN", redact._Known())
    yield
    embedded.stop(tmp_path / "xdg-cache" / "model-access")


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    """A fake Slack Web API on a thread of its own, so a subprocess under test can reach it."""
    slack = FakeSlack().start_in_thread()
    try:
        yield slack
    finally:
        slack.stop_thread()


@pytest.fixture
def cache_prefix() -> str:
    """A key namespace of this test's own, so runs and tests never collide."""
    return f"ma-test:{uuid.uuid4().hex[:12]}:"


@pytest.fixture
async def cache(redis_url: str, cache_prefix: str) -> AsyncIterator[Cache]:
    """A Cache on the real Redis, in this test's namespace, emptied afterwards."""
    c = await Cache.connect(redis_url, prefix=cache_prefix)
    assert c.available, f"test Redis at {redis_url} is not reachable"
    try:
        yield c
    finally:
        await c.close()
        await _drop_prefix(redis_url, cache_prefix)


async def _drop_prefix(url: str, prefix: str) -> None:
    """Delete the test's namespace, after checking that no value in it holds a secret."""
    client = redis.Redis.from_url(url, decode_responses=True)
    try:
        keys = [k async for k in client.scan_iter(match=prefix + "*", count=500)]
        leaks = [k for k in keys if find_secrets(await _dump(client, k), possible=True)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()
    assert not leaks, f"Redis values hold something shaped like a secret: {leaks[:5]}"


async def _dump(client: redis.Redis, key: str) -> str:
    kind = await client.type(key)
    if kind == "string":
        return str(await client.get(key) or "")
    if kind == "hash":
        return " ".join(f"{k} {v}" for k, v in (await client.hgetall(key)).items())
    if kind in ("list",):
        return " ".join(await client.lrange(key, 0, -1))
    if kind == "set":
        return " ".join(await client.smembers(key))
    if kind == "zset":
        return " ".join(await client.zrange(key, 0, -1))
    return ""


# -- suite-wide leak guard ---------------------------------------------------------------------
# Every test's captured stdout, stderr and log is scanned for anything shaped like a provider
# key or Slack token. Tests build fake secrets, run the product, and let it print as it will;
# a secret in that output fails the run, whichever test let it out.

_LEAKS: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    for title, content in report.sections:
        found = find_secrets(content, possible=True)
        if found:
            kinds = ", ".join(sorted({f.kind for f in found}))
            entry = f"{report.nodeid} [{title}]: {kinds}"
            if entry not in _LEAKS:
                _LEAKS.append(entry)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _LEAKS:
        print("\nSecret-shaped text reached test output:", *_LEAKS, sep="\n  ")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
