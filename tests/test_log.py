"""Logging: secrets are masked in every field, nested ones and exception text included."""

from __future__ import annotations

import io
import json
import logging

import structlog

from bot import log as logsetup
from bot.redact import find, mask

OPENAI = "sk-proj-" + "Zq3FAKEkey" * 4
ANTHROPIC = "sk-ant-api03-" + "FAKEant" * 5
SVCACCT = "sk-svcacct-" + "FAKEsvc" * 5
AZURE = "9f86d081884c7d659a2feaa0c55ad015"
SLACK_BOT = "xoxb-" + "1234-5678-" + "FAKEbot" * 3
SLACK_APP = "xapp-1-A0FAKE-" + "123456-" + "f" * 20
SECRETS = [OPENAI, ANTHROPIC, SVCACCT, AZURE, SLACK_BOT, SLACK_APP]


def test_mask_keeps_only_prefix_and_fingerprint() -> None:
    """A masked key shows its kind and last four characters, never the rest."""
    text = f"key={OPENAI} token {SLACK_BOT} az {AZURE}"
    masked = mask(text)
    for secret in (OPENAI, SLACK_BOT, AZURE):
        assert secret not in masked
        assert secret[-4:] in masked
    assert "sk-proj-****" in masked and "xoxb-****" in masked


def test_find_names_each_secret_once_with_its_provider() -> None:
    """The secret finder reports provider and fingerprint, each key once."""
    found = find(f"{ANTHROPIC} and {OPENAI} and {SLACK_APP}")
    assert [(f.provider, f.fingerprint) for f in found] == [
        ("anthropic", ANTHROPIC[-4:]),
        ("openai", OPENAI[-4:]),
        ("slack", SLACK_APP[-4:]),
    ]


def test_ordinary_words_are_not_mistaken_for_secrets() -> None:
    """Model ids, request ids and prose survive masking untouched."""
    text = "gpt-4o-2024-08-06 req_0123456789abcdef0123456789abcdef sk-learn task-12 sklearn"
    assert mask(text) == text
    assert find(text) == []


def _configured_stream() -> io.StringIO:
    stream = io.StringIO()
    logsetup.configure("DEBUG", json=True, stream=stream)
    return stream


def test_log_fields_nested_and_exceptions_are_redacted() -> None:
    """Secrets in the event, nested fields, stdlib log records and tracebacks never reach the output."""
    stream = _configured_stream()
    log = structlog.get_logger("test")
    log.info(
        "probe_done", header=f"Bearer {OPENAI}", nested={"keys": [ANTHROPIC, {"t": SLACK_BOT}]}
    )
    logging.getLogger("openai").warning("request failed for key %s", SVCACCT)

    def fail(api_key: str) -> None:
        raise RuntimeError(f"upstream rejected {api_key} and {AZURE}")

    try:
        fail(SLACK_APP)
    except RuntimeError:
        log.exception("probe_failed")
    out = stream.getvalue()
    lines = [json.loads(line) for line in out.splitlines()]
    assert lines[0]["event"] == "probe_done"
    assert "RuntimeError" in out  # the traceback is there ...
    for secret in SECRETS:
        assert secret not in out  # ... but no secret, not even the frame local `api_key`


def test_without_the_processor_the_same_events_would_leak() -> None:
    """Canary: the assertions above can fail — with redaction left out, the secret is printed."""
    stream = io.StringIO()
    structlog.configure(
        processors=[structlog.processors.JSONRenderer()],
        logger_factory=structlog.PrintLoggerFactory(stream),
        cache_logger_on_first_use=False,
    )
    structlog.get_logger().info("probe_done", header=f"Bearer {OPENAI}")
    assert OPENAI in stream.getvalue()
    logsetup.configure("INFO", json=True, stream=io.StringIO())


class _Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def test_on_a_terminal_logs_are_lines_for_people_not_json() -> None:
    """On a tty the renderer is the console one: level and event in words, no JSON braces."""
    stream = _Terminal()
    logsetup.configure("INFO", stream=stream)
    structlog.get_logger("test").warning("cache_unavailable", reason="Connection refused")
    line = stream.getvalue().strip()
    assert (
        "[warning" in line and "cache_unavailable" in line and "reason='Connection refused'" in line
    )
    assert not line.startswith("{")
    logsetup.configure("INFO", json=True, stream=io.StringIO())
