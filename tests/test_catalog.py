"""The model catalog: bundled data is complete and consistent; the loader explains bad files."""

from __future__ import annotations

import time
from datetime import date, timedelta
from pathlib import Path
from textwrap import dedent

import pytest

from bot.knowledge.catalog import BUNDLED_FILE, ENDPOINTS, Catalog, CatalogError, ModelEntry

TODAY = date(2026, 11, 23)

# Every model id the seed documents (shared/seeds/*.txt) name, plus the ones the design
# names as the first things people will ask about.
SEED_MODELS = [
    "gpt-4-1106-preview",
    "gpt-4-0125-preview",
    "gpt-4-turbo-preview",
    "gpt-4-turbo",
    "text-davinci-003",
    "gpt-3.5-turbo-0301",
    "gpt-4-32k",
    "gpt-4-vision-preview",
    "gpt-4o",
    "gpt-4o-mini",
    "gpt-4o-mini-2024-07-18",
    "gpt-4o-2024-08-06",
    "o1",
    "o3",
    "text-embedding-3-large",
    "gpt-image-1",
]

# Ids the seeds use as examples of typos; they must stay unknown so did-you-mean can work.
SEED_TYPOS = ["GPT-4o", "gpt4o", "gpt-4-turbo-preview-2024"]


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    """The bundled catalog."""
    return Catalog.load()


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "our-models.yaml"
    path.write_text(dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def _entry_line(path: Path, needle: str) -> int:
    """1-based line of the first line containing `needle`."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, start=1) if needle in line)


# -- exhaustiveness -----------------------------------------------------------------------------


def test_every_replacement_names_a_catalog_model(catalog: Catalog) -> None:
    """Each `replacement` resolves to an entry, preferably of the same provider."""
    for entry in catalog.entries():
        if entry.replacement is not None:
            target = catalog.get(entry.replacement, entry.provider) or catalog.get(
                entry.replacement
            )
            assert target is not None, f"{entry.provider}/{entry.id} -> {entry.replacement}"


def test_every_source_key_is_declared(catalog: Catalog) -> None:
    """Each entry cites a source declared under `sources:`."""
    missing = {e.source for e in catalog.entries()} - set(catalog.sources)
    assert not missing


@pytest.mark.parametrize("model", SEED_MODELS)
def test_every_seed_named_model_resolves(catalog: Catalog, model: str) -> None:
    """Every model the seed documents name is in the catalog, by id or alias."""
    assert catalog.get(model) is not None


@pytest.mark.parametrize("model", SEED_TYPOS)
def test_seed_typos_do_not_resolve(catalog: Catalog, model: str) -> None:
    """Lookups are exact and case-sensitive: the seeds' typo examples stay unknown."""
    assert catalog.get(model) is None


def test_ids_and_aliases_are_unique_per_provider(catalog: Catalog) -> None:
    """No id or alias names two entries of the same provider."""
    seen: set[tuple[str, str]] = set()
    for entry in catalog.entries():
        for name in entry.names:
            assert (entry.provider, name) not in seen, f"{entry.provider}/{name}"
            seen.add((entry.provider, name))


def test_bundled_entries_are_complete_and_consistent(catalog: Catalog) -> None:
    """Each entry has endpoints, facts no newer than the catalog, and a status that fits its dates."""
    assert catalog.as_of == date(2026, 11, 22)
    for entry in catalog.entries():
        assert entry.endpoints and set(entry.endpoints) <= set(ENDPOINTS), entry.id
        assert entry.as_of <= catalog.as_of, entry.id
        if entry.shutdown is not None and entry.shutdown <= catalog.as_of:
            assert entry.status == "retired", entry.id
        if entry.status == "retired":
            assert entry.shutdown is not None and entry.shutdown <= catalog.as_of, entry.id


def test_bundled_file_covers_every_provider(catalog: Catalog) -> None:
    """The catalog has entries for each provider kind the keys file accepts."""
    assert {e.provider for e in catalog.entries()} == {
        "openai",
        "azure",
        "anthropic",
        "openai-compatible",
    }


# -- lookups --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "entry_id"),
    [
        ("gpt-4o", "gpt-4o-2024-08-06"),
        ("gpt-4o-2024-08-06", "gpt-4o-2024-08-06"),
        ("gpt-4", "gpt-4-0613"),
        ("gpt-4-0613", "gpt-4-0613"),
        ("claude-3-opus-latest", "claude-3-opus-20240229"),
        ("gpt-4-turbo-preview", "gpt-4-0125-preview"),
        ("gpt-4-32k", "gpt-4-32k-0613"),
        ("o3", "o3-2025-04-16"),
    ],
)
def test_aliases_resolve_to_their_snapshot(catalog: Catalog, name: str, entry_id: str) -> None:
    """A dateless alias and its dated snapshot give the same entry."""
    entry = catalog.get(name)
    assert entry is not None and entry.id == entry_id


def test_gpt4_alias_is_retired_today(catalog: Catalog) -> None:
    """`gpt-4` resolves to gpt-4-0613, which is retired on 2026-11-23."""
    entry = catalog.get("gpt-4")
    assert entry is not None
    assert entry.id == "gpt-4-0613"
    assert entry.status_on(TODAY) == "retired"


def test_gpt4_1106_preview_carries_the_moved_shutdown_date(catalog: Catalog) -> None:
    """gpt-4-1106-preview shuts on 2026-10-23 (moved from 2026-03-26), successor gpt-5.6-sol."""
    entry = catalog.get("gpt-4-1106-preview")
    assert entry is not None and entry.provider == "openai"
    assert entry.announced == date(2025, 9, 26)
    assert entry.shutdown == date(2026, 10, 23)
    assert entry.replacement == "gpt-5.6-sol"
    assert entry.notes is not None and "2026-03-26" in entry.notes


def test_same_id_at_a_gateway_is_a_separate_entry(catalog: Catalog) -> None:
    """A gateway's copy of an upstream id has its own lifecycle; the provider's own entry wins."""
    upstream = catalog.get("gpt-4-1106-preview")
    gateway = catalog.get("gpt-4-1106-preview", "openai-compatible")
    assert upstream is not None and upstream.provider == "openai"
    assert gateway is not None and gateway.status == "deprecated" and gateway.shutdown is None
    assert catalog.get("gpt-4-1106-preview", "anthropic") is None


def test_prefixed_and_azure_spellings_resolve_only_where_listed(catalog: Catalog) -> None:
    """Gateway-prefixed and Azure-spelled ids resolve because entries exist, not by rewriting."""
    assert catalog.get("openai/gpt-4o") is not None
    assert catalog.get("openai/gpt-5") is not None
    assert catalog.get("openai/o3") is None
    gpt35 = catalog.get("gpt-35-turbo")
    assert gpt35 is not None and gpt35.provider == "azure"
    azure_4o = catalog.get("gpt-4o", "azure")
    assert azure_4o is not None and azure_4o.shutdown == date(2027, 4, 14)


def test_names_lists_ids_and_aliases_per_provider(catalog: Catalog) -> None:
    """names() holds every id and alias; with a provider, only that provider's."""
    everything = catalog.names()
    assert {"gpt-4", "gpt-4-0613", "gpt-35-turbo", "claude-3-opus-latest"} <= set(everything)
    assert everything == sorted(set(everything))
    openai = catalog.names("openai")
    assert "gpt-4" in openai and "gpt-35-turbo" not in openai


def test_replacement_follows_retired_successors(catalog: Catalog) -> None:
    """A retired successor is skipped for its own successor (gpt-3.5-turbo-0301 -> gpt-5.6-terra)."""
    assert catalog.get("gpt-3.5-turbo-0301") is not None
    target = catalog.replacement_for("gpt-3.5-turbo-0301", today=TODAY)
    assert target is not None and "gpt-5.6-terra" in target.names
    assert catalog.replacement_for("gpt-6.1-terra", today=TODAY) is None
    assert catalog.replacement_for("no-such-model", today=TODAY) is None


# -- lifecycle ------------------------------------------------------------------------------------


def test_status_on_flips_at_the_shutdown_date(catalog: Catalog) -> None:
    """o3 is deprecated the day before 2026-12-11 and retired from that day on."""
    entry = catalog.get("o3")
    assert entry is not None and entry.shutdown == date(2026, 12, 11)
    assert entry.status_on(date(2026, 12, 10)) == "deprecated"
    assert entry.status_on(date(2026, 12, 11)) == "retired"
    assert entry.status_on(date(2027, 1, 1)) == "retired"


def test_deprecations_are_soonest_first_and_filtered_by_window(catalog: Catalog) -> None:
    """deprecations(today, N) keeps shutdowns from today to today+N, ordered by date."""
    rows = catalog.deprecations(TODAY, within_days=30)
    dates = [r.shutdown for r in rows]
    assert dates == sorted(d for d in dates if d is not None)
    assert all(d is not None and TODAY <= d <= TODAY + timedelta(days=30) for d in dates)
    ids = {r.id for r in rows}
    assert "o3-2025-04-16" in ids and "gpt-4o-2024-08-06" not in ids
    assert not any(r.id == "gpt-4-0613" for r in rows)


def test_deprecations_without_window_include_the_past(catalog: Catalog) -> None:
    """With no window the calendar holds every dated shutdown, oldest first."""
    rows = catalog.deprecations(TODAY)
    assert len(rows) == sum(1 for e in catalog.entries() if e.shutdown is not None)
    assert rows[0].shutdown is not None and rows[0].shutdown.year == 2023
    assert any(r.id == "text-davinci-003" for r in rows)


def test_deprecations_window_zero_is_today_only(catalog: Catalog) -> None:
    """A zero-day window returns only models shutting down today."""
    rows = catalog.deprecations(date(2026, 12, 11), within_days=0)
    assert rows and all(r.shutdown == date(2026, 12, 11) for r in rows)
    with pytest.raises(ValueError):
        catalog.deprecations(TODAY, within_days=-1)


def test_live_shutdown_wins_and_the_bundled_date_is_kept_in_notes(catalog: Catalog) -> None:
    """with_live: the provider's date replaces ours, and ours is remembered in notes."""
    entry = catalog.with_live(
        "o3",
        shutdown=date(2027, 1, 15),
        status=None,
        replacement=None,
        source="openai:/v1/models",
        seen=TODAY,
    )
    assert entry.id == "o3-2025-04-16"
    assert entry.shutdown == date(2027, 1, 15)
    assert entry.source == "openai:/v1/models" and entry.as_of == TODAY
    assert entry.notes is not None and "2026-12-11" in entry.notes
    assert entry.replacement == "gpt-5.6-sol"


def test_live_without_facts_returns_the_bundled_entry(catalog: Catalog) -> None:
    """with_live with nothing reported changes nothing."""
    bundled = catalog.get("gpt-4o")
    live = catalog.with_live(
        "gpt-4o", shutdown=None, status=None, replacement=None, source="openai:/v1/models"
    )
    assert live == bundled


def test_live_facts_for_an_unknown_model_make_a_minimal_entry(catalog: Catalog) -> None:
    """A model only the provider knows still gets an entry carrying the live facts."""
    entry = catalog.with_live(
        "claude-new-9",
        shutdown=None,
        status="active",
        replacement=None,
        source="anthropic:/v1/models",
        provider="anthropic",
    )
    assert isinstance(entry, ModelEntry)
    assert entry.provider == "anthropic" and entry.status == "active" and entry.endpoints == ()
    with pytest.raises(ValueError):
        catalog.with_live("o3", shutdown=None, status="gone", replacement=None, source="x")


# -- operator files -------------------------------------------------------------------------------


def test_operator_file_overrides_fields_and_adds_models(tmp_path: Path) -> None:
    """An operator entry with a known id replaces only the fields it gives; a new id is added."""
    path = _write(
        tmp_path,
        """
        sources:
          ours: "Platform team decision, 2026-11"
        models:
          - id: gpt-4-1106-preview
            provider: openai
            replacement: gpt-6.1-sol
            source: ours
          - id: team-router
            provider: openai-compatible
            family: router
            endpoints: [chat]
            status: active
            as_of: 2026-11-20
            source: ours
        """,
    )
    catalog = Catalog.load(path)
    entry = catalog.get("gpt-4-1106-preview")
    assert entry is not None
    assert entry.replacement == "gpt-6.1-sol" and entry.source == "ours"
    assert entry.shutdown == date(2026, 10, 23) and entry.family == "gpt-4-turbo"
    target = catalog.replacement_for("gpt-4-1106-preview", today=TODAY)
    assert target is not None and target.id == "gpt-6.1-sol-2026-09-29"
    assert catalog.get("team-router") is not None
    assert len(catalog.entries()) == len(Catalog.load().entries()) + 1


@pytest.mark.parametrize(
    ("entry", "needle", "expected"),
    [
        (
            "- id: gpt-4o-2024-08-06\n    provider: openai\n    shutdown: soon\n",
            "shutdown: soon",
            "models[0].shutdown: invalid date 'soon'",
        ),
        (
            "- id: gpt-4o-2024-08-06\n    provider: openai\n    retire_on: 2027-01-01\n",
            "retire_on:",
            "models[0].retire_on: unknown field",
        ),
        (
            "- id: my-model\n    provider: openrouter\n    family: x\n    endpoints: [chat]\n"
            "    status: active\n    as_of: 2026-11-20\n    source: OAI-2026-06\n",
            "provider: openrouter",
            "models[0].provider: 'openrouter' is not one of",
        ),
        (
            "- id: gpt-4o-2024-08-06\n    provider: openai\n    replacement: gpt-9-ultra\n",
            "replacement: gpt-9-ultra",
            "models[0].replacement: 'gpt-9-ultra' (replacement for gpt-4o-2024-08-06) is not a model id or alias",
        ),
        (
            "- id: gpt-4o-2024-08-06\n    provider: openai\n    source: our-wiki\n",
            "source: our-wiki",
            "models[0].source: unknown source 'our-wiki'",
        ),
        (
            "- id: gpt-4o-2024-08-06\n    provider: openai\n    context_window: lots\n",
            "context_window: lots",
            "models[0].context_window: expected a whole number, got 'lots'",
        ),
        (
            "- id: gpt-4o-2024-08-06\n    provider: openai\n    endpoints: [chat, video]\n",
            "endpoints:",
            "models[0].endpoints[1]: 'video' is not one of",
        ),
        (
            "- id: gpt-4o-2024-08-06\n    provider: openai\n    aliases: [gpt-4o, gpt-4]\n",
            "aliases:",
            "models[0].aliases[1]: 'gpt-4' is already used by gpt-4-0613 (openai)",
        ),
        (
            "- id: gpt-4o-2024-08-06\n    provider: openai\n    shutdown: 2027-01-01\n    shutdown: 2027-02-01\n",
            "shutdown: 2027-02-01",
            "models[0].shutdown: field given twice",
        ),
        (
            "- id: gpt-4\n    shutdown: 2027-01-01\n",
            "id: gpt-4",
            "models[0].id: 'gpt-4' is an alias of gpt-4-0613; override by that id",
        ),
        (
            "- id: gpt-4-1106-preview\n    notes: which one?\n",
            "id: gpt-4-1106-preview",
            "models[0].id: 'gpt-4-1106-preview' exists for openai, openai-compatible",
        ),
    ],
)
def test_bad_operator_entries_are_reported_with_file_line_and_field(
    tmp_path: Path, entry: str, needle: str, expected: str
) -> None:
    """Each kind of mistake names the file, the line and the field, in one message."""
    path = _write(tmp_path, "models:\n  " + entry)
    with pytest.raises(CatalogError) as info:
        Catalog.load(path)
    message = str(info.value)
    assert message.startswith(f"our-models.yaml:{_entry_line(path, needle)}: "), message
    assert expected in message


def test_a_new_entry_missing_fields_is_reported(tmp_path: Path) -> None:
    """A new id must carry every required field; the error points at the entry."""
    path = _write(tmp_path, "models:\n  - id: brand-new\n    provider: openai\n")
    with pytest.raises(CatalogError, match=r"^our-models\.yaml:2: models\[0\]\.\w+: missing"):
        Catalog.load(path)


def test_replacement_loops_are_rejected(tmp_path: Path) -> None:
    """Two models naming each other as successor is an error, not an endless lookup."""
    path = _write(
        tmp_path,
        """
        models:
          - id: gpt-6.1-terra
            replacement: gpt-6.1-sol
          - id: gpt-6.1-sol-2026-09-29
            replacement: gpt-6.1-terra
        """,
    )
    with pytest.raises(CatalogError, match="replacements loop"):
        Catalog.load(path)


def test_broken_yaml_and_wrong_shapes_are_reported(tmp_path: Path) -> None:
    """Unparseable YAML and a top level that is not a mapping name the file and a line."""
    path = _write(tmp_path, "models:\n  - id: [unclosed\n")
    with pytest.raises(CatalogError, match=r"^our-models\.yaml:\d+: not valid YAML"):
        Catalog.load(path)
    path = _write(tmp_path, "- just a list\n")
    with pytest.raises(CatalogError, match=r"^our-models\.yaml:1: expected a mapping"):
        Catalog.load(path)
    path = _write(tmp_path, "model:\n  - id: gpt-4o\n")
    with pytest.raises(CatalogError, match=r"^our-models\.yaml:1: model: unknown field"):
        Catalog.load(path)


def test_only_loads_one_file_without_the_bundled_data(tmp_path: Path) -> None:
    """Catalog.only() holds just the file's entries, still fully validated."""
    path = _write(
        tmp_path,
        """
        sources:
          test: "made up for this test"
        models:
          - id: zz-old
            provider: openai
            family: zz
            endpoints: [chat]
            status: deprecated
            shutdown: 2026-12-01
            replacement: zz-new
            as_of: 2026-11-01
            source: test
          - id: zz-new
            provider: openai
            family: zz
            endpoints: [chat]
            status: active
            as_of: 2026-11-02
            source: test
        """,
    )
    catalog = Catalog.only(path)
    assert [e.id for e in catalog.entries()] == ["zz-old", "zz-new"]
    assert catalog.as_of == date(2026, 11, 2)
    assert [e.id for e in catalog.deprecations(TODAY, 30)] == ["zz-old"]
    path.write_text(path.read_text().replace("source: test\n", "source: nope\n", 1))
    with pytest.raises(CatalogError, match=r"models\[0\]\.source: unknown source 'nope'"):
        Catalog.only(path)


def test_catalog_error_is_a_config_error() -> None:
    """Callers that turn ConfigError into one line also cover catalog files."""
    from bot.errors import ConfigError

    assert issubclass(CatalogError, ConfigError)


# -- speed ----------------------------------------------------------------------------------------


def test_bundled_catalog_loads_in_under_100_ms() -> None:
    """Loading and validating the bundled file takes well under 100 ms (best of 5 runs)."""
    assert BUNDLED_FILE.is_file()
    timings = []
    for _ in range(5):
        start = time.perf_counter()
        Catalog.load()
        timings.append(time.perf_counter() - start)
    assert min(timings) < 0.1, timings
