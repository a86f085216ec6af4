"""YAML files read with the line of each node, and pydantic errors pointed at those lines.

Every loader words its own messages (the tests pin them), so failures come back as values to
word: the `OSError` of the read as it is, and `YamlSyntaxError` with the parser's line and
problem.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

Loc = tuple[str | int, ...]

# libyaml's parser when present: it keeps node marks (line numbers) and is ~10x faster.
_FAST_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_STR, _NULL, _DAY, _MAP = (f"tag:yaml.org,2002:{t}" for t in ("str", "null", "timestamp", "map"))


class YamlSyntaxError(Exception):
    """The text is not YAML; `line` (1-based) and `problem` are None when the parser has none."""

    def __init__(self, line: int | None, problem: str | None, text: str) -> None:
        super().__init__(text)
        self.line = line
        self.problem = problem


@dataclass(frozen=True)
class Document:
    """One parsed YAML document: its data and the node tree it came from (None when empty)."""

    root: yaml.Node | None
    data: Any

    def line_of(self, path: Sequence[str | int]) -> int | None:
        """The line `line_of()` gives for `path` from the top; None for an empty file."""
        return None if self.root is None else line_of(self.root, path)


def read(path: Path, *, fast: bool = False) -> Document:
    """Parse a file's one YAML document, keeping its nodes; OSError or YamlSyntaxError if not.

    `fast` parses with libyaml and builds plain data straight from the nodes, several times
    faster, and a date that does not exist stays a string for validation to report. libyaml
    words syntax errors differently ("did not find expected ..."), so a file it rejects is
    parsed again by PyYAML for the error: the messages are the same either way.
    """
    text = path.read_text(encoding="utf-8")
    if fast:
        try:
            return _parse(text, fast=True)
        except YamlSyntaxError:
            pass
    return _parse(text, fast=False)


def _parse(text: str, *, fast: bool) -> Document:
    try:
        loader = (_FAST_LOADER if fast else yaml.SafeLoader)(text)
        try:
            root = loader.get_single_node()
            if root is None:
                data = None
            elif fast:
                data = _plain(root, loader)
            else:
                data = loader.construct_document(root)
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise YamlSyntaxError(line, getattr(exc, "problem", None), str(exc)) from None
    except ValueError as exc:  # PyYAML builds 2026-13-01 as a date and date() refuses it
        problem = f"a value that is not a real date or time ({exc})"
        raise YamlSyntaxError(None, problem, problem) from None
    except RecursionError:  # `a: &x [*x]`: an alias inside its own anchor
        problem = "an alias refers to the node that contains it"
        raise YamlSyntaxError(None, problem, problem) from None
    return Document(root, data)


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


def line_of(node: yaml.Node, path: Sequence[str | int]) -> int:
    """1-based line of the deepest step of `path` the file has: a key's own line, an item's first.

    A step the file lacks (a missing field, a key brought in by a YAML merge) ends the walk,
    so a missing field is reported at the key or item that should have held it.
    """
    line = int(node.start_mark.line) + 1
    for step in path:
        if isinstance(node, yaml.MappingNode):
            # Of two equal keys YAML keeps the last, so that is the one an error is about.
            hit = next(((k, v) for k, v in reversed(node.value) if k.value == step), None)
            if hit is None:
                break
            line, node = int(hit[0].start_mark.line) + 1, hit[1]
        elif (
            isinstance(node, yaml.SequenceNode)
            and isinstance(step, int)
            and 0 <= step < len(node.value)
        ):
            node = node.value[step]
            line = int(node.start_mark.line) + 1
        else:
            break
    return line


def describe_validation_error(
    source: str, err: ValidationError, *, within: Loc = (), document: Document | None = None
) -> str:
    """One line naming the source and the first offending field: `source: field: message`.

    `within` is where the validated data sits in the document; given the `document`, the
    source is followed by ` line N` of that field.
    """
    first = err.errors()[0]
    loc: Loc = (*within, *first["loc"])
    line = document.line_of(loc) if document is not None else None
    where = f" line {line}" if line is not None else ""
    field = ".".join(str(p) for p in loc)
    msg = in_our_words(first["type"], first["msg"], first.get("ctx") or {})
    return f"{source}{where}: {field}: {msg}" if field else f"{source}{where}: {msg}"


# pydantic's wording for the mistakes operators make, said the way the rest of our errors are.
_WORDS: dict[str, str] = {
    "extra_forbidden": "unknown field",
    "missing": "required, but missing",
    "list_type": "must be a list",
    "tuple_type": "must be a list",
    "set_type": "must be a list",
    "dict_type": "must be a mapping (key: value)",
    "model_type": "must be a mapping (key: value)",
    "model_attributes_type": "must be a mapping (key: value)",
    "string_type": "must be text",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "date_type": "must be a date (YYYY-MM-DD)",
    "date_parsing": "must be a date (YYYY-MM-DD)",
    "date_from_datetime_parsing": "must be a date (YYYY-MM-DD)",
    "literal_error": "must be one of {expected}",
    "greater_than": "must be more than {gt}",
    "greater_than_equal": "must be at least {ge}",
    "less_than": "must be less than {lt}",
    "less_than_equal": "must be at most {le}",
    "string_too_short": "must have at least {min_length} character(s)",
    "string_too_long": "must have at most {max_length} characters",
    "string_pattern_mismatch": "has characters that are not allowed here (pattern {pattern})",
}


def in_our_words(kind: str, msg: str, ctx: dict[str, Any]) -> str:
    """One validation failure in plain words: our own validators' text, or a phrase per kind."""
    if kind in ("value_error", "assertion_error"):
        # Our validators' messages, behind pydantic's "Value error, " label.
        return msg.split(", ", 1)[1] if ", " in msg else msg
    phrase = _WORDS.get(kind)
    if phrase is None:
        return msg
    try:
        return phrase.format(**{k: _plain_number(v) for k, v in ctx.items()})
    except (KeyError, IndexError):
        return msg


def _plain_number(value: object) -> object:
    """120.0 -> 120, so limits read as the operator wrote them."""
    return int(value) if isinstance(value, float) and value.is_integer() else value
