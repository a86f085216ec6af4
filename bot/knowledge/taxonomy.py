"""Error causes as data: what each cause means, how to tell it apart, how to fix it.

The bundled `bot/data/taxonomy.yaml` is validated at load time; an operator file can add causes
or override fields of existing ones. Every validation error names the file, the line and the
field. `Taxonomy.diagnosis()` turns a cause id into a `Diagnosis` with the prose filled in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bot import yamlfile
from bot.causes import CAUSES
from bot.knowledge.template import check_template, render
from bot.providers import Provider
from bot.results import Diagnosis, Fix

__all__ = [
    "BUNDLED",
    "CAUSES",
    "CauseEntry",
    "CauseOverride",
    "FixSpec",
    "Matcher",
    "Taxonomy",
    "TaxonomyError",
    "UnknownCause",
    "render",
]

BUNDLED = Path(__file__).parent / "data" / "taxonomy.yaml"


_LANGS = ("python", "node", "curl")
_ID = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


class TaxonomyError(Exception):
    """The taxonomy data (bundled or an operator's file) is invalid; the message names file, line and field."""


class UnknownCause(TaxonomyError, KeyError):
    """A cause id that the taxonomy does not define."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown cause"


# A quantifier right after a group that itself holds a quantifier is the classic
# catastrophic-backtracking shape: `(a+)+`, `(\w*)*`, `(x+|y)+`.
_NESTED_QUANTIFIER = re.compile(r"\([^()]*[*+}][^()]*\)[*+{?]")


def _compile_pattern(pattern: str) -> str:
    """Validate one message pattern: a plain substring, or `re:` and a simple linear regex."""
    if not pattern.strip():
        raise ValueError("empty message pattern")
    if pattern.startswith("re:"):
        body = pattern[3:]
        if _NESTED_QUANTIFIER.search(body) or re.search(r"\\[1-9]", body):
            raise ValueError(f"pattern {body!r} has a nested quantifier or backreference")
        try:
            re.compile(body, re.IGNORECASE)
        except re.error as exc:
            raise ValueError(f"pattern {body!r} is not a valid regex: {exc}") from None
    return pattern


class FixSpec(BaseModel):
    """One ranked fix: a title, a sentence or two, and optional code per language."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    title: str = Field(min_length=1)
    detail: str = ""
    code: dict[str, str] | None = None

    @field_validator("title", "detail")
    @classmethod
    def _template(cls, text: str) -> str:
        return check_template(text.strip())

    @field_validator("code")
    @classmethod
    def _languages(cls, code: dict[str, str] | None) -> dict[str, str] | None:
        if code is not None:
            unknown = sorted(set(code) - set(_LANGS))
            if unknown:
                raise ValueError(f"unknown language {unknown[0]!r} (use {', '.join(_LANGS)})")
        return code


class Matcher(BaseModel):
    """What one provider error looks like. Every field given must match; lists are alternatives.

    `message` entries are case-insensitive substrings, or `re:` followed by a linear regex;
    `exception` names SDK exception classes (APIConnectionError, APIRemovedInV1, ...).
    `standalone: false` marks phrases too common to prove, on their own, that a text is an
    API error (they still pick the cause once other evidence shows it is one).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    provider: Provider | None = None
    http_status: tuple[int, ...] = ()
    error_type: tuple[str, ...] = ()
    error_code: tuple[str, ...] = ()
    message: tuple[str, ...] = ()
    exception: tuple[str, ...] = ()
    retry_after: bool | None = None
    standalone: bool = True

    @field_validator("http_status")
    @classmethod
    def _statuses(cls, statuses: tuple[int, ...]) -> tuple[int, ...]:
        for status in statuses:
            if not 100 <= status <= 599:
                raise ValueError(f"{status} is not an HTTP status")
        return statuses

    @field_validator("message")
    @classmethod
    def _patterns(cls, patterns: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_compile_pattern(p) for p in patterns)

    @model_validator(mode="after")
    def _constrains_something(self) -> Matcher:
        if not (
            self.http_status or self.error_type or self.error_code or self.message or self.exception
        ) and (self.retry_after is None):
            raise ValueError("a matcher that constrains nothing would match every error")
        return self


class CauseEntry(BaseModel):
    """Everything we know about one cause."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    title: str = Field(min_length=1)
    meaning: str = Field(min_length=1)
    distinguish: str = ""
    fixes: tuple[FixSpec, ...] = Field(min_length=1)
    retryable: bool = False
    escalate: str | None = None
    split: str = ""  # what it usually means when other keys can use the model
    matchers: tuple[Matcher, ...] = ()
    source: tuple[str, ...] = ()

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError("a cause id is lowercase letters, digits and underscores")
        return value

    @field_validator("meaning", "title")
    @classmethod
    def _template(cls, text: str) -> str:
        return check_template(" ".join(text.split()))


class CauseOverride(BaseModel):
    """An operator's change to an existing cause: any subset of its fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    title: str | None = None
    meaning: str | None = None
    distinguish: str | None = None
    fixes: tuple[FixSpec, ...] | None = Field(default=None, min_length=1)
    retryable: bool | None = None
    escalate: str | None = None
    split: str | None = None
    matchers: tuple[Matcher, ...] | None = None
    source: tuple[str, ...] | None = None

    @field_validator("meaning", "title")
    @classmethod
    def _template(cls, text: str | None) -> str | None:
        return None if text is None else check_template(" ".join(text.split()))


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = 1
    split_default: str = ""
    causes: dict[str, dict[str, Any]] = Field(default_factory=dict)


# -- reading files ---------------------------------------------------------------------------


def _parse_file(path: Path) -> tuple[_File, yamlfile.Document]:
    try:
        document = yamlfile.read(path, fast=True)
    except OSError as exc:
        raise TaxonomyError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except yamlfile.YamlSyntaxError as exc:
        where = f" line {exc.line}" if exc.line is not None else ""
        raise TaxonomyError(f"{path}{where}: {exc.problem or 'invalid YAML'}") from None
    if not isinstance(document.data, dict):
        raise TaxonomyError(f"{path} line 1: must be a mapping with 'causes'")
    try:
        return _File.model_validate(document.data), document
    except ValidationError as err:
        raise _invalid(path, document, (), err) from None


def _invalid(
    path: Path, document: yamlfile.Document, within: yamlfile.Loc, err: ValidationError
) -> TaxonomyError:
    return TaxonomyError(
        yamlfile.describe_validation_error(str(path), err, within=within, document=document)
    )


def _entry(path: Path, document: yamlfile.Document, cause: str, raw: dict[str, Any]) -> CauseEntry:
    try:
        return CauseEntry.model_validate({**raw, "id": cause})
    except ValidationError as err:
        raise _invalid(path, document, ("causes", cause), err) from None


def _override(
    path: Path, document: yamlfile.Document, base: CauseEntry, raw: dict[str, Any]
) -> CauseEntry:
    try:
        change = CauseOverride.model_validate(raw)
        merged = {**base.model_dump(), **change.model_dump(exclude_unset=True)}
        return CauseEntry.model_validate(merged)
    except ValidationError as err:
        raise _invalid(path, document, ("causes", base.id), err) from None


# -- the taxonomy ---------------------------------------------------------------------------


class Taxonomy:
    """The causes, in contract order (operator additions last)."""

    def __init__(self, entries: Mapping[str, CauseEntry], *, split_default: str = "") -> None:
        self._entries: dict[str, CauseEntry] = dict(entries)
        self._split_default = " ".join(split_default.split())

    @classmethod
    def load(cls, extra_file: Path | None = None) -> Taxonomy:
        """The bundled taxonomy, extended or overridden by an operator's file."""
        return cls.from_files(BUNDLED, extra_file)

    @classmethod
    def from_files(cls, bundled: Path, extra_file: Path | None = None) -> Taxonomy:
        """Load a base file (every contract cause required) and an optional operator file."""
        base, document = _parse_file(bundled)
        entries: dict[str, CauseEntry] = {}
        for cause, raw in base.causes.items():
            entries[cause] = _entry(bundled, document, cause, raw if isinstance(raw, dict) else {})
        missing = [c for c in CAUSES if c not in entries]
        if missing:
            raise TaxonomyError(f"{bundled}: causes: missing entries for {', '.join(missing)}")
        if extra_file is not None:
            extra, extra_document = _parse_file(extra_file)
            for cause, raw in extra.causes.items():
                raw = raw if isinstance(raw, dict) else {}
                if cause in entries:
                    entries[cause] = _override(extra_file, extra_document, entries[cause], raw)
                else:
                    entries[cause] = _entry(extra_file, extra_document, cause, raw)
        ordered = {c: entries[c] for c in CAUSES}
        ordered.update({c: e for c, e in entries.items() if c not in ordered})
        split_default = (
            extra.split_default if extra_file is not None else ""
        ) or base.split_default
        return cls(ordered, split_default=split_default)

    def ids(self) -> list[str]:
        """Every cause id, contract causes first."""
        return list(self._entries)

    def get(self, cause: str) -> CauseEntry:
        """The entry for a cause id; UnknownCause (a KeyError) if there is none."""
        try:
            return self._entries[cause]
        except KeyError:
            raise UnknownCause(f"unknown cause {cause!r}") from None

    def entries(self) -> list[CauseEntry]:
        """Every entry, in order."""
        return list(self._entries.values())

    def split_meaning(self, cause: str) -> str:
        """What it usually means when some keys can use a model and keys failing with `cause` cannot."""
        entry = self._entries.get(cause)
        return (
            " ".join(entry.split.split())
            if entry is not None and entry.split
            else self._split_default
        )

    def diagnosis(self, cause: str, **fields: Any) -> Diagnosis:
        """A Diagnosis for a cause with title, summary, fixes, retryable and escalate filled in.

        Any Diagnosis field given in `fields` wins; `suggestion` (the best did-you-mean) is
        taken from `did_you_mean` when not given.
        """
        entry = self.get(cause)
        values = dict(fields)
        values.setdefault("suggestion", (fields.get("did_you_mean") or [None])[0])
        fixes = [
            Fix(
                title=render(f.title, values),
                detail=render(f.detail, values),
                code=dict(f.code) if f.code else None,
            )
            for f in entry.fixes
        ]
        base: dict[str, Any] = {
            "cause": entry.id,
            "title": entry.title,
            "summary": render(entry.meaning, values),
            "fixes": fixes,
            "retryable": entry.retryable,
            "escalate": entry.escalate,
        }
        fields.pop("suggestion", None)
        return Diagnosis(**{**base, **fields})
