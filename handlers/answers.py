"""What the Slack listeners answer: one method per request, each calling the engine once and rendering.

The listeners (commands, actions, shortcuts, home) stay thin: they acknowledge, call an
`Answers` method and post the `Reply` it returns. Errors a user can act on (an unknown key
alias, no keys configured) come back as a one-line reply; anything else propagates, and
the listener logs it and says something went wrong, never showing a traceback.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import cached_property

import structlog
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.causes import Cause
from bot.engine import Engine
from bot.errors import ModelAccessError
from bot.redact import mask
from bot.results import CheckProgress, CheckReport, Diagnosis
from handlers import parse
from handlers.metrics import Metrics
from handlers.progress import follow
from handlers.ratelimit import ProbeLimit
from handlers.render import check as render_check
from handlers.render import lists as render_lists
from handlers.render.blocks import Reply, escape
from handlers.secret_guard import scan

log = structlog.get_logger(__name__)

CHECK_SLACK_S = 5.0  # beyond the probe timeout: coalescing waits and several keys


class CheckRefused(Exception):
    """A check did not run or finish; `reply` says why (rate limit, bad alias, timeout).

    `answer`: the reply is the check's answer all the same (the keys that answered before
    the deadline), so it replaces the message its progress was shown in.
    """

    def __init__(self, reply: Reply, *, answer: bool = False) -> None:
        super().__init__(reply.text)
        self.reply = reply
        self.answer = answer


ShowReply = Callable[[Reply], Awaitable[None]]


@dataclass
class Answers:
    """The engine plus the Slack-side policy: who may probe how often, who is an admin."""

    engine: Engine
    metrics: Metrics = field(default_factory=Metrics)

    @cached_property
    def limit(self) -> ProbeLimit:
        """The per-user probe limit from the config."""
        config = self.engine.config
        return ProbeLimit(
            self.engine.cache, config.probes_per_user_per_minute, frozenset(config.admins)
        )

    @cached_property
    def titles(self) -> dict[str, str]:
        """Cause id -> plain-words title, from the taxonomy."""
        return {e.id: e.title for e in self.engine.taxonomy.entries()}

    def is_admin(self, user_id: str | None) -> bool:
        """Whether the user is listed in the config's admins."""
        return user_id is not None and user_id in self.engine.config.admins

    def is_model(self, word: str) -> bool:
        """Whether the catalog knows this id or alias (for bare words like `davinci`)."""
        return self.engine.catalog.lookup(word) is not None

    def parse_text(self, text: str) -> parse.Command:
        """Parse slash text with the catalog's help."""
        return parse.parse(text, self.is_model)

    # -- answers given in the acknowledgement itself (no provider call) -----------------------

    async def immediate(self, request: parse.Command, user_id: str | None) -> Reply | None:
        """The reply for requests answered at once (help, errors, explain, calendar), else None."""
        if isinstance(request, parse.Help):
            return render_lists.help_text(admin=self.is_admin(user_id), unknown=request.unknown)
        if isinstance(request, parse.Invalid):
            return render_lists.usage_error(request.error)
        if isinstance(request, parse.Explain):
            return self.explain(request)
        if isinstance(request, parse.Deprecations):
            rows = await self.engine.deprecations(request.days)
            return render_lists.deprecations(rows, request.days, self.engine.today())
        if isinstance(request, parse.Keys) and not self.is_admin(user_id):
            return render_lists.not_admin("`/model-access keys`")
        return None

    def explain(self, request: parse.Explain, *, shared_by: str | None = None) -> Reply:
        """Classify a pasted error (offline); warn about any secret in it."""
        secrets = scan(request.text)
        masked = parse.Explain(mask(request.text))
        diagnosis = self.engine.explain(request.text)
        return render_check.explain(
            diagnosis, self.titles, masked, secrets=secrets, shared_by=shared_by
        )

    # -- answers that probe --------------------------------------------------------------------

    async def run(
        self, request: parse.Command, user_id: str | None, show: ShowReply | None = None
    ) -> Reply:
        """The reply for a request that needs the providers or Redis.

        A check's progress (the keys that answered so far) goes to `show` while it runs.
        """
        try:
            if isinstance(request, parse.Check):
                report = await self.checked(request, user_id, refresh=request.refresh, show=show)
                return render_check.check(report, self.titles, request)
            if isinstance(request, parse.Models):
                await self._take(user_id)
                listed = await self.engine.models(aliases=request.aliases)
                return render_lists.models(listed)
            if isinstance(request, parse.Keys):
                return render_lists.keys(await self.engine.health(), self.engine.keys)
        except CheckRefused as refused:
            return refused.reply
        except ModelAccessError as exc:
            return render_lists.notice(f"🤔 {escape(str(exc))}")
        quick = await self.immediate(request, user_id)
        return quick if quick is not None else render_lists.help_text(admin=False)

    async def checked(
        self,
        request: parse.Check,
        user_id: str | None,
        *,
        refresh: bool = False,
        count: bool = True,
        show: ShowReply | None = None,
    ) -> CheckReport:
        """Run a check (rate-limited per user when `count`); CheckRefused when it cannot run.

        With `show`, the keys that have answered are shown while the others are probed
        (a few updates at most, see handlers.progress); past the deadline, the answer is
        what came in time, and the keys still out are named.
        """
        if count:
            await self._take(user_id)
        await self.engine.record_ask(request.model)
        timeout = self.engine.config.probe_timeout_s + CHECK_SLACK_S
        try:
            steps = self.engine.check_progress(
                request.model,
                aliases=request.aliases,
                endpoint=request.endpoint,
                deep=request.deep or None,
                refresh=refresh,
            )
        except ModelAccessError as exc:
            raise CheckRefused(render_lists.notice(f"🤔 {escape(str(exc))}")) from None

        async def shown(step: CheckProgress) -> None:
            if show is not None:
                await show(render_check.progress(step, self.titles))

        last = await follow(steps, shown if show is not None else None, deadline_s=timeout)
        if last is None or last.report is None:
            self.metrics.probes.labels("failed").inc()
            log.warning("check_timeout", model=request.model, timeout_s=timeout)
            reply = render_check.unfinished(last, self.titles, request, timeout)
            raise CheckRefused(reply, answer=last is not None and bool(last.results))
        report = last.report
        usable = any(r.accessible for r in report.results)
        self.metrics.probes.labels("usable" if usable else "refused").inc()
        return report

    async def _take(self, user_id: str | None) -> None:
        verdict = await self.limit.take(user_id)
        if not verdict.allowed:
            self.metrics.probes.labels("limited").inc()
            raise CheckRefused(render_lists.rate_limited(verdict.count))

    async def reprobe(
        self, request: parse.Check, user_id: str | None, show: ShowReply | None = None
    ) -> tuple[Reply, bool]:
        """The Re-probe button: bypass the cache (admins freely, others within their limit).

        Progress goes to `show` as on the slash command. Returns the reply and whether it
        is an answer (False: a refusal to show below the old answer).
        """
        try:
            report = await self.checked(request, user_id, refresh=True, show=show)
        except CheckRefused as refused:
            return refused.reply, refused.answer
        return render_check.check(report, self.titles, request), True

    async def shared(self, value: str | None, user_id: str) -> Reply | None:
        """The channel version of an answer a button carries (from the cache where possible)."""
        explain = parse.explain_from_value(value)
        if explain is not None:
            return self.explain(explain, shared_by=user_id)
        check = parse.check_from_value(value)
        if check is None:
            return None
        try:
            report = await self.checked(check, user_id, count=False)
        except CheckRefused as refused:
            return refused.reply
        return render_check.check(report, self.titles, check, shared_by=user_id)

    async def fix_code(self, value: str | None) -> Reply | None:
        """The Show fix code button: snippets for the answer the button carries."""
        explain = parse.explain_from_value(value)
        if explain is not None:
            return render_check.fix_code(self.engine.explain(explain.text), "the pasted error")
        check = parse.check_from_value(value)
        if check is None:
            return None
        try:
            report = await self.checked(check, None, count=False)
        except CheckRefused as refused:
            return refused.reply
        return render_check.fix_code(report.diagnosis, check.model)

    # -- the message shortcut ------------------------------------------------------------------

    async def diagnose_message(self, text: str, user_id: str | None) -> Reply:
        """Diagnose this error: classify the message, then live-check the model it names."""
        secrets = scan(text)
        diagnosis = self.engine.explain(text)
        report, note = await self._live(diagnosis, user_id)
        return render_check.shortcut(
            diagnosis, self.titles, report=report, secrets=secrets, note=note
        )

    async def _live(
        self, diagnosis: Diagnosis, user_id: str | None
    ) -> tuple[CheckReport | None, str | None]:
        if diagnosis.cause == Cause.NOT_AN_ERROR or not diagnosis.model:
            return None, None
        if self.engine.keys_for(diagnosis.provider):
            try:
                await self._take(user_id)
            except CheckRefused as refused:
                return None, f"Live check skipped: {refused.reply.text}"
            await self.engine.record_ask(diagnosis.model)
        live = await self.engine.live_check(diagnosis.model, diagnosis.provider)
        if live.report is None:
            return None, f"No live check: {live.note}."
        self.metrics.probes.labels(
            "usable" if any(r.accessible for r in live.report.results) else "refused"
        ).inc()
        return live.report, None

    # -- failure handling for listeners --------------------------------------------------------

    @asynccontextmanager
    async def guard(self, where: str, respond: AsyncRespond | None = None) -> AsyncIterator[None]:
        """Log (redacted) and count any failure in the block; tell the user briefly, no traceback."""
        try:
            yield
        except Exception:
            log.exception("answer_failed", where=where)
            self.metrics.errors.labels(where).inc()
            if respond is not None:
                try:
                    await respond(**render_lists.failed().kwargs(), replace_original=False)
                except Exception as exc:  # the response_url itself is failing
                    log.warning("failure_notice_failed", where=where, error=type(exc).__name__)
