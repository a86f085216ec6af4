"""The Redis layer: JSON values with TTLs, single flight, dedupe claims, leader locks.

Every key lives under one prefix (`ma:` by default) and never contains a secret: keys
are identified by `Key.cache_id`, a hash of alias and fingerprint. When Redis cannot be
reached the cache turns itself off for a while, logs one warning, and every helper
keeps working without it ("uncached" mode): single flight then coalesces only within
the process, and claims/locks are granted locally.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import redis.asyncio as redis
import structlog
from redis.exceptions import LockError, RedisError

from bot.errors import CacheUnavailable

log = structlog.get_logger(__name__)

T = TypeVar("T")
JSON = Any
RETRY_AFTER_DOWN_S = 30.0


@dataclass(frozen=True)
class Flight:
    """What single_flight returns: the value and whether it came from the cache."""

    value: JSON
    cached: bool


class Cache:
    """A namespaced view of one Redis database, tolerant of Redis being down."""

    def __init__(
        self,
        client: redis.Redis | None,
        prefix: str = "ma:",
        *,
        reason: str = "",
        url: str | None = None,
        embedded: bool = False,
    ) -> None:
        self._client = client
        self.prefix = prefix
        self.url = url  # where the client points (the embedded Valkey's too), for arq
        self.embedded = embedded  # the Valkey this package starts, not the operator's Redis
        self._down_until = 0.0 if client is not None else float("inf")
        self._down_reason = reason
        self._warned = False
        self._local_flights: dict[str, asyncio.Future[JSON]] = {}
        self._local_claims: dict[str, float] = {}

    # -- construction -------------------------------------------------------------------------

    @classmethod
    async def connect(cls, url: str | None, *, prefix: str = "ma:") -> Cache:
        """Connect to REDIS_URL, or to the embedded Valkey when url is None; never raises.

        A Redis that does not answer yet is tried again later (see `ping`), so a bot started
        during a Redis outage gets its cache back when Redis returns.
        """
        is_embedded = url is None
        try:
            if url is None:
                from bot import embedded  # platformdirs and the server's start: only when used

                url = await asyncio.to_thread(embedded.ensure_running)
            client = redis.Redis.from_url(
                url, socket_connect_timeout=1.0, socket_timeout=2.0, decode_responses=True
            )
        except (CacheUnavailable, ValueError) as exc:
            cache = cls(None, prefix, reason=_describe(exc), embedded=is_embedded)
            cache._warn_once()
            return cache
        cache = cls(client, prefix, url=url, embedded=is_embedded)
        try:
            await client.ping()
        except (RedisError, OSError) as exc:
            cache._mark_down(exc)
        return cache

    async def close(self) -> None:
        """Close the connection pool."""
        if self._client is not None:
            await self._client.aclose()

    # -- state --------------------------------------------------------------------------------

    @property
    def available(self) -> bool:
        """False while Redis is known to be unreachable."""
        return self._client is not None and time.monotonic() >= self._down_until

    @property
    def status(self) -> str:
        """'redis' or 'uncached (<why>)', for output and health checks."""
        return (
            "redis" if self.available else f"uncached ({self._down_reason or 'Redis unreachable'})"
        )

    @property
    def configured(self) -> bool:
        """Whether there is a Redis to talk to at all (it may be down right now)."""
        return self._client is not None

    @property
    def kind(self) -> str:
        """'embedded' (the Valkey this package starts) or 'external' (REDIS_URL)."""
        return "embedded" if self.embedded else "external"

    @property
    def label(self) -> str:
        """Where the cache lives, for people: the embedded Valkey's socket or REDIS_URL's host."""
        if not self.available:
            return self.status
        if self.embedded:
            from bot import embedded  # only when it is the cache: it imports platformdirs

            return f"embedded Valkey at {embedded.shown(self.url or '')}"
        return f"Redis at {_without_password(self.url or '')}"

    async def ping(self) -> bool:
        """Ask Redis whether it is back, even while it is marked down; True when it answers."""
        if self._client is None:
            return False
        try:
            await self._client.ping()
        except (RedisError, OSError) as exc:
            self._down_reason = _describe(exc)
            return False
        self._down_until = 0.0
        return True

    @property
    def client(self) -> redis.Redis | None:
        """The raw client for callers that need more (arq, tests); None when uncached."""
        return self._client if self.available else None

    def key(self, *parts: str) -> str:
        """A namespaced key: prefix plus the parts joined by ':'."""
        return self.prefix + ":".join(parts)

    def _mark_down(self, exc: BaseException) -> None:
        self._down_until = time.monotonic() + RETRY_AFTER_DOWN_S
        self._down_reason = _describe(exc)
        self._warn_once()

    def _warn_once(self) -> None:
        if not self._warned:
            self._warned = True
            log.warning("cache_unavailable", reason=self._down_reason, mode="uncached")

    async def _call(self, op: Callable[[redis.Redis], Awaitable[T]]) -> T | None:
        client = self.client
        if client is None:
            return None
        try:
            return await op(client)
        except (RedisError, OSError) as exc:
            self._mark_down(exc)
            return None

    # -- values -------------------------------------------------------------------------------

    async def get_json(self, key: str) -> JSON | None:
        """The JSON value stored at key, or None (missing, or Redis down)."""
        raw = await self._call(lambda c: c.get(key))
        return json.loads(raw) if raw is not None else None

    async def get_many_json(self, keys: Sequence[str]) -> list[JSON | None]:
        """The JSON values at keys, in order, in one round trip (all None when Redis is down)."""
        if not keys:
            return []
        raw = await self._call(lambda c: c.mget(list(keys)))
        if raw is None:
            return [None] * len(keys)
        return [json.loads(r) if r is not None else None for r in raw]

    async def set_json(self, key: str, value: JSON, ttl_s: float) -> None:
        """Store a JSON value with a TTL; a TTL of 0 stores nothing."""
        if ttl_s <= 0:
            return
        data = json.dumps(value, separators=(",", ":"), default=str)
        await self._call(lambda c: c.set(key, data, px=int(ttl_s * 1000)))

    async def delete(self, *keys: str) -> None:
        """Delete keys (no error when missing or Redis is down)."""
        if keys:
            await self._call(lambda c: c.delete(*keys))

    async def incr(self, key: str, ttl_s: float) -> int | None:
        """Increment a counter that expires ttl_s after its first increment; None when uncached."""

        async def op(c: redis.Redis) -> int:
            async with c.pipeline(transaction=True) as pipe:
                pipe.incr(key)
                pipe.pexpire(key, int(ttl_s * 1000), nx=True)
                count, _ = await pipe.execute()
            return int(count)

        return await self._call(op)

    # -- single flight ------------------------------------------------------------------------

    async def single_flight(
        self,
        key: str,
        compute: Callable[[], Awaitable[JSON]],
        ttl_for: Callable[[JSON], float],
        *,
        refresh: bool = False,
        wait_s: float = 15.0,
    ) -> Flight:
        """Return the cached value at key, or compute it once across coroutines and processes.

        One caller computes; the others wait (up to wait_s) for its result. ttl_for(value)
        gives the TTL to store it with (0: do not store). With refresh=True the cached value
        is ignored and replaced. A waiter whose wait runs out computes for itself.
        """
        if not refresh:
            hit = await self.get_json(key)
            if hit is not None:
                return Flight(hit, True)
        running = self._local_flights.get(key)
        if running is not None:
            return Flight(await asyncio.shield(running), False)
        future: asyncio.Future[JSON] = asyncio.get_running_loop().create_future()
        self._local_flights[key] = future
        try:
            flight = await self._fly(key, compute, ttl_for, refresh=refresh, wait_s=wait_s)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters re-raise it themselves
            raise
        else:
            future.set_result(flight.value)
            return flight
        finally:
            self._local_flights.pop(key, None)

    async def _fly(
        self,
        key: str,
        compute: Callable[[], Awaitable[JSON]],
        ttl_for: Callable[[JSON], float],
        *,
        refresh: bool,
        wait_s: float,
    ) -> Flight:
        client = self.client
        if client is None:
            return Flight(await compute(), False)
        lock = client.lock(key + ":flight", timeout=wait_s + 5, blocking=False)
        deadline = time.monotonic() + wait_s
        delay = 0.01
        while True:
            try:
                got = await lock.acquire(token=_lock_token())
            except (RedisError, OSError) as exc:
                self._mark_down(exc)
                return Flight(await compute(), False)
            if got:
                try:
                    # The previous holder may have stored the value since our first look.
                    hit = None if refresh else await self.get_json(key)
                    if hit is not None:
                        return Flight(hit, True)
                    value = await compute()
                    await self.set_json(key, value, ttl_for(value))
                    return Flight(value, False)
                finally:
                    await self._release(lock)
            # Someone else is computing: wait for the value (not a stale one when refreshing).
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, 0.1)
            hit = await self.get_json(key)
            if hit is not None and not (refresh and await self._locked(lock)):
                return Flight(hit, True)
            if not self.available or time.monotonic() > deadline:
                return Flight(await compute(), False)
            if refresh and hit is not None:
                continue

    async def _locked(self, lock: Any) -> bool:
        try:
            return bool(await lock.locked())
        except (RedisError, OSError):
            return False

    async def _release(self, lock: Any) -> None:
        try:
            await lock.release()
        except LockError:
            log.warning("cache_lock_expired", name=str(lock.name))
        except (RedisError, OSError) as exc:
            self._mark_down(exc)

    # -- claims and locks ---------------------------------------------------------------------

    async def claim(self, key: str, ttl_s: float) -> bool:
        """Claim key once (SET NX with TTL): True for the first caller only, across replicas.

        Uncached, claims are remembered in this process only.
        """
        result = await self._call(lambda c: c.set(key, "1", nx=True, px=int(ttl_s * 1000)))
        if result is not None or self.available:
            return bool(result)
        now = time.monotonic()
        expires = self._local_claims.get(key)
        if expires is not None and expires > now:
            return False
        self._local_claims[key] = now + ttl_s
        return True

    @asynccontextmanager
    async def leader(self, name: str, ttl_s: float) -> AsyncIterator[bool]:
        """Hold the leader lock `name` for the block; yields False when another replica has it.

        Uncached, this process is always the leader.
        """
        client = self.client
        if client is None:
            yield True
            return
        lock = client.lock(self.key("leader", name), timeout=ttl_s, blocking=False)
        try:
            got = bool(await lock.acquire(token=_lock_token()))
        except (RedisError, OSError) as exc:
            self._mark_down(exc)
            yield True
            return
        try:
            yield got
        finally:
            if got:
                await self._release(lock)


def _without_password(url: str) -> str:
    """The URL with any user and password left out: redis://host:6379/0."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _describe(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:160]


def _lock_token() -> str:
    """A lock holder's token: unique, and not shaped like a key (a bare 32-hex string is)."""
    return "holder-" + uuid.uuid4().hex[:20]
