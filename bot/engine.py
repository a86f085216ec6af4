"""The one entry point: an Engine built once with its dependencies, used by the CLI and Slack.

Everything the engine needs is passed in (settings, keys, catalog, taxonomy, cache, clock),
so tests and broadcasts can run on any date against any Redis.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncGenerator, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bot import providers, redact
from bot.cache import Cache
from bot.clock import Clock, utc_now
from bot.config import AppConfig, Env, load_app_config, load_env
from bot.diagnosis import Classifier, diagnose
from bot.errors import ModelAccessError, UsageError
from bot.keys import Key, load_keys, require_keys, select
from bot.knowledge import Catalog, Taxonomy, load_knowledge
from bot.knowledge.catalog import ENDPOINTS
from bot.log import get_logger
from bot.probing import Prober
from bot.results import (
    CheckProgress,
    CheckReport,
    Deprecation,
    Diagnosis,
    KeyHealth,
    KeyModels,
    LiveCheck,
    ModelFacts,
    ModelsReport,
    Notice,
    PendingKey,
    ProbeResult,
)

if TYPE_CHECKING:  # the broadcasts load with the first command that needs them, not `check`
    from bot.broadcasts.deprecations import Publisher
    from bot.broadcasts.inventory import ChangePoster
    from bot.broadcasts.outbox import PassReport

log = get_logger(__name__)
MAX_MODEL_ID = 200
LIVE_CHECK_SLACK_S = 5.0  # beyond the probe timeout: coalescing waits and several keys


def model_id(model: str) -> str:
    """The model named on a command line or in Slack, stripped; UsageError if it cannot be one.

    Checked before anything is built or sent, so a slip costs one line and no request.
    """
    model = model.strip()
    if not model:
        raise UsageError("name a model, e.g. gpt-4o")
    if redact.find(model, possible=True):
        # A key pasted where the model goes: never send it to a provider as a model name.
        # The log keeps the event (masked by the log processor) so an operator can follow up.
        log.warning("secret_as_model_name", model=model)
        raise UsageError(
            f"{redact.mask(model)} looks like an API key, not a model name; it was not "
            "sent anywhere. If it was shared somewhere, rotate it."
        )
    if len(model) > MAX_MODEL_ID or any(c.isspace() or not c.isprintable() for c in model):
        # Real ids (gateway paths, ft: ids, Bedrock ids, Azure deployments) are short
        # and never hold spaces: this is a paste in the wrong place, not a model.
        raise UsageError(
            f"that does not look like a model id (ids have no spaces and at most "
            f"{MAX_MODEL_ID} characters); to diagnose a pasted error use explain"
        )
    return model


@dataclass
class Engine:
    """check, models, explain, deprecations and notices over one set of keys and one cache."""

    env: Env
    config: AppConfig
    keys: list[Key]
    catalog: Catalog
    taxonomy: Taxonomy
    cache: Cache
    clock: Clock = utc_now
    classifier: Classifier = field(init=False)
    prober: Prober = field(init=False)

    def __post_init__(self) -> None:
        self.classifier = Classifier(self.catalog, self.taxonomy, today=self.today)
        self.prober = Prober(
            cache=self.cache,
            catalog=self.catalog,
            classifier=self.classifier,
            config=self.config,
            clock=self.clock,
        )

    @classmethod
    async def build(
        cls,
        *,
        keys_file: Path | None = None,
        config_file: Path | None = None,
        environ: Mapping[str, str] | None = None,
        clock: Clock = utc_now,
        cache: Cache | None = None,
        cache_prefix: str = "ma:",
        needs_keys: bool = False,
    ) -> Engine:
        """Read env, config and keys, load the knowledge, connect the cache (never fails on Redis).

        With ``needs_keys`` a missing key configuration fails before Redis is touched, so the
        user sees one line about keys rather than a cache warning first.
        """
        environ = os.environ if environ is None else environ
        env = load_env() if environ is os.environ else Env.model_validate(dict(environ))
        config = load_app_config(config_file or env.MODEL_ACCESS_CONFIG)
        keys = load_keys(keys_file or env.MODEL_ACCESS_KEYS_FILE, environ)
        if needs_keys:
            require_keys(keys)
        catalog, taxonomy = load_knowledge(config)
        if cache is None:
            cache = await Cache.connect(env.REDIS_URL, prefix=cache_prefix)
        return cls(env, config, keys, catalog, taxonomy, cache, clock)

    async def close(self) -> None:
        """Release the providers' HTTP client and the cache connection."""
        await self.prober.aclose()
        await self.cache.close()

    def today(self) -> date:
        """Today by the engine's clock (UTC)."""
        return self.clock().date()

    # -- the five questions -------------------------------------------------------------------

    def explain(self, text: str) -> Diagnosis:
        """Classify a pasted error; offline."""
        return self.classifier.explain(text)

    async def check(
        self,
        model: str,
        *,
        aliases: Sequence[str] = (),
        endpoint: str | None = None,
        deep: bool | None = None,
        refresh: bool = False,
    ) -> CheckReport:
        """Probe the selected keys for a model and diagnose the outcome."""
        progress = self.check_progress(
            model, aliases=aliases, endpoint=endpoint, deep=deep, refresh=refresh
        )
        async with aclosing(progress) as steps:
            async for step in steps:
                if step.report is not None:
                    return step.report
        raise AssertionError("a check ends with its report")

    def check_progress(
        self,
        model: str,
        *,
        aliases: Sequence[str] = (),
        endpoint: str | None = None,
        deep: bool | None = None,
        refresh: bool = False,
    ) -> AsyncGenerator[CheckProgress, None]:
        """The check as it happens: a CheckProgress as each key answers, the last with the report.

        The request is checked here, before anything runs: a bad model id, endpoint or alias
        raises UsageError at the call, not at the first step. Close the iterator (or leave
        it with `aclosing`) to cancel the probes still running.
        """
        model = model_id(model)
        if endpoint is not None and endpoint not in ENDPOINTS:
            raise UsageError(f"unknown endpoint {endpoint!r} (one of: {', '.join(ENDPOINTS)})")
        require_keys(self.keys)
        keys = select(self.keys, aliases)
        deep = self.config.deep_probe if deep is None else deep
        return self._progress(keys, model, endpoint, deep, refresh)

    async def _progress(
        self, keys: list[Key], model: str, endpoint: str | None, deep: bool, refresh: bool
    ) -> AsyncGenerator[CheckProgress, None]:
        waiting = {
            i: PendingKey(alias=k.alias, provider=k.provider, fingerprint=k.fingerprint)
            for i, k in enumerate(keys)
        }
        got: dict[int, ProbeResult] = {}
        each = self.prober.check_each(keys, model, endpoint=endpoint, deep=deep, refresh=refresh)
        async with aclosing(each) as answers:
            async for index, result in answers:
                got[index] = result
                del waiting[index]
                if waiting:
                    yield CheckProgress(
                        model=model,
                        endpoint=endpoint,
                        results=[got[i] for i in sorted(got)],
                        pending=[waiting[i] for i in sorted(waiting)],
                    )
        results = [got[i] for i in range(len(keys))]
        report = self._report(model, endpoint, deep, results)
        yield CheckProgress(
            model=model, endpoint=endpoint, results=results, pending=[], report=report
        )

    def _report(
        self, model: str, endpoint: str | None, deep: bool, results: list[ProbeResult]
    ) -> CheckReport:
        """Every key's result and the diagnosis over them."""
        diagnosis = diagnose(
            model,
            endpoint,
            results,
            catalog=self.catalog,
            taxonomy=self.taxonomy,
            classifier=self.classifier,
            today=self.today(),
        )
        return CheckReport(
            model=model,
            endpoint=endpoint,
            results=results,
            diagnosis=diagnosis,
            deep=deep,
            cache=self.cache.status,
        )

    async def models(self, *, aliases: Sequence[str] = (), refresh: bool = False) -> ModelsReport:
        """What each selected key can list."""
        require_keys(self.keys)
        keys = select(self.keys, aliases)
        listed = await self.prober.models(keys, refresh=refresh)
        return ModelsReport(keys=listed, cache=self.cache.status)

    def keys_for(self, provider: str | None) -> list[Key]:
        """The keys that can check an error from `provider`: its family's; all when it is unknown."""
        family = providers.speaks_for(provider)
        return [k for k in self.keys if family is None or k.provider in family]

    async def live_check(self, model: str, provider: str | None) -> LiveCheck:
        """Check the model an error names with the keys that can speak for the error's provider.

        Never raises for what a user cannot fix from Slack: no keys, no key of that provider,
        a model id that cannot be one, or no answer in time come back as a note.
        """
        try:
            model = model_id(model)
        except UsageError as exc:
            return LiveCheck(model=redact.mask(model)[:MAX_MODEL_ID], note=str(exc))
        if not self.keys:
            return LiveCheck(model=model, note="no provider keys are configured")
        keys = self.keys_for(provider)
        if not keys:
            return LiveCheck(model=model, note=f"we hold no {provider} key to probe with")
        timeout = self.config.probe_timeout_s + LIVE_CHECK_SLACK_S
        try:
            report = await asyncio.wait_for(
                self.check(model, aliases=[k.alias for k in keys]), timeout
            )
        except TimeoutError:
            log.warning("live_check_timeout", model=model, timeout_s=timeout)
            return LiveCheck(model=model, note=f"no answer within {timeout:.0f} s")
        except ModelAccessError as exc:
            return LiveCheck(model=model, note=str(exc))
        return LiveCheck(model=model, report=report)

    def model_facts(self, model: str, provider: str | None = None) -> ModelFacts:
        """What the catalog says about a model today: status, shutdown date and replacement."""
        entry = self.catalog.lookup(model, provider)
        if entry is None:
            return ModelFacts(model=model)
        return ModelFacts(
            model=entry.id,
            status=entry.status_on(self.today()),
            shutdown=entry.shutdown,
            replacement=entry.replacement,
        )

    async def deprecations(self, within_days: int | None = None) -> list[Deprecation]:
        """The deprecation calendar, soonest shutdown first; the providers' own dates win."""
        from bot.broadcasts import calendar

        if within_days is not None and within_days < 0:
            raise UsageError("--within takes a number of days, 0 or more")
        live = await self.live_shutdowns()
        return calendar.calendar(self.catalog, self.today(), within_days, live)

    async def notices(self, day: date | None = None) -> list[Notice]:
        """The deprecation notices due on a day (default today)."""
        from bot.broadcasts import calendar

        live = await self.live_shutdowns()
        return calendar.due_notices(
            self.catalog, day or self.today(), self.config.notice_days, live
        )

    async def live_shutdowns(self) -> dict[tuple[str, str], date]:
        """Shutdown dates the keys' own models lists gave at the last inventory pass.

        Empty until the inventory has run (or without Redis): the catalog's dates stand.
        """
        from bot.broadcasts import inventory

        return inventory.live_dates(await inventory.load_snapshots(self.cache, self.keys))

    # -- the broadcasts' passes (run by the worker) ---------------------------------------------

    async def deprecation_pass(
        self, publisher: Publisher, *, now: datetime | None = None, catalog: Catalog | None = None
    ) -> PassReport:
        """Post the deprecation notices due by `now` (default: the engine's clock), each once."""
        from bot.broadcasts import DeprecationPass

        run = DeprecationPass(
            cache=self.cache,
            keys=self.keys,
            catalog=catalog or self.catalog,
            taxonomy=self.taxonomy,
            notice_days=self.config.notice_days,
        )
        return await run.run(publisher, now or self.clock())

    async def inventory_pass(
        self, poster: ChangePoster, *, now: datetime | None = None
    ) -> PassReport:
        """List every key's models and post what each key gained or lost since the last pass."""
        from bot.broadcasts import InventoryPass

        async def fresh(key: Key) -> KeyModels:
            return await self.prober.list_models(key, refresh=True)

        run = InventoryPass(
            cache=self.cache, keys=self.keys, catalog=self.catalog, list_models=fresh
        )
        return await run.run(poster, now or self.clock())

    async def health(self) -> list[KeyHealth]:
        """Each key's last probe, models count and recent failures (for App Home and `keys`)."""
        return await self.prober.health(self.keys)

    async def record_ask(self, model: str) -> None:
        """Count that someone asked about a model (ranks broadcast notices); never a non-id."""
        from bot.broadcasts import asks

        try:
            model = model_id(model)
        except UsageError:
            return  # a key or a paste is not counted, stored or logged as a model
        await asks.record_ask(self.cache, model, self.clock())

    async def ask_counts(self, models: Sequence[str]) -> dict[str, int]:
        """How often each model was asked about in the last 30 days."""
        from bot.broadcasts import asks

        return await asks.ask_counts(self.cache, models, self.clock())
