"""Settings, read once from the environment into one frozen object.

Each field of `Settings` declares its variable, its type, its bounds and a
one-line doc (`setting(...)`); `from_env` reads them all the same way. A bad
value raises ConfigError with a one-line message naming the variable; the CLI
prints it and exits 2, never a traceback. README's settings table is checked
against these declarations (tests/test_config.py).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

LOG_LEVELS = ("debug", "info", "warning", "error", "critical")

Kind = Literal["text", "int", "seconds", "bool", "path", "list", "url", "level", "origin"]


class ConfigError(ValueError):
    """An environment variable holds a value timeline cannot use."""


class _Same:
    """The environment's default is the field's own."""


SAME = _Same()


@dataclass(frozen=True)
class Spec:
    """How one setting is read: its variable, its kind, its bounds, what it means."""

    env: str
    kind: Kind
    doc: str
    low: float | None = None
    high: float | None = None
    # Unset in the environment: this value (or a function of the settings read before it),
    # when it differs from the field's default (which is what `Settings()` gives).
    env_default: Any = SAME
    # How README's table writes the default, when not as the value itself.
    shown: str | None = None


def setting(default: Any, env: str, kind: Kind, doc: str, **spec: Any) -> Any:
    """A `Settings` field: its default, and how `from_env` reads it."""
    return dataclasses.field(default=default, metadata={"spec": Spec(env, kind, doc, **spec)})


SECONDS = {"low": 0.05, "high": 3600}
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


def env_default(spec: Spec, default: Any, read: Mapping[str, Any]) -> Any:
    """What an unset variable means, given the settings read before it."""
    if spec.env_default is SAME:
        return default
    if callable(spec.env_default):
        return spec.env_default(read)
    return spec.env_default


def parse(spec: Spec, raw: str) -> Any:
    """The value `raw` stands for, or ConfigError naming the variable."""
    value = _PARSERS[spec.kind](spec.env, raw)
    if spec.low is not None and spec.high is not None and not spec.low <= value <= spec.high:
        if spec.kind == "seconds":
            raise ConfigError(
                f"{spec.env}={value}: expected from {spec.low} to {spec.high} seconds"
            )
        raise ConfigError(f"{spec.env}={value}: expected a number from {spec.low} to {spec.high}")
    return value


def check_database_url(url: str, name: str) -> None:
    """Refuse anything but a postgresql:// URL, naming the variable."""
    scheme = urlsplit(url).scheme
    if scheme not in ("postgresql", "postgres", "postgresql+asyncpg"):
        raise ConfigError(f"{name}: expected a postgresql:// URL, got scheme {scheme!r}")


def _int(name: str, raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r}: expected a whole number") from None


def _seconds(name: str, raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r}: expected a number of seconds, e.g. 1.5") from None


def _bool(name: str, raw: str) -> bool:
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name}={raw!r}: expected true or false")


def _url(name: str, raw: str) -> str:
    check_database_url(raw, name)
    return raw


def _level(name: str, raw: str) -> str:
    level = raw.lower()
    if level not in LOG_LEVELS:
        raise ConfigError(f"{name}={level!r}: use one of {', '.join(LOG_LEVELS)}")
    return level


def _origin(name: str, raw: str) -> str:
    if "+" in raw or any(c.isspace() for c in raw):
        raise ConfigError(f"{name}={raw!r}: no spaces and no '+' allowed")
    return raw


def _list(name: str, raw: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in raw.split(",") if item.strip())


_PARSERS: dict[Kind, Callable[[str, str], Any]] = {
    "text": lambda _name, raw: raw,
    "int": _int,
    "seconds": _seconds,
    "bool": _bool,
    "path": lambda _name, raw: Path(raw),
    "list": _list,
    "url": _url,
    "level": _level,
    "origin": _origin,
}
