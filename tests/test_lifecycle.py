"""How the long-running modes start and stop, run as an operator runs them: real processes.

Each story starts `model-access serve` or `worker` in a subprocess against the fake Slack
(and a fake OpenAI when it needs one), then stops it with SIGTERM and measures how long it
took: every mode must end within 10 s with exit code 0, having said what it ran with.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.fakes.providers import Account, FakeProviders
from tests.fakes.slack import BOT_TOKEN, FakeSlack
from tests.slack_helpers import FORM, SIGNING_SECRET, fake_openai_key, signed_headers, slash_form
from tests.test_broadcast import catalog_file, model
from tests.test_serve import free_port
from tests.test_socket_mode import app_token

pytestmark = pytest.mark.slow  # every story spawns a process

ROOT = Path(__file__).resolve().parent.parent
STOP_WITHIN_S = 10.0
CHANNEL = "C0NOTICES1"


@contextlib.contextmanager
def running(
    args: list[str], env: dict[str, str], tmp_path: Path
) -> Iterator[subprocess.Popen[str]]:
    """`model-access ARGS` in the background, its stderr in a file; killed if still up at the end."""
    err = (tmp_path / "stderr.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=err,
        text=True,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        err.close()


def events(tmp_path: Path) -> list[dict[str, Any]]:
    """The JSON log lines the process wrote to stderr so far (not a terminal: JSON)."""
    out = []
    for line in (tmp_path / "stderr.log").read_text(encoding="utf-8").splitlines():
        with contextlib.suppress(json.JSONDecodeError):
            out.append(json.loads(line))
    return out


def stderr(tmp_path: Path) -> str:
    """Everything the process wrote to stderr."""
    return (tmp_path / "stderr.log").read_text(encoding="utf-8")


def sigterm(proc: subprocess.Popen[str]) -> float:
    """Send SIGTERM and wait for the exit; the seconds it took (fails past 15 s)."""
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    proc.wait(15)
    return time.monotonic() - started


def wait_until(what: str, check: Any, timeout: float = 30.0) -> Any:
    """Poll check() until it returns something truthy; fail naming `what` after timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout:.0f} s")


def health(port: int) -> dict[str, Any] | None:
    """GET /healthz on 127.0.0.1:port, parsed; None while nothing answers."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as resp:
            return dict(json.loads(resp.read()))
    except OSError:
        return None


@pytest.fixture
def base(tmp_path: Path, redis_url: str, fake_slack: FakeSlack) -> dict[str, str]:
    """The environment every story starts from: the fake Slack, the test Redis, no keys."""
    env = {k: v for k, v in os.environ.items() if k != "PORT"}
    env.update(
        XDG_CACHE_HOME=str(tmp_path / "xdg"),
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_API_URL=fake_slack.api_url,
        REDIS_URL=redis_url,
    )
    return env


def broadcasting(tmp_path: Path) -> Path:
    """A config with a broadcast channel and one model due a notice today (`notice_name`)."""
    name = notice_name(tmp_path)
    ours = catalog_file(
        tmp_path / "ours.yaml", [model(name, datetime.now(UTC).date() + timedelta(days=1))]
    )
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {"broadcast_channel": CHANNEL, "catalog_file": str(ours), "notice_days": [1]}
        ),
        encoding="utf-8",
    )
    return config


def notice_name(tmp_path: Path) -> str:
    """The made-up model whose notice this test's config makes due (one per test directory)."""
    return f"zz-life-{uuid.uuid5(uuid.NAMESPACE_URL, str(tmp_path)).hex[:8]}"


def notices_about(slack: FakeSlack, name: str) -> int:
    """How many messages the fake Slack got about this model (the bundled catalog adds others)."""
    return sum(name in json.dumps(c.body) for c in slack.of("chat.postMessage"))


def test_serve_http_says_what_it_runs_with_and_stops_on_sigterm(
    tmp_path: Path, base: dict[str, str]
) -> None:
    """Given an OpenAI-only team in HTTP mode, serve logs one start-up line and exits 0 within 10 s."""
    port = free_port()
    env = {
        **base,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_APP_TOKEN": "",  # left blank in .env: not Socket Mode
        "OPENAI_API_KEY": fake_openai_key("prod"),
        "PORT": str(port),
    }
    with running(["serve"], env, tmp_path) as proc:
        body = wait_until("healthz", lambda: health(port))
        assert body["mode"] == "http" and body["keys"] == 1 and body["ok"] is True
        took = sigterm(proc)
    assert proc.returncode == 0, stderr(tmp_path)[-2000:]
    assert took < STOP_WITHIN_S
    (serving,) = [e for e in events(tmp_path) if e["event"] == "serving"]
    assert serving["level"] == "info" and serving["mode"] == "http"
    assert serving["keys"] == {"openai": 1} and serving["redis"] == "external"
    assert serving["help_channels"] == [] and serving["broadcast_channel"] is None
    text = stderr(tmp_path)
    assert "no_provider_keys" not in text
    assert (
        "will be unused" not in text
    )  # Bolt: "As you gave `client` as well, `token` will be unused"
    assert "Traceback" not in text


def test_serve_socket_mode_without_keys_warns_once_and_stops_on_sigterm(
    tmp_path: Path, base: dict[str, str], fake_slack: FakeSlack
) -> None:
    """Socket Mode with no provider key: one warning saying how to add one; SIGTERM exits 0 in 10 s."""
    env = {**base, "SLACK_APP_TOKEN": app_token()}
    with running(["serve"], env, tmp_path) as proc:
        asyncio.run(fake_slack.wait_for_socket(timeout=30))
        wait_until("start-up line", lambda: "serving" in stderr(tmp_path))
        took = sigterm(proc)
    assert proc.returncode == 0, stderr(tmp_path)[-2000:]
    assert took < STOP_WITHIN_S
    warnings = [e for e in events(tmp_path) if e["event"] == "no_provider_keys"]
    assert len(warnings) == 1 and "OPENAI_API_KEY" in warnings[0]["hint"]
    assert [c.method for c in fake_slack.calls] == ["auth.test", "apps.connections.open"]
    assert "Traceback" not in stderr(tmp_path)


def test_serve_with_the_scheduler_running_stops_on_sigterm(
    tmp_path: Path, base: dict[str, str], fake_slack: FakeSlack
) -> None:
    """With a broadcast channel, serve runs the scheduler in-process; SIGTERM still exits 0 in 10 s."""
    port = free_port()
    env = {
        **base,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "MODEL_ACCESS_CONFIG": str(broadcasting(tmp_path)),
    }
    with running(["serve", "--http", "--port", str(port)], env, tmp_path) as proc:
        wait_until(
            "the start-up pass's notice", lambda: notices_about(fake_slack, notice_name(tmp_path))
        )
        body = health(port)
        assert body is not None and body["scheduler"]["state"] == "running"
        took = sigterm(proc)
    assert proc.returncode == 0, stderr(tmp_path)[-2000:]
    assert took < STOP_WITHIN_S
    assert "Traceback" not in stderr(tmp_path)


def test_worker_stops_on_sigterm_and_reports_health_on_its_port(
    tmp_path: Path, base: dict[str, str], fake_slack: FakeSlack
) -> None:
    """`worker --port N` posts, answers /healthz with the scheduler running, and exits 0 in 10 s."""
    port = free_port()
    env = {**base, "MODEL_ACCESS_CONFIG": str(broadcasting(tmp_path))}
    with running(["worker", "--port", str(port)], env, tmp_path) as proc:
        wait_until(
            "the start-up pass's notice", lambda: notices_about(fake_slack, notice_name(tmp_path))
        )
        body = wait_until("healthz", lambda: health(port))
        assert body["mode"] == "worker" and body["scheduler"]["state"] == "running"
        took = sigterm(proc)
    assert proc.returncode == 0, stderr(tmp_path)[-2000:]
    assert took < STOP_WITHIN_S
    assert notices_about(fake_slack, notice_name(tmp_path)) == 1
    assert "Traceback" not in stderr(tmp_path)


def test_a_worker_without_a_broadcast_channel_says_so_once_and_idles(
    tmp_path: Path, base: dict[str, str], fake_slack: FakeSlack
) -> None:
    """No broadcast_channel: the worker logs why once, keeps running (no crash loop), exits 0 on SIGTERM."""
    port = free_port()
    with running(["worker"], {**base, "PORT": str(port)}, tmp_path) as proc:
        body = wait_until("healthz", lambda: health(port))
        assert body["ok"] is True and body["scheduler"]["state"] == "off"
        time.sleep(1.0)
        assert proc.poll() is None  # still there: a restart policy has nothing to restart
        took = sigterm(proc)
    assert proc.returncode == 0 and took < STOP_WITHIN_S
    off = [e for e in events(tmp_path) if e["event"] == "broadcasts_off"]
    assert len(off) == 1 and "broadcast_channel" in off[0]["reason"]
    assert fake_slack.of("chat.postMessage") == []


def test_a_reply_in_flight_at_sigterm_is_still_posted(
    tmp_path: Path, base: dict[str, str], fake_slack: FakeSlack
) -> None:
    """A check answered slowly by the provider when SIGTERM arrives is finished, then serve exits 0."""
    key = fake_openai_key("slow")
    fakes = FakeProviders(openai=[Account(key, models=["gpt-4o"], latency=1.5)]).start_in_thread()
    port = free_port()
    env = {
        **base,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "OPENAI_API_KEY": key,
        "OPENAI_BASE_URL": fakes.openai.base_url,
        "PORT": str(port),
    }
    try:
        with running(["serve", "--http"], env, tmp_path) as proc:
            wait_until("healthz", lambda: health(port))
            form = slash_form("gpt-4o", response_url=fake_slack.response_url("late"))
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/slack/events",
                data=form.encode(),
                headers=signed_headers(form, FORM),
            )
            with urllib.request.urlopen(request, timeout=5) as resp:  # noqa: S310
                assert resp.status == 200  # acked; the answer is still being made
            took = sigterm(proc)
    finally:
        fakes.stop()
    assert proc.returncode == 0, stderr(tmp_path)[-2000:]
    assert took < STOP_WITHIN_S
    answers = [c for c in fake_slack.of("response") if c.body.get("_rid") == "late"]
    assert answers and "gpt-4o" in json.dumps(answers[-1].body)
    stopping = [e for e in events(tmp_path) if e["event"] == "stopping"]
    assert stopping and stopping[0]["replies_in_flight"] >= 1


def test_a_refused_app_token_is_one_line_and_exit_2(
    tmp_path: Path, base: dict[str, str], fake_slack: FakeSlack
) -> None:
    """A revoked SLACK_APP_TOKEN: one apps.connections.open, one line naming the fix, exit 2."""
    token = app_token()
    fake_slack.revoked.add(token)
    done = subprocess.run(
        [sys.executable, "-m", "cli", "serve"],
        cwd=ROOT,
        env={**base, "SLACK_APP_TOKEN": token},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "Slack refused SLACK_APP_TOKEN (invalid_auth)" in lines[0]
    assert "connections:write" in lines[0] and token not in done.stderr
    assert [c.method for c in fake_slack.calls] == ["auth.test", "apps.connections.open"]


def test_a_socket_that_keeps_failing_backs_off_logs_each_step_and_recovers(
    tmp_path: Path, base: dict[str, str], fake_slack: FakeSlack
) -> None:
    """Slack drops the socket and refuses the token for a while: one line per capped backoff step
    with the reason, no traceback; when the token works again it reconnects and says so once."""
    token = app_token()
    with running(["serve"], {**base, "SLACK_APP_TOKEN": token}, tmp_path) as proc:
        asyncio.run(fake_slack.wait_for_socket(timeout=30))
        fake_slack.revoked.add(token)
        asyncio.run(fake_slack.drop_sockets())
        steps = wait_until(
            "three failed reconnects",
            lambda: (
                [e for e in events(tmp_path) if e["event"] == "socket_reconnect_failed"][2:]
                and [e for e in events(tmp_path) if e["event"] == "socket_reconnect_failed"]
            ),
            timeout=20,
        )
        fake_slack.revoked.discard(token)
        asyncio.run(fake_slack.wait_for_socket(count=2, timeout=30))
        wait_until("the recovery line", lambda: "socket_reconnected" in stderr(tmp_path))
        took = sigterm(proc)
    assert proc.returncode == 0 and took < STOP_WITHIN_S
    assert all(s["reason"] == "invalid_auth" and s["level"] == "warning" for s in steps)
    waits = [s["retry_in_s"] for s in steps[:3]]
    assert waits[0] < waits[1] < waits[2] <= 33  # exponential, capped at 30 s (+10% jitter)
    log = events(tmp_path)
    assert sum(e["event"] == "socket_reconnected" for e in log) == 1
    assert sum(e["event"] == "socket_disconnected" for e in log) == 1
    assert "Traceback" not in stderr(tmp_path)


def test_sigterm_during_start_up_stops_without_serving(
    tmp_path: Path, base: dict[str, str], fake_slack: FakeSlack
) -> None:
    """SIGTERM while serve waits for Slack's auth.test: it finishes that call, serves nothing, exits 0."""
    fake_slack.delays["auth.test"] = 3.0
    env = {**base, "SLACK_SIGNING_SECRET": SIGNING_SECRET, "PORT": str(free_port())}
    with running(["serve", "--http"], env, tmp_path) as proc:
        wait_until("auth.test", lambda: fake_slack.of("auth.test"))
        took = sigterm(proc)
    assert proc.returncode == 0 and took < STOP_WITHIN_S
    assert "serving" not in stderr(tmp_path) and "Traceback" not in stderr(tmp_path)
