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

from bot import __version__, embedded
from bot import log as logsetup
from bot.config import Env, load_env
from bot.errors import ModelAccessError
from bot.knowledge.catalog import ENDPOINTS
from cli import scan, textview

if TYPE_CHECKING:
    from bot.engine import Engine
    from bot.results import CheckReport

MANIFEST = "deploy/slack-app-manifest.yaml"
LONG_RUNNING = ("serve", "worker")


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage dump) and exit code 2."""

    def error(self, message: str) -> NoReturn:
        # "argument --now: ..." reads better as "--now: ..."
        self.exit(2, f"model-access: error: {message.removeprefix('argument ')} (see --help)\n")


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text} is not a date (YYYY-MM-DD)") from None


def _whole(what: str, low: int, high: int | None = None) -> Any:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = low - 1
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"{text} is not {what}")
        return value

    return parse


def _common(p: argparse.ArgumentParser, *, top: bool) -> None:
    """--keys, --config and -v, accepted before the command and after it.

    After the command they default to SUPPRESS, so a value given before it is not reset.
    """
    default: Any = None if top else argparse.SUPPRESS
    p.add_argument(
        "--keys",
        type=Path,
        metavar="FILE",
        default=default,
        help="keys file (default: $MODEL_ACCESS_KEYS_FILE, else the SDK env vars)",
    )
    p.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        default=default,
        help="config file (default: $MODEL_ACCESS_CONFIG)",
    )
    p.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0 if top else argparse.SUPPRESS,
        help="log more on stderr: -v info, -vv debug (default: errors only; serve/worker: info)",
    )


class _Commands(argparse._SubParsersAction):  # type: ignore[type-arg]
    """The sub-command table: every command also takes the common options after its name."""

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = super().add_parser(name, **kwargs)
        _common(parser, top=False)
        return parser


def _parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="model-access",
        description="Find out whether your API keys can use a model, and if not, why and what to do.",
    )
    p.add_argument("--version", action="version", version=f"model-access {__version__}")
    _common(p, top=True)
    sub = p.add_subparsers(
        dest="command", metavar="COMMAND", parser_class=_Parser, action=_Commands
    )

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
        "--within",
        type=_whole("a number of days (0 or more)", 0),
        metavar="DAYS",
        help="only shutdowns within DAYS from today",
    )
    s.add_argument("--json", action="store_true", help="print a JSON list")

    s = sub.add_parser(
        "notices",
        help="deprecation notices due on a day",
        description="The notices the bot would post on a day, at the configured thresholds (default 90, 30, 7, 1 days).",
    )
    s.add_argument("--now", type=_date, metavar="YYYY-MM-DD", help="the day (default today)")
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
    s.add_argument(
        "--port",
        type=_whole("a port number (1-65535)", 1, 65535),
        help="HTTP port (default $PORT or 3000); in Socket Mode, serve /healthz there",
    )

    scan.add_parser(sub, _date)

    s = sub.add_parser(
        "worker",
        help="run the scheduled broadcasts (arq worker)",
        description="Run the arq worker: the deprecation pass and the inventory pass. With a port (--port or $PORT) it answers GET /healthz there.",
    )
    s.add_argument(
        "--port",
        type=_whole("a port number (1-65535)", 1, 65535),
        help="answer GET /healthz on this port (default $PORT, else none)",
    )

    s = sub.add_parser(
        "cache",
        help="the embedded Valkey cache: status, stop",
        description="With REDIS_URL unset, model-access starts an embedded Valkey in your user cache dir and leaves it running so that later runs share its cache. `cache status` says where it is; `cache stop` shuts it down (the next command starts it again).",
    )
    s.add_argument("action", choices=("status", "stop"), help="status or stop")
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
    if args.command == "scan":  # offline too: the catalog and the files, nothing else
        return _scan(args)
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
            shown = report.model_copy(update={"cache": engine.cache.label})  # where, for people
            _emit(report.to_json()) if args.json else print(textview.check(shown))
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


def _scan(args: argparse.Namespace) -> int:
    from bot.clock import utc_now
    from bot.config import load_app_config
    from bot.knowledge.catalog import Catalog
    from bot.scan import Scanner

    paths = scan.check_paths(args.paths)
    config_file = args.config or load_env().MODEL_ACCESS_CONFIG
    catalog = Catalog.load(load_app_config(config_file).catalog_file)  # CatalogError: one line
    report = Scanner(catalog, args.now or utc_now().date()).scan(paths)
    return scan.run(args, report)


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
    from handlers.schedule import run_worker

    port = args.port
    if port is None and os.environ.get("PORT"):
        port = load_env().PORT
    return run_worker(keys_file=args.keys, config_file=args.config, port=port)


def _cache(args: argparse.Namespace, env: Env) -> int:
    """`cache status` / `cache stop`: the embedded Valkey that outlives each command."""
    where = embedded.shown(embedded.socket_path())
    if env.REDIS_URL is not None:
        print("REDIS_URL is set: commands use that Redis, not the embedded Valkey.")
    if args.action == "stop":
        stopped = embedded.stop(embedded.cache_dir(create=False))
        print(
            f"stopped the embedded Valkey at {where}"
            if stopped
            else f"no embedded Valkey is running at {where}"
        )
        return 0
    if embedded.is_running():
        print(f"embedded Valkey: running at {where}; stop it with `model-access cache stop`")
    else:
        print(f"embedded Valkey: not running (it starts on demand at {where})")
    return 0


def log_level(args: argparse.Namespace, env: Env) -> str:
    """-v/-vv, else MODEL_ACCESS_LOG_LEVEL, else INFO for the long-running modes, ERROR otherwise.

    A command's answer is its output: at the default level a failure is the one line
    on stderr, with no log lines around it.
    """
    if args.verbose:
        return "DEBUG" if args.verbose > 1 else "INFO"
    if env.MODEL_ACCESS_LOG_LEVEL is not None:
        return env.MODEL_ACCESS_LOG_LEVEL
    return "INFO" if args.command in LONG_RUNNING else "ERROR"


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point: exit 0/1 as the command says, 2 on usage or configuration errors."""
    args = _parser().parse_args(argv)
    if args.command is None:
        _parser().print_help()
        return 2
    try:
        env = load_env()
        logsetup.configure(log_level(args, env))
        if args.command == "serve":
            return _serve(args)
        if args.command == "worker":
            return _worker(args)
        if args.command == "cache":
            return _cache(args, env)
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
