"""From per-key probe results to the one answer a person reads.

Most stories build ProbeResults by hand (diagnose is a pure function); the last few run
the whole engine against the fake providers, where the split between keys comes from
real responses.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from bot.cache import Cache
from bot.config import AppConfig
from bot.diagnosis import check as diag
from bot.diagnosis.classify import Classifier
from bot.knowledge.catalog import Catalog
from bot.knowledge.load import load_knowledge
from bot.knowledge.taxonomy import Taxonomy
from bot.results import Diagnosis, Limits, ProbeResult
from tests.fakes.providers import Account, FakeProviders
from tests.test_probe import TODAY, engine_for, fake_secret, fakes, openai_key

__all__ = ["fakes"]  # the fixture, imported for the engine stories below


@pytest.fixture(scope="module")
def knowledge() -> tuple[Catalog, Taxonomy, Classifier]:
    """The bundled catalog and taxonomy, and a classifier over them."""
    catalog, taxonomy = load_knowledge(AppConfig())
    return catalog, taxonomy, Classifier(catalog, taxonomy, today=lambda: TODAY)


def result(alias: str, ok: bool, cause: str | None = None, **kw: Any) -> ProbeResult:
    """A ProbeResult as the prober would build it."""
    base: dict[str, Any] = {
        "alias": alias,
        "provider": "openai",
        "fingerprint": alias[-4:].rjust(4, "x"),
        "accessible": ok,
        "cause": None if ok else cause,
        "step": "param-probe",
        "endpoint": "chat",
    }
    return ProbeResult(**{**base, **kw})


def run(
    knowledge: tuple[Catalog, Taxonomy, Classifier],
    model: str,
    results: list[ProbeResult],
    endpoint: str | None = None,
) -> Diagnosis:
    catalog, taxonomy, classifier = knowledge
    return diag.diagnose(
        model,
        endpoint,
        results,
        catalog=catalog,
        taxonomy=taxonomy,
        classifier=classifier,
        today=TODAY,
    )


def test_every_key_works_is_not_an_error(knowledge: tuple[Catalog, Taxonomy, Classifier]) -> None:
    """When all keys can use the model there is no error: not_an_error, and the summary says so."""
    d = run(knowledge, "gpt-4o", [result("prod", True), result("stage", True)])
    assert d.cause == "not_an_error"
    assert d.summary.startswith("All 2 selected keys can use gpt-4o")
    assert "free probes" in d.summary


def test_deprecated_but_working_warns_with_date_and_replacement(
    knowledge: tuple[Catalog, Taxonomy, Classifier],
) -> None:
    """A working model with a shutdown date gets a warning note and a plan-the-move fix."""
    r = result("prod", True, shutdown=date(2026, 12, 11), replacement="gpt-house-6")
    d = run(knowledge, "gpt-house-5", [r])
    assert d.cause == "not_an_error" and d.shutdown == date(2026, 12, 11)
    assert d.replacement == "gpt-house-6"
    assert d.notes[0] == (
        "gpt-house-5 is deprecated: it shuts down on 2026-12-11 (in 18 days); move to gpt-house-6."
    )
    assert d.fixes[0].title == "Plan the move to gpt-house-6 before 2026-12-11"


def test_tier_guesses_are_passed_on(knowledge: tuple[Catalog, Taxonomy, Classifier]) -> None:
    """A tier guess from the rate-limit headers appears as a note naming the key."""
    limits = Limits(tokens_per_min=2_000_000, tier_guess="looks like Tier 3 (from x)")
    d = run(knowledge, "gpt-4o", [result("prod", True, limits=limits)])
    assert "prod: looks like Tier 3 (from x)" in d.notes


def test_split_between_keys_names_who_can_and_why(
    knowledge: tuple[Catalog, Taxonomy, Classifier],
) -> None:
    """One key can and one cannot: the failing cause, plus a note on who is who and what it means."""
    d = run(
        knowledge,
        "gpt-4o",
        [result("prod", True), result("sandbox", False, "model_not_found", http_status=404)],
    )
    assert d.cause == "model_not_found" and d.http_status == 404
    assert d.notes[0].startswith(
        "Can use it: prod (…prod). Cannot: sandbox (…dbox): model_not_found."
    )
    assert "different organisations or projects" in d.notes[0]


@pytest.mark.parametrize(
    ("cause", "meaning"),
    [
        ("insufficient_quota", "out of credit"),
        ("invalid_api_key", "revoked"),
        ("fine_tune_scope", "fine-tune"),
        ("model_tier_gated", "tiers"),
        ("network", "differ in organisation"),
    ],
)
def test_split_meaning_depends_on_the_cause(
    knowledge: tuple[Catalog, Taxonomy, Classifier], cause: str, meaning: str
) -> None:
    """What a split means is told per cause: billing, a bad key, fine-tune ownership, tiers, or in general."""
    d = run(knowledge, "gpt-4o", [result("prod", True), result("other", False, cause)])
    assert d.cause == cause and meaning in d.notes[0]


def test_dominant_cause_wins_and_ties_go_to_the_first_key(
    knowledge: tuple[Catalog, Taxonomy, Classifier],
) -> None:
    """The most frequent failing cause is diagnosed; on a tie, the first key's cause."""
    many = [
        result("a", False, "invalid_api_key"),
        result("b", False, "insufficient_quota"),
        result("c", False, "insufficient_quota"),
    ]
    assert run(knowledge, "gpt-4o", many).cause == "insufficient_quota"
    tie = [result("a", False, "rate_limit"), result("b", False, "network")]
    assert run(knowledge, "gpt-4o", tie).cause == "rate_limit"


def test_typo_suggestions_come_from_the_keys_lists_first(
    knowledge: tuple[Catalog, Taxonomy, Classifier],
) -> None:
    """Did-you-mean lists the keys' own near ids before the catalog's."""
    r = result("prod", False, "model_typo", did_you_mean=["gpt-4o-house"])
    d = run(knowledge, "gpt4o", [r])
    assert d.cause == "model_typo"
    assert d.did_you_mean[0] == "gpt-4o-house" and "gpt-4o" in d.did_you_mean


def test_an_exact_gated_id_gets_no_suggestions(
    knowledge: tuple[Catalog, Taxonomy, Classifier],
) -> None:
    """A real id refused for tier reasons is not a typo: no did-you-mean list of its siblings."""
    d = run(knowledge, "gpt-5", [result("prod", False, "model_tier_gated", http_status=404)])
    assert d.cause == "model_tier_gated" and d.did_you_mean == []


def test_retired_model_gives_shutdown_and_replacement(
    knowledge: tuple[Catalog, Taxonomy, Classifier],
) -> None:
    """A retired model: the catalog's shutdown date and replacement, and prose that says so."""
    catalog = knowledge[0]
    d = run(
        knowledge, "gpt-4-1106-preview", [result("prod", False, "model_retired", http_status=404)]
    )
    assert d.cause == "model_retired"
    assert d.shutdown == date(2026, 10, 23)
    target = catalog.replacement_for("gpt-4-1106-preview", today=TODAY)
    assert target is not None and d.replacement == target.id
    assert "2026-10-23" in d.summary


def test_listed_but_refused_is_escalated(knowledge: tuple[Catalog, Taxonomy, Classifier]) -> None:
    """A key that lists the model but gets not-found on a request: a case for support."""
    r = result("prod", False, "model_not_found", listed=True, http_status=404)
    d = run(knowledge, "gpt-house-9", [r])
    assert d.escalate is not None
    assert d.escalate.startswith("prod (…prod) list gpt-house-9 among their models")


def test_wrong_endpoint_shows_the_working_call(
    knowledge: tuple[Catalog, Taxonomy, Classifier],
) -> None:
    """Wrong endpoint: the diagnosis names the right endpoint and its first fix is the call, in code."""
    r = result("prod", False, "wrong_endpoint", right_endpoint="responses", http_status=404)
    d = run(knowledge, "o3-pro", [r], endpoint="chat")
    assert d.cause == "wrong_endpoint" and d.endpoint == "responses"
    fix = d.fixes[0]
    assert fix.title == "Call o3-pro on the responses endpoint"
    assert fix.code is not None
    assert 'responses.create(model="o3-pro"' in fix.code["python"]
    assert "/v1/responses" in fix.code["curl"]


@pytest.mark.parametrize(
    "cause",
    [
        "insufficient_quota",
        "rate_limit",
        "invalid_api_key",
        "missing_scope",
        "unsupported_region",
        "org_verification_required",
        "provider_outage",
        "network",
        "azure_deployment_not_found",
    ],
)
def test_each_failure_cause_takes_the_taxonomy_prose(
    knowledge: tuple[Catalog, Taxonomy, Classifier], cause: str
) -> None:
    """Every cause a probe can observe becomes its taxonomy entry: title, fixes, retryable."""
    taxonomy = knowledge[1]
    d = run(knowledge, "gpt-4o", [result("prod", False, cause, http_status=429, error_code="x")])
    entry = taxonomy.get(cause)
    assert (d.cause, d.title, d.retryable) == (cause, entry.title, entry.retryable)
    assert d.fixes and d.http_status == 429 and d.error_code == "x"


def test_no_results_is_unknown(knowledge: tuple[Catalog, Taxonomy, Classifier]) -> None:
    """With no key probed there is nothing to say but unknown."""
    assert run(knowledge, "gpt-4o", []).cause == "unknown"


# -- through the engine, against the fakes ----------------------------------------------------


async def test_project_split_through_the_engine(cache: Cache, fakes: FakeProviders) -> None:
    """Two projects, one allowed gpt-4o: the diagnosis says which key can and which cannot."""
    allowed, blocked = fake_secret("openai", "projA"), fake_secret("openai", "projB")
    fakes.openai.add_account(Account(allowed, models=["gpt-4o"]))
    fakes.openai.add_account(Account(blocked, models=["gpt-4o-mini"]))
    keys = [openai_key(fakes, "proj-a", allowed), openai_key(fakes, "proj-b", blocked)]
    report = await engine_for(cache, keys).check("gpt-4o")
    d = report.diagnosis
    assert [r.accessible for r in report.results] == [True, False]
    assert d.cause in ("model_not_found", "model_tier_gated")
    assert d.notes[0].startswith(
        f"Can use it: proj-a (…{allowed[-4:]}). Cannot: proj-b (…{blocked[-4:]})"
    )


async def test_listed_but_404_through_the_engine(cache: Cache, fakes: FakeProviders) -> None:
    """The key lists the model yet the request 404s: escalate to the provider's support."""
    secret = fake_secret("openai", "ghost")
    fakes.openai.add_account(
        Account(secret, models=[{"id": "gpt-house-7", "failures": ["model_not_found"]}])
    )
    report = await engine_for(cache, [openai_key(fakes, "prod", secret)]).check("gpt-house-7")
    assert report.results[0].listed is True
    assert report.diagnosis.cause == "model_not_found"
    assert (
        report.diagnosis.escalate
        and "list gpt-house-7 among their models" in report.diagnosis.escalate
    )


def test_a_refusal_that_names_its_reason_is_not_escalated(
    knowledge: tuple[Catalog, Taxonomy, Classifier],
) -> None:
    """Listed, but refused by the project's model settings: a settings fix, not a support case."""
    r = result("prod", False, "project_model_blocked", listed=True, http_status=403)
    d = run(knowledge, "gpt-house-9", [r])
    assert d.cause == "project_model_blocked"
    assert d.escalate is None
