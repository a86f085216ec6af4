"""Terminal rendering: pure functions from result values to text."""

from __future__ import annotations

from collections.abc import Sequence

from bot.redact import mask
from bot.results import CheckReport, Deprecation, Diagnosis, ModelsReport, Notice

_LANG_ORDER = ("python", "node", "curl")


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    return "\n".join(lines)


def diagnosis(d: Diagnosis, *, show_code: bool = True) -> str:
    """Cause, why, and ranked fixes (with code) as plain text."""
    head = f"Cause: {d.cause}" + (f" — {d.title}" if d.title else "")
    out = [head]
    facts = []
    if d.provider:
        facts.append(f"provider {d.provider}")
    if d.model:
        facts.append(f"model {d.model}")
    if d.http_status:
        facts.append(f"HTTP {d.http_status}")
    if d.error_code:
        facts.append(f"code {d.error_code}")
    facts.append("retryable" if d.retryable else "not retryable")
    out.append("  " + ", ".join(facts))
    if d.did_you_mean:
        out.append("Did you mean: " + ", ".join(d.did_you_mean))
    if d.replacement:
        when = f" (shut down {d.shutdown})" if d.shutdown else ""
        out.append(f"Replacement: {d.replacement}{when}")
    if d.summary:
        out += ["", "Why: " + d.summary]
    for note in d.notes:
        out.append("Note: " + note)
    if d.fixes:
        out += ["", "Fixes, most likely first:"]
        for i, fix in enumerate(d.fixes, 1):
            out.append(f"  {i}. {fix.title}")
            if fix.detail:
                out.append(f"     {fix.detail}")
            if show_code and fix.code:
                for lang in sorted(fix.code, key=lambda x: (*_LANG_ORDER, x).index(x)):
                    out.append(f"     [{lang}]")
                    out += ["       " + line for line in fix.code[lang].rstrip().splitlines()]
    if d.escalate:
        out += ["", "When to contact support: " + d.escalate]
    return mask("\n".join(out))


def check(report: CheckReport) -> str:
    """The per-key table, then the diagnosis."""
    rows = []
    for r in report.results:
        rows.append(
            [
                r.alias,
                f"…{r.fingerprint}",
                r.provider,
                "yes" if r.accessible else "no",
                r.cause or "-",
                str(r.http_status or "-"),
                f"{r.latency_ms:.0f} ms",
                "cached" if r.cached else "live",
            ]
        )
    endpoint = f" on {report.endpoint}" if report.endpoint else ""
    depth = "deep probe" if report.deep else "free probes"
    out = [
        f"model {report.model}{endpoint} ({depth}; cache: {report.cache})",
        "",
        _table(["key", "fp", "provider", "usable", "cause", "http", "latency", "source"], rows),
    ]
    evidence = [f"  {r.alias}: {r.evidence}" for r in report.results if r.evidence]
    if evidence:
        out += ["", "Evidence:", *evidence]
    out += ["", diagnosis(report.diagnosis)]
    return mask("\n".join(out))


def models(report: ModelsReport) -> str:
    """What each key can list."""
    out = []
    for k in report.keys:
        src = "cached" if k.cached else "live"
        if not k.ok:
            out.append(
                f"{k.alias} (…{k.fingerprint}, {k.provider}): cannot list — {k.cause}: {k.evidence}"
            )
        else:
            out.append(f"{k.alias} (…{k.fingerprint}, {k.provider}, {src}): {len(k.models)} models")
            out += [
                f"  {m}" + (f"  (shuts down {k.shutdowns[m]})" if m in k.shutdowns else "")
                for m in k.models
            ]
        if k.note:
            out.append(f"  note: {k.note}")
    return mask("\n".join(out))


def deprecations(rows: Sequence[Deprecation]) -> str:
    """The deprecation calendar as a table."""
    if not rows:
        return "No shutdowns in that window."
    body = [
        [
            r.model,
            r.provider,
            r.status,
            str(r.announced or "-"),
            str(r.shutdown or "-"),
            r.replacement or "-",
        ]
        for r in rows
    ]
    return _table(["model", "provider", "status", "announced", "shutdown", "replacement"], body)


def notices(rows: Sequence[Notice]) -> str:
    """The notices due on a day."""
    if not rows:
        return "No notices due that day."
    body = [
        [
            r.model,
            r.provider,
            str(r.shutdown),
            str(r.days_left),
            str(r.threshold),
            r.replacement or "-",
        ]
        for r in rows
    ]
    return _table(["model", "provider", "shutdown", "days left", "threshold", "replacement"], body)
