"""What the catalog knows about one model: its entry, access gates, and their vocabularies."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal, get_args

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictInt, model_validator

from bot.providers import Provider

Endpoint = Literal[
    "chat", "responses", "completions", "embeddings", "images", "audio", "moderations", "realtime"
]
ENDPOINTS: tuple[str, ...] = get_args(Endpoint)
Status = Literal["active", "deprecated", "retired"]
STATUSES: tuple[str, ...] = get_args(Status)
GateKind = Literal["tier", "verification", "existing_users", "trusted_access", "limited_access"]


def _not_a_number(value: object) -> object:
    # pydantic would read an int as a unix timestamp; in a YAML date field it is a mistake.
    if isinstance(value, bool | int | float):
        raise ValueError(f"invalid date {value!r}")
    return value


Day = Annotated[date, BeforeValidator(_not_a_number)]
ModelId = Annotated[str, Field(min_length=1, pattern=r"^\S+$")]


class Gate(BaseModel):
    """One access condition beyond a valid key (tier, verification, programme, ...)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: GateKind
    detail: str = Field(min_length=1)


class ModelEntry(BaseModel):
    """What we know about one model id; `source` and `as_of` say where and when we saw it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: ModelId
    provider: Provider
    family: str = Field(min_length=1)
    endpoints: tuple[Endpoint, ...]
    aliases: tuple[ModelId, ...] = ()
    status: Status
    announced: Day | None = None
    shutdown: Day | None = None
    earliest_shutdown: Day | None = None  # a "not sooner than" promise; never a notice date
    replacement: ModelId | None = None
    gating: tuple[Gate, ...] = ()
    context_window: Annotated[StrictInt, Field(gt=0)] | None = None
    as_of: Day
    source: str = Field(min_length=1)
    notes: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> ModelEntry:
        if self.announced and self.shutdown and self.announced > self.shutdown:
            raise ValueError(f"announced {self.announced} is after shutdown {self.shutdown}")
        if len(set(self.names)) != len(self.names):
            raise ValueError("an alias repeats the id or another alias")
        return self

    @property
    def names(self) -> tuple[str, ...]:
        """The id followed by its aliases."""
        return (self.id, *self.aliases)

    def status_on(self, today: date) -> Status:
        """The status on a given day: retired from the shutdown date on."""
        if self.shutdown is not None and self.shutdown <= today:
            return "retired"
        return self.status
