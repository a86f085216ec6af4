"""Rate-limit headers -> Limits, with a usage-tier guess.

Both guesses are third-party heuristics (cunnymessiah/keychecker `OpenAI.py` and
`Anthropic.py`, see research/probing.md §2.3 and §3), not documented by the providers:
custom increases, per-project limits and new models break them. So a guess is always
phrased "looks like Tier N (from <header>=<value>)" and is None when nothing matches.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from bot.results import Limits

# OpenAI, gpt-5 family: tokens-per-minute limit -> tier (keychecker, 2025-26).
_OPENAI_GPT5_TPM: dict[int, str] = {
    500_000: "Tier 1",
    1_000_000: "Tier 2",
    2_000_000: "Tier 3",
    4_000_000: "Tier 4",
    40_000_000: "Tier 5",
}
# Other OpenAI models: only the Tier 5 figure is distinctive enough to name.
_OPENAI_OTHER_TPM: dict[int, str] = {30_000_000: "Tier 5"}
# Anthropic: requests-per-minute limit -> tier (keychecker `Anthropic.py`).
_ANTHROPIC_RPM: dict[int, str] = {5: "Free", 50: "Tier 1", 1000: "Tier 2", 2000: "Tier 3"}
_ANTHROPIC_TIER4_RPM = 4000

_GPT5 = re.compile(r"^gpt-5")


def _int(headers: Mapping[str, str], name: str) -> int | None:
    raw = headers.get(name)
    if raw is None:
        return None
    try:
        return int(float(raw.strip()))
    except ValueError:
        return None


def openai_limits(headers: Mapping[str, str], model: str) -> Limits | None:
    """Limits from OpenAI's x-ratelimit-* headers (also Azure's), or None when absent."""
    h = {k.lower(): v for k, v in headers.items()}
    rpm = _int(h, "x-ratelimit-limit-requests")
    tpm = _int(h, "x-ratelimit-limit-tokens")
    remaining_requests = _int(h, "x-ratelimit-remaining-requests")
    remaining_tokens = _int(h, "x-ratelimit-remaining-tokens")
    if rpm is None and tpm is None and remaining_requests is None and remaining_tokens is None:
        return None
    guess = None
    if tpm is not None:
        table = _OPENAI_GPT5_TPM if _GPT5.match(model) else _OPENAI_OTHER_TPM
        tier = table.get(tpm)
        if tier is not None:
            guess = f"looks like {tier} (from x-ratelimit-limit-tokens={tpm})"
    return Limits(
        requests_per_min=rpm,
        tokens_per_min=tpm,
        remaining_requests=remaining_requests,
        remaining_tokens=remaining_tokens,
        tier_guess=guess,
    )


def anthropic_limits(headers: Mapping[str, str]) -> Limits | None:
    """Limits from Anthropic's anthropic-ratelimit-* headers, or None when absent."""
    h = {k.lower(): v for k, v in headers.items()}
    rpm = _int(h, "anthropic-ratelimit-requests-limit")
    values = {
        "tokens_per_min": _int(h, "anthropic-ratelimit-tokens-limit"),
        "input_tokens_per_min": _int(h, "anthropic-ratelimit-input-tokens-limit"),
        "output_tokens_per_min": _int(h, "anthropic-ratelimit-output-tokens-limit"),
        "remaining_requests": _int(h, "anthropic-ratelimit-requests-remaining"),
        "remaining_tokens": _int(h, "anthropic-ratelimit-tokens-remaining"),
    }
    if rpm is None and all(v is None for v in values.values()):
        return None
    guess = None
    if rpm is not None:
        tier = _ANTHROPIC_RPM.get(rpm)
        if tier is None and rpm == _ANTHROPIC_TIER4_RPM:
            tier = "Tier 4"
        elif tier is None and rpm > _ANTHROPIC_TIER4_RPM:
            tier = "the Scale tier"
        if tier is not None:
            guess = f"looks like {tier} (from anthropic-ratelimit-requests-limit={rpm})"
    return Limits(requests_per_min=rpm, tier_guess=guess, **values)


def limits_from(provider: str, headers: Mapping[str, str], model: str) -> Limits | None:
    """Limits from whichever headers this provider sends."""
    if provider == "anthropic":
        return anthropic_limits(headers)
    return openai_limits(headers, model)
