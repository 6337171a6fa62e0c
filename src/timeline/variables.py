"""How one setting is declared (`setting`) and its environment variable read (`parse`).

Each kind of value has one parser; a bad value raises ConfigError with a
one-line message naming the variable. `config.Settings` declares the settings.
"""

from __future__ import annotations

import dataclasses
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
