"""The `timeline` command: serve, migrate, keys, demo, rebuild, import, export, events, log,
verify.

Every command reads TIMELINE_DATABASE_URL; without it, it starts (or reuses)
the embedded PostgreSQL in TIMELINE_DATA_DIR (default .data/). A bad setting
is a one-line error and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.exc import DBAPIError

from timeline.config import ConfigError, Settings

Handler = Callable[[argparse.Namespace, Settings], int]


def _url(settings: Settings) -> str:
    from timeline.embedded import database_url

    return database_url(settings)


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    from timeline.migrate import migrate

    url = _url(settings)
    migrate(url)
    print("timeline: database is at the newest schema", file=sys.stderr)
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from timeline.api.serve import serve

    return serve(settings, _url(settings), host=args.host, port=args.port)


def cmd_keys(args: argparse.Namespace, settings: Settings) -> int:
    from timeline.commands import keys

    url = _url(settings)
    if args.keys_command == "create":
        return asyncio.run(keys.cli_create(url, scopes=args.scope, name=args.name))
    if args.keys_command == "list":
        return asyncio.run(keys.cli_list(url))
    return asyncio.run(keys.cli_revoke(url, args.key_id))


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from timeline.demo import cli_load

    return asyncio.run(cli_load(_url(settings)))


def cmd_rebuild(args: argparse.Namespace, settings: Settings) -> int:
    from timeline.projections.rebuild import cli_rebuild

    return asyncio.run(cli_rebuild(_url(settings), batch_size=args.batch_size))


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    from timeline.transfer import cli_import

    return asyncio.run(cli_import(_url(settings), args.file))


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from timeline.transfer import cli_export

    return asyncio.run(
        cli_export(
            _url(settings),
            fmt=args.format,
            timeline=args.timeline,
            known_at=args.known_at,
            output=args.output,
        )
    )


def cmd_events(args: argparse.Namespace, settings: Settings) -> int:
    from timeline.feed.tail import cli_tail

    return asyncio.run(cli_tail(_url(settings), after=args.after, types=args.type or []))


def cmd_log(args: argparse.Namespace, settings: Settings) -> int:
    from timeline.tlog import cli

    if args.log_command == "key":
        return cli.key_create(settings)
    if args.log_command == "integrate":
        return asyncio.run(cli.cli_integrate(_url(settings), settings))
    return asyncio.run(cli.cli_status(_url(settings)))


def cmd_verify(args: argparse.Namespace, settings: Settings) -> int:
    from timeline.tlog.cli import cli_verify

    return cli_verify(args.export, args.checkpoint, args.key, args.url)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="timeline",
        description="An event-sourced, bitemporal store of conflict timelines.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, handler: Handler, help: str, **kw: Any) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help, **kw)
        p.set_defaults(handler=handler)
        return p

    p = add("serve", cmd_serve, "Serve the HTTP API.")
    p.add_argument(
        "--host", default=None, help="address to bind (default TIMELINE_HOST or 127.0.0.1)"
    )
    p.add_argument("--port", type=int, default=None, help="port (default TIMELINE_PORT or 8000)")

    add("migrate", cmd_migrate, "Bring the database to the newest schema (idempotent).")

    p = add("keys", cmd_keys, "Make, list and revoke API keys.")
    keys = p.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    k = keys.add_parser("create", help="Make a key; prints it alone on the last line of stdout.")
    k.add_argument(
        "--scope",
        action="append",
        required=True,
        choices=["write", "read"],
        help="a scope the key grants (repeatable)",
    )
    k.add_argument("--name", default="", help="a label for the key")
    keys.add_parser("list", help="List keys (never their secrets).")
    k = keys.add_parser("revoke", help="Revoke a key by its id.")
    k.add_argument("key_id", help="the key's id, as `keys list` shows it")

    p = add("demo", cmd_demo, "The demo timeline.")
    demo = p.add_subparsers(dest="demo_command", required=True, metavar="ACTION")
    demo.add_parser("load", help="Load the seed timeline nagorno-karabakh-2020 (idempotent).")

    p = add("rebuild", cmd_rebuild, "Replay the whole log into fresh projections and swap them in.")
    p.add_argument("--batch-size", type=int, default=5000, help="events per batch (default 5000)")

    p = add("import", cmd_import, "Append the events of an NDJSON export to this store.")
    p.add_argument("file", help="the NDJSON file ('-' for stdin)")

    p = add("export", cmd_export, "Export the log or a timeline's state.")
    p.add_argument(
        "--format",
        choices=["ndjson", "csv", "timelinejs", "geojson"],
        default="ndjson",
        help="ndjson is the log; the others a timeline's state",
    )
    p.add_argument("--timeline", default=None, help="the timeline's slug")
    p.add_argument("--known-at", default=None, help="knowledge date (RFC 3339 or YYYY-MM-DD)")
    p.add_argument("-o", "--output", default=None, help="file to write (default stdout)")

    p = add("events", cmd_events, "Follow the event feed.")
    events = p.add_subparsers(dest="events_command", required=True, metavar="ACTION")
    t = events.add_parser("tail", help="Print events as they are appended; resume with --after.")
    t.add_argument("--after", default=None, help="a cursor to resume after")
    t.add_argument("--type", action="append", help="only this event type (repeatable)")

    p = add("log", cmd_log, "The verifiable log: its key, integration and status.")
    log = p.add_subparsers(dest="log_command", required=True, metavar="ACTION")
    k = log.add_parser("key", help="The log's signer key.")
    k.add_subparsers(dest="key_command", required=True, metavar="ACTION").add_parser(
        "create", help="Make TIMELINE_LOG_KEY_FILE (0600); prints the verifier key."
    )
    log.add_parser("integrate", help="Add every settled event to the tree and sign it, once.")
    log.add_parser("status", help="Tree size, latest checkpoint and integration lag.")

    p = add("verify", cmd_verify, "Check an NDJSON export against a signed checkpoint.")
    p.add_argument("export", help="the NDJSON export ('-' for stdin)")
    p.add_argument("--checkpoint", required=True, help="a signed checkpoint file")
    p.add_argument("--key", required=True, help="the verifier key, or a file holding it")
    p.add_argument("--url", default=None, help="the server, to locate differences and check it")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        handler: Handler = args.handler
        return handler(args, settings)
    except ConfigError as error:
        print(f"timeline: {error}", file=sys.stderr)
        return 2
    except (OSError, DBAPIError) as error:
        reason = str(getattr(error, "orig", None) or error).splitlines()[0]
        print(f"timeline: cannot use the database: {reason}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
