"""The per-key table of a check: one row per key, with its verdict, why, and where it came from.

Pure functions of result values (bot/results.py); `titles` maps cause ids to the taxonomy's
plain-words titles.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from slack_sdk.models.blocks import RawTextObject, TableBlock

from bot.causes import TRANSIENT
from bot.results import ProbeResult
from handlers.render.blocks import Block, escape, one_line

OK, NO, WARN = "✅", "❌", "⚠️"
TABLE_ROWS_MAX = 99  # Slack allows 100 rows, one is the header


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


def matrix(results: Sequence[ProbeResult], titles: Mapping[str, str]) -> Block:
    """The per-key table: key, provider, result, why, and where the answer came from."""
    rows = [[_cell(h) for h in ("Key", "Provider", "Result", "Why", "Source")]]
    for r in results[:TABLE_ROWS_MAX]:
        why = title_of(r.cause, titles)
        if r.accessible and r.shutdown:
            why = f"usable; shuts down {r.shutdown.isoformat()}"
        source = "cached" if r.cached else f"live, {r.latency_ms:.0f} ms"
        rows.append(
            [
                _cell(f"{r.alias} (…{r.fingerprint})"),
                _cell(r.provider),
                _cell(f"{status_of(r)} {'yes' if r.accessible else 'no'}"),
                _cell(escape(why)),
                _cell(source),
            ]
        )
    return TableBlock(rows=rows, block_id="matrix").to_dict()
