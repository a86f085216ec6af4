"""The Slack app manifest a new user pastes agrees with what the handlers listen for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from handlers.listeners.commands import COMMAND
from handlers.listeners.shortcuts import CALLBACK_ID

MANIFEST = Path(__file__).resolve().parent.parent / "deploy" / "slack-app-manifest.yaml"

# What each listener needs from Slack: the events it subscribes to and the scopes they take.
EVENTS = {
    "app_home_opened",  # handlers/listeners/home.py
    "app_mention",  # handlers/listeners/help_channel.py
    "message.channels",  # public help channels
    "message.groups",  # private help channels
    "message.im",  # errors pasted to the bot directly
    "reaction_added",  # :mute: silences a thread
}
SCOPES = {
    "commands",
    "chat:write",
    "app_mentions:read",
    "channels:history",
    "groups:history",
    "im:history",
    "reactions:read",
    "reactions:write",
}


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    """deploy/slack-app-manifest.yaml, parsed."""
    data = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_the_slash_command_and_shortcut_are_the_ones_registered(manifest: dict[str, Any]) -> None:
    """/model-access and the Diagnose this error shortcut match the handlers' names."""
    features = manifest["features"]
    assert [c["command"] for c in features["slash_commands"]] == [COMMAND]
    shortcuts = {s["callback_id"]: s["type"] for s in features["shortcuts"]}
    assert shortcuts == {CALLBACK_ID: "message"}
    assert features["app_home"]["home_tab_enabled"] is True


def test_every_event_a_listener_needs_is_subscribed(manifest: dict[str, Any]) -> None:
    """The bot events cover every listener, and nothing more."""
    assert set(manifest["settings"]["event_subscriptions"]["bot_events"]) == EVENTS


def test_scopes_are_the_ones_the_listeners_use(manifest: dict[str, Any]) -> None:
    """Each needed scope is asked for; the extra is only chat:write.public (posting notices)."""
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert scopes >= SCOPES
    assert scopes - SCOPES == {"chat:write.public"}


def test_socket_mode_is_on_and_interactivity_enabled(manifest: dict[str, Any]) -> None:
    """The manifest installs a Socket Mode app, which needs no public URL."""
    settings = manifest["settings"]
    assert settings["socket_mode_enabled"] is True
    assert settings["interactivity"]["is_enabled"] is True


def test_the_messages_tab_is_open_because_the_bot_answers_direct_messages(
    manifest: dict[str, Any],
) -> None:
    """The bot listens to message.im, so people must be able to write to it: the tab is on, not read-only."""
    app_home = manifest["features"]["app_home"]
    assert "message.im" in manifest["settings"]["event_subscriptions"]["bot_events"]
    assert app_home["messages_tab_enabled"] is True
    assert app_home["messages_tab_read_only_enabled"] is False
