"""Settings, read once from the environment into one frozen object.

A bad value raises ConfigError with a one-line message naming the variable;
the CLI prints it and exits 2, never a traceback.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


class ConfigError(ValueError):
    """An environment variable holds a value timeline cannot use."""


@dataclass(frozen=True)
class Settings:
    database_url: str | None = None
    data_dir: Path = Path(".data")
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "info"
    max_body_bytes: int = 1024 * 1024
    idempotency_ttl_seconds: int = 24 * 3600
    # How often `timeline serve` deletes expired idempotency keys, in seconds; 0: never.
    idempotency_purge_seconds: int = 300
    cors_origins: tuple[str, ...] = ()
    reads_need_key: bool = False
    pool_size: int = 10
    # The bound of each API process's cache of encoded read answers (api/answers.py).
    read_cache_bytes: int = 64 * 1024 * 1024
    # The API's database timeouts, in seconds (store.db.Timeouts).
    db_statement_timeout: float = 1.0
    db_command_timeout: float = 1.5
    db_acquire_timeout: float = 1.0
    db_connect_timeout: float = 1.5
    max_streams: int = 1000  # open SSE streams per process; beyond it 503
    trusted_proxies: tuple[str, ...] = ()  # addresses whose X-Forwarded-For is believed
    write_rate_limit: int = 6000  # writes per minute per API key and process; 0: none
    # How far past the server's clock a reported_at / published_at / withdrawn_at may lie.
    max_clock_skew_seconds: int = 300
    nats_url: str = "nats://127.0.0.1:4222"  # the relay's broker (timeline relay nats)
    read_database_url: str | None = None  # a streaming standby for the API's reads
    read_wait_seconds: float = 1.0  # longest wait for the standby to reach min_position
    # The verifiable log (docs/log.md): its checkpoints' origin line and key name, the
    # signer key file (never in the database), and whether `timeline serve` integrates.
    log_origin: str = "timeline.localhost/log"
    log_key_file: Path = Path(".data/log.key")
    log_sequencer: bool = False
    extra: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        url = env.get("TIMELINE_DATABASE_URL") or None
        if url is not None:
            check_database_url(url, "TIMELINE_DATABASE_URL")
        read_url = env.get("TIMELINE_READ_DATABASE_URL") or None
        if read_url is not None:
            check_database_url(read_url, "TIMELINE_READ_DATABASE_URL")
        level = env.get("TIMELINE_LOG_LEVEL", "info").lower()
        if level not in LOG_LEVELS:
            raise ConfigError(f"TIMELINE_LOG_LEVEL={level!r}: use one of {', '.join(LOG_LEVELS)}")
        proxies = tuple(
            p.strip() for p in env.get("TIMELINE_TRUSTED_PROXIES", "").split(",") if p.strip()
        )
        origin = env.get("TIMELINE_LOG_ORIGIN") or "timeline.localhost/log"
        if "+" in origin or any(c.isspace() for c in origin):
            raise ConfigError(f"TIMELINE_LOG_ORIGIN={origin!r}: no spaces and no '+' allowed")
        data_dir = Path(env.get("TIMELINE_DATA_DIR", ".data"))
        origins = tuple(o.strip() for o in env.get("TIMELINE_CORS_ORIGINS", "").split(",") if o)
        return cls(
            database_url=url,
            data_dir=Path(env.get("TIMELINE_DATA_DIR", ".data")),
            host=env.get("TIMELINE_HOST", "127.0.0.1"),
            port=_int(env, "TIMELINE_PORT", 8000, 1, 65535),
            log_level=level,
            max_body_bytes=_int(env, "TIMELINE_MAX_BODY_BYTES", 1024 * 1024, 1024, 1 << 30),
            idempotency_ttl_seconds=_int(env, "TIMELINE_IDEMPOTENCY_TTL", 86400, 1, 1 << 31),
            idempotency_purge_seconds=_int(
                env, "TIMELINE_IDEMPOTENCY_PURGE_EVERY", 300, 0, 1 << 31
            ),
            cors_origins=origins,
            trusted_proxies=proxies,
            reads_need_key=_bool(env, "TIMELINE_READS_NEED_KEY", False),
            pool_size=_int(env, "TIMELINE_POOL_SIZE", 10, 1, 1000),
            read_cache_bytes=_int(env, "TIMELINE_READ_CACHE_BYTES", 64 * 1024 * 1024, 0, 1 << 40),
            db_statement_timeout=_seconds(env, "TIMELINE_DB_STATEMENT_TIMEOUT", 1.0),
            db_command_timeout=_seconds(env, "TIMELINE_DB_COMMAND_TIMEOUT", 1.5),
            db_acquire_timeout=_seconds(env, "TIMELINE_DB_ACQUIRE_TIMEOUT", 1.0),
            db_connect_timeout=_seconds(env, "TIMELINE_DB_CONNECT_TIMEOUT", 1.5),
            max_streams=_int(env, "TIMELINE_MAX_STREAMS", 1000, 1, 1_000_000),
            write_rate_limit=_int(env, "TIMELINE_WRITE_RATE_LIMIT", 6000, 0, 10_000_000),
            max_clock_skew_seconds=_int(env, "TIMELINE_MAX_CLOCK_SKEW", 300, 0, 86_400),
            nats_url=env.get("TIMELINE_NATS_URL") or "nats://127.0.0.1:4222",
            read_database_url=read_url,
            read_wait_seconds=_seconds(env, "TIMELINE_READ_WAIT", 1.0),
            log_origin=origin,
            log_key_file=Path(env.get("TIMELINE_LOG_KEY_FILE") or data_dir / "log.key"),
            log_sequencer=_bool(env, "TIMELINE_LOG_SEQUENCER", True),
        )


def check_database_url(url: str, name: str) -> None:
    """Refuse anything but a postgresql:// URL, naming the variable."""
    scheme = urlsplit(url).scheme
    if scheme not in ("postgresql", "postgres", "postgresql+asyncpg"):
        raise ConfigError(f"{name}: expected a postgresql:// URL, got scheme {scheme!r}")


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r}: expected a whole number") from None
    if not low <= value <= high:
        raise ConfigError(f"{name}={value}: expected a number from {low} to {high}")
    return value


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r}: expected a number of seconds, e.g. 1.5") from None
    if not 0.05 <= value <= 3600:
        raise ConfigError(f"{name}={value}: expected from 0.05 to 3600 seconds")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name}={raw!r}: expected true or false")
