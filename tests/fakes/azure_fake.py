"""Fake Azure OpenAI resource: deployments, ``/openai/models``, ``api-key`` auth.

Each account is one resource key. ``Account.deployments`` maps deployment names to base
model ids; ``Account.models`` are the models the resource may deploy (what
``GET /openai/models`` lists, with lifecycle fields) and, by id, the specs of the
deployed models. Success and parameter-error bodies are the OpenAI ones.

Failure kinds used here: invalid_key, model_not_found/retired (-> DeploymentNotFound),
no_quota/rate_limited (-> S0 429), server_error, overloaded, drop. Region, scope and
verification kinds are OpenAI-only and ignored.
"""

from __future__ import annotations

import re
import uuid
from typing import Any, ClassVar

from aiohttp import web

from tests.fakes.accounts import (
    CHAT,
    COMPLETIONS,
    EMBEDDINGS,
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
)
from tests.fakes.openai_fake import (
    MSG_OVERLOADED,
    MSG_SERVER_ERROR,
    error_body,
    success_response,
    validate_params,
)

MSG_ACCESS_DENIED = (
    "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide "
    "a valid key for an active subscription and use a correct regional API endpoint for your "
    "resource."
)
MSG_DEPLOYMENT_NOT_FOUND = (
    "The API deployment for this resource does not exist. If you created the deployment within "
    "the last 5 minutes, please wait a moment and try again."
)
OPERATION_NAMES = {
    CHAT: "chatCompletion",
    COMPLETIONS: "completion",
    EMBEDDINGS: "embeddings",
    RESPONSES: "responses",
}
QUOTA_OPERATIONS = {
    CHAT: "ChatCompletions_Create",
    COMPLETIONS: "Completions_Create",
    EMBEDDINGS: "Embeddings_Create",
    RESPONSES: "Responses_Create",
}
# The data-plane deployments listing answered up to this api-version only.
LAST_DEPLOYMENTS_LIST_VERSION = "2023-03-15-preview"
_API_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}(-preview)?$")


def azure_error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def msg_operation_not_supported(endpoint: str, model: str) -> str:
    return (
        f"The {OPERATION_NAMES[endpoint]} operation does not work with the specified model, "
        f"{model}. Please choose different model and try again. You can learn more about which "
        "models can be used with each operation here: https://go.microsoft.com/fwlink/?linkid=2197993."
    )


def msg_s0_quota(endpoint: str, api_version: str, seconds: int) -> str:
    return (
        f"Requests to the {QUOTA_OPERATIONS[endpoint]} Operation under Azure OpenAI API version "
        f"{api_version} have exceeded token rate limit of your current OpenAI S0 pricing tier. "
        f"Please retry after {seconds} seconds. Please go here: https://aka.ms/oai/quotaincrease "
        "if you would like to further increase the default rate limit."
    )


def azure_limit_headers(limits: RateLimits, *, exhausted: bool = False) -> dict[str, str]:
    rem_req = (
        limits.remaining_requests if limits.remaining_requests is not None else limits.requests - 1
    )
    rem_tok = limits.remaining_tokens if limits.remaining_tokens is not None else limits.tokens - 20
    return {
        "x-ratelimit-limit-requests": str(limits.requests),
        "x-ratelimit-limit-tokens": str(limits.tokens),
        "x-ratelimit-remaining-requests": "0" if exhausted else str(max(rem_req, 0)),
        "x-ratelimit-remaining-tokens": "0" if exhausted else str(max(rem_tok, 0)),
    }


def azure_model_object(spec: ModelSpec) -> dict[str, Any]:
    serves = spec.serves
    capabilities = spec.capabilities or {
        "fine_tune": False,
        "inference": True,
        "completion": COMPLETIONS in serves,
        "chat_completion": CHAT in serves,
        "embeddings": EMBEDDINGS in serves,
    }
    out: dict[str, Any] = {
        "status": "succeeded",
        "capabilities": capabilities,
        "lifecycle_status": spec.lifecycle_status,
        "id": spec.id,
        "created_at": spec.created,
        "object": "model",
    }
    deprecation = {
        k: v
        for k, v in (
            ("fine_tune", spec.deprecation_fine_tune),
            ("inference", spec.deprecation_inference),
        )
        if v is not None
    }
    if deprecation:
        out["deprecation"] = deprecation
    return out


class FakeAzure(FakeServer):
    """``base_url`` is the resource endpoint root (``azure_endpoint=`` in the SDK)."""

    provider: ClassVar[str] = "azure"

    def routes(self) -> list[tuple[str, str, Handler, str]]:
        table: list[tuple[str, str, Handler, str]] = [
            ("GET", "/openai/models", self._list_models, "list"),
            ("GET", "/openai/models/{id:.+}", self._get_model, "retrieve"),
            ("GET", "/openai/deployments", self._list_deployments, "list_deployments"),
        ]
        for endpoint, tail in (
            (CHAT, "chat/completions"),
            (COMPLETIONS, "completions"),
            (EMBEDDINGS, "embeddings"),
        ):
            table.append(
                (
                    "POST",
                    f"/openai/deployments/{{deployment}}/{tail}",
                    self._handler(endpoint),
                    endpoint,
                )
            )
        # Responses and the v1 surface name the deployment in the body's "model".
        table.append(("POST", "/openai/responses", self._handler(RESPONSES), RESPONSES))
        for endpoint, tail in (
            (CHAT, "chat/completions"),
            (RESPONSES, "responses"),
            (COMPLETIONS, "completions"),
            (EMBEDDINGS, "embeddings"),
        ):
            table.append(("POST", f"/openai/v1/{tail}", self._handler(endpoint, v1=True), endpoint))
        return table

    def key_of(self, request: web.Request) -> str | None:
        return request.headers.get("api-key") or super().key_of(request)

    def model_hint(self, account: Account, request: web.Request, body: Any) -> ModelSpec | None:
        name = request.match_info.get("deployment")
        if name is None and isinstance(body, dict):
            name = body.get("model")
        base = account.deployments.get(name or "")
        return account.model(base) if base else None

    def common_headers(self, request: web.Request) -> dict[str, str]:
        headers = {"apim-request-id": str(uuid.uuid4()), "x-request-id": str(uuid.uuid4())}
        account = request.get(REQ_ACCOUNT)
        if account is not None:
            headers["x-ms-region"] = account.region
        return headers

    # checks -----------------------------------------------------------------------
    @staticmethod
    def api_version(request: web.Request) -> str:
        version = request.query.get("api-version", "")
        if not _API_VERSION.match(version):
            raise ApiError(404, azure_error("404", "Resource not found"))
        return version

    def authenticate(self, request: web.Request, op: str) -> Account:
        key = request[REQ_KEY]
        account = self.accounts.get(key) if key else None
        if account is None or account.find_failure(
            ("invalid_key",), op=op, route=request[REQ_ROUTE]
        ):
            raise ApiError(401, azure_error("401", MSG_ACCESS_DENIED))
        request[REQ_ACCOUNT] = account
        f = account.find_failure(("server_error", "overloaded"), op=op, route=request[REQ_ROUTE])
        if f is not None and op in ("list", "retrieve", "list_deployments"):
            raise self.failure(f, op, "", "")
        return account

    def failure(self, f: Failure, endpoint: str, api_version: str, model: str) -> ApiError:
        headers: dict[str, str] = {}
        if f.kind in ("model_not_found", "model_not_found_400", "retired"):
            status, body = 404, azure_error("DeploymentNotFound", MSG_DEPLOYMENT_NOT_FOUND)
        elif f.kind in ("rate_limited", "no_quota"):
            seconds = (
                f.retry_after
                if f.retry_after is not None
                else (86400 if f.kind == "no_quota" else 10)
            )
            status, body = 429, azure_error("429", msg_s0_quota(endpoint, api_version, seconds))
            headers["retry-after"] = str(seconds)
        elif f.kind == "server_error":
            status, body = 500, error_body(MSG_SERVER_ERROR, "server_error")
        elif f.kind == "overloaded":
            status, body = (
                503,
                error_body(
                    MSG_OVERLOADED, "service_unavailable_error", code="server_is_overloaded"
                ),
            )
        else:  # region, scopes and verification have no Azure form; they are never looked up
            raise AssertionError(f.kind)
        if f.status is not None:
            status = f.status
        if f.message is not None:
            body["error"]["message"] = f.message
        return ApiError(status, body, headers)

    # listing ----------------------------------------------------------------------
    async def _list_models(self, request: web.Request) -> web.StreamResponse:
        async def inner() -> web.StreamResponse:
            self.api_version(request)
            account = self.authenticate(request, "list")
            data = [azure_model_object(m) for m in account.listed_models()]
            return web.json_response(
                {"data": data, "object": "list"}, headers=self.common_headers(request)
            )

        return await self.answer(request, inner)

    async def _get_model(self, request: web.Request) -> web.StreamResponse:
        async def inner() -> web.StreamResponse:
            self.api_version(request)
            account = self.authenticate(request, "retrieve")
            spec = account.model(request.match_info["id"])
            if spec is None or not spec.listed:
                raise ApiError(404, azure_error("404", "Resource not found"))
            return web.json_response(azure_model_object(spec), headers=self.common_headers(request))

        return await self.answer(request, inner)

    async def _list_deployments(self, request: web.Request) -> web.StreamResponse:
        async def inner() -> web.StreamResponse:
            version = self.api_version(request)
            account = self.authenticate(request, "list_deployments")
            if version[:10] > LAST_DEPLOYMENTS_LIST_VERSION[:10]:
                # Retired on the data plane; listing needs the management plane (ARM).
                raise ApiError(404, azure_error("404", "Resource not found"))
            data = [
                {
                    "id": name,
                    "model": base,
                    "object": "deployment",
                    "owner": "organization-owner",
                    "status": "succeeded",
                    "scale_settings": {"scale_type": "standard"},
                    "created_at": 1_700_000_000,
                    "updated_at": 1_700_000_000,
                }
                for name, base in account.deployments.items()
            ]
            return web.json_response(
                {"data": data, "object": "list"}, headers=self.common_headers(request)
            )

        return await self.answer(request, inner)

    # inference --------------------------------------------------------------------
    def _handler(self, endpoint: str, *, v1: bool = False) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            return await self.answer(request, lambda: self._infer(request, endpoint, v1=v1))

        return handler

    async def _infer(self, request: web.Request, endpoint: str, *, v1: bool) -> web.StreamResponse:
        route = request[REQ_ROUTE]
        version = "v1" if v1 else self.api_version(request)
        account = self.authenticate(request, endpoint)
        body = self.body_of(request)
        if not isinstance(body, dict):
            raise ApiError(400, error_body("Invalid JSON body."))
        name = request.match_info.get("deployment") or body.get("model") or ""
        base = account.deployments.get(name)
        if base is None:
            raise ApiError(404, azure_error("DeploymentNotFound", MSG_DEPLOYMENT_NOT_FOUND))
        spec = account.model(base) or ModelSpec(base)
        f = account.find_failure(
            ("model_not_found", "model_not_found_400", "retired"),
            op=endpoint,
            route=route,
            spec=spec,
        )
        if f is not None:
            raise self.failure(f, endpoint, version, base)
        if endpoint not in spec.serves:
            raise ApiError(
                400,
                azure_error("OperationNotSupported", msg_operation_not_supported(endpoint, base)),
            )

        limits = account.limits(self.provider, spec)
        f = account.find_failure(
            ("no_quota", "rate_limited", "server_error", "overloaded"),
            op=endpoint,
            route=route,
            spec=spec,
        )
        if f is not None:
            exc = self.failure(f, endpoint, version, base)
            if f.kind in ("rate_limited", "no_quota"):
                exc.headers.update(azure_limit_headers(limits, exhausted=True))
            raise exc
        rl = {**azure_limit_headers(limits), "x-ms-deployment-name": name}
        try:
            validate_params(endpoint, spec, body)
        except ApiError as exc:
            exc.headers.update(rl)
            raise
        headers = {**self.common_headers(request), **rl}
        return await success_response(self, request, endpoint, spec, body, headers)
