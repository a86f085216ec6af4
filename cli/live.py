"""A check on a terminal as it runs: a row per key as soon as it is known, a spinner for the rest.

Only for a terminal: `--json` and piped output wait for the one final document. Built on
rich's Live display (it owns the cursor), imported here so other commands do not pay for it.
The live table is transient: when the check is done it gives way to the usual text answer.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

from rich.console import Console, Group
from rich.live import Live
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from bot.redact import mask
from bot.results import CheckProgress, CheckReport

HEADERS = ("key", "fp", "provider", "usable", "cause", "http", "latency", "source")


def table(step: CheckProgress) -> Table:
    """The keys known so far, in key order, and a spinner row for each key still being probed."""
    endpoint = f" on {step.endpoint}" if step.endpoint else ""
    title = mask(f"model {step.model}{endpoint}: {step.done}/{step.total} keys")
    grid = Table(*HEADERS, title=Text(title), title_justify="left", box=None, pad_edge=False)
    for r in step.results:
        cells = (
            r.alias,
            f"…{r.fingerprint}",
            r.provider,
            "yes" if r.accessible else "no",
            r.cause or "-",
            str(r.http_status or "-"),
            f"{r.latency_ms:.0f} ms",
            "cached" if r.cached else "live",
        )
        grid.add_row(*(Text(c) for c in cells))  # Text: no rich markup in what we show
    for p in step.pending:
        spinner = Spinner("dots", text=Text("checking…"))
        grid.add_row(Text(p.alias), Text(f"…{p.fingerprint}"), Text(p.provider), spinner)
    return grid


def frame(step: CheckProgress | None, waiting: str) -> Group:
    """What the live display shows: the table, or a line until the first key answers."""
    if step is None:
        return Group(Spinner("dots", text=Text(mask(waiting))))
    return Group(table(step))


async def watch(steps: AsyncGenerator[CheckProgress, None], waiting: str) -> CheckReport:
    """Run a check to its report, drawing each step on the terminal (stdout) as it comes."""
    console = Console(highlight=False)
    report: CheckReport | None = None
    with Live(frame(None, waiting), console=console, refresh_per_second=10, transient=True) as live:
        try:
            async for step in steps:
                live.update(frame(step, waiting))
                report = step.report
        finally:
            await steps.aclose()
    if report is None:
        raise AssertionError("a check ends with its report")
    return report
