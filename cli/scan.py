"""`model-access scan`: the references a tree makes to retiring models, as text, JSON or SARIF.

Offline like `explain`: the bundled catalog (and the operator's catalog_file), no keys, no
Redis, no provider SDK, so it runs in CI and as a pre-commit hook. Exit 0 when nothing at or
past `--fail-on` is found within `--within` days, 1 otherwise, 2 on a usage error.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from itertools import groupby
from pathlib import Path
from typing import Any

from bot import __version__, providers
from bot.errors import UsageError
from bot.results import Reference, ScanReport

FAIL_ON = ("retired", "deprecated", "never")
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
RULES: dict[str, dict[str, str]] = {
    "model-retired": {
        "level": "error",
        "short": "A model that has been shut down",
        "full": "The code names a model whose provider has shut it down: every request with this id fails.",
        "help": "Replace the id with the recommended replacement (or a current model) and re-run your tests. "
        "`model-access check MODEL` shows whether your keys can use the replacement.",
    },
    "model-deprecated": {
        "level": "warning",
        "short": "A model with a shutdown date",
        "full": "The code names a model its provider has scheduled to shut down; after that date requests fail.",
        "help": "Plan the move to the recommended replacement before the shutdown date. "
        "`model-access deprecations` lists every model with a date.",
    },
}


def add_parser(sub: Any, day: Callable[[str], date]) -> None:
    """The `scan` sub-command's arguments (`day` parses --now with a one-line error)."""
    s = sub.add_parser(
        "scan",
        help="find code that names a retiring model",
        description="Find the places in a tree (default: the current folder) that name a model with "
        "a shutdown date: file, line, column, the date and the replacement. Honours .gitignore; skips "
        "binaries, vendored and generated files. Exit 0 when nothing at or past --fail-on is found "
        "within --within days, 1 otherwise, 2 on a usage error.",
    )
    s.add_argument(
        "paths", nargs="*", type=Path, metavar="PATH", help="folders or files (default .)"
    )
    s.add_argument(
        "--within",
        type=int,
        metavar="DAYS",
        help="only models shutting down within DAYS (and past ones)",
    )
    s.add_argument(
        "--now",
        type=day,
        metavar="YYYY-MM-DD",
        help="judge shutdown dates as of this day (default today)",
    )
    s.add_argument(
        "--fail-on",
        choices=FAIL_ON,
        default="retired",
        help="exit 1 on a reference to a retired model (default), to any retiring one, or never",
    )
    out = s.add_mutually_exclusive_group()
    out.add_argument(
        "--json", action="store_true", help="print a JSON list, one object per reference"
    )
    out.add_argument("--sarif", action="store_true", help="print SARIF 2.1.0 for code scanning")


def check_paths(paths: Sequence[Path]) -> list[Path]:
    """The paths to scan (default .); UsageError for one that does not exist."""
    chosen = list(paths) or [Path(".")]
    for path in chosen:
        if not path.exists():
            raise UsageError(f"scan: {path} does not exist")
    return chosen


def selected(report: ScanReport, within: int | None) -> list[Reference]:
    """The references to show: all with a shutdown date, or those within `within` days (and past)."""
    if within is not None and within < 0:
        raise UsageError("--within takes a number of days, 0 or more")
    if within is None:
        return list(report.references)
    last = report.today + timedelta(days=within)
    return [r for r in report.references if r.shutdown is not None and r.shutdown <= last]


def exit_code(refs: Sequence[Reference], fail_on: str) -> int:
    """1 when a reference is at or past the --fail-on level, else 0."""
    if fail_on == "never":
        return 0
    bad = [r for r in refs if r.status == "retired" or fail_on == "deprecated"]
    return 1 if bad else 0


def text(refs: Sequence[Reference], report: ScanReport) -> str:
    """References grouped by shutdown date, then by model, soonest first."""
    if not refs:
        return f"No reference to a retiring model in {report.files} files."
    out: list[str] = []
    for day, same_day in groupby(refs, key=lambda r: r.shutdown):
        rows = list(same_day)
        left = rows[0].days_left
        when = "no date" if day is None or left is None else _when(day, left)
        out.append(f"{day} — {when}")
        for model, uses in groupby(
            sorted(rows, key=lambda r: (r.model, r.file, r.line)), key=lambda r: r.model
        ):
            places = list(uses)
            first = places[0]
            instead = f" → {first.replacement}" if first.replacement else " (no replacement named)"
            out.append(f"  {model} ({providers.title(first.provider)}){instead}")
            out += [f"    {r.file}:{r.line}:{r.column}  {r.text}  [{r.kind}]" for r in places]
        out.append("")
    total = len(refs)
    out.append(f"{total} reference{'s' if total != 1 else ''} in {report.files} files scanned.")
    return "\n".join(out)


def _when(day: date, left: int) -> str:
    if left < 0:
        return f"shut down {-left} day{'s' if left != -1 else ''} ago"
    if left == 0:
        return "shuts down today"
    return f"shuts down in {left} day{'s' if left != 1 else ''}"


def as_json(refs: Sequence[Reference]) -> list[dict[str, Any]]:
    """One object per reference (the contract's fields)."""
    return [r.to_json() for r in refs]


def sarif(refs: Sequence[Reference], root: Path) -> dict[str, Any]:
    """A SARIF 2.1.0 log GitHub code scanning accepts: a rule per status, a result per reference."""
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "model-access",
                        "semanticVersion": __version__,
                        "rules": [_rule(rule_id, spec) for rule_id, spec in RULES.items()],
                    }
                },
                "originalUriBaseIds": {"%SRCROOT%": {"uri": root.resolve().as_uri() + "/"}},
                "results": [_result(r) for r in refs],
            }
        ],
    }


def _rule(rule_id: str, spec: dict[str, str]) -> dict[str, Any]:
    return {
        "id": rule_id,
        "name": "".join(part.title() for part in rule_id.split("-")),
        "shortDescription": {"text": spec["short"]},
        "fullDescription": {"text": spec["full"]},
        "help": {"text": spec["help"], "markdown": spec["help"]},
        "defaultConfiguration": {"level": spec["level"]},
        "properties": {
            "tags": ["model-lifecycle"],
            "precision": "high",
            "problem.severity": "warning",
        },
    }


def _result(r: Reference) -> dict[str, Any]:
    rule_id = "model-retired" if r.status == "retired" else "model-deprecated"
    verb = "was shut down" if r.status == "retired" else "shuts down"
    instead = f"; move to {r.replacement}" if r.replacement else ""
    message = f"{r.model} ({providers.title(r.provider)}) {verb} on {r.shutdown}{instead}."
    return {
        "ruleId": rule_id,
        "level": RULES[rule_id]["level"],
        "message": {"text": message},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": r.file, "uriBaseId": "%SRCROOT%"},
                    "region": {
                        "startLine": r.line,
                        "startColumn": r.column,
                        "endColumn": r.column + len(r.text),
                    },
                }
            }
        ],
        "properties": {"model": r.model, "shutdown": str(r.shutdown), "replacement": r.replacement},
    }


def run(args: argparse.Namespace, report: ScanReport) -> int:
    """Print the report as asked and return the exit code."""
    refs = selected(report, args.within)
    if args.sarif:
        print(json.dumps(sarif(refs, check_paths(args.paths)[0]), indent=2))
    elif args.json:
        print(json.dumps(as_json(refs), indent=2))
    else:
        print(text(refs, report))
    return exit_code(refs, args.fail_on)
