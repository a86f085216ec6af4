"""The terminal adapter: `model-access` commands over the engine, rendered as text."""
