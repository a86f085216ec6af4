"""How fast the help channel's pre-filter rejects chatter (target: >= 20,000 messages/s on one core).

Every message in a help channel goes through `Classifier.prefilter` before anything else,
so its throughput bounds what one replica can read. The messages are the corpus in
tests/corpus/help_chatter.yaml, cycled; error pastes are timed too, through the pre-filter
and through the full `explain`, and `detect_chatter_per_s` is the whole detection step on
chatter (pre-filter, then `explain` for the messages that pass it).
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from bot.clock import today_of, utc_now
from bot.config import AppConfig
from bot.diagnosis.classify import Classifier
from bot.knowledge.load import load_knowledge

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "corpus" / "help_chatter.yaml"
TARGET_PER_S = 20_000
CHATTER_N = 200_000
ERRORS_N = 20_000
EXPLAIN_N = 2_000
DETECT_N = 20_000  # pre-filter, then explain for what passes: the help channel's real cost


def load_corpus() -> tuple[list[str], list[str]]:
    """The chatter messages and the error pastes."""
    data = yaml.safe_load(CORPUS.read_text(encoding="utf-8"))
    return list(data["chatter"]), [e["text"] for e in data["errors"]]


def rate(fn: Callable[[str], Any], texts: list[str], n: int) -> tuple[float, int]:
    """Messages per second over n calls cycling through texts, and how many came back truthy."""
    batch = list(itertools.islice(itertools.cycle(texts), n))
    hits = 0
    started = time.perf_counter()
    for text in batch:
        if fn(text):
            hits += 1
    elapsed = time.perf_counter() - started
    return n / elapsed, hits


@contextmanager
def one_core() -> Iterator[bool]:
    """Pin this process to a single CPU for the block (where the OS allows it); yields whether it did."""
    if not hasattr(os, "sched_setaffinity"):
        yield False
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(before)})
    try:
        yield True
    finally:
        os.sched_setaffinity(0, before)


def run() -> dict[str, Any]:
    """Time the pre-filter on chatter and on error pastes, and explain on error pastes."""
    catalog, taxonomy = load_knowledge(AppConfig())
    classifier = Classifier(catalog, taxonomy, today=today_of(utc_now))
    chatter, errors = load_corpus()
    for text in chatter + errors:  # warm up caches and lazy compilation
        classifier.prefilter(text)
    with one_core() as pinned:
        chatter_rate, chatter_hits = rate(classifier.prefilter, chatter, CHATTER_N)
        errors_rate, errors_hits = rate(classifier.prefilter, errors, ERRORS_N)
        explain_rate, _ = rate(classifier.explain, errors, EXPLAIN_N)
        detect_rate, _ = rate(
            lambda t: classifier.prefilter(t) and classifier.explain(t), chatter, DETECT_N
        )
    return {
        "pinned_to_one_core": pinned,
        "chatter_corpus_size": len(chatter),
        "chatter_messages": CHATTER_N,
        "chatter_per_s": round(chatter_rate),
        "chatter_passed_prefilter": round(chatter_hits / CHATTER_N, 4),
        "error_pastes": ERRORS_N,
        "error_pastes_per_s": round(errors_rate),
        "error_pastes_passed_prefilter": round(errors_hits / ERRORS_N, 4),
        "explain_error_pastes_per_s": round(explain_rate),
        "detect_chatter_per_s": round(detect_rate),
        "target_per_s": TARGET_PER_S,
        "meets_target": chatter_rate >= TARGET_PER_S,
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
