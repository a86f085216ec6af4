"""Settings from the environment and the operator's YAML config, validated once at start-up."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot import yamlfile
from bot.errors import ConfigError
from bot.redact import remember
from bot.yamlfile import describe_validation_error

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class Env(BaseSettings):
    """The environment variables of the contract (provider variables live in bot.keys)."""

    # A variable set to "" counts as unset: compose's env_file and Kubernetes write empty
    # values for the lines an operator left blank (SLACK_APP_TOKEN= must not mean Socket Mode).
    model_config = SettingsConfigDict(
        env_prefix="", case_sensitive=True, extra="ignore", env_ignore_empty=True
    )

    REDIS_URL: str | None = None
    SLACK_BOT_TOKEN: SecretStr | None = None
    SLACK_APP_TOKEN: SecretStr | None = None
    SLACK_SIGNING_SECRET: SecretStr | None = None
    SLACK_API_URL: str = DEFAULT_SLACK_API_URL
    PORT: int = 3000
    MODEL_ACCESS_CONFIG: Path | None = None
    MODEL_ACCESS_KEYS_FILE: Path | None = None
    # Unset: the CLI logs errors only (its answer is the output), serve and worker log INFO.
    MODEL_ACCESS_LOG_LEVEL: str | None = None

    @field_validator("MODEL_ACCESS_LOG_LEVEL")
    @classmethod
    def _known_level(cls, level: str | None) -> str | None:
        if level is None:
            return None
        if level.upper() not in LOG_LEVELS:
            raise ValueError(f"{level} is not a log level (one of {', '.join(LOG_LEVELS)})")
        return level.upper()

    def model_post_init(self, context: Any, /) -> None:
        """Slack's tokens are masked in every output from now on, whatever their format."""
        for token in (self.SLACK_BOT_TOKEN, self.SLACK_APP_TOKEN, self.SLACK_SIGNING_SECRET):
            if token is not None:
                remember(token.get_secret_value())


class CacheTTL(BaseModel):
    """How long probe results live in Redis, in seconds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    positive: int = Field(900, ge=0)
    negative: int = Field(120, ge=0)
    models_list: int = Field(600, ge=0)


class AppConfig(BaseModel):
    """The operator's MODEL_ACCESS_CONFIG file. Every field has a default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    help_channels: tuple[str, ...] = ()
    broadcast_channel: str | None = None
    admins: tuple[str, ...] = ()
    notice_days: tuple[int, ...] = (90, 30, 7, 1)
    catalog_file: Path | None = None
    cache_ttl_s: CacheTTL = CacheTTL()
    # Additions beyond the design's example (documented in the README):
    probe_timeout_s: float = Field(10.0, gt=0, le=120)
    deep_probe: bool = False
    probes_per_user_per_minute: int = Field(10, ge=1)
    inventory_interval_min: int = Field(60, ge=5)
    # Probes at once per (provider, base URL); more keys there wait for a slot.
    max_concurrent_probes: int = Field(16, ge=1, le=256)

    @field_validator("notice_days")
    @classmethod
    def _positive_days(cls, days: tuple[int, ...]) -> tuple[int, ...]:
        if any(d <= 0 for d in days):
            raise ValueError("every notice day must be a positive number of days")
        return tuple(sorted(set(days), reverse=True))


def read_yaml(path: Path, what: str) -> Any:
    """Read a YAML file, turning every failure into a one-line ConfigError."""
    try:
        return yamlfile.read(path, fast=True).data
    except OSError as exc:
        raise ConfigError(f"{what} {path}: cannot read ({exc.strerror or exc})") from None
    except yamlfile.YamlSyntaxError as exc:
        line = f":{exc.line}" if exc.line is not None else ""
        raise ConfigError(f"{path}{line}: {exc.problem or 'invalid YAML'}") from None


def load_app_config(path: Path | None) -> AppConfig:
    """Load MODEL_ACCESS_CONFIG, or the defaults when no file is named."""
    if path is None:
        return AppConfig()
    data = read_yaml(path, "config file")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of settings")
    try:
        config = AppConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(str(path), exc)) from None
    if config.catalog_file is not None and not config.catalog_file.is_absolute():
        config = config.model_copy(update={"catalog_file": path.parent / config.catalog_file})
    return config


def load_env() -> Env:
    """Read the contract's environment variables."""
    try:
        return Env()
    except ValidationError as exc:
        raise ConfigError(describe_validation_error("environment", exc)) from None
