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

from sqlalchemy.exc import DBAPIError

from timeline.arguments import build_parser
from timeline.config import Settings
from timeline.variables import ConfigError

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
    from timeline.transfer import cli_import

    if args.format != "ndjson":
        from timeline.transfer.dataset_cli import import_dataset

        return asyncio.run(
            import_dataset(
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


COMMANDS: dict[str, Handler] = {
    "serve": cmd_serve,
    "migrate": cmd_migrate,
    "keys": cmd_keys,
    "demo": cmd_demo,
    "rebuild": cmd_rebuild,
    "import": cmd_import,
    "restore": cmd_restore,
    "export": cmd_export,
    "db": cmd_db,
    "events": cmd_events,
    "relay": cmd_relay,
    "log": cmd_log,
    "verify": cmd_verify,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        return COMMANDS[args.command](args, settings)
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
