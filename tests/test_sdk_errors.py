"""SDK exceptions cross one boundary: translated to a `Call`, then given a cause by the prober's verdict.

Every openai and anthropic exception class, built as the SDK builds it, goes through the
translation the prober uses (bot/probing/sdk_errors.py) and the verdict's classification
(bot/probing/verdict.py): the exhaustiveness test of that one boundary.
"""

from __future__ import annotations

from typing import Any

import anthropic
import httpx2
import openai
import pytest
from anthropic._error_classes import ERROR_CLASSES
from pydantic import SecretStr

from bot.clock import utc_now
from bot.diagnosis.classify import Classifier
from bot.keys import Key
from bot.knowledge.catalog import Catalog
from bot.knowledge.taxonomy import Taxonomy
from bot.probing.observed import Call, Listing
from bot.probing.sdk_errors import translate_anthropic, translate_openai
from bot.probing.verdict import Verdicts
from bot.providers import Provider
from tests.test_classify import AS_OF


@pytest.fixture(scope="module")
def verdicts() -> Verdicts:
    """The prober's verdicts over the bundled knowledge, on the catalog's date."""
    classifier = Classifier(Catalog.load(), Taxonomy.load(), today=lambda: AS_OF)
    return Verdicts(classifier, utc_now)


def _key(provider: Provider) -> Key:
    return Key(alias=provider, provider=provider, secret=SecretStr("test-key-not-a-real-one-0000"))


_LISTED = Listing(call=Call(request="GET /v1/models", outcome="ok", status=200))


def cause_of(
    verdicts: Verdicts, exc: Exception, provider: Provider, model: str
) -> tuple[str, Call]:
    """What the prober concludes from an SDK exception: translated, then classified."""
    translate = translate_anthropic if provider == "anthropic" else translate_openai
    call = translate(exc, "POST /v1/test")
    cause, _ = verdicts.cause(_key(provider), model, "chat", call, _LISTED, None)
    return cause, call


_URL = "https://api.example.test/v1/chat/completions"
# Representative bodies, as each provider sends them for a status.
_OPENAI_BODIES: dict[int, dict[str, Any]] = {
    400: {
        "message": "This model's maximum context length is 128000 tokens.",
        "type": "invalid_request_error",
        "param": "messages",
        "code": "context_length_exceeded",
    },
    401: {
        "message": "Incorrect API key provided: sk-...abcd.",
        "type": "invalid_request_error",
        "param": None,
        "code": "invalid_api_key",
    },
    403: {
        "message": "Country, region, or territory not supported",
        "type": "request_forbidden",
        "param": None,
        "code": "unsupported_country_region_territory",
    },
    404: {
        "message": "The model `gpt4o` does not exist or you do not have access to it.",
        "type": "invalid_request_error",
        "param": None,
        "code": "model_not_found",
    },
    409: {
        "message": "The request conflicted with another request, please retry.",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    },
    422: {
        "message": "Unprocessable entity",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    },
    429: {
        "message": "Rate limit reached for gpt-4o in organization org-x on requests per min (RPM).",
        "type": "requests",
        "param": None,
        "code": "rate_limit_exceeded",
    },
    500: {
        "message": "The server had an error processing your request.",
        "type": "server_error",
        "param": None,
        "code": None,
    },
}
_ANTHROPIC_BODIES: dict[int, tuple[str, str]] = {
    400: ("invalid_request_error", "prompt is too long: 208310 tokens > 200000 maximum"),
    401: ("authentication_error", "invalid x-api-key"),
    402: ("billing_error", "Your credit balance is too low to access the Anthropic API."),
    403: ("permission_error", "Your API key does not have permission to use the specified resource."),
    404: ("not_found_error", "model: claude-sonnet-4-6"),
    408: ("timeout_error", "Request timed out"),
    409: ("conflict_error", "The resource was changed by another request."),
    412: ("invalid_request_error", "Precondition failed"),
    413: ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
    422: ("invalid_request_error", "Unprocessable entity"),
    429: ("rate_limit_error", "This request would exceed the rate limit for your organization."),
    431: ("invalid_request_error", "Request header fields too large"),
    499: ("api_error", "Client closed request"),
    500: ("api_error", "Internal server error"),
    501: ("api_error", "Not implemented"),
    503: ("api_error", "Service unavailable"),
    504: ("api_error", "Gateway timeout"),
    529: ("overloaded_error", "Overloaded"),
}  # fmt: skip
# Statuses whose errors are about the request's shape, not about access to a model: no cause
# in the contract fits them, so `unknown` is the honest answer.
_NOT_ACCESS = {412, 422, 431}


def _response(status: int, json: Any, headers: dict[str, str] | None = None) -> httpx2.Response:
    return httpx2.Response(
        status, request=httpx2.Request("POST", _URL), json=json, headers=headers or {}
    )


def _openai_error(cls: type[openai.APIStatusError], status: int) -> openai.APIStatusError:
    body = _OPENAI_BODIES[status]
    response = _response(status, {"error": body})
    if issubclass(cls, openai.OAuthError):
        oauth = {"error": "invalid_token", "error_description": "The access token is invalid."}
        return cls(response=_response(status, oauth), body=oauth)
    return cls(f"Error code: {status} - {body['message']}", response=response, body=body)


def _anthropic_error(
    cls: type[anthropic.APIStatusError], status: int, code: str | None = None
) -> anthropic.APIStatusError:
    kind, message = _ANTHROPIC_BODIES[status]
    error: dict[str, Any] = {"type": kind, "message": message}
    if code:
        error["details"] = {"error_code": code}
    body = {"type": "error", "error": error, "request_id": "req_test"}
    return cls(f"Error code: {status} - {body}", response=_response(status, body), body=body)


def _assert_placed(cause: str, call: Call, status: int) -> None:
    assert call.status == status
    if status in _NOT_ACCESS:
        assert cause == "unknown"
    else:
        assert cause not in ("unknown", "not_an_error")


def _statuses(base: type[Any]) -> list[tuple[type[Any], int]]:
    out = []
    stack = [base]
    while stack:
        cls = stack.pop()
        for sub in cls.__subclasses__():
            stack.append(sub)
            status = getattr(sub, "status_code", None)
            out.append((sub, status if isinstance(status, int) else 500))
    return out


@pytest.mark.parametrize(
    ("cls", "status"),
    _statuses(openai.APIStatusError),
    ids=lambda v: getattr(v, "__name__", str(v)),
)
def test_every_openai_status_error_maps_to_a_cause(
    verdicts: Verdicts, cls: type[openai.APIStatusError], status: int
) -> None:
    """Each openai status error, built as the SDK builds it, gets a cause (422: unknown)."""
    cause, call = cause_of(verdicts, _openai_error(cls, status), "openai", "gpt4o")
    _assert_placed(cause, call, status)


_ANTHROPIC_STATUS_CLASSES = sorted(
    {(cls, status) for (status, code), cls in ERROR_CLASSES.items() if code is None}
    | {(anthropic.InternalServerError, 500)},
    key=lambda t: t[1],
)


@pytest.mark.parametrize(
    ("cls", "status"), _ANTHROPIC_STATUS_CLASSES, ids=lambda v: getattr(v, "__name__", str(v))
)
def test_every_anthropic_status_error_maps_to_a_cause(
    verdicts: Verdicts, cls: type[anthropic.APIStatusError], status: int
) -> None:
    """Each anthropic status class gets a real cause; request-shape errors stay unknown."""
    cause, call = cause_of(
        verdicts, _anthropic_error(cls, status), "anthropic", "claude-sonnet-4-6"
    )
    _assert_placed(cause, call, status)


@pytest.mark.parametrize(
    ("key", "cls"), sorted(ERROR_CLASSES.items(), key=lambda kv: (kv[0][0], kv[0][1] or ""))
)
def test_every_anthropic_error_code_class_is_handled(
    verdicts: Verdicts, key: tuple[int, str | None], cls: type[anthropic.APIStatusError]
) -> None:
    """Each (status, error_code) class yields a cause; billing and scope codes are read."""
    status, code = key
    exc = _anthropic_error(cls, status, code)
    cause, _ = cause_of(verdicts, exc, "anthropic", "claude-sonnet-4-6")
    assert cause in verdicts.classifier.taxonomy.ids()
    expected = {
        "contract_spend_limit_reached": "insufficient_quota",
        "enforced_spend_limit_reached": "insufficient_quota",
        "linked_organization_spend_limit_reached": "insufficient_quota",
        "api_key_scope_missing": "missing_scope",
    }
    if code in expected:
        assert cause == expected[code]
    if status >= 500:
        assert cause == "provider_outage"


def test_fields_win_over_the_exception_text(verdicts: Verdicts) -> None:
    """The exception's code decides, even when its text reads like a rate limit."""
    body = {
        "message": "Rate limit reached",
        "type": "insufficient_quota",
        "code": "insufficient_quota",
    }
    exc = openai.RateLimitError(
        "Error code: 429 - Rate limit reached", response=_response(429, {"error": body}), body=body
    )
    assert cause_of(verdicts, exc, "openai", "gpt-4o")[0] == "insufficient_quota"


def test_retry_after_header_of_an_exception_is_read(verdicts: Verdicts) -> None:
    """A bare 429 exception with Retry-After is a rate limit; without it, quota."""
    body = {"message": "Too many requests", "type": None, "code": None}
    with_header = openai.RateLimitError(
        "Error code: 429", response=_response(429, {"error": body}, {"retry-after": "3"}), body=body
    )
    without = openai.RateLimitError(
        "Error code: 429", response=_response(429, {"error": body}), body=body
    )
    assert cause_of(verdicts, with_header, "openai", "gpt-4o")[0] == "rate_limit"
    assert cause_of(verdicts, without, "openai", "gpt-4o")[0] == "insufficient_quota"


@pytest.mark.parametrize("sdk", [openai, anthropic])
def test_connection_and_timeout_errors_are_network(verdicts: Verdicts, sdk: Any) -> None:
    """APIConnectionError is a failed connection, APITimeoutError a timeout: both network."""
    request = httpx2.Request("POST", _URL)
    provider: Provider = "anthropic" if sdk is anthropic else "openai"
    conn, conn_call = cause_of(verdicts, sdk.APIConnectionError(request=request), provider, "m-1")
    timeout, timeout_call = cause_of(
        verdicts, sdk.APITimeoutError(request=request), provider, "m-1"
    )
    assert (conn, conn_call.outcome) == ("network", "connection")
    assert (timeout, timeout_call.outcome) == ("network", "timeout")
