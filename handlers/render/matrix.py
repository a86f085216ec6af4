"""The per-key table of a check: one row per key, with its verdict, why, and where it came from.

Keys still being probed have a row of their own; an org with more keys than a table holds
gets one row per outcome ("212 keys: a, b, c and 209 more — ✅ yes").

Pure functions of result values (bot/results.py); `titles` maps cause ids to the taxonomy's
plain-words titles.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from slack_sdk.models.blocks import RawTextObject, TableBlock

from bot.causes import TRANSIENT
from bot.results import PendingKey, ProbeResult
from handlers.render.blocks import Block, escape, one_line

OK, NO, WARN, WAIT = "✅", "❌", "⚠️", "⏳"
TABLE_ROWS_MAX = 99  # Slack allows 100 rows, one is the header
GROUP_NAMES = 3  # keys named in a grouped row
STILL_CHECKING = "still checking…"


def title_of(cause: str | None, titles: Mapping[str, str]) -> str:
    """A cause in plain words (the taxonomy's title), or the id made readable."""
    if cause is None:
        return "can use it"
    return titles.get(cause) or cause.replace("_", " ").capitalize()


def status_of(result: ProbeResult) -> str:
    """✅ usable, ⚠️ usable but shutting down (or failing for a passing reason), ❌ refused."""
    if result.accessible:
        ending = result.shutdown is not None or result.status in ("deprecated", "retired")
        return WARN if ending else OK
    return WARN if result.cause in TRANSIENT else NO


def _cell(text: str) -> dict[str, str]:
    return RawTextObject(text=one_line(text, 120) or "-").to_dict()


def _why(result: ProbeResult, titles: Mapping[str, str]) -> str:
    if result.accessible and result.shutdown:
        return f"usable; shuts down {result.shutdown.isoformat()}"
    return title_of(result.cause, titles)


def _verdict_cell(result: ProbeResult) -> str:
    return f"{status_of(result)} {'yes' if result.accessible else 'no'}"


def _row(r: ProbeResult, titles: Mapping[str, str]) -> list[dict[str, str]]:
    source = "cached" if r.cached else f"live, {r.latency_ms:.0f} ms"
    return [
        _cell(f"{r.alias} (…{r.fingerprint})"),
        _cell(r.provider),
        _cell(_verdict_cell(r)),
        _cell(escape(_why(r, titles))),
        _cell(source),
    ]


def _pending_row(key: PendingKey, note: str) -> list[dict[str, str]]:
    return [
        _cell(f"{key.alias} (…{key.fingerprint})"),
        _cell(key.provider),
        _cell(f"{WAIT} …"),
        _cell(escape(note)),
        _cell("-"),
    ]


def _names(labels: Sequence[str]) -> str:
    shown = ", ".join(labels[:GROUP_NAMES])
    more = len(labels) - GROUP_NAMES
    return shown + (f" and {more} more" if more > 0 else "")


def _grouped(
    results: Sequence[ProbeResult],
    pending: Sequence[PendingKey],
    titles: Mapping[str, str],
    note: str,
) -> list[list[dict[str, str]]]:
    """One row per outcome (verdict and why), most keys first, then the keys still pending."""
    groups: dict[tuple[str, str], list[ProbeResult]] = {}
    for r in results:
        groups.setdefault((_verdict_cell(r), _why(r, titles)), []).append(r)
    rows = []
    for (verdict, why), members in sorted(groups.items(), key=lambda g: -len(g[1])):
        cached = sum(r.cached for r in members)
        live = [r.latency_ms for r in members if not r.cached]
        source = f"{cached} cached" if cached else ""
        if live:
            slowest = f"{len(live)} live, up to {max(live):.0f} ms"
            source = f"{source}, {slowest}" if source else slowest
        rows.append(
            [
                _cell(f"{len(members)} keys: " + _names([r.alias for r in members])),
                _cell(", ".join(sorted({r.provider for r in members}))),
                _cell(verdict),
                _cell(escape(why)),
                _cell(source),
            ]
        )
    if pending:
        rows.append(
            [
                _cell(f"{len(pending)} keys: " + _names([p.alias for p in pending])),
                _cell(", ".join(sorted({p.provider for p in pending}))),
                _cell(f"{WAIT} …"),
                _cell(escape(note)),
                _cell("-"),
            ]
        )
    return rows


def matrix(
    results: Sequence[ProbeResult],
    titles: Mapping[str, str],
    pending: Sequence[PendingKey] = (),
    *,
    note: str = STILL_CHECKING,
) -> Block:
    """The per-key table: key, provider, result, why, and where the answer came from.

    Keys still being probed get a row saying `note`. When there are more keys than Slack's
    table holds, it has one row per outcome instead, naming the first keys of each.
    """
    rows = [[_cell(h) for h in ("Key", "Provider", "Result", "Why", "Source")]]
    if len(results) + len(pending) <= TABLE_ROWS_MAX:
        rows += [_row(r, titles) for r in results]
        rows += [_pending_row(p, note) for p in pending]
    else:
        rows += _grouped(results, pending, titles, note)[:TABLE_ROWS_MAX]
    return TableBlock(rows=rows, block_id="matrix").to_dict()
