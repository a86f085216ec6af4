"""How fast `model-access scan` reads a large tree, next to `grep -rF -f ids.txt` on the same tree.

A deterministic tree of about a million lines (Python, TypeScript, Go, YAML, Markdown, JSON;
about 0.2 % of lines name a model) is generated in a temporary folder. Both tools run as
whole processes, alternately, several times; the minimum of each is kept and the ratio is
the figure that holds on a noisy machine (target: scan under 3x grep). `model-access
--version` is measured alongside as the floor of starting the CLI at all.
"""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bot.knowledge.catalog import Catalog

LINES = 1_000_000
RUNS = 3
_WORDS = [
    "def",
    "class",
    "return",
    "import",
    "from",
    "self",
    "value",
    "result",
    "config",
    "client",
    "response",
    "request",
    "message",
    "content",
    "data",
    "items",
    "index",
    "error",
    "print",
    "async",
    "await",
    "const",
    "let",
    "var",
    "function",
    "if",
    "else",
    "for",
    "while",
    "string",
    "number",
    "true",
    "false",
    "null",
    "none",
    "list",
    "dict",
    "map",
    "user",
    "token",
    "api",
    "key",
    "timeout",
]
_TEMPLATES = (
    '    model="{m}",',
    "  model: {m}",
    'MODEL = "{m}"',
    "const m = '{m}';",
    "- `{m}` is deprecated",
    'client.chat(model="{m}")',
    '"model": "{m}"',
    "openai/{m}",
)
_EXTS = (".py", ".ts", ".go", ".yaml", ".md", ".js", ".json")


def make_tree(root: Path, ids: list[str], lines: int = LINES) -> int:
    """Write a tree of about `lines` lines; returns the number of files."""
    rng = random.Random(42)
    total = files = 0
    while total < lines:
        folder = root / "src" / f"pkg{files // 50:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        n = rng.randint(50, 350)
        body = []
        for _ in range(n):
            if rng.random() < 0.002:
                body.append(rng.choice(_TEMPLATES).format(m=rng.choice(ids)))
            else:
                indent = "    " * rng.randint(0, 3)
                body.append(
                    indent + " ".join(rng.choice(_WORDS) for _ in range(rng.randint(2, 12)))
                )
        (folder / f"mod{files:05d}{rng.choice(_EXTS)}").write_text("\n".join(body) + "\n")
        total += n
        files += 1
    return files


def _best(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def run() -> dict[str, Any]:
    """Generate the tree, time grep, scan and --version side by side; return the figures."""
    if shutil.which("grep") is None:
        return {"skipped": "grep is not installed"}
    ids = sorted(set(Catalog.load().names()))
    cli = str(Path(sys.executable).parent / "model-access")
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        tree = tmp / "tree"
        files = make_tree(tree, ids)
        (tmp / "ids.txt").write_text("\n".join(ids) + "\n")
        commands = {
            "grep": ["grep", "-rF", "-f", str(tmp / "ids.txt"), str(tree)],
            "scan": [cli, "scan", str(tree), "--json", "--fail-on", "never"],
            "version": [cli, "--version"],
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(RUNS):
            for name, cmd in commands.items():
                times[name].append(_best(cmd, tmp))
    best = {name: min(values) for name, values in times.items()}
    ratio = best["scan"] / best["grep"]
    return {
        "lines": LINES,
        "files": files,
        "ids": len(ids),
        "grep_s": round(best["grep"], 3),
        "scan_s": round(best["scan"], 3),
        "version_s": round(best["version"], 3),
        "scan_over_grep": round(ratio, 2),
        "targets": {"scan_under_3x_grep": ratio < 3},
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
