"""What the fake providers know: accounts, model specs, failure modes, rate limits.

Also holds the HTTP plumbing the three fakes share (request recording, per-account
latency, dropped connections, start/stop in the test's loop or in a thread), so that
``openai_fake``, ``azure_fake`` and ``anthropic_fake`` only describe wire formats.

Everything here is plain data: a test builds ``Account`` objects (or dicts/YAML with the
same field names) and may change them while a server runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

from aiohttp import web

# Endpoint families a model can serve (see deprecations.md §5).
CHAT, RESPONSES, COMPLETIONS, EMBEDDINGS, MODERATIONS = (
    "chat",
    "responses",
    "completions",
    "embeddings",
    "moderations",
)
ENDPOINTS = frozenset({CHAT, RESPONSES, COMPLETIONS, EMBEDDINGS, MODERATIONS})
LIST_OPS = frozenset({"list", "retrieve"})

# kind -> stage.  Stages run in the order the real APIs check:
#   auth -> model -> quota -> params (automatic) -> verify -> success.
# "transport" (drop) is decided before anything is parsed.
FAILURE_STAGES: dict[str, str] = {
    "drop": "transport",
    "invalid_key": "auth",
    "region": "auth",
    "list_forbidden": "auth",
    "missing_scopes": "auth",
    "model_not_found": "model",
    "model_not_found_400": "model",
    "retired": "model",
    "project_blocked": "model",
    "below_tier": "model",
    "no_quota": "quota",
    "rate_limited": "quota",
    "server_error": "quota",
    "overloaded": "quota",
    "org_unverified": "verify",
    "org_unverified_stream": "verify",
}
FAILURE_ALIASES = {
    "broken": "model_not_found",
    "credit_balance": "no_quota",
    "revoked": "invalid_key",
}
# Kinds that apply to every route unless ``routes`` narrows them; the rest apply to
# inference only, except list_forbidden which applies to listing only.
_EVERYWHERE = frozenset({"drop", "invalid_key", "region", "server_error", "overloaded"})


# An account whose `latency` is HANG_S never answers within any test's deadline: the probe
# times out on its own clock. Its requests sleep on the server's closing event, so stopping
# the fake ends them at once and no test waits out the hour.
HANG_S = 3600.0


def fake_key(provider: str = "openai", tag: str = "test") -> str:
    """A short, obviously fake key, built at runtime so no key-shaped literal is committed."""
    prefix = {
        "openai": "sk-proj-",
        "gateway": "sk-gw-",
        "anthropic": "sk-ant-api03-",
        "azure": "azure-",
    }[provider]
    return f"{prefix}FAKE-{tag}"


def mask_key(key: str) -> str:
    """Mask a key the way OpenAI's 401 does: first 8 characters, stars, last 4."""
    if len(key) <= 12:
        return key
    return key[:8] + "*" * (len(key) - 12) + key[-4:]


def _base_id(model_id: str) -> str:
    base = model_id.rsplit("/", 1)[-1].lower()  # gateway ids like "openai/gpt-5"
    if base.startswith("ft:"):
        base = base[3:].split(":", 1)[0]
    return base


def default_endpoints(model_id: str) -> frozenset[str]:
    """Which endpoint families a model id serves when its spec does not say."""
    base = _base_id(model_id)
    if "embedding" in base or base.startswith(("text-search", "text-similarity")):
        return frozenset({EMBEDDINGS})
    if "moderation" in base:
        return frozenset({MODERATIONS})
    if (
        base.startswith(("gpt-3.5-turbo-instruct", "gpt-35-turbo-instruct"))
        or base in {"davinci-002", "babbage-002"}
        or base.endswith("-completions")
    ):
        return frozenset({COMPLETIONS})
    if (
        "codex" in base
        or "deep-research" in base
        or base.startswith("computer-use")
        or re.search(r"-pro(-|$)", base)
    ):
        return frozenset({RESPONSES})
    return frozenset({CHAT, RESPONSES})


def is_reasoning(model_id: str) -> bool:
    """o-series and gpt-5+ reject ``max_tokens`` on chat completions."""
    return re.match(r"^(o\d|gpt-[5-9])", _base_id(model_id)) is not None


@dataclass
class RateLimits:
    """Numbers for the rate-limit headers. ``tokens`` is TPM (OpenAI/Azure) or the
    combined token limit (Anthropic); ``input_tokens``/``output_tokens`` are Anthropic's."""

    requests: int = 500
    tokens: int = 500_000
    remaining_requests: int | None = None
    remaining_tokens: int | None = None
    reset_requests: str = "120ms"
    reset_tokens: str = "0s"
    input_tokens: int | None = None
    output_tokens: int | None = None

    @classmethod
    def coerce(cls, value: RateLimits | Mapping[str, Any] | None) -> RateLimits | None:
        if value is None or isinstance(value, RateLimits):
            return value
        return cls(**dict(value))


# Per-tier numbers the tier heuristics key on (probing.md §2.3, §3). Anthropic token
# figures are illustrative; only the requests limit is what tier inference reads.
TIERS: dict[str, dict[str, RateLimits]] = {
    "openai": {
        "free": RateLimits(3, 40_000),
        "tier1": RateLimits(500, 500_000),
        "tier2": RateLimits(5_000, 1_000_000),
        "tier3": RateLimits(5_000, 2_000_000),
        "tier4": RateLimits(10_000, 4_000_000),
        "tier5": RateLimits(15_000, 40_000_000),
    },
    "anthropic": {
        "free": RateLimits(5, 12_000, input_tokens=10_000, output_tokens=2_000),
        "tier1": RateLimits(50, 38_000, input_tokens=30_000, output_tokens=8_000),
        "tier2": RateLimits(1_000, 96_000, input_tokens=80_000, output_tokens=16_000),
        "tier3": RateLimits(2_000, 192_000, input_tokens=160_000, output_tokens=32_000),
        "tier4": RateLimits(4_000, 2_400_000, input_tokens=2_000_000, output_tokens=400_000),
        "scale": RateLimits(8_000, 4_800_000, input_tokens=4_000_000, output_tokens=800_000),
    },
}
TIERS["azure"] = {"s0": RateLimits(60, 10_000), **TIERS["openai"]}
TIERS["gateway"] = TIERS["openai"]


@dataclass
class Failure:
    """One failure mode. ``routes`` narrows where it applies: op names (``list``,
    ``retrieve``, ``chat``, ``responses``, ``completions``, ``embeddings``, ``moderations``,
    ``messages``, ``count_tokens``) or route templates (``"GET /v1/models"``). ``times``
    makes it fire only that many times. ``status``/``message``/``retry_after`` override
    the provider's default for that kind."""

    kind: str
    routes: frozenset[str] | None = None
    times: int | None = None
    status: int | None = None
    message: str | None = None
    retry_after: int | None = None
    limit_type: str = "tokens"  # rate_limited: "tokens" (TPM) or "requests" (RPM)

    def __post_init__(self) -> None:
        self.kind = FAILURE_ALIASES.get(self.kind, self.kind)
        if self.kind not in FAILURE_STAGES:
            raise ValueError(f"unknown failure kind {self.kind!r}; known: {sorted(FAILURE_STAGES)}")
        if self.routes is not None:
            self.routes = frozenset([self.routes] if isinstance(self.routes, str) else self.routes)

    @property
    def stage(self) -> str:
        return FAILURE_STAGES[self.kind]

    @classmethod
    def coerce(cls, value: Failure | str | Mapping[str, Any]) -> Failure:
        if isinstance(value, Failure):
            return value
        if isinstance(value, str):
            return cls(value)
        return cls(**dict(value))

    def applies(self, op: str, route: str) -> bool:
        if self.times is not None and self.times <= 0:
            return False
        if self.routes is not None:
            return op in self.routes or route in self.routes
        if self.kind in _EVERYWHERE:
            return True
        if self.kind == "list_forbidden":
            return op in LIST_OPS
        return op not in LIST_OPS


_consume_lock = threading.Lock()


@dataclass
class ModelSpec:
    """A model as one account sees it. Provider-specific fields are ignored by the others."""

    id: str
    endpoints: frozenset[str] | None = None  # None: default_endpoints(id)
    listed: bool = True  # appears in list/retrieve (callable either way)
    aliases: tuple[str, ...] = ()
    failures: list[Failure] = field(default_factory=list)
    rate_limits: RateLimits | None = None
    reasoning: bool | None = None  # None: is_reasoning(id)
    latency: float = 0.0
    # OpenAI / gateway
    created: int = 1_700_000_000
    owned_by: str = "system"
    shutdown_date: str | None = None
    # Anthropic
    display_name: str | None = None
    created_at: str = "2025-01-01T00:00:00Z"
    max_input_tokens: int | None = 200_000
    max_tokens: int | None = 64_000
    lifecycle: str = "active"
    deprecated_at: str | None = None
    retires_at: str | None = None
    # Azure (GET /openai/models)
    lifecycle_status: str = "generally-available"
    deprecation_inference: int | None = None
    deprecation_fine_tune: int | None = None
    capabilities: dict[str, bool] | None = None

    def __post_init__(self) -> None:
        if self.endpoints is not None:
            eps = frozenset([self.endpoints] if isinstance(self.endpoints, str) else self.endpoints)
            if not eps <= ENDPOINTS:
                raise ValueError(f"unknown endpoints {sorted(eps - ENDPOINTS)} for {self.id}")
            self.endpoints = eps
        self.aliases = tuple(self.aliases)
        self.failures = [Failure.coerce(f) for f in self.failures]
        self.rate_limits = RateLimits.coerce(self.rate_limits)

    @property
    def serves(self) -> frozenset[str]:
        return self.endpoints if self.endpoints is not None else default_endpoints(self.id)

    @property
    def rejects_max_tokens(self) -> bool:
        return self.reasoning if self.reasoning is not None else is_reasoning(self.id)

    @classmethod
    def coerce(cls, value: ModelSpec | str | Mapping[str, Any]) -> ModelSpec:
        if isinstance(value, ModelSpec):
            return value
        if isinstance(value, str):
            return cls(value)
        return cls(**dict(value))


@dataclass
class Account:
    """One fake key and everything the server should do for it."""

    key: str
    models: list[ModelSpec] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    tier: str | None = None
    rate_limits: RateLimits | None = None
    latency: float = 0.0  # seconds added to every request with this key
    organization: str = "org-FAKE0000"
    project: str | None = None
    require_organization: bool = False  # 401 unless OpenAI-Organization is sent
    deployments: dict[str, str] = field(default_factory=dict)  # Azure: name -> model id
    region: str = "eastus"  # Azure x-ms-region

    def __post_init__(self) -> None:
        self.models = [ModelSpec.coerce(m) for m in self.models]
        self.failures = [Failure.coerce(f) for f in self.failures]
        self.rate_limits = RateLimits.coerce(self.rate_limits)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, provider: str = "openai") -> Account:
        data = dict(data)
        if "key" not in data:
            data["key"] = fake_key(provider, str(data.pop("key_tag", "test")))
        data.pop("key_tag", None)
        return cls(**data)

    # models -----------------------------------------------------------------
    def model(self, model_id: str | None) -> ModelSpec | None:
        """The spec for an id or alias, listed or not."""
        if not model_id:
            return None
        for spec in self.models:
            if spec.id == model_id or model_id in spec.aliases:
                return spec
        return None

    def listed_models(self) -> list[ModelSpec]:
        return [m for m in self.models if m.listed]

    def add_model(self, model: ModelSpec | str | Mapping[str, Any]) -> ModelSpec:
        spec = ModelSpec.coerce(model)
        self.remove_model(spec.id)
        self.models.append(spec)
        return spec

    def remove_model(self, model_id: str) -> None:
        self.models = [m for m in self.models if m.id != model_id]

    # failures ---------------------------------------------------------------
    def add_failure(self, failure: Failure | str | Mapping[str, Any]) -> Failure:
        f = Failure.coerce(failure)
        self.failures.append(f)
        return f

    def clear_failures(self) -> None:
        self.failures.clear()
        for spec in self.models:
            spec.failures.clear()

    def find_failure(
        self, kinds: Iterable[str], *, op: str, route: str, spec: ModelSpec | None = None
    ) -> Failure | None:
        """The first failure of these kinds that applies (model's own first), consumed once."""
        wanted = set(kinds)
        candidates = [*(spec.failures if spec else ()), *self.failures]
        with _consume_lock:
            for f in candidates:
                if f.kind in wanted and f.applies(op, route):
                    if f.times is not None:
                        f.times -= 1
                    return f
        return None

    def limits(self, provider: str, spec: ModelSpec | None = None) -> RateLimits:
        if spec is not None and spec.rate_limits is not None:
            return spec.rate_limits
        if self.rate_limits is not None:
            return self.rate_limits
        table = TIERS.get(provider, TIERS["openai"])
        return table.get(self.tier or "", table.get("tier1", RateLimits()))


class _AnyKey:
    def __repr__(self) -> str:
        return "ANY_KEY"


ANY_KEY: Any = _AnyKey()  # count()/recorded() default: requests with any key or none


@dataclass
class RecordedRequest:
    method: str
    route: str  # template, e.g. "GET /v1/models/{id}"
    path: str
    query: dict[str, str]
    key: str | None
    headers: dict[str, str]
    body: Any
    at: float


def load_accounts(data: Mapping[str, Any]) -> dict[str, list[Account]]:
    """Parse ``{openai: [...], anthropic: [...], azure: [...], gateway: [...]}``."""
    out: dict[str, list[Account]] = {}
    for provider in ("openai", "anthropic", "azure", "gateway"):
        out[provider] = [
            Account.from_dict(a, provider=provider) for a in (data.get(provider) or ())
        ]
    return out


# ---------------------------------------------------------------------------------------
# Server plumbing shared by the three fakes
# ---------------------------------------------------------------------------------------

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Per-request state the middleware hands to the handlers.
REQ_ROUTE = web.RequestKey("fake_route", str)
REQ_KEY = web.RequestKey("fake_key", str | None)
REQ_BODY = web.RequestKey("fake_body", object)
REQ_ACCOUNT = web.RequestKey("fake_account", Account)


class ApiError(Exception):
    """Raised inside a handler to answer with a provider error body."""

    def __init__(self, status: int, body: Any, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(f"{status} {body}")
        self.status = status
        self.body = body
        self.headers = dict(headers or {})


class Lifecycle:
    """``async with`` in the test's loop, or ``start_in_thread()``/``stop()`` for sync code."""

    _thread: threading.Thread | None = None
    _loop: asyncio.AbstractEventLoop | None = None

    async def astart(self) -> Self:
        raise NotImplementedError

    async def aclose(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        return await self.astart()

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def start_in_thread(self, timeout: float = 10.0) -> Self:
        if self._thread is not None:
            raise RuntimeError("already running in a thread")
        loop = asyncio.new_event_loop()
        started = threading.Event()
        problems: list[BaseException] = []

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.astart())
            except BaseException as exc:
                problems.append(exc)
                started.set()
                loop.close()
                return
            started.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(self.aclose())
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        thread = threading.Thread(target=run, name=f"{type(self).__name__}-loop", daemon=True)
        self._thread, self._loop = thread, loop
        thread.start()
        if not started.wait(timeout):
            raise RuntimeError(f"{type(self).__name__} did not start within {timeout}s")
        if problems:
            self._thread = self._loop = None
            raise problems[0]
        return self

    def stop(self, timeout: float = 10.0) -> None:
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            raise RuntimeError("not started with start_in_thread(); use `await aclose()`")
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        self._thread = self._loop = None

    def __enter__(self) -> Self:
        return self.start_in_thread()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class FakeServer(Lifecycle):
    """An aiohttp app on 127.0.0.1, port 0, that records every request it receives."""

    provider: ClassVar[str] = "openai"

    def __init__(
        self,
        accounts: Iterable[Account | Mapping[str, Any]] = (),
        *,
        host: str = "127.0.0.1",
    ) -> None:
        self.host = host
        self.accounts: dict[str, Account] = {}
        for account in accounts:
            self.add_account(account)
        self.requests: list[RecordedRequest] = []
        self._ops: dict[str, str] = {}
        self._lock = threading.Lock()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._closing: asyncio.Event | None = None

    # accounts ---------------------------------------------------------------
    def add_account(self, account: Account | Mapping[str, Any]) -> Account:
        acct = (
            account
            if isinstance(account, Account)
            else Account.from_dict(account, provider=self.provider)
        )
        self.accounts[acct.key] = acct
        return acct

    def remove_account(self, key: str) -> Account:
        return self.accounts.pop(key)

    def account(self, key: str) -> Account:
        return self.accounts[key]

    # recording --------------------------------------------------------------
    def recorded(self, route: str | None = None, *, key: Any = ANY_KEY) -> list[RecordedRequest]:
        """Requests received, optionally for one route and/or key (``key=None``: sent
        without a key). ``route`` may be a template ("GET /v1/models/{id}"), a concrete
        request ("GET /v1/models/gpt-4o") or a bare path of either form."""
        with self._lock:
            recs = list(self.requests)
        return [r for r in recs if _route_matches(route, r) and (key is ANY_KEY or r.key == key)]

    def count(self, route: str | None = None, *, key: Any = ANY_KEY) -> int:
        """How many requests arrived for this route template and/or key."""
        return len(self.recorded(route, key=key))

    def last_body(self, route: str | None = None, *, key: Any = ANY_KEY) -> Any:
        """The parsed JSON body of the newest matching request (None if none)."""
        recs = self.recorded(route, key=key)
        return recs[-1].body if recs else None

    def reset_counts(self) -> None:
        with self._lock:
            self.requests.clear()

    # addresses --------------------------------------------------------------
    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError(f"{type(self).__name__} is not running")
        return self._port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return self.url

    # lifecycle --------------------------------------------------------------
    async def astart(self) -> Self:
        if self._runner is not None:
            raise RuntimeError(f"{type(self).__name__} is already running")
        self._closing = asyncio.Event()
        app = web.Application(middlewares=[self._middleware], client_max_size=32 * 1024 * 1024)
        for method, path, handler, op in self.routes():
            route = app.router.add_route(method, path, handler)
            canonical = route.resource.canonical if route.resource is not None else path
            self._ops[f"{method} {canonical}"] = op
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.25)
        await runner.setup()
        site = web.TCPSite(runner, self.host, 0)
        await site.start()
        self._runner = runner
        self._port = int(runner.addresses[0][1])
        return self

    async def aclose(self) -> None:
        runner, self._runner = self._runner, None
        if runner is None:
            return
        if self._closing is not None:
            self._closing.set()  # wake handlers sleeping on latency
        await runner.cleanup()

    # for subclasses ---------------------------------------------------------
    def routes(self) -> list[tuple[str, str, Handler, str]]:
        """(method, path, handler, op) for every route the fake serves."""
        raise NotImplementedError

    def key_of(self, request: web.Request) -> str | None:
        auth = request.headers.get("Authorization", "")
        return auth[7:].strip() if auth.lower().startswith("bearer ") else None

    def model_hint(self, account: Account, request: web.Request, body: Any) -> ModelSpec | None:
        """The model a request targets, for per-model latency and drops."""
        return account.model(body.get("model")) if isinstance(body, dict) else None

    # helpers for subclasses ---------------------------------------------------
    def op_of(self, request: web.Request) -> str:
        return self._ops.get(request[REQ_ROUTE], "other")

    @staticmethod
    def body_of(request: web.Request) -> Any:
        return request.get(REQ_BODY)

    async def sleep(self, seconds: float) -> None:
        closing = self._closing
        if closing is None:
            await asyncio.sleep(seconds)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(closing.wait(), seconds)

    def common_headers(self, request: web.Request) -> dict[str, str]:
        """Headers every response of this provider carries (request ids and the like)."""
        return {}

    async def answer(
        self, request: web.Request, inner: Callable[[], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        """Run a handler body, turning ``ApiError`` into the provider's JSON error."""
        try:
            return await inner()
        except ApiError as exc:
            headers = {**self.common_headers(request), **exc.headers}
            return web.json_response(exc.body, status=exc.status, headers=headers)

    @staticmethod
    async def sse(
        request: web.Request,
        events: Iterable[tuple[str | None, Any]],
        headers: Mapping[str, str],
    ) -> web.StreamResponse:
        """Stream ``(event_name, data)`` pairs as server-sent events (data "[DONE]" verbatim)."""
        resp = web.StreamResponse(
            status=200, headers={**headers, "Content-Type": "text/event-stream; charset=utf-8"}
        )
        await resp.prepare(request)
        for name, data in events:
            payload = data if isinstance(data, str) else json.dumps(data)
            prefix = f"event: {name}\n" if name else ""
            await resp.write(f"{prefix}data: {payload}\n\n".encode())
        await resp.write_eof()
        return resp

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        resource = request.match_info.route.resource
        path_t = resource.canonical if resource is not None else request.path
        route = f"{request.method} {path_t}"
        key = self.key_of(request)
        body: Any = None
        if request.can_read_body:
            raw = await request.read()
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode("utf-8", "replace")
        request[REQ_ROUTE], request[REQ_KEY], request[REQ_BODY] = route, key, body
        rec = RecordedRequest(
            method=request.method,
            route=route,
            path=request.path,
            query=dict(request.query),
            key=key,
            headers=dict(request.headers),
            body=body,
            at=time.time(),
        )
        with self._lock:
            self.requests.append(rec)
        account = self.accounts.get(key) if key else None
        if account is not None:
            spec = self.model_hint(account, request, body)
            delay = account.latency + (spec.latency if spec else 0.0)
            if delay > 0:
                await self.sleep(delay)
            op = self._ops.get(route, "other")
            if account.find_failure(("drop",), op=op, route=route, spec=spec):
                if request.transport is not None:
                    request.transport.close()
                raise web.HTTPServiceUnavailable()  # never written: the socket is gone
        return await handler(request)


def _route_matches(route: str | None, rec: RecordedRequest) -> bool:
    if route is None:
        return True
    if " " in route:
        return route in (rec.route, f"{rec.method} {rec.path}")
    return route in (rec.route.split(" ", 1)[1], rec.path)
