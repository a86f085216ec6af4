"""Per-provider SDK calls; their exceptions become values in one place, bot.probing.sdk_errors.

An Adapter wraps one key's official async client (AsyncOpenAI for OpenAI and
OpenAI-compatible gateways, AsyncAzureOpenAI, AsyncAnthropic) with retries off and every
call bounded by the key's deadline (the SDK timeout *and* asyncio). Each call returns a
`Call` (bot.probing.observed): what was asked, and either success or the error's fields as the
SDK parsed them (status, type, code, param, message, a few headers) — never `str(exc)`.

The SDKs are imported when a key of theirs is first probed: importing both costs about
1.5 s, which every CLI command (explain, deprecations) would otherwise pay.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import httpx2

from bot.keys import Key
from bot.probing.observed import (
    RESPONSES_FLOOR,
    Call,
    ListedModel,
    Listing,
    epoch_date,
    is_reasoning,
    iso_date,
    kept_headers,
)
from bot.probing.sdk_errors import translate_anthropic, translate_openai
from bot.probing.sdks import load_sdk

if TYPE_CHECKING:
    import anthropic
    import openai


def _path(base_url: str | None, default: str, tail: str) -> str:
    prefix = urlparse(base_url).path.rstrip("/") if base_url else default
    return f"{prefix}/{tail.lstrip('/')}"


Observer = Callable[[Call], None]


class Adapter(ABC):
    """One key's client; every call ends by its deadline and returns a Call, never raises.

    `observe`, when set, sees every Call as it comes back (the prober's gate uses it to
    pause a base URL that answered 429 with a Retry-After).
    """

    def __init__(self, key: Key, http: httpx2.AsyncClient, deadline: float) -> None:
        self.key = key
        self.http = http
        self.deadline = deadline
        self.observe: Observer | None = None

    def sdk_options(self) -> dict[str, Any]:
        """What every SDK client gets: the key, no retries, our deadline and HTTP client."""
        return {
            "api_key": self.key.secret.get_secret_value(),
            "max_retries": 0,  # the SDKs retry 429s by default, which hides the answer
            "timeout": self.remaining(),
            "http_client": self.http,
        }

    def remaining(self) -> float:
        """Seconds left before this key's deadline (a small floor so a call can still fail fast)."""
        return max(0.05, self.deadline - asyncio.get_running_loop().time())

    async def _run(self, request: str, send: Callable[[], Awaitable[Any]]) -> tuple[Call, Any]:
        call, value = await self._call(request, send)
        if self.observe is not None:
            self.observe(call)
        return call, value

    async def _call(self, request: str, send: Callable[[], Awaitable[Any]]) -> tuple[Call, Any]:
        try:
            async with asyncio.timeout_at(self.deadline):
                value = await send()
        except TimeoutError:
            return Call(request=request, outcome="timeout"), None
        except self.sdk_errors() as exc:
            return self.translate(exc, request), None
        headers = getattr(value, "headers", None)
        kept = kept_headers(headers) if headers is not None else {}
        return Call(request=request, outcome="ok", status=200, headers=kept), value

    @abstractmethod
    def sdk_errors(self) -> tuple[type[Exception], ...]:
        """The exceptions this SDK raises for a failed call (translated, never raised)."""

    @abstractmethod
    def translate(self, exc: Exception, request: str) -> Call:
        """Turn this SDK's exception into a Call (the one place per provider)."""

    @abstractmethod
    async def list_models(self) -> Listing:
        """The key's models list (free)."""

    async def retrieve(self, model: str) -> tuple[Call, ListedModel | None]:
        """One model by id or alias (free); only Anthropic needs it (aliases)."""
        raise NotImplementedError

    @abstractmethod
    async def probe(self, model: str, endpoint: str, *, real: bool, stream: bool) -> Call | None:
        """The free invalid-parameter request (real=False) or the smallest real one; None: skipped."""


# -- OpenAI and OpenAI-compatible gateways, Azure -----------------------------------------------


class OpenAIAdapter(Adapter):
    """OpenAI itself, and gateways that speak its API (whose models list may be public)."""

    default_prefix = "/v1"

    def __init__(self, key: Key, http: httpx2.AsyncClient, deadline: float) -> None:
        super().__init__(key, http, deadline)
        load_sdk("openai")
        self.client = self._client()

    def _client(self) -> openai.AsyncOpenAI:
        import openai

        return openai.AsyncOpenAI(
            base_url=self.key.base_url,
            organization=self.key.organization,
            project=self.key.project,
            **self.sdk_options(),
        )

    def sdk_errors(self) -> tuple[type[Exception], ...]:
        import openai

        return (openai.OpenAIError, httpx2.HTTPError)

    def translate(self, exc: Exception, request: str) -> Call:
        return translate_openai(exc, request)

    def path(self, tail: str) -> str:
        """The request path shown in evidence."""
        return _path(self.key.base_url, self.default_prefix, tail)

    def listed(self, raw: Any) -> ListedModel:
        """A models-list entry with OpenAI's live shutdown_date."""
        shutdown = iso_date(getattr(raw, "shutdown_date", None))
        return ListedModel(id=str(raw.id), shutdown=shutdown)

    async def list_models(self) -> Listing:
        async def send() -> list[Any]:
            page = await self.client.models.list(timeout=self.remaining())
            return [m async for m in page]

        call, raw = await self._run(f"GET {self.path('models')}", send)
        models = [self.listed(m) for m in raw or ()]
        gateway = self.key.provider == "openai-compatible"
        note = "a gateway's models list may be public, so listing proves nothing about the key"
        return Listing(
            call=call, models=models, proves_auth=not gateway, note=note if gateway else None
        )

    def _request(self, model: str, endpoint: str, real: bool) -> tuple[str, dict[str, Any]] | None:
        reasoning = is_reasoning(model)
        if endpoint == "chat":
            name = "max_completion_tokens" if reasoning else "max_tokens"
            n = (RESPONSES_FLOOR if reasoning else 1) if real else 0
            return name, {"messages": [{"role": "user", "content": "hi"}], name: n}
        if endpoint == "responses":
            n = RESPONSES_FLOOR if real else 0
            return "max_output_tokens", {"input": "hi", "max_output_tokens": n}
        if endpoint == "completions":
            return "max_tokens", {"prompt": "hi", "max_tokens": 1 if real else -1}
        if endpoint == "embeddings":
            return "input", {"input": "hi" if real else []}
        if endpoint == "moderations":
            return "input", {"input": "hi"}  # moderation is free of charge, so always real
        return None

    def _send(self, endpoint: str, model: str, args: dict[str, Any], stream: bool) -> Any:
        c = self.client.with_options(timeout=self.remaining())
        if endpoint == "chat":
            if stream:
                return c.chat.completions.create(model=model, stream=True, **args)
            return c.chat.completions.with_raw_response.create(model=model, **args)
        if endpoint == "responses":
            if stream:
                return c.responses.create(model=model, stream=True, **args)
            return c.responses.with_raw_response.create(model=model, **args)
        if endpoint == "completions":
            return c.completions.with_raw_response.create(model=model, **args)
        if endpoint == "embeddings":
            return c.embeddings.with_raw_response.create(model=model, **args)
        return c.moderations.with_raw_response.create(model=model, **args)

    def inference_path(self, model: str, endpoint: str) -> str:
        """Where the inference request for this endpoint goes (for evidence)."""
        tail = {"chat": "chat/completions"}.get(endpoint, endpoint)
        return self.path(tail)

    async def probe(self, model: str, endpoint: str, *, real: bool, stream: bool) -> Call | None:
        built = self._request(model, endpoint, real)
        if built is None:
            return None
        name, args = built
        stream = stream and real and endpoint in ("chat", "responses")
        shown = "[]" if args[name] == [] else args[name]
        label = f"POST {self.inference_path(model, endpoint)} {name}={shown}"
        if stream:
            label += " stream=true"

        async def send() -> Any:
            result = await self._send(endpoint, model, args, stream)
            if stream:
                headers = result.response.headers
                await result.close()
                return _Headers(headers)
            return result

        call, _ = await self._run(label, send)
        if real and endpoint == "chat" and call.error_code == "unsupported_parameter":
            # We guessed the wrong token parameter for this model: swap it once.
            other = "max_tokens" if name == "max_completion_tokens" else "max_completion_tokens"
            args[other] = args.pop(name)
            call, _ = await self._run(label.replace(name, other), send)
        return call


class _Headers:
    """Holds a streamed response's headers so _run can read them like a raw response."""

    def __init__(self, headers: Mapping[str, str]) -> None:
        self.headers = headers


class AzureAdapter(OpenAIAdapter):
    """Azure OpenAI: the "model" is a deployment name; /openai/models lists what could be deployed."""

    default_prefix = "/openai"

    def _client(self) -> openai.AsyncOpenAI:
        import openai

        return openai.AsyncAzureOpenAI(
            azure_endpoint=self.key.base_url or "",
            api_version=self.key.api_version,
            **self.sdk_options(),
        )

    def path(self, tail: str) -> str:
        return f"/openai/{tail.lstrip('/')}"

    def inference_path(self, model: str, endpoint: str) -> str:
        if endpoint == "responses":
            return "/openai/responses"
        tail = {"chat": "chat/completions"}.get(endpoint, endpoint)
        return f"/openai/deployments/{model}/{tail}"

    def listed(self, raw: Any) -> ListedModel:
        """A deployable model with Azure's lifecycle_status and deprecation.inference."""
        extra = raw.model_extra or {}
        deprecation = extra.get("deprecation") or {}
        shutdown = (
            epoch_date(deprecation.get("inference")) if isinstance(deprecation, dict) else None
        )
        lifecycle = str(extra.get("lifecycle_status") or "")
        status = (
            "deprecated" if lifecycle.startswith("deprecat") else ("active" if lifecycle else None)
        )
        return ListedModel(id=str(raw.id), shutdown=shutdown, status=status)

    async def list_models(self) -> Listing:
        listing = await super().list_models()
        note = (
            "Azure deployments cannot be listed with an API key (that needs the management "
            "plane); GET /openai/models shows what this resource could deploy"
        )
        return listing.model_copy(update={"proves_auth": True, "note": note})


# -- Anthropic -----------------------------------------------------------------------------------


class AnthropicAdapter(Adapter):
    """Anthropic: every model lives on /v1/messages; retrieve resolves aliases."""

    def __init__(self, key: Key, http: httpx2.AsyncClient, deadline: float) -> None:
        super().__init__(key, http, deadline)
        load_sdk("anthropic")
        import anthropic

        self.client: anthropic.AsyncAnthropic = anthropic.AsyncAnthropic(
            base_url=self.key.base_url, **self.sdk_options()
        )

    def sdk_errors(self) -> tuple[type[Exception], ...]:
        import anthropic

        return (anthropic.AnthropicError, httpx2.HTTPError)

    def translate(self, exc: Exception, request: str) -> Call:
        return translate_anthropic(exc, request)

    @staticmethod
    def listed(raw: Any) -> ListedModel:
        """A model with Anthropic's live lifecycle and retires_at."""
        status = getattr(raw, "lifecycle", None)
        shutdown = iso_date(getattr(raw, "retires_at", None))
        return ListedModel(id=str(raw.id), shutdown=shutdown, status=status)

    async def list_models(self) -> Listing:
        async def send() -> list[Any]:
            page = await self.client.models.list(limit=1000, timeout=self.remaining())
            return [m async for m in page]

        call, raw = await self._run("GET /v1/models", send)
        return Listing(call=call, models=[self.listed(m) for m in raw or ()])

    async def retrieve(self, model: str) -> tuple[Call, ListedModel | None]:
        async def send() -> Any:
            return await self.client.models.retrieve(model, timeout=self.remaining())

        call, raw = await self._run(f"GET /v1/models/{model}", send)
        return call, (self.listed(raw) if raw is not None else None)

    async def probe(self, model: str, endpoint: str, *, real: bool, stream: bool) -> Call | None:
        n = 1 if real else 0
        label = f"POST /v1/messages max_tokens={n}"

        async def send() -> Any:
            return await self.client.with_options(
                timeout=self.remaining()
            ).messages.with_raw_response.create(
                model=model, max_tokens=n, messages=[{"role": "user", "content": "hi"}]
            )

        call, _ = await self._run(label, send)
        return call


def adapter_for(key: Key, http: httpx2.AsyncClient, deadline: float) -> Adapter:
    """The adapter for a key's provider."""
    if key.provider == "anthropic":
        return AnthropicAdapter(key, http, deadline)
    if key.provider == "azure":
        return AzureAdapter(key, http, deadline)
    return OpenAIAdapter(key, http, deadline)


def new_http_client() -> httpx2.AsyncClient:
    """The HTTP client every adapter shares (building one costs ~40 ms of TLS set-up).

    The same pool limits and redirect policy as the SDKs' own default clients; timeouts are
    set per request by the adapters.
    """
    return httpx2.AsyncClient(
        limits=httpx2.Limits(max_connections=1000, max_keepalive_connections=100),
        follow_redirects=True,
    )
