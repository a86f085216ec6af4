"""Fake Anthropic API: paginated ``/v1/models``, ``/v1/models/{id}`` (aliases),
``/v1/messages`` and ``/v1/messages/count_tokens``; ``x-api-key`` auth and a required
``anthropic-version`` header. ``base_url`` is the root, as the anthropic SDK expects.

A model whose ``lifecycle`` is ``retired`` answers 404 ``model: <id>`` on use, like a
typo does; the list still carries it. Failure kinds: invalid_key, region,
list_forbidden/missing_scopes (permission_error), model_not_found/retired, no_quota
(credit balance), rate_limited, server_error, overloaded (529), drop.
"""

from __future__ import annotations

import secrets
import string
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from aiohttp import web

from tests.fakes.accounts import (
    REQ_ACCOUNT,
    REQ_KEY,
    REQ_ROUTE,
    Account,
    ApiError,
    Failure,
    FakeServer,
    Handler,
    ModelSpec,
    RateLimits,
)
from tests.fakes.openai_fake import REPLY, estimate_tokens

MSG_CREDIT = (
    "Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing "
    "to upgrade or purchase credits."
)
MSG_PERMISSION = "Your API key does not have permission to use the specified resource."
REQ_RID = web.RequestKey("fake_request_id", str)
_B58 = "".join(c for c in string.ascii_letters + string.digits if c not in "0OIl")


def request_id() -> str:
    return "req_011C" + "".join(secrets.choice(_B58) for _ in range(20))


def _rfc3339(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def anthropic_limit_headers(limits: RateLimits, *, exhausted: bool = False) -> dict[str, str]:
    """anthropic-ratelimit-* (resets are RFC 3339 instants, not durations)."""
    inp = limits.input_tokens if limits.input_tokens is not None else int(limits.tokens * 0.8)
    out = limits.output_tokens if limits.output_tokens is not None else limits.tokens - inp
    reset = _rfc3339(timedelta(seconds=1 if exhausted else 0))
    headers: dict[str, str] = {}
    for bucket, limit, remaining in (
        ("requests", limits.requests, limits.remaining_requests),
        ("tokens", limits.tokens, limits.remaining_tokens),
        ("input-tokens", inp, None),
        ("output-tokens", out, None),
    ):
        left = (
            0
            if exhausted
            else (
                remaining if remaining is not None else limit - (1 if bucket == "requests" else 0)
            )
        )
        headers[f"anthropic-ratelimit-{bucket}-limit"] = str(limit)
        headers[f"anthropic-ratelimit-{bucket}-remaining"] = str(max(left, 0))
        headers[f"anthropic-ratelimit-{bucket}-reset"] = reset
    return headers


def model_info(spec: ModelSpec) -> dict[str, Any]:
    return {
        "type": "model",
        "id": spec.id,
        "display_name": spec.display_name or spec.id,
        "created_at": spec.created_at,
        "max_input_tokens": spec.max_input_tokens,
        "max_tokens": spec.max_tokens,
        "lifecycle": spec.lifecycle,
        "deprecated_at": spec.deprecated_at,
        "retires_at": spec.retires_at,
    }


class FakeAnthropic(FakeServer):
    provider: ClassVar[str] = "anthropic"

    def routes(self) -> list[tuple[str, str, Handler, str]]:
        return [
            ("GET", "/v1/models", self._list, "list"),
            ("GET", "/v1/models/{id:.+}", self._retrieve, "retrieve"),
            ("POST", "/v1/messages", self._messages, "messages"),
            ("POST", "/v1/messages/count_tokens", self._count_tokens, "count_tokens"),
        ]

    def key_of(self, request: web.Request) -> str | None:
        return request.headers.get("x-api-key") or super().key_of(request)

    def _rid(self, request: web.Request) -> str:
        if REQ_RID not in request:
            request[REQ_RID] = request_id()
        return request[REQ_RID]

    def common_headers(self, request: web.Request) -> dict[str, str]:
        headers = {"request-id": self._rid(request)}
        if request.get(REQ_ACCOUNT) is not None:
            headers["anthropic-organization-id"] = str(
                uuid.uuid5(uuid.NAMESPACE_OID, request[REQ_KEY])
            )
        return headers

    def error(self, request: web.Request, status: int, type_: str, message: str) -> ApiError:
        body = {
            "type": "error",
            "error": {"type": type_, "message": message},
            "request_id": self._rid(request),
        }
        return ApiError(status, body)

    def failure(
        self, request: web.Request, f: Failure, model: str, limits: RateLimits | None
    ) -> ApiError:
        kind = f.kind
        if kind == "region":  # answered at the edge: no request id, no top-level type
            exc = ApiError(403, {"error": {"type": "forbidden", "message": "Request not allowed"}})
        elif kind in ("list_forbidden", "missing_scopes"):
            exc = self.error(request, 403, "permission_error", MSG_PERMISSION)
        elif kind in ("model_not_found", "model_not_found_400", "retired"):
            exc = self.error(request, 404, "not_found_error", f"model: {model}")
        elif kind == "no_quota":
            exc = self.error(request, 400, "invalid_request_error", MSG_CREDIT)
        elif kind == "rate_limited":
            lim = limits or RateLimits()
            tokens = lim.input_tokens if lim.input_tokens is not None else int(lim.tokens * 0.8)
            account = request[REQ_ACCOUNT]
            org = uuid.uuid5(uuid.NAMESPACE_OID, account.key)
            exc = self.error(
                request,
                429,
                "rate_limit_error",
                f"This request would exceed your organization's rate limit of {tokens:,} input "
                f"tokens per minute (org: {org}, model: {model}). For details, refer to: "
                "https://docs.claude.com/en/api/rate-limits. You can see the response headers for "
                "current usage. Please reduce the prompt length or the maximum tokens requested, or "
                "try again later. You may also contact sales at https://claude.com/contact-sales to "
                "discuss your options for a rate limit increase.",
            )
            exc.headers["retry-after"] = str(f.retry_after if f.retry_after is not None else 1)
            if limits is not None:
                exc.headers.update(anthropic_limit_headers(limits, exhausted=True))
        elif kind == "server_error":
            exc = self.error(request, 500, "api_error", "Internal server error")
        elif kind == "overloaded":
            exc = self.error(request, 529, "overloaded_error", "Overloaded")
        else:  # OpenAI-only kinds (verification) are never looked up here
            raise AssertionError(kind)
        if f.status is not None:
            exc.status = f.status
        if f.message is not None:
            exc.body["error"]["message"] = f.message
        return exc

    # checks -----------------------------------------------------------------------
    def authenticate(self, request: web.Request, op: str) -> Account:
        route, key = request[REQ_ROUTE], request[REQ_KEY]
        if not key:
            raise self.error(request, 401, "authentication_error", "x-api-key header is required")
        account = self.accounts.get(key)
        if account is not None:
            f = account.find_failure(("region",), op=op, route=route)
            if f is not None:
                raise self.failure(request, f, "", None)
        if account is None or account.find_failure(("invalid_key",), op=op, route=route):
            raise self.error(request, 401, "authentication_error", "invalid x-api-key")
        request[REQ_ACCOUNT] = account
        if not request.headers.get("anthropic-version"):
            raise self.error(
                request, 400, "invalid_request_error", "anthropic-version: header is required"
            )
        f = account.find_failure(("list_forbidden", "missing_scopes"), op=op, route=route)
        if f is None and op in ("list", "retrieve"):
            f = account.find_failure(("server_error", "overloaded"), op=op, route=route)
        if f is not None:
            raise self.failure(request, f, "", None)
        return account

    # listing ----------------------------------------------------------------------
    async def _list(self, request: web.Request) -> web.StreamResponse:
        async def inner() -> web.StreamResponse:
            account = self.authenticate(request, "list")
            q = request.query
            try:
                limit = int(q.get("limit", "20"))
            except ValueError:
                limit = -1
            if not 1 <= limit <= 1000:
                raise self.error(
                    request, 400, "invalid_request_error", "limit: must be between 1 and 1000"
                )
            models = sorted(account.listed_models(), key=lambda m: m.created_at, reverse=True)
            ids = [m.id for m in models]
            if q.get("after_id") in ids:
                start = ids.index(q["after_id"]) + 1
                page, has_more = models[start : start + limit], start + limit < len(models)
            elif q.get("before_id") in ids:
                end = ids.index(q["before_id"])
                page, has_more = models[max(0, end - limit) : end], end - limit > 0
            else:
                page, has_more = models[:limit], limit < len(models)
            return web.json_response(
                {
                    "data": [model_info(m) for m in page],
                    "has_more": has_more,
                    "first_id": page[0].id if page else None,
                    "last_id": page[-1].id if page else None,
                },
                headers=self.common_headers(request),
            )

        return await self.answer(request, inner)

    async def _retrieve(self, request: web.Request) -> web.StreamResponse:
        async def inner() -> web.StreamResponse:
            account = self.authenticate(request, "retrieve")
            wanted = request.match_info["id"]
            spec = account.model(wanted)
            if spec is None or not spec.listed:
                raise self.error(request, 404, "not_found_error", f"model: {wanted}")
            return web.json_response(model_info(spec), headers=self.common_headers(request))

        return await self.answer(request, inner)

    # messages ---------------------------------------------------------------------
    def _resolve(
        self, request: web.Request, account: Account, op: str
    ) -> tuple[dict[str, Any], ModelSpec]:
        body = self.body_of(request)
        if not isinstance(body, dict):
            raise self.error(
                request, 400, "invalid_request_error", "Request body is not valid JSON."
            )
        model = body.get("model")
        if not model:
            raise self.error(request, 400, "invalid_request_error", "model: Field required")
        spec = account.model(model)
        if spec is None or spec.lifecycle == "retired":
            raise self.error(request, 404, "not_found_error", f"model: {model}")
        f = account.find_failure(
            ("model_not_found", "model_not_found_400", "retired"),
            op=op,
            route=request[REQ_ROUTE],
            spec=spec,
        )
        if f is not None:
            raise self.failure(request, f, model, None)
        return body, spec

    def _validate(
        self, request: web.Request, body: dict[str, Any], spec: ModelSpec, *, needs_max: bool
    ) -> None:
        def bad(message: str) -> ApiError:
            return self.error(request, 400, "invalid_request_error", message)

        max_tokens = body.get("max_tokens")
        if needs_max and max_tokens is None:
            raise bad("max_tokens: Field required")
        if isinstance(max_tokens, int) and max_tokens < 1:
            raise bad("max_tokens: Input should be greater than or equal to 1")
        if (
            isinstance(max_tokens, int)
            and spec.max_tokens is not None
            and max_tokens > spec.max_tokens
        ):
            raise bad(
                f"max_tokens: {max_tokens} > {spec.max_tokens}, which is the maximum allowed number "
                f"of output tokens for {spec.id}"
            )
        if not body.get("messages"):
            raise bad(
                "messages: Field required"
                if "messages" not in body
                else "messages: at least one message is required"
            )

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        async def inner() -> web.StreamResponse:
            route = request[REQ_ROUTE]
            account = self.authenticate(request, "messages")
            body, spec = self._resolve(request, account, "messages")
            limits = account.limits(self.provider, spec)
            f = account.find_failure(
                ("no_quota", "rate_limited", "server_error", "overloaded"),
                op="messages",
                route=route,
                spec=spec,
            )
            if f is not None:
                raise self.failure(request, f, spec.id, limits)
            rl = anthropic_limit_headers(limits)
            try:
                self._validate(request, body, spec, needs_max=True)
            except ApiError as exc:
                exc.headers.update(rl)
                raise
            prompt = estimate_tokens(body.get("messages"))
            message = {
                "id": "msg_01" + "".join(secrets.choice(_B58) for _ in range(22)),
                "type": "message",
                "role": "assistant",
                "model": spec.id,
                "content": [{"type": "text", "text": REPLY}],
                "stop_reason": "end_turn",
                "stop_sequence": None,
                "usage": {
                    "input_tokens": prompt,
                    "output_tokens": 1,
                    "cache_creation_input_tokens": 0,
                    "cache_read_input_tokens": 0,
                    "service_tier": "standard",
                },
            }
            return web.json_response(message, headers={**self.common_headers(request), **rl})

        return await self.answer(request, inner)

    async def _count_tokens(self, request: web.Request) -> web.StreamResponse:
        """Free and model-specific: auth and model are checked, quota is not."""

        async def inner() -> web.StreamResponse:
            account = self.authenticate(request, "count_tokens")
            body, spec = self._resolve(request, account, "count_tokens")
            self._validate(request, body, spec, needs_max=False)
            return web.json_response(
                {"input_tokens": estimate_tokens(body.get("messages"))},
                headers=self.common_headers(request),
            )

        return await self.answer(request, inner)
