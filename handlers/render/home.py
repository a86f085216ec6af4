"""The App Home view: key health, upcoming shutdowns (asked-about models first), how to use the bot.

Pure: `home(...)` returns the view dict for views.publish, at most 100 blocks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from slack_sdk.models.views import View

from bot.results import Deprecation, KeyHealth
from handlers.render.blocks import (
    MAX_VIEW_BLOCKS,
    Block,
    context,
    divider,
    escape,
    fields,
    fit,
    header,
    section,
)
from handlers.render.lists import deprecation_line, health_line

HOME_SHUTDOWN_DAYS = 90
HOME_TEXT_BUDGET = 24_000
HOME_SHUTDOWNS_SHOWN = (
    25  # the rest are one command away  # views allow more text than messages; stay well inside
)


def rank_shutdowns(
    rows: Sequence[Deprecation], asks: Mapping[str, int]
) -> list[tuple[Deprecation, int]]:
    """Models people asked about first (most asked first), then the rest, soonest shutdown first."""
    keyed = [(r, asks.get(r.model, 0)) for r in rows]
    return sorted(keyed, key=lambda ra: (ra[1] == 0, -ra[1], ra[0].shutdown or date.max))


def home(
    health: Sequence[KeyHealth],
    shutdowns: Sequence[Deprecation],
    asks: Mapping[str, int],
    today: date,
    *,
    cache: str = "redis",
) -> dict[str, Any]:
    """The Home tab for one user: how to use it, our keys, then coming shutdowns."""
    intro: list[Block] = [
        header("model-access"),
        section(
            "I tell you whether our LLM API keys can use a model, and if not, why and how to fix "
            "it.\n• `/model-access gpt-4o` checks a model across our keys\n"
            "• `/model-access explain` + a pasted error explains it\n"
            "• *Diagnose this error* in a message's ⋯ menu answers in its thread\n"
            "• `/model-access help` lists everything"
        ),
        divider(),
        header("Our keys"),
    ]
    for h in health:
        who = f"*{escape(h.alias)}* (…{escape(h.fingerprint)})\n{escape(h.provider)}"
        intro.append(fields([who, health_line(h)]))
    if not health:
        intro.append(
            section(
                "⚠️ No provider keys are configured, so checks cannot run. Whoever runs the bot "
                "sets `OPENAI_API_KEY` (or `ANTHROPIC_API_KEY`, `AZURE_OPENAI_API_KEY`), or a "
                "keys file in `MODEL_ACCESS_KEYS_FILE`, and restarts it."
            )
        )
    intro += [divider(), header(f"Shutdowns in the next {HOME_SHUTDOWN_DAYS} days")]
    ranked = rank_shutdowns(shutdowns, asks)
    if not ranked:
        intro.append(section("Nothing in our catalog shuts down in that window."))
    rows = []
    for row, count in ranked:
        times = f"{count} time{'s' if count != 1 else ''}"
        asked = f"\n_asked about {times} in 30 days_" if count else ""
        rows.append(section(deprecation_line(row, today) + asked))
    cache_note = "cache: redis" if cache == "redis" else f"⚠️ {escape(cache)}"
    tail = [context(f"Updated {today.isoformat()} · {cache_note}")]
    # The keys and the intro always show; the shutdown list gets what room is left.
    room = min(HOME_SHUTDOWNS_SHOWN + 1, MAX_VIEW_BLOCKS - len(intro) - len(tail))
    shown = fit(
        rows,
        max_blocks=max(room, 2),
        budget=HOME_TEXT_BUDGET // 2,
        note=lambda n: f"… and {n} more (`/model-access deprecations {HOME_SHUTDOWN_DAYS}`).",
    )
    blocks = fit([*intro, *shown], tail, max_blocks=MAX_VIEW_BLOCKS, budget=HOME_TEXT_BUDGET)
    return View(type="home", blocks=blocks).to_dict()
