"""Probing keys for a model against fake OpenAI, gateway, Azure and Anthropic servers.

Each test is a story: given an account that ..., when someone checks a model, then each
key's result says ... . The fakes are real HTTP servers on 127.0.0.1 that count every
request, so "no retries" and "one call per key" are observed, not assumed.

The helpers at the top (keys, engines, fakes) are shared with test_diagnose,
test_singleflight and test_check_cli.
"""

from __future__ import annotations

import asyncio
import hashlib
import socket
import time
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime
from typing import Any

import pytest
from pydantic import SecretStr

from bot.cache import Cache
from bot.config import AppConfig, Env
from bot.engine import Engine
from bot.keys import Key
from bot.knowledge.load import load_knowledge
from bot.results import ProbeResult
from tests.fakes.providers import Account, FakeProviders

# -- shared helpers -------------------------------------------------------------------------

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
TODAY = NOW.date()


def fake_secret(kind: str, tag: str) -> str:
    """An obviously fake key, built at run time, long enough for the redaction patterns."""
    if kind == "azure":
        return hashlib.sha256(tag.encode()).hexdigest()[:32]  # 32 hex characters, like Azure's
    prefix = {"openai": "sk-proj-", "gateway": "sk-gw-", "anthropic": "sk-ant-api03-"}[kind]
    return f"{prefix}{'FAKE0' * 3}{tag}"


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def openai_key(fakes: FakeProviders, alias: str, secret: str, **kw: Any) -> Key:
    """An OpenAI key pointed at the fake OpenAI."""
    return Key(alias, "openai", SecretStr(secret), base_url=fakes.openai.base_url, **kw)


def gateway_key(fakes: FakeProviders, alias: str, secret: str) -> Key:
    """An openai-compatible key pointed at the fake gateway."""
    return Key(alias, "openai-compatible", SecretStr(secret), base_url=fakes.gateway.base_url)


def azure_key(fakes: FakeProviders, alias: str, secret: str, deployments: Sequence[str]) -> Key:
    """An Azure key pointed at the fake Azure resource."""
    return Key(
        alias,
        "azure",
        SecretStr(secret),
        base_url=fakes.azure.base_url,
        api_version="2024-10-21",
        deployments=tuple(deployments),
    )


def anthropic_key(fakes: FakeProviders, alias: str, secret: str) -> Key:
    """An Anthropic key pointed at the fake Anthropic."""
    return Key(alias, "anthropic", SecretStr(secret), base_url=fakes.anthropic.base_url)


def clock() -> datetime:
    """The tests' fixed clock."""
    return NOW


def engine_for(cache: Cache, keys: list[Key], **config: Any) -> Engine:
    """An Engine over these keys and this cache, with the bundled catalog and taxonomy."""
    cfg = AppConfig(**config)
    catalog, taxonomy = load_knowledge(cfg)
    return Engine(Env(), cfg, keys, catalog, taxonomy, cache, clock)


@pytest.fixture
async def fakes() -> AsyncIterator[FakeProviders]:
    """The four fake providers, empty; each test adds the accounts its story needs."""
    async with FakeProviders() as fp:
        yield fp


def only(results: Sequence[ProbeResult], alias: str) -> ProbeResult:
    """The result for one alias."""
    return next(r for r in results if r.alias == alias)


# -- OpenAI ---------------------------------------------------------------------------------


async def test_free_probe_proves_access_without_generating(
    cache: Cache, fakes: FakeProviders
) -> None:
    """A working key is accessible from the free probe: max_tokens=0, rejected after auth and quota."""
    secret = fake_secret("openai", "works")
    fakes.openai.add_account(Account(secret, models=["gpt-4o"], tier="tier2"))
    engine = engine_for(cache, [openai_key(fakes, "prod", secret)])
    report = await engine.check("gpt-4o")
    r = report.results[0]
    assert r.accessible and r.cause is None and r.step == "param-probe"
    assert "max_tokens=0 → 400" in r.evidence and "access and quota OK" in r.evidence
    assert "GET /v1/models: listed" in r.evidence
    assert fakes.openai.last_body("POST /v1/chat/completions")["max_tokens"] == 0
    assert fakes.openai.count("GET /v1/models") == 1
    assert report.diagnosis.cause == "not_an_error"


async def test_rate_limit_headers_become_limits_with_a_tier_guess(
    cache: Cache, fakes: FakeProviders
) -> None:
    """The free probe's x-ratelimit-* headers give RPM/TPM and a hedged tier guess."""
    secret = fake_secret("openai", "tier3")
    fakes.openai.add_account(Account(secret, models=["gpt-5"], tier="tier3"))
    engine = engine_for(cache, [openai_key(fakes, "prod", secret)])
    r = (await engine.check("gpt-5")).results[0]
    assert r.accessible
    assert fakes.openai.last_body("POST /v1/chat/completions")["max_completion_tokens"] == 0
    assert r.limits is not None
    assert (r.limits.requests_per_min, r.limits.tokens_per_min) == (5_000, 2_000_000)
    assert r.limits.tier_guess == "looks like Tier 3 (from x-ratelimit-limit-tokens=2000000)"


async def test_typo_suggests_ids_from_the_keys_own_list(cache: Cache, fakes: FakeProviders) -> None:
    """gpt4o is a typo: the 404 is classified model_typo and gpt-4o is suggested from the list."""
    secret = fake_secret("openai", "typo")
    fakes.openai.add_account(Account(secret, models=["gpt-4o", "gpt-4o-mini"]))
    engine = engine_for(cache, [openai_key(fakes, "prod", secret)])
    report = await engine.check("gpt4o")
    r = report.results[0]
    assert not r.accessible and r.cause == "model_typo"
    assert r.http_status == 404 and r.error_code == "model_not_found"
    assert "gpt-4o" in r.did_you_mean
    assert "404 model_not_found: The model `gpt4o` does not exist" in r.evidence
    assert report.diagnosis.did_you_mean[0] == "gpt-4o"


async def test_retired_model_names_shutdown_and_replacement(
    cache: Cache, fakes: FakeProviders
) -> None:
    """A retired model's 404 is model_retired, with the catalog's shutdown date and replacement."""
    secret = fake_secret("openai", "retired")
    fakes.openai.add_account(
        Account(
            secret, models=[{"id": "gpt-4-1106-preview", "failures": ["retired"], "listed": False}]
        )
    )
    engine = engine_for(cache, [openai_key(fakes, "prod", secret)])
    report = await engine.check("gpt-4-1106-preview")
    r = report.results[0]
    assert r.cause == "model_retired"
    assert r.shutdown == date(2026, 10, 23)
    assert report.diagnosis.cause == "model_retired"
    assert report.diagnosis.replacement
    assert report.diagnosis.shutdown == date(2026, 10, 23)


async def test_live_shutdown_date_wins_over_the_catalog(cache: Cache, fakes: FakeProviders) -> None:
    """OpenAI's shutdown_date in the models list is the date reported, not the bundled one."""
    secret = fake_secret("openai", "live")
    fakes.openai.add_account(
        Account(secret, models=[{"id": "gpt-5", "shutdown_date": "2027-02-01"}])
    )
    engine = engine_for(cache, [openai_key(fakes, "prod", secret)])
    report = await engine.check("gpt-5")
    r = report.results[0]
    assert r.accessible and r.shutdown == date(2027, 2, 1)
    assert "shutdown 2027-02-01" in r.evidence
    assert report.diagnosis.shutdown == date(2027, 2, 1)


async def test_live_past_shutdown_turns_not_found_into_retired(
    cache: Cache, fakes: FakeProviders
) -> None:
    """A model the catalog does not know, listed with a past shutdown_date, 404s: model_retired."""
    secret = fake_secret("openai", "gone")
    fakes.openai.add_account(
        Account(
            secret,
            models=[
                {
                    "id": "gpt-house-1",
                    "shutdown_date": "2026-11-01",
                    "failures": ["model_not_found"],
                }
            ],
        )
    )
    engine = engine_for(cache, [openai_key(fakes, "prod", secret)])
    r = (await engine.check("gpt-house-1")).results[0]
    assert r.cause == "model_retired" and r.shutdown == date(2026, 11, 1)


async def test_deprecated_but_working_is_accessible_with_a_warning(
    cache: Cache, fakes: FakeProviders
) -> None:
    """gpt-5 still answers but shuts down on 2026-12-11: accessible, and the diagnosis warns."""
    secret = fake_secret("openai", "depr")
    fakes.openai.add_account(
        Account(secret, models=[{"id": "gpt-5", "shutdown_date": "2026-12-11"}])
    )
    engine = engine_for(cache, [openai_key(fakes, "prod", secret)])
    report = await engine.check("gpt-5")
    assert report.results[0].accessible
    d = report.diagnosis
    assert d.cause == "not_an_error" and d.shutdown == date(2026, 12, 11)
    assert any("2026-12-11" in n and "18 days" in n for n in d.notes)
    assert d.replacement and d.fixes and d.replacement in d.fixes[0].title


async def test_quota_is_one_request_with_sdk_retries_off(
    cache: Cache, fakes: FakeProviders
) -> None:
    """An account out of credit: insufficient_quota, and the fake saw exactly one 429 request."""
    secret = fake_secret("openai", "broke")
    fakes.openai.add_account(Account(secret, models=["gpt-4o"], failures=["no_quota"]))
    engine = engine_for(cache, [openai_key(fakes, "prod", secret)])
    r = (await engine.check("gpt-4o")).results[0]
    assert r.cause == "insufficient_quota" and r.http_status == 429
    assert fakes.openai.count("POST /v1/chat/completions", key=secret) == 1


async def test_rate_limit_is_one_request_and_short_lived(
    cache: Cache, fakes: FakeProviders
) -> None:
    """A 429 rate limit: rate_limit with its retry-after, one request, cached only briefly."""
    secret = fake_secret("openai", "busy")
    fakes.openai.add_account(
        Account(secret, models=["gpt-4o"], failures=[{"kind": "rate_limited", "retry_after": 7}])
    )
    engine = engine_for(cache, [openai_key(fakes, "prod", secret)])
    r = (await engine.check("gpt-4o")).results[0]
    assert r.cause == "rate_limit" and "retry-after 7 s" in r.evidence
    assert fakes.openai.count("POST /v1/chat/completions", key=secret) == 1
    assert cache.client is not None
    names = [k async for k in cache.client.scan_iter(match=cache.key("probe", "*"))]
    assert len(names) == 1 and 0 < await cache.client.pttl(names[0]) <= 5_000


async def test_invalid_key_is_reported_without_the_secret(
    cache: Cache, fakes: FakeProviders
) -> None:
    """A revoked key: invalid_api_key from the 401, and the key appears nowhere in the result."""
    secret = fake_secret("openai", "revoked")
    engine = engine_for(cache, [openai_key(fakes, "old", secret)])
    r = (await engine.check("gpt-4o")).results[0]
    assert r.cause == "invalid_api_key" and r.http_status == 401
    assert secret not in r.model_dump_json()
    assert secret[-4:] == r.fingerprint


async def test_missing_scope_and_region_are_told_apart(cache: Cache, fakes: FakeProviders) -> None:
    """A restricted key without model.request is missing_scope; a blocked country is unsupported_region."""
    scoped, abroad = fake_secret("openai", "scoped"), fake_secret("openai", "abroad")
    fakes.openai.add_account(Account(scoped, models=["gpt-4o"], failures=["missing_scopes"]))
    fakes.openai.add_account(Account(abroad, models=["gpt-4o"], failures=["region"]))
    keys = [openai_key(fakes, "scoped", scoped), openai_key(fakes, "abroad", abroad)]
    results = (await engine_for(cache, keys).check("gpt-4o")).results
    assert only(results, "scoped").cause == "missing_scope"
    assert only(results, "abroad").cause == "unsupported_region"
    assert only(results, "abroad").http_status == 403


async def test_list_forbidden_is_not_fatal(cache: Cache, fakes: FakeProviders) -> None:
    """A restricted key without Models: Read gets 403 on the list but can still use the model."""
    secret = fake_secret("openai", "noread")
    fakes.openai.add_account(Account(secret, models=["gpt-4o"], failures=["list_forbidden"]))
    r = (await engine_for(cache, [openai_key(fakes, "ro", secret)]).check("gpt-4o")).results[0]
    assert r.accessible and r.listed is None
    assert "GET /v1/models → 403" in r.evidence and "not fatal" in r.evidence


async def test_wrong_endpoint_names_the_right_one(cache: Cache, fakes: FakeProviders) -> None:
    """o3-pro asked on chat: the probe goes to chat, and the answer is wrong_endpoint -> responses."""
    secret = fake_secret("openai", "pro")
    fakes.openai.add_account(Account(secret, models=["o3-pro"]))
    engine = engine_for(cache, [openai_key(fakes, "prod", secret)])
    report = await engine.check("o3-pro", endpoint="chat")
    r = report.results[0]
    assert r.cause == "wrong_endpoint" and r.right_endpoint == "responses"
    assert fakes.openai.count("POST /v1/chat/completions") == 1
    assert report.diagnosis.endpoint == "responses"
    assert report.diagnosis.fixes[0].code
    assert "responses.create" in report.diagnosis.fixes[0].code["python"]


async def test_embedding_model_on_chat_is_wrong_endpoint(
    cache: Cache, fakes: FakeProviders
) -> None:
    """An embedding model asked on chat: 404 'not a chat model' becomes wrong_endpoint -> embeddings."""
    secret = fake_secret("openai", "emb")
    fakes.openai.add_account(Account(secret, models=["text-embedding-3-small"]))
    engine = engine_for(cache, [openai_key(fakes, "prod", secret)])
    r = (await engine.check("text-embedding-3-small", endpoint="chat")).results[0]
    assert r.cause == "wrong_endpoint" and r.right_endpoint == "embeddings"
    assert "not a chat model" in r.evidence


async def test_catalog_endpoint_is_probed_by_default(cache: Cache, fakes: FakeProviders) -> None:
    """Without --endpoint, a Responses-only model is probed on /v1/responses and an embedding model on /v1/embeddings."""
    secret = fake_secret("openai", "eps")
    fakes.openai.add_account(Account(secret, models=["o3-pro", "text-embedding-3-small"]))
    engine = engine_for(cache, [openai_key(fakes, "prod", secret)])
    pro = (await engine.check("o3-pro")).results[0]
    emb = (await engine.check("text-embedding-3-small")).results[0]
    assert pro.accessible and pro.endpoint == "responses"
    assert fakes.openai.last_body("POST /v1/responses")["max_output_tokens"] == 0
    assert emb.accessible and emb.endpoint == "embeddings"
    assert fakes.openai.last_body("POST /v1/embeddings")["input"] == []


async def test_org_verification_needs_a_deep_probe(cache: Cache, fakes: FakeProviders) -> None:
    """An unverified org passes the free probe (with a caveat) and fails the deep one."""
    secret = fake_secret("openai", "unverified")
    fakes.openai.add_account(Account(secret, models=["o3"], failures=["org_unverified"]))
    engine = engine_for(cache, [openai_key(fakes, "prod", secret)])
    free = (await engine.check("o3")).results[0]
    assert free.accessible and "only checked on a real request; use --deep" in free.evidence
    deep = (await engine.check("o3", deep=True)).results[0]
    assert not deep.accessible and deep.cause == "org_verification_required"
    assert deep.step == "deep"


async def test_deep_probe_makes_one_tiny_real_request(cache: Cache, fakes: FakeProviders) -> None:
    """--deep sends one real request with a single output token after the free probe."""
    secret = fake_secret("openai", "deep")
    fakes.openai.add_account(Account(secret, models=["gpt-4o"]))
    engine = engine_for(cache, [openai_key(fakes, "prod", secret)])
    r = (await engine.check("gpt-4o", deep=True)).results[0]
    assert r.accessible and r.step == "deep" and "a real request works" in r.evidence
    bodies = [rec.body for rec in fakes.openai.recorded("POST /v1/chat/completions")]
    assert [b["max_tokens"] for b in bodies] == [0, 1]


async def test_images_are_never_generated(cache: Cache, fakes: FakeProviders) -> None:
    """An image model is judged from the list; even --deep makes no image request."""
    secret = fake_secret("openai", "img")
    fakes.openai.add_account(Account(secret, models=["gpt-image-2"]))
    engine = engine_for(cache, [openai_key(fakes, "prod", secret)])
    r = (await engine.check("gpt-image-2", deep=True)).results[0]
    assert r.accessible and r.step == "list"
    assert "not tried: a real image generation would be billed" in r.evidence
    assert [rec.route for rec in fakes.openai.recorded()] == ["GET /v1/models"]


async def test_provider_outage_is_cached_only_briefly(cache: Cache, fakes: FakeProviders) -> None:
    """A 500 is provider_outage and is kept for seconds, not for the negative TTL."""
    secret = fake_secret("openai", "down")
    fakes.openai.add_account(
        Account(secret, models=["gpt-4o"], failures=[{"kind": "server_error", "routes": ["chat"]}])
    )
    engine = engine_for(cache, [openai_key(fakes, "prod", secret)])
    r = (await engine.check("gpt-4o")).results[0]
    assert r.cause == "provider_outage" and r.http_status == 500
    assert cache.client is not None
    names = [k async for k in cache.client.scan_iter(match=cache.key("probe", "*"))]
    assert 0 < await cache.client.pttl(names[0]) <= 5_000


async def test_slow_provider_hits_the_deadline(cache: Cache, fakes: FakeProviders) -> None:
    """A provider slower than probe_timeout_s gives network within the deadline, not a hang."""
    secret = fake_secret("openai", "slow")
    fakes.openai.add_account(Account(secret, models=["gpt-4o"], latency=3.0))
    engine = engine_for(cache, [openai_key(fakes, "prod", secret)], probe_timeout_s=0.3)
    started = asyncio.get_running_loop().time()
    r = (await engine.check("gpt-4o")).results[0]
    assert asyncio.get_running_loop().time() - started < 1.5
    assert r.cause == "network" and "no answer before the deadline" in r.evidence


async def test_connection_refused_is_network(cache: Cache) -> None:
    """A base URL where nothing listens: network, with the connection failure as evidence."""
    key = Key(
        "nowhere",
        "openai",
        SecretStr(fake_secret("openai", "nowhere")),
        base_url=f"http://127.0.0.1:{closed_port()}/v1",
    )
    report = await engine_for(cache, [key]).check("gpt-4o")
    r = report.results[0]
    assert r.cause == "network" and "connection failed" in r.evidence
    assert report.diagnosis.cause == "network" and report.diagnosis.retryable


async def test_one_failing_key_never_fails_the_others(cache: Cache, fakes: FakeProviders) -> None:
    """Three keys, three outcomes: each is reported on its own."""
    good, broke = fake_secret("openai", "good"), fake_secret("openai", "broke2")
    fakes.openai.add_account(Account(good, models=["gpt-4o"]))
    fakes.openai.add_account(Account(broke, models=["gpt-4o"], failures=["no_quota"]))
    dead = Key(
        "dead",
        "openai",
        SecretStr(fake_secret("openai", "dead")),
        base_url=f"http://127.0.0.1:{closed_port()}/v1",
    )
    keys = [openai_key(fakes, "good", good), openai_key(fakes, "broke", broke), dead]
    results = (await engine_for(cache, keys).check("gpt-4o")).results
    assert [r.alias for r in results] == ["good", "broke", "dead"]
    assert [r.cause for r in results] == [None, "insufficient_quota", "network"]


async def test_second_check_is_served_from_redis(cache: Cache, fakes: FakeProviders) -> None:
    """A repeated check is cached (fast, no upstream call, the first probe's latency); --refresh probes again."""
    secret = fake_secret("openai", "cached")
    fakes.openai.add_account(Account(secret, models=["gpt-4o"]))
    engine = engine_for(cache, [openai_key(fakes, "prod", secret)])
    first = (await engine.check("gpt-4o")).results[0]
    calls = fakes.openai.count()
    started = time.perf_counter()
    second = (await engine.check("gpt-4o")).results[0]
    assert time.perf_counter() - started < 0.5
    assert not first.cached and second.cached
    assert fakes.openai.count() == calls and second.latency_ms == first.latency_ms
    third = (await engine.check("gpt-4o", refresh=True)).results[0]
    assert not third.cached and fakes.openai.count() == calls + 2


async def test_redis_down_still_answers_uncached(fakes: FakeProviders, cache_prefix: str) -> None:
    """With Redis unreachable the check still answers, marked uncached, and never raises."""
    secret = fake_secret("openai", "noredis")
    fakes.openai.add_account(Account(secret, models=["gpt-4o"]))
    down = await Cache.connect(f"redis://127.0.0.1:{closed_port()}/0", prefix=cache_prefix)
    engine = engine_for(down, [openai_key(fakes, "prod", secret)])
    report = await engine.check("gpt-4o")
    again = await engine.check("gpt-4o")
    assert report.results[0].accessible and not again.results[0].cached
    assert report.cache.startswith("uncached")
    health = await engine.health()
    assert health[0].last_ok is True


# -- gateway --------------------------------------------------------------------------------


async def test_gateway_public_list_proves_nothing(cache: Cache, fakes: FakeProviders) -> None:
    """A gateway lists models without a key; a bad key is still caught by the probe's 401."""
    good = fake_secret("gateway", "gwgood")
    fakes.gateway.add_account(Account(good, models=["openai/gpt-4o"]))
    keys = [
        gateway_key(fakes, "gw", good),
        gateway_key(fakes, "gwbad", fake_secret("gateway", "bad")),
    ]
    results = (await engine_for(cache, keys).check("openai/gpt-4o")).results
    assert only(results, "gw").accessible
    bad = only(results, "gwbad")
    assert bad.cause == "invalid_api_key" and bad.listed is True
    assert "proves nothing about the key" in bad.evidence
    assert only(results, "gw").limits is None  # this gateway sends no rate-limit headers


# -- Azure ----------------------------------------------------------------------------------


async def test_azure_deployment_works_and_lifecycle_comes_from_the_resource(
    cache: Cache, fakes: FakeProviders
) -> None:
    """A deployment named like its model answers; /openai/models gives the retirement date."""
    secret = fake_secret("azure", "res1")
    fakes.azure.add_account(
        Account(
            secret,
            models=[
                {
                    "id": "gpt-4o",
                    "deprecation_inference": 1798761600,
                    "lifecycle_status": "deprecating",
                }
            ],
            deployments={"gpt-4o": "gpt-4o"},
        )
    )
    engine = engine_for(cache, [azure_key(fakes, "az", secret, ["gpt-4o"])])
    r = (await engine.check("gpt-4o")).results[0]
    assert r.accessible and r.listed is True
    assert r.shutdown == date(2027, 1, 1) and r.status == "deprecated"
    assert "/openai/deployments/gpt-4o/chat/completions max_tokens=0 → 400" in r.evidence
    assert r.limits is not None and r.limits.requests_per_min == 500


async def test_azure_model_name_instead_of_deployment(cache: Cache, fakes: FakeProviders) -> None:
    """Asking Azure for a model name that is not a deployment: azure_deployment_not_found."""
    secret = fake_secret("azure", "res2")
    fakes.azure.add_account(Account(secret, models=["gpt-4o"], deployments={"chat-prod": "gpt-4o"}))
    engine = engine_for(cache, [azure_key(fakes, "az", secret, ["chat-prod"])])
    report = await engine.check("gpt-4o")
    r = report.results[0]
    assert r.cause == "azure_deployment_not_found" and r.http_status == 404
    assert "deployments (from config): chat-prod" in r.evidence
    assert report.diagnosis.cause == "azure_deployment_not_found"


async def test_azure_s0_quota_of_a_day_is_insufficient_quota(
    cache: Cache, fakes: FakeProviders
) -> None:
    """Azure's 429 'retry after 86400 seconds' means no usable quota, not a passing rate limit."""
    secret = fake_secret("azure", "res3")
    fakes.azure.add_account(
        Account(secret, models=["gpt-4o"], deployments={"chat": "gpt-4o"}, failures=["no_quota"])
    )
    r = (await engine_for(cache, [azure_key(fakes, "az", secret, ["chat"])]).check("chat")).results[
        0
    ]
    assert r.cause == "insufficient_quota" and r.http_status == 429
    assert fakes.azure.count("POST /openai/deployments/{deployment}/chat/completions") == 1


async def test_azure_models_list_says_deployments_cannot_be_listed(
    cache: Cache, fakes: FakeProviders
) -> None:
    """`models` for an Azure key lists what the resource could deploy and says why not deployments."""
    secret = fake_secret("azure", "res4")
    fakes.azure.add_account(Account(secret, models=["gpt-4o", "text-embedding-3-small"]))
    listed = await engine_for(cache, [azure_key(fakes, "az", secret, ["chat"])]).models()
    k = listed.keys[0]
    assert k.ok and k.models == ["gpt-4o", "text-embedding-3-small"]
    assert k.note and "cannot be listed with an API key" in k.note and "chat" in k.note


# -- Anthropic ------------------------------------------------------------------------------


async def test_anthropic_alias_resolves_and_lifecycle_is_live(
    cache: Cache, fakes: FakeProviders
) -> None:
    """An alias works, retrieve resolves it, and the live lifecycle gives status and retirement."""
    secret = fake_secret("anthropic", "ant")
    fakes.anthropic.add_account(
        Account(
            secret,
            tier="tier2",
            models=[
                {
                    "id": "claude-house-4-5-20250929",
                    "aliases": ["claude-house-4-5"],
                    "lifecycle": "deprecated",
                    "retires_at": "2027-03-01T00:00:00Z",
                }
            ],
        )
    )
    engine = engine_for(cache, [anthropic_key(fakes, "ant", secret)])
    r = (await engine.check("claude-house-4-5")).results[0]
    assert r.accessible and r.status == "deprecated" and r.shutdown == date(2027, 3, 1)
    assert "resolves to claude-house-4-5-20250929" in r.evidence
    assert "POST /v1/messages max_tokens=0 → 400" in r.evidence
    assert r.limits is not None
    assert r.limits.tier_guess == "looks like Tier 2 (from anthropic-ratelimit-requests-limit=1000)"


async def test_anthropic_retired_lifecycle_wins(cache: Cache, fakes: FakeProviders) -> None:
    """A model Anthropic lists as retired 404s like a typo; the live lifecycle makes it model_retired."""
    secret = fake_secret("anthropic", "old")
    fakes.anthropic.add_account(
        Account(secret, models=[{"id": "claude-house-2-1", "lifecycle": "retired"}])
    )
    r = (
        await engine_for(cache, [anthropic_key(fakes, "ant", secret)]).check("claude-house-2-1")
    ).results[0]
    assert r.cause == "model_retired" and r.http_status == 404


async def test_anthropic_credit_and_overload(cache: Cache, fakes: FakeProviders) -> None:
    """Anthropic's 'credit balance too low' 400 is insufficient_quota; its 529 is provider_outage."""
    broke, busy = fake_secret("anthropic", "broke"), fake_secret("anthropic", "busy")
    fakes.anthropic.add_account(Account(broke, models=["claude-house-4"], failures=["no_quota"]))
    fakes.anthropic.add_account(Account(busy, models=["claude-house-4"], failures=["overloaded"]))
    keys = [anthropic_key(fakes, "broke", broke), anthropic_key(fakes, "busy", busy)]
    results = (await engine_for(cache, keys).check("claude-house-4")).results
    assert only(results, "broke").cause == "insufficient_quota"
    assert (
        only(results, "busy").cause == "provider_outage"
        and only(results, "busy").http_status == 529
    )
    assert fakes.anthropic.count("POST /v1/messages", key=busy) == 1


# -- models and health ----------------------------------------------------------------------


async def test_models_list_is_cached_per_key(cache: Cache, fakes: FakeProviders) -> None:
    """`models` lists each key once; a second call comes from Redis; a check reuses the list."""
    secret = fake_secret("openai", "lister")
    fakes.openai.add_account(
        Account(secret, models=["gpt-4o", {"id": "gpt-5", "shutdown_date": "2026-12-11"}])
    )
    engine = engine_for(cache, [openai_key(fakes, "prod", secret)])
    first = (await engine.models()).keys[0]
    second = (await engine.models()).keys[0]
    await engine.check("gpt-4o")
    assert first.models == ["gpt-4o", "gpt-5"] and first.shutdowns == {"gpt-5": date(2026, 12, 11)}
    assert not first.cached and second.cached
    assert fakes.openai.count("GET /v1/models") == 1


async def test_health_remembers_probes_and_failures(cache: Cache, fakes: FakeProviders) -> None:
    """After probes, health shows the last probe, the models count and recent failures."""
    secret = fake_secret("openai", "health")
    fakes.openai.add_account(Account(secret, models=["gpt-4o", "gpt-4o-mini"]))
    engine = engine_for(cache, [openai_key(fakes, "prod", secret)])
    await engine.check("gpt-4o")
    await engine.check("gpt-4-house")
    h = (await engine.health())[0]
    assert h.last_probe_at == NOW and h.last_ok is False and h.models_count == 2
    assert h.recent_failures[0].startswith("gpt-4-house ")
