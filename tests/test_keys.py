"""The key registry: the keys file, the SDK variables, and how a key is shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import ConfigError, UsageError
from bot.keys import keys_from_env, load_keys, load_keys_file, select

FAKE_OPENAI = "sk-proj-" + "FAKEopenai0" * 3
FAKE_ANTHROPIC = "sk-ant-api03-" + "FAKEanthropic" * 2


def write(tmp_path: Path, text: str, name: str = "keys.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_keys_file_reads_secrets_from_env_and_files(tmp_path: Path) -> None:
    """A keys file names env vars or files for secrets; the secret never shows in repr or label."""
    (tmp_path / "claude.key").write_text(FAKE_ANTHROPIC + "\n")
    path = write(
        tmp_path,
        """
keys:
  - alias: prod
    provider: openai
    api_key_env: PROD_KEY
    organization: org-abc
    project: proj_123
  - alias: claude
    provider: anthropic
    api_key_file: claude.key
  - alias: az
    provider: azure
    api_key_env: AZ_KEY
    base_url: https://example-resource.openai.azure.com
    deployments: [gpt-4o-prod]
""",
    )
    keys = load_keys_file(path, {"PROD_KEY": FAKE_OPENAI, "AZ_KEY": "fedcba98" * 4})
    assert [k.alias for k in keys] == ["prod", "claude", "az"]
    prod, claude, az = keys
    assert prod.organization == "org-abc" and prod.project == "proj_123"
    assert claude.secret.get_secret_value() == FAKE_ANTHROPIC
    assert az.api_version == "2024-10-21" and az.deployments == ("gpt-4o-prod",)
    assert prod.label == f"prod (…{FAKE_OPENAI[-4:]})"
    for key in keys:
        assert key.secret.get_secret_value() not in repr(key)
        assert key.secret.get_secret_value() not in key.cache_id
        assert len(key.cache_id) == 16


@pytest.mark.parametrize(
    ("body", "env", "expected"),
    [
        ("keys: [}", {}, "keys.yaml:1"),
        (
            "keys:\n  - alias: a\n    provider: gemini\n    api_key_env: X\n",
            {"X": "v"},
            "key 'a': provider",
        ),
        (
            "keys:\n  - {alias: a, provider: openai, api_key_env: X}\n  - {alias: a, provider: openai, api_key_env: X}\n",
            {"X": FAKE_OPENAI},
            "key 'a': alias: duplicate",
        ),
        (
            "keys:\n  - {alias: a, provider: openai, api_key_env: MISSING}\n",
            {},
            "key 'a': api_key_env: environment variable MISSING is not set",
        ),
        (
            "keys:\n  - {alias: a, provider: openai, api_key_env: X, colour: red}\n",
            {"X": "v"},
            "key 'a': colour: unknown field",
        ),
        (
            "keys:\n  - {alias: gw, provider: openai-compatible, api_key_env: X}\n",
            {"X": "v"},
            "base_url is required",
        ),
        (
            "keys:\n  - {alias: a, provider: openai}\n",
            {},
            "exactly one of api_key_env or api_key_file",
        ),
        ("nothing: here\n", {}, "keys.yaml: keys: required, but missing"),
        ("- alias: a\n", {}, "keys.yaml: the file must be a mapping with a list under `keys:`"),
        ("keys: 5\n", {}, "keys.yaml: keys: must be a list"),
        (
            "keys:\n  - {alias: a, provider: openai, api_key_env: X, optional: perhaps}\n",
            {"X": "v"},
            "key 'a': optional: must be true or false",
        ),
    ],
)
def test_bad_keys_files_give_one_line_naming_file_alias_field(
    tmp_path: Path, body: str, env: dict[str, str], expected: str
) -> None:
    """Each malformed keys file is one ConfigError line naming the file, the alias and the field."""
    path = write(tmp_path, body)
    with pytest.raises(ConfigError) as info:
        load_keys_file(path, env)
    message = str(info.value)
    assert "\n" not in message
    assert str(path) in message
    assert expected in message
    for pydantic_words in ("Value error", "(top level)", "Input should", "Field required"):
        assert pydantic_words not in message


def test_missing_keys_file_is_a_config_error(tmp_path: Path) -> None:
    """Naming a keys file that does not exist is a clear error, not a traceback."""
    with pytest.raises(ConfigError, match="cannot read"):
        load_keys(tmp_path / "nope.yaml", {})


def test_sdk_environment_variables_become_keys() -> None:
    """With no file, OPENAI_*, ANTHROPIC_* and AZURE_OPENAI_* become the keys openai, anthropic, azure."""
    env = {
        "OPENAI_API_KEY": FAKE_OPENAI,
        "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
        "OPENAI_ORG_ID": "org-x",
        "OPENAI_PROJECT_ID": "proj_y",
        "ANTHROPIC_API_KEY": FAKE_ANTHROPIC,
        "AZURE_OPENAI_API_KEY": "fedcba98" * 4,
        "AZURE_OPENAI_ENDPOINT": "https://r.openai.azure.com",
        "OPENAI_API_VERSION": "2025-01-01",
    }
    keys = keys_from_env(env)
    assert [(k.alias, k.provider) for k in keys] == [
        ("openai", "openai"),
        ("anthropic", "anthropic"),
        ("azure", "azure"),
    ]
    assert keys[0].base_url == "http://127.0.0.1:9/v1" and keys[0].project == "proj_y"
    assert keys[2].api_version == "2025-01-01"


def test_azure_key_without_endpoint_is_refused() -> None:
    """An Azure key with no endpoint cannot be probed; the error says which variable is missing."""
    with pytest.raises(ConfigError, match="AZURE_OPENAI_ENDPOINT"):
        keys_from_env({"AZURE_OPENAI_API_KEY": "fedcba98" * 4})


def test_select_by_alias_and_unknown_alias() -> None:
    """--key picks keys by alias; an unknown alias is a usage error listing the known ones."""
    keys = keys_from_env({"OPENAI_API_KEY": FAKE_OPENAI, "ANTHROPIC_API_KEY": FAKE_ANTHROPIC})
    assert [k.alias for k in select(keys, ["anthropic"])] == ["anthropic"]
    assert len(select(keys, [])) == 2
    with pytest.raises(UsageError, match="known: anthropic, openai"):
        select(keys, ["staging"])


def test_an_optional_key_without_its_variable_is_skipped_with_one_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Given a keys file for three providers where two are optional, an OpenAI-only team gets its one key."""
    from bot import log as logsetup

    logsetup.configure("WARNING", json=True)
    path = write(
        tmp_path,
        """
keys:
  - {alias: prod, provider: openai, api_key_env: OPENAI_API_KEY}
  - {alias: claude, provider: anthropic, api_key_env: ANTHROPIC_API_KEY, optional: true}
  - {alias: mine, provider: openai, api_key_file: missing.key, optional: true}
""",
    )
    keys = load_keys_file(path, {"OPENAI_API_KEY": FAKE_OPENAI})
    assert [k.alias for k in keys] == ["prod"]
    skipped = [line for line in capsys.readouterr().err.splitlines() if "key_skipped" in line]
    assert len(skipped) == 2
    assert "ANTHROPIC_API_KEY is not set" in skipped[0] and "missing.key" in skipped[1]


def test_a_required_key_without_its_variable_still_stops_everything(tmp_path: Path) -> None:
    """Only keys marked optional are skipped: a missing required key is one line naming it."""
    path = write(
        tmp_path,
        "keys:\n  - {alias: prod, provider: openai, api_key_env: OPENAI_API_KEY}\n"
        "  - {alias: claude, provider: anthropic, api_key_env: ANTHROPIC_API_KEY, optional: true}\n",
    )
    with pytest.raises(ConfigError, match="key 'prod': api_key_env: environment variable"):
        load_keys_file(path, {"ANTHROPIC_API_KEY": FAKE_ANTHROPIC})
