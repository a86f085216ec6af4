"""`model-access`: the same diagnosis as the Slack bot, from a terminal."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from bot import __version__
from bot import log as logsetup
from bot.config import load_env
from bot.errors import ModelAccessError
from bot.knowledge.catalog import ENDPOINTS
from cli import textview

if TYPE_CHECKING:
    from bot.engine import Engine
    from bot.results import CheckReport

MANIFEST = "deploy/slack-app-manifest.yaml"


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage dump) and exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"model-access: error: {message} (see --help)\n")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="model-access",
        description="Find out whether your API keys can use a model, and if not, why and what to do.",
    )
    p.add_argument("--version", action="version", version=f"model-access {__version__}")
    p.add_argument(
        "--keys",
        type=Path,
        metavar="FILE",
        help="keys file (default: $MODEL_ACCESS_KEYS_FILE, else the SDK env vars)",
    )
    p.add_argument(
        "--config", type=Path, metavar="FILE", help="config file (default: $MODEL_ACCESS_CONFIG)"
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    s = sub.add_parser(
        "explain",
        help="explain a pasted API error (offline)",
        description="Classify a pasted API error: cause, why, and ranked fixes. Reads TEXT, or stdin when TEXT is '-' or absent.",
    )
    s.add_argument("text", nargs="*", metavar="TEXT", help="the error text, or - for stdin")
    s.add_argument("--json", action="store_true", help="print one JSON object")

    s = sub.add_parser(
        "check",
        help="probe every key for a model",
        description="Probe each configured key for MODEL and diagnose the result. Exit 0 if at least one key can use it, 1 if none can, 2 on a usage or configuration error.",
    )
    s.add_argument("model", metavar="MODEL")
    s.add_argument(
        "--key",
        dest="aliases",
        action="append",
        default=[],
        metavar="ALIAS",
        help="only this key (repeatable)",
    )
    s.add_argument(
        "--endpoint",
        choices=ENDPOINTS,
        metavar="E",
        help=f"the endpoint to probe: {', '.join(ENDPOINTS)}",
    )
    s.add_argument(
        "--deep",
        action="store_true",
        help="make the smallest real (billed) request after the free probes",
    )
    s.add_argument("--refresh", action="store_true", help="ignore cached results and probe again")
    s.add_argument("--json", action="store_true", help="print one JSON object")

    s = sub.add_parser(
        "models", help="what each key can list", description="List the models each key can see."
    )
    s.add_argument(
        "--key",
        dest="aliases",
        action="append",
        default=[],
        metavar="ALIAS",
        help="only this key (repeatable)",
    )
    s.add_argument("--refresh", action="store_true", help="ignore cached lists")
    s.add_argument("--json", action="store_true", help="print JSON")

    s = sub.add_parser(
        "deprecations",
        help="the shutdown calendar",
        description="Models with a shutdown date, soonest first.",
    )
    s.add_argument(
        "--within", type=int, metavar="DAYS", help="only shutdowns within DAYS from today"
    )
    s.add_argument("--json", action="store_true", help="print a JSON list")

    s = sub.add_parser(
        "notices",
        help="deprecation notices due on a day",
        description="The notices the bot would post on a day, at the configured thresholds (default 90, 30, 7, 1 days).",
    )
    s.add_argument(
        "--now", type=date.fromisoformat, metavar="YYYY-MM-DD", help="the day (default today)"
    )
    s.add_argument("--json", action="store_true", help="print a JSON list")

    s = sub.add_parser(
        "serve",
        help="run the Slack bot",
        description=f"Run the Slack bot. Socket Mode needs SLACK_BOT_TOKEN and SLACK_APP_TOKEN; HTTP mode needs SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET. Without a flag: Socket Mode when SLACK_APP_TOKEN is set, else HTTP. App manifest: {MANIFEST}.",
    )
    mode = s.add_mutually_exclusive_group()
    mode.add_argument("--socket", action="store_true", help="Socket Mode (SLACK_APP_TOKEN)")
    mode.add_argument(
        "--http",
        action="store_true",
        help="HTTP mode: POST /slack/events, GET /healthz, GET /metrics",
    )
    s.add_argument("--port", type=int, help="HTTP port (default $PORT or 3000)")

    sub.add_parser(
        "worker",
        help="run the scheduled broadcasts (arq worker)",
        description="Run the arq worker: the daily deprecation pass and the hourly inventory pass.",
    )
    return p


def _emit(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))


def _read_text(parts: Sequence[str]) -> str:
    if not parts or list(parts) == ["-"]:
        return sys.stdin.read()
    return " ".join(parts)


async def _run(args: argparse.Namespace) -> int:
    if args.command == "explain":  # offline: no engine, no Redis, no SDKs to import
        from bot.clock import today_of, utc_now
        from bot.config import load_app_config
        from bot.diagnosis.classify import Classifier
        from bot.knowledge.load import load_knowledge

        config_file = args.config or load_env().MODEL_ACCESS_CONFIG
        catalog, taxonomy = load_knowledge(load_app_config(config_file))
        d = Classifier(catalog, taxonomy, today=today_of(utc_now)).explain(_read_text(args.text))
        _emit(d.to_json()) if args.json else print(textview.diagnosis(d))
        return 0
    from bot.engine import Engine, model_id

    if args.command == "check":
        model_id(args.model)  # a slip is one line before Redis or any provider is touched
    engine = await Engine.build(
        keys_file=args.keys,
        config_file=args.config,
        needs_keys=args.command in ("check", "models"),
    )
    try:
        if args.command == "check":
            report = await _check(engine, args)
            _emit(report.to_json()) if args.json else print(textview.check(report))
            return 0 if any(r.accessible for r in report.results) else 1
        if args.command == "models":
            listed = await engine.models(aliases=args.aliases, refresh=args.refresh)
            _emit(listed.to_json()) if args.json else print(textview.models(listed))
            return 0 if any(k.ok for k in listed.keys) else 1
        if args.command == "deprecations":
            rows = await engine.deprecations(args.within)
            _emit([r.to_json() for r in rows]) if args.json else print(textview.deprecations(rows))
            return 0
        if args.command == "notices":
            due = await engine.notices(args.now)
            _emit([n.to_json() for n in due]) if args.json else print(textview.notices(due))
            return 0
    finally:
        await engine.close()
    raise AssertionError(args.command)


async def _check(engine: Engine, args: argparse.Namespace) -> CheckReport:
    """The check's report; on a terminal (not --json) its keys are drawn as they answer."""
    options = {
        "aliases": args.aliases,
        "endpoint": args.endpoint,
        "deep": args.deep or None,
        "refresh": args.refresh,
    }
    if args.json or not sys.stdout.isatty():
        return await engine.check(args.model, **options)
    from cli.live import watch

    steps = engine.check_progress(args.model, **options)
    return await watch(steps, f"checking {args.model} with your keys…")


def _serve(args: argparse.Namespace) -> int:
    from handlers.server import serve

    return serve(
        keys_file=args.keys,
        config_file=args.config,
        socket=args.socket,
        http=args.http,
        port=args.port,
    )


def _worker(args: argparse.Namespace) -> int:
    from handlers.worker import run_worker

    return run_worker(keys_file=args.keys, config_file=args.config)


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point: exit 0/1 as the command says, 2 on usage or configuration errors."""
    args = _parser().parse_args(argv)
    if args.command is None:
        _parser().print_help()
        return 2
    try:
        env = load_env()
        logsetup.configure(
            env.MODEL_ACCESS_LOG_LEVEL if args.command not in ("serve", "worker") else "INFO"
        )
        if args.command == "serve":
            return _serve(args)
        if args.command == "worker":
            return _worker(args)
        return asyncio.run(_run(args))
    except ModelAccessError as exc:
        print(f"model-access: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `| head`); stop quietly, as other Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
