"""`model-access explain`: a user pastes an error in a terminal and gets the cause and the fix."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.contract import DIAGNOSIS_FIELDS
from tests.environ import clean_environ

SCRIPT = Path(sys.executable).parent / "model-access"
COMMAND = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "cli"]


def explain(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """Run the real `model-access explain` in an environment without provider keys."""
    env = clean_environ()
    return subprocess.run(
        [*COMMAND, "explain", *args],
        capture_output=True,
        text=True,
        input=stdin,
        env=env,
        timeout=60,
        check=False,
    )


def test_json_for_a_typo_names_the_real_model_first() -> None:
    """--json prints one object with the contract fields; gpt4o is a typo of gpt-4o."""
    proc = explain("--json", "The model `gpt4o` does not exist or you do not have access to it.")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert set(data) >= DIAGNOSIS_FIELDS
    assert data["cause"] == "model_typo"
    assert data["did_you_mean"][0] == "gpt-4o"
    assert all({"title", "detail"} <= set(fix) for fix in data["fixes"])


def test_terminal_view_of_a_retired_model_from_stdin() -> None:
    """Read from stdin ('-'), the terminal view shows the cause, replacement and fixes."""
    proc = explain(
        "-", stdin="The model `text-davinci-003` does not exist or you do not have access to it.\n"
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("Cause: model_retired")
    assert "Replacement: " in proc.stdout
    assert "Fixes, most likely first:" in proc.stdout


@pytest.mark.parametrize(
    "stdin",
    [
        "",
        "\x00\x01\x02 }{ ][ ``` &lt; 💥",
        "{" * 400_000 + "Error code: 4" * 50_000 + "x" * 400_000,
    ],
    ids=["empty", "garbage", "one-megabyte"],
)
def test_garbage_or_huge_stdin_is_not_an_error_and_exits_0(stdin: str) -> None:
    """Empty, binary-ish or 1 MB input answers not_an_error, exit 0, no traceback."""
    proc = explain("--json", stdin=stdin)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert json.loads(proc.stdout)["cause"] == "not_an_error"


@pytest.mark.parametrize("mode", [["--json"], []], ids=["json", "terminal"])
def test_a_pasted_key_never_appears_in_any_output(mode: list[str]) -> None:
    """A secret in the paste is masked everywhere and the user is told to rotate it."""
    secret = "sk-proj-" + "FAKE0" * 4
    paste = (
        f"openai.AuthenticationError: Error code: 401 - {{'error': {{'message': 'Incorrect API "
        f"key provided: {secret}.', 'type': 'invalid_request_error', 'code': 'invalid_api_key'}}}}"
        f"\nmy key is {secret}, model=`{secret}`"
    )
    proc = explain(*mode, "-", stdin=paste)
    assert proc.returncode == 0, proc.stderr
    assert secret not in proc.stdout + proc.stderr
    assert "invalid_api_key" in proc.stdout
    assert "rotate" in proc.stdout


def test_keys_of_providers_we_do_not_call_are_never_echoed() -> None:
    """xAI, Google, Hugging Face and AWS keys in a paste: masked in text and JSON, each flagged to rotate."""
    keys = {
        "xai": "xai-" + "FAKE0xai00" * 8,
        "google": "AIza" + "FAKE0goog0" * 3 + "abcde",
        "huggingface": "hf_" + "FAKEhfFAKE" * 3 + "abcd",
        "aws": "AKIA" + "FAKE234567FAKE23",
    }
    paste = (
        "Error code: 401 - {'error': {'message': 'Incorrect API key provided', 'code': 'invalid_api_key'}}\n"
        + "\n".join(f"{name.upper()}_KEY={key}" for name, key in keys.items())
    )
    for args in ((), ("--json",)):
        proc = explain(*args, "-", stdin=paste)
        assert proc.returncode == 0, proc.stderr
        for key in keys.values():
            assert key not in proc.stdout and key not in proc.stderr
    notes = " ".join(json.loads(explain("--json", "-", stdin=paste).stdout)["notes"])
    assert notes.count("rotate it") == 3  # the paste shows at most three warnings
    assert "xAI API key" in notes
