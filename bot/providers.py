"""The providers a key can belong to: their ids, how people name them, and who speaks for whom.

An error pasted from one provider can be checked live with keys of that provider, and with
keys that reach the same models another way (Azure and gateways serve OpenAI's models).
"""

from __future__ import annotations

from typing import Literal, get_args

Provider = Literal["openai", "azure", "anthropic", "openai-compatible"]
PROVIDERS: tuple[Provider, ...] = get_args(Provider)

# How providers are named in messages; Slack too, whose tokens the secret guard names.
TITLES: dict[str, str] = {
    "openai": "OpenAI",
    "azure": "Azure OpenAI",
    "anthropic": "Anthropic",
    "openai-compatible": "the gateway",
    "slack": "Slack",
}

# Which key providers can answer for an error that came from a provider.
FAMILIES: dict[str, frozenset[Provider]] = {
    "anthropic": frozenset({"anthropic"}),
    "openai": frozenset({"openai", "azure", "openai-compatible"}),
    "azure": frozenset({"azure", "openai", "openai-compatible"}),
}


# Whose models a key of each provider serves, in the order their catalog entries are tried.
# A gateway serves anyone's (its ids may name the provider: `anthropic/claude-…`).
_SERVES: dict[str, tuple[Provider, ...]] = {
    "openai": ("openai",),
    "azure": ("azure", "openai"),
    "anthropic": ("anthropic",),
}


def title(name: str) -> str:
    """A provider's name for people (an unknown one as given)."""
    return TITLES.get(name, name)


def speaks_for(error_provider: str | None) -> frozenset[Provider] | None:
    """The key providers that can check an error from `error_provider`; None: any can (unknown)."""
    return FAMILIES.get(error_provider or "")


def owners(provider: str | None, model_id: str) -> tuple[Provider, ...] | None:
    """Whose catalog entries describe `model_id` for a key or error of `provider`; None: anyone's.

    A gateway's (or an unknown provider's) id that names a provider, `openai/gpt-4o`, is that
    provider's model.
    """
    served = _SERVES.get(provider or "")
    if served is not None:
        return served
    head = model_id.split("/", 1)[0] if "/" in model_id else ""
    named = next((p for p in PROVIDERS if p == head), None)
    return (named,) if named is not None else None
