"""The shape ARCHITECTURE.md promises: rooms on floors, imports only downwards, no circles.

bot/ is the library (its rooms: the base modules, knowledge, diagnosis, probing, broadcasts,
then the engine); handlers/ (Slack) and cli/ (the terminal) are adapters above it. A room
may import its own modules and the rooms on lower floors, never a room on its own floor or
above; nothing in bot/ imports Slack or an adapter. Lazy imports inside functions count too.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "handlers", "cli")
# Each room and its floor; a module's room is the longest prefix of its name listed here.
FLOORS: dict[str, int] = {
    "bot": 0,  # the base: results, errors, config, keys, redaction, logging, cache, clock, ...
    "bot.knowledge": 1,
    "bot.diagnosis": 2,
    "bot.scan": 2,
    "bot.probing": 3,
    "bot.broadcasts": 3,
    "bot.engine": 4,
    "handlers": 5,
    "cli": 6,  # the process entry point: it starts the Slack adapter for serve and worker
}
SLACK = ("slack_sdk", "slack_bolt")
MAX_LINES = 400


def module_files() -> dict[str, Path]:
    """Every module of the three packages by dotted name (a package by its __init__)."""
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def imported_modules(path: Path, known: Iterable[str] = ()) -> set[str]:
    """Every module a file imports, at any depth (lazy imports inside functions too).

    `from pkg import name` yields `pkg.name` when that is one of the `known` modules (the
    package itself is not imported for it then), else `pkg`.
    """
    modules = set(known)
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            subs = {f"{node.module}.{alias.name}" for alias in node.names}
            names.update(subs & modules)
            if subs - modules:
                names.add(node.module)
    return names


def graph(files: Mapping[str, Path]) -> dict[str, set[str]]:
    """Module -> the modules of ours it imports."""
    return {
        name: imported_modules(path, files) & set(files) - {name} for name, path in files.items()
    }


def room_of(module: str) -> str:
    """The room a module stands in: the longest listed prefix of its name."""
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        prefix = ".".join(parts[:n])
        if prefix in FLOORS:
            return prefix
    raise AssertionError(f"{module} is in no room of FLOORS")


def upward(edges: Mapping[str, Iterable[str]]) -> list[str]:
    """Imports of a room on the same floor or above (other than one's own room)."""
    bad = []
    for source, targets in edges.items():
        for target in targets:
            a, b = room_of(source), room_of(target)
            if a != b and FLOORS[b] >= FLOORS[a]:
                bad.append(f"{source} -> {target}")
    return sorted(bad)


def circles(edges: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Every strongly connected group of two or more modules (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


FILES = module_files()
EDGES = graph(FILES)


def test_no_import_circles() -> None:
    """No two modules import each other, directly or around a loop."""
    assert circles(EDGES) == []


def test_imports_only_run_down_the_floors() -> None:
    """A room imports only rooms on lower floors: the core never reaches up to an adapter."""
    assert upward(EDGES) == []


@pytest.mark.parametrize(
    "module", sorted(m for m in FILES if m.split(".")[0] == "bot"), ids=lambda m: m
)
def test_no_module_in_bot_imports_slack_or_an_adapter(module: str) -> None:
    """bot/ never imports Slack, handlers/ or cli/: the engine works the same everywhere."""
    bad = {
        m for m in imported_modules(FILES[module]) if m.split(".")[0] in (*SLACK, "handlers", "cli")
    }
    assert not bad, f"{module} imports {sorted(bad)}"


def test_the_entry_point_imports_slack_only_inside_functions() -> None:
    """cli/main.py reaches handlers only from inside a function, so explain and check never load Slack."""
    tree = ast.parse(FILES["cli.main"].read_text(encoding="utf-8"))
    top = {n.module for n in tree.body if isinstance(n, ast.ImportFrom) and n.module}
    top |= {a.name for n in tree.body if isinstance(n, ast.Import) for a in n.names}
    assert not {m for m in top if m.split(".")[0] in (*SLACK, "handlers")}


@pytest.mark.parametrize("module", sorted(FILES), ids=lambda m: m)
def test_every_module_is_short_enough_to_read(module: str) -> None:
    """No module of the packages is over 400 lines: split it by concern instead."""
    lines = FILES[module].read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"{module} has {lines} lines"


def test_bot_has_rooms_of_its_own() -> None:
    """bot/ is organised in subpackages (knowledge, diagnosis, probing, broadcasts)."""
    packages = {p.parent.name for p in (ROOT / "bot").glob("*/__init__.py")}
    assert {"knowledge", "diagnosis", "probing", "broadcasts"} <= packages


# -- the checks themselves can fail -------------------------------------------------------------


def test_the_import_scan_sees_lazy_and_from_imports(tmp_path: Path) -> None:
    """The scan sees an import inside a function, and `from pkg import module` as that module."""
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from slack_sdk.models import blocks\n    return blocks\n")
    assert "slack_sdk.models" in imported_modules(sample)
    assert imported_modules(sample, ["slack_sdk.models.blocks"]) == {"slack_sdk.models.blocks"}


def test_a_circle_and_an_upward_import_are_found() -> None:
    """A loop of three modules is one circle; the core importing an adapter is upward."""
    loop = {
        "bot.engine": {"bot.broadcasts.inventory"},
        "bot.broadcasts.inventory": {"bot.broadcasts.deprecations"},
        "bot.broadcasts.deprecations": {"bot.engine"},
    }
    assert circles(loop) == [sorted(loop)]
    assert upward(loop) == ["bot.broadcasts.deprecations -> bot.engine"]
    assert upward({"bot.probing.prober": {"bot.broadcasts.asks"}}) == [
        "bot.probing.prober -> bot.broadcasts.asks"
    ]
    assert upward({"bot.cache": {"handlers.render.blocks"}}) == [
        "bot.cache -> handlers.render.blocks"
    ]
