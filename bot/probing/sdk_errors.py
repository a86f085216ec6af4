"""SDK exceptions become values here: one translation per provider, from the error's fields.

Each function turns an exception the openai or anthropic SDK raised (or httpx's, under
it) into a `Call` (bot.probing.observed): status, type, code, param, message and a few headers,
as the SDK parsed them — never `str(exc)`. The SDKs are imported inside the functions, so
importing this module costs nothing until a key of theirs has been probed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx2

from bot.probing.observed import Call, kept_headers, retry_after_s, short

if TYPE_CHECKING:
    import anthropic
    import openai


def _transport(
    exc: Exception, request: str, timeout: type[Exception], connection: type[Exception]
) -> Call | None:
    """A timeout or a connection failure (the SDK's own class or httpx's), else None.

    The SDK's timeout class subclasses its connection class, so timeouts are tested first.
    """
    if isinstance(exc, timeout | httpx2.TimeoutException):
        return Call(request=request, outcome="timeout")
    if isinstance(exc, connection | httpx2.HTTPError):
        cause = exc.__cause__ or exc
        return Call(request=request, outcome="connection", message=short(str(cause), 120))
    return None


def _answered(
    exc: openai.APIStatusError | openai.APIResponseValidationError | anthropic.APIStatusError,
    request: str,
    *,
    error_code: str | None,
    message: str,
    param: str | None = None,
) -> Call:
    """An error the server answered: its status, type and fields, retry-after, kept headers."""
    headers = exc.response.headers
    return Call(
        request=request,
        outcome="error",
        status=exc.status_code,
        error_type=exc.type,
        error_code=error_code,
        param=param,
        message=message,
        retry_after=retry_after_s(headers),
        headers=kept_headers(headers),
    )


def translate_openai(exc: Exception, request: str) -> Call:
    """openai SDK exception -> Call, from its fields (status_code, type, code, param, body)."""
    import openai

    transport = _transport(exc, request, openai.APITimeoutError, openai.APIConnectionError)
    if transport is not None:
        return transport
    if isinstance(exc, openai.APIStatusError | openai.APIResponseValidationError):
        body = exc.body if isinstance(exc.body, dict) else {}
        message = body.get("message") if isinstance(body.get("message"), str) else None
        return _answered(
            exc, request, error_code=exc.code, param=exc.param, message=message or exc.message
        )
    return Call(request=request, outcome="error", message=short(type(exc).__name__, 80))


def translate_anthropic(exc: Exception, request: str) -> Call:
    """anthropic SDK exception -> Call, from its fields (status_code, type, error_code, api_message)."""
    import anthropic

    transport = _transport(exc, request, anthropic.APITimeoutError, anthropic.APIConnectionError)
    if transport is not None:
        return transport
    if isinstance(exc, anthropic.APIStatusError):
        return _answered(
            exc, request, error_code=exc.error_code, message=exc.api_message or exc.message
        )
    if isinstance(exc, anthropic.APIResponseValidationError):
        return Call(request=request, outcome="error", status=exc.status_code, message=exc.message)
    return Call(request=request, outcome="error", message=short(type(exc).__name__, 80))
