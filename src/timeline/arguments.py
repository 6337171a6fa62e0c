"""What the `timeline` command line accepts: each command, its actions and options.

`cli.py` holds what each command does; this only parses.
"""

from __future__ import annotations

import argparse

from timeline.domain.events import EVENT_TYPES


def build_parser() -> argparse.ArgumentParser:
    """The parser; `command` names the command, which `cli.COMMANDS` runs."""
    parser = argparse.ArgumentParser(
        prog="timeline",
        description="An event-sourced, bitemporal store of conflict timelines.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, help: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help, description=help)

    p = add("serve", "Serve the HTTP API.")
    p.add_argument(
        "--host", default=None, help="address to bind (default TIMELINE_HOST or 127.0.0.1)"
    )
    p.add_argument("--port", type=int, default=None, help="port (default TIMELINE_PORT or 8000)")

    add("migrate", "Bring the database to the newest schema (idempotent).")

    p = add("keys", "Make, list and revoke API keys.")
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

    p = add("demo", "The demo timeline.")
    demo = p.add_subparsers(dest="demo_command", required=True, metavar="ACTION")
    demo.add_parser("load", help="Load the seed timeline nagorno-karabakh-2020 (idempotent).")

    p = add("rebuild", "Replay the whole log into fresh projections and swap them in.")
    p.add_argument("--batch-size", type=int, default=5000, help="events per batch (default 5000)")

    p = add(
        "import",
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
        "Put an NDJSON backup into an EMPTY store, keeping its recorded_at and metadata.",
    )
    p.add_argument("file", help="the NDJSON file ('-' for stdin)")

    p = add("export", "Export the log or a timeline's state.")
    p.add_argument(
        "--format",
        choices=["ndjson", "csv", "timelinejs", "geojson", "acled"],
        default="ndjson",
        help="ndjson is the log; the others a timeline's state (acled: ACLED's CSV columns)",
    )
    p.add_argument("--timeline", default=None, help="the timeline's slug")
    p.add_argument("--known-at", default=None, help="knowledge date (RFC 3339 or YYYY-MM-DD)")
    p.add_argument("-o", "--output", default=None, help="file to write (default stdout)")

    p = add("db", "The embedded PostgreSQL of TIMELINE_DATA_DIR (it outlives `serve`).")
    db = p.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db.add_parser("status", help="Whether it runs, its pid and URL (exit 3: not running).")
    d = db.add_parser("stop", help="Stop it (a fast shutdown); nothing to do if it is not running.")
    d.add_argument("--timeout", type=float, default=30.0, help="seconds to wait (default 30)")

    p = add("events", "Follow the event feed.")
    events = p.add_subparsers(dest="events_command", required=True, metavar="ACTION")
    t = events.add_parser("tail", help="Print events as they are appended; resume with --after.")
    t.add_argument("--after", default=None, help="a cursor to resume after")
    t.add_argument(
        "--type",
        action="append",
        choices=list(EVENT_TYPES),
        metavar="TYPE",
        help="only this event type (repeatable): " + ", ".join(EVENT_TYPES),
    )

    p = add("relay", "Publish the feed to a broker, exactly once per cursor.")
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

    p = add("log", "The verifiable log: its key, integration and status.")
    log = p.add_subparsers(dest="log_command", required=True, metavar="ACTION")
    k = log.add_parser("key", help="The log's signer key.")
    k.add_subparsers(dest="key_command", required=True, metavar="ACTION").add_parser(
        "create", help="Make TIMELINE_LOG_KEY_FILE (0600); prints the verifier key."
    )
    log.add_parser("integrate", help="Add every settled event to the tree and sign it, once.")
    log.add_parser("status", help="Tree size, latest checkpoint and integration lag.")

    p = add("verify", "Check an NDJSON export against a signed checkpoint.")
    p.add_argument("export", help="the NDJSON export ('-' for stdin)")
    p.add_argument("--checkpoint", required=True, help="a signed checkpoint file")
    p.add_argument("--key", required=True, help="the verifier key, or a file holding it")
    p.add_argument("--url", default=None, help="the server, to locate differences and check it")
    return parser
