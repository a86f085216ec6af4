"""Block Kit for broadcasts: deprecation notices and availability changes. Pure functions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from itertools import groupby

from bot import providers
from bot.broadcasts.deprecations import Announcement
from bot.broadcasts.inventory import Change
from handlers.render.blocks import (
    FALLBACK_MAX,
    SECTION_MAX,
    Block,
    clip,
    code,
    code_block,
    context,
    divider,
    escape,
    fields,
    header,
    section,
)


def _when(days_left: int) -> str:
    if days_left == 0:
        return "today"
    if days_left == 1:
        return "tomorrow"
    return f"in {days_left} days"


def _days(n: int) -> str:
    return "today" if n == 0 else ("1 day left" if n == 1 else f"{n} days left")


# -- deprecation notices ----------------------------------------------------------------------


def announcement_text(a: Announcement) -> str:
    """The plain-text fallback (notifications, screen readers)."""
    head = f"{a.model} ({providers.title(a.provider)}) shuts down on {a.shutdown}, {_when(a.days_left)}."
    if a.kind == "update" and a.previous_shutdown is not None:
        head = f"{a.model}: shutdown moved from {a.previous_shutdown} to {a.shutdown}."
    tail = f" Replacement: {a.replacement}." if a.replacement else ""
    return clip(escape(head + tail), FALLBACK_MAX)


def _title(a: Announcement) -> str:
    if a.kind == "update":
        if a.previous_shutdown is not None:
            return f"{a.model}: shutdown date moved to {a.shutdown}"
        return f"{a.model}: new recommended replacement"
    return f"{a.model} shuts down {_when(a.days_left)}"


def _what_changed(a: Announcement) -> str | None:
    lines = []
    if a.previous_shutdown is not None:
        lines.append(
            f"The shutdown date moved from {a.previous_shutdown} to *{a.shutdown}* "
            "since our last notice."
        )
    if a.replacement_changed:
        before = code(a.previous_replacement) if a.previous_replacement else "none"
        after = code(a.replacement) if a.replacement else "none named"
        lines.append(f"The recommended replacement changed from {before} to {after}.")
    return "\n".join(lines) or None


def announcement_blocks(a: Announcement) -> list[Block]:
    """A notice or update: model, date, days left, replacement, who is affected, how to move."""
    blocks = [header(_title(a))]
    if a.asks:
        times = "once" if a.asks == 1 else f"{a.asks} times"
        blocks.append(context(f":speech_balloon: Asked about {times} this month"))
    blocks.append(
        fields(
            [
                f"*Model*\n{code(a.model)} ({escape(providers.title(a.provider))})",
                f"*Shutdown*\n{a.shutdown} ({_days(a.days_left)})",
                f"*Replacement*\n{code(a.replacement) if a.replacement else 'none named'}",
            ]
        )
    )
    changed = _what_changed(a)
    if changed:
        blocks.append(section(changed))
    if a.affected is not None:
        who = ", ".join(escape(label) for label in a.affected)
        blocks.append(
            section(
                f"*Keys that still list it:* {who}"
                if who
                else "No configured key lists it any more."
            )
        )
    if a.fix is not None:
        fix = f"*{escape(a.fix.title)}*\n{escape(a.fix.detail)}"
        snippet = (a.fix.code or {}).get("python")
        if snippet:
            fix += "\n" + code_block(snippet)
        blocks += [divider(), section(fix)]
    if a.late and a.threshold is not None:
        mark = a.shutdown - timedelta(days=a.threshold)
        blocks.append(
            context(
                f"The {a.threshold}-day mark was {mark}; this is the first notice since "
                "(the bot was not running, Slack failed, or the date was announced or moved late)."
            )
        )
    return blocks


# -- availability changes ---------------------------------------------------------------------


def _ordered(changes: Sequence[Change]) -> list[Change]:
    return sorted(changes, key=lambda c: (c.alias, c.direction, c.model))


def changes_text(changes: Sequence[Change]) -> str:
    """The fallback text: 'key prod lost gpt-4-0613; key dev gained o3'."""
    return clip(escape("; ".join(c.describe() for c in _ordered(changes))), FALLBACK_MAX)


def _change_line(c: Change) -> str:
    line = f"• {c.direction} {code(c.model)}"
    if c.direction == "lost" and c.shutdown is not None:
        line += f" (shutdown date {c.shutdown}"
        line += f"; replacement {code(c.replacement)})" if c.replacement else ")"
    return line


def changes_blocks(changes: Sequence[Change]) -> list[Block]:
    """One message for a batch of changes, grouped by key."""
    blocks = [header("Model availability changed")]
    for (alias, fingerprint, provider), group in groupby(
        _ordered(changes), key=lambda c: (c.alias, c.fingerprint, c.provider)
    ):
        head = (
            f"*Key {escape(alias)}* (…{escape(fingerprint)}, {escape(providers.title(provider))})"
        )
        chunk: list[str] = []
        for line in [head, *(_change_line(c) for c in group)]:
            if sum(len(x) + 1 for x in chunk) + len(line) > SECTION_MAX - 10:
                blocks.append(section("\n".join(chunk)))
                chunk = []
            chunk.append(line)
        blocks.append(section("\n".join(chunk)))
    return blocks
