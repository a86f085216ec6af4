"""A probe's verdict: what one key's probe learnt, as a ProbeResult, with a failure's cause.

The classifier names a failed call's cause from its fields; what the probe saw itself wins
over it: a model the key's live list says is retired 404s like a typo does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from bot.causes import NOT_FOUND, Cause
from bot.diagnosis.classify import Classifier
from bot.keys import Key
from bot.knowledge.catalog import ModelEntry
from bot.probing.observed import Call, ListedModel, Listing
from bot.redact import mask
from bot.results import ProbeResult

if TYPE_CHECKING:  # the adapters load with the first live probe (they pull in httpx2)
    from bot.probing.adapters import Adapter

EVIDENCE_MAX = 500  # room for a free probe and a deep probe line; Slack clips its own view


@dataclass
class Job:
    """One key's probe in progress: what it has learnt so far."""

    adapter: Adapter
    model: str
    ep: str
    listing: Listing
    live: ListedModel | None
    evidence: list[str] = field(default_factory=list)
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Verdicts:
    """Turns a job into its ProbeResult, naming the cause when the probe failed."""

    classifier: Classifier
    clock: Callable[[], datetime]

    def failed(self, job: Job, call: Call, step: str) -> ProbeResult:
        """The result of a job whose call failed, with the cause and the error's fields."""
        job.evidence.append(call.describe())
        cause, extra = self.cause(job.adapter.key, job.model, job.ep, call, job.listing, job.live)
        job.fields.update(
            extra, http_status=call.status, error_code=call.error_code or call.error_type
        )
        if call.retry_after is not None and cause in (Cause.RATE_LIMIT, Cause.INSUFFICIENT_QUOTA):
            job.evidence.append(f"retry-after {call.retry_after:g} s")
        return self.done(job, cause, step)

    def failed_from_list(self, job: Job, entry: ModelEntry | None) -> ProbeResult:
        """The result when only the models list speaks, and it lacks the model.

        `entry` is the catalog's entry for the job's model, if any.
        """
        if not job.listing.call.ok:
            return self.failed(job, job.listing.call, "list")
        job.fields["did_you_mean"] = self.classifier.did_you_mean(job.model, job.listing.ids)
        cause = (
            Cause.MODEL_TYPO
            if job.fields["did_you_mean"] and entry is None
            else Cause.MODEL_NOT_FOUND
        )
        if entry is not None and entry.status_on(self._today()) == "retired":
            cause = Cause.MODEL_RETIRED
        return self.done(job, cause, "list")

    def cause(
        self,
        key: Key,
        model: str,
        ep: str,
        call: Call,
        listing: Listing,
        live: ListedModel | None,
    ) -> tuple[str, dict[str, Any]]:
        """The cause of a failed call, via the classifier, with the key's real models list."""
        if call.outcome in ("timeout", "connection"):
            return Cause.NETWORK, {}
        d = self.classifier.from_error(
            provider=key.provider,
            http_status=call.status,
            error_type=call.error_type,
            error_code=call.error_code,
            message=call.message,
            model=model,
            endpoint=ep,
            # A 429 without Retry-After is the SDK's own signal of an exhausted quota.
            retry_after=(
                call.retry_after if call.retry_after is not None or call.status != 429 else False
            ),
            available=listing.available(key),
        )
        cause = d.cause
        extra: dict[str, Any] = {"did_you_mean": list(d.did_you_mean)}
        if d.replacement:
            extra["replacement"] = d.replacement
        if d.endpoint:
            extra["right_endpoint"] = d.endpoint
        # Live lifecycle beats everything: a retired model 404s like a typo does.
        if cause in NOT_FOUND and live is not None and live.retired_on(self._today()):
            cause = Cause.MODEL_RETIRED
        return cause, extra

    def done(self, job: Job, cause: str | None, step: str) -> ProbeResult:
        """The job's result: accessible when there is no cause; evidence masked and capped."""
        accessible = cause is None
        text = "; ".join(e for e in job.evidence if e)
        extra = {k: v for k, v in job.fields.items() if k in ProbeResult.model_fields}
        result = self.result(
            job.adapter.key, job.model, job.ep, accessible=accessible, cause=cause, step=step
        )
        return result.model_copy(update={"evidence": cap(mask(text)), **extra})

    def result(
        self, key: Key, model: str, ep: str, *, accessible: bool, cause: str | None, step: str
    ) -> ProbeResult:
        """A bare result for one key, model and endpoint, checked now."""
        return ProbeResult(
            alias=key.alias,
            provider=key.provider,
            fingerprint=key.fingerprint,
            accessible=accessible,
            cause=None if accessible else cause,
            step=step,
            endpoint=ep,
            checked_at=self.clock(),
        )

    def _today(self) -> date:
        return self.clock().date()


def cap(text: str) -> str:
    """Evidence clipped to EVIDENCE_MAX characters."""
    return text if len(text) <= EVIDENCE_MAX else text[: EVIDENCE_MAX - 1] + "…"
