"""Where code names a retiring model: a one-pass matcher over a tree (`model-access scan`)."""

from bot.scan.scanner import Scanner

__all__ = ["Scanner"]
