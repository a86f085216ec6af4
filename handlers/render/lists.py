"""Block Kit for the list answers (`models`, `deprecations`, `keys`), help, and short notices.

Pure functions of result values. Long lists are cut with a note saying how many more
there are and where to see them all (the CLI prints everything).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from bot.keys import Key
from bot.results import Deprecation, KeyHealth, ModelsReport
from handlers import parse
from handlers.render.blocks import (
    Block,
    Reply,
    context,
    escape,
    fields,
    fit,
    header,
    section,
)

MODELS_PER_KEY = 80  # ids shown per key before "… N more"


def _models_per_key(names: Sequence[str], shutdowns: dict[str, date]) -> str:
    shown = [
        f"`{escape(m)}`" + (f" (shuts down {shutdowns[m].isoformat()})" if m in shutdowns else "")
        for m in names[:MODELS_PER_KEY]
    ]
    more = len(names) - len(shown)
    text = ", ".join(shown)
    return text + (f" … and {more} more" if more > 0 else "")


def models(report: ModelsReport) -> Reply:
    """What each key can list, one section per key."""
    body: list[Block] = [header("Models each key can list")]
    for k in report.keys:
        who = f"*{escape(k.alias)}* (…{escape(k.fingerprint)}, {escape(k.provider)})"
        if not k.ok:
            why = f"`{k.cause}`" + (f": {escape(k.evidence)}" if k.evidence else "")
            body.append(section(f"❌ {who} cannot list models: {why}"))
        else:
            src = "cached" if k.cached else "live"
            count = f"{len(k.models)} model{'' if len(k.models) == 1 else 's'}"
            line = f"✅ {who}: {count} ({src})\n"
            body.append(section(line + (_models_per_key(k.models, k.shutdowns) or "_none_")))
        if k.note:
            body.append(context(escape(k.note)))
    if not report.keys:
        body.append(section("No keys selected."))
    tail = [context(_cache_line(report.cache) + " · full lists: `model-access models --key ALIAS`")]
    return Reply(f"Models for {len(report.keys)} key(s)", fit(body, tail))


def _cache_line(cache: str) -> str:
    return "cache: redis" if cache == "redis" else f"⚠️ {escape(cache)}"


def deprecations(rows: Sequence[Deprecation], days: int, today: date) -> Reply:
    """The calendar for the next `days` days, soonest first."""
    body: list[Block] = [header(f"Shutdowns in the next {days} days")]
    if not rows:
        body.append(section(f"No model in our catalog shuts down in the next {days} days."))
    for r in rows:
        body.append(section(deprecation_line(r, today)))
    tail = [context("Dates from the providers' deprecation pages and live lifecycle data.")]
    return Reply(
        f"{len(rows)} shutdown(s) in the next {days} days",
        fit(
            body,
            tail,
            note=lambda n: f"… and {n} more (`model-access deprecations --within {days}`).",
        ),
    )


def deprecation_line(r: Deprecation, today: date) -> str:
    """One model's shutdown in a line: when, how long from now, and what replaces it."""
    left = (r.shutdown - today).days if r.shutdown else None
    when = (
        f"{r.shutdown.isoformat()} ({left} days)" if r.shutdown and left is not None else "no date"
    )
    repl = f" → `{escape(r.replacement)}`" if r.replacement else ""
    return f"⏳ *`{escape(r.model)}`* ({escape(r.provider)}, {escape(r.status)}): {when}{repl}"


def keys(health: Sequence[KeyHealth], configured: Sequence[Key]) -> Reply:
    """Admins: every key's alias, provider, fingerprint, scope and last probe."""
    by_alias = {k.alias: k for k in configured}
    body: list[Block] = [header(f"{len(health)} configured key(s)")]
    for h in health:
        key = by_alias.get(h.alias)
        scope = []
        if key is not None and key.organization:
            scope.append(f"org `{escape(key.organization)}`")
        if key is not None and key.project:
            scope.append(f"project `{escape(key.project)}`")
        if key is not None and key.base_url:
            scope.append(f"base `{escape(key.base_url)}`")
        body.append(
            fields(
                [
                    f"*{escape(h.alias)}* (…{escape(h.fingerprint)})\n{escape(h.provider)}"
                    + ("\n" + ", ".join(scope) if scope else ""),
                    health_line(h),
                ]
            )
        )
    if not health:
        body.append(section("No provider keys are configured."))
    return Reply(f"{len(health)} configured key(s)", fit(body))


def health_line(h: KeyHealth) -> str:
    """Last probe, models count and recent failures of one key, in mrkdwn."""
    if h.last_probe_at is None:
        last = "never probed yet"
    else:
        mark = "✅" if h.last_ok else "❌"
        last = f"{mark} last probe {h.last_probe_at:%Y-%m-%d %H:%M} UTC"
    if h.models_count is None:
        count = "models not listed yet"
    else:
        count = f"{h.models_count} model{'' if h.models_count == 1 else 's'} listed"
    lines = [last, count]
    if h.recent_failures:
        shown = ", ".join(f"`{escape(f)}`" for f in h.recent_failures[:3])
        lines.append(f"recent failures: {shown}")
    return "\n".join(lines)


def help_text(*, admin: bool, unknown: str | None = None) -> Reply:
    """How to use the command (the `keys` line only for admins)."""
    lines = [
        "*`/model-access MODEL`* — can our keys use this model? Why not, and what to do.",
        "    `--key ALIAS` (repeatable), `--endpoint chat|responses|embeddings|…`, "
        "`--deep` (a real 1-token call), `--refresh` (skip the cache)",
        "*`/model-access explain PASTED ERROR`* — what an API error means and how to fix it.",
        "*`/model-access models [ALIAS]`* — the models each key can list.",
        "*`/model-access deprecations [DAYS]`* — models shutting down soon (default 90 days).",
    ]
    if admin:
        lines.append("*`/model-access keys`* — the configured keys and their last probes.")
    lines.append("*Diagnose this error* (message ⋯ menu) — answer a pasted error in its thread.")
    body: list[Block] = []
    if unknown is not None:
        body.append(
            section(f"I don't know the command `{escape(unknown)}`. Here is what I can do:")
        )
    body += [
        section("\n".join(lines)),
        context("Answers are visible only to you until you share them."),
    ]
    return Reply("How to use /model-access", body)


def usage_error(error: str) -> Reply:
    """A malformed command: one friendly line, then the usage."""
    text = f"🤔 {escape(error)}."
    return Reply(text, [section(text), section("*Usage*\n" + parse.USAGE)])


def notice(text: str) -> Reply:
    """A one-line message (errors we can explain, refusals)."""
    return Reply(text, [section(text)])


def rate_limited(count: int) -> Reply:
    """The per-user probe limit was hit."""
    return notice(f"⏱️ You've run {count} checks in the last minute; try again in a few seconds.")


def not_admin(what: str) -> Reply:
    """A refusal for an admin-only command or button."""
    return notice(f"🔒 {escape(what)} is for the bot's admins (listed in its config).")


def failed() -> Reply:
    """Something broke on our side; never a traceback."""
    return notice(
        "😵 Something went wrong on my side while answering. It has been logged; "
        "please try again in a minute."
    )
