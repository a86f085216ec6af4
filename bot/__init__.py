"""model-access: can this key use this model, and if not, why."""

from __future__ import annotations

__version__ = "0.1.0"
