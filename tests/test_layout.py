"""The shape the design promises: bot/ is the library, handlers/ the only Slack adapter."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BOT = ROOT / "bot"
SLACK_PACKAGES = ("slack_sdk", "slack_bolt", "handlers", "cli")
# The console entry point starts the Slack adapter for `serve` and `worker` (lazily, so
# every other command runs without Slack's packages being imported).
ENTRY_POINT = ROOT / "cli" / "main.py"


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at any depth (lazy imports inside functions too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", sorted(BOT.rglob("*.py")), ids=lambda p: str(p.relative_to(BOT)))
def test_no_module_in_bot_imports_slack(path: Path) -> None:
    """bot/ never imports Slack or the handlers: the engine works the same from the CLI."""
    slack = {m for m in imported_modules(path) if m.split(".")[0] in SLACK_PACKAGES}
    assert not slack, f"{path.name} imports {sorted(slack)}"


def test_the_entry_point_imports_slack_only_inside_functions() -> None:
    """cli.py reaches handlers only from inside a function, never at import time."""
    tree = ast.parse(ENTRY_POINT.read_text(encoding="utf-8"))
    top = {n.module for n in tree.body if isinstance(n, ast.ImportFrom) and n.module}
    top |= {a.name for n in tree.body if isinstance(n, ast.Import) for a in n.names}
    assert not {m for m in top if m.split(".")[0] in ("slack_sdk", "slack_bolt", "handlers")}


def test_the_check_finds_an_import_where_there_is_one(tmp_path: Path) -> None:
    """The import scan itself sees a lazy import inside a function."""
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from slack_sdk.models import blocks\n    return blocks\n")
    assert "slack_sdk.models" in imported_modules(sample)
