"""`model-access check` as an engineer runs it: a subprocess, a keys file, fake providers.

The CLI caches under the default prefix "ma:", so these tests give it a Valkey server of
their own and flush it between stories.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import redis
import yaml

from tests.contract import CHECK_FIELDS, DIAGNOSIS_FIELDS, RESULT_FIELDS
from tests.environ import clean_environ
from tests.fakes.providers import Account, FakeProviders
from tests.test_probe import closed_port, fake_secret
from tests.valkey import start_valkey

pytestmark = pytest.mark.slow  # every story spawns the CLI

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")

DEFAULT_MODELS: tuple[str | dict[str, Any], ...] = ("gpt-4o", "o3-pro")
FINE_TUNE = "ft:gpt-4o-mini:other-org::abc123"  # another organisation's fine-tune


class Story(NamedTuple):
    """A key of the story file and the fake account behind it."""

    provider: str
    tag: str  # of the secret
    failures: tuple[str, ...] = ()
    models: tuple[str | dict[str, Any], ...] = DEFAULT_MODELS
    organization: str | None = None  # the keys file's `organization:` (OpenAI-Organization)


# Every key of the story file. The fake accounts' organisation is org-FAKE0000.
STORY: dict[str, Story] = {
    "prod": Story("openai", "cliprod"),
    "broke": Story("openai", "clibroke", ("no_quota",)),
    "busy": Story("openai", "clibusy", ("rate_limited",)),
    "abroad": Story("openai", "cliabroad", ("region",)),
    "scoped": Story("openai", "cliscoped", ("missing_scopes",)),
    "down": Story("openai", "clidown", ("server_error",)),
    "revoked": Story("openai", "clirevoked"),  # no account: the fake answers 401
    "blocked": Story("openai", "cliblocked", ("project_blocked",)),
    "starter": Story(
        "openai", "clistarter", ("below_tier",), ({"id": "gpt-4o", "listed": False}, "gpt-4o-mini")
    ),
    "elsewhere": Story("openai", "clielsewhere", organization="org-FAKEother"),
    "legacy": Story(
        "openai",
        "clilegacy",
        models=("gpt-4o", {"id": "gpt-4-1106-preview", "failures": ["retired"], "listed": False}),
    ),
    "unverified": Story(
        "openai", "cliunverified", models=("gpt-4o", {"id": "o3", "failures": ["org_unverified"]})
    ),
    "az": Story("azure", "cliaz"),
    "ant": Story("anthropic", "cliant", ("no_quota",)),
}


@dataclass
class World:
    """The fakes, the Redis and the keys file a CLI run sees."""

    fakes: FakeProviders
    valkey_url: str
    keys_file: Path
    env: dict[str, str]
    secrets: list[str]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """Fake providers in a thread, a dedicated Valkey, and a keys file for the story's keys."""
    tmp = tmp_path_factory.mktemp("cli")
    server = start_valkey(tmp / "valkey")
    fakes = FakeProviders().start_in_thread()
    env = clean_environ()
    entries = []
    secrets = []
    for alias, story in STORY.items():
        provider, failures = story.provider, list(story.failures)
        secret = fake_secret(provider, story.tag)
        secrets.append(secret)
        env[f"KEY_{alias.upper()}"] = secret
        entry: dict[str, object] = {
            "alias": alias,
            "provider": provider,
            "api_key_env": f"KEY_{alias.upper()}",
        }
        if provider == "openai":
            entry["base_url"] = fakes.openai.base_url
            if story.organization:
                entry["organization"] = story.organization
            if alias != "revoked":
                fakes.openai.add_account(
                    Account(secret, models=list(story.models), failures=failures)
                )
        elif provider == "azure":
            entry.update(
                base_url=fakes.azure.base_url, api_version="2024-10-21", deployments=["chat-prod"]
            )
            fakes.azure.add_account(
                Account(secret, models=["gpt-4o"], deployments={"chat-prod": "gpt-4o"})
            )
        else:
            entry["base_url"] = fakes.anthropic.base_url
            fakes.anthropic.add_account(
                Account(secret, models=["claude-house-4"], failures=failures)
            )
        entries.append(entry)
    entries.append(
        {
            "alias": "nowhere",
            "provider": "openai",
            "api_key_env": "KEY_NOWHERE",
            "base_url": f"http://127.0.0.1:{closed_port()}/v1",
        }
    )
    env["KEY_NOWHERE"] = fake_secret("openai", "clinowhere")
    secrets.append(env["KEY_NOWHERE"])
    keys_file = tmp / "keys.yaml"
    keys_file.write_text(yaml.safe_dump({"keys": entries}), encoding="utf-8")
    env.update(
        REDIS_URL=server.connection_url,
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        MODEL_ACCESS_KEYS_FILE=str(keys_file),
        XDG_CACHE_HOME=str(tmp / "xdg"),
    )
    try:
        yield World(fakes, server.connection_url, keys_file, env, secrets)
    finally:
        fakes.stop()
        server.stop()


@pytest.fixture(autouse=True)
def empty_redis(world: World) -> None:
    """Each story starts with an empty cache."""
    client = redis.Redis.from_url(world.valkey_url)
    client.flushdb()
    client.close()


def cli(
    world: World, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `model-access ARGS` and check no secret leaked into its output."""
    proc = subprocess.run(
        [PYTHON, "-m", "cli", *args],
        env=env or world.env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=str(ROOT),
    )
    for secret in world.secrets:
        assert secret not in proc.stdout and secret not in proc.stderr
    return proc


def test_every_observable_cause_with_evidence(world: World) -> None:
    """One check of gpt-4o over every key: each key's own cause and evidence; exit 0 since prod works."""
    proc = cli(world, "check", "gpt-4o", "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    causes = {r["alias"]: r["cause"] for r in report["results"]}
    assert causes == {
        "prod": None,
        "broke": "insufficient_quota",
        "busy": "rate_limit",
        "abroad": "unsupported_region",
        "scoped": "missing_scope",
        "down": "provider_outage",
        "revoked": "invalid_api_key",
        "blocked": "project_model_blocked",
        "starter": "model_tier_gated",
        "elsewhere": "organization_mismatch",
        "legacy": None,
        "unverified": None,  # the free probe cannot see verification
        "az": "azure_deployment_not_found",
        "ant": "model_not_found",
        "nowhere": "network",
    }
    assert all(r["evidence"] for r in report["results"])
    assert report["diagnosis"]["notes"][0].startswith("Can use it: prod")


@pytest.mark.parametrize(
    ("model", "alias", "flags", "cause", "status", "code", "observed"),
    [
        pytest.param(
            "gpt-4-1106-preview",
            "legacy",
            [],
            "model_retired",
            404,
            "model_not_found",
            [
                "not listed",
                "404 model_not_found: The model `gpt-4-1106-preview` has been deprecated",
            ],
            id="retired",
        ),
        pytest.param(
            "o3",
            "unverified",
            ["--deep"],
            "org_verification_required",
            403,
            "invalid_request_error",
            [
                "→ 400",
                "access and quota OK",
                # the 300-character evidence cap ends inside the message
                "403 invalid_request_error: Your organization must be verified to use the model",
            ],
            id="unverified",
        ),
        pytest.param(
            FINE_TUNE,
            "prod",
            [],
            "fine_tune_scope",
            404,
            "model_not_found",
            ["not listed", f"404 model_not_found: The model `{FINE_TUNE}` does not exist"],
            id="fine-tune",
        ),
        pytest.param(
            "gpt-5.6-cyber",  # the catalog records a gate (trusted access); the key does not list it
            "prod",
            [],
            "model_tier_gated",
            404,
            "model_not_found",
            [
                "not listed",
                "/v1/responses max_output_tokens=0 → 404 model_not_found: The model `gpt-5.6-cyber` does not exist",
            ],
            id="gated-by-catalog",
        ),
        pytest.param(
            "gpt-4o",
            "starter",
            [],
            "model_tier_gated",
            400,
            "below_usage_tier",
            [
                "400 below_usage_tier (param model): Your organization must qualify for at least usage tier 5 to access 'gpt-4o'"
            ],
            id="below-tier",
        ),
        pytest.param(
            "gpt-4o",
            "blocked",
            [],
            "project_model_blocked",
            403,
            "model_not_found",
            ["403 model_not_found: Project `proj_FAKE0000` does not have access to model `gpt-4o`"],
            id="project-blocked",
        ),
        pytest.param(
            "gpt-4o",
            "elsewhere",
            [],
            "organization_mismatch",
            401,
            "mismatched_organization",
            [
                "GET /v1/models → 401 mismatched_organization: OpenAI-Organization header should match organization for API key"
            ],
            id="organization-mismatch",
        ),
    ],
)
def test_model_and_account_causes_with_evidence(
    world: World,
    model: str,
    alias: str,
    flags: list[str],
    cause: str,
    status: int,
    code: str,
    observed: list[str],
) -> None:
    """Given a key whose account shows a cause, check --json names it and shows what was seen."""
    proc = cli(world, "check", model, "--key", alias, *flags, "--json")
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    r = report["results"][0]
    assert (r["alias"], r["accessible"], r["cause"]) == (alias, False, cause)
    assert (r["http_status"], r["error_code"]) == (status, code)
    for seen in observed:
        assert seen in r["evidence"]
    assert report["diagnosis"]["cause"] == cause


def test_json_has_the_contract_fields(world: World) -> None:
    """check --json carries every field of the contract, at every level."""
    proc = cli(world, "check", "gpt-4o", "--key", "prod", "--json")
    report = json.loads(proc.stdout)
    assert set(report) >= CHECK_FIELDS
    assert set(report["results"][0]) >= RESULT_FIELDS
    assert set(report["diagnosis"]) >= DIAGNOSIS_FIELDS
    r = report["results"][0]
    assert r["accessible"] is True and r["cause"] is None and r["cached"] is False
    assert isinstance(r["latency_ms"], float) and r["limits"]["requests_per_min"] == 500
    assert report["diagnosis"]["cause"] == "not_an_error"
    for fix in report["diagnosis"]["fixes"]:
        assert {"title", "detail"} <= set(fix)


def test_no_key_can_use_it_exits_1(world: World) -> None:
    """When every selected key fails, the exit code is 1 and the diagnosis names the cause."""
    proc = cli(world, "check", "gpt-4o", "--key", "broke", "--key", "ant", "--json")
    assert proc.returncode == 1
    report = json.loads(proc.stdout)
    assert [r["alias"] for r in report["results"]] == ["broke", "ant"]
    assert report["diagnosis"]["cause"] in ("insufficient_quota", "model_not_found")


def test_typo_and_wrong_endpoint_from_the_cli(world: World) -> None:
    """A typo suggests the real id; o3-pro on chat names the responses endpoint."""
    typo = json.loads(cli(world, "check", "gpt4o", "--key", "prod", "--json").stdout)
    assert typo["results"][0]["cause"] == "model_typo"
    assert "gpt-4o" in typo["diagnosis"]["did_you_mean"]
    wrong = cli(world, "check", "o3-pro", "--key", "prod", "--endpoint", "chat", "--json")
    assert wrong.returncode == 1
    d = json.loads(wrong.stdout)["diagnosis"]
    assert d["cause"] == "wrong_endpoint" and d["endpoint"] == "responses"


def test_second_run_is_cached_across_processes(world: World) -> None:
    """A second CLI run answers from Redis without calling the provider again."""
    cli(world, "check", "gpt-4o", "--key", "prod", "--json")
    before = world.fakes.openai.count()
    again = json.loads(cli(world, "check", "gpt-4o", "--key", "prod", "--json").stdout)
    assert again["results"][0]["cached"] is True
    assert world.fakes.openai.count() == before


def test_text_output_masks_and_explains(world: World) -> None:
    """Without --json the table, the evidence and the diagnosis are printed."""
    proc = cli(world, "check", "gpt-4o", "--key", "prod", "--key", "broke")
    assert proc.returncode == 0
    assert "Evidence:" in proc.stdout and "insufficient_quota" in proc.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["check", "gpt-4o", "--key", "nope"], "unknown key alias 'nope'"),
        (["check", "gpt-4o", "--endpoint", "fax"], "invalid choice"),
    ],
)
def test_usage_errors_exit_2_with_one_line(world: World, args: list[str], message: str) -> None:
    """An unknown alias or endpoint: exit 2, one line on stderr, no traceback."""
    proc = cli(world, *args)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in proc.stderr


def test_configuration_errors_exit_2_with_one_line(world: World, tmp_path: Path) -> None:
    """A malformed keys file or a missing key variable: exit 2, one line naming the problem."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("keys: [ {alias: x, provider: openai\n", encoding="utf-8")
    proc = cli(world, "check", "gpt-4o", "--keys", str(bad))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and str(bad) in proc.stderr
    env = {k: v for k, v in world.env.items() if k != "KEY_PROD"}
    proc = cli(world, "check", "gpt-4o", env=env)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "KEY_PROD is not set" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
