"""The key registry: which provider keys the organisation gave us, and how to show them.

A key is only ever shown as alias + fingerprint (its last four characters). The secret
is a SecretStr, so it never appears in a repr, a log line or a cache value by accident.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import structlog
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from bot.config import read_yaml
from bot.errors import ConfigError, UsageError
from bot.providers import Provider
from bot.redact import fingerprint as _fingerprint
from bot.redact import remember
from bot.yamlfile import describe_validation_error

log = structlog.get_logger(__name__)

DEFAULT_AZURE_API_VERSION = "2024-10-21"


@dataclass(frozen=True)
class Key:
    """One configured provider key. `secret` is never shown; use `label` to display it."""

    alias: str
    provider: Provider
    secret: SecretStr = field(repr=False)
    base_url: str | None = None
    organization: str | None = None
    project: str | None = None
    api_version: str | None = None
    deployments: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # Whatever its format, a configured key is masked in every output from now on.
        remember(self.secret.get_secret_value())

    @property
    def fingerprint(self) -> str:
        """The last four characters of the secret."""
        return _fingerprint(self.secret.get_secret_value())

    @property
    def label(self) -> str:
        """How a key is shown anywhere: alias plus fingerprint."""
        return f"{self.alias} (…{self.fingerprint})"

    @property
    def cache_id(self) -> str:
        """A stable, secret-free id for cache keys: a hash of alias and fingerprint."""
        digest = hashlib.sha256(f"{self.alias}:{self.fingerprint}".encode()).hexdigest()
        return digest[:16]


class KeySpec(BaseModel):
    """One entry of the keys file, as the operator writes it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    alias: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.\-]+$")
    provider: Provider
    api_key_env: str | None = None
    api_key_file: Path | None = None
    base_url: str | None = None
    organization: str | None = None
    project: str | None = None
    api_version: str | None = None
    deployments: tuple[str, ...] = ()
    # An optional key whose variable is unset (or whose file is missing) is skipped with a
    # warning, so one keys file serves a team that holds only some of the providers' keys.
    optional: bool = False

    @field_validator("api_version", mode="before")
    @classmethod
    def _unquoted_date(cls, value: object) -> object:
        # YAML reads `api_version: 2024-10-21` (as the docs write it) as a date.
        return value.isoformat() if isinstance(value, date) else value

    @model_validator(mode="after")
    def _one_secret_source(self) -> KeySpec:
        if (self.api_key_env is None) == (self.api_key_file is None):
            raise ValueError("give exactly one of api_key_env or api_key_file")
        if self.provider in ("openai-compatible", "azure") and not self.base_url:
            raise ValueError(f"base_url is required for provider {self.provider}")
        if self.provider != "azure" and (self.api_version or self.deployments):
            raise ValueError("api_version and deployments are for provider azure only")
        return self


class KeysFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    keys: list[dict[str, object]]


class _NoSecret(Exception):
    """The key's variable is unset or its file unreadable; `field` and `why` say which."""

    def __init__(self, field: str, why: str) -> None:
        super().__init__(f"{field}: {why}")
        self.field = field
        self.why = why


def _read_secret(spec: KeySpec, env: Mapping[str, str], base: Path) -> SecretStr:
    if spec.api_key_env is not None:
        value = env.get(spec.api_key_env, "").strip()
        if not value:
            raise _NoSecret("api_key_env", f"environment variable {spec.api_key_env} is not set")
        return SecretStr(value)
    assert spec.api_key_file is not None
    path = spec.api_key_file if spec.api_key_file.is_absolute() else base / spec.api_key_file
    try:
        value = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise _NoSecret("api_key_file", f"cannot read {path} ({exc.strerror or exc})") from None
    if not value:
        raise _NoSecret("api_key_file", f"{path} is empty")
    return SecretStr(value)


def load_keys_file(path: Path, env: Mapping[str, str] | None = None) -> list[Key]:
    """Load the YAML keys file; every problem is one ConfigError naming file, alias and field."""
    env = os.environ if env is None else env
    data = read_yaml(path, "keys file")
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the file must be a mapping with a list under `keys:`")
    try:
        entries = KeysFile.model_validate(data).keys
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(str(path), exc)) from None
    keys: list[Key] = []
    seen: set[str] = set()
    for index, raw in enumerate(entries):
        name = raw.get("alias") if isinstance(raw, dict) else None
        label = f"key '{name}'" if isinstance(name, str) else f"keys[{index}]"
        try:
            spec = KeySpec.model_validate(raw)
        except ValidationError as exc:
            raise ConfigError(describe_validation_error(f"{path}: {label}", exc)) from None
        if spec.alias in seen:
            raise ConfigError(f"{path}: key '{spec.alias}': alias: duplicate alias")
        seen.add(spec.alias)
        try:
            secret = _read_secret(spec, env, path.parent)
        except _NoSecret as missing:
            if not spec.optional:
                raise ConfigError(f"{path}: key '{spec.alias}': {missing}") from None
            log.warning("key_skipped", alias=spec.alias, reason=missing.why, optional=True)
            continue
        api_version = spec.api_version
        if spec.provider == "azure" and api_version is None:
            api_version = env.get("OPENAI_API_VERSION") or DEFAULT_AZURE_API_VERSION
        keys.append(
            Key(
                alias=spec.alias,
                provider=spec.provider,
                secret=secret,
                base_url=spec.base_url,
                organization=spec.organization,
                project=spec.project,
                api_version=api_version,
                deployments=spec.deployments,
            )
        )
    return keys


def keys_from_env(env: Mapping[str, str] | None = None) -> list[Key]:
    """Keys from the SDKs' own variables, when no keys file is given."""
    env = os.environ if env is None else env
    keys: list[Key] = []
    if env.get("OPENAI_API_KEY", "").strip():
        keys.append(
            Key(
                alias="openai",
                provider="openai",
                secret=SecretStr(env["OPENAI_API_KEY"].strip()),
                base_url=env.get("OPENAI_BASE_URL") or None,
                organization=env.get("OPENAI_ORG_ID") or None,
                project=env.get("OPENAI_PROJECT_ID") or None,
            )
        )
    if env.get("ANTHROPIC_API_KEY", "").strip():
        keys.append(
            Key(
                alias="anthropic",
                provider="anthropic",
                secret=SecretStr(env["ANTHROPIC_API_KEY"].strip()),
                base_url=env.get("ANTHROPIC_BASE_URL") or None,
            )
        )
    azure_key = env.get("AZURE_OPENAI_API_KEY", "").strip()
    azure_endpoint = env.get("AZURE_OPENAI_ENDPOINT", "").strip()
    if azure_key and not azure_endpoint:
        raise ConfigError(
            "environment: AZURE_OPENAI_API_KEY is set but AZURE_OPENAI_ENDPOINT is not"
        )
    if azure_key:
        keys.append(
            Key(
                alias="azure",
                provider="azure",
                secret=SecretStr(azure_key),
                base_url=azure_endpoint,
                api_version=env.get("OPENAI_API_VERSION") or DEFAULT_AZURE_API_VERSION,
            )
        )
    return keys


def load_keys(path: Path | None, env: Mapping[str, str] | None = None) -> list[Key]:
    """The keys file when one is named, else the SDK environment variables."""
    return load_keys_file(path, env) if path is not None else keys_from_env(env)


def select(keys: Sequence[Key], aliases: Sequence[str]) -> list[Key]:
    """The keys named by alias (all when none are named); unknown aliases are a UsageError."""
    if not aliases:
        return list(keys)
    by_alias = {k.alias: k for k in keys}
    unknown = [a for a in aliases if a not in by_alias]
    if unknown:
        known = ", ".join(sorted(by_alias)) or "none configured"
        raise UsageError(f"unknown key alias {unknown[0]!r} (known: {known})")
    return [by_alias[a] for a in dict.fromkeys(aliases)]


def require_keys(keys: list[Key]) -> None:
    """Raise a ConfigError that says how to configure keys when there are none."""
    if not keys:
        raise ConfigError(
            "no provider keys configured: set MODEL_ACCESS_KEYS_FILE (or --keys FILE), "
            "or OPENAI_API_KEY / ANTHROPIC_API_KEY / AZURE_OPENAI_API_KEY"
        )
