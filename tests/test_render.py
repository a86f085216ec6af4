"""Block Kit rendering: pure functions of result values, checked against Slack's limits.

Every reply here is built from hand-made results, then parsed back with slack_sdk's own
`Block.parse` (which knows every block type) and validated with `to_dict()`.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.results import (
    CheckProgress,
    CheckReport,
    Deprecation,
    Diagnosis,
    Fix,
    KeyHealth,
    KeyModels,
    ModelsReport,
    PendingKey,
    ProbeResult,
)
from handlers import parse
from handlers.render import check as render_check
from handlers.render import home as render_home
from handlers.render import lists as render_lists
from handlers.render.blocks import (
    MAX_BLOCKS,
    SECTION_MAX,
    TEXT_BUDGET,
    Reply,
    context,
    escape,
    fit,
    section,
    text_size,
)
from tests.slack_helpers import block_texts, fake_openai_key

TITLES = {"model_typo": "The model name is misspelt", "model_not_found": "Model not found"}
TODAY = date(2026, 11, 22)


def result(alias: str, ok: bool, cause: str | None = None, **extra: Any) -> ProbeResult:
    """One key's probe result."""
    return ProbeResult(
        alias=alias,
        provider="openai",
        fingerprint="ab12",
        accessible=ok,
        cause=None if ok else (cause or "model_not_found"),
        http_status=None if ok else 404,
        evidence="" if ok else "The model `gpt4o` does not exist or you do not have access to it.",
        checked_at=datetime(2026, 11, 22, 9, 30, tzinfo=UTC),
        **extra,
    )


def typo_report(keys: int = 2, **diag: Any) -> CheckReport:
    """Every key refuses `gpt4o`; the diagnosis suggests gpt-4o and has a fix with code."""
    diagnosis = Diagnosis(
        cause="model_typo",
        model="gpt4o",
        title="The model name is misspelt",
        summary="No model is called gpt4o.",
        did_you_mean=["gpt-4o", "gpt-4o-mini"],
        fixes=[
            Fix(
                title="Use the exact model id gpt-4o",
                detail="Ids are exact.",
                code={"python": 'client.chat.completions.create(model="gpt-4o", ...)'},
            ),
            Fix(title="List the models your key can reach", detail="GET /v1/models"),
        ],
        **diag,
    )
    results = [result(f"key{i}", False, "model_typo") for i in range(keys)]
    return CheckReport(model="gpt4o", endpoint=None, results=results, diagnosis=diagnosis)


def assert_valid_message(reply: Reply) -> None:
    """Slack would accept it: known blocks that validate, ≤ 50 of them, within the text budget."""
    assert 0 < len(reply.blocks) <= MAX_BLOCKS
    assert text_size(reply.blocks) <= TEXT_BUDGET
    for block in reply.blocks:
        parsed = Block.parse(block)
        assert parsed is not None, block
        parsed.to_dict()  # raises SlackObjectFormationError on a broken limit
        if block["type"] == "section" and "text" in block:
            assert len(block["text"]["text"]) <= SECTION_MAX


def buttons(reply: Reply) -> dict[str, str]:
    """action_id -> value of every button in the reply."""
    return {
        e["action_id"]: e.get("value")
        for b in reply.blocks
        if b["type"] == "actions"
        for e in b["elements"]
    }


# -- escaping -------------------------------------------------------------------------------


def test_escape_defuses_mentions_and_masks_keys() -> None:
    """`<!channel>`, `<@U…>` and `&` are escaped, and a pasted key keeps only its last four characters."""
    key = fake_openai_key("zz99")
    out = escape(f"<!channel> ping <@U123> & {key}")
    assert out.startswith("&lt;!channel&gt; ping &lt;@U123&gt; &amp; ")
    assert key not in out and out.endswith("zz99")


# -- check ----------------------------------------------------------------------------------


def test_check_reply_has_matrix_cause_fixes_and_buttons() -> None:
    """A typo answer shows a ❌ row per key, did-you-mean gpt-4o, ranked fixes, and three buttons."""
    request = parse.Check("gpt4o")
    reply = render_check.check(typo_report(), TITLES, request)
    assert_valid_message(reply)
    table = next(b for b in reply.blocks if b["type"] == "table")
    assert len(table["rows"]) == 3  # header + two keys
    assert all(row[2]["text"].startswith("❌") for row in table["rows"][1:])
    shown = block_texts(reply.blocks)
    assert "Did you mean `gpt-4o`" in shown
    assert "1. *Use the exact model id gpt-4o*" in shown
    assert "cached result" not in shown and "live probe at 09:30 UTC" in shown
    assert set(buttons(reply)) == {"share_in_channel", "reprobe", "show_fix_code"}
    assert parse.check_from_value(buttons(reply)["reprobe"]) == request
    assert "gpt-4o" in reply.text


def test_usable_model_shows_check_marks_and_no_fix_code_button() -> None:
    """When every key works the header says so, rows are ✅, and no Show fix code is offered."""
    report = CheckReport(
        model="gpt-4o",
        endpoint="chat",
        results=[result("prod", True), result("dev", True, cached=True)],
        diagnosis=Diagnosis(cause="not_an_error", model="gpt-4o", summary="Both keys work."),
    )
    reply = render_check.check(report, TITLES, parse.Check("gpt-4o", endpoint="chat"))
    assert_valid_message(reply)
    assert reply.blocks[0]["text"]["text"].startswith("✅ gpt-4o on chat: every key can use it")
    assert "1 live, 1 cached" in block_texts(reply.blocks)
    assert set(buttons(reply)) == {"share_in_channel", "reprobe"}


def test_a_model_shutting_down_gets_a_warning() -> None:
    """A usable model with a shutdown date is ⚠️, and the replacement is named once."""
    report = CheckReport(
        model="gpt-4o",
        endpoint=None,
        results=[result("prod", True, shutdown=date(2027, 1, 10))],
        diagnosis=Diagnosis(
            cause="not_an_error",
            model="gpt-4o",
            shutdown=date(2027, 1, 10),
            replacement="gpt-5",
            notes=["gpt-4o shuts down on 2027-01-10; move to gpt-5."],
        ),
    )
    reply = render_check.check(report, TITLES, parse.Check("gpt-4o"))
    assert_valid_message(reply)
    assert reply.blocks[0]["text"]["text"].startswith("⚠️")
    text = block_texts(reply.blocks)
    assert "⚠️ gpt-4o shuts down on 2027-01-10; move to gpt-5." in text
    assert "The replacement is" not in text  # the note already says it
    quiet = report.model_copy(
        update={"diagnosis": report.diagnosis.model_copy(update={"notes": []})}
    )
    text = block_texts(render_check.check(quiet, TITLES, parse.Check("gpt-4o")).blocks)
    assert "The replacement is `gpt-5` (shutdown 2027-01-10)" in text


def test_two_hundred_keys_fit_one_message_with_a_note() -> None:
    """Hundreds of keys are cut to Slack's limits, with a note saying how many were left out."""
    reply = render_check.check(typo_report(keys=200), TITLES, parse.Check("gpt4o"))
    assert_valid_message(reply)
    assert "more not shown" in block_texts(reply.blocks)
    assert reply.blocks[-1]["type"] == "actions"  # the buttons always survive


def test_huge_provider_text_is_clipped_per_section() -> None:
    """A 10,000-character fix detail is clipped to 3,000 characters, saying how much was cut."""
    report = typo_report()
    big = report.diagnosis.model_copy(update={"fixes": [Fix(title="t", detail="x" * 10_000)]})
    reply = render_check.check(
        report.model_copy(update={"diagnosis": big}), TITLES, parse.Check("gpt4o")
    )
    assert_valid_message(reply)
    assert "more characters)" in block_texts(reply.blocks)


def test_hostile_model_name_is_escaped_everywhere() -> None:
    """A model named `<!here>` never appears raw in any block or in the fallback text."""
    report = typo_report().model_copy(update={"model": "<!here>x"})
    reply = render_check.check(report, TITLES, parse.Check("<!here>x"))
    assert "<!here>" not in json.dumps(reply.blocks) + reply.text
    assert "&lt;!here&gt;x" in reply.blocks[0]["text"]["text"]


def test_button_values_carry_the_request_and_stay_short() -> None:
    """Button values hold model, endpoint, aliases and depth, fit 2,000 characters, and hold no key."""
    request = parse.Check("m" * parse.MODEL_MAX, ("a" * 40,) * 20, "embeddings", True)
    reply = render_check.check(typo_report(), TITLES, request)
    for value in buttons(reply).values():
        assert len(value) <= 2000
        assert parse.check_from_value(value) == request


def test_fix_code_reply_puts_each_snippet_in_a_code_block() -> None:
    """Show fix code lists each fix's snippet inside ``` with its language."""
    reply = render_check.fix_code(typo_report().diagnosis, "gpt4o")
    assert_valid_message(reply)
    text = block_texts(reply.blocks)
    assert '_python_\n```\nclient.chat.completions.create(model="gpt-4o", ...)\n```' in text


# -- explain ---------------------------------------------------------------------------------


def test_explain_warns_about_a_pasted_key_and_masks_it() -> None:
    """An explain answer with a pasted key says rotate it, and no part shows the whole key."""
    from bot.redact import find

    key = fake_openai_key("leak")
    paste = f"Incorrect API key provided: {key}"
    d = Diagnosis(cause="invalid_api_key", title="The key is wrong", summary=f"Saw {key}")
    reply = render_check.explain(
        d, TITLES, parse.Explain(escape(paste)), secrets=find(paste), shared_by=None
    )
    assert_valid_message(reply)
    everything = json.dumps(reply.blocks) + reply.text
    assert key not in everything
    assert "Rotate it now" in everything


def test_explain_value_too_long_for_a_button_drops_share() -> None:
    """A paste longer than a button value can carry gets no Share button (rather than a broken one)."""
    d = Diagnosis(cause="model_not_found", title="Not found")
    reply = render_check.explain(d, TITLES, parse.Explain("e" * 5000))
    assert "share_in_channel" not in buttons(reply)


# -- fitting ---------------------------------------------------------------------------------


def test_fit_keeps_the_tail_and_counts_what_it_dropped() -> None:
    """fit drops body blocks past the limit, notes how many, and keeps the tail."""
    body = [section(f"row {i}") for i in range(80)]
    out = fit(body, [context("tail")])
    assert len(out) == MAX_BLOCKS
    assert out[-1]["elements"][0]["text"] == "tail"
    assert out[-2]["elements"][0]["text"].startswith("… 32 more")


# -- lists ------------------------------------------------------------------------------------


def test_long_model_lists_are_cut_with_a_count() -> None:
    """A key listing 500 models shows the first ones and says how many more there are."""
    report = ModelsReport(
        keys=[
            KeyModels(
                alias="prod",
                provider="openai",
                fingerprint="ab12",
                ok=True,
                models=[f"model-{i:03d}" for i in range(500)],
            ),
            KeyModels(
                alias="dev",
                provider="openai",
                fingerprint="cd34",
                ok=False,
                cause="invalid_api_key",
                evidence="401",
            ),
        ]
    )
    reply = render_lists.models(report)
    assert_valid_message(reply)
    text = block_texts(reply.blocks)
    assert "500 models" in text and "… and 420 more" in text
    assert "❌ *dev*" in text


def test_deprecations_are_listed_soonest_first_with_days_left() -> None:
    """The calendar shows each shutdown with its days left and replacement."""
    rows = [
        Deprecation(
            model="gpt-4o-2024-05-13",
            provider="openai",
            status="deprecated",
            announced=None,
            shutdown=date(2026, 12, 2),
            replacement="gpt-4o",
        )
    ]
    reply = render_lists.deprecations(rows, 90, TODAY)
    assert_valid_message(reply)
    assert "2026-12-02 (10 days) → `gpt-4o`" in block_texts(reply.blocks)
    empty = render_lists.deprecations([], 30, TODAY)
    assert "No model in our catalog shuts down in the next 30 days" in block_texts(empty.blocks)


def test_help_mentions_keys_only_for_admins() -> None:
    """Help lists `keys` to admins only, and names an unknown sub-command back (escaped)."""
    assert "/model-access keys" in block_texts(render_lists.help_text(admin=True).blocks)
    plain = render_lists.help_text(admin=False, unknown="<!channel>")
    assert "/model-access keys" not in block_texts(plain.blocks)
    assert "`&lt;!channel&gt;`" in block_texts(plain.blocks)


# -- App Home ---------------------------------------------------------------------------------


def test_home_puts_asked_models_first_and_stays_under_100_blocks() -> None:
    """With 300 shutdowns the Home tab fits 100 blocks, keys included, most-asked model first."""
    rows = [
        Deprecation(
            model=f"m-{i:03d}",
            provider="openai",
            status="deprecated",
            announced=None,
            shutdown=date(2026, 12, 1 + i % 28),
            replacement=None,
        )
        for i in range(300)
    ]
    health = [
        KeyHealth(alias="prod", provider="openai", fingerprint="ab12", last_ok=True,
                  last_probe_at=datetime(2026, 11, 22, 8, 0, tzinfo=UTC), models_count=42),
        KeyHealth(alias="dev", provider="openai", fingerprint="cd34",
                  recent_failures=["gpt-4 model_retired"]),
    ]  # fmt: skip
    view = render_home.home(health, rows, {"m-250": 7, "m-100": 2}, TODAY)
    View(**view).to_dict()
    assert len(view["blocks"]) <= 100
    text = block_texts(view["blocks"])
    assert text.index("m-250") < text.index("m-100") < text.index("m-000")
    assert "asked about 7 times" in text
    assert "42 models listed" in text and "`gpt-4 model_retired`" in text
    assert "more (`/model-access deprecations 90`)" in text


def test_rate_limit_message_names_the_count() -> None:
    """The limit message says how many checks were run in the last minute."""
    reply = render_lists.rate_limited(10)
    assert "You've run 10 checks in the last minute; try again in a few seconds." in reply.text


def test_no_did_you_mean_when_some_key_uses_the_exact_name() -> None:
    """When one key can use the model, the name is right: the failing key's suggestions are not shown."""
    report = typo_report().model_copy(
        update={"results": [result("prod", True), result("dev", False, "model_not_found")]}
    )
    reply = render_check.check(report, TITLES, parse.Check("gpt4o"))
    assert "Did you mean" not in block_texts(reply.blocks) + reply.text


def test_explain_names_the_cause_once() -> None:
    """The explain answer's header names the cause; the body does not repeat it."""
    d = Diagnosis(cause="insufficient_quota", title="Out of credit", summary="No quota left.")
    reply = render_check.explain(d, TITLES, parse.Explain("429 insufficient_quota"))
    assert block_texts(reply.blocks).count("Out of credit") == 1
    assert "No quota left." in block_texts(reply.blocks)


def test_home_without_keys_says_checks_cannot_run_and_what_to_set() -> None:
    """With no provider key the Home tab warns that checks cannot run and names the variables."""
    view = render_home.home([], [], {}, TODAY)
    View(**view).to_dict()
    text = block_texts(view["blocks"])
    assert "No provider keys are configured, so checks cannot run" in text
    assert "OPENAI_API_KEY" in text and "MODEL_ACCESS_KEYS_FILE" in text


# -- an org with many keys, and checks in progress ---------------------------------------------


def many_keys_report(n: int = 300) -> CheckReport:
    """n keys: two in three can use gpt-4o, the rest are refused for want of quota or time out."""
    results = []
    for i in range(n):
        if i % 3:
            results.append(result(f"key{i:03d}", True, latency_ms=80.0))
        elif i % 2:
            results.append(result(f"key{i:03d}", False, "insufficient_quota", cached=True))
        else:
            results.append(result(f"key{i:03d}", False, "network"))
    diagnosis = Diagnosis(
        cause="insufficient_quota", model="gpt-4o", summary="Some keys lack quota."
    )
    return CheckReport(model="gpt-4o", endpoint=None, results=results, diagnosis=diagnosis)


def test_three_hundred_keys_fit_one_message_grouped_by_outcome() -> None:
    """300 keys: one table row per outcome with its count and first keys, within Slack's limits."""
    reply = render_check.check(many_keys_report(), TITLES, parse.Check("gpt-4o"))
    assert_valid_message(reply)
    table = next(b for b in reply.blocks if b["type"] == "table")
    rows = [[cell["text"] for cell in row] for row in table["rows"][1:]]
    assert [r[0].split(":")[0] for r in rows] == ["200 keys", "50 keys", "50 keys"]
    assert rows[0][0].startswith("200 keys: key001, key002, key004 and 197 more")
    assert rows[0][2] == "✅ yes" and rows[0][4] == "200 live, up to 80 ms"
    assert {r[3] for r in rows[1:]} == {"Insufficient quota", "Network"}
    assert "… " in block_texts(reply.blocks)  # the per-key evidence beyond the limits is counted


def test_a_check_in_progress_shows_answered_keys_and_marks_the_rest() -> None:
    """Two keys answered, one pending: rows for both answers and a still-checking row, no buttons."""
    report = many_keys_report(3)
    pending = [PendingKey(alias="slow", provider="anthropic", fingerprint="zz99")]
    step = CheckProgress(model="gpt-4o", endpoint=None, results=report.results[1:], pending=pending)
    reply = render_check.progress(step, TITLES)
    assert_valid_message(reply)
    table = next(b for b in reply.blocks if b["type"] == "table")
    rows = {row[0]["text"]: row[3]["text"] for row in table["rows"][1:]}
    assert rows["slow (…zz99)"] == "still checking…"
    assert len(rows) == 3 and buttons(reply) == {}
    assert "2 of 3 keys answered, 2 can use it so far" in reply.text
    assert "Still checking slow." in block_texts(reply.blocks)


def test_three_hundred_keys_in_progress_fit_too() -> None:
    """212 of 300 answered: the grouped table ends with one row for the 88 still checking."""
    report = many_keys_report()
    pending = [
        PendingKey(alias=r.alias, provider=r.provider, fingerprint="ab12")
        for r in report.results[212:]
    ]
    step = CheckProgress(
        model="gpt-4o", endpoint=None, results=report.results[:212], pending=pending
    )
    reply = render_check.progress(step, TITLES)
    assert_valid_message(reply)
    table = next(b for b in reply.blocks if b["type"] == "table")
    last = [cell["text"] for cell in table["rows"][-1]]
    assert last[0].startswith("88 keys: key212") and last[3] == "still checking…"
    assert "212 of 300 keys answered" in reply.text


def test_an_unfinished_check_names_the_keys_that_did_not_answer() -> None:
    """Past the deadline: the answers that came, the silent key's row says no answer within 15 s, Re-probe offered."""
    report = many_keys_report(2)
    pending = [PendingKey(alias="slow", provider="openai", fingerprint="zz99")]
    step = CheckProgress(model="gpt-4o", endpoint=None, results=report.results, pending=pending)
    reply = render_check.unfinished(step, TITLES, parse.Check("gpt-4o"), 15)
    assert_valid_message(reply)
    table = next(b for b in reply.blocks if b["type"] == "table")
    rows = {row[0]["text"]: row[3]["text"] for row in table["rows"][1:]}
    assert rows["slow (…zz99)"] == "no answer within 15 s"
    assert set(buttons(reply)) == {"reprobe"}
    assert "2 of 3 keys answered within 15 s" in reply.text
