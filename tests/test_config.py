"""The operator's config file: defaults, validation, and one-line errors naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import AppConfig, load_app_config
from bot.errors import ConfigError
from bot.keys import load_keys


def test_defaults_without_a_file() -> None:
    """No config file means the documented defaults."""
    config = load_app_config(None)
    assert config == AppConfig()
    assert config.notice_days == (90, 30, 7, 1)
    assert (
        config.cache_ttl_s.positive,
        config.cache_ttl_s.negative,
        config.cache_ttl_s.models_list,
    ) == (900, 120, 600)


def test_full_config_is_read_and_catalog_path_is_relative_to_the_file(tmp_path: Path) -> None:
    """Every contract field is read; catalog_file is resolved beside the config file."""
    path = tmp_path / "ma.yaml"
    path.write_text(
        """
help_channels: [C0123ABC]
broadcast_channel: C0456DEF
admins: [U0789GHI]
notice_days: [7, 90, 30, 1]
catalog_file: ./our-models.yaml
cache_ttl_s: {positive: 60, negative: 10, models_list: 30}
"""
    )
    config = load_app_config(path)
    assert config.help_channels == ("C0123ABC",)
    assert config.notice_days == (90, 30, 7, 1)
    assert config.catalog_file == tmp_path / "our-models.yaml"
    assert config.cache_ttl_s.negative == 10


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("help_channel: [C1]\n", "help_channel: unknown field"),
        ("notice_days: soon\n", "notice_days:"),
        (
            "notice_days: [30, -1]\n",
            "notice_days: every notice day must be a positive",
        ),
        ("cache_ttl_s: {positive: ten}\n", "cache_ttl_s.positive: must be a whole number"),
        ("probe_timeout_s: 500\n", "probe_timeout_s: must be at most 120"),
        ("deep_probe: maybe\n", "deep_probe: must be true or false"),
        ("cache_ttl_s: {positive: 1, stale: 2}\n", "cache_ttl_s.stale: unknown field"),
        ("- just\n- a list\n", "top level must be a mapping"),
        ("admins: [U1\n", "ma.yaml:"),
    ],
)
def test_bad_config_names_the_field(tmp_path: Path, body: str, expected: str) -> None:
    """Unknown fields and wrong types are one error line naming the file and the field."""
    path = tmp_path / "ma.yaml"
    path.write_text(body)
    with pytest.raises(ConfigError) as info:
        load_app_config(path)
    assert "\n" not in str(info.value)
    assert str(path) in str(info.value)
    assert expected in str(info.value)


def test_the_shipped_example_files_are_valid() -> None:
    """deploy/config/*.yaml, which the README and compose point at, load without error."""
    root = Path(__file__).resolve().parent.parent / "deploy" / "config"
    config = load_app_config(root / "config.yaml")
    assert config.notice_days == (90, 30, 7, 1) and config.broadcast_channel is None
    env = {
        "OPENAI_API_KEY": "x" * 40,
        "ANTHROPIC_API_KEY": "y" * 40,
        "AZURE_OPENAI_API_KEY": "z" * 32,
    }
    keys = load_keys(root / "keys.yaml", env)
    assert [(k.alias, k.provider) for k in keys] == [
        ("prod", "openai"),
        ("claude", "anthropic"),
        ("eastus", "azure"),
    ]


def test_the_shipped_keys_file_serves_an_openai_only_team() -> None:
    """With only OPENAI_API_KEY set, the example keys file gives the one OpenAI key, no error."""
    root = Path(__file__).resolve().parent.parent / "deploy" / "config"
    keys = load_keys(root / "keys.yaml", {"OPENAI_API_KEY": "x" * 40})
    assert [(k.alias, k.provider) for k in keys] == [("prod", "openai")]
