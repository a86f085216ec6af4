"""`model-access notices` and `deprecations`: what an operator sees from a terminal."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from cli.main import main
from tests.test_broadcast import catalog_file, model

SHUTDOWN = date(2027, 3, 31)
NOTICE_KEYS = {"model", "provider", "shutdown", "days_left", "threshold", "replacement"}


@pytest.fixture
def config(tmp_path: Path, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config whose operator catalog adds two models shutting down on SHUTDOWN."""
    ours = tmp_path / "ours.yaml"
    rows = [
        model("zz-ours-1", SHUTDOWN, "zz-ours-2"),
        model("zz-ours-3", SHUTDOWN + timedelta(days=23), provider="anthropic"),
        model("zz-ours-2", None),
    ]
    catalog_file(ours, rows)
    path = tmp_path / "config.yaml"
    path.write_text("catalog_file: ours.yaml\n", encoding="utf-8")
    monkeypatch.setenv("REDIS_URL", redis_url)
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    """Run the CLI; return the exit code, stdout (parsed when JSON) and stderr."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    try:
        return code, json.loads(out), err
    except json.JSONDecodeError:
        return code, out, err


def ours(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Only the rows about the test's own models."""
    return [r for r in rows if r["model"].startswith("zz-ours")]


def test_notices_json_lists_the_models_at_a_threshold_that_day(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """On the 30-day mark the notice is listed with the contract's fields, and only then."""
    day = SHUTDOWN - timedelta(days=30)
    code, rows, _ = run(
        capsys, "--config", str(config), "notices", "--now", day.isoformat(), "--json"
    )
    assert code == 0
    assert ours(rows) == [
        {
            "model": "zz-ours-1",
            "provider": "openai",
            "shutdown": SHUTDOWN.isoformat(),
            "days_left": 30,
            "threshold": 30,
            "replacement": "zz-ours-2",
        }
    ]
    for row in rows:  # bundled models due that day follow the same rule
        assert set(row) == NOTICE_KEYS
        assert row["days_left"] == row["threshold"] in (90, 30, 7, 1)
        assert (date.fromisoformat(row["shutdown"]) - day).days == row["days_left"]
    _, next_day, _ = run(
        capsys,
        "--config",
        str(config),
        "notices",
        "--now",
        (day + timedelta(days=1)).isoformat(),
        "--json",
    )
    assert ours(next_day) == []


def test_notices_follow_the_configured_thresholds(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """notice_days in the config replaces the default 90/30/7/1."""
    config.write_text("catalog_file: ours.yaml\nnotice_days: [53]\n", encoding="utf-8")
    day = SHUTDOWN - timedelta(days=30)  # zz-ours-3 is 53 days out
    _, rows, _ = run(capsys, "--config", str(config), "notices", "--now", day.isoformat(), "--json")
    assert [(r["model"], r["threshold"]) for r in ours(rows)] == [("zz-ours-3", 53)]
    assert all(r["threshold"] == 53 for r in rows)


def test_notices_text_is_a_table_or_says_none_are_due(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --json the notices are a table; a quiet day says nothing is due."""
    config.write_text("catalog_file: ours.yaml\nnotice_days: [1]\n", encoding="utf-8")
    day = SHUTDOWN - timedelta(days=1)
    code, out, _ = run(capsys, "--config", str(config), "notices", "--now", day.isoformat())
    assert code == 0 and "zz-ours-1" in out and "zz-ours-2" in out  # the replacement column
    _, quiet, _ = run(capsys, "--config", str(config), "notices", "--now", "1999-01-01")
    assert quiet.strip() == "No notices due that day."


def test_notices_with_a_bad_date_is_a_usage_error(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A --now that is not YYYY-MM-DD exits 2 with one line."""
    with pytest.raises(SystemExit) as exc:
        main(["--config", str(config), "notices", "--now", "next tuesday"])
    assert exc.value.code == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_deprecations_is_the_same_calendar_soonest_first(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`deprecations --json` lists every dated model soonest first, ours included."""
    code, rows, _ = run(capsys, "--config", str(config), "deprecations", "--json")
    assert code == 0
    assert [r["model"] for r in ours(rows)] == ["zz-ours-1", "zz-ours-3"]
    shutdowns = [r["shutdown"] for r in rows]
    assert None not in shutdowns and shutdowns == sorted(shutdowns)
    first = ours(rows)[0]
    assert set(first) == {"model", "provider", "status", "announced", "shutdown", "replacement"}
    assert first["replacement"] == "zz-ours-2"
