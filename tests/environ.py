"""The variables a test must not inherit from the developer's shell, in one place.

The autouse fixture in conftest.py removes them for each test; module-scoped fixtures and
subprocesses that start before it take `clean_environ()` instead.
"""

from __future__ import annotations

import os

SCRUBBED_PREFIXES = ("SLACK_", "OPENAI_", "ANTHROPIC_", "AZURE_", "MODEL_ACCESS_")


def scrubbed(name: str) -> bool:
    """Whether a variable could point a test at a real workspace, key or Redis."""
    return name == "REDIS_URL" or name.startswith(SCRUBBED_PREFIXES)


def clean_environ() -> dict[str, str]:
    """This process's environment without any scrubbed variable."""
    return {k: v for k, v in os.environ.items() if not scrubbed(k)}
