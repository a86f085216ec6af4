"""Catalog files: reading the bundled file and an operator's, merging them, checking links.

An operator entry with a bundled id (and provider, when several have the id) overrides that
entry field by field; any other is a new model. Every error is a CatalogError naming the
file, line and field, e.g. `our-models.yaml:12: models[3].shutdown: invalid date 'soon'`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot import yamlfile
from bot.errors import ConfigError
from bot.knowledge.model_entry import Day, ModelEntry
from bot.yamlfile import Loc


class CatalogError(ConfigError):
    """A catalog file is invalid; the message names file, line and field."""


@dataclass(frozen=True)
class _Origin:
    """Where one models[] item came from, to point error messages at a line."""

    file: str
    index: int
    node: yaml.Node | None

    def at(self, path: Loc, message: str, line: int | None = None) -> str:
        field = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)
        if line is None and self.node is not None:
            line = yamlfile.line_of(self.node, path)
        return f"{self.file}:{line or '?'}: models[{self.index}]{field}: {message}"


class _Head(BaseModel):
    """The top level of a catalog file; models are validated one by one afterwards."""

    model_config = ConfigDict(extra="forbid")

    as_of: Day | None = None
    sources: dict[Annotated[str, Field(min_length=1)], str] = {}
    models: list[Any] = []


@dataclass(frozen=True)
class _File:
    as_of: date | None
    sources: dict[str, str]
    items: list[tuple[_Origin, object]]


_Table = dict[tuple[str, str], tuple[ModelEntry, _Origin]]


@dataclass(frozen=True)
class Contents:
    """The validated entries of a catalog's files, each with the place it came from."""

    as_of: date
    sources: dict[str, str]
    table: _Table

    def entries(self) -> list[ModelEntry]:
        """The entries in file order (bundled first, then operator additions)."""
        return [e for e, _ in self.table.values()]

    def check_links(self, successor: Callable[[ModelEntry], ModelEntry | None]) -> None:
        """Names unique per provider, sources declared, replacements resolvable and acyclic.

        `successor` is the built catalog's lookup of an entry's replacement.
        """
        owner: dict[tuple[str, str], ModelEntry] = {}
        for entry, origin in self.table.values():
            for i, name in enumerate(entry.names):
                other = owner.setdefault((entry.provider, name), entry)
                if other is not entry:
                    path: Loc = ("id",) if i == 0 else ("aliases", i - 1)
                    raise CatalogError(
                        origin.at(
                            path, f"{name!r} is already used by {other.id} ({other.provider})"
                        )
                    )
            if entry.source not in self.sources:
                raise CatalogError(
                    origin.at(
                        ("source",), f"unknown source {entry.source!r} (declare it under sources:)"
                    )
                )
        for entry, origin in self.table.values():
            if entry.replacement is None:
                continue
            target = successor(entry)
            if target is None:
                raise CatalogError(
                    origin.at(
                        ("replacement",),
                        f"{entry.replacement!r} (replacement for {entry.id}) is not a model id or alias in the catalog",
                    )
                )
            chain = [entry.id]
            seen = {(entry.provider, entry.id)}
            while target is not None:
                chain.append(target.id)
                if (target.provider, target.id) in seen:
                    loop = " -> ".join(chain)
                    raise CatalogError(origin.at(("replacement",), f"replacements loop: {loop}"))
                seen.add((target.provider, target.id))
                target = successor(target)


def read_files(bundled: Path, extra_file: Path | None = None) -> Contents:
    """A base catalog file plus an optional operator file, validated and merged."""
    base = _read_file(bundled, operator=False)
    if base.as_of is None:
        raise CatalogError(f"{bundled.name}:1: as_of: missing required field")
    sources = dict(base.sources)
    table: _Table = {}
    for origin, raw in base.items:
        entry = _validate(raw, origin)
        key = (entry.provider, entry.id)
        if key in table:
            raise CatalogError(
                origin.at(("id",), f"duplicate id {entry.id!r} for {entry.provider}")
            )
        table[key] = (entry, origin)
    if extra_file is not None:
        extra = _read_file(extra_file, operator=True)
        sources.update(extra.sources)
        _apply_operator(table, extra.items)
    return Contents(base.as_of, sources, table)


def read_operator_file(path: Path) -> Contents:
    """One operator-format file alone; without its own as_of, that of its newest entry."""
    extra = _read_file(path, operator=True)
    table: _Table = {}
    _apply_operator(table, extra.items)
    newest = max((e.as_of for e, _ in table.values()), default=date.min)
    return Contents(extra.as_of or newest, extra.sources, table)


def _read_file(path: Path, *, operator: bool) -> _File:
    name = path.name
    try:
        document = yamlfile.read(path, fast=True)
    except OSError as exc:
        raise CatalogError(f"{path}: cannot read catalog file ({exc.strerror})") from None
    except yamlfile.YamlSyntaxError as exc:
        problem = exc.problem or str(exc)
        raise CatalogError(f"{name}:{exc.line or '?'}: not valid YAML: {problem}") from None
    data = document.data
    if not isinstance(data, dict):
        raise CatalogError(f"{name}:1: expected a mapping with a models: list")
    try:
        head = _Head.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        line = document.line_of(loc) or "?"
        where = ".".join(str(p) for p in loc)
        raise CatalogError(f"{name}:{line}: {where}: {_describe(err)}") from None
    if not operator and (head.as_of is None or "models" not in data):
        raise CatalogError(f"{name}:1: a catalog file needs as_of: and models:")
    item_nodes = _models_nodes(document.root)
    items = [
        (_Origin(name, i, item_nodes[i] if i < len(item_nodes) else None), raw)
        for i, raw in enumerate(head.models)
    ]
    return _File(head.as_of, dict(head.sources), items)


def _models_nodes(root: yaml.Node | None) -> list[yaml.Node]:
    if isinstance(root, yaml.MappingNode):
        for key, value in root.value:
            if key.value == "models" and isinstance(value, yaml.SequenceNode):
                return list(value.value)
    return []


def _describe(err: Mapping[str, Any]) -> str:
    """One short phrase for a pydantic error."""
    kind, value, ctx = err["type"], err.get("input"), err.get("ctx") or {}
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "missing":
        return "missing required field"
    if kind.startswith(("date_", "datetime_")):
        return f"invalid date {value!r} (use YYYY-MM-DD)"
    if kind == "literal_error":
        return f"{value!r} is not one of {ctx.get('expected', '')}"
    if kind.startswith("int_"):
        return f"expected a whole number, got {value!r}"
    if kind == "value_error":
        return str(err["msg"]).removeprefix("Value error, ")
    return f"{err['msg']} (got {value!r})"


def _validate(
    raw: object, origin: _Origin, node_raw: Mapping[str, Any] | None = None
) -> ModelEntry:
    """Validate one item; `node_raw` is the part the file gave when it is merged into another."""
    if not isinstance(raw, dict):
        raise CatalogError(origin.at((), f"expected a mapping, got {type(raw).__name__}"))
    _reject_duplicate_keys(origin)
    try:
        return ModelEntry.model_validate(raw)
    except ValidationError as exc:
        errors = exc.errors()
        first = errors[0]
        loc: Loc = tuple(first["loc"])
        if node_raw is not None and loc and loc[0] not in node_raw:
            loc = ()  # the failing field came from the bundled entry: point at the override
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise CatalogError(origin.at(loc, _describe(first) + more)) from None


def _reject_duplicate_keys(origin: _Origin) -> None:
    # YAML silently keeps the last of two equal keys; in a catalog that hides a typo.
    if not isinstance(origin.node, yaml.MappingNode):
        return
    seen: set[str] = set()
    for key, _ in origin.node.value:
        if key.value in seen:
            line = int(key.start_mark.line) + 1
            raise CatalogError(origin.at((key.value,), "field given twice", line))
        seen.add(key.value)


def _apply_operator(
    table: _Table,
    items: list[tuple[_Origin, object]],
) -> None:
    """Override bundled entries field by field (matched by id and provider), or add new ones."""
    touched: set[tuple[str, str]] = set()
    for origin, raw in items:
        if not isinstance(raw, dict):
            raise CatalogError(origin.at((), f"expected a mapping, got {type(raw).__name__}"))
        model_id, provider = raw.get("id"), raw.get("provider")
        if not isinstance(model_id, str):
            raise CatalogError(origin.at(("id",), "missing required field"))
        matches = [k for k in table if k[1] == model_id and provider in (None, k[0])]
        owner = next((e for e, _ in table.values() if model_id in e.aliases), None)
        if not matches and owner is not None and provider in (None, owner.provider):
            raise CatalogError(
                origin.at(("id",), f"{model_id!r} is an alias of {owner.id}; override by that id")
            )
        if len(matches) > 1:
            owners = ", ".join(k[0] for k in matches)
            raise CatalogError(
                origin.at(("id",), f"{model_id!r} exists for {owners}; add provider: to choose")
            )
        if matches:
            key = matches[0]
            merged = {**table[key][0].model_dump(), **raw}
            entry = _validate(merged, origin, node_raw=raw)
        else:
            entry = _validate(raw, origin)
        new_key = (entry.provider, entry.id)
        if new_key in touched:
            raise CatalogError(origin.at(("id",), f"{model_id!r} is given twice in this file"))
        touched.add(new_key)
        if matches and matches[0] != new_key:
            del table[matches[0]]
        table[new_key] = (entry, origin)
