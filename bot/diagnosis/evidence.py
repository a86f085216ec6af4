"""Pull the facts of an API error out of pasted text: status, type, code, message, model.

Pastes come as Python tracebacks, SDK exception reprs, JSON or Python-dict bodies, curl
output, Node SDK errors, Slack-escaped text with code fences, or all of these mixed with
chatter. bot/diagnosis/paste.py cuts the paste down and finds the bodies in it; this module reads the
fields. Everything here is linear: patterns have bounded repeats and no nested quantifiers,
and they only ever see the head and tail of a huge paste.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.diagnosis.paste import MAX_NESTING, normalise, objects

ENDPOINT_PATHS: tuple[tuple[str, str], ...] = (
    ("chat/completions", "chat"),
    ("chatcompletions_create", "chat"),
    ("chat.completions.create", "chat"),
    ("chatcompletion", "chat"),
    ("/responses", "responses"),
    ("responses.create", "responses"),
    ("/embeddings", "embeddings"),
    ("embeddings_create", "embeddings"),
    ("embeddings.create", "embeddings"),
    ("/images/", "images"),
    ("/audio/", "audio"),
    ("/moderations", "moderations"),
    ("/completions", "completions"),
    ("completions.create", "completions"),
)

_EXCEPTION_STATUS: dict[str, int] = {
    "BadRequestError": 400,
    "InvalidRequestError": 400,
    "AuthenticationError": 401,
    "PermissionDeniedError": 403,
    "NotFoundError": 404,
    "ConflictError": 409,
    "UnprocessableEntityError": 422,
    "RateLimitError": 429,
    "InternalServerError": 500,
    "ServiceUnavailableError": 503,
    "OverloadedError": 529,
}
NETWORK_EXCEPTIONS: frozenset[str] = frozenset(
    {"APIConnectionError", "APITimeoutError", "ConnectError", "ConnectTimeout", "ReadTimeout"}
)
LOCAL_EXCEPTIONS: frozenset[str] = frozenset({"APIRemovedInV1"})

_ENDPOINT_HINTS: tuple[tuple[str, str], ...] = (
    ("only supported in v1/responses", "responses"),
    ("did you mean to use v1/chat/completions", "chat"),
    ("did you mean to use v1/completions", "completions"),
    ("is an embedding model", "embeddings"),
    ("use the /embeddings endpoint", "embeddings"),
)
_NAME_FAMILIES: tuple[tuple[str, str], ...] = (
    ("embedding", "embeddings"),
    ("whisper", "audio"),
    ("transcribe", "audio"),
    ("tts", "audio"),
    ("dall-e", "images"),
    ("image", "images"),
    ("moderation", "moderations"),
    ("instruct", "completions"),
    ("davinci", "completions"),
    ("babbage", "completions"),
)
# SDK- and HTTP-shaped status lines: on their own they show that an API answered with an error.
_STRONG_STATUS: tuple[re.Pattern[str], ...] = (
    re.compile(r"\bError code: (\d{3})\b"),
    re.compile(r"\bHTTP/\d(?:\.\d)? (\d{3})\b"),
    re.compile(r"\bHTTP code (\d{3}) from API\b"),
    re.compile(r"\bAPI Error:? \(?(\d{3})\b", re.IGNORECASE),
    re.compile(r"\b[A-Z][A-Za-z]{0,40}Error:? \[?(\d{3})\b"),
    re.compile(r"\bError:? (\d{3}) [A-Z{\[]"),
)
# Looser mentions of a status: they fill in the status, but prove nothing by themselves.
_WEAK_STATUS: tuple[re.Pattern[str], ...] = (
    re.compile(r"\bHTTP (\d{3})\b"),
    re.compile(
        r"""\b(?:status|statusCode|status_code|Status Code|status code)["']?\s{0,4}[:=]?\s{0,4}["']?(\d{3})\b"""
    ),
    re.compile(r"^\s{0,8}(\d{3}) [A-Z{]", re.MULTILINE),
    re.compile(r"\bstatus code (\d{3})\b", re.IGNORECASE),
)
_EXCEPTION = re.compile(
    r"\b((?:API)?[A-Z][A-Za-z]{0,40}Error|APIRemovedInV1|ConnectTimeout|ReadTimeout|DeploymentNotFound)\b"
)
_KEY_VALUE = re.compile(
    r"""\b(?:error_)?(code|type)\\?["']?\s{0,4}[:=]\s{0,4}\\?["']?([A-Za-z_][A-Za-z0-9_.]{1,60})"""
)
_MODEL_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"""\bthe model:? [`'"]([^`'"\s]{1,120})[`'"]""", re.IGNORECASE),
    re.compile(
        r"""\bthe model:?\s{1,4}([A-Za-z0-9][^`'"\s]{0,119})\s{1,4}does not exist""", re.IGNORECASE
    ),
    re.compile(r"""\bdoes not have access to model:? [`'"]?([^`'"\s,]{1,120})""", re.IGNORECASE),
    re.compile(r"""\bmodel [`'"]([^`'"\s]{1,120})[`'"] (?:is not|does not)"""),
    re.compile(
        r"""(?:message\\?["']\s{0,4}:\s{0,4}\\?["']|not_found_error\W{1,12}|^|\n)model:\s{1,16}([A-Za-z0-9][^"'`\s\\,}]{0,119})"""
    ),
    re.compile(r"""Invalid model name passed in model=([^\s.'"`]{1,120})"""),
    re.compile(r"""Unavailable model: ([^\s'"`]{1,120})"""),
    re.compile(
        r"""\bModel ([A-Za-z0-9][^\s'"`]{0,119}) (?:is not available|not found|does not exist)"""
    ),
    re.compile(r"""\bspecified model, ([A-Za-z0-9][\w.:-]{0,119})"""),
    re.compile(
        r"""\b(?:Rate limit reached|Request too large) for ([A-Za-z0-9][\w.:/-]{0,119}) in organization"""
    ),
    re.compile(r"""\brequests to ([A-Za-z0-9][\w.:-]{0,119}) for"""),
    re.compile(r"""output tokens for ([A-Za-z0-9][\w.:-]{0,119})"""),
    re.compile(r"""/deployments/([A-Za-z0-9][\w.-]{0,119})/"""),
    re.compile(
        r"""\\?["']?model(?:_name)?\\?["']?\s{0,4}[:=]\s{0,4}\\?["']([A-Za-z0-9][^"'\s\\]{0,119})\\?["']"""
    ),
    re.compile(r"""Received Model Group=([^\s\\'"]{1,120})"""),
)
# Phrases that follow the model id: the id is read backwards from the phrase, so a long run
# of id-like characters without the phrase costs nothing.
_MODEL_BEFORE: tuple[str, ...] = (" is not a valid model ID", " is an embedding model")
_TRAILING_ID = re.compile(r"""([A-Za-z0-9][^\s"'`]{0,119})$""")
_RETRY_SOON = re.compile(
    r"retry-after|try again in \d|retrying in \d|retry after (\d{1,7}) second", re.IGNORECASE
)
_PROVIDER_MARKERS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "azure",
        re.compile(
            r"azure|openai\.azure\.com|DeploymentNotFound|OperationNotSupported|S0 pricing tier|apim-request-id|subscription key|x-ms-region|api-version=",
            re.IGNORECASE,
        ),
    ),
    (
        "anthropic",
        re.compile(
            r"anthropic|not_found_error|authentication_error|overloaded_error|permission_error|x-api-key|claude\.com|\"type\":\s?\"error\"",
            re.IGNORECASE,
        ),
    ),
    ("openai-compatible", re.compile(r"openrouter|litellm|Model Group=|one-api", re.IGNORECASE)),
    (
        "openai",
        re.compile(
            r"openai|model_not_found|insufficient_quota|invalid_api_key|invalid_request_error|mismatched_organization|context_length_exceeded|rate_limit_exceeded",
            re.IGNORECASE,
        ),
    ),
)
_ANTHROPIC_MODEL_MESSAGE = re.compile(r"^\s{0,8}model:\s{1,16}(\S.{0,118}?)\s*$", re.DOTALL)
_SDK_EXCEPTION = re.compile(
    r"\b(?:openai|anthropic|litellm)(?:\.[a-z_]{1,30}){0,3}\.[A-Z][A-Za-z]{0,40}(?:Error|Exception)\b"
)
_WRAPPED_PROVIDER = re.compile(r"\b(Anthropic|Azure|OpenAI)Exception\b")
_WEAK_MODEL_PROVIDER = re.compile(
    r"\b(claude-|gpt-|o[134]-|text-embedding-|dall-e|whisper-)", re.IGNORECASE
)


@dataclass(frozen=True)
class Evidence:
    """What a paste says about an error. Every field is optional; `text` is what was scanned."""

    text: str = ""
    message: str = ""
    http_status: int | None = None
    error_type: str | None = None
    error_code: str | None = None
    param: str | None = None
    model: str | None = None
    provider: str | None = None
    endpoint_used: str | None = None
    retry_after: bool | None = None
    exception: str | None = None
    structured: bool = False  # an error body, an SDK exception or an HTTP error status was seen
    tokens: tuple[str, ...] = field(default_factory=tuple)


def _as_status(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and 100 <= value <= 599:
        return value
    if isinstance(value, str) and value.isdigit() and len(value) == 3:
        return int(value) if 100 <= int(value) <= 599 else None
    return None


def _clean(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    text = str(value).strip()
    return None if text in ("", "None", "null", "undefined") else text[:200]


@dataclass
class _Body:
    message: str = ""
    status: int | None = None
    type: str | None = None
    code: str | None = None
    param: str | None = None
    errorish: bool = False  # shaped like an error body, not any dict with a `type`


def error_fields(obj: Any) -> _Body:
    """Message, status, type, code and param of an error body in any of the providers' shapes."""
    body = _Body()
    if not isinstance(obj, Mapping):
        return body
    inner = obj.get("error")
    err: Mapping[str, Any] = inner if isinstance(inner, Mapping) else obj
    if isinstance(inner, str) and inner and not obj.get("message"):
        body.message = inner
    msg = err.get("message") or err.get("msg") or err.get("detail")
    if isinstance(msg, str):
        body.message = msg
    elif isinstance(msg, Mapping):
        body.message = json.dumps(msg)
    raw_type = err.get("type")
    body.type = None if raw_type == "error" else _clean(raw_type)
    code = err.get("code")
    body.status = _as_status(code) or _as_status(err.get("status")) or _as_status(obj.get("status"))
    body.code = None if _as_status(code) else _clean(code)
    details = err.get("details")
    if body.code is None and isinstance(details, Mapping):
        body.code = _clean(details.get("error_code"))
    body.param = _clean(err.get("param"))
    status_name = _clean(err.get("status"))
    if body.code is None and status_name and not status_name.isdigit():
        body.code = status_name
    body.errorish = "error" in obj or bool(body.message and (body.type or body.code or body.status))
    return body


def _body_in(text: str, depth: int = 0) -> _Body | None:
    """The most specific error body in text; an embedded body in its message wins."""
    best: _Body | None = None
    for _span, obj in objects(text):
        body = error_fields(obj)
        if not body.errorish or not (body.message or body.type or body.code):
            continue
        if depth < MAX_NESTING and "{" in body.message:
            nested = _body_in(body.message, depth + 1)
            if nested is not None:
                nested.status = nested.status or body.status
                body = nested
        if best is None or (body.code and not best.code) or (body.type and not best.type):
            best = body
            if best.code and best.type and best.message:
                break
    return best


def _status(text: str, patterns: tuple[re.Pattern[str], ...]) -> int | None:
    for pattern in patterns:
        for match in pattern.finditer(text):
            value = int(match.group(1))
            if 400 <= value <= 599:
                return value
    return None


def _exception(text: str) -> str | None:
    """The most telling SDK exception name in text (network and local ones first)."""
    names = {m.group(1) for m in _EXCEPTION.finditer(text)}
    for name in (*sorted(NETWORK_EXCEPTIONS), *sorted(LOCAL_EXCEPTIONS)):
        if name in names:
            return name
    for name in _EXCEPTION_STATUS:
        if name in names:
            return name
    return None


def _model(text: str) -> str | None:
    for phrase in _MODEL_BEFORE:
        at = text.find(phrase)
        if at > 0:
            match = _TRAILING_ID.search(text[max(0, at - 120) : at])
            if match:
                return match.group(1)
    for pattern in _MODEL_PATTERNS:
        for match in pattern.finditer(text):
            value = match.group(1).strip().rstrip(".,;:)]}'\"`")
            if value and value.lower() not in ("none", "null", "undefined", "the", "model"):
                return value
    return None


def _provider(text: str) -> str | None:
    wrapped = _WRAPPED_PROVIDER.search(text)
    if wrapped:
        return {"Anthropic": "anthropic", "Azure": "azure", "OpenAI": "openai"}[wrapped.group(1)]
    for name, pattern in _PROVIDER_MARKERS:
        if pattern.search(text):
            return name
    return None


def endpoint_in(text: str) -> str | None:
    """The API endpoint a request went to, from URLs, Azure operation names or SDK calls."""
    lowered = text.lower()
    for needle, endpoint in ENDPOINT_PATHS:
        if needle in lowered:
            return endpoint
    return None


def endpoint_hint(text: str, model: str | None, used: str | None) -> str | None:
    """The endpoint a wrong-endpoint error points to: from its wording, else the model's name."""
    lowered = text.lower()
    for needle, endpoint in _ENDPOINT_HINTS:
        if needle in lowered:
            return endpoint
    if model:
        name = model.lower()
        for needle, endpoint in _NAME_FAMILIES:
            if needle in name:
                return endpoint
        return "chat" if used != "chat" else None
    return None


def _retry_after(text: str) -> bool | None:
    """True for a short wait hint, False for a wait of an hour or more, None without a hint."""
    match = _RETRY_SOON.search(text)
    if match is None:
        return None
    seconds = match.group(1)
    return seconds is None or int(seconds) < 3600


def _key_values(text: str) -> tuple[str | None, str | None]:
    """`code: x` / `type=x` pairs outside of parseable bodies (Go maps, JS objects, logs)."""
    code = kind = None
    for match in _KEY_VALUE.finditer(text):
        key, value = match.group(1), match.group(2)
        if value in ("None", "null", "undefined", "error") or value.isdigit():
            continue
        if key == "code" and code is None:
            code = value
        elif key == "type" and kind is None:
            kind = value
        if code and kind:
            break
    return code, kind


def extract(raw: str, known_tokens: re.Pattern[str] | None = None) -> Evidence:
    """Everything a paste reveals about an API error. Never raises for any str."""
    text = normalise(raw)
    body = _body_in(text) if "{" in text else None
    tokens = (
        tuple(dict.fromkeys(m.group(0) for m in known_tokens.finditer(text)))
        if known_tokens
        else ()
    )
    code, kind = _key_values(text) if body is None else (None, None)
    exception = _exception(text)
    strong_status = _status(text, _STRONG_STATUS)
    status = (body.status if body else None) or strong_status or _status(text, _WEAK_STATUS)
    if status is None and exception in _EXCEPTION_STATUS:
        status = _EXCEPTION_STATUS[exception]
    message = body.message if body else ""
    anthropic_style = _ANTHROPIC_MODEL_MESSAGE.match(message) if message else None
    model = " ".join(anthropic_style.group(1).split()) if anthropic_style else None
    model = model or (_model(message) if message else None) or _model(text)
    provider = _provider(text)
    if provider is None and model and _WEAK_MODEL_PROVIDER.match(model):
        provider = "anthropic" if model.lower().startswith("claude") else "openai"
    structured = bool(
        (body and (body.type or body.code or body.status or body.message))
        or exception
        or tokens
        or _SDK_EXCEPTION.search(text)
        or strong_status
        or (status is not None and (code or kind))
    )
    return Evidence(
        text=text,
        message=message,
        http_status=status,
        error_type=(body.type if body else None) or kind,
        error_code=(body.code if body else None) or code,
        param=body.param if body else None,
        model=model,
        provider=provider,
        endpoint_used=endpoint_in(text),
        retry_after=_retry_after(text),
        exception=exception,
        structured=structured,
        tokens=tokens,
    )
