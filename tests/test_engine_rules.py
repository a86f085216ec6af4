"""Rules that live in one place: the engine's clock, the catalog lookup, who speaks for a provider.

Each story is told through the engine the adapters use, on a date of the test's choosing.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import SecretStr

from bot.cache import Cache
from bot.config import AppConfig, Env
from bot.engine import Engine
from bot.keys import Key
from bot.knowledge.load import load_knowledge
from bot.providers import Provider

NOT_FOUND_O3 = (
    "Error code: 404 - {'error': {'message': 'The model `o3` does not exist or you do not "
    "have access to it.', 'type': 'invalid_request_error', 'param': None, "
    "'code': 'model_not_found'}}"
)


def engine_on(day: datetime, keys: list[Key] | None = None) -> Engine:
    """An engine over the bundled knowledge whose clock says `day`, without Redis."""
    config = AppConfig()
    catalog, taxonomy = load_knowledge(config)
    cache = Cache(None, reason="not needed here")
    return Engine(Env(), config, keys or [], catalog, taxonomy, cache, lambda: day)


def key(alias: str, provider: Provider) -> Key:
    """A key that is never used to call anyone."""
    return Key(
        alias, provider, SecretStr(f"never-sent-{alias}-0000"), base_url="http://127.0.0.1:9"
    )


def test_explain_reads_the_engines_date_not_the_wall_clock() -> None:
    """o3 shuts down on 2026-12-11: before that a not-found is not a retirement, after it it is."""
    before = engine_on(datetime(2026, 11, 23, tzinfo=UTC)).explain(NOT_FOUND_O3)
    after = engine_on(datetime(2027, 1, 15, tzinfo=UTC)).explain(NOT_FOUND_O3)
    assert before.cause != "model_retired"
    assert after.cause == "model_retired" and str(after.shutdown) == "2026-12-11"


def test_the_replacement_chain_is_followed_on_the_engines_date() -> None:
    """o1-preview's named successor is o3; once o3 is gone too, the answer names o3's successor."""
    text = NOT_FOUND_O3.replace("`o3`", "`o1-preview`")
    before = engine_on(datetime(2026, 11, 23, tzinfo=UTC)).explain(text)
    after = engine_on(datetime(2027, 1, 15, tzinfo=UTC)).explain(text)
    assert before.cause == after.cause == "model_retired"
    assert before.replacement == "o3-2025-04-16"
    assert after.replacement is not None and after.replacement != before.replacement
    assert after.replacement.startswith("gpt-5.6-sol")


def test_one_lookup_rule_finds_a_gateway_id_by_its_tail() -> None:
    """`openai/gpt-4-0613` is OpenAI's gpt-4-0613 for the classifier as for the prober."""
    engine = engine_on(datetime(2026, 11, 23, tzinfo=UTC))
    entry = engine.catalog.lookup("openai/gpt-4-0613", "openai-compatible")
    assert entry is not None and (entry.id, entry.provider) == ("gpt-4-0613", "openai")
    d = engine.explain(NOT_FOUND_O3.replace("`o3`", "`openai/gpt-4-0613`"))
    assert d.cause == "model_retired" and d.shutdown == entry.shutdown


def test_an_openai_key_never_reads_anthropics_lifecycle() -> None:
    """A Claude id looked up for an OpenAI key finds nothing; for Anthropic it finds the model."""
    engine = engine_on(datetime(2026, 11, 23, tzinfo=UTC))
    assert engine.catalog.lookup("claude-3-opus-20240229", "openai") is None
    entry = engine.catalog.lookup("claude-3-opus-20240229", "anthropic")
    assert entry is not None and entry.provider == "anthropic"


def test_keys_that_can_speak_for_an_errors_provider() -> None:
    """Anthropic errors are checked with Anthropic keys; OpenAI's with OpenAI-family keys; unknown with all."""
    keys = [
        key("oa", "openai"),
        key("az", "azure"),
        key("an", "anthropic"),
        key("gw", "openai-compatible"),
    ]
    engine = engine_on(datetime(2026, 11, 23, tzinfo=UTC), keys)
    assert [k.alias for k in engine.keys_for("anthropic")] == ["an"]
    assert [k.alias for k in engine.keys_for("openai")] == ["oa", "az", "gw"]
    assert [k.alias for k in engine.keys_for(None)] == ["oa", "az", "an", "gw"]


async def test_a_live_check_without_a_key_of_that_provider_says_so() -> None:
    """An Anthropic error in an org with only an OpenAI key: a note, not a probe."""
    engine = engine_on(datetime(2026, 11, 23, tzinfo=UTC), [key("oa", "openai")])
    live = await engine.live_check("claude-sonnet-4-6", "anthropic")
    assert live.report is None and live.note == "we hold no anthropic key to probe with"
    nobody = await engine_on(datetime(2026, 11, 23, tzinfo=UTC)).live_check("gpt-4o", "openai")
    assert nobody.note == "no provider keys are configured"
