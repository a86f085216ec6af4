"""The model catalog: ids, aliases, endpoints, lifecycle dates and gating, loaded from YAML.

The bundled file is bot/data/catalog.yaml; an operator file (config `catalog_file`) can
override bundled entries field by field or add new ones. Ids are unique per provider: the
same id can exist for openai, azure and an openai-compatible gateway, each with its own
lifecycle, and `get()` without a provider prefers the provider's own entry in the order of
`PROVIDERS`. Errors name the file, line and field, e.g.
`our-models.yaml:12: models[3].shutdown: invalid date 'soon'`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Literal, cast, get_args

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    ValidationError,
    model_validator,
)

from bot.errors import ConfigError

Endpoint = Literal[
    "chat", "responses", "completions", "embeddings", "images", "audio", "moderations", "realtime"
]
ENDPOINTS: tuple[str, ...] = get_args(Endpoint)
Provider = Literal["openai", "azure", "anthropic", "openai-compatible"]
PROVIDERS: tuple[str, ...] = get_args(Provider)
Status = Literal["active", "deprecated", "retired"]
STATUSES: tuple[str, ...] = get_args(Status)
GateKind = Literal["tier", "verification", "existing_users", "trusted_access", "limited_access"]

BUNDLED_FILE = Path(__file__).parent / "data" / "catalog.yaml"

# libyaml's parser when present: it keeps node marks (line numbers) and is ~10x faster.
_YamlLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class CatalogError(ConfigError):
    """A catalog file is invalid; the message names file, line and field."""


def _not_a_number(value: object) -> object:
    # pydantic would read an int as a unix timestamp; in a YAML date field it is a mistake.
    if isinstance(value, bool | int | float):
        raise ValueError(f"invalid date {value!r}")
    return value


Day = Annotated[date, BeforeValidator(_not_a_number)]
ModelId = Annotated[str, Field(min_length=1, pattern=r"^\S+$")]


class Gate(BaseModel):
    """One access condition beyond a valid key (tier, verification, programme, ...)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: GateKind
    detail: str = Field(min_length=1)


class ModelEntry(BaseModel):
    """What we know about one model id; `source` and `as_of` say where and when we saw it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: ModelId
    provider: Provider
    family: str = Field(min_length=1)
    endpoints: tuple[Endpoint, ...]
    aliases: tuple[ModelId, ...] = ()
    status: Status
    announced: Day | None = None
    shutdown: Day | None = None
    earliest_shutdown: Day | None = None  # a "not sooner than" promise; never a notice date
    replacement: ModelId | None = None
    gating: tuple[Gate, ...] = ()
    context_window: Annotated[StrictInt, Field(gt=0)] | None = None
    as_of: Day
    source: str = Field(min_length=1)
    notes: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> ModelEntry:
        if self.announced and self.shutdown and self.announced > self.shutdown:
            raise ValueError(f"announced {self.announced} is after shutdown {self.shutdown}")
        if len(set(self.names)) != len(self.names):
            raise ValueError("an alias repeats the id or another alias")
        return self

    @property
    def names(self) -> tuple[str, ...]:
        """The id followed by its aliases."""
        return (self.id, *self.aliases)

    def status_on(self, today: date) -> Status:
        """The status on a given day: retired from the shutdown date on."""
        if self.shutdown is not None and self.shutdown <= today:
            return "retired"
        return self.status


class Catalog:
    """Model entries indexed by id and alias. Build with `Catalog.load()`."""

    def __init__(
        self,
        entries: Iterable[ModelEntry],
        *,
        as_of: date,
        sources: Mapping[str, str] | None = None,
    ) -> None:
        self.as_of = as_of
        self._sources = dict(sources or {})
        self._entries = tuple(entries)
        rank = {p: i for i, p in enumerate(PROVIDERS)}
        index: dict[str, list[ModelEntry]] = {}
        for entry in self._entries:
            for name in entry.names:
                index.setdefault(name, []).append(entry)
        self._index = {
            name: tuple(sorted(hits, key=lambda e: rank[e.provider]))
            for name, hits in index.items()
        }

    @classmethod
    def load(cls, extra_file: Path | None = None) -> Catalog:
        """The bundled catalog, extended and overridden by an operator file if given."""
        return cls.from_files(BUNDLED_FILE, extra_file)

    @classmethod
    def from_files(cls, bundled: Path, extra_file: Path | None = None) -> Catalog:
        """Load a base catalog file plus an optional operator file; CatalogError if invalid."""
        base = _read_file(bundled, operator=False)
        if base.as_of is None:
            raise CatalogError(f"{bundled.name}:1: as_of: missing required field")
        sources = dict(base.sources)
        table: dict[tuple[str, str], tuple[ModelEntry, _Origin]] = {}
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
        catalog = cls((e for e, _ in table.values()), as_of=base.as_of, sources=sources)
        _check_links(table, catalog)
        return catalog

    @classmethod
    def only(cls, path: Path) -> Catalog:
        """A catalog of one operator-format file alone, without the bundled data (for tests)."""
        extra = _read_file(path, operator=True)
        table: dict[tuple[str, str], tuple[ModelEntry, _Origin]] = {}
        _apply_operator(table, extra.items)
        newest = max((e.as_of for e, _ in table.values()), default=date.min)
        catalog = cls(
            (e for e, _ in table.values()), as_of=extra.as_of or newest, sources=extra.sources
        )
        _check_links(table, catalog)
        return catalog

    @property
    def sources(self) -> Mapping[str, str]:
        """Source short names -> what they are (URL and description)."""
        return MappingProxyType(self._sources)

    def get(self, model_id: str, provider: str | None = None) -> ModelEntry | None:
        """The entry with this exact id or alias (case-sensitive), for one provider or the first."""
        hits = self._index.get(model_id, ())
        if provider is None:
            return hits[0] if hits else None
        return next((e for e in hits if e.provider == provider), None)

    def names(self, provider: str | None = None) -> list[str]:
        """Every id and alias, sorted (the candidates for did-you-mean)."""
        return sorted({n for e in self._entries if provider in (None, e.provider) for n in e.names})

    def entries(self) -> list[ModelEntry]:
        """All entries in file order (bundled first, then operator additions)."""
        return list(self._entries)

    def replacement_for(
        self, model_id: str, *, provider: str | None = None, today: date | None = None
    ) -> ModelEntry | None:
        """The model to move to: the named replacement, followed on while that one is retired.

        Stops at the last link when a chain ends on a retired model without a successor.
        """
        entry = self.get(model_id, provider)
        if entry is None:
            return None
        day = today or self.as_of
        seen = {(entry.provider, entry.id)}
        current = self._successor(entry)
        while current is not None and current.status_on(day) == "retired":
            further = self._successor(current)
            if further is None or (further.provider, further.id) in seen:
                break
            seen.add((current.provider, current.id))
            current = further
        return current

    def deprecations(self, today: date, within_days: int | None = None) -> list[ModelEntry]:
        """Entries with a shutdown date, soonest first.

        With `within_days`, only those shutting down from today to today + N days (inclusive);
        without it, all of them, past ones included.
        """
        if within_days is not None and within_days < 0:
            raise ValueError("within_days must be 0 or more")
        last = today + timedelta(days=within_days) if within_days is not None else None
        rank = {p: i for i, p in enumerate(PROVIDERS)}
        rows = [
            e
            for e in self._entries
            if e.shutdown is not None and (last is None or today <= e.shutdown <= last)
        ]
        return sorted(rows, key=lambda e: (e.shutdown, rank[e.provider], e.id))

    def with_live(
        self,
        model_id: str,
        *,
        shutdown: date | None,
        status: str | None,
        replacement: str | None,
        source: str,
        provider: str | None = None,
        seen: date | None = None,
    ) -> ModelEntry:
        """The entry with lifecycle fields from a provider's models list taking precedence.

        None means the provider said nothing about that field. When a live value contradicts
        the bundled one, the bundled value is kept in `notes`. A model the catalog does not
        know yields a minimal entry (endpoints unknown: empty).
        """
        if status is not None and status not in STATUSES:
            raise ValueError(f"unknown status {status!r}; expected one of {', '.join(STATUSES)}")
        live_status = cast("Status | None", status)
        bundled = self.get(model_id, provider)
        if bundled is None:
            return ModelEntry(
                id=model_id,
                provider=cast("Provider", provider or "openai"),
                family=model_id,
                endpoints=(),
                status=live_status or ("deprecated" if shutdown else "active"),
                shutdown=shutdown,
                replacement=replacement,
                as_of=seen or self.as_of,
                source=source,
                notes="Known only from the provider's live models list.",
            )
        if shutdown is None and live_status is None and replacement is None:
            return bundled
        return bundled.model_copy(
            update=_live_update(bundled, shutdown, live_status, replacement, source, seen)
        )

    def _successor(self, entry: ModelEntry) -> ModelEntry | None:
        if entry.replacement is None:
            return None
        return self.get(entry.replacement, entry.provider) or self.get(entry.replacement)


def _live_update(
    bundled: ModelEntry,
    shutdown: date | None,
    status: Status | None,
    replacement: str | None,
    source: str,
    seen: date | None,
) -> dict[str, Any]:
    """The fields a live report changes, with the bundled values it contradicts noted."""
    was = f"({bundled.source}, as of {bundled.as_of})"
    kept: list[str] = []
    if shutdown is not None and bundled.shutdown is not None and shutdown != bundled.shutdown:
        kept.append(f"The bundled catalog had shutdown {bundled.shutdown} {was}.")
    if replacement is not None and bundled.replacement not in (None, replacement):
        kept.append(f"The bundled catalog suggested {bundled.replacement} {was}.")
    if status is not None and status != bundled.status:
        kept.append(f"The bundled catalog had status {bundled.status} {was}.")
    new_status = status or bundled.status
    if status is None and shutdown is not None and bundled.status == "active":
        new_status = "deprecated"  # a shutdown date on a model means it is on its way out
    notes = " ".join(n for n in (bundled.notes, *kept) if n) or None
    return {
        "shutdown": shutdown or bundled.shutdown,
        "status": new_status,
        "replacement": replacement or bundled.replacement,
        "source": source,
        "as_of": seen or bundled.as_of,
        "notes": notes,
    }


# -- reading files ---------------------------------------------------------------------------

_Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class _Origin:
    """Where one models[] item came from, to point error messages at a line."""

    file: str
    index: int
    node: yaml.Node | None

    def at(self, path: _Loc, message: str, line: int | None = None) -> str:
        field = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)
        if line is None and self.node is not None:
            line = _line_of(self.node, path)
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


def _read_file(path: Path, *, operator: bool) -> _File:
    name = path.name
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogError(f"{path}: cannot read catalog file ({exc.strerror})") from None
    loader = _YamlLoader(text)
    try:
        root = loader.get_single_node()
        data = _plain(root, loader) if root is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else "?"
        problem = getattr(exc, "problem", None) or str(exc)
        raise CatalogError(f"{name}:{line}: not valid YAML: {problem}") from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise CatalogError(f"{name}:1: expected a mapping with a models: list")
    try:
        head = _Head.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        line = _line_of(root, loc) if root is not None else "?"
        where = ".".join(str(p) for p in loc)
        raise CatalogError(f"{name}:{line}: {where}: {_describe(err)}") from None
    if not operator and (head.as_of is None or "models" not in data):
        raise CatalogError(f"{name}:1: a catalog file needs as_of: and models:")
    item_nodes = _models_nodes(root)
    items = [
        (_Origin(name, i, item_nodes[i] if i < len(item_nodes) else None), raw)
        for i, raw in enumerate(head.models)
    ]
    return _File(head.as_of, dict(head.sources), items)


_STR, _NULL, _DAY, _MAP = (f"tag:yaml.org,2002:{t}" for t in ("str", "null", "timestamp", "map"))


def _plain(node: yaml.Node, loader: yaml.SafeLoader) -> object:
    """Python data for a node tree: a fast path for the plain cases, PyYAML for the rest.

    We compose nodes anyway (for line numbers); walking them directly is several times
    faster than SafeConstructor, which dominates load time otherwise.
    """
    if isinstance(node, yaml.ScalarNode):
        if node.tag == _STR:
            return node.value
        if node.tag == _NULL:
            return None
    elif isinstance(node, yaml.SequenceNode):
        return [_plain(item, loader) for item in node.value]
    elif node.tag == _MAP and all(k.tag == _STR for k, _ in node.value):
        return {k.value: _plain(v, loader) for k, v in node.value}
    try:
        if node.tag == _DAY and len(node.value) == 10:
            return date.fromisoformat(node.value)
        return loader.construct_object(node, deep=True)
    except ValueError:  # e.g. 2026-13-01: leave the text for validation to report with its line
        return node.value


def _models_nodes(root: yaml.Node | None) -> list[yaml.Node]:
    if isinstance(root, yaml.MappingNode):
        for key, value in root.value:
            if key.value == "models" and isinstance(value, yaml.SequenceNode):
                return list(value.value)
    return []


def _line_of(node: yaml.Node, path: Sequence[str | int]) -> int:
    """1-based line of the deepest node on `path` (a key's own line for the last step)."""
    current = node
    for depth, step in enumerate(path):
        nxt: yaml.Node | None = None
        if isinstance(current, yaml.MappingNode):
            for key, value in current.value:
                if key.value == step:
                    if depth == len(path) - 1:
                        return int(key.start_mark.line) + 1
                    nxt = value
                    break
        elif (
            isinstance(current, yaml.SequenceNode)
            and isinstance(step, int)
            and 0 <= step < len(current.value)
        ):
            nxt = current.value[step]
        if nxt is None:
            break
        current = nxt
    return int(current.start_mark.line) + 1


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
        loc: _Loc = tuple(first["loc"])
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
    table: dict[tuple[str, str], tuple[ModelEntry, _Origin]],
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


def _check_links(
    table: dict[tuple[str, str], tuple[ModelEntry, _Origin]], catalog: Catalog
) -> None:
    """Names unique per provider, sources declared, replacements resolvable and acyclic."""
    owner: dict[tuple[str, str], ModelEntry] = {}
    for entry, origin in table.values():
        for i, name in enumerate(entry.names):
            other = owner.setdefault((entry.provider, name), entry)
            if other is not entry:
                path: _Loc = ("id",) if i == 0 else ("aliases", i - 1)
                raise CatalogError(
                    origin.at(path, f"{name!r} is already used by {other.id} ({other.provider})")
                )
        if entry.source not in catalog.sources:
            raise CatalogError(
                origin.at(
                    ("source",), f"unknown source {entry.source!r} (declare it under sources:)"
                )
            )
    for entry, origin in table.values():
        if entry.replacement is None:
            continue
        target = catalog._successor(entry)
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
            target = catalog._successor(target)
