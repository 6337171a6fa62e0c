"""The `timeline` command: serve, migrate, keys, demo, rebuild, import, export, events, log,
verify.

Every command reads TIMELINE_DATABASE_URL; without it, it starts (or reuses)
the embedded PostgreSQL in TIMELINE_DATA_DIR (default .data/). A bad setting
is a one-line error and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import os
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
    from timeline.tlog.cli import first_key

    if "TIMELINE_LOG_KEY_FILE" not in os.environ:
        first_key(settings)
    return serve(settings, _url(settings), host=args.host, port=args.port)


def cmd_keys(args: argparse.Namespace, settings: Settings) -> int:
    from timeline.commands import keys

    url = _url(settings)
    if args.keys_command == "create":
        return asyncio.run(keys.cli_create(url, scopes=args.scope, name=args.name))
    if args.keys_command == "list":
        return asyncio.run(keys.cli_list(url))
    if args.keys_command == "purge-idempotency":
        return asyncio.run(
            keys.cli_purge_idempotency(url, ttl=settings.idempotency_ttl_seconds, batch=args.batch)
        )
    return asyncio.run(keys.cli_revoke(url, args.key_id))


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from timeline.demo import cli_load

    return asyncio.run(cli_load(_url(settings)))


def cmd_rebuild(args: argparse.Namespace, settings: Settings) -> int:
    from timeline.projections.rebuild_cli import cli_rebuild

    return asyncio.run(cli_rebuild(_url(settings), batch_size=args.batch_size))


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    from timeline.transfer import cli_import, cli_import_dataset

    if args.format != "ndjson":
        return asyncio.run(
            cli_import_dataset(
                _url(settings),
                args.file,
                fmt=args.format,
                timeline=args.timeline,
                release=args.release,
                deletions=args.deletions,
                skip_bad=args.skip_bad,
                partial=args.partial,
            )
        )
    return asyncio.run(cli_import(_url(settings), args.file))


def cmd_restore(args: argparse.Namespace, settings: Settings) -> int:
    from timeline.transfer import cli_restore

    return asyncio.run(cli_restore(_url(settings), args.file))


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


def cmd_db(args: argparse.Namespace, settings: Settings) -> int:
    from timeline.embedded import embedded_status, stop_embedded

    if settings.database_url:
        print(
            "timeline: TIMELINE_DATABASE_URL is set: commands use that server, not this one",
            file=sys.stderr,
        )
    if args.db_command == "status":
        server = embedded_status(settings.data_dir)
        if not server.running:
            print(f"embedded PostgreSQL in {server.data_dir}: not running")
            return 3  # as `pg_ctl status` says "not running"
        print(f"embedded PostgreSQL in {server.data_dir}: running, pid {server.pid}, {server.url}")
        return 0
    server = stop_embedded(settings.data_dir, timeout=args.timeout)
    if server.running:
        print(f"embedded PostgreSQL in {server.data_dir}: stopped (pid {server.pid})")
    else:
        print(f"embedded PostgreSQL in {server.data_dir}: was not running")
    return 0


def cmd_events(args: argparse.Namespace, settings: Settings) -> int:
    from timeline.feed.tail import cli_tail

    return asyncio.run(cli_tail(_url(settings), after=args.after, types=args.type or []))


def cmd_relay(args: argparse.Namespace, settings: Settings) -> int:
    if args.relay_command == "status":
        from timeline.relay.status import cli_status

        return asyncio.run(cli_status(_url(settings), args.stream, args.json))
    from timeline.relay.publish import RelayOptions, cli_relay

    options = RelayOptions(
        nats_url=args.server or settings.nats_url,
        stream=args.stream,
        subject_prefix=args.subject_prefix,
        cloudevents=args.format == "cloudevents",
        duplicate_window=args.duplicate_window,
        checkpoint_every=args.checkpoint_every,
        checkpoint_seconds=args.checkpoint_seconds,
    )
    if options.duplicate_window <= options.checkpoint_seconds:
        print(
            "timeline: --duplicate-window must be longer than --checkpoint-seconds", file=sys.stderr
        )
        return 2
    return asyncio.run(cli_relay(_url(settings), options))


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
    k = keys.add_parser(
        "purge-idempotency",
        help="Delete Idempotency-Keys older than TIMELINE_IDEMPOTENCY_TTL, a batch at a time "
        "(`serve` does it every TIMELINE_IDEMPOTENCY_PURGE_EVERY seconds).",
    )
    k.add_argument("--batch", type=int, default=500, help="keys per transaction (default 500)")

    p = add("demo", cmd_demo, "The demo timeline.")
    demo = p.add_subparsers(dest="demo_command", required=True, metavar="ACTION")
    demo.add_parser("load", help="Load the seed timeline nagorno-karabakh-2020 (idempotent).")

    p = add("rebuild", cmd_rebuild, "Replay the whole log into fresh projections and swap them in.")
    p.add_argument("--batch-size", type=int, default=5000, help="events per batch (default 5000)")

    p = add(
        "import",
        cmd_import,
        "Append an NDJSON export afresh (recorded now, by you), or a dataset release.",
    )
    p.add_argument("file", help="the file ('-' for stdin, ndjson only)")
    p.add_argument(
        "--format",
        choices=["ndjson", "acled", "ucdp-ged"],
        default="ndjson",
        help="ndjson is a log; acled and ucdp-ged are dataset releases as CSV",
    )
    p.add_argument("--timeline", default=None, help="the timeline a release goes into")
    p.add_argument("--release", default=None, help="the release's date (YYYY-MM-DD)")
    p.add_argument("--deletions", default=None, help="ACLED's deletions file for this release")
    p.add_argument(
        "--skip-bad", action="store_true", help="write the good rows, report the bad ones"
    )
    p.add_argument(
        "--partial",
        action="store_true",
        help="a UCDP candidate release: rows it lacks are not deleted",
    )

    p = add(
        "restore",
        cmd_restore,
        "Put an NDJSON backup into an EMPTY store, keeping its recorded_at and metadata.",
    )
    p.add_argument("file", help="the NDJSON file ('-' for stdin)")

    p = add("export", cmd_export, "Export the log or a timeline's state.")
    p.add_argument(
        "--format",
        choices=["ndjson", "csv", "timelinejs", "geojson", "acled"],
        default="ndjson",
        help="ndjson is the log; the others a timeline's state (acled: ACLED's CSV columns)",
    )
    p.add_argument("--timeline", default=None, help="the timeline's slug")
    p.add_argument("--known-at", default=None, help="knowledge date (RFC 3339 or YYYY-MM-DD)")
    p.add_argument("-o", "--output", default=None, help="file to write (default stdout)")

    p = add("db", cmd_db, "The embedded PostgreSQL of TIMELINE_DATA_DIR (it outlives `serve`).")
    db = p.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db.add_parser("status", help="Whether it runs, its pid and URL (exit 3: not running).")
    d = db.add_parser("stop", help="Stop it (a fast shutdown); nothing to do if it is not running.")
    d.add_argument("--timeout", type=float, default=30.0, help="seconds to wait (default 30)")

    p = add("events", cmd_events, "Follow the event feed.")
    events = p.add_subparsers(dest="events_command", required=True, metavar="ACTION")
    t = events.add_parser("tail", help="Print events as they are appended; resume with --after.")
    t.add_argument("--after", default=None, help="a cursor to resume after")
    t.add_argument("--type", action="append", help="only this event type (repeatable)")

    p = add("relay", cmd_relay, "Publish the feed to a broker, exactly once per cursor.")
    relay = p.add_subparsers(dest="relay_command", required=True, metavar="ACTION")
    r = relay.add_parser("nats", help="Publish every event to a NATS JetStream stream, in order.")
    r.add_argument("--server", default=None, help="NATS URL (default TIMELINE_NATS_URL)")
    r.add_argument("--stream", default="TIMELINE", help="the JetStream stream (default TIMELINE)")
    r.add_argument(
        "--subject-prefix",
        default="timeline",
        help="subjects are PREFIX.<stream type>.<event type> (default timeline)",
    )
    r.add_argument("--format", choices=["plain", "cloudevents"], default="plain")
    r.add_argument(
        "--duplicate-window",
        type=float,
        default=120.0,
        help="seconds JetStream drops a repeated id (default 120; above --checkpoint-seconds)",
    )
    r.add_argument("--checkpoint-every", type=int, default=500, help="acks per save (default 500)")
    r.add_argument(
        "--checkpoint-seconds", type=float, default=1.0, help="longest wait between saves (1.0)"
    )
    r = relay.add_parser("status", help="Each relay's checkpoint, whether it runs, and its lag.")
    r.add_argument("--stream", default=None, help="only this relay (its stream's name)")
    r.add_argument("--json", action="store_true", help="print JSON")

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
