"""What a call to a provider observed, as plain values the prober reasons over and caches.

A `Call` is one HTTP request and what came back: success, or the error's fields as the
SDK parsed them. A `Listing` is a key's models list with the live lifecycle fields.
`accepts_probe` decides whether a free probe's 400 is the parameter rejection it was
built to cause: the APIs validate parameters after authentication, model access and
quota (research/probing.md §0 and §6 — a third-party heuristic, kept behind tests), so
that rejection proves access. Any other 400 (a missing model, a credit balance) is an
error like the rest.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.keys import Key
from bot.redact import mask

Outcome = Literal["ok", "error", "timeout", "connection"]
_KEPT_HEADERS = ("x-ratelimit-", "anthropic-ratelimit-", "retry-after", "x-ms-region", "request-id")
_REASONING = re.compile(r"^(o\d|gpt-[5-9])")
# Parameters whose rejection proves the request got past auth, model access and quota.
PROBE_PARAMS: dict[str, tuple[str, ...]] = {
    "chat": ("max_tokens", "max_completion_tokens"),
    "responses": ("max_output_tokens",),
    "completions": ("max_tokens",),
    "embeddings": ("input",),
    "messages": ("max_tokens",),
}
RESPONSES_FLOOR = 16  # responses (and reasoning chat) reject fewer output tokens (LiteLLM #24365)
NOT_PROBED = {
    "images": "not tried: a real image generation would be billed",
    "audio": "not tried: a real audio call would be billed",
    "realtime": "not tried: realtime sessions have no free probe",
}


class Call(BaseModel):
    """What one HTTP call observed."""

    model_config = ConfigDict(frozen=True)

    request: str  # "POST /v1/chat/completions max_tokens=0"
    outcome: Outcome
    status: int | None = None
    error_type: str | None = None
    error_code: str | None = None
    param: str | None = None
    message: str = ""
    retry_after: float | None = None
    headers: dict[str, str] = Field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """The call succeeded (2xx)."""
        return self.outcome == "ok"

    def describe(self, *, brief: bool = False) -> str:
        """One masked line: the request and what came back (brief: without the message)."""
        if self.outcome == "ok":
            return f"{self.request} → {self.status or 200}"
        if self.outcome == "timeout":
            return f"{self.request} → no answer before the deadline"
        if self.outcome == "connection":
            return f"{self.request} → connection failed ({self.message or 'no detail'})"
        label = self.error_type if brief else (self.error_code or self.error_type)
        what = " ".join(str(x) for x in (self.status, label) if x)
        if self.param:
            what += f" (param {self.param})"
        text = f"{self.request} → {what}"
        if self.message and not brief:
            text += f": {short(self.message, 160)}"
        return mask(text)


class ListedModel(BaseModel):
    """One model in a key's list, with the lifecycle fields the provider gave."""

    model_config = ConfigDict(frozen=True)

    id: str
    shutdown: date | None = None
    status: str | None = None  # active | deprecated | retired

    def retired_on(self, today: date) -> bool:
        """Retired by its lifecycle, or past its shutdown date."""
        return self.status == "retired" or (self.shutdown is not None and self.shutdown <= today)

    def lifecycle(self) -> str:
        """ "lifecycle deprecated, shutdown 2026-12-11" (empty for an undated active model)."""
        parts = []
        if self.status and self.status != "active":
            parts.append(f"lifecycle {self.status}")
        if self.shutdown is not None:
            parts.append(f"shutdown {self.shutdown.isoformat()}")
        return ", ".join(parts)


class Listing(BaseModel):
    """A key's models list: the call, the models, and whether listing proves the key works."""

    model_config = ConfigDict(frozen=True)

    call: Call
    models: list[ListedModel] = Field(default_factory=list)
    proves_auth: bool = True
    note: str | None = None

    @property
    def ids(self) -> list[str]:
        """The listed model ids."""
        return [m.id for m in self.models]

    def get(self, model: str) -> ListedModel | None:
        """The listed entry for an id (gateway ids like openai/gpt-5 match on the tail)."""
        for m in self.models:
            if m.id == model:
                return m
        tail = [m for m in self.models if m.id.rsplit("/", 1)[-1] == model]
        return tail[0] if len(tail) == 1 else None

    def has(self, key: Key, model: str, live: ListedModel | None) -> bool | None:
        """Is the model in the key's list? None when unknown (list failed; Azure deployments)."""
        if key.provider == "azure":
            return (model in key.deployments) if key.deployments else None
        if not self.call.ok:
            return None
        return live is not None

    def available(self, key: Key) -> list[str]:
        """The names this key can call: its models (Azure: its configured deployments)."""
        if key.provider == "azure":
            return list(key.deployments)
        return self.ids if self.call.ok else []

    def evidence_for(self, key: Key, model: str, live: ListedModel | None) -> str:
        """What the list says about one model, as a line of evidence."""
        call = self.call
        if not call.ok:
            if call.status == 403:
                return call.describe() + " (not fatal: a restricted key may lack Models: Read)"
            return call.describe()
        if key.provider == "azure":
            where = "deployable on this resource" if live else "not among the deployable models"
            known = ", ".join(key.deployments) if key.deployments else "none configured"
            text = f"{call.request}: {model} {where}; deployments (from config): {known}"
        elif live is not None:
            text = f"{call.request}: listed"
        else:
            n = len(self.models)
            text = f"{call.request}: not listed (the key lists {n} model{'' if n == 1 else 's'})"
        facts = live.lifecycle() if live is not None else ""
        if facts:
            text += f" ({facts})"
        if not self.proves_auth:
            text += " — the list may be public, so it proves nothing about the key"
        return text


def is_reasoning(model: str) -> bool:
    """o-series and gpt-5+ take max_completion_tokens, not max_tokens, on chat."""
    base = model.rsplit("/", 1)[-1].removeprefix("ft:")
    return _REASONING.match(base) is not None


def accepts_probe(call: Call, endpoint: str) -> bool:
    """True when a free probe came back as the parameter rejection it was built to cause."""
    if call.ok:
        return True
    if call.status != 400 or call.param == "model" or call.error_code == "model_not_found":
        return False
    params = PROBE_PARAMS.get(endpoint, ())
    if call.param in params:
        return True
    text = call.message
    return any(f"'{p}'" in text or f"$.{p}" in text or text.startswith(f"{p}:") for p in params)


def short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def kept_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items() if k.lower().startswith(_KEPT_HEADERS)}


def retry_after_s(headers: Mapping[str, str]) -> float | None:
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        raw = headers.get(name)
        if raw is not None:
            try:
                return float(raw) * scale
            except ValueError:
                return None
    return None


def epoch_date(value: Any) -> date | None:
    if isinstance(value, int | float) and value > 0:
        return datetime.fromtimestamp(value, UTC).date()
    return None


def iso_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, str) and value:
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None
