"""`model-access serve`: refuses clearly without Slack settings; in HTTP mode serves Bolt, health and metrics.

These run the real command in a subprocess, as an operator would.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.fakes.slack import BOT_TOKEN, FakeSlack
from tests.slack_helpers import FORM, SIGNING_SECRET, signed_headers, slash_form

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = "deploy/slack-app-manifest.yaml"


def run_serve(
    *args: str, env: dict[str, str], timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    """Run `model-access serve ARGS` to completion."""
    return subprocess.run(
        [sys.executable, "-m", "cli", "serve", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def base_env(tmp_path: Path) -> dict[str, str]:
    """A minimal environment: no Slack or provider variables (the autouse fixture removed them)."""
    env = dict(os.environ)
    env["XDG_CACHE_HOME"] = str(tmp_path / "xdg")
    return env


def test_without_a_bot_token_it_names_the_variables_and_the_manifest(tmp_path: Path) -> None:
    """No SLACK_BOT_TOKEN: exit 2 with one line naming it, the HTTP secret, and the manifest path."""
    done = run_serve(env=base_env(tmp_path))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "SLACK_BOT_TOKEN" in lines[0] and "SLACK_SIGNING_SECRET" in lines[0]
    assert MANIFEST in lines[0]
    assert "Traceback" not in done.stderr


def test_socket_mode_asks_for_the_app_token(tmp_path: Path) -> None:
    """`serve --socket` with only a bot token names SLACK_APP_TOKEN (and not the signing secret)."""
    env = {**base_env(tmp_path), "SLACK_BOT_TOKEN": BOT_TOKEN}
    done = run_serve("--socket", env=env)
    assert done.returncode == 2
    assert "SLACK_APP_TOKEN" in done.stderr and "SLACK_SIGNING_SECRET" not in done.stderr
    assert "SLACK_BOT_TOKEN" not in done.stderr.split("create")[0]


def test_an_app_token_alone_means_socket_mode(tmp_path: Path) -> None:
    """With SLACK_APP_TOKEN set and no flag, serve picks Socket Mode and asks only for the bot token."""
    env = {**base_env(tmp_path), "SLACK_APP_TOKEN": "xapp-" + "1-FAKE0-" * 3}
    done = run_serve(env=env)
    assert done.returncode == 2
    assert "set SLACK_BOT_TOKEN (Socket Mode)" in done.stderr
    assert "SLACK_SIGNING_SECRET" not in done.stderr


def test_a_revoked_bot_token_is_one_line_at_start(tmp_path: Path, fake_slack: FakeSlack) -> None:
    """Slack answers invalid_auth: serve says so in one line and exits 2, never echoing the token."""
    fake_slack.revoked.add(BOT_TOKEN)
    env = {
        **base_env(tmp_path),
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake_slack.api_url,
    }
    done = run_serve("--http", env=env)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Slack refused SLACK_BOT_TOKEN (invalid_auth)" in lines[0]
    assert BOT_TOKEN not in done.stderr and "Traceback" not in done.stderr
    assert [c.method for c in fake_slack.calls] == ["auth.test"]


def test_an_unreachable_slack_is_one_line_at_start(tmp_path: Path) -> None:
    """Nothing answers at SLACK_API_URL: one line naming it, exit 2, not an endless retry loop."""
    url = f"http://127.0.0.1:{free_port()}/api/"
    env = {
        **base_env(tmp_path),
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_APP_TOKEN": "xapp-" + "1-FAKE0-" * 3,
        "SLACK_API_URL": url,
    }
    done = run_serve(env=env)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and f"cannot reach Slack at {url}" in lines[0]


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(
    url: str, data: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, str]:
    """One HTTP request; status and body."""
    request = urllib.request.Request(url, data=data, headers=headers or {})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=5) as resp:  # noqa: S310
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@pytest.mark.slow
def test_http_mode_serves_events_health_and_metrics(
    tmp_path: Path, redis_url: str, fake_slack: FakeSlack
) -> None:
    """`serve --http` answers /healthz with the cache status, a signed command, and /metrics."""
    port = free_port()
    env = {
        **base_env(tmp_path),
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake_slack.api_url,
        "REDIS_URL": redis_url,
        "PORT": str(port),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli", "serve", "--http"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            assert proc.poll() is None, proc.communicate()[1]
            try:
                status, body = get(base + "/healthz")
                break
            except OSError:
                assert time.monotonic() < deadline, "serve did not come up in 20 s"
                time.sleep(0.1)
        assert status == 200
        assert json.loads(body)["cache"] == "redis"
        form = slash_form("help", response_url=fake_slack.response_url("s1"))
        status, body = get(base + "/slack/events", form.encode(), signed_headers(form, FORM))
        assert status == 200 and "/model-access MODEL" in body
        status, metrics = get(base + "/metrics")
        assert status == 200
        assert 'model_access_commands_total{kind="command_help"} 1.0' in metrics
        assert 'model_access_ack_seconds_count{kind="slash_command"} 1.0' in metrics
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            _, err = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
    assert proc.returncode == 0, err


def test_with_only_a_bot_token_the_message_leads_with_socket_mode(tmp_path: Path) -> None:
    """SLACK_BOT_TOKEN alone: the one line offers SLACK_APP_TOKEN (Socket Mode) first, as the README does."""
    done = run_serve(env={**base_env(tmp_path), "SLACK_BOT_TOKEN": BOT_TOKEN})
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert line.index("SLACK_APP_TOKEN (Socket Mode") < line.index("SLACK_SIGNING_SECRET")
    assert MANIFEST in line


def test_blank_variables_count_as_unset(tmp_path: Path) -> None:
    """`SLACK_APP_TOKEN=` (a blank line in .env) is not Socket Mode: the same message as unset."""
    env = {**base_env(tmp_path), "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": ""}
    env["SLACK_SIGNING_SECRET"] = ""
    done = run_serve(env=env)
    assert done.returncode == 2
    assert "SLACK_APP_TOKEN (Socket Mode" in done.stderr and "SLACK_SIGNING_SECRET" in done.stderr
