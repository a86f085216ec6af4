"""Our own small error hierarchy.

* ModelAccessError        anything a user should see as one clear line
  + ConfigError           a config, keys or catalog file is wrong, or an env var is missing
  + UsageError            the command line or slash command asked for something impossible
  + CacheUnavailable      Redis cannot be reached (callers fall back to uncached mode)
"""

from __future__ import annotations


class ModelAccessError(Exception):
    """Base class: the message is already fit to show a user."""


class ConfigError(ModelAccessError):
    """A configuration, keys or data file is invalid, or a required variable is missing."""


class UsageError(ModelAccessError):
    """The request cannot be carried out as asked (unknown key alias, bad endpoint, ...)."""


class CacheUnavailable(ModelAccessError):
    """Redis is unreachable; the caller continues without a cache."""
