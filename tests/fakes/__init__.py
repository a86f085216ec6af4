"""Fake LLM provider servers (OpenAI, OpenAI-compatible gateway, Azure OpenAI, Anthropic).

Import from ``tests.fakes.providers``; this package file stays empty so that
``python -m tests.fakes.providers`` runs without a double import.
"""
