"""The one clock: every date the bot reasons with comes from a `Clock` passed in.

The engine holds one; the offline `explain` uses the real one. Tests and broadcasts pass
their own, so an answer given "after a shutdown date" is the same whatever today is.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The real clock."""
    return datetime.now(UTC)


def today_of(clock: Clock) -> Callable[[], date]:
    """The date (UTC) by a clock, as a function."""
    return lambda: clock().date()
