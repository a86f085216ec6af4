"""The shipped compose file, run as its containers would run it, for a team with only OpenAI keys.

There is no container engine here, so this runs what compose runs: each service's command
with the image's entry point (`model-access`), the environment compose gives it (.env made
from .env.example with only SLACK_* and OPENAI_API_KEY filled in, plus the service's
`environment:`), and deploy/config where compose mounts it. Only what must point at the
test world changes: Slack's and OpenAI's URLs (the fakes), REDIS_URL (the test Redis) and
the port (a free one, as each container has its own).
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.fakes.providers import Account, FakeProviders
from tests.fakes.slack import BOT_TOKEN, FakeSlack
from tests.slack_helpers import fake_openai_key, shown
from tests.test_lifecycle import (
    STOP_WITHIN_S,
    events,
    health,
    running,
    sigterm,
    stderr,
    wait_until,
)
from tests.test_serve import free_port
from tests.test_socket_mode import app_token, slash_envelope

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "deploy" / "compose.yaml"


def dot_env(filled: dict[str, str]) -> dict[str, str]:
    """.env as an operator makes it: .env.example with some lines filled, the rest left blank."""
    values = {}
    for line in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#") and "=" in line:
            name, value = line.split("=", 1)
            values[name] = filled.get(name, value)
    assert set(filled) <= set(values), "the README's variables are all in .env.example"
    return values


def service_env(
    name: str, dotenv: dict[str, str], world: dict[str, str]
) -> tuple[list[str], dict[str, str]]:
    """The command and environment compose would give the service, pointed at the test world."""
    service = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"][name]
    env = {k: v for k, v in os.environ.items() if k not in ("PORT", "REDIS_URL")}
    env.update(dotenv)
    for key, value in service["environment"].items():
        env[key] = str(value).replace("/config/", str(ROOT / "deploy" / "config") + "/")
    env.update(world)
    return list(service["command"]), env


@pytest.fixture
def openai_only(tmp_path: Path, redis_url: str, fake_slack: FakeSlack) -> Any:
    """An OpenAI account at a fake OpenAI, and the .env of a team that has only that key."""
    key = fake_openai_key("ship")
    fakes = FakeProviders(openai=[Account(key, models=["gpt-4o", "gpt-4o-mini"])]).start_in_thread()
    dotenv = dot_env(
        {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": app_token(), "OPENAI_API_KEY": key}
    )
    world = {
        "SLACK_API_URL": fake_slack.api_url,
        "OPENAI_BASE_URL": fakes.openai.base_url,
        "REDIS_URL": redis_url,
        "XDG_CACHE_HOME": str(tmp_path / "xdg"),
    }
    try:
        yield dotenv, world
    finally:
        fakes.stop()


def test_the_bot_service_runs_as_shipped_and_answers(
    tmp_path: Path, fake_slack: FakeSlack, openai_only: Any
) -> None:
    """compose's bot with an OpenAI-only .env: healthy, in Socket Mode, and it answers a check."""
    dotenv, world = openai_only
    port = free_port()
    command, env = service_env("bot", dotenv, {**world, "PORT": str(port)})
    with running(command, env, tmp_path) as proc:
        asyncio.run(fake_slack.wait_for_socket(timeout=30))
        body = wait_until("healthz", lambda: health(port))
        assert body["ok"] is True and body["mode"] == "socket" and body["keys"] == 1
        envelope = slash_envelope("gpt-4o", response_url=fake_slack.response_url("ship"))
        asyncio.run(fake_slack.socket_send(envelope))
        (answer,) = asyncio.run(fake_slack.wait_for("response", timeout=20))
        assert "gpt-4o" in shown(answer) and "1 of 1" in shown(answer)
        took = sigterm(proc)
    assert proc.returncode == 0 and took < STOP_WITHIN_S
    (serving,) = [e for e in events(tmp_path) if e["event"] == "serving"]
    assert serving["keys"] == {"openai": 1} and serving["redis"] == "external"
    problems = [e for e in events(tmp_path) if e["level"] in ("warning", "error")]
    assert [e["event"] for e in problems] == ["broadcasts_off"]  # the example config has none
    assert "Traceback" not in stderr(tmp_path)


def test_the_worker_service_runs_as_shipped_without_crash_looping(
    tmp_path: Path, fake_slack: FakeSlack, openai_only: Any
) -> None:
    """compose's worker with the example config (no broadcast channel): healthy, idle, says why once."""
    dotenv, world = openai_only
    port = free_port()
    command, env = service_env("worker", dotenv, {**world, "PORT": str(port)})
    with running(command, env, tmp_path) as proc:
        body = wait_until("healthz", lambda: health(port))
        assert body["ok"] is True and body["scheduler"]["state"] == "off"
        assert proc.poll() is None
        took = sigterm(proc)
    assert proc.returncode == 0 and took < STOP_WITHIN_S
    log = events(tmp_path)
    assert [e["event"] for e in log if e["level"] == "warning"] == ["broadcasts_off"]
    assert fake_slack.of("chat.postMessage") == []
    assert json.dumps(log).count("OPENAI_API_KEY") == 0  # no complaint about keys
