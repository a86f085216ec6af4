"""The reference in docs/ says what the code does: every command, option, JSON field, config
field, environment variable and cause id is documented, and nothing documented is gone.

Each test reads the code's own definitions (the argument parser, the pydantic models, the
taxonomy) and the matching page, so an addition on either side without the other fails.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from bot import results
from bot.causes import Cause
from bot.config import AppConfig, CacheTTL, Env
from bot.keys import KeySpec
from bot.knowledge import Taxonomy
from cli.main import _parser

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
COMMON = {"--keys", "--config", "-v", "--verbose", "-h", "--help"}


def sections(page: str) -> dict[str, str]:
    """A docs page split at its `## ` headings: heading -> text."""
    text = (DOCS / page).read_text(encoding="utf-8")
    parts = re.split(r"^## (.+)$", text, flags=re.M)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts), 2)}


def table_names(text: str) -> set[str]:
    """The `names` in the first column of the markdown tables in text: | `a`, `b` | ..."""
    cells = re.findall(r"^\| (`[^|]+?) \|", text, flags=re.M)
    return {name for cell in cells for name in re.findall(r"`([^`]+)`", cell)}


def commands() -> dict[str, argparse.ArgumentParser]:
    """Sub-command name -> its parser."""
    (sub,) = [a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


def fields(*models: type[BaseModel]) -> set[str]:
    return {name for model in models for name in model.model_fields}


# -- CLI ---------------------------------------------------------------------------------------


def test_every_command_has_a_section_and_every_section_a_command() -> None:
    """docs/cli.md has one `## model-access NAME` section per sub-command, no more."""
    documented = {
        h.strip("`").removeprefix("model-access ")
        for h in sections("cli.md")
        if "model-access" in h
    }
    assert documented == set(commands())


@pytest.mark.parametrize("name", sorted(commands()))
def test_every_option_of_a_command_is_in_its_section(name: str) -> None:
    """Each option and positional (and each choice of one) appears in the command's table."""
    text = sections("cli.md")[f"`model-access {name}`"]
    documented = " ".join(re.findall(r"`([^`]+)`", text))
    for action in commands()[name]._actions:
        if set(action.option_strings) & COMMON:
            continue
        if action.option_strings:
            for option in action.option_strings:
                assert option in documented, f"{name}: {option} is not documented"
        else:
            label = action.metavar or action.dest
            assert action.choices or str(label) in documented, f"{name}: {label} missing"
        for choice in action.choices or ():
            assert f"`{choice}`" in text, f"{name}: choice {choice} is not documented"


def test_the_common_options_are_documented_once() -> None:
    """--keys, --config and -v/--verbose are in the section every command shares."""
    names = table_names(sections("cli.md")["Options every command takes"])
    words = " ".join(names)
    for option in ("--keys", "--config", "-v", "--verbose", "--version", "--help"):
        assert option in words


# -- JSON --------------------------------------------------------------------------------------

JSON_SECTIONS: dict[str, tuple[type[BaseModel], ...]] = {
    "explain": (results.Diagnosis, results.Fix),
    "check": (results.CheckReport, results.ProbeResult, results.Limits),
    "models": (results.ModelsReport, results.KeyModels),
    "deprecations": (results.Deprecation,),
    "notices": (results.Notice,),
    "scan": (results.Reference,),
}


@pytest.mark.parametrize("command", sorted(JSON_SECTIONS))
def test_every_json_field_is_documented_and_every_documented_field_exists(command: str) -> None:
    """docs/json.md lists exactly the fields of the values each command prints."""
    documented = table_names(sections("json.md")[command])
    assert documented == fields(*JSON_SECTIONS[command])


# -- config and keys files ---------------------------------------------------------------------


def test_every_config_field_is_documented() -> None:
    """The config file's section lists exactly AppConfig's and cache_ttl_s's fields."""
    documented = table_names(sections("config.md")["The config file"])
    assert documented == fields(AppConfig, CacheTTL)


def test_every_keys_file_field_is_documented() -> None:
    """The keys file's section lists exactly the fields an entry may have."""
    assert table_names(sections("config.md")["The keys file"]) == fields(KeySpec)


# -- environment -------------------------------------------------------------------------------


def test_every_environment_variable_is_documented() -> None:
    """docs/environment.md lists Env's variables and every provider variable bot/keys.py reads."""
    source = (ROOT / "bot" / "keys.py").read_text(encoding="utf-8")
    provider = set(re.findall(r'env(?:\.get\(|\[)"([A-Z_]+)"', source))
    assert {"OPENAI_API_KEY", "AZURE_OPENAI_ENDPOINT"} <= provider  # the pattern finds them
    documented = set().union(*(table_names(t) for t in sections("environment.md").values()))
    assert documented == set(Env.model_fields) | provider


# -- cause ids ---------------------------------------------------------------------------------


def test_every_cause_id_is_documented_with_its_title() -> None:
    """docs/causes.md has a row per taxonomy cause, with the taxonomy's title, and every Cause."""
    text = (DOCS / "causes.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `([a-z_]+)` \| (.+?) \|$", text, flags=re.M))
    taxonomy = {e.id: e.title for e in Taxonomy.load().entries()}
    assert rows == taxonomy
    assert set(Cause) <= set(rows)


# -- links -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "page", [ROOT / "README.md", *sorted(DOCS.glob("*.md"))], ids=lambda p: p.name
)
def test_links_point_at_files_in_the_repository(page: Path) -> None:
    """Every relative link resolves to a file in the repository; none leaves it."""
    text = page.read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
        if re.match(r"[a-z]+:", target):
            continue  # https://, mailto: ...
        resolved = (page.parent / target).resolve()
        assert resolved.is_relative_to(ROOT), f"{page.name}: {target} is outside the repository"
        assert resolved.exists(), f"{page.name}: {target} does not exist"
    assert "../shared/" not in text
