"""The prober: can each key use a model? Cheapest evidence first, every key at once, cached.

The ladder for one key (research/probing.md §0):

1. The key's models list (free; cached per key in Redis and single-flighted across
   processes), and for Anthropic a retrieve when the name may be an alias. Live lifecycle
   fields (OpenAI `shutdown_date`, Anthropic `lifecycle`/`retires_at`, Azure
   `lifecycle_status`/`deprecation.inference`) win over the catalog. A 403 on the list is
   not fatal, and a gateway's list (maybe public) proves nothing about the key.
2. A free invalid-parameter request on the model's endpoint (`max_tokens: 0` and kin),
   sent *concurrently* with step 1 so a cold check costs one round trip per key: its 400
   comes after auth, model access and quota, and carries the rate-limit headers.
3. With `deep`, the smallest real request (1 output token; 16 where a floor applies);
   never images or audio.

Caching: one result per (key, model, endpoint, depth) under `probe:`, single-flighted so
N identical checks anywhere make one upstream call per key. Positive results live
`cache_ttl_s.positive`, negative ones `cache_ttl_s.negative`; transient outcomes
(network, timeout, provider outage, rate limit) only TRANSIENT_TTL_S (bot.probing.lifetimes)
— long enough to coalesce a burst of identical questions, short enough that the next
person re-probes.
Redis down: everything still answers, uncached.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import AsyncGenerator, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

import structlog

from bot.cache import Cache
from bot.causes import Cause
from bot.clock import Clock
from bot.config import AppConfig
from bot.diagnosis.classify import Classifier
from bot.keys import Key
from bot.knowledge.catalog import Catalog, ModelEntry
from bot.probing.gate import Gate, Gates
from bot.probing.health import HealthLog
from bot.probing.lifetimes import listing_ttl, model_part, probe_ttl
from bot.probing.limits import limits_from
from bot.probing.observed import NOT_PROBED, Call, Listing, accepts_probe
from bot.probing.verdict import Job, Verdicts, cap
from bot.results import KeyHealth, KeyModels, ProbeResult

if TYPE_CHECKING:  # the adapters (and httpx2 under them) load with the first key probed live
    import httpx2

    from bot.probing.adapters import Adapter

log = structlog.get_logger(__name__)

SDK_IMPORT_ALLOWANCE_S = 10.0


class Prober:
    """Probes keys for models through the providers' SDKs; results cached in Redis."""

    def __init__(
        self,
        *,
        cache: Cache,
        catalog: Catalog,
        classifier: Classifier,
        config: AppConfig,
        clock: Clock,
    ) -> None:
        self.cache = cache
        self.catalog = catalog
        self.classifier = classifier
        self.config = config
        self.clock = clock
        self._http: httpx2.AsyncClient | None = None
        self._http_loop: asyncio.AbstractEventLoop | None = None
        self.health_log = HealthLog(cache, clock)
        self.verdicts = Verdicts(classifier, clock)
        self._ttl = functools.partial(probe_ttl, config.cache_ttl_s)
        self._listing_ttl = functools.partial(listing_ttl, config.cache_ttl_s)
        self.gates = Gates(config.max_concurrent_probes, max_pause_s=config.probe_timeout_s)

    # -- public -------------------------------------------------------------------------------

    async def check(
        self,
        keys: Sequence[Key],
        model: str,
        *,
        endpoint: str | None = None,
        deep: bool = False,
        refresh: bool = False,
    ) -> list[ProbeResult]:
        """Probe every key for a model at once; the results in the keys' order."""
        results: dict[int, ProbeResult] = {}
        each = self.check_each(keys, model, endpoint=endpoint, deep=deep, refresh=refresh)
        async for index, result in each:
            results[index] = result
        return [results[i] for i in range(len(keys))]

    async def check_each(
        self,
        keys: Sequence[Key],
        model: str,
        *,
        endpoint: str | None = None,
        deep: bool = False,
        refresh: bool = False,
    ) -> AsyncGenerator[tuple[int, ProbeResult], None]:
        """Each key's (index, result) as soon as that key is done, cached ones first.

        The cache is read for every key at once before any SDK is imported or client built,
        so a fully cached answer needs neither; an SDK is imported only by a process that
        probes a key of its own (not one that waits for another process's flight). Every
        key is probed at once (within its base URL's gate); one key's failure never fails
        the others. Closing the iterator early cancels the probes still running.
        """
        eps = [self.endpoint_for(k, model, endpoint) for k in keys]
        names = [self._probe_name(k, model, ep, deep) for k, ep in zip(keys, eps, strict=True)]
        hits = {} if refresh else await self._cached(names)
        todo = [i for i in range(len(keys)) if i not in hits]

        async def one(i: int) -> tuple[int, ProbeResult]:
            return i, await self._check_key(keys[i], model, eps[i], names[i], deep, refresh)

        tasks = [asyncio.ensure_future(one(i)) for i in todo]
        try:
            for index in sorted(hits):
                yield index, hits[index]
            for done in asyncio.as_completed(tasks):
                yield await done
        finally:
            for task in tasks:
                task.cancel()

    async def models(self, keys: Sequence[Key], *, refresh: bool = False) -> list[KeyModels]:
        """Every key's models list, listed concurrently."""
        return list(await asyncio.gather(*(self.list_models(k, refresh=refresh) for k in keys)))

    async def list_models(self, key: Key, *, refresh: bool = False) -> KeyModels:
        """One key's models list (cached for cache_ttl_s.models_list, single-flighted)."""
        async with self.gates.for_key(key).slot():
            listing, cached = await self._listing(key, refresh)
        return self._key_models(key, listing, cached)

    async def health(self, keys: Sequence[Key]) -> list[KeyHealth]:
        """Each key's last live probe, models count and recent failures (newest first)."""
        return [await self.health_log.read(k) for k in keys]

    async def aclose(self) -> None:
        """Close the shared HTTP client."""
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    def endpoint_for(self, key: Key, model: str, endpoint: str | None) -> str:
        """The endpoint to probe: the one asked for, else the catalog's first, else chat."""
        if endpoint:
            return endpoint
        entry = self.catalog.lookup(model, key.provider)
        if entry is not None and entry.endpoints:
            return str(entry.endpoints[0])
        return "chat"

    # -- one key ------------------------------------------------------------------------------

    async def _cached(self, names: Sequence[str]) -> dict[int, ProbeResult]:
        """The results already in the cache, by index, read in one round trip."""
        hits: dict[int, ProbeResult] = {}
        for index, value in enumerate(await self.cache.get_many_json(names)):
            if value is None:
                continue
            try:
                hits[index] = ProbeResult.model_validate(value).model_copy(update={"cached": True})
            except ValueError:  # written by an older version: probe again
                log.info("probe_cache_unreadable", name=names[index])
        return hits

    async def _load_sdk(self, key: Key) -> None:
        """Import the SDK the key speaks through, once per process.

        On a worker thread: an import takes a second or more, and a loop blocked that long
        would time out the Redis calls and probes of other requests in flight.
        """
        from bot.probing.sdks import load_sdk, sdk_loaded, sdk_of

        if not sdk_loaded(sdk_of(key)):
            await asyncio.to_thread(load_sdk, sdk_of(key))

    def _probe_name(self, key: Key, model: str, ep: str, deep: bool) -> str:
        """The cache key of one key's result for a model, endpoint and depth."""
        return self.cache.key(
            "probe", key.cache_id, model_part(model), ep, "deep" if deep else "free"
        )

    async def _check_key(
        self, key: Key, model: str, ep: str, name: str, deep: bool, refresh: bool
    ) -> ProbeResult:
        """One key's result: from the cache, another caller's flight, or a probe of its own.

        The key's gate slot is taken before the single-flight lock, so a lock is only held
        while its probe runs, never while it queues behind other keys of its base URL.
        """
        gate = self.gates.for_key(key)

        async def compute() -> Any:
            return (await self._probe(key, model, ep, deep, refresh, gate)).to_json()

        try:
            async with gate.slot():
                flight = await self.cache.single_flight(
                    name, compute, self._ttl, refresh=refresh, wait_s=self._wait_s()
                )
            result = ProbeResult.model_validate(flight.value)
            cached = flight.cached
        except Exception as exc:  # a bug in one key's probe must not sink the others
            result, cached = self._crashed(key, model, ep, exc, "probe_crashed"), False
        return result.model_copy(update={"cached": cached})

    def _crashed(self, key: Key, model: str, ep: str, exc: Exception, event: str) -> ProbeResult:
        """An `unknown` result for a probe that raised, logged with its traceback."""
        log.error(event, alias=key.alias, model=model, error=type(exc).__name__, exc_info=exc)
        result = self.verdicts.result(
            key, model, ep, accessible=False, cause=Cause.UNKNOWN, step="error"
        )
        return result.model_copy(update={"evidence": f"the probe failed: {type(exc).__name__}"})

    async def _probe(
        self, key: Key, model: str, ep: str, deep: bool, refresh: bool, gate: Gate
    ) -> ProbeResult:
        """Run the ladder for one key (its caller holds a slot of the key's gate).

        `latency_ms` is this key's own provider time: from its first request to the
        verdict, so the wait for a slot, a 429 pause, another process's lock or other keys
        is not in it. It is cached with the result, so a cached answer shows the time the
        probe that filled the cache took.
        """
        await self._load_sdk(key)  # before the deadline and the clock start
        adapter = self._adapter(key, gate)
        start = time.perf_counter()
        try:
            result = await self._ladder(adapter, model, ep, deep, refresh)
        except Exception as exc:
            result = self._crashed(key, model, ep, exc, "probe_failed")
        latency = round((time.perf_counter() - start) * 1000, 2)
        result = result.model_copy(update={"latency_ms": latency})
        log.info(
            "probe_done",
            alias=key.alias,
            model=model,
            endpoint=ep,
            accessible=result.accessible,
            cause=result.cause,
            step=result.step,
            latency_ms=latency,
        )
        failure = None if result.accessible else f"{model} {result.cause}"
        await self.health_log.record_probe(key, result.accessible, failure)
        return result

    async def _ladder(
        self, adapter: Adapter, model: str, ep: str, deep: bool, refresh: bool
    ) -> ProbeResult:
        key = adapter.key
        free = adapter.probe(model, ep, real=False, stream=False)
        (listing, _), call = await asyncio.gather(self._listing(key, refresh, adapter), free)
        job = Job(adapter, model, ep, listing, listing.get(model) if listing.call.ok else None)
        job.evidence.append(listing.evidence_for(key, model, job.live))
        if key.provider == "anthropic" and job.live is None and call and accepts_probe(call, ep):
            got, job.live = await adapter.retrieve(model)  # resolves an alias to its snapshot
            resolved = f" (resolves to {job.live.id})" if job.live else ""
            job.evidence.append(got.describe() + resolved)
        entry = self.catalog.lookup(model, key.provider)
        live = job.live
        job.fields.update(
            listed=listing.has(key, model, live),
            shutdown=(live.shutdown if live else None) or (entry.shutdown if entry else None),
            status=(live.status if live else None)
            or (entry.status_on(self._today()) if entry else None),
            replacement=self._replacement(entry),
        )
        if call is None:  # no free probe for this endpoint: the list is all we have
            job.evidence.append(NOT_PROBED.get(ep, f"no free probe for the {ep} endpoint"))
            if job.fields["listed"]:
                return self.verdicts.done(job, None, "list")
            return self.verdicts.failed_from_list(job, entry)
        if not accepts_probe(call, ep):
            return self.verdicts.failed(job, call, "param-probe")

        job.fields["limits"] = limits_from(key.provider, call.headers, model)
        job.evidence.append(call.describe(brief=True) + ": access and quota OK")
        verification = entry is not None and any(g.kind == "verification" for g in entry.gating)
        if not deep:
            if verification:
                job.evidence.append(
                    "organization verification is only checked on a real request; use --deep"
                )
            return self.verdicts.done(job, None, "param-probe")
        real = await adapter.probe(model, ep, real=True, stream=verification)
        if real is None:
            job.evidence.append(NOT_PROBED.get(ep, "not tried: a real call would be billed"))
            return self.verdicts.done(job, None, "param-probe")
        if not real.ok:
            return self.verdicts.failed(job, real, "deep")
        job.fields["limits"] = (
            limits_from(key.provider, real.headers, model) or job.fields["limits"]
        )
        job.evidence.append(real.describe() + ": a real request works")
        return self.verdicts.done(job, None, "deep")

    # -- the models list ----------------------------------------------------------------------

    async def _listing(
        self, key: Key, refresh: bool, adapter: Adapter | None = None
    ) -> tuple[Listing, bool]:
        """The key's models list, cached; without `adapter`, a client is built only when the
        cache has no list. The caller holds a slot of the key's gate."""

        async def fetch(adapter: Adapter) -> Any:
            listing = await adapter.list_models()
            if listing.call.ok:
                await self.health_log.record_models(key, len(listing.models))
            return listing.model_dump(mode="json")

        async def compute() -> Any:
            if adapter is not None:
                return await fetch(adapter)
            await self._load_sdk(key)
            return await fetch(self._adapter(key, self.gates.for_key(key)))

        try:
            flight = await self.cache.single_flight(
                self.cache.key("models", key.cache_id),
                compute,
                self._listing_ttl,
                refresh=refresh,
                wait_s=self._wait_s(),
            )
        except Exception as exc:
            log.error("models_list_crashed", alias=key.alias, error=type(exc).__name__)
            call = Call(request="GET models", outcome="error", message=type(exc).__name__)
            return Listing(call=call), False
        return Listing.model_validate(flight.value), flight.cached

    def _key_models(self, key: Key, listing: Listing, cached: bool) -> KeyModels:
        cause = None
        if not listing.call.ok:
            cause, _ = self.verdicts.cause(key, "", "chat", listing.call, listing, None)
        note = listing.note
        if key.provider == "azure" and key.deployments:
            note = f"{note}. Configured deployments: {', '.join(key.deployments)}"
        return KeyModels(
            alias=key.alias,
            provider=key.provider,
            fingerprint=key.fingerprint,
            ok=listing.call.ok,
            models=listing.ids,
            shutdowns={m.id: m.shutdown for m in listing.models if m.shutdown is not None},
            cause=cause,
            evidence=cap(listing.call.describe() + f": {len(listing.models)} models"),
            cached=cached,
            note=note,
        )

    # -- plumbing -----------------------------------------------------------------------------

    def _adapter(self, key: Key, gate: Gate) -> Adapter:
        """The key's adapter on the shared HTTP client; its deadline starts now.

        Callers import the SDK first (`_load_sdk`), so the deadline is the provider's alone.
        """
        from bot.probing.adapters import adapter_for, new_http_client

        loop = asyncio.get_running_loop()
        if self._http is None or self._http_loop is not loop:
            self._http, self._http_loop = new_http_client(), loop
        deadline = loop.time() + self.config.probe_timeout_s
        adapter = adapter_for(key, self._http, deadline)
        adapter.observe = gate.observe
        return adapter

    def _replacement(self, entry: ModelEntry | None) -> str | None:
        if entry is None:
            return None
        target = self.catalog.replacement_for(
            entry.id, provider=entry.provider, today=self._today()
        )
        return target.id if target is not None else None

    def _wait_s(self) -> float:
        # How long to wait for another caller's flight: its probe, plus the SDK import it
        # may do first (a second or two, far more on a loaded machine).
        return self.config.probe_timeout_s + SDK_IMPORT_ALLOWANCE_S

    def _today(self) -> date:
        return self.clock().date()
