"""Asking the providers: each key probed through its official SDK, cheapest evidence first."""
