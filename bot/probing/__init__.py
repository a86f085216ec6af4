"""Asking the providers: each key probed through its official SDK, cheapest evidence first."""

from bot.probing.prober import Prober

__all__ = ["Prober"]
