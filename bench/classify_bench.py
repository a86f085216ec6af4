"""How fast the classifier is: help-channel chatter, real error texts, and 1 MB pastes.

`run()` returns the numbers as a dict (single core, this process). Run it directly with
`python -m bench.classify_bench`.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

from bot.clock import today_of, utc_now
from bot.diagnosis.classify import Classifier
from bot.knowledge.catalog import Catalog
from bot.knowledge.taxonomy import Taxonomy

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "corpus"


def _rate(func: Callable[[str], object], texts: Sequence[str], seconds: float) -> float:
    """Calls per second of func over texts, cycling through them for about `seconds`."""
    done = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for text in texts:
            func(text)
        done += len(texts)
        now = time.perf_counter()
        if now >= deadline:
            return done / (now - start)


def _latency_ms(func: Callable[[str], object], text: str, repeat: int = 3) -> float:
    """Best-of-`repeat` wall time of one call, in milliseconds."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        func(text)
        best = min(best, time.perf_counter() - start)
    return best * 1000


def _one_megabyte_pastes(error: str) -> dict[str, str]:
    log = "2026-11-22T10:00:00Z INFO worker heartbeat ok, queue depth 3\n"
    return {
        "log_then_error": log * (1_000_000 // len(log)) + error,
        "open_braces": "{'error': {'message': '" * (1_000_000 // 23),
        "quotes": '"' * 1_000_000,
    }


def _cli_seconds(text: str, repeat: int = 3) -> float:
    """Best wall time of a whole `model-access explain --json -` process on this paste."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "cli", "explain", "--json", "-"],
            input=text,
            capture_output=True,
            text=True,
            check=True,
            cwd=str(CORPUS.parent.parent),
        )
        best = min(best, time.perf_counter() - started)
    return best


def run(seconds: float = 1.0) -> dict[str, Any]:
    """Classifications/s on chatter and on errors, prefilter msgs/s, and 1 MB paste latency."""
    classifier = Classifier(Catalog.load(None), Taxonomy.load(), today=today_of(utc_now))
    chatter = [
        m["text"] for m in yaml.safe_load((CORPUS / "chatter.yaml").read_text("utf-8"))["messages"]
    ]
    errors = [
        c["text"] for c in yaml.safe_load((CORPUS / "errors.yaml").read_text("utf-8"))["cases"]
    ]
    pastes = _one_megabyte_pastes(errors[0])
    return {
        "chatter_messages": len(chatter),
        "error_texts": len(errors),
        "prefilter_chatter_per_s": round(_rate(classifier.prefilter, chatter, seconds)),
        "explain_chatter_per_s": round(_rate(classifier.explain, chatter, seconds)),
        "explain_errors_per_s": round(_rate(classifier.explain, errors, seconds)),
        "explain_1mb_ms": {
            name: round(_latency_ms(classifier.explain, text), 1) for name, text in pastes.items()
        },
        # What a user waits for, process start-up and imports included.
        "cli_explain_1mb_s": {name: round(_cli_seconds(text), 2) for name, text in pastes.items()},
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
