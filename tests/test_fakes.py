"""The fake providers speak the real wire formats: proven with the official SDKs."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import anthropic
import openai
import pytest
import pytest_asyncio

from tests.fakes.providers import (
    Account,
    Failure,
    FakeAnthropic,
    FakeAzure,
    FakeGateway,
    FakeOpenAI,
    ModelSpec,
    default_endpoints,
    fake_key,
    load_accounts,
    mask_key,
)

ROOT = Path(__file__).resolve().parents[1]
HI = [{"role": "user", "content": "hi"}]

GOOD = fake_key("openai", "good")
NOQUOTA = fake_key("openai", "noquota")
RESTRICTED = fake_key("openai", "restricted")
SCOPELESS = fake_key("openai", "scopeless")
REGION = fake_key("openai", "region")
RATE = fake_key("openai", "rate")
UNVERIFIED = fake_key("openai", "unverified")
ORG = fake_key("openai", "org")
DROP = fake_key("openai", "drop")
SLOW = fake_key("openai", "slow")
FLAKY = fake_key("openai", "flaky")
TYPO400 = fake_key("openai", "typo400")
BLOCKED = fake_key("openai", "blocked")
BELOW = fake_key("openai", "below")


def openai_accounts() -> list[Account]:
    basic = ["gpt-4o"]
    return [
        Account(
            GOOD,
            tier="tier2",
            models=[
                "gpt-4o",
                ModelSpec("gpt-5", shutdown_date="2026-12-11"),
                "o3-pro",
                "text-embedding-3-small",
                "omni-moderation-latest",
                "gpt-3.5-turbo-instruct",
                ModelSpec("gpt-4o-broken", failures=["broken"]),
                ModelSpec("gpt-4-0613", failures=["retired"]),
                ModelSpec("o3", failures=["org_unverified"]),
                ModelSpec("gpt-5-mini", failures=["org_unverified_stream"]),
            ],
        ),
        Account(NOQUOTA, models=basic, failures=["no_quota"]),
        Account(RESTRICTED, models=basic, failures=["list_forbidden"]),
        Account(SCOPELESS, models=basic, failures=["missing_scopes"]),
        Account(REGION, models=basic, failures=["region"]),
        Account(RATE, models=basic, failures=[Failure("rate_limited", retry_after=7)]),
        Account(UNVERIFIED, models=["gpt-5"], failures=["org_unverified"]),
        Account(
            ORG,
            models=basic,
            organization="org-FAKEteam",
            project="proj_FAKE",
            require_organization=True,
        ),
        Account(DROP, models=basic, failures=["drop"]),
        Account(SLOW, models=basic, latency=0.5),
        Account(FLAKY, models=basic, failures=[Failure("server_error", times=1)]),
        Account(TYPO400, models=basic, failures=["model_not_found_400"]),
        Account(
            BLOCKED,
            models=["gpt-4o", ModelSpec("gpt-4o-mini", failures=["project_blocked"])],
            project="proj_FAKEblocked",
        ),
        Account(BELOW, models=["gpt-4o", ModelSpec("o3-pro", failures=["below_tier"])]),
    ]


@pytest_asyncio.fixture
async def clients() -> AsyncIterator[Callable[..., Any]]:
    """Factory for SDK clients with retries off; all closed at teardown."""
    made: list[Any] = []

    def make(kind: str, base_url: str, key: str, **kw: Any) -> Any:
        kw.setdefault("max_retries", 0)
        kw.setdefault("timeout", 5.0)
        if kind == "openai":
            client: Any = openai.AsyncOpenAI(api_key=key, base_url=base_url, **kw)
        elif kind == "azure":
            kw.setdefault("api_version", "2024-10-21")
            client = openai.AsyncAzureOpenAI(api_key=key, azure_endpoint=base_url, **kw)
        else:
            client = anthropic.AsyncAnthropic(api_key=key, base_url=base_url, **kw)
        made.append(client)
        return client

    yield make
    for client in made:
        await client.close()


@pytest_asyncio.fixture
async def oai_fake() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI(openai_accounts()) as fake:
        yield fake


@pytest_asyncio.fixture
async def oai(
    oai_fake: FakeOpenAI, clients: Callable[..., Any]
) -> Callable[..., openai.AsyncOpenAI]:
    def make(key: str, **kw: Any) -> openai.AsyncOpenAI:
        return clients("openai", oai_fake.base_url, key, **kw)

    return make


# --- OpenAI: listing ------------------------------------------------------------------


@pytest.mark.asyncio
async def test_openai_list_carries_shutdown_date(
    oai_fake: FakeOpenAI, oai: Callable[..., Any]
) -> None:
    """GET /v1/models lists the key's models with shutdown_date; retrieve finds one."""
    page = await oai(GOOD).models.list()
    dates = {m.id: m.shutdown_date for m in page.data}
    assert dates["gpt-5"] == "2026-12-11"
    assert dates["gpt-4o"] is None
    assert all(m.object == "model" for m in page.data)
    assert (await oai(GOOD).models.retrieve("gpt-5")).shutdown_date == "2026-12-11"
    assert oai_fake.count("GET /v1/models", key=GOOD) == 1
    assert oai_fake.count("GET /v1/models/{id}") == 1


@pytest.mark.asyncio
async def test_openai_invalid_key_masks_key(oai: Callable[..., Any]) -> None:
    """An unknown key gets 401 invalid_api_key whose message masks the key."""
    wrong = fake_key("openai", "wrong-key-abcd")
    with pytest.raises(openai.AuthenticationError) as info:
        await oai(wrong).models.list()
    exc = info.value
    assert exc.status_code == 401
    assert exc.code == "invalid_api_key"
    assert exc.type == "invalid_request_error"
    assert wrong not in exc.message
    assert mask_key(wrong) in exc.message and exc.message.count("*") == len(wrong) - 12
    assert "platform.openai.com/account/api-keys" in exc.message


@pytest.mark.asyncio
async def test_openai_restricted_key_cannot_list_but_can_infer(oai: Callable[..., Any]) -> None:
    """list_forbidden: 403 Missing scopes on /v1/models, inference still answers."""
    with pytest.raises(openai.PermissionDeniedError) as info:
        await oai(RESTRICTED).models.list()
    assert "Missing scopes: api.model.read" in info.value.message
    reply = await oai(RESTRICTED).chat.completions.create(model="gpt-4o", messages=HI)
    assert reply.choices[0].message.content


@pytest.mark.asyncio
async def test_openai_missing_scopes_and_region(oai: Callable[..., Any]) -> None:
    """missing_scopes and region are 403s with their own bodies."""
    with pytest.raises(openai.PermissionDeniedError) as info:
        await oai(SCOPELESS).chat.completions.create(model="gpt-4o", messages=HI)
    assert "Missing scopes: model.request" in info.value.message
    with pytest.raises(openai.PermissionDeniedError) as info:
        await oai(REGION).models.list()
    assert info.value.code == "unsupported_country_region_territory"
    assert info.value.type == "request_forbidden"


@pytest.mark.asyncio
async def test_openai_org_and_project_headers(oai: Callable[..., Any]) -> None:
    """An account bound to an org/project rejects a mismatch and a missing org header."""
    with pytest.raises(openai.AuthenticationError) as info:
        await oai(ORG).models.list()
    assert info.value.body["message"] == "Invalid Authentication"
    with pytest.raises(openai.AuthenticationError) as info:
        await oai(ORG, organization="org-FAKEother").models.list()
    assert info.value.code == "mismatched_organization"
    with pytest.raises(openai.AuthenticationError) as info:
        await oai(ORG, organization="org-FAKEteam", project="proj_OTHER").models.list()
    assert info.value.code == "mismatched_project"
    page = await oai(ORG, organization="org-FAKEteam", project="proj_FAKE").models.list()
    assert [m.id for m in page.data] == ["gpt-4o"]


# --- OpenAI: model stage ----------------------------------------------------------------


@pytest.mark.asyncio
async def test_openai_model_not_found_variants(oai: Callable[..., Any]) -> None:
    """Unknown model: 404 model_not_found; an account can answer the 400 variant."""
    with pytest.raises(openai.NotFoundError) as info:
        await oai(GOOD).chat.completions.create(model="gpt-9", messages=HI)
    assert info.value.code == "model_not_found"
    assert info.value.body["message"] == (
        "The model `gpt-9` does not exist or you do not have access to it."
    )
    with pytest.raises(openai.BadRequestError) as info:
        await oai(TYPO400).chat.completions.create(model="gpt-9", messages=HI)
    assert info.value.code == "model_not_found" and info.value.param == "model"
    assert "does not exist" in info.value.message


@pytest.mark.asyncio
async def test_openai_listed_but_broken_and_retired(oai: Callable[..., Any]) -> None:
    """A broken model is listed and retrievable yet 404s; a retired one says deprecated."""
    listed = {m.id for m in (await oai(GOOD).models.list()).data}
    assert {"gpt-4o-broken", "gpt-4-0613"} <= listed
    assert (await oai(GOOD).models.retrieve("gpt-4o-broken")).id == "gpt-4o-broken"
    with pytest.raises(openai.NotFoundError) as info:
        await oai(GOOD).chat.completions.create(model="gpt-4o-broken", messages=HI)
    assert info.value.code == "model_not_found"
    with pytest.raises(openai.NotFoundError) as info:
        await oai(GOOD).chat.completions.create(model="gpt-4-0613", messages=HI)
    assert (
        "has been deprecated, learn more here: https://platform.openai.com/docs/deprecations"
        in (info.value.message)
    )


@pytest.mark.asyncio
async def test_openai_project_blocked_model(oai: Callable[..., Any]) -> None:
    """project_blocked: 403 model_not_found naming the key's project; its other models answer."""
    with pytest.raises(openai.PermissionDeniedError) as info:
        await oai(BLOCKED).chat.completions.create(model="gpt-4o-mini", messages=HI)
    exc = info.value
    assert exc.code == "model_not_found" and exc.type == "invalid_request_error"
    assert exc.param is None
    assert exc.body["message"] == (
        "Project `proj_FAKEblocked` does not have access to model `gpt-4o-mini`"
    )
    assert (await oai(BLOCKED).chat.completions.create(model="gpt-4o", messages=HI)).choices


@pytest.mark.asyncio
async def test_openai_below_usage_tier(oai: Callable[..., Any]) -> None:
    """below_tier: 400 below_usage_tier on param model, before the parameters are checked."""
    with pytest.raises(openai.BadRequestError) as info:
        await oai(BELOW).responses.create(model="o3-pro", input="hi", max_output_tokens=0)
    exc = info.value
    assert exc.code == "below_usage_tier" and exc.param == "model"
    assert exc.type == "invalid_request_error"
    assert exc.body["message"].startswith(
        "Your organization must qualify for at least usage tier 5 to access 'o3-pro'. See "
    )
    assert (await oai(BELOW).chat.completions.create(model="gpt-4o", messages=HI)).choices


@pytest.mark.asyncio
async def test_openai_wrong_endpoint_errors(oai: Callable[..., Any]) -> None:
    """Each model serves its endpoints; the wrong one answers the real wording."""
    client = oai(GOOD)
    with pytest.raises(openai.NotFoundError) as info:
        await client.chat.completions.create(model="o3-pro", messages=HI)
    assert "only supported in v1/responses" in info.value.message and info.value.param == "model"
    with pytest.raises(openai.NotFoundError) as info:
        await client.chat.completions.create(model="gpt-3.5-turbo-instruct", messages=HI)
    assert "This is not a chat model" in info.value.message
    with pytest.raises(openai.NotFoundError) as info:
        await client.completions.create(model="gpt-4o", prompt="hi")
    assert (
        "This is a chat model and not supported in the v1/completions endpoint"
        in info.value.message
    )
    with pytest.raises(openai.PermissionDeniedError) as info:
        await client.embeddings.create(model="gpt-4o", input="hi")
    assert "not allowed to generate embeddings" in info.value.message
    assert (await client.responses.create(model="o3-pro", input="hi")).output_text


# --- OpenAI: check order --------------------------------------------------------------


@pytest.mark.asyncio
async def test_no_quota_beats_parameter_validation(oai: Callable[..., Any]) -> None:
    """A no-quota key gets 429 insufficient_quota even with max_tokens=0, no retry-after."""
    with pytest.raises(openai.RateLimitError) as info:
        await oai(NOQUOTA).chat.completions.create(model="gpt-4o", messages=HI, max_tokens=0)
    exc = info.value
    assert exc.status_code == 429
    assert exc.code == "insufficient_quota" and exc.type == "insufficient_quota"
    assert "retry-after" not in exc.response.headers
    with pytest.raises(openai.NotFoundError):  # the model check comes before quota
        await oai(NOQUOTA).chat.completions.create(model="gpt-9", messages=HI, max_tokens=0)


@pytest.mark.asyncio
async def test_free_probe_reads_rate_limit_headers(oai: Callable[..., Any]) -> None:
    """A key with quota gets 400 for max_tokens=0, with the tier's rate-limit headers."""
    with pytest.raises(openai.BadRequestError) as info:
        await oai(GOOD).chat.completions.create(model="gpt-4o", messages=HI, max_tokens=0)
    exc = info.value
    assert exc.param == "max_tokens" and exc.code == "integer_below_min_value"
    assert "Expected a value >= 1, but got 0 instead" in exc.message
    headers = exc.response.headers
    assert headers["x-ratelimit-limit-tokens"] == "1000000"
    assert headers["x-ratelimit-limit-requests"] == "5000"
    assert {"x-ratelimit-remaining-tokens", "x-ratelimit-reset-requests"} <= set(headers)
    raw = await oai(GOOD).chat.completions.with_raw_response.create(model="gpt-4o", messages=HI)
    assert raw.headers["x-ratelimit-limit-tokens"] == "1000000"
    assert raw.parse().usage.total_tokens > 0


@pytest.mark.asyncio
async def test_reasoning_and_responses_parameter_errors(oai: Callable[..., Any]) -> None:
    """gpt-5 rejects max_tokens; max_completion_tokens=0 and max_output_tokens<16 are 400s."""
    client = oai(GOOD)
    with pytest.raises(openai.BadRequestError) as info:
        await client.chat.completions.create(model="gpt-5", messages=HI, max_tokens=5)
    assert info.value.code == "unsupported_parameter"
    assert "Use 'max_completion_tokens' instead." in info.value.message
    with pytest.raises(openai.BadRequestError) as info:
        await client.chat.completions.create(model="gpt-5", messages=HI, max_completion_tokens=0)
    assert info.value.param == "max_completion_tokens"
    with pytest.raises(openai.BadRequestError) as info:
        await client.responses.create(model="gpt-5", input="hi", max_output_tokens=8)
    assert (
        info.value.param == "max_output_tokens" and "Expected a value >= 16" in info.value.message
    )


@pytest.mark.asyncio
async def test_org_verification_only_on_a_valid_request(oai: Callable[..., Any]) -> None:
    """Verification is checked after parameters: invalid probe 400, real call 403."""
    client = oai(UNVERIFIED)
    with pytest.raises(openai.BadRequestError):
        await client.chat.completions.create(model="gpt-5", messages=HI, max_completion_tokens=0)
    with pytest.raises(openai.PermissionDeniedError) as info:
        await client.chat.completions.create(model="gpt-5", messages=HI, max_completion_tokens=16)
    assert "Your organization must be verified to use the model `gpt-5`" in info.value.message
    assert "x-ratelimit-limit-tokens" in info.value.response.headers
    good = oai(GOOD)
    with pytest.raises(openai.PermissionDeniedError):
        await good.chat.completions.create(model="o3", messages=HI)
    assert (await good.chat.completions.create(model="gpt-5-mini", messages=HI)).choices
    with pytest.raises(openai.BadRequestError) as info:
        await good.chat.completions.create(model="gpt-5-mini", messages=HI, stream=True)
    assert info.value.param == "stream" and info.value.code == "unsupported_value"


@pytest.mark.asyncio
async def test_rate_limited_has_retry_after_and_message(oai: Callable[..., Any]) -> None:
    """429 rate_limit_exceeded: type tokens, retry-after, the TPM message with the limit."""
    with pytest.raises(openai.RateLimitError) as info:
        await oai(RATE).chat.completions.create(model="gpt-4o", messages=HI)
    exc = info.value
    assert exc.code == "rate_limit_exceeded" and exc.type == "tokens"
    assert exc.response.headers["retry-after"] == "7"
    assert exc.response.headers["x-ratelimit-remaining-tokens"] == "0"
    assert "Rate limit reached for gpt-4o in organization org-" in exc.message
    assert "on tokens per min (TPM): Limit 500000" in exc.message


# --- OpenAI: success bodies, transient errors, transport --------------------------------


@pytest.mark.asyncio
async def test_openai_success_bodies_parse(oai: Callable[..., Any]) -> None:
    """Every endpoint's success body parses in the SDK, including both stream kinds."""
    client = oai(GOOD)
    chat = await client.chat.completions.create(model="gpt-4o", messages=HI)
    assert chat.object == "chat.completion" and chat.choices[0].finish_reason == "stop"
    resp = await client.responses.create(model="gpt-5", input="hi", max_output_tokens=16)
    assert resp.object == "response" and resp.output_text == "ok"
    text = await client.completions.create(model="gpt-3.5-turbo-instruct", prompt="hi")
    assert text.object == "text_completion" and text.choices[0].text
    emb = await client.embeddings.create(model="text-embedding-3-small", input=["a", "b"])
    assert len(emb.data) == 2 and len(emb.data[0].embedding) == 8  # base64 decoded by the SDK
    floats = await client.embeddings.create(
        model="text-embedding-3-small", input="a", encoding_format="float"
    )
    assert floats.data[0].embedding[0] == pytest.approx(0.01)
    mod = await client.moderations.create(model="omni-moderation-latest", input="hi")
    assert mod.results[0].flagged is False
    stream = await client.chat.completions.create(model="gpt-4o", messages=HI, stream=True)
    assert "".join([c.choices[0].delta.content or "" async for c in stream if c.choices]) == "ok"
    events = [
        e.type async for e in await client.responses.create(model="gpt-5", input="hi", stream=True)
    ]
    assert events[-1] == "response.completed"


@pytest.mark.asyncio
async def test_failure_times_then_recovers(oai: Callable[..., Any]) -> None:
    """A failure with times=1 fires once: 500 server_error, then success."""
    with pytest.raises(openai.InternalServerError) as info:
        await oai(FLAKY).chat.completions.create(model="gpt-4o", messages=HI)
    assert info.value.status_code == 500 and info.value.type == "server_error"
    assert (await oai(FLAKY).chat.completions.create(model="gpt-4o", messages=HI)).choices


@pytest.mark.asyncio
async def test_overloaded_is_503(oai_fake: FakeOpenAI, oai: Callable[..., Any]) -> None:
    """overloaded answers 503 server_is_overloaded; accounts can change at runtime."""
    oai_fake.account(GOOD).add_failure(Failure("overloaded", routes={"chat"}))
    with pytest.raises(openai.InternalServerError) as info:
        await oai(GOOD).chat.completions.create(model="gpt-4o", messages=HI)
    assert info.value.status_code == 503 and info.value.code == "server_is_overloaded"
    assert (await oai(GOOD).models.list()).data  # listing is not in routes


@pytest.mark.asyncio
async def test_dropped_connection_and_slow_account(oai: Callable[..., Any]) -> None:
    """drop closes the socket (APIConnectionError); a slow key trips a short timeout."""
    with pytest.raises(openai.APIConnectionError) as info:
        await oai(DROP).models.list()
    assert not isinstance(info.value, openai.APITimeoutError)
    with pytest.raises(openai.APITimeoutError):
        await oai(SLOW, timeout=0.1).models.list()


@pytest.mark.asyncio
async def test_counts_bodies_and_runtime_changes(
    oai_fake: FakeOpenAI, oai: Callable[..., Any]
) -> None:
    """Counts per route and key, last bodies, and account edits between two passes."""
    await oai(GOOD).models.list()
    await oai(NOQUOTA).models.list()
    await oai(GOOD).chat.completions.create(model="gpt-4o", messages=HI, max_tokens=3)
    assert oai_fake.count("GET /v1/models") == 2
    assert oai_fake.count("GET /v1/models", key=GOOD) == 1
    assert oai_fake.count("POST /v1/chat/completions") == 1
    assert oai_fake.last_body("POST /v1/chat/completions")["max_tokens"] == 3
    oai_fake.account(GOOD).remove_model("gpt-4o")
    assert "gpt-4o" not in {m.id for m in (await oai(GOOD).models.list()).data}
    oai_fake.remove_account(NOQUOTA)
    with pytest.raises(openai.AuthenticationError):
        await oai(NOQUOTA).models.list()
    oai_fake.add_account({"key": NOQUOTA, "models": ["gpt-4o-mini"]})
    assert [m.id for m in (await oai(NOQUOTA).models.list()).data] == ["gpt-4o-mini"]
    oai_fake.reset_counts()
    assert oai_fake.count() == 0


# --- Gateway ------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_gateway_public_list_and_prefixed_ids(clients: Callable[..., Any]) -> None:
    """The gateway lists models without a key; calls still need one; no rate-limit headers."""
    key = fake_key("gateway", "gw")
    async with FakeGateway([Account(key, models=["openai/gpt-5", "gpt-5"])]) as gw:
        async with aiohttp.ClientSession() as http, http.get(f"{gw.base_url}/models") as resp:
            assert resp.status == 200
            assert [m["id"] for m in (await resp.json())["data"]] == ["openai/gpt-5", "gpt-5"]
        stranger = clients("openai", gw.base_url, fake_key("gateway", "nobody"))
        assert len((await stranger.models.list()).data) == 2
        with pytest.raises(openai.AuthenticationError):
            await stranger.chat.completions.create(model="openai/gpt-5", messages=HI)
        raw = await clients("openai", gw.base_url, key).chat.completions.with_raw_response.create(
            model="openai/gpt-5", messages=HI
        )
        assert raw.parse().model == "openai/gpt-5"
        assert "x-ratelimit-limit-tokens" not in raw.headers
        assert gw.count("GET /v1/models", key=None) == 1


# --- Azure ----------------------------------------------------------------------------------

AZ = fake_key("azure", "res")
AZ_RATE = fake_key("azure", "rate")
AZ_EMPTY = fake_key("azure", "empty")


@pytest_asyncio.fixture
async def azure_fake() -> AsyncIterator[FakeAzure]:
    models = [
        ModelSpec(
            "gpt-4o", deprecation_inference=1_776_124_800, deprecation_fine_tune=1_760_000_000
        ),
        ModelSpec("text-embedding-3-small"),
        ModelSpec("gpt-5.1-codex", lifecycle_status="preview"),
    ]
    deployments = {"chat": "gpt-4o", "emb": "text-embedding-3-small", "codex": "gpt-5.1-codex"}
    accounts = [
        Account(AZ, models=models, deployments=deployments, region="swedencentral"),
        Account(AZ_RATE, models=models, deployments=deployments, failures=["rate_limited"]),
        Account(AZ_EMPTY, models=models, deployments=deployments, failures=["no_quota"]),
    ]
    async with FakeAzure(accounts) as fake:
        yield fake


@pytest.mark.asyncio
async def test_azure_deployment_chat_and_headers(
    azure_fake: FakeAzure, clients: Callable[..., Any]
) -> None:
    """A deployment answers chat with Azure's headers; max_tokens=0 is a 400 with limits."""
    client = clients("azure", azure_fake.base_url, AZ)
    raw = await client.chat.completions.with_raw_response.create(model="chat", messages=HI)
    assert raw.parse().model == "gpt-4o"
    assert raw.headers["x-ms-region"] == "swedencentral"
    assert raw.headers["x-ms-deployment-name"] == "chat"
    assert {"apim-request-id", "x-ratelimit-remaining-tokens"} <= set(raw.headers)
    assert len((await client.embeddings.create(model="emb", input="x")).data[0].embedding) == 8
    with pytest.raises(openai.BadRequestError) as info:
        await client.chat.completions.create(model="chat", messages=HI, max_tokens=0)
    assert "x-ratelimit-remaining-requests" in info.value.response.headers
    assert azure_fake.count("POST /openai/deployments/{deployment}/chat/completions", key=AZ) == 2
    assert azure_fake.last_body()["max_tokens"] == 0


@pytest.mark.asyncio
async def test_azure_error_forms(azure_fake: FakeAzure, clients: Callable[..., Any]) -> None:
    """DeploymentNotFound, 401 access denied, OperationNotSupported, S0 429s."""
    client = clients("azure", azure_fake.base_url, AZ)
    with pytest.raises(openai.NotFoundError) as info:
        await client.chat.completions.create(model="gpt-4o", messages=HI)
    assert info.value.code == "DeploymentNotFound"
    assert info.value.body["message"].startswith(
        "The API deployment for this resource does not exist."
    )
    with pytest.raises(openai.AuthenticationError) as info:
        await clients("azure", azure_fake.base_url, fake_key("azure", "bad")).models.list()
    assert info.value.code == "401"
    assert info.value.body["message"].startswith("Access denied due to invalid subscription key")
    for deployment in ("emb", "codex"):
        with pytest.raises(openai.BadRequestError) as info:
            await client.chat.completions.create(model=deployment, messages=HI)
        assert info.value.code == "OperationNotSupported"
        assert (
            "The chatCompletion operation does not work with the specified model"
            in info.value.message
        )
    with pytest.raises(openai.RateLimitError) as info:
        await clients("azure", azure_fake.base_url, AZ_RATE).chat.completions.create(
            model="chat", messages=HI
        )
    assert info.value.response.headers["retry-after"] == "10"
    assert "exceeded token rate limit of your current OpenAI S0 pricing tier" in info.value.message
    with pytest.raises(openai.RateLimitError) as info:
        await clients("azure", azure_fake.base_url, AZ_EMPTY).embeddings.create(
            model="emb", input="x"
        )
    assert (
        "Embeddings_Create" in info.value.message
        and "retry after 86400 seconds" in info.value.message
    )


@pytest.mark.asyncio
async def test_azure_models_and_deployments_listing(
    azure_fake: FakeAzure, clients: Callable[..., Any]
) -> None:
    """/openai/models carries lifecycle fields; /openai/deployments is gone on modern versions."""
    models = {
        m.id: m.model_dump()
        for m in (await clients("azure", azure_fake.base_url, AZ).models.list()).data
    }
    assert models["gpt-4o"]["deprecation"] == {
        "fine_tune": 1_760_000_000,
        "inference": 1_776_124_800,
    }
    assert models["gpt-4o"]["capabilities"]["chat_completion"] is True
    assert models["text-embedding-3-small"]["capabilities"]["embeddings"] is True
    assert models["gpt-5.1-codex"]["lifecycle_status"] == "preview"
    url = f"{azure_fake.base_url}/openai/deployments"
    async with aiohttp.ClientSession(headers={"api-key": AZ}) as http:
        async with http.get(url, params={"api-version": "2024-10-21"}) as resp:
            assert resp.status == 404
            assert await resp.json() == {"error": {"code": "404", "message": "Resource not found"}}
        async with http.get(url, params={"api-version": "2023-03-15-preview"}) as resp:
            assert resp.status == 200
            data = (await resp.json())["data"]
            assert {d["id"]: d["model"] for d in data}["chat"] == "gpt-4o"


# --- Anthropic -------------------------------------------------------------------------------

ANT = fake_key("anthropic", "main")
ANT_BROKE = fake_key("anthropic", "broke")
ANT_BUSY = fake_key("anthropic", "busy")
ANT_REGION = fake_key("anthropic", "region")
ANT_RATE = fake_key("anthropic", "rate")


@pytest_asyncio.fixture
async def ant_fake() -> AsyncIterator[FakeAnthropic]:
    models = [
        ModelSpec(
            "claude-opus-4-8", created_at="2026-05-28T00:00:00Z", display_name="Claude Opus 4.8"
        ),
        ModelSpec(
            "claude-sonnet-4-6", created_at="2026-02-17T00:00:00Z", aliases=("claude-sonnet",)
        ),
        ModelSpec(
            "claude-3-haiku-20240307",
            created_at="2024-03-07T00:00:00Z",
            lifecycle="retired",
            deprecated_at="2026-02-19T00:00:00Z",
            retires_at="2026-04-20T00:00:00Z",
        ),
    ]
    accounts = [
        Account(ANT, models=models, tier="tier2"),
        Account(ANT_BROKE, models=models, failures=["credit_balance"]),
        Account(ANT_BUSY, models=models, failures=["overloaded"]),
        Account(ANT_REGION, models=models, failures=["region"]),
        Account(ANT_RATE, models=models, failures=[Failure("rate_limited", retry_after=30)]),
    ]
    async with FakeAnthropic(accounts) as fake:
        yield fake


@pytest.mark.asyncio
async def test_anthropic_paginated_list_with_lifecycle(
    ant_fake: FakeAnthropic, clients: Callable[..., Any]
) -> None:
    """Newest first, limit/after_id paging, lifecycle fields; retrieve resolves an alias."""
    client = clients("anthropic", ant_fake.base_url, ANT)
    page = await client.models.list(limit=2)
    assert [m.id for m in page.data] == ["claude-opus-4-8", "claude-sonnet-4-6"]
    assert (
        page.has_more is True
        and page.first_id == "claude-opus-4-8"
        and page.last_id == "claude-sonnet-4-6"
    )
    every = [m async for m in client.models.list(limit=2)]
    assert [m.id for m in every][-1] == "claude-3-haiku-20240307"
    retired = every[-1]
    assert (
        retired.lifecycle == "retired"
        and retired.retires_at is not None
        and retired.retires_at.year == 2026
    )
    assert every[0].lifecycle == "active" and every[0].display_name == "Claude Opus 4.8"
    assert (await client.models.retrieve("claude-sonnet")).id == "claude-sonnet-4-6"
    assert ant_fake.count("GET /v1/models", key=ANT) == 3
    assert ant_fake.recorded("GET /v1/models")[-1].query["after_id"] == "claude-sonnet-4-6"


@pytest.mark.asyncio
async def test_anthropic_messages_and_not_found(
    ant_fake: FakeAnthropic, clients: Callable[..., Any]
) -> None:
    """Messages succeed with rate-limit headers; retired and unknown ids are 404 model: <id>."""
    client = clients("anthropic", ant_fake.base_url, ANT)
    raw = await client.messages.with_raw_response.create(
        model="claude-sonnet", max_tokens=5, messages=HI
    )
    message = await raw.parse()
    assert message.content[0].text == "ok" and message.model == "claude-sonnet-4-6"
    assert raw.headers["anthropic-ratelimit-requests-limit"] == "1000"
    assert {
        "anthropic-ratelimit-input-tokens-limit",
        "anthropic-ratelimit-output-tokens-reset",
    } <= set(raw.headers)
    for model in ("claude-3-haiku-20240307", "claude-typo-9"):
        with pytest.raises(anthropic.NotFoundError) as info:
            await client.messages.create(model=model, max_tokens=5, messages=HI)
        exc = info.value
        assert exc.type == "not_found_error" and exc.api_message == f"model: {model}"
        assert exc.request_id == exc.body["request_id"] and exc.request_id.startswith("req_")
    with pytest.raises(anthropic.BadRequestError) as info:
        await client.messages.create(model="claude-opus-4-8", max_tokens=0, messages=HI)
    assert "anthropic-ratelimit-requests-limit" in info.value.response.headers


@pytest.mark.asyncio
async def test_anthropic_failure_modes(
    ant_fake: FakeAnthropic, clients: Callable[..., Any]
) -> None:
    """Credit balance 400, 529 overloaded, 401 invalid key, edge 403, 429 with retry-after."""

    def client(key: str) -> anthropic.AsyncAnthropic:
        return clients("anthropic", ant_fake.base_url, key)

    with pytest.raises(anthropic.BadRequestError) as info:
        await client(ANT_BROKE).messages.create(model="claude-opus-4-8", max_tokens=0, messages=HI)
    assert info.value.api_message.startswith(
        "Your credit balance is too low to access the Anthropic API"
    )
    with pytest.raises(anthropic.OverloadedError) as info:
        await client(ANT_BUSY).messages.create(model="claude-opus-4-8", max_tokens=5, messages=HI)
    assert info.value.status_code == 529 and info.value.type == "overloaded_error"
    with pytest.raises(anthropic.AuthenticationError) as info:
        await client(fake_key("anthropic", "nobody")).models.list()
    assert (
        info.value.type == "authentication_error" and info.value.api_message == "invalid x-api-key"
    )
    with pytest.raises(anthropic.PermissionDeniedError) as info:
        await client(ANT_REGION).models.list()
    assert info.value.body == {"error": {"type": "forbidden", "message": "Request not allowed"}}
    with pytest.raises(anthropic.RateLimitError) as info:
        await client(ANT_RATE).messages.create(model="claude-opus-4-8", max_tokens=5, messages=HI)
    assert info.value.response.headers["retry-after"] == "30"
    assert "rate limit of" in (info.value.api_message or "")


@pytest.mark.asyncio
async def test_anthropic_requires_version_header(ant_fake: FakeAnthropic) -> None:
    """Without anthropic-version the API answers 400 with a request-id header."""
    async with (
        aiohttp.ClientSession(headers={"x-api-key": ANT}) as http,
        http.get(f"{ant_fake.base_url}/v1/models") as resp,
    ):
        body = await resp.json()
    assert resp.status == 400
    assert body["error"] == {
        "type": "invalid_request_error",
        "message": "anthropic-version: header is required",
    }
    assert body["request_id"] == resp.headers["request-id"]


# --- Threads, YAML, CLI, helpers ----------------------------------------------------------------


def test_start_in_thread_serves_sync_clients() -> None:
    """start_in_thread()/stop() and the sync context manager serve the sync SDKs."""
    key = fake_key("openai", "sync")
    fake = FakeOpenAI([Account(key, models=["gpt-4o"])]).start_in_thread()
    try:
        with openai.OpenAI(api_key=key, base_url=fake.base_url, max_retries=0) as client:
            assert [m.id for m in client.models.list().data] == ["gpt-4o"]
        assert fake.count("GET /v1/models", key=key) == 1
    finally:
        fake.stop()
    akey = fake_key("anthropic", "sync")
    with (
        FakeAnthropic([Account(akey, models=["claude-opus-4-8"])]) as ant,
        anthropic.Anthropic(api_key=akey, base_url=ant.base_url, max_retries=0) as client,
    ):
        assert client.models.retrieve("claude-opus-4-8").lifecycle == "active"


@pytest.mark.slow
def test_cli_runs_all_servers_from_yaml(tmp_path: Path) -> None:
    """``python -m tests.fakes.providers --accounts`` prints one JSON line of base URLs."""
    accounts = tmp_path / "accounts.yaml"
    accounts.write_text(
        "openai:\n  - key_tag: cli\n    models: [gpt-4o, {id: gpt-5, shutdown_date: '2026-12-11'}]\n"
        "anthropic:\n  - key_tag: cli\n    models: [claude-opus-4-8]\n",
        encoding="utf-8",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.providers", "--accounts", str(accounts)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        urls = json.loads(proc.stdout.readline())
        assert set(urls) == {"openai", "gateway", "azure", "anthropic"}
        assert urls["openai"].endswith("/v1") and not urls["anthropic"].endswith("/v1")
        request = urllib.request.Request(  # noqa: S310 - loopback fake
            f"{urls['openai']}/models",
            headers={"Authorization": f"Bearer {fake_key('openai', 'cli')}"},
        )
        with urllib.request.urlopen(request, timeout=5) as resp:  # noqa: S310
            data = json.load(resp)["data"]
        assert {m["id"]: m["shutdown_date"] for m in data} == {
            "gpt-4o": None,
            "gpt-5": "2026-12-11",
        }
    finally:
        proc.terminate()
        rc = proc.wait(timeout=5)
        if proc.stdout is not None:
            proc.stdout.close()
    assert rc == 0


def test_accounts_from_mappings_and_default_endpoints() -> None:
    """YAML-shaped dicts become accounts; endpoint defaults follow the model family."""
    parsed = load_accounts(
        {"openai": [{"key_tag": "x", "models": ["gpt-4o", {"id": "o3", "failures": ["broken"]}]}]}
    )
    account = parsed["openai"][0]
    assert account.key == fake_key("openai", "x") and parsed["azure"] == []
    assert (
        account.model("o3") is not None
        and account.model("o3").failures[0].kind == "model_not_found"
    )
    assert default_endpoints("gpt-4o") == {"chat", "responses"}
    assert default_endpoints("openai/gpt-5") == {"chat", "responses"}
    for responses_only in (
        "o3-pro",
        "gpt-5.3-codex",
        "o4-mini-deep-research",
        "gpt-5.5-pro-2026-04-23",
    ):
        assert default_endpoints(responses_only) == {"responses"}
    assert default_endpoints("text-embedding-3-large") == {"embeddings"}
    assert default_endpoints("omni-moderation-latest") == {"moderations"}
    assert default_endpoints("davinci-002") == {"completions"}
    assert ModelSpec("x", endpoints=["chat"]).serves == {"chat"}
    with pytest.raises(ValueError):
        Failure("no_such_kind")
    assert mask_key("short") == "short"
