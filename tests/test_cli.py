"""The CLI's shape: version, help for every subcommand, and exit 2 with one line on bad input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.environ import clean_environ

SUBCOMMANDS = ("explain", "check", "models", "deprecations", "notices", "serve", "worker")


def run(
    *args: str, env: dict[str, str] | None = None, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """Run `model-access` as a user would, in a clean environment."""
    base = clean_environ()
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        capture_output=True,
        text=True,
        input=stdin,
        env={**base, **(env or {})},
        timeout=60,
        check=False,
    )


def assert_one_line_error(proc: subprocess.CompletedProcess[str], needle: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert needle in lines[0]


def test_version() -> None:
    """`model-access --version` prints the version."""
    proc = run("--version")
    assert proc.returncode == 0
    assert proc.stdout.strip().startswith("model-access 0.")


@pytest.mark.parametrize("sub", SUBCOMMANDS)
def test_every_subcommand_has_help(sub: str) -> None:
    """Each contract subcommand exists and explains itself."""
    proc = run(sub, "--help")
    assert proc.returncode == 0, proc.stderr
    assert f"usage: model-access {sub}" in proc.stdout


def test_no_command_prints_help_and_exits_2() -> None:
    """Running with no command shows the commands and exits 2."""
    proc = run()
    assert proc.returncode == 2
    assert all(sub in proc.stdout for sub in SUBCOMMANDS)


def test_unknown_command_is_one_line() -> None:
    """An unknown subcommand is a usage error on one line."""
    assert_one_line_error(run("frobnicate"), "invalid choice")


def test_bad_endpoint_is_one_line() -> None:
    """An endpoint outside the contract's list is refused with one line."""
    assert_one_line_error(run("check", "gpt-4o", "--endpoint", "fax"), "invalid choice")


def test_check_without_keys_says_how_to_configure() -> None:
    """With no keys file and no SDK variables, check explains which variables to set."""
    proc = run("check", "gpt-4o", env={"REDIS_URL": "redis://127.0.0.1:1/0"})
    assert_one_line_error(proc, "OPENAI_API_KEY")


def test_malformed_config_names_the_field(tmp_path: Path) -> None:
    """A config file with an unknown field stops every command with one line naming it."""
    config = tmp_path / "ma.yaml"
    config.write_text("notice_dayz: [1]\n")
    proc = run("--config", str(config), "deprecations")
    assert_one_line_error(proc, "notice_dayz: unknown field")


def test_missing_keys_env_var_names_alias_and_field(tmp_path: Path) -> None:
    """A keys file whose env var is unset names the file, alias and field."""
    keys = tmp_path / "keys.yaml"
    keys.write_text("keys:\n  - {alias: prod, provider: openai, api_key_env: PROD_OPENAI_KEY}\n")
    proc = run("--keys", str(keys), "models", env={"REDIS_URL": "redis://127.0.0.1:1/0"})
    assert_one_line_error(
        proc, "key 'prod': api_key_env: environment variable PROD_OPENAI_KEY is not set"
    )


@pytest.mark.parametrize(
    ("config", "needle"),
    [
        ("notice_days: 2026-13-01\n", "notice_days"),
        ("catalog_file: ./catalog.yaml\n", "catalog.yaml:1: models[0]"),
    ],
    ids=["impossible-date", "self-referencing-alias"],
)
def test_yaml_that_cannot_be_built_is_a_one_line_error(
    tmp_path: Path, config: str, needle: str
) -> None:
    """A date that does not exist, or an alias inside its own anchor: one line, no traceback."""
    (tmp_path / "catalog.yaml").write_text("models: &loop [*loop]\n")
    path = tmp_path / "ma.yaml"
    path.write_text(config)
    proc = run("--config", str(path), "deprecations", env={"REDIS_URL": "redis://127.0.0.1:1/0"})
    assert_one_line_error(proc, needle)


@pytest.mark.parametrize(
    "model",
    ["gpt-4o <!channel>", "x" * 201, "gpt-4o\nTraceback (most recent call last):"],
    ids=["with-a-mention", "too-long", "a-paste"],
)
def test_text_that_is_not_a_model_id_is_refused_before_any_probe(model: str) -> None:
    """Spaces, control characters or 200+ characters: one line pointing to explain, exit 2."""
    env = {
        "OPENAI_API_KEY": "sk-proj-" + "FAKE0" * 4 + "notamodel",
        "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",  # never reached: refused first
        "REDIS_URL": "redis://127.0.0.1:1/0",
    }
    proc = run("check", model, env=env)
    assert_one_line_error(proc, "does not look like a model id")
    assert "explain" in proc.stderr and "x" * 201 not in proc.stderr
