"""Run every benchmark and write the numbers to bench/results.json (commit it with the change)."""

from __future__ import annotations

import importlib
import json
import platform
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

SUITES = (
    "classify_bench",
    "prefilter_bench",
    "probe_bench",
    "ack_bench",
    "serve_bench",
    "progressive_bench",
    "scan_bench",
)
OUT = Path(__file__).with_name("results.json")


def main() -> int:
    """Run each suite's run() in turn; a suite that fails is reported, the others still run."""
    results: dict[str, object] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": f"{platform.machine()} ({platform.processor() or 'unknown cpu'})",
    }
    failed = 0
    for name in SUITES:
        started = time.perf_counter()
        print(f"== {name}", flush=True)
        try:
            numbers = importlib.import_module(f"bench.{name}").run()
        except Exception:
            failed += 1
            traceback.print_exc()
            numbers = {"error": "failed; see the output of make bench"}
        numbers = {**numbers, "suite_seconds": round(time.perf_counter() - started, 2)}
        results[name] = numbers
        print(json.dumps(numbers, indent=2), flush=True)
    OUT.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {OUT}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
