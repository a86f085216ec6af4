"""The taxonomy data: complete for the contract, readable prose, and strict about bad files."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.knowledge.taxonomy import BUNDLED, CAUSES, Taxonomy, TaxonomyError, UnknownCause, render

CORPUS = yaml.safe_load((Path(__file__).parent / "corpus" / "errors.yaml").read_text("utf-8"))
RETRYABLE = {"rate_limit", "provider_outage", "network"}


@pytest.fixture(scope="module")
def taxonomy() -> Taxonomy:
    """The bundled taxonomy."""
    return Taxonomy.load()


def test_every_contract_cause_has_an_entry_in_contract_order(taxonomy: Taxonomy) -> None:
    """The bundled file defines each cause id of the contract, in the contract's order."""
    assert taxonomy.ids()[: len(CAUSES)] == list(CAUSES)
    assert len(CAUSES) == 21


@pytest.mark.parametrize("cause", CAUSES)
def test_every_cause_has_a_title_meaning_fix_and_source(taxonomy: Taxonomy, cause: str) -> None:
    """Each cause says what it is, how to tell it apart, what to do, and where that comes from."""
    entry = taxonomy.get(cause)
    assert entry.title and entry.meaning and entry.distinguish
    assert len(entry.fixes) >= 1 and all(f.title and f.detail for f in entry.fixes)
    assert entry.source


@pytest.mark.parametrize("cause", [c for c in CAUSES if c not in ("not_an_error", "unknown")])
def test_every_cause_a_paste_can_show_has_a_corpus_case(cause: str) -> None:
    """Each cause except unknown/not_an_error is backed by at least one real error text."""
    assert any(case["cause"] == cause for case in CORPUS["cases"])


def test_corpus_cases_all_name_their_source() -> None:
    """Every corpus case records where the text was posted."""
    assert all(str(case.get("source", "")).strip() for case in CORPUS["cases"])
    assert len(CORPUS["cases"]) >= 80


def test_only_transient_causes_are_retryable(taxonomy: Taxonomy) -> None:
    """Retrying helps for rate limits, outages and network failures, and nothing else."""
    assert {e.id for e in taxonomy.entries() if e.retryable} == RETRYABLE


@pytest.mark.parametrize("cause", CAUSES)
def test_meaning_reads_naturally_without_any_values(taxonomy: Taxonomy, cause: str) -> None:
    """With no model or provider known, the prose has no holes, brackets or 'None'."""
    d = taxonomy.diagnosis(cause)
    for text in [d.summary, *(f.title for f in d.fixes), *(f.detail for f in d.fixes)]:
        assert "{" not in text and "[" not in text and "None" not in text, text
        assert "  " not in text
    assert d.summary[0].isupper()


def test_meaning_uses_the_values_it_is_given(taxonomy: Taxonomy) -> None:
    """Known facts are woven into the summary and the first fix."""
    d = taxonomy.diagnosis(
        "model_retired",
        model="text-davinci-003",
        provider="openai",
        replacement="gpt-3.5-turbo-instruct",
        shutdown="2024-01-04",
    )
    assert "text-davinci-003 was retired by OpenAI on 2024-01-04" in d.summary
    assert "gpt-3.5-turbo-instruct" in d.summary
    assert "gpt-3.5-turbo-instruct" in d.fixes[0].title
    assert (d.model, d.replacement) == ("text-davinci-003", "gpt-3.5-turbo-instruct")


def test_fields_passed_to_diagnosis_win(taxonomy: Taxonomy) -> None:
    """A caller can override any Diagnosis field, e.g. the summary or retryable."""
    d = taxonomy.diagnosis("rate_limit", summary="custom", retryable=False, http_status=429)
    assert (d.summary, d.retryable, d.http_status, d.title) == (
        "custom",
        False,
        429,
        taxonomy.get("rate_limit").title,
    )


def test_placeholders_are_substituted_literally() -> None:
    """User-controlled values are inserted as text: no format specs, no attribute access."""
    out = render("Model {model} failed[ on {endpoint}].", {"model": "{provider.__class__}"})
    assert out == "Model {provider.__class__} failed."


def test_unknown_cause_is_a_key_error(taxonomy: Taxonomy) -> None:
    """Asking for an undefined cause raises UnknownCause, which is also a KeyError."""
    with pytest.raises(KeyError, match="no_such_cause"):
        taxonomy.get("no_such_cause")
    with pytest.raises(UnknownCause):
        taxonomy.diagnosis("no_such_cause")


def test_what_a_split_outcome_means_is_data(taxonomy: Taxonomy) -> None:
    """The words for "some keys can, these cannot" come from the taxonomy, per cause or the default."""
    tier = taxonomy.split_meaning("model_tier_gated")
    default = taxonomy.split_meaning("context_length_exceeded")
    assert "tier" in tier and tier != default
    assert default and taxonomy.split_meaning("a_cause_nobody_defined") == default


def test_operator_file_can_reword_a_split_and_the_default(tmp_path: Path) -> None:
    """An operator's file overrides one cause's split words and the default."""
    extra = tmp_path / "ours.yaml"
    extra.write_text(
        "split_default: Ask platform-team which account the failing keys bill to.\n"
        "causes:\n  rate_limit:\n    split: The failing keys share the batch project's limit.\n"
    )
    t = Taxonomy.load(extra)
    assert t.split_meaning("rate_limit") == "The failing keys share the batch project's limit."
    assert t.split_meaning("unknown") == "Ask platform-team which account the failing keys bill to."


# -- the operator's file ------------------------------------------------------------------------


def test_operator_file_overrides_fields_and_adds_causes(tmp_path: Path) -> None:
    """An operator can change one field of a cause and add a cause of their own."""
    extra = tmp_path / "ours.yaml"
    extra.write_text(
        """
causes:
  insufficient_quota:
    escalate: "Ask #finance to top up the shared OpenAI account."
  proxy_blocked:
    title: Our egress proxy blocked the call
    meaning: The corporate proxy refused the connection to {provider}.
    fixes:
      - title: Request an allow-list entry
        detail: File a ticket with the network team.
    matchers:
      - message: ["blocked by corporate proxy"]
"""
    )
    t = Taxonomy.load(extra)
    assert (
        t.get("insufficient_quota").escalate == "Ask #finance to top up the shared OpenAI account."
    )
    assert t.get("insufficient_quota").fixes == Taxonomy.load().get("insufficient_quota").fixes
    assert t.ids()[-1] == "proxy_blocked"
    assert t.diagnosis("proxy_blocked", provider="anthropic").summary == (
        "The corporate proxy refused the connection to Anthropic."
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "causes:\n  rate_limit:\n    retryable: sometimes\n",
            "line 3: causes.rate_limit.retryable:",
        ),
        (
            "causes:\n  rate_limit:\n    colour: red\n",
            "line 3: causes.rate_limit.colour: unknown field",
        ),
        (
            "causes:\n  rate_limit:\n    fixes: []\n",
            "line 3: causes.rate_limit.fixes:",
        ),
        (
            "causes:\n  rate_limit:\n    fixes:\n      - detail: no title\n",
            "line 4: causes.rate_limit.fixes.0.title: required, but missing",
        ),
        (
            "causes:\n  rate_limit:\n    meaning: Limited on {modle}.\n",
            "line 3: causes.rate_limit.meaning: unknown placeholder {modle}",
        ),
        (
            "causes:\n  rate_limit:\n    matchers:\n      - message: ['re:(a+)+b']\n",
            "line 4: causes.rate_limit.matchers.0.message: pattern '(a+)+b' has a nested quantifier",
        ),
        (
            "causes:\n  rate_limit:\n    matchers:\n      - http_status: [700]\n",
            "line 4: causes.rate_limit.matchers.0.http_status: 700 is not an HTTP status",
        ),
        (
            "causes:\n  rate_limit:\n    matchers:\n      - standalone: true\n",
            "line 4: causes.rate_limit.matchers.0: a matcher that constrains nothing",
        ),
        (
            "causes:\n  rate_limit:\n    fixes:\n      - title: x\n        code: {ruby: puts 1}\n",
            "line 5: causes.rate_limit.fixes.0.code: unknown language 'ruby'",
        ),
        (
            "causes:\n  new_cause:\n    title: New\n",
            "line 2: causes.new_cause.meaning: required, but missing",
        ),
        ("causes:\n  rate_limit: [\n", "line 3: expected"),
        ("- just a list\n", "line 1: must be a mapping"),
        ("causes: {}\nversions: 2\n", "line 2: versions: unknown field"),
    ],
)
def test_bad_operator_file_names_file_line_and_field(
    tmp_path: Path, body: str, expected: str
) -> None:
    """Every mistake in an operator's file is reported with the file, the line and the field."""
    extra = tmp_path / "ours.yaml"
    extra.write_text(body)
    with pytest.raises(TaxonomyError) as err:
        Taxonomy.load(extra)
    message = str(err.value)
    assert message.startswith(str(extra)), message
    assert expected in message, message


def test_missing_operator_file_is_one_clear_error(tmp_path: Path) -> None:
    """A path that does not exist names the path."""
    with pytest.raises(TaxonomyError, match="cannot read"):
        Taxonomy.load(tmp_path / "nope.yaml")


def test_base_file_must_define_every_contract_cause(tmp_path: Path) -> None:
    """A base taxonomy without all contract causes is rejected, naming the missing ones."""
    base = tmp_path / "base.yaml"
    data = yaml.safe_load(BUNDLED.read_text("utf-8"))
    del data["causes"]["network"]
    base.write_text(yaml.safe_dump(data))
    with pytest.raises(TaxonomyError, match="missing entries for network"):
        Taxonomy.from_files(base)
