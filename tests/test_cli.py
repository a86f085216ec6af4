"""The CLI's shape: version, help for every subcommand, and exit 2 with one line on bad input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.environ import clean_environ

SUBCOMMANDS = ("explain", "check", "models", "deprecations", "notices", "serve", "worker", "cache")


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


# -- options in either place, errors in our words, quiet by default -------------------------


def test_keys_and_config_work_after_the_command(tmp_path: Path) -> None:
    """`check gpt-4o --keys FILE` reads the file as `--keys FILE check gpt-4o` does."""
    keys = tmp_path / "keys.yaml"
    keys.write_text("keys:\n  - {alias: prod, provider: openai, api_key_env: PROD_OPENAI_KEY}\n")
    config = tmp_path / "ma.yaml"
    config.write_text("notice_dayz: [1]\n")
    after = run("check", "gpt-4o", "--keys", str(keys), env={"REDIS_URL": "redis://127.0.0.1:1/0"})
    assert_one_line_error(after, "key 'prod': api_key_env: environment variable PROD_OPENAI_KEY")
    assert_one_line_error(
        run("deprecations", "--config", str(config)), "notice_dayz: unknown field"
    )


def test_an_option_before_the_command_is_not_undone_after_it(tmp_path: Path) -> None:
    """`--config FILE notices` still uses FILE although `notices` also accepts --config."""
    config = tmp_path / "ma.yaml"
    config.write_text("notice_dayz: [1]\n")
    proc = run("--config", str(config), "notices", "--json")
    assert_one_line_error(proc, "notice_dayz: unknown field")


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (("notices", "--now", "2026-13-01"), "--now: 2026-13-01 is not a date (YYYY-MM-DD)"),
        (("deprecations", "--within", "soon"), "--within: soon is not a number of days"),
        (("serve", "--port", "99999"), "--port: 99999 is not a port number"),
    ],
    ids=["impossible-date", "words-for-days", "port-out-of-range"],
)
def test_bad_option_values_are_one_line_in_our_words(args: tuple[str, ...], line: str) -> None:
    """A value argparse cannot convert is named with what it should be, not Python's wording."""
    proc = run(*args)
    assert_one_line_error(proc, line)
    assert "fromisoformat" not in proc.stderr and "invalid int value" not in proc.stderr


def test_a_key_pasted_as_a_model_is_one_line_and_no_log(tmp_path: Path) -> None:
    """At the default level the refusal is the only line on stderr (no JSON log around it)."""
    pasted = "sk-proj-" + "FAKE1" * 8
    env = {"OPENAI_API_KEY": "sk-proj-" + "FAKE2" * 8, "REDIS_URL": "redis://127.0.0.1:1/0"}
    proc = run("check", pasted, env=env)
    assert_one_line_error(proc, "looks like an API key, not a model name")
    assert "{" not in proc.stderr and pasted not in proc.stderr


def test_an_unreachable_redis_is_quiet_by_default_and_logged_with_v() -> None:
    """deprecations works without Redis and says nothing on stderr; -v shows the cache warning."""
    env = {"REDIS_URL": "redis://127.0.0.1:1/0"}
    quiet = run("deprecations", "--within", "30", env=env)
    assert quiet.returncode == 0 and quiet.stderr == ""
    loud = run("deprecations", "-v", env=env)
    assert loud.returncode == 0 and "cache_unavailable" in loud.stderr
    by_env = run("deprecations", env={**env, "MODEL_ACCESS_LOG_LEVEL": "warning"})
    assert "cache_unavailable" in by_env.stderr


def test_an_unknown_log_level_is_one_line() -> None:
    """MODEL_ACCESS_LOG_LEVEL=LOUD names the variable and the levels, exit 2."""
    proc = run("deprecations", env={"MODEL_ACCESS_LOG_LEVEL": "LOUD"})
    assert_one_line_error(proc, "MODEL_ACCESS_LOG_LEVEL: LOUD is not a log level")


@pytest.mark.slow
def test_the_embedded_cache_can_be_found_and_stopped(tmp_path: Path) -> None:
    """With REDIS_URL unset a command leaves the embedded Valkey running; `cache` shows and stops it."""
    env = {"XDG_CACHE_HOME": str(tmp_path / "xdg")}
    sock = tmp_path / "xdg" / "model-access" / "valkey.sock"
    try:
        assert run("notices", env=env).returncode == 0
        status = run("cache", "status", env=env)
        assert status.returncode == 0 and f"running at {sock}" in status.stdout
        assert "model-access cache stop" in status.stdout
        stop = run("cache", "stop", env=env)
        assert stop.returncode == 0 and f"stopped the embedded Valkey at {sock}" in stop.stdout
        after = run("cache", "status", env=env)
        assert "not running" in after.stdout
    finally:
        run("cache", "stop", env=env)


@pytest.mark.slow
def test_the_check_header_names_the_embedded_cache_and_where_it_lives(tmp_path: Path) -> None:
    """`check` with REDIS_URL unset says 'cache: embedded Valkey at <socket>', not 'cache: redis'."""
    from tests.fakes.providers import Account, FakeProviders
    from tests.slack_helpers import fake_openai_key

    key = fake_openai_key("hdr0")
    fakes = FakeProviders(openai=[Account(key, models=["gpt-4o"])]).start_in_thread()
    env = {
        "XDG_CACHE_HOME": str(tmp_path / "xdg"),
        "OPENAI_API_KEY": key,
        "OPENAI_BASE_URL": fakes.openai.base_url,
    }
    try:
        proc = run("check", "gpt-4o", env=env)
    finally:
        fakes.stop()
        run("cache", "stop", env=env)
    assert proc.returncode == 0, proc.stderr
    sock = tmp_path / "xdg" / "model-access" / "valkey.sock"
    assert f"cache: embedded Valkey at {sock}" in proc.stdout.splitlines()[0]
