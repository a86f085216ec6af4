"""Error text or SDK exception -> cause -> Diagnosis.

Two steps. The taxonomy's matchers (bot/diagnosis/rules.py) score every cause against the evidence
(status, type, code, message, Retry-After, exception name) and the best sum wins. Then the
catalog narrows the model causes, because the providers word them alike: a not-found about a
retired model, a near miss of a real id (bot/diagnosis/suggest.py), a fine-tune, a model on the wrong
endpoint or a gated model are told apart by what we know about the model, not by the message.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

import structlog

from bot import providers
from bot.causes import MODEL_CAUSES, Cause
from bot.diagnosis import evidence as parse
from bot.diagnosis.evidence import Evidence
from bot.diagnosis.rules import Rules
from bot.diagnosis.suggest import Suggester
from bot.knowledge.catalog import Catalog, ModelEntry
from bot.knowledge.taxonomy import Taxonomy
from bot.redact import ROTATION_PAGES, find, mask
from bot.results import Diagnosis

log = structlog.get_logger(__name__)

# Model causes the provider's own error names ("has been deprecated", below_usage_tier): the
# catalog may still say the model is retired, but never demotes them to a plain not-found.
_NAMED_BY_PROVIDER = frozenset({Cause.MODEL_RETIRED, Cause.MODEL_TIER_GATED})

# Prefilter vocabulary: every provider error we know contains one of these (tests keep the
# taxonomy's standalone phrases and the corpus in step with it). Plain `in` checks on the
# lowercased text: no regex engine, so chatter costs a few microseconds.
_PREFILTER = (
    "error|exception|traceback|does not exist|not found|denied|invalid|incorrect|quota|limit|"
    "credit|exceeded|must be verified|verify organization|not supported|no longer supported|"
    "has no attribute|apiremovedinv1|you tried to access|overloaded|unavailable|bad gateway|"
    "timed out|timeout|econn|enotfound|etimedout|certificate|connection|fetch failed|"
    "too long|context length|deployment|permission|scope|forbidden|unauthorized|"
    "not a valid model|model:|failed|refused|region|organization|deprecated|access|supported|"
    "embedding model|does not work with|not allowed|retry after|api key|header should match|"
    "reduce the length|getaddrinfo|cannot connect|name resolution|not known|servname|"
    "no endpoints|available models|429|401|403|404|500|502|503|529"
)
PREFILTER_WORDS: tuple[str, ...] = tuple(_PREFILTER.split("|"))

_FT = re.compile(r"^ft:|:ft-", re.IGNORECASE)


class Classifier:
    """Classifies pasted text, structured probe errors and SDK exceptions into causes."""

    def __init__(
        self,
        catalog: Catalog,
        taxonomy: Taxonomy,
        *,
        today: Callable[[], date],
    ) -> None:
        self.catalog = catalog
        self.taxonomy = taxonomy
        self._today = today
        self._rules = Rules(taxonomy)
        self._suggester = Suggester(catalog)

    # -- public API ----------------------------------------------------------------------------

    def prefilter(self, text: str) -> bool:
        """False means: certainly no API error in this text. Cheap enough for every message."""
        lowered = text.lower()
        return any(word in lowered for word in PREFILTER_WORDS)

    def explain(self, text: str) -> Diagnosis:
        """Pasted text -> Diagnosis. Never raises: anything unexpected is logged and answered as unknown."""
        try:
            return self._explain(text)
        except Exception:
            log.exception("explain_failed", length=len(text))
            return self.taxonomy.diagnosis(Cause.UNKNOWN)

    def from_error(
        self,
        *,
        provider: str | None,
        http_status: int | None,
        error_type: str | None,
        error_code: str | None,
        message: str,
        model: str | None = None,
        endpoint: str | None = None,
        retry_after: bool | float | None = None,
        available: Sequence[str] | None = None,
    ) -> Diagnosis:
        """Structured fields of a failed call (a live probe) -> Diagnosis.

        `retry_after` may be the header's value in seconds; a day or more means no usable quota.
        `available` is the key's model list: did-you-mean ranks it first.
        """
        if isinstance(retry_after, (int, float)) and not isinstance(retry_after, bool):
            retry_after = retry_after < 3600
        inner = parse.extract(message or "", self._rules.tokens) if message else Evidence()
        ev = Evidence(
            text=inner.text or "",
            message=inner.message or message or "",
            http_status=http_status or inner.http_status,
            error_type=error_type or inner.error_type,
            error_code=error_code or inner.error_code,
            model=model or inner.model,
            provider=provider or inner.provider,
            endpoint_used=endpoint or inner.endpoint_used,
            retry_after=retry_after if retry_after is not None else inner.retry_after,
            exception=inner.exception,
            structured=True,
            tokens=inner.tokens,
        )
        return self._diagnose(ev, available, from_probe=True)

    def did_you_mean(
        self, model: str, available: Sequence[str] | None = None, limit: int = 5
    ) -> list[str]:
        """Real ids that `model` is a near miss of, best first: the key's own list, then the catalog.

        Only near misses are offered (case, separators, a date suffix, a slip or two that keeps
        the version numbers), so a non-empty answer means "probably a typo".
        """
        return self._suggester.did_you_mean(model, available, today=self._today(), limit=limit)

    # -- internals -----------------------------------------------------------------------------

    def _explain(self, text: str) -> Diagnosis:
        if not text or not self.prefilter(text):
            return self.taxonomy.diagnosis(Cause.NOT_AN_ERROR)
        ev = parse.extract(text, self._rules.tokens)
        d = self._diagnose(ev, None, from_probe=False)
        # The part of a huge paste that was read (head and tail) is the part we check for keys;
        # the whole-message secret guard of the help channel covers the rest.
        secrets = find(ev.text)
        if secrets:
            notes = [
                f"The paste contains what looks like {_article(s.kind)} {s.kind} "
                f"(…{s.fingerprint}). Treat it as leaked and rotate it: "
                f"{ROTATION_PAGES.get(s.provider, 'the provider console')}"
                for s in secrets[:3]
            ]
            d = d.model_copy(update={"notes": [*d.notes, *notes]})
        return d

    def _diagnose(
        self, ev: Evidence, available: Sequence[str] | None, *, from_probe: bool
    ) -> Diagnosis:
        cause, standalone = self._rules.best(ev)
        if not from_probe and not (ev.structured or standalone):
            return self.taxonomy.diagnosis(Cause.NOT_AN_ERROR)
        cause = cause or Cause.UNKNOWN
        model = _safe_model(ev.model)
        entry = self.catalog.lookup(model, ev.provider) if model else None
        provider = ev.provider or (entry.provider if entry else None)
        fields: dict[str, Any] = {
            "provider": provider,
            "model": model,
            "http_status": ev.http_status,
            "error_code": mask(ev.error_code or ev.error_type or "") or None,
        }
        if cause == Cause.WRONG_ENDPOINT:
            fields["endpoint"] = self._right_endpoint(ev, model, entry)
        elif cause in MODEL_CAUSES or (
            cause == Cause.UNKNOWN and model and ev.http_status in (400, 404)
        ):
            cause = self._narrow(cause, ev, model, entry, available, fields)
        if cause in (Cause.MODEL_RETIRED, Cause.MODEL_TIER_GATED, Cause.MODEL_NOT_FOUND) and entry:
            fields.setdefault("replacement", self._replacement(entry))
            fields.setdefault("shutdown", entry.shutdown)
        return self.taxonomy.diagnosis(cause, **{k: v for k, v in fields.items() if v is not None})

    def _narrow(
        self,
        cause: str,
        ev: Evidence,
        model: str | None,
        entry: ModelEntry | None,
        available: Sequence[str] | None,
        fields: dict[str, Any],
    ) -> str:
        """Decide between the model causes from what the catalog knows about the model."""
        if not model:
            return cause
        if _FT.search(model):
            return Cause.FINE_TUNE_SCOPE
        today = self._today()
        if entry is not None:
            if entry.status_on(today) == "retired":
                return Cause.MODEL_RETIRED
            if cause in _NAMED_BY_PROVIDER:
                return cause
            used = ev.endpoint_used
            if (
                used
                and entry.endpoints
                and used not in entry.endpoints
                and (ev.http_status in (400, 404) or cause == Cause.UNKNOWN)
            ):
                fields["endpoint"] = self._right_endpoint(ev, model, entry)
                return Cause.WRONG_ENDPOINT
            if available is not None and model in available:
                fields["notes"] = [
                    "Your key lists this model but the call failed; if it persists, this is a "
                    "case for the provider's support."
                ]
                return Cause.MODEL_NOT_FOUND
            if entry.gating:
                fields["notes"] = [f"Access condition ({g.kind}): {g.detail}" for g in entry.gating]
                return Cause.MODEL_TIER_GATED
            return Cause.MODEL_NOT_FOUND if cause != Cause.UNKNOWN else cause
        if cause in _NAMED_BY_PROVIDER:
            return cause
        foreign = self.catalog.lookup(model) if ev.provider else None
        if foreign is not None:
            # Another provider's exact id: not a typo, and its lifecycle is not this key's.
            fields["notes"] = [
                f"{model} is a model of {providers.title(foreign.provider)}, which "
                f"{providers.title(ev.provider or '')} does not serve: check it with a "
                f"{providers.title(foreign.provider)} key (or a gateway that serves it)."
            ]
            return Cause.MODEL_NOT_FOUND if cause != Cause.UNKNOWN else cause
        near = self.did_you_mean(model, available)
        if near:
            fields["did_you_mean"] = near
            target = self.catalog.lookup(near[0], ev.provider)
            if target is not None and not fields.get("provider"):
                fields["provider"] = target.provider
            if target is not None and target.status_on(today) == "retired":
                fields["replacement"] = self._replacement(target)
                fields["shutdown"] = target.shutdown
                fields["notes"] = [
                    f"{model} looks like a misspelling of {near[0]}, which is retired."
                ]
                return Cause.MODEL_RETIRED
            return Cause.MODEL_TYPO
        return Cause.MODEL_NOT_FOUND if cause != Cause.UNKNOWN else cause

    def _replacement(self, entry: ModelEntry) -> str | None:
        """Where to move: the catalog's replacement chain as of today, else the named one."""
        found = self.catalog.replacement_for(entry.id, provider=entry.provider, today=self._today())
        return found.id if found is not None else entry.replacement

    def _right_endpoint(
        self, ev: Evidence, model: str | None, entry: ModelEntry | None
    ) -> str | None:
        used = ev.endpoint_used
        if entry is not None and entry.endpoints:
            options = [e for e in entry.endpoints if e != used]
            if options:
                return options[0]
        return parse.endpoint_hint(f"{ev.message}\n{ev.text}", model, used)


def _article(noun: str) -> str:
    return "an" if noun[:1].lower() in "aeiou" else "a"


def _safe_model(model: str | None) -> str | None:
    """A model id fit to show: no secrets, no control characters, bounded length."""
    if not model:
        return None
    cleaned = "".join(ch for ch in model if ch.isprintable())[:120]
    masked = mask(cleaned)
    return None if masked != cleaned else cleaned or None
