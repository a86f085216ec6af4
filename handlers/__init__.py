"""Slack adapters: Bolt listeners that parse a payload, call the engine once, and render Block Kit.

`handlers.app` builds the app, `handlers.server` serves it; each module of
`handlers.listeners` has `register(app, ...)`; `handlers.render` is pure Block Kit.
"""
