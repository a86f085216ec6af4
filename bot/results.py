"""The values the engine returns. Renderers (terminal, JSON, Block Kit) are pure functions of these.

Field names follow the contract in DESIGN.md; anything beyond it is an addition, never a rename.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (dates as ISO strings)."""
        return self.model_dump(mode="json")


class Fix(_Value):
    """One thing to try, ranked by likelihood; `code` maps a language (python, node, curl) to a snippet."""

    title: str
    detail: str
    code: dict[str, str] | None = None


class Diagnosis(_Value):
    """Why a key cannot use a model (or why a pasted error happened), and what to do."""

    cause: str
    provider: str | None = None
    model: str | None = None
    http_status: int | None = None
    error_code: str | None = None
    retryable: bool = False
    did_you_mean: list[str] = Field(default_factory=list)
    replacement: str | None = None
    summary: str = ""
    fixes: list[Fix] = Field(default_factory=list)
    # Additions:
    title: str = ""
    escalate: str | None = None  # when this is a case for the provider's support
    shutdown: date | None = None
    endpoint: str | None = None  # the endpoint the model belongs on (wrong_endpoint)
    notes: list[str] = Field(default_factory=list)  # e.g. deprecation warnings, mixed outcomes


class Limits(_Value):
    """Rate-limit figures a provider returned for this key and model."""

    requests_per_min: int | None = None
    tokens_per_min: int | None = None
    input_tokens_per_min: int | None = None
    output_tokens_per_min: int | None = None
    remaining_requests: int | None = None
    remaining_tokens: int | None = None
    tier_guess: str | None = None  # "looks like Tier 3 (from x-ratelimit-limit-tokens=...)"


class ProbeResult(_Value):
    """What probing one key for one model found."""

    alias: str
    provider: str
    fingerprint: str
    accessible: bool
    cause: str | None
    http_status: int | None = None
    error_code: str | None = None
    evidence: str = ""
    cached: bool = False
    # This key's own provider time for the probe that produced the result (for a cached
    # one, the probe that filled the cache): the wait for other keys, a probe slot or a
    # lock held by another process is not in it.
    latency_ms: float = 0.0
    limits: Limits | None = None
    shutdown: date | None = None
    # Additions:
    listed: bool | None = None  # in the key's models list (None: list unavailable)
    step: str = ""  # the rung that decided: list, retrieve, param-probe, deep, deployment
    endpoint: str | None = None
    status: str | None = None  # lifecycle status seen live (active/deprecated/retired)
    replacement: str | None = None
    checked_at: datetime | None = None
    did_you_mean: list[str] = Field(default_factory=list)  # near ids from this key's own list
    right_endpoint: str | None = None  # wrong_endpoint: where the model belongs


class CheckReport(_Value):
    """`check`: every selected key's result for one model, and the combined diagnosis."""

    model: str
    endpoint: str | None
    results: list[ProbeResult]
    diagnosis: Diagnosis
    # Additions:
    deep: bool = False
    cache: str = "redis"


class PendingKey(_Value):
    """A key whose result is not in yet: how a progress view names it."""

    alias: str
    provider: str
    fingerprint: str


class CheckProgress(_Value):
    """A check in flight: the results in so far and the keys still being probed, in key order.

    The last one of a check carries the `report` (every key answered or timed out).
    """

    model: str
    endpoint: str | None
    results: list[ProbeResult]
    pending: list[PendingKey]
    report: CheckReport | None = None

    @property
    def total(self) -> int:
        """How many keys the check asks."""
        return len(self.results) + len(self.pending)

    @property
    def done(self) -> int:
        """How many keys have answered."""
        return len(self.results)


class KeyModels(_Value):
    """`models`: what one key can list."""

    alias: str
    provider: str
    fingerprint: str
    ok: bool
    models: list[str] = Field(default_factory=list)
    shutdowns: dict[str, date] = Field(default_factory=dict)
    cause: str | None = None
    evidence: str = ""
    cached: bool = False
    note: str | None = None  # e.g. Azure: deployments cannot be listed with an API key


class ModelsReport(_Value):
    """`models` for every selected key."""

    keys: list[KeyModels]
    cache: str = "redis"


class Deprecation(_Value):
    """One row of the deprecation calendar."""

    model: str
    provider: str
    status: str
    announced: date | None
    shutdown: date | None
    replacement: str | None


class Notice(_Value):
    """A deprecation notice due on a given day."""

    model: str
    provider: str
    shutdown: date
    days_left: int
    threshold: int
    replacement: str | None


class KeyHealth(_Value):
    """App Home: how one key has been doing."""

    alias: str
    provider: str
    fingerprint: str
    last_probe_at: datetime | None = None
    last_ok: bool | None = None
    models_count: int | None = None
    recent_failures: list[str] = Field(default_factory=list)  # "gpt-4 model_retired", newest first


class ModelFacts(_Value):
    """What the catalog says about a model named in an error (any field may be missing)."""

    model: str
    status: str | None = None
    shutdown: date | None = None
    replacement: str | None = None


class LiveCheck(_Value):
    """A check of the model an error names, with the keys that can speak for its provider.

    `report` when the check ran; otherwise `note` says why not ("no provider keys are
    configured", "no answer within 15 s", ...).
    """

    model: str
    report: CheckReport | None = None
    note: str | None = None


class Reference(_Value):
    """`scan`: one place in a tree that names a model with a shutdown date."""

    file: str  # relative to the scanned path, with forward slashes
    line: int  # 1-based
    column: int  # 1-based, in characters
    text: str  # the id as written
    model: str  # the catalog id it resolves to
    provider: str
    status: str  # on the scan's day: deprecated or retired
    shutdown: date | None
    days_left: int | None
    replacement: str | None
    kind: str  # code | config | docs
    # Additions:
    gateway: str | None = None  # the provider prefix it was written with (openai/, azure/)


class ScanReport(_Value):
    """`scan`: every reference found, soonest shutdown first, and what was read."""

    references: list[Reference]
    files: int
    today: date
