"""Settings, read once from the environment into one frozen object.

Each field of `Settings` declares its variable, its type, its bounds and a
one-line doc (`setting(...)`); `from_env` reads them all the same way. A bad
value raises ConfigError with a one-line message naming the variable; the CLI
prints it and exits 2, never a traceback. README's settings table is checked
against these declarations (tests/test_config.py). How a setting is declared
and its variable parsed is in `variables.py`.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from timeline.variables import SECONDS, Spec, env_default, parse, setting

DATA_DIR = Path(".data")
LOG_KEY_FILE = DATA_DIR / "log.key"


@dataclass(frozen=True)
class Settings:
    database_url: str | None = setting(
        None,
        "TIMELINE_DATABASE_URL",
        "url",
        "a postgresql:// URL; unset: embedded PostgreSQL in the data folder",
        shown="(embedded)",
    )
    # `setting` returns a dataclass field, not a shared default: RUF009 does not apply.
    data_dir: Path = setting(  # noqa: RUF009
        DATA_DIR, "TIMELINE_DATA_DIR", "path", "the embedded server's folder"
    )
    host: str = setting("127.0.0.1", "TIMELINE_HOST", "text", "where `timeline serve` listens")
    port: int = setting(8000, "TIMELINE_PORT", "int", "the port it listens on", low=1, high=65535)
    log_level: str = setting("info", "TIMELINE_LOG_LEVEL", "level", "one of LOG_LEVELS")
    max_body_bytes: int = setting(
        1024 * 1024,
        "TIMELINE_MAX_BODY_BYTES",
        "int",
        "request bodies above this get 413",
        low=1024,
        high=1 << 30,
    )
    idempotency_ttl_seconds: int = setting(
        24 * 3600,
        "TIMELINE_IDEMPOTENCY_TTL",
        "int",
        "seconds an Idempotency-Key is remembered",
        low=1,
        high=1 << 31,
    )
    idempotency_purge_seconds: int = setting(
        300,
        "TIMELINE_IDEMPOTENCY_PURGE_EVERY",
        "int",
        "seconds between `timeline serve`'s deletions of expired keys; 0: never",
        low=0,
        high=1 << 31,
    )
    cors_origins: tuple[str, ...] = setting(
        (), "TIMELINE_CORS_ORIGINS", "list", "comma-separated origins allowed to read"
    )
    reads_need_key: bool = setting(
        False, "TIMELINE_READS_NEED_KEY", "bool", "require a key for reads too"
    )
    pool_size: int = setting(
        10, "TIMELINE_POOL_SIZE", "int", "database connections per process", low=1, high=1000
    )
    read_cache_bytes: int = setting(
        64 * 1024 * 1024,
        "TIMELINE_READ_CACHE_BYTES",
        "int",
        "the bound of each API process's cache of encoded read answers (api/answers.py)",
        low=0,
        high=1 << 40,
    )
    # The API's database timeouts, in seconds (store.db.Timeouts).
    db_statement_timeout: float = setting(
        1.0,
        "TIMELINE_DB_STATEMENT_TIMEOUT",
        "seconds",
        "seconds one API statement may run",
        **SECONDS,
    )
    db_command_timeout: float = setting(
        1.5,
        "TIMELINE_DB_COMMAND_TIMEOUT",
        "seconds",
        "seconds to wait for an answer; then 503",
        **SECONDS,
    )
    db_acquire_timeout: float = setting(
        1.0,
        "TIMELINE_DB_ACQUIRE_TIMEOUT",
        "seconds",
        "seconds to wait for a pooled connection",
        **SECONDS,
    )
    db_connect_timeout: float = setting(
        1.5, "TIMELINE_DB_CONNECT_TIMEOUT", "seconds", "seconds to open a connection", **SECONDS
    )
    max_streams: int = setting(
        1000,
        "TIMELINE_MAX_STREAMS",
        "int",
        "open SSE streams per process; beyond it 503",
        low=1,
        high=1_000_000,
    )
    header_timeout: float = setting(
        10.0,
        "TIMELINE_HEADER_TIMEOUT",
        "seconds",
        "seconds a client has to send a request's line and headers; then 408 and closed",
        low=0.1,
        high=3600,
    )
    max_connections: int = setting(
        4096,
        "TIMELINE_MAX_CONNECTIONS",
        "int",
        "open connections and requests per process; beyond it 503",
        low=1,
        high=1_000_000,
    )
    trusted_proxies: tuple[str, ...] = setting(
        (), "TIMELINE_TRUSTED_PROXIES", "list", "addresses whose X-Forwarded-For is believed"
    )
    write_rate_limit: int = setting(
        6000,
        "TIMELINE_WRITE_RATE_LIMIT",
        "int",
        "writes per minute per API key and process; 0: none",
        low=0,
        high=10_000_000,
    )
    max_clock_skew_seconds: int = setting(
        300,
        "TIMELINE_MAX_CLOCK_SKEW",
        "int",
        "how far past the server's clock a reported_at / published_at / withdrawn_at may lie",
        low=0,
        high=86_400,
    )
    nats_url: str = setting(
        "nats://127.0.0.1:4222", "TIMELINE_NATS_URL", "text", "`timeline relay nats`'s broker"
    )
    read_database_url: str | None = setting(
        None, "TIMELINE_READ_DATABASE_URL", "url", "a streaming standby for the API's reads"
    )
    read_wait_seconds: float = setting(
        1.0,
        "TIMELINE_READ_WAIT",
        "seconds",
        "longest wait for the standby to reach min_position",
        **SECONDS,
    )
    # The verifiable log (docs/log.md): its checkpoints' origin line and key name, the
    # signer key file (never in the database), and whether `timeline serve` integrates.
    log_origin: str = setting(
        "timeline.localhost/log",
        "TIMELINE_LOG_ORIGIN",
        "origin",
        "the log checkpoints' origin line and key name",
    )
    log_key_file: Path = setting(  # noqa: RUF009
        LOG_KEY_FILE,
        "TIMELINE_LOG_KEY_FILE",
        "path",
        "the log's Ed25519 signer key",
        env_default=lambda read: read["data_dir"] / "log.key",
        shown="$TIMELINE_DATA_DIR/log.key",
    )
    # Off when built in code (tests, tools); on for a process configured from the environment.
    log_sequencer: bool = setting(
        False,
        "TIMELINE_LOG_SEQUENCER",
        "bool",
        "`timeline serve` integrates and signs",
        env_default=True,
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        read: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            spec: Spec = f.metadata["spec"]
            raw = env.get(spec.env)
            # An empty variable is an unset one: `TIMELINE_X= timeline serve` means the default.
            read[f.name] = env_default(spec, f.default, read) if not raw else parse(spec, raw)
        return cls(**read)


def specs() -> dict[str, Spec]:
    """Every setting's declaration, by field name, in declaration order."""
    return {f.name: f.metadata["spec"] for f in dataclasses.fields(Settings)}
