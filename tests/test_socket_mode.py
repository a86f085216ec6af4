"""`model-access serve` in Socket Mode: it connects over a WebSocket and answers a slash command.

The real command runs in a subprocess, as an operator runs it with SLACK_APP_TOKEN set,
against a fake Slack (Web API and Socket Mode on one server) and a fake OpenAI.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import yaml

from tests.fakes.providers import Account, FakeProviders
from tests.fakes.slack import BOT_TOKEN, TEAM_ID, FakeSlack
from tests.slack_helpers import CHANNEL, USER, fake_openai_key, shown
from tests.test_serve import free_port

pytestmark = pytest.mark.slow  # every story spawns `serve`

ROOT = Path(__file__).resolve().parent.parent
CACHE_PATTERN = "ma:*"  # `serve` caches under the default prefix
_ids = itertools.count(1)


def app_token() -> str:
    """An obviously fake app-level token, built at run time."""
    return "xapp-" + "-".join(["1", "AFAKE00001", "1111", "fake" * 8])


def slash_envelope(text: str, *, response_url: str) -> dict[str, Any]:
    """The Socket Mode envelope Slack sends for `/model-access <text>`."""
    n = next(_ids)
    return {
        "envelope_id": f"0f1e2d3c-0000-4000-8000-{n:012d}",
        "type": "slash_commands",
        "accepts_response_payload": True,
        "payload": {
            "token": "unused-verification-token",
            "team_id": TEAM_ID,
            "team_domain": "fake",
            "channel_id": CHANNEL,
            "channel_name": "general",
            "user_id": USER,
            "user_name": "someone",
            "command": "/model-access",
            "text": text,
            "api_app_id": "A0FAKE0001",
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": f"4000{n}.5000.abcdef",
        },
    }


@pytest.fixture
def serve_env(tmp_path: Path, redis_url: str, fake_slack: FakeSlack) -> Iterator[dict[str, str]]:
    """Environment for `serve`: both Slack tokens, the fake Slack, Redis, and a keys file.

    The keys are prod (gpt-4o, gpt-4o-mini) and dev (gpt-4o-mini only) at a fake OpenAI.
    What the process caches is deleted afterwards.
    """
    fakes = FakeProviders(
        openai=[
            Account(fake_openai_key("prod"), models=["gpt-4o", "gpt-4o-mini"]),
            Account(fake_openai_key("dev0"), models=["gpt-4o-mini"]),
        ]
    ).start_in_thread()
    keys = tmp_path / "keys.yaml"
    entry = {"provider": "openai", "base_url": fakes.openai.base_url}
    keys.write_text(
        yaml.safe_dump(
            {
                "keys": [
                    {"alias": "prod", "api_key_env": "PROD_KEY", **entry},
                    {"alias": "dev", "api_key_env": "DEV_KEY", **entry},
                ]
            }
        ),
        encoding="utf-8",
    )
    env = {name: value for name, value in os.environ.items() if name != "PORT"}
    env.update(
        XDG_CACHE_HOME=str(tmp_path / "xdg"),
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_APP_TOKEN=app_token(),
        SLACK_API_URL=fake_slack.api_url,
        REDIS_URL=redis_url,
        MODEL_ACCESS_KEYS_FILE=str(keys),
        PROD_KEY=fake_openai_key("prod"),
        DEV_KEY=fake_openai_key("dev0"),
    )
    client = redis.Redis.from_url(redis_url)
    before = set(client.scan_iter(match=CACHE_PATTERN))
    try:
        yield env
    finally:
        fakes.stop()
        added = set(client.scan_iter(match=CACHE_PATTERN)) - before
        if added:
            client.delete(*added)
        client.close()


@contextlib.contextmanager
def serving(env: dict[str, str], tmp_path: Path, *args: str) -> Iterator[subprocess.Popen[str]]:
    """`model-access serve ARGS` running in the background; killed if still up at the end."""
    with (
        open(tmp_path / "serve.out", "w") as out,
        open(tmp_path / "serve.err", "w") as err,
    ):
        proc = subprocess.Popen(
            [sys.executable, "-m", "cli", "serve", *args],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=err,
            text=True,
        )
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)


async def stop(proc: subprocess.Popen[str], tmp_path: Path) -> str:
    """SIGTERM the process, wait for it to exit (15 s at most); its stderr."""
    proc.send_signal(signal.SIGTERM)
    await asyncio.to_thread(proc.wait, 15)
    return (tmp_path / "serve.err").read_text(encoding="utf-8")


async def connected(slack: FakeSlack, proc: subprocess.Popen[str], tmp_path: Path) -> None:
    """Wait (30 s at most) until the process opened its socket; show its stderr if not."""
    try:
        await slack.wait_for_socket(timeout=30)
    except AssertionError:
        err = (tmp_path / "serve.err").read_text(encoding="utf-8")
        pytest.fail(f"serve did not connect (exit code {proc.poll()}):\n{err[-2000:]}")


def get_json(url: str) -> tuple[int, Any]:
    """GET a loopback URL; status and parsed JSON body."""
    with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310 - loopback only
        return resp.status, json.loads(resp.read())


def listening_ports(pid: int) -> set[int]:
    """TCP ports the process listens on, read from Linux /proc."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[len("socket:[") : -1])
    ports = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


async def test_socket_mode_connects_acks_and_answers_a_check(
    tmp_path: Path, fake_slack: FakeSlack, serve_env: dict[str, str]
) -> None:
    """With SLACK_APP_TOKEN set, serve connects, acks `/model-access gpt-4o` in 3 s, answers, exits 0."""
    with serving(serve_env, tmp_path) as proc:
        await connected(fake_slack, proc, tmp_path)
        (opened,) = fake_slack.of("apps.connections.open")
        app_token_used = opened.token == serve_env["SLACK_APP_TOKEN"]  # kept out of reports
        assert app_token_used, "apps.connections.open was not called with SLACK_APP_TOKEN"
        assert opened.response is not None and opened.response["ok"] is True
        assert listening_ports(proc.pid) == set()  # Socket Mode opens no port unless asked

        envelope = slash_envelope("gpt-4o", response_url=fake_slack.response_url("sm1"))
        await fake_slack.socket_send(envelope)
        ack = await fake_slack.wait_for_ack(envelope["envelope_id"], timeout=3.0)
        assert ack["payload"]["response_type"] == "ephemeral"
        assert "Checking `gpt-4o`" in ack["payload"]["text"]

        (answer,) = await fake_slack.wait_for("response", timeout=15)
        assert answer.body["_rid"] == "sm1"
        assert answer.body["replace_original"] is True
        assert answer.body["response_type"] == "ephemeral"
        text = shown(answer)
        assert "gpt-4o" in text and "1 of 2 keys can use it" in text
        assert "Checking" not in answer.body["text"]

        err = await stop(proc, tmp_path)
    assert proc.returncode == 0, err[-2000:]
    assert "Traceback" not in err
    assert fake_slack.socket_connections == 1  # no reconnect loop along the way


async def test_socket_mode_serves_health_only_on_an_asked_port(
    tmp_path: Path, fake_slack: FakeSlack, serve_env: dict[str, str]
) -> None:
    """`serve --port N` in Socket Mode still connects the socket, and answers GET /healthz on N."""
    port = free_port()
    with serving(serve_env, tmp_path, "--port", str(port)) as proc:
        await connected(fake_slack, proc, tmp_path)
        assert port in listening_ports(proc.pid)
        status, body = await asyncio.to_thread(get_json, f"http://127.0.0.1:{port}/healthz")
        assert status == 200 and body["cache"] == "redis" and body["keys"] == 2
        err = await stop(proc, tmp_path)
    assert proc.returncode == 0, err[-2000:]
