"""Block Kit for answers about one model or one error: the per-key matrix, the cause, the fixes.

Pure functions of result values (bot/results.py). `titles` maps cause ids to the
taxonomy's plain-words titles, so the words live in the taxonomy data, not here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime

from bot.causes import Cause
from bot.redact import FoundSecret
from bot.results import CheckProgress, CheckReport, Diagnosis, ProbeResult
from handlers import parse
from handlers.render.blocks import (
    Block,
    Reply,
    actions,
    button,
    clip,
    code,
    code_block,
    context,
    divider,
    escape,
    fit,
    header,
    one_line,
    section,
)
from handlers.render.matrix import NO, OK, WAIT, WARN, matrix, status_of, title_of
from handlers.secret_guard import warning_text

CODE_MAX = 2800  # a snippet inside one 3,000-character section
SHARE, REPROBE, SHOW_CODE = "share_in_channel", "reprobe", "show_fix_code"
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,20}$")


def checking(check: parse.Check) -> Reply:
    """The instant acknowledgement while the keys are probed."""
    what = code(check.model) + (f" on {code(check.endpoint)}" if check.endpoint else "")
    text = f"⏳ Checking {what} with our keys…"
    return Reply(text, [context(text)])


def _verdict(report: CheckReport) -> tuple[str, str]:
    ok = sum(r.accessible for r in report.results)
    total = len(report.results)
    if total and ok == total:
        shutdown = report.diagnosis.shutdown or any(r.shutdown for r in report.results)
        return (WARN if shutdown else OK), f"every key can use it ({ok} of {total})"
    if ok:
        return WARN, f"{ok} of {total} keys can use it"
    return NO, "no key can use it" if total != 1 else "the key cannot use it"


def _evidence(result: ProbeResult) -> Block:
    facts = [f"`{result.cause}`"] if result.cause else []
    if result.http_status:
        facts.append(f"HTTP {result.http_status}")
    if result.error_code and result.error_code != result.cause:
        facts.append(f"code `{escape(result.error_code)}`")
    line = f"{status_of(result)} *{escape(result.alias)}* (…{escape(result.fingerprint)})"
    line += ": " + ", ".join(facts) if facts else ""
    if result.evidence:
        line += "\n> " + escape(one_line(result.evidence, 400))
    return section(line)


def diagnosis_blocks(
    d: Diagnosis,
    titles: Mapping[str, str],
    *,
    name_is_right: bool = False,
    titled: bool = True,
) -> list[Block]:
    """Why it happened, did-you-mean, lifecycle warnings, notes and ranked fixes.

    `name_is_right`: some key uses the model under this exact name, so no did-you-mean.
    `titled`: False when a header above already names the cause.
    """
    blocks: list[Block] = []
    if d.cause == Cause.NOT_AN_ERROR or not titled:  # no cause to name here, only the summary
        why = escape(d.summary)
    else:
        why = f"*{escape(d.title or title_of(d.cause, titles))}* (`{d.cause}`)"
        why += "\n" + escape(d.summary) if d.summary else ""
    if why:
        blocks.append(section(why))
    if d.did_you_mean and not name_is_right:
        names = ", ".join(code(m) for m in d.did_you_mean[:5])
        blocks.append(section(f"🤔 Did you mean {names}?"))
    told = any(d.replacement and d.replacement in note for note in d.notes)
    if d.replacement and (d.shutdown or d.cause == Cause.MODEL_RETIRED) and not told:
        when = f" (shutdown {d.shutdown.isoformat()})" if d.shutdown else ""
        blocks.append(section(f"{WARN} The replacement is {code(d.replacement)}{when}."))
    for note in d.notes[:5]:
        blocks.append(section(f"{WARN} {escape(note)}" if _is_warning(note) else escape(note)))
    if d.fixes:
        lines = ["*What to do, most likely first*"]
        for n, fix in enumerate(d.fixes, start=1):
            lines.append(
                f"{n}. *{escape(fix.title)}*" + (f" {escape(fix.detail)}" if fix.detail else "")
            )
        blocks.append(section("\n".join(lines)))
    if d.escalate:
        blocks.append(context(f"When to contact the provider: {escape(d.escalate)}"))
    return blocks


def _is_warning(note: str) -> bool:
    lowered = note.lower()
    return any(w in lowered for w in ("shut", "deprecat", "retir"))


def _when(results: Sequence[ProbeResult]) -> str:
    cached = [r for r in results if r.cached]
    stamps = [r.checked_at for r in results if isinstance(r.checked_at, datetime)]
    at = f" at {min(stamps):%H:%M} UTC" if stamps else ""
    if results and len(cached) == len(results):
        return f"cached result (probed{at})"
    if cached:
        return f"{len(results) - len(cached)} live, {len(cached)} cached"
    return f"live probe{at}"


def check_context(report: CheckReport) -> Block:
    """Cached or live, when, which keys, probe depth and cache status."""
    keys = ", ".join(escape(r.alias) for r in report.results) or "none"
    depth = "deep probe (1 token)" if report.deep else "free probes"
    cache = "cache: redis" if report.cache == "redis" else f"⚠️ {escape(report.cache)}"
    return context(f"{_when(report.results)} · keys: {keys} · {depth} · {cache}")


def has_code(d: Diagnosis) -> bool:
    """Whether any fix carries a snippet (then a Show fix code button is offered)."""
    return any(f.code for f in d.fixes)


def _buttons(d: Diagnosis, value: str | None, *, reprobe: bool) -> list[Block]:
    row = []
    if value is not None:
        row.append(button("Share in channel", SHARE, value, style="primary"))
        if reprobe:
            row.append(button("Re-probe", REPROBE, value))
        if has_code(d):
            row.append(button("Show fix code", SHOW_CODE, value))
    return [actions(row)] if row else []


def _shared_line(shared_by: str | None) -> list[Block]:
    if shared_by and _USER_ID.match(shared_by):
        return [context(f"Shared by <@{shared_by}> · ask yourself with `/model-access MODEL`")]
    return []


def check(
    report: CheckReport,
    titles: Mapping[str, str],
    request: parse.Check,
    *,
    shared_by: str | None = None,
) -> Reply:
    """The answer to `/model-access MODEL`: verdict, matrix, evidence, cause, fixes, buttons."""
    emoji, verdict = _verdict(report)
    name = report.model + (f" on {report.endpoint}" if report.endpoint else "")
    body: list[Block] = [header(f"{emoji} {escape(name)}: {verdict}")]
    if report.results:
        body.append(matrix(report.results, titles))
    failing = [r for r in report.results if not r.accessible]
    usable = len(failing) < len(report.results)
    body += diagnosis_blocks(report.diagnosis, titles, name_is_right=usable)
    body += [_evidence(r) for r in failing]
    tail = [check_context(report), *_shared_line(shared_by)]
    if shared_by is None:
        tail = [divider(), *tail, *_buttons(report.diagnosis, request.to_value(), reprobe=True)]
    text = f"{emoji} {escape(name)}: {verdict}"
    if report.diagnosis.did_you_mean and not usable:
        text += f". Did you mean {escape(report.diagnosis.did_you_mean[0])}?"
    return Reply(text, fit(body, tail, note=lambda n: f"… {n} more not shown."))


def _waiting(step: CheckProgress) -> str:
    names = ", ".join(escape(p.alias) for p in step.pending[:5])
    more = len(step.pending) - 5
    return names + (f" and {more} more" if more > 0 else "")


def progress(step: CheckProgress, titles: Mapping[str, str]) -> Reply:
    """A check still running: every key that has answered, the rest marked still checking."""
    name = step.model + (f" on {step.endpoint}" if step.endpoint else "")
    line = f"{WAIT} {escape(name)}: {step.done} of {step.total} keys answered"
    usable = sum(r.accessible for r in step.results)
    if step.results:
        line += f", {usable} can use it so far"
    body: list[Block] = [header(line), matrix(step.results, titles, step.pending)]
    tail = [
        context(
            f"Still checking {_waiting(step)}. This message is replaced when every key "
            "has answered or timed out."
        )
    ]
    return Reply(line, fit(body, tail, note=lambda n: f"… {n} more not shown."))


def unfinished(
    step: CheckProgress | None, titles: Mapping[str, str], request: parse.Check, seconds: float
) -> Reply:
    """A check that ran out of time: the keys that answered, and those that did not in time."""
    name = request.model + (f" on {request.endpoint}" if request.endpoint else "")
    if step is None or not step.results:
        text = (
            f"⌛ No answer about {code(request.model)} within {seconds:.0f} s. "
            "The provider may be slow; try again shortly."
        )
        return Reply(text, [section(text)])
    line = f"⌛ {escape(name)}: {step.done} of {step.total} keys answered within {seconds:.0f} s"
    note = f"no answer within {seconds:.0f} s"
    body: list[Block] = [header(line), matrix(step.results, titles, step.pending, note=note)]
    body += [_evidence(r) for r in step.results if not r.accessible]
    value = request.to_value()
    tail = [
        divider(),
        context(f"No answer in time from {_waiting(step)}; the provider may be slow."),
        *([actions([button("Re-probe", REPROBE, value)])] if value is not None else []),
    ]
    return Reply(line, fit(body, tail, note=lambda n: f"… {n} more not shown."))


def explain(
    d: Diagnosis,
    titles: Mapping[str, str],
    request: parse.Explain,
    *,
    secrets: Sequence[FoundSecret] = (),
    shared_by: str | None = None,
) -> Reply:
    """The answer to `/model-access explain …`: the cause and fixes of a pasted error."""
    body: list[Block] = [section(warning_text(list(secrets)))] if secrets else []
    if d.cause == Cause.NOT_AN_ERROR:
        body.append(
            section(
                "🔎 I could not find an API error in that text. Paste the whole error "
                "(the traceback, JSON body or curl output), or check a model with "
                "`/model-access MODEL`."
            )
        )
        return Reply("No API error found in that text.", body)
    facts = [f"`{d.cause}`"]
    facts += [escape(d.provider)] if d.provider else []
    facts += [f"model {code(d.model)}"] if d.model else []
    facts += [f"HTTP {d.http_status}"] if d.http_status else []
    facts += [f"code `{escape(d.error_code)}`"] if d.error_code else []
    facts.append("worth retrying" if d.retryable else "retrying will not help")
    title = d.title or title_of(d.cause, titles)
    body += [header(f"🔎 {title}"), context(" · ".join(facts))]
    body += diagnosis_blocks(d, titles, titled=False)
    tail = _shared_line(shared_by)
    if shared_by is None:
        tail += _buttons(d, request.to_value(), reprobe=False)
    return Reply(f"🔎 {escape(title)} ({d.cause})", fit(body, tail))


def fix_code(d: Diagnosis, subject: str) -> Reply:
    """The snippets of every fix that has one, per language."""
    body: list[Block] = [section(f"*Fix code for {code(subject)}*")]
    for n, fix in enumerate(d.fixes, start=1):
        for lang, snippet in sorted((fix.code or {}).items(), key=lambda kv: _lang_rank(kv[0])):
            snippet_block = code_block(clip(snippet, CODE_MAX))
            body.append(section(f"{n}. *{escape(fix.title)}* — _{escape(lang)}_\n{snippet_block}"))
    if len(body) == 1:
        body.append(section("These fixes have no code to show; the steps above are the fix."))
    return Reply(f"Fix code for {escape(subject)}", fit(body))


def _lang_rank(lang: str) -> tuple[int, str]:
    order = ("python", "node", "curl")
    return (order.index(lang) if lang in order else len(order), lang)


def shortcut(
    d: Diagnosis,
    titles: Mapping[str, str],
    *,
    report: CheckReport | None,
    secrets: Sequence[FoundSecret] = (),
    note: str | None = None,
) -> Reply:
    """The thread reply for *Diagnose this error*: the pasted error's cause, then a live check."""
    if d.cause == Cause.NOT_AN_ERROR and not secrets:
        text = (
            "🔎 I could not find an API error in that message. Errors I can read look like "
            "`Error code: 404 - {'error': {... 'code': 'model_not_found'}}`."
        )
        return Reply("No API error found in that message.", [section(text)])
    body: list[Block] = [section(warning_text(list(secrets)))] if secrets else []
    if d.cause != Cause.NOT_AN_ERROR:
        body += diagnosis_blocks(d, titles)
    if report is not None:
        emoji, verdict = _verdict(report)
        body += [
            divider(),
            section(f"*Live check of {code(report.model)}*: {emoji} {verdict}"),
            matrix(report.results, titles),
        ]
    tail = [check_context(report)] if report is not None else []
    if note:
        tail.append(context(escape(note)))
    summary = f"🔎 {escape(d.title or title_of(d.cause, titles))} ({d.cause})"
    return Reply(summary if d.cause != Cause.NOT_AN_ERROR else "Secret warning", fit(body, tail))
