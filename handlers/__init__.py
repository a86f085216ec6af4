"""Slack adapters: Bolt listeners that parse a payload, call the engine once, and render Block Kit.

`handlers.app` builds and serves the app; each listener module has `register(app, ...)`.
"""
