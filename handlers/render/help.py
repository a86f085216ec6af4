"""Block Kit for help-channel replies: a pasted error's cause and fixes, a live check, a secret warning.

Built from the shared pieces in `handlers.render` and `handlers.render_check` (the same
diagnosis blocks and per-key table as the slash command); what is particular to a help
channel is here: the sentence that compares the pasted error with what our keys see right
now, catalog facts the classifier did not carry, and the how-to-silence-me line. Pure
functions, no I/O; every user-derived string goes through `escape` (which masks secrets),
and the finished blocks through `mask_any` once more.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.causes import Cause
from bot.redact import FoundSecret, mask_any
from bot.results import CheckReport, Diagnosis, LiveCheck, ModelFacts
from handlers.render.blocks import Block, Reply, code, context, divider, escape, fit, section
from handlers.render.check import check_context, diagnosis_blocks
from handlers.render.matrix import matrix, title_of
from handlers.secret_guard import warning_text

# Causes where "another key can use it" points at the pasting key's access, not the model.
ACCESS_CAUSES = frozenset(
    {
        Cause.MODEL_NOT_FOUND,
        Cause.MODEL_TIER_GATED,
        Cause.ORG_VERIFICATION_REQUIRED,
        Cause.PROJECT_MODEL_BLOCKED,
        Cause.FINE_TUNE_SCOPE,
        Cause.ORGANIZATION_MISMATCH,
        Cause.INVALID_API_KEY,
        Cause.MISSING_SCOPE,
        Cause.UNSUPPORTED_REGION,
        Cause.AZURE_DEPLOYMENT_NOT_FOUND,
        Cause.INSUFFICIENT_QUOTA,
    }
)

CHECKING_NOTE = "This reply is updated with the live check when it is in."
MUTE_HINT = "React with :mute: or reply `@model-access stop` in this thread to keep me quiet here."
NO_ERROR_HINT = (
    "🔎 I could not find an API error in that message. Paste the error text (a traceback, "
    "the JSON body or the curl output is fine) and mention me, or run "
    "`/model-access MODEL` to check a model across our keys."
)


def verdict(pasted: Diagnosis, report: CheckReport) -> str:
    """One sentence comparing the pasted error with what our keys see right now."""
    model = code(report.model)
    able = [r.alias for r in report.results if r.accessible]
    if able:
        who = ", ".join(f"*{escape(a)}*" for a in able)
        line = f"{'Key' if len(able) == 1 else 'Keys'} {who} can use {model} right now"
        if pasted.cause in ACCESS_CAUSES:
            return line + "; your error came from a key, organization or project without access."
        return line + ", so the model itself is reachable."
    count = len(report.results)
    keys = "key" if count == 1 else "keys"
    return (
        f"None of our {count} {keys} can use {model} right now either (`{report.diagnosis.cause}`)."
    )


def lifecycle(diagnosis: Diagnosis, facts: ModelFacts | None) -> str | None:
    """The catalog's retirement or deprecation facts, when the diagnosis does not already say them."""
    if facts is None or diagnosis.replacement:
        return None
    when = f" on {facts.shutdown.isoformat()}" if facts.shutdown else ""
    if facts.status == "retired":
        line = f"🪦 {code(facts.model)} was retired{when} and no longer answers."
    elif facts.status == "deprecated" and facts.shutdown:
        line = f"⏳ {code(facts.model)} is deprecated and shuts down{when}."
    else:
        return None
    if facts.replacement:
        line += f" The replacement is {code(facts.replacement)}."
    return line


def live_blocks(pasted: Diagnosis, live: LiveCheck, titles: Mapping[str, str]) -> list[Block]:
    """The live part: the comparison sentence and the per-key table, or why there is none."""
    if live.report is None:
        note = live.note or "no live check was possible"
        return [context(f"Live check of {code(live.model)} skipped: {escape(note)}.")]
    report = live.report
    blocks = [
        divider(),
        section(f"*Live check of {code(report.model)}*: {verdict(pasted, report)}"),
    ]
    if report.results:
        blocks.append(matrix(report.results, titles))
    return blocks


def reply(
    *,
    titles: Mapping[str, str],
    secrets: list[FoundSecret],
    diagnosis: Diagnosis | None,
    facts: ModelFacts | None = None,
    live: LiveCheck | None = None,
    hint: bool = False,
    checking: str | None = None,
) -> Reply:
    """The whole thread reply: secret warning, diagnosis, live check, hint; secrets masked throughout.

    `checking`: the live check of this model is still running (the reply is edited when
    it is in), which the reply says in place of the live check.
    """
    body: list[Block] = [section(warning_text(secrets))] if secrets else []
    tail: list[Block] = []
    texts = ["⚠️ This message contains a live secret: rotate it now."] if secrets else []
    if diagnosis is not None:
        blocks = diagnosis_blocks(diagnosis, titles)
        line = lifecycle(diagnosis, facts)
        if line:
            blocks.insert(1, section(line))  # right under the cause and why
        body += blocks
        if live is not None:
            body += live_blocks(diagnosis, live, titles)
            if live.report is not None:
                tail.append(check_context(live.report))
        elif checking is not None:
            body.append(context(f"⏳ Checking {code(checking)} with our keys… {CHECKING_NOTE}"))
        title = diagnosis.title or title_of(diagnosis.cause, titles)
        texts.append(f"🔎 {escape(title)} ({diagnosis.cause})")
    if hint:
        body.append(section(NO_ERROR_HINT))
        texts.append("No API error found in that message.")
    if diagnosis is not None or hint:
        tail.append(context(MUTE_HINT))
    return Reply(" ".join(texts), mask_any(fit(body, tail)))
