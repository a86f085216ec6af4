"""Probe results + catalog + taxonomy -> one Diagnosis for a `check` (same shape as `explain`).

Conventions:

* Every selected key can use the model: the cause is `not_an_error` (there is no error to
  explain). The summary says so; notes carry the deprecation warning (shutdown date and
  replacement, live data first, then the catalog), tier guesses and probe caveats.
* Some or all keys cannot: the diagnosis is that of the failing keys' dominant cause (the
  most frequent; ties go to the first key in the order asked), filled in from the taxonomy.
  When other keys *can* use the model, a note names which can and which cannot, and says
  what that split usually means (project or organisation scoping, tier, fine-tune
  ownership, billing, a revoked key).
* Did-you-mean comes from the keys' actual models lists first, then the catalog.
* A model a key *lists* but whose request is refused as not found is a case for the
  provider's support: `escalate` says so.
* Wrong endpoint: `endpoint` names the right one and the first fix shows the call.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date

from bot import providers
from bot.causes import NOT_FOUND, Cause
from bot.diagnosis.classify import Classifier
from bot.knowledge.catalog import Catalog
from bot.knowledge.taxonomy import Taxonomy
from bot.results import Diagnosis, Fix, ProbeResult

MAX_SUGGESTIONS = 5
# Listed, yet refused as if it did not exist: only support can explain that. A refusal that
# names its reason (a project's model settings, a usage tier) is explained by the reason.
_UNEXPLAINED_REFUSALS = NOT_FOUND
_SUGGEST_FOR = NOT_FOUND  # an exact but gated id needs no suggestion


# What a split (some keys can, some cannot) usually means, per dominant cause.
def diagnose(
    model: str,
    endpoint: str | None,
    results: Sequence[ProbeResult],
    *,
    catalog: Catalog,
    taxonomy: Taxonomy,
    classifier: Classifier,
    today: date,
) -> Diagnosis:
    """One answer for a check: why the failing keys fail, or that every key works."""
    ok = [r for r in results if r.accessible]
    bad = [r for r in results if not r.accessible]
    shutdown, replacement = _lifecycle(model, results, catalog, today)
    notes = _deprecation_notes(model, shutdown, replacement, today)
    notes += [f"{r.alias}: {r.limits.tier_guess}" for r in ok if r.limits and r.limits.tier_guess]
    if not results:
        return taxonomy.diagnosis(Cause.UNKNOWN, model=model, summary="No key was probed.")
    if not bad:
        return _all_ok(model, endpoint, ok, shutdown, replacement, notes, catalog, today)

    cause = _dominant(bad)
    rep = next(r for r in bad if r.cause == cause)
    dym = _suggestions(model, bad, catalog, classifier) if cause in _SUGGEST_FOR else []
    right = rep.right_endpoint or _right_endpoint(model, endpoint or rep.endpoint, catalog)
    if ok:
        notes.insert(0, _split_note(ok, bad, taxonomy.split_meaning(cause)))
    retired = cause == Cause.MODEL_RETIRED
    fields = {
        "provider": rep.provider,
        "model": model,
        "http_status": rep.http_status,
        "error_code": rep.error_code,
        "did_you_mean": dym,
        "replacement": replacement if (retired or shutdown) else rep.replacement,
        "shutdown": shutdown,
        "notes": notes,
    }
    if cause == Cause.WRONG_ENDPOINT and right:
        fields["endpoint"] = right
    d = taxonomy.diagnosis(cause, **fields)
    listed_but_refused = [r for r in bad if r.listed and r.cause in _UNEXPLAINED_REFUSALS]
    if listed_but_refused:
        d = d.model_copy(update={"escalate": _escalate(model, listed_but_refused, d.escalate)})
    if cause == Cause.WRONG_ENDPOINT and right:
        d = d.model_copy(update={"fixes": [_endpoint_fix(model, right, rep.provider), *d.fixes]})
    return d


# -- pieces ---------------------------------------------------------------------------------


def _all_ok(
    model: str,
    endpoint: str | None,
    ok: Sequence[ProbeResult],
    shutdown: date | None,
    replacement: str | None,
    notes: list[str],
    catalog: Catalog,
    today: date,
) -> Diagnosis:
    where = f" on the {endpoint} endpoint" if endpoint else ""
    how = (
        "a real request"
        if all(r.step == "deep" for r in ok)
        else "free probes (no tokens were generated)"
    )
    n = len(ok)
    who = "The key" if n == 1 else f"All {n} selected keys"
    summary = f"{who} can use {model}{where}, checked with {how}."
    entry = catalog.lookup(model, _common_provider(ok))
    gated = entry is not None and any(g.kind == "verification" for g in entry.gating)
    if gated and not all(r.step == "deep" for r in ok):
        notes.append(
            "The free probe cannot see organisation verification, which this model requires "
            "for some uses; run the check with --deep to make one real request."
        )
    fixes: list[Fix] = []
    if shutdown is not None and shutdown > today:
        target = replacement or "a current model"
        fixes.append(
            Fix(
                title=f"Plan the move to {target} before {shutdown.isoformat()}",
                detail="Switch the model id in your configuration and re-run your tests; "
                "`model-access deprecations` lists the other models with a shutdown date.",
            )
        )
    return Diagnosis(
        cause=Cause.NOT_AN_ERROR,
        provider=_common_provider(ok),
        model=model,
        title=f"{model} works" + (" — but it is scheduled to shut down" if fixes else ""),
        summary=summary,
        fixes=fixes,
        replacement=replacement if shutdown is not None else None,
        shutdown=shutdown,
        notes=notes,
    )


def _lifecycle(
    model: str, results: Sequence[ProbeResult], catalog: Catalog, today: date
) -> tuple[date | None, str | None]:
    """The shutdown date (live from a provider first, else the catalog) and replacement."""
    live = sorted(r.shutdown for r in results if r.shutdown is not None)
    entry = catalog.lookup(model, _common_provider(results))
    shutdown = live[0] if live else (entry.shutdown if entry else None)
    replacement = next((r.replacement for r in results if r.replacement), None)
    if replacement is None and entry is not None:
        target = catalog.replacement_for(entry.id, provider=entry.provider, today=today)
        replacement = target.id if target is not None else None
    return shutdown, replacement


def _deprecation_notes(
    model: str, shutdown: date | None, replacement: str | None, today: date
) -> list[str]:
    if shutdown is None:
        return []
    instead = f"; move to {replacement}" if replacement else ""
    if shutdown <= today:
        return [f"{model} was shut down on {shutdown.isoformat()}{instead}."]
    days = (shutdown - today).days
    unit = "day" if days == 1 else "days"
    return [
        f"{model} is deprecated: it shuts down on {shutdown.isoformat()} "
        f"(in {days} {unit}){instead}."
    ]


def _dominant(bad: Sequence[ProbeResult]) -> str:
    counts = Counter(r.cause or Cause.UNKNOWN for r in bad)
    top = max(counts.values())
    return next(r.cause or Cause.UNKNOWN for r in bad if counts[r.cause or Cause.UNKNOWN] == top)


def _suggestions(
    model: str, bad: Sequence[ProbeResult], catalog: Catalog, classifier: Classifier
) -> list[str]:
    """Near ids from the keys' own lists first, then (for a name the catalog does not know) its own."""
    out: list[str] = []
    for r in bad:
        out += r.did_you_mean
    if catalog.lookup(model) is None:
        out += classifier.did_you_mean(model, catalog.names())
    unique = [m for m in dict.fromkeys(out) if m != model]
    return unique[:MAX_SUGGESTIONS]


def _right_endpoint(model: str, asked: str | None, catalog: Catalog) -> str | None:
    entry = catalog.lookup(model)
    if entry is None:
        return None
    others = [str(e) for e in entry.endpoints if e != asked]
    return others[0] if others else None


def _label(r: ProbeResult) -> str:
    return f"{r.alias} (…{r.fingerprint})"


def _split_note(ok: Sequence[ProbeResult], bad: Sequence[ProbeResult], meaning: str) -> str:
    can = ", ".join(_label(r) for r in ok)
    cannot = ", ".join(f"{_label(r)}: {r.cause}" for r in bad)
    return f"Can use it: {can}. Cannot: {cannot}. {meaning}"


def _escalate(model: str, refused: Sequence[ProbeResult], default: str | None) -> str:
    who = ", ".join(_label(r) for r in refused)
    text = (
        f"{who} list {model} among their models, yet a request to it is refused as not found. "
        "That contradiction is not something a setting on your side explains: if it persists "
        "after a re-probe, send the provider's support the request id, the key's organisation "
        "and project, and this evidence."
    )
    return text if default is None else f"{text} {default}"


def _endpoint_fix(model: str, endpoint: str, provider: str) -> Fix:
    """The call that works: the model on the endpoint it belongs to."""
    py, curl = _ENDPOINT_CALLS.get(endpoint, _ENDPOINT_CALLS["chat"])
    base = "https://api.openai.com/v1"
    name = providers.title(provider)
    return Fix(
        title=f"Call {model} on the {endpoint} endpoint",
        detail=f"{name} serves {model} on {endpoint}; the same key works there.",
        code={
            "python": py.format(model=model),
            "curl": curl.format(model=model, base=base),
        },
    )


_ENDPOINT_CALLS: dict[str, tuple[str, str]] = {
    "responses": (
        'from openai import OpenAI\n\nr = OpenAI().responses.create(model="{model}", input="Say hello")\n'
        "print(r.output_text)\n",
        'curl {base}/responses -H "Authorization: Bearer $OPENAI_API_KEY" \\\n'
        '  -H "Content-Type: application/json" -d \'{{"model": "{model}", "input": "Say hello"}}\'\n',
    ),
    "chat": (
        "from openai import OpenAI\n\nr = OpenAI().chat.completions.create(\n"
        '    model="{model}", messages=[{{"role": "user", "content": "Say hello"}}]\n)\n'
        "print(r.choices[0].message.content)\n",
        'curl {base}/chat/completions -H "Authorization: Bearer $OPENAI_API_KEY" \\\n'
        '  -H "Content-Type: application/json" \\\n'
        '  -d \'{{"model": "{model}", "messages": [{{"role": "user", "content": "Say hello"}}]}}\'\n',
    ),
    "completions": (
        'from openai import OpenAI\n\nr = OpenAI().completions.create(model="{model}", prompt="Say hello")\n'
        "print(r.choices[0].text)\n",
        'curl {base}/completions -H "Authorization: Bearer $OPENAI_API_KEY" \\\n'
        '  -H "Content-Type: application/json" -d \'{{"model": "{model}", "prompt": "Say hello"}}\'\n',
    ),
    "embeddings": (
        'from openai import OpenAI\n\ne = OpenAI().embeddings.create(model="{model}", input="hello")\n'
        "print(len(e.data[0].embedding))\n",
        'curl {base}/embeddings -H "Authorization: Bearer $OPENAI_API_KEY" \\\n'
        '  -H "Content-Type: application/json" -d \'{{"model": "{model}", "input": "hello"}}\'\n',
    ),
    "moderations": (
        'from openai import OpenAI\n\nm = OpenAI().moderations.create(model="{model}", input="hello")\n'
        "print(m.results[0].flagged)\n",
        'curl {base}/moderations -H "Authorization: Bearer $OPENAI_API_KEY" \\\n'
        '  -H "Content-Type: application/json" -d \'{{"model": "{model}", "input": "hello"}}\'\n',
    ),
}


def _common_provider(results: Sequence[ProbeResult]) -> str | None:
    providers = {r.provider for r in results}
    return providers.pop() if len(providers) == 1 else None
