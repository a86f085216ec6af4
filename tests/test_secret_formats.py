"""Secrets of every shape people paste are found and masked; ids that look random are left alone.

Keys here are generated at run time from the documented shapes (sources in
tests/fakes/SOURCES.md, "Secret formats"); none is real.
"""

from __future__ import annotations

import random
import string
import time
import uuid
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.knowledge.catalog import Catalog
from bot.redact import find, mask, remember

ALNUM = string.ascii_letters + string.digits
HEX = "0123456789abcdef"


def body(n: int, alphabet: str = ALNUM, rng: random.Random | None = None) -> str:
    """n random characters (a fresh key body each call)."""
    pick = (rng or random).choice
    return "".join(pick(alphabet) for _ in range(n))


# (provider the finder must name, a key of that shape) — one per format people paste.
SHAPES: dict[str, tuple[str, Callable[[], str]]] = {
    "openai-project": ("openai", lambda: f"sk-proj-{body(74)}T3BlbkFJ{body(74)}"),
    "openai-legacy": ("openai", lambda: f"sk-{body(20)}T3BlbkFJ{body(20)}"),
    "openai-admin": ("openai", lambda: f"sk-admin-{body(58)}T3BlbkFJ{body(58)}"),
    "anthropic": ("anthropic", lambda: f"sk-ant-api03-{body(93)}AA"),
    "anthropic-admin": ("anthropic", lambda: f"sk-ant-admin01-{body(93)}AA"),
    "azure-new": (
        "azure",
        lambda: f"{body(52)}JQQJ99B{body(1, 'ABCDEFGHIJKL')}{body(16)}Q{body(7)}",
    ),
    "google": ("google", lambda: "AIza" + body(35, ALNUM + "_-")),
    "aws-key-id": ("aws", lambda: "AKIA" + body(16, string.ascii_uppercase + "234567")),
    "groq": ("groq", lambda: "gsk_" + body(52)),
    "xai": ("xai", lambda: "xai-" + body(80)),
    "huggingface": ("huggingface", lambda: "hf_" + body(34, string.ascii_letters)),
    "openrouter": ("openrouter", lambda: "sk-or-v1-" + body(64, HEX)),
    "together": ("together", lambda: "tgp_v1_" + body(43)),
    "perplexity": ("perplexity", lambda: "pplx-" + body(48)),
    "deepseek": ("openai", lambda: "sk-" + body(32, HEX)),
    "slack-bot": (
        "slack",
        lambda: f"xoxb-{body(12, string.digits)}-{body(12, string.digits)}-{body(24)}",
    ),
    "github": ("github", lambda: "ghp_" + body(36)),
    "github-fine": ("github", lambda: "github_pat_" + body(82, ALNUM + "_")),
}
# Formats with no prefix: a secret because of the words around it.
CONTEXTS: dict[str, tuple[str, Callable[[], str]]] = {
    "azure-classic": ("AZURE_OPENAI_API_KEY={}", lambda: body(32, HEX)),
    "mistral": ("MISTRAL_API_KEY='{}'", lambda: body(32)),
    "cohere": ('"cohere_api_key": "{}"', lambda: body(40)),
    "aws-secret": ("aws_secret_access_key = {}", lambda: body(40, ALNUM + "/+")),
    "bearer-uuid": ("Authorization: Bearer {}", lambda: str(uuid.uuid4())),
    "url-key": ("GET /v1beta/models/gemini:generateContent?key={} HTTP/1.1", lambda: body(39)),
}
# Where pasted keys end up: error bodies, tracebacks, JSON, URLs, Slack markup, env lines.
WRAPPERS = (
    "{}",
    "Error code: 401 - {{'error': {{'message': 'Incorrect API key provided: {}', 'code': 'invalid_api_key'}}}}",
    'Traceback (most recent call last):\n  File "app.py", line 3, in <module>\n    client = OpenAI(api_key="{}")\nopenai.AuthenticationError: 401',
    '{{"headers": {{"x-api-key": "{}"}}, "status": 401}}',
    "curl https://api.example.com/v1/models -H 'Authorization: Bearer {}'",
    "<https://example.com/?token={}|link> and `{}` in code",
    "export OPENAI_API_KEY={}\n",
)


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_every_prefixed_format_is_found_and_masked(shape: str) -> None:
    """Each provider's key shape is named with its provider and shows only its last four."""
    provider, make = SHAPES[shape]
    key = make()
    found = find(f"here: {key} ok")
    assert [(f.provider, f.fingerprint) for f in found] == [(provider, key[-4:])]
    masked = mask(f"here: {key} ok")
    assert key not in masked and key[:-4] not in masked and key[-4:] in masked


@pytest.mark.parametrize("shape", sorted(CONTEXTS))
def test_formats_without_a_prefix_are_found_by_their_context(shape: str) -> None:
    """A key with no prefix is a secret after `API_KEY=`, a bearer header or `?key=`; alone it is not."""
    template, make = CONTEXTS[shape]
    key = make()
    assert find(template.format(key)), template
    assert key not in mask(template.format(key))
    if shape != "azure-classic":  # a bare 32-hex string stays a *possible* key only
        assert find(f"value {key} seen") == []


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    shape=st.sampled_from(sorted(SHAPES)),
    wrapper=st.sampled_from(WRAPPERS),
    seed=st.integers(0, 2**32 - 1),
)
def test_a_key_in_any_wrapping_never_survives_masking(shape: str, wrapper: str, seed: int) -> None:
    """Property: a generated key inside error bodies, tracebacks, JSON, URLs or Slack markup is found and masked."""
    random.seed(seed)
    provider, make = SHAPES[shape]
    key = make()
    text = wrapper.format(key, key)
    assert key not in mask(text)
    assert any(f.provider == provider and f.fingerprint == key[-4:] for f in find(text))


NON_SECRETS: dict[str, Callable[[random.Random], str]] = {
    "uuid": lambda r: str(uuid.UUID(int=r.getrandbits(128))),
    "openai-request-id": lambda r: "req_" + body(32, HEX, r),
    "anthropic-request-id": lambda r: "req_011C" + body(20, ALNUM, r),
    "sha256": lambda r: "sha256:" + body(64, HEX, r),
    "git-sha": lambda r: body(40, HEX, r),
    "org-id": lambda r: "org-" + body(24, ALNUM, r),
    "project-id": lambda r: "proj_" + body(24, ALNUM, r),
    "slack-user": lambda r: "U0" + body(9, string.ascii_uppercase + string.digits, r),
    "trace-id": lambda r: body(32, HEX, r),
    "chatcmpl": lambda r: "chatcmpl-" + body(29, ALNUM, r),
    "tokens-field": lambda r: f"max_tokens: {r.randint(1, 10**6)}",
}
MODEL_IDS = Catalog.load().names()


@settings(max_examples=200, deadline=None)
@given(kind=st.sampled_from(sorted(NON_SECRETS)), seed=st.integers(0, 2**32 - 1))
def test_ids_that_look_random_are_not_secrets(kind: str, seed: int) -> None:
    """Property: request ids, hashes, UUIDs, org ids and trace ids in an error line are not flagged."""
    value = NON_SECRETS[kind](random.Random(seed))
    line = f"2026-12-01 ERROR request failed id={value} status=404"
    assert find(line) == [], (kind, value)


def test_model_ids_are_never_secrets() -> None:
    """No id or alias of the catalog is flagged or masked, alone or in an error message."""
    for model in MODEL_IDS:
        text = f"The model `{model}` does not exist or you do not have access to it."
        assert find(text, possible=True) == [] and mask(text) == text, model


def test_a_configured_key_of_any_shape_is_masked_once_remembered() -> None:
    """A gateway key in a format no rule knows is masked everywhere after start-up remembers it."""
    key = "gwkey." + body(30)
    assert mask(f"token {key}") == f"token {key}"
    remember(key)
    assert key not in mask(f"token {key} again") and key[-4:] in mask(f"token {key}")
    assert [f.kind for f in find(key)] == ["configured key"]


def test_masks_and_placeholders_are_left_alone() -> None:
    """Already-masked keys and placeholders are not secrets to warn about."""
    for text in (
        "Incorrect API key provided: sk-WRQsP***************************************xQBt.",
        "OPENAI_API_KEY=sk-your-openai-key-here",
        "api_key = '${OPENAI_API_KEY}'",
        "Incorrect API key provided: undefined.",
    ):
        assert find(text) == [], text


def _best_of(text: str, runs: int = 3) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        mask(text)
        best = min(best, time.perf_counter() - start)
    return best


@pytest.mark.parametrize(
    "unit",
    [
        "sk-" + "a" * 20 + " ",
        "api_key=Ab1Ab1Ab1Ab1Ab1Ab1\n",
        "0123456789abcdef" * 2 + " ",
        "token x ",
    ],
    ids=["keys", "assignments", "hex", "keywords"],
)
def test_scanning_is_linear_in_the_length(unit: str) -> None:
    """Four times the text costs about four times the time, not sixteen (was quadratic)."""
    small = unit * (25_000 // len(unit))
    large = unit * (100_000 // len(unit))
    ratio = _best_of(large) / max(_best_of(small), 1e-4)
    assert ratio < 8, ratio
