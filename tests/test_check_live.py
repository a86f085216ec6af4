"""`model-access check` on a terminal: a row per key as soon as it is known, a spinner for the rest.

The table is a pure function of a CheckProgress (rendered here into a recording console);
the whole command runs in a pseudo-terminal against a fake OpenAI where one key hangs.
"""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from bot.results import CheckProgress, PendingKey, ProbeResult
from cli.live import table
from tests.environ import clean_environ
from tests.fakes.providers import HANG_S, Account, FakeOpenAI
from tests.test_probe import fake_secret
from tests.valkey import start_valkey

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")


def rendered(step: CheckProgress) -> str:
    """The live table as a 100-column terminal shows it (plain text)."""
    console = Console(record=True, width=100, color_system=None)
    console.print(table(step))
    return console.export_text()


def test_the_table_shows_answers_and_a_spinner_for_each_pending_key() -> None:
    """One key answered, two pending: its row, a `checking…` row each for the others, and 1/3 keys."""
    done = ProbeResult(
        alias="prod",
        provider="openai",
        fingerprint="ab12",
        accessible=True,
        cause=None,
        latency_ms=212,
    )
    pending = [
        PendingKey(alias="dev", provider="openai", fingerprint="cd34"),
        PendingKey(alias="claude", provider="anthropic", fingerprint="ef56"),
    ]
    step = CheckProgress(model="gpt-4o", endpoint=None, results=[done], pending=pending)
    text = rendered(step)
    lines = {line.split()[0]: line for line in text.splitlines()[2:] if line.strip()}
    assert "model gpt-4o: 1/3 keys" in text
    assert lines["prod"].split()[2:6] == ["openai", "yes", "-", "-"] and "212 ms" in lines["prod"]
    assert "checking…" in lines["dev"] and "checking…" in lines["claude"]


def test_markup_in_a_model_name_is_shown_as_typed() -> None:
    """A model typed with [brackets] is printed as is, not read as rich markup."""
    step = CheckProgress(model="[bold]gpt-4o[/bold]", endpoint=None, results=[], pending=[])
    assert "[bold]gpt-4o[/bold]: 0/0 keys" in rendered(step)


# -- the command in a terminal -------------------------------------------------------------------


@pytest.fixture(scope="module")
def terminal_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A fake OpenAI where prod answers and dev hangs, a Valkey of its own, 3 s probe deadline."""
    tmp = tmp_path_factory.mktemp("live")
    server = start_valkey(tmp / "valkey")
    prod, dev = fake_secret("openai", "liveprod"), fake_secret("openai", "livedev")
    fake = FakeOpenAI(
        [Account(prod, models=["gpt-4o"]), Account(dev, models=["gpt-4o"], latency=HANG_S)]
    ).start_in_thread()
    keys = tmp / "keys.yaml"
    keys.write_text(
        json.dumps(
            {
                "keys": [
                    {
                        "alias": "prod",
                        "provider": "openai",
                        "api_key_env": "K_PROD",
                        "base_url": fake.base_url,
                    },
                    {
                        "alias": "dev",
                        "provider": "openai",
                        "api_key_env": "K_DEV",
                        "base_url": fake.base_url,
                    },
                ]
            }
        )
    )
    config = tmp / "config.yaml"
    config.write_text(json.dumps({"probe_timeout_s": 3}))
    env = clean_environ()
    env.update(
        K_PROD=prod,
        K_DEV=dev,
        REDIS_URL=server.connection_url,
        MODEL_ACCESS_KEYS_FILE=str(keys),
        MODEL_ACCESS_CONFIG=str(config),
        XDG_CACHE_HOME=str(tmp / "xdg"),
        COLUMNS="120",
        LINES="40",
        TERM="xterm-256color",
    )
    try:
        yield env
    finally:
        fake.stop()
        server.stop()


def in_terminal(args: list[str], env: dict[str, str], timeout: float = 90) -> tuple[int, str]:
    """Run a command with a pseudo-terminal as stdin, stdout and stderr; its exit code and output."""
    main, sub = pty.openpty()
    proc = subprocess.Popen(args, stdin=sub, stdout=sub, stderr=sub, env=env, cwd=str(ROOT))
    os.close(sub)
    out = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([main], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(main, 65536)
                except OSError:  # EIO: the command exited and closed the terminal
                    break
                if not chunk:
                    break
                out += chunk
            elif proc.poll() is not None:
                break
        else:
            proc.kill()
            raise AssertionError(f"{args} still running after {timeout}s")
    finally:
        os.close(main)
    return proc.wait(timeout=10), out.decode("utf-8", "replace").replace("\r", "")


@pytest.mark.slow
def test_on_a_terminal_the_fast_key_is_shown_while_the_slow_one_spins(
    terminal_env: dict[str, str],
) -> None:
    """prod's row is drawn with dev still `checking…`; then the usual answer, dev timed out."""
    code, out = in_terminal([PYTHON, "-m", "cli", "check", "gpt-4o", "--refresh"], terminal_env)
    assert code == 0
    live, _, answer = out.partition("model gpt-4o (free probes")
    assert "model gpt-4o: 1/2 keys" in live
    frame = live[live.index("model gpt-4o: 1/2 keys") :]
    assert "prod" in frame and "checking…" in frame
    rows = {line.split()[0]: line.split() for line in answer.splitlines()[3:6] if line.strip()}
    assert rows["prod"][3] == "yes" and rows["dev"][3:5] == ["no", "network"]
    assert "no answer" in answer


@pytest.mark.slow
def test_json_on_a_terminal_is_still_one_document(terminal_env: dict[str, str]) -> None:
    """`--json` draws nothing live, even on a terminal: the output is one JSON object."""
    code, out = in_terminal([PYTHON, "-m", "cli", "check", "gpt-4o", "--json"], terminal_env)
    assert code == 0
    report = json.loads(out)
    assert [r["alias"] for r in report["results"]] == ["prod", "dev"]
