"""A whole CLI session with fake secrets: none may appear in stdout, stderr, the log or Redis.

The session is what an engineer does on a bad day: check a model across three providers'
keys, list models, paste an error that carries a key into `explain`, and (the classic
slip) pass a key where the model name goes. That last one travels furthest: into the
probe, back in the provider's "model `...` does not exist" message, into the log and the
cache. The log runs at DEBUG so that every event the code emits is rendered.

Each process is checked for the exact secrets and for anything shaped like one.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
import yaml

from bot.redact import find as find_secrets
from tests.environ import clean_environ
from tests.fakes.providers import Account, FakeProviders
from tests.test_probe import fake_secret
from tests.valkey import start_valkey

pytestmark = pytest.mark.slow  # spawns the CLI several times

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")


@dataclass
class Session:
    """What the CLI processes of the session see, and the secrets they must never show."""

    env: dict[str, str]
    secrets: list[str]
    valkey_url: str
    fakes: FakeProviders
    outputs: list[str]


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    """Fake OpenAI, Azure and Anthropic, one key each, a dedicated Valkey, DEBUG logs."""
    tmp = tmp_path_factory.mktemp("redaction")
    server = start_valkey(tmp / "valkey")
    fakes = FakeProviders().start_in_thread()
    openai_secret = fake_secret("openai", "sessopenai")
    azure_secret = fake_secret("azure", "sessazure")
    anthropic_secret = fake_secret("anthropic", "sessant")
    fakes.openai.add_account(Account(openai_secret, models=["gpt-4o", "text-embedding-3-small"]))
    fakes.azure.add_account(
        Account(azure_secret, models=["gpt-4o"], deployments={"chat-prod": "gpt-4o"})
    )
    fakes.anthropic.add_account(
        Account(anthropic_secret, models=["claude-sonnet-4-5"], failures=["no_quota"])
    )
    keys = {
        "keys": [
            {
                "alias": "prod",
                "provider": "openai",
                "api_key_env": "SESS_OPENAI",
                "base_url": fakes.openai.base_url,
            },
            {
                "alias": "az",
                "provider": "azure",
                "api_key_env": "SESS_AZURE",
                "base_url": fakes.azure.base_url,
                "api_version": "2024-10-21",
                "deployments": ["chat-prod"],
            },
            {
                "alias": "ant",
                "provider": "anthropic",
                "api_key_env": "SESS_ANTHROPIC",
                "base_url": fakes.anthropic.base_url,
            },
        ]
    }
    keys_file = tmp / "keys.yaml"
    keys_file.write_text(yaml.safe_dump(keys), encoding="utf-8")
    env = clean_environ()
    env.update(
        SESS_OPENAI=openai_secret,
        SESS_AZURE=azure_secret,
        SESS_ANTHROPIC=anthropic_secret,
        REDIS_URL=server.connection_url,
        MODEL_ACCESS_KEYS_FILE=str(keys_file),
        MODEL_ACCESS_LOG_LEVEL="DEBUG",
        XDG_CACHE_HOME=str(tmp / "xdg"),
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    )
    try:
        secrets = [openai_secret, azure_secret, anthropic_secret]
        yield Session(env, secrets, server.connection_url, fakes, [])
    finally:
        fakes.stop()
        server.stop()


def run(session: Session, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """One CLI process of the session; its stdout and stderr are kept for the final checks."""
    proc = subprocess.run(
        [PYTHON, "-m", "cli", *args],
        env=session.env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=str(ROOT),
    )
    session.outputs += [proc.stdout, proc.stderr]
    return proc


def fakes_calls(session: Session) -> int:
    """Requests the three fake providers have received so far."""
    fakes = session.fakes
    return fakes.openai.count() + fakes.azure.count() + fakes.anthropic.count()


def redis_dump(url: str) -> dict[str, str]:
    """Every key of the Redis and its value as text, whatever the type."""
    client = redis.Redis.from_url(url, decode_responses=True)
    dump: dict[str, str] = {}
    try:
        for key in client.scan_iter(count=500):
            kind = client.type(key)
            if kind == "string":
                value: object = client.get(key)
            elif kind == "hash":
                value = client.hgetall(key)
            elif kind == "list":
                value = client.lrange(key, 0, -1)
            elif kind == "set":
                value = sorted(client.smembers(key))
            elif kind == "zset":
                value = client.zrange(key, 0, -1, withscores=True)
            elif kind == "stream":
                value = client.xrange(key)
            else:
                value = ""
            dump[key] = str(value)
    finally:
        client.close()
    return dump


def test_a_whole_session_never_shows_a_secret(session: Session) -> None:
    """check, models, explain and a key typed as a model: no secret anywhere afterwards."""
    openai_secret, azure_secret, anthropic_secret = session.secrets

    checked = run(session, "check", "gpt-4o", "--json")
    assert checked.returncode == 0, checked.stderr
    assert '"fingerprint"' in checked.stdout  # keys are shown, as fingerprints
    broke = run(session, "check", "claude-sonnet-4-5")  # the Anthropic key has no credit
    assert broke.returncode == 1 and "insufficient_quota" in broke.stdout, broke.stdout
    assert run(session, "models", "--json").returncode == 0

    # A key where the model name goes: refused before any provider sees it, masked in the
    # one-line error and in the log event that records the slip.
    before = fakes_calls(session)
    slip = run(session, "check", openai_secret, "--json")
    assert slip.returncode == 2
    assert "looks like an API key" in slip.stderr and "sk-proj-" in slip.stderr
    assert '"secret_as_model_name"' in slip.stderr
    assert fakes_calls(session) == before

    pasted = (
        "Traceback (most recent call last):\n"
        f'  client = OpenAI(api_key="{openai_secret}")\n'
        "openai.AuthenticationError: Error code: 401 - {'error': {'message': "
        f"'Incorrect API key provided: {openai_secret}.', 'type': 'invalid_request_error', "
        "'param': None, 'code': 'invalid_api_key'}}\n"
        f"also tried AZURE_OPENAI_API_KEY={azure_secret} and {anthropic_secret}\n"
    )
    explained = run(session, "explain", "--json", "-", stdin=pasted)
    assert explained.returncode == 0, explained.stderr
    assert '"invalid_api_key"' in explained.stdout

    # The session did log: at DEBUG every process wrote structured events to stderr.
    assert any('"probe_done"' in out for out in session.outputs)

    for out in session.outputs:
        for secret in session.secrets:
            assert secret not in out
        assert not find_secrets(out, possible=True), find_secrets(out, possible=True)
    dump = redis_dump(session.valkey_url)
    assert dump, "the session should have cached its probes"
    for key, value in dump.items():
        for secret in session.secrets:
            assert secret not in key and secret not in value, key
        assert not find_secrets(key, possible=True) and not find_secrets(value, possible=True), key
