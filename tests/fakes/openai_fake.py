"""Fake OpenAI API and the OpenAI-compatible gateway flavour.

Error bodies, messages and headers follow the captures listed in SOURCES.md. The
module-level builders and ``validate_params`` are reused by the Azure fake, whose
deployments speak the same bodies.
"""

from __future__ import annotations

import base64
import json
import secrets
import struct
import time
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from aiohttp import web

from tests.fakes.accounts import (
    CHAT,
    COMPLETIONS,
    EMBEDDINGS,
    MODERATIONS,
    REQ_ACCOUNT,
    REQ_KEY,
    REQ_ROUTE,
    RESPONSES,
    Account,
    ApiError,
    Failure,
    FakeServer,
    Handler,
    ModelSpec,
    RateLimits,
    mask_key,
)

API_KEYS_URL = "https://platform.openai.com/account/api-keys"
VERIFY_HINT = (
    "Please go to: https://platform.openai.com/settings/organization/general and click on "
    "Verify Organization. If you just verified, it can take up to 15 minutes for access to "
    "propagate."
)
MSG_NO_KEY = (
    "You didn't provide an API key. You need to provide your API key in an Authorization "
    "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field "
    "(with blank username) if you're accessing the API from your browser and are prompted for "
    f"a username and password. You can obtain an API key from {API_KEYS_URL}."
)
MSG_NO_QUOTA = (
    "You exceeded your current quota, please check your plan and billing details. For more "
    "information on this error, read the docs: "
    "https://platform.openai.com/docs/guides/error-codes/api-errors."
)
MSG_REGION = "Country, region, or territory not supported"
MSG_SERVER_ERROR = "The server had an error while processing your request. Sorry about that!"
MSG_OVERLOADED = "Our servers are currently overloaded. Please try again later."
MSG_BAD_JSON = (
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't "
    "using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was "
    "sent was not valid JSON.)"
)
MSG_ONLY_RESPONSES = "This model is only supported in v1/responses and not in v1/chat/completions."
MSG_NOT_CHAT = (
    "This is not a chat model and thus not supported in the v1/chat/completions endpoint. "
    "Did you mean to use v1/completions?"
)
MSG_CHAT_ON_COMPLETIONS = (
    "This is a chat model and not supported in the v1/completions endpoint. "
    "Did you mean to use v1/chat/completions?"
)
MSG_NO_EMBEDDINGS = "You are not allowed to generate embeddings from this model"


def msg_invalid_key(key: str) -> str:
    return (
        f"Incorrect API key provided: {mask_key(key)}. You can find your API key at {API_KEYS_URL}."
    )


def msg_scopes(scope: str) -> str:
    return (
        f"You have insufficient permissions for this operation. Missing scopes: {scope}. "
        "Check that you have the correct role in your organization (Reader, Writer, Owner) and "
        "project (Member, Owner), and if you're using a restricted API key, that it has the "
        "necessary scopes."
    )


def msg_not_found(model: str) -> str:
    return f"The model `{model}` does not exist or you do not have access to it."


def msg_retired(model: str) -> str:
    return (
        f"The model `{model}` has been deprecated, learn more here: "
        "https://platform.openai.com/docs/deprecations"
    )


def msg_project_blocked(project: str, model: str) -> str:
    return f"Project `{project}` does not have access to model `{model}`"


def msg_below_tier(model: str, tier: int = 5) -> str:
    return (
        f"Your organization must qualify for at least usage tier {tier} to access '{model}'. "
        "See https://platform.openai.com/docs/guides/rate-limits/usage-tiers for more details "
        "on usage tiers."
    )


def msg_below_min(param: str, minimum: int, got: Any) -> str:
    return (
        f"Invalid '{param}': integer below minimum value. Expected a value >= {minimum}, "
        f"but got {got} instead."
    )


def error_body(
    message: str,
    type_: str = "invalid_request_error",
    param: str | None = None,
    code: str | None = None,
) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def new_id(prefix: str, n: int = 24) -> str:
    return prefix + secrets.token_hex(n // 2)


def estimate_tokens(value: Any) -> int:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return max(1, len(text) // 4)


# -------------------------------------------------------------------------------------
# Rate-limit headers, parameter validation, failure bodies
# -------------------------------------------------------------------------------------


def openai_limit_headers(limits: RateLimits, *, exhausted: str | None = None) -> dict[str, str]:
    """x-ratelimit-* as on every OpenAI inference response; ``exhausted`` zeroes one bucket."""
    rem_req = (
        limits.remaining_requests if limits.remaining_requests is not None else limits.requests - 1
    )
    rem_tok = limits.remaining_tokens if limits.remaining_tokens is not None else limits.tokens - 20
    if exhausted == "requests":
        rem_req = 0
    elif exhausted == "tokens":
        rem_tok = 0
    return {
        "x-ratelimit-limit-requests": str(limits.requests),
        "x-ratelimit-limit-tokens": str(limits.tokens),
        "x-ratelimit-remaining-requests": str(max(rem_req, 0)),
        "x-ratelimit-remaining-tokens": str(max(rem_tok, 0)),
        "x-ratelimit-reset-requests": limits.reset_requests,
        "x-ratelimit-reset-tokens": limits.reset_tokens,
    }


def _check_min(body: Mapping[str, Any], param: str, minimum: int) -> None:
    value = body.get(param)
    if isinstance(value, int) and not isinstance(value, bool) and value < minimum:
        raise ApiError(
            400,
            error_body(
                msg_below_min(param, minimum, value), param=param, code="integer_below_min_value"
            ),
        )


def _require(body: Mapping[str, Any], param: str) -> None:
    if body.get(param) is None:
        raise ApiError(
            400,
            error_body(
                f"Missing required parameter: '{param}'.",
                param=param,
                code="missing_required_parameter",
            ),
        )


def validate_params(endpoint: str, spec: ModelSpec, body: Mapping[str, Any]) -> None:
    """The cheap-probe validations, in the order a real request trips them."""
    if endpoint == CHAT:
        _require(body, "messages")
        if spec.rejects_max_tokens and body.get("max_tokens") is not None:
            raise ApiError(
                400,
                error_body(
                    "Unsupported parameter: 'max_tokens' is not supported with this model. "
                    "Use 'max_completion_tokens' instead.",
                    param="max_tokens",
                    code="unsupported_parameter",
                ),
            )
        _check_min(body, "max_tokens", 1)
        _check_min(body, "max_completion_tokens", 1)
    elif endpoint == RESPONSES:
        if "messages" in body:
            raise ApiError(
                400,
                error_body(
                    "Unsupported parameter: 'messages'. In the Responses API, this parameter has "
                    "moved to 'input'. Try again with the new parameter. See the API documentation "
                    "for more information: https://platform.openai.com/docs/api-reference/responses/create.",
                    param="messages",
                    code="unsupported_parameter",
                ),
            )
        _check_min(body, "max_output_tokens", 16)
    elif endpoint == COMPLETIONS:
        _require(body, "prompt")
        _check_min(body, "max_tokens", 0)
    elif endpoint == EMBEDDINGS:
        _require(body, "input")
        if body.get("input") in ("", []):
            raise ApiError(
                400,
                error_body(
                    "'$.input' is invalid. Please check the API reference: "
                    "https://platform.openai.com/docs/api-reference.",
                ),
            )
    elif endpoint == MODERATIONS:
        _require(body, "input")


def wrong_endpoint_error(endpoint: str, spec: ModelSpec, model: str) -> ApiError:
    serves = spec.serves
    if endpoint == CHAT:
        msg = MSG_ONLY_RESPONSES if serves == {RESPONSES} else MSG_NOT_CHAT
        return ApiError(404, error_body(msg, param="model"))
    if endpoint == COMPLETIONS and serves & {CHAT, RESPONSES}:
        return ApiError(404, error_body(MSG_CHAT_ON_COMPLETIONS, param="model"))
    if endpoint == EMBEDDINGS:
        return ApiError(403, error_body(MSG_NO_EMBEDDINGS))
    # Not captured from the real API: a plain 400 naming the model (see SOURCES.md).
    return ApiError(
        400,
        error_body(
            f"The model `{model}` is not supported by the v1/{endpoint} endpoint.", param="model"
        ),
    )


def failure_error(
    f: Failure,
    account: Account,
    model: str | None,
    limits: RateLimits | None,
    *,
    retry_after_header: bool = True,
) -> ApiError:
    """The OpenAI wire form of one failure mode."""
    kind = f.kind
    headers: dict[str, str] = {}
    if kind == "invalid_key":
        status, body = 401, error_body(msg_invalid_key(account.key), code="invalid_api_key")
    elif kind == "region":
        status = 403
        body = error_body(
            MSG_REGION, "request_forbidden", code="unsupported_country_region_territory"
        )
    elif kind == "list_forbidden":
        status, body = 403, error_body(msg_scopes("api.model.read"))
    elif kind == "missing_scopes":
        status, body = 403, error_body(msg_scopes("model.request"))
    elif kind == "model_not_found":
        status, body = 404, error_body(msg_not_found(model or ""), code="model_not_found")
    elif kind == "model_not_found_400":
        status = 400
        body = error_body(
            f"The requested model '{model}' does not exist.", param="model", code="model_not_found"
        )
    elif kind == "retired":
        status, body = 404, error_body(msg_retired(model or ""), code="model_not_found")
    elif kind == "project_blocked":
        project = account.project or "proj_FAKE0000"
        status = 403
        body = error_body(msg_project_blocked(project, model or ""), code="model_not_found")
    elif kind == "below_tier":
        status = 400
        body = error_body(msg_below_tier(model or ""), param="model", code="below_usage_tier")
    elif kind == "no_quota":
        status, body = (
            429,
            error_body(MSG_NO_QUOTA, "insufficient_quota", code="insufficient_quota"),
        )
    elif kind == "rate_limited":
        lim = limits or RateLimits()
        per = "tokens per min (TPM)" if f.limit_type == "tokens" else "requests per min (RPM)"
        limit = lim.tokens if f.limit_type == "tokens" else lim.requests
        wait = f.retry_after if f.retry_after is not None else 1
        msg = (
            f"Rate limit reached for {model} in organization {account.organization} on {per}: "
            f"Limit {limit}, Used {limit}, Requested {1 if f.limit_type == 'requests' else 20}. "
            f"Please try again in {wait}s. Visit https://platform.openai.com/account/rate-limits "
            "to learn more."
        )
        status, body = 429, error_body(msg, f.limit_type, code="rate_limit_exceeded")
        headers = openai_limit_headers(lim, exhausted=f.limit_type) if limits else {}
        if retry_after_header:
            headers["retry-after"] = str(wait)
    elif kind == "server_error":
        status, body = 500, error_body(MSG_SERVER_ERROR, "server_error")
    elif kind == "overloaded":
        status = 503
        body = error_body(MSG_OVERLOADED, "service_unavailable_error", code="server_is_overloaded")
    elif kind == "org_unverified":
        status = 403
        body = error_body(
            f"Your organization must be verified to use the model `{model}`. {VERIFY_HINT}"
        )
    elif kind == "org_unverified_stream":
        status = 400
        body = error_body(
            f"Your organization must be verified to stream this model. {VERIFY_HINT}",
            param="stream",
            code="unsupported_value",
        )
    else:  # drop is handled by the middleware
        raise AssertionError(kind)
    if f.status is not None:
        status = f.status
    if f.message is not None:
        body["error"]["message"] = f.message
    return ApiError(status, body, headers)


# -------------------------------------------------------------------------------------
# Success bodies
# -------------------------------------------------------------------------------------

REPLY = "ok"


def model_object(spec: ModelSpec) -> dict[str, Any]:
    return {
        "id": spec.id,
        "object": "model",
        "created": spec.created,
        "owned_by": spec.owned_by,
        "shutdown_date": spec.shutdown_date,
    }


def _chat_usage(spec: ModelSpec, body: Mapping[str, Any]) -> dict[str, Any]:
    prompt = estimate_tokens(body.get("messages") or body.get("input") or body.get("prompt") or "")
    usage: dict[str, Any] = {
        "prompt_tokens": prompt,
        "completion_tokens": 1,
        "total_tokens": prompt + 1,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
    }
    return usage


def chat_completion(spec: ModelSpec, body: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": new_id("chatcmpl-"),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": spec.id,
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": REPLY,
                    "refusal": None,
                    "annotations": [],
                },
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": _chat_usage(spec, body),
        "service_tier": "default",
        "system_fingerprint": None,
    }


def chat_chunks(spec: ModelSpec, body: Mapping[str, Any]) -> list[tuple[str | None, Any]]:
    base = {
        "id": new_id("chatcmpl-"),
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": spec.id,
        "system_fingerprint": None,
    }

    def chunk(delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
        return {
            **base,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }

    events: list[tuple[str | None, Any]] = [
        (None, chunk({"role": "assistant", "content": ""}, None)),
        (None, chunk({"content": REPLY}, None)),
        (None, chunk({}, "stop")),
    ]
    if (body.get("stream_options") or {}).get("include_usage"):
        events.append((None, {**base, "choices": [], "usage": _chat_usage(spec, body)}))
    events.append((None, "[DONE]"))
    return events


def response_object(
    spec: ModelSpec, body: Mapping[str, Any], status: str = "completed"
) -> dict[str, Any]:
    prompt = estimate_tokens(body.get("input") or "")
    done = status == "completed"
    return {
        "id": new_id("resp_", 48),
        "object": "response",
        "created_at": int(time.time()),
        "status": status,
        "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "model": spec.id,
        "output": [
            {
                "type": "message",
                "id": new_id("msg_", 48),
                "status": "completed",
                "role": "assistant",
                "content": [
                    {"type": "output_text", "text": REPLY, "annotations": [], "logprobs": []}
                ],
            }
        ]
        if done
        else [],
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None},
        "store": True,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": {
            "input_tokens": prompt,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": 1,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": prompt + 1,
        }
        if done
        else None,
        "user": None,
        "metadata": {},
    }


def response_events(spec: ModelSpec, body: Mapping[str, Any]) -> list[tuple[str | None, Any]]:
    final = response_object(spec, body)
    item_id = final["output"][0]["id"]
    started = {**response_object(spec, body, "in_progress"), "id": final["id"]}
    events = [
        {"type": "response.created", "response": started},
        {
            "type": "response.output_text.delta",
            "item_id": item_id,
            "output_index": 0,
            "content_index": 0,
            "delta": REPLY,
            "logprobs": [],
        },
        {"type": "response.completed", "response": final},
    ]
    return [(e["type"], {**e, "sequence_number": i}) for i, e in enumerate(events)]


def text_completion(spec: ModelSpec, body: Mapping[str, Any]) -> dict[str, Any]:
    prompt = estimate_tokens(body.get("prompt") or "")
    return {
        "id": new_id("cmpl-"),
        "object": "text_completion",
        "created": int(time.time()),
        "model": spec.id,
        "choices": [{"text": REPLY, "index": 0, "logprobs": None, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt, "completion_tokens": 1, "total_tokens": prompt + 1},
    }


def embedding_list(spec: ModelSpec, body: Mapping[str, Any]) -> dict[str, Any]:
    raw = body.get("input")
    inputs = raw if isinstance(raw, list) and raw and not isinstance(raw[0], int) else [raw]
    dims = int(body.get("dimensions") or 8)
    as_b64 = body.get("encoding_format") == "base64"
    data = []
    for i, _ in enumerate(inputs):
        vector = [round(0.01 * (i + 1) * (j + 1), 4) for j in range(dims)]
        emb: Any = (
            base64.b64encode(struct.pack(f"<{dims}f", *vector)).decode() if as_b64 else vector
        )
        data.append({"object": "embedding", "index": i, "embedding": emb})
    tokens = estimate_tokens(raw)
    return {
        "object": "list",
        "data": data,
        "model": spec.id,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


_MOD_CATEGORIES = (
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
    "illicit",
    "illicit/violent",
    "self-harm",
    "self-harm/instructions",
    "self-harm/intent",
    "sexual",
    "sexual/minors",
    "violence",
    "violence/graphic",
)


def moderation_result(spec: ModelSpec, body: Mapping[str, Any]) -> dict[str, Any]:
    raw = body.get("input")
    inputs = raw if isinstance(raw, list) else [raw]
    result = {
        "flagged": False,
        "categories": dict.fromkeys(_MOD_CATEGORIES, False),
        "category_scores": dict.fromkeys(_MOD_CATEGORIES, 0.0001),
        "category_applied_input_types": {c: ["text"] for c in _MOD_CATEGORIES},
    }
    return {"id": new_id("modr-"), "model": spec.id, "results": [result for _ in inputs]}


SUCCESS_BUILDERS = {
    CHAT: chat_completion,
    RESPONSES: response_object,
    COMPLETIONS: text_completion,
    EMBEDDINGS: embedding_list,
    MODERATIONS: moderation_result,
}


async def success_response(
    server: FakeServer,
    request: web.Request,
    endpoint: str,
    spec: ModelSpec,
    body: Mapping[str, Any],
    headers: Mapping[str, str],
) -> web.StreamResponse:
    if body.get("stream") and endpoint == CHAT:
        return await server.sse(request, chat_chunks(spec, body), headers)
    if body.get("stream") and endpoint == RESPONSES:
        return await server.sse(request, response_events(spec, body), headers)
    return web.json_response(SUCCESS_BUILDERS[endpoint](spec, body), headers=dict(headers))


# -------------------------------------------------------------------------------------
# The server
# -------------------------------------------------------------------------------------


class FakeOpenAI(FakeServer):
    """``/v1/models``, ``/v1/models/{id}`` and the five inference endpoints, Bearer auth.

    ``public_models``: GET /v1/models(/{id}) answers without a key, from ``catalog`` (or
    the union of every account's listed models), as AI/ML API does.
    ``rate_limit_headers``: send x-ratelimit-* on inference responses (and retry-after on
    429 rate_limit_exceeded)."""

    provider: ClassVar[str] = "openai"

    def __init__(
        self,
        accounts: Iterable[Account | Mapping[str, Any]] = (),
        *,
        public_models: bool = False,
        catalog: Iterable[ModelSpec | str | Mapping[str, Any]] | None = None,
        rate_limit_headers: bool = True,
        host: str = "127.0.0.1",
    ) -> None:
        super().__init__(accounts, host=host)
        self.public_models = public_models
        self.catalog = [ModelSpec.coerce(m) for m in catalog] if catalog is not None else None
        self.rate_limit_headers = rate_limit_headers

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def routes(self) -> list[tuple[str, str, Handler, str]]:
        table: list[tuple[str, str, Handler, str]] = [
            ("GET", "/v1/models", self._list, "list"),
            ("GET", "/v1/models/{id:.+}", self._retrieve, "retrieve"),
        ]
        for endpoint, path in (
            (CHAT, "/v1/chat/completions"),
            (RESPONSES, "/v1/responses"),
            (COMPLETIONS, "/v1/completions"),
            (EMBEDDINGS, "/v1/embeddings"),
            (MODERATIONS, "/v1/moderations"),
        ):
            table.append(("POST", path, self._inference_handler(endpoint), endpoint))
        return table

    def common_headers(self, request: web.Request) -> dict[str, str]:
        headers = {
            "x-request-id": new_id("req_", 32),
            "openai-version": "2020-10-01",
            "openai-processing-ms": "7",
        }
        account = request.get(REQ_ACCOUNT)
        if account is not None:
            headers["openai-organization"] = account.organization
        return headers

    # auth -----------------------------------------------------------------------
    def authenticate(self, request: web.Request, op: str) -> Account:
        route, key = request[REQ_ROUTE], request[REQ_KEY]
        if not key:
            raise ApiError(401, error_body(MSG_NO_KEY))
        account = self.accounts.get(key)
        if account is None or account.find_failure(("invalid_key",), op=op, route=route):
            raise ApiError(401, error_body(msg_invalid_key(key), code="invalid_api_key"))
        org = request.headers.get("OpenAI-Organization")
        project = request.headers.get("OpenAI-Project")
        if org and org != account.organization:
            raise ApiError(
                401,
                error_body(
                    "OpenAI-Organization header should match organization for API key",
                    code="mismatched_organization",
                ),
            )
        if project and account.project and project != account.project:
            raise ApiError(
                401,
                error_body(
                    "OpenAI-Project header should match project for API key",
                    code="mismatched_project",
                ),
            )
        if account.require_organization and not org:
            raise ApiError(401, error_body("Invalid Authentication"))
        request[REQ_ACCOUNT] = account
        f = account.find_failure(("region", "list_forbidden", "missing_scopes"), op=op, route=route)
        if f is not None:
            raise failure_error(f, account, None, None)
        return account

    # listing --------------------------------------------------------------------
    def _catalog(self) -> list[ModelSpec]:
        if self.catalog is not None:
            return [m for m in self.catalog if m.listed]
        seen: dict[str, ModelSpec] = {}
        for account in list(self.accounts.values()):
            for spec in account.listed_models():
                seen.setdefault(spec.id, spec)
        return list(seen.values())

    def _visible(self, request: web.Request, op: str) -> list[ModelSpec]:
        if self.public_models:
            return self._catalog()
        account = self.authenticate(request, op)
        f = account.find_failure(("server_error", "overloaded"), op=op, route=request[REQ_ROUTE])
        if f is not None:
            raise failure_error(f, account, None, None)
        return account.listed_models()

    async def _list(self, request: web.Request) -> web.StreamResponse:
        async def inner() -> web.StreamResponse:
            data = [model_object(m) for m in self._visible(request, "list")]
            return web.json_response(
                {"object": "list", "data": data}, headers=self.common_headers(request)
            )

        return await self.answer(request, inner)

    async def _retrieve(self, request: web.Request) -> web.StreamResponse:
        async def inner() -> web.StreamResponse:
            wanted = request.match_info["id"]
            for spec in self._visible(request, "retrieve"):
                if wanted == spec.id or wanted in spec.aliases:
                    return web.json_response(
                        model_object(spec), headers=self.common_headers(request)
                    )
            raise ApiError(404, error_body(msg_not_found(wanted), code="model_not_found"))

        return await self.answer(request, inner)

    # inference --------------------------------------------------------------------
    def _inference_handler(self, endpoint: str) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            return await self.answer(request, lambda: self._infer(request, endpoint))

        return handler

    async def _infer(self, request: web.Request, endpoint: str) -> web.StreamResponse:
        route = request[REQ_ROUTE]
        account = self.authenticate(request, endpoint)
        body = self.body_of(request)
        if not isinstance(body, dict):
            raise ApiError(400, error_body(MSG_BAD_JSON))
        model = body.get("model")
        if not model:
            raise ApiError(400, error_body("you must provide a model parameter"))

        # model: exists for this key, not failing, right endpoint
        spec = account.model(model)
        if spec is None:
            variant = account.find_failure(("model_not_found_400",), op=endpoint, route=route)
            raise failure_error(variant or Failure("model_not_found"), account, model, None)
        f = account.find_failure(
            ("model_not_found", "model_not_found_400", "retired", "project_blocked", "below_tier"),
            op=endpoint,
            route=route,
            spec=spec,
        )
        if f is not None:
            raise failure_error(f, account, model, None)
        if endpoint not in spec.serves:
            raise wrong_endpoint_error(endpoint, spec, model)

        # quota and transient errors
        limits = account.limits(self.provider, spec)
        rl = openai_limit_headers(limits) if self.rate_limit_headers else {}
        f = account.find_failure(
            ("no_quota", "rate_limited", "server_error", "overloaded"),
            op=endpoint,
            route=route,
            spec=spec,
        )
        if f is not None:
            raise failure_error(
                f,
                account,
                model,
                limits if self.rate_limit_headers else None,
                retry_after_header=self.rate_limit_headers,
            )

        # parameters (the free probe stops here, with rate-limit headers)
        try:
            validate_params(endpoint, spec, body)
        except ApiError as exc:
            exc.headers.update(rl)
            raise

        # organization verification, only for a request that would run
        kinds = ["org_unverified"] + (["org_unverified_stream"] if body.get("stream") else [])
        f = account.find_failure(kinds, op=endpoint, route=route, spec=spec)
        if f is not None:
            exc = failure_error(f, account, model, None)
            exc.headers.update(rl)
            raise exc

        headers = {**self.common_headers(request), **rl}
        return await success_response(self, request, endpoint, spec, body, headers)


class FakeGateway(FakeOpenAI):
    """OpenAI-compatible gateway (AI/ML API style): public model list, ids such as
    ``openai/gpt-5``, no rate-limit headers and no retry-after on 429."""

    provider: ClassVar[str] = "gateway"

    def __init__(
        self,
        accounts: Iterable[Account | Mapping[str, Any]] = (),
        *,
        public_models: bool = True,
        catalog: Iterable[ModelSpec | str | Mapping[str, Any]] | None = None,
        rate_limit_headers: bool = False,
        host: str = "127.0.0.1",
    ) -> None:
        super().__init__(
            accounts,
            public_models=public_models,
            catalog=catalog,
            rate_limit_headers=rate_limit_headers,
            host=host,
        )

    def common_headers(self, request: web.Request) -> dict[str, str]:
        return {"x-request-id": new_id("", 32), "x-inference-id": new_id("", 32)}
