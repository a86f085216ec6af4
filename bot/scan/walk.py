"""Which files a scan reads: git's own list inside a work tree, else a walk that skips the usual noise.

Inside a git work tree `git ls-files` gives the tracked and untracked-but-not-ignored files,
so `.gitignore` is honoured exactly. Elsewhere the walk skips vendored, generated and tool
folders. Either way: no binaries (a NUL byte in the first 8 KiB), nothing over MAX_BYTES,
no lock files or minified bundles.
"""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

Kind = Literal["code", "config", "docs"]

MAX_BYTES = 2_000_000
SKIP_DIRS = frozenset(
    {
        ".git", ".hg", ".svn", "node_modules", ".venv", "venv", "env", "__pycache__",
        "site-packages", "vendor", "third_party", "dist", "build", ".tox", ".nox",
        ".mypy_cache", ".ruff_cache", ".pytest_cache", ".next", ".cache", "coverage",
    }
)  # fmt: skip
GENERATED_SUFFIXES = (".min.js", ".min.css", ".map", ".lock", "-lock.json", ".pyc")
BINARY_SUFFIXES = frozenset(
    {".png", ".jpg", ".jpeg", ".gif", ".ico", ".pdf", ".zip", ".gz", ".tar", ".whl", ".so",
     ".dylib", ".dll", ".exe", ".bin", ".woff", ".woff2", ".ttf", ".mp3", ".mp4", ".sqlite"}
)  # fmt: skip
DOCS = frozenset({".md", ".markdown", ".rst", ".txt", ".adoc", ".org", ".html"})
CONFIG = frozenset(
    {".yaml", ".yml", ".json", ".toml", ".ini", ".cfg", ".conf", ".properties", ".env", ".tf",
     ".tfvars", ".hcl"}
)  # fmt: skip


def kind_of(path: Path) -> Kind:
    """code, config or docs, by the file's name."""
    name = path.name.lower()
    if name.startswith(".env") or name.endswith(".env"):
        return "config"
    suffix = path.suffix.lower()
    if suffix in DOCS or name in {"readme", "changelog", "license"}:
        return "docs"
    if suffix in CONFIG:
        return "config"
    return "code"


def files(paths: list[Path]) -> Iterator[tuple[Path, Path]]:
    """(root, file) for every file to read under the given paths, each once.

    A path may be a file itself (its root is its folder), as pre-commit passes them.
    """
    seen: set[str] = set()
    for given in paths:
        root = given.parent if given.is_file() else given
        found = [given] if given.is_file() else (_git_files(given) or _walk(given))
        for path in found:
            where = os.path.realpath(path) if len(paths) > 1 else str(path)
            if where not in seen and _wanted(path, root):
                seen.add(where)
                yield root, path


def _git_files(root: Path) -> list[Path] | None:
    """Tracked and untracked-but-not-ignored files under root, or None outside a work tree."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],  # noqa: S607
            cwd=root,
            capture_output=True,
            check=True,
            timeout=60,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return [root / name for name in out.decode("utf-8", "replace").split("\0") if name]


def _walk(root: Path) -> list[Path]:
    found = []
    for here, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS and not d.endswith(".egg-info")]
        found += [Path(here) / n for n in names]
    return found


def _wanted(path: Path, root: Path) -> bool:
    name = path.name.lower()
    if path.suffix.lower() in BINARY_SUFFIXES or name.endswith(GENERATED_SUFFIXES):
        return False
    folders = path.relative_to(root).parts[:-1] if path.is_relative_to(root) else ()
    if any(part in SKIP_DIRS or part.endswith(".egg-info") for part in folders):
        return False
    try:
        info = path.stat()
    except OSError:
        return False
    return stat.S_ISREG(info.st_mode) and info.st_size <= MAX_BYTES


def read_bytes(path: Path) -> bytes | None:
    """The file's bytes, or None for a binary or unreadable file."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    return None if b"\0" in data[:8192] else data
