"""Settings: one declaration per variable, bounds refused by name, README in step."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from timeline.config import Settings, specs
from timeline.variables import ConfigError, Spec, env_default

README = Path(__file__).resolve().parents[1] / "README.md"
BOUNDED = {name: spec for name, spec in specs().items() if spec.low is not None}


def readme_table() -> dict[str, str]:
    """README's settings table: each variable with its default as written there."""
    rows: dict[str, str] = {}
    for line in README.read_text().splitlines():
        if not line.startswith("| `TIMELINE_"):
            continue
        names, defaults = (cell.strip() for cell in line.strip("|").split("|")[:2])
        split_defaults = defaults.split(" / ")
        for i, name in enumerate(names.split(" / ")):
            rows[name.strip("`")] = split_defaults[i].strip("`")
    return rows


def shown(spec: Spec, default: Any) -> str:
    """The default as README writes it."""
    value = env_default(spec, default, {"data_dir": Settings().data_dir})
    if spec.shown is not None:
        return spec.shown
    if value is None or value == ():
        return "(none)"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def test_readme_documents_every_setting_with_its_default() -> None:
    table = readme_table()
    defaults = Settings()
    expected = {s.env: shown(s, getattr(defaults, name)) for name, s in specs().items()}
    assert table == expected


def test_an_empty_environment_gives_the_declared_defaults() -> None:
    read = Settings.from_env({})
    assert read == Settings(log_sequencer=True)  # the one setting whose env default differs
    moved = Settings.from_env({"TIMELINE_DATA_DIR": "/srv/tl"})
    assert moved.log_key_file == Path("/srv/tl/log.key")
    assert Settings.from_env({"TIMELINE_PORT": ""}).port == 8000


@given(
    st.sampled_from(sorted(BOUNDED)),
    st.booleans(),
    st.floats(min_value=0.001, max_value=1e9, allow_nan=False),
)
def test_every_bounded_setting_refuses_out_of_range_values_naming_the_variable(
    name: str, below: bool, by: float
) -> None:
    spec = BOUNDED[name]
    assert spec.low is not None
    assert spec.high is not None
    if spec.kind == "int":
        step = max(1, int(by))
        raw = str(int(spec.low) - step if below else int(spec.high) + step)
    else:
        raw = repr(spec.low - by if below else spec.high + by)
    with pytest.raises(ConfigError, match=rf"^{spec.env}=") as refused:
        Settings.from_env({spec.env: raw})
    assert "\n" not in str(refused.value)


@given(st.sampled_from(sorted(BOUNDED)), st.data())
def test_every_bounded_setting_takes_any_value_in_range(name: str, data: st.DataObject) -> None:
    spec = BOUNDED[name]
    assert spec.low is not None
    assert spec.high is not None
    if spec.kind == "int":
        value: float = data.draw(st.integers(int(spec.low), int(spec.high)))
    else:
        value = data.draw(st.floats(spec.low, spec.high, allow_nan=False))
    assert getattr(Settings.from_env({spec.env: str(value)}), name) == value


@pytest.mark.parametrize(
    ("env", "raw", "why"),
    [
        ("TIMELINE_PORT", "eighty", "expected a whole number"),
        ("TIMELINE_DB_COMMAND_TIMEOUT", "soon", "expected a number of seconds"),
        ("TIMELINE_READS_NEED_KEY", "maybe", "expected true or false"),
        ("TIMELINE_DATABASE_URL", "mysql://h/db", "expected a postgresql:// URL"),
        ("TIMELINE_LOG_LEVEL", "LOUD", "use one of debug, info"),
        ("TIMELINE_LOG_ORIGIN", "a b", "no spaces"),
        ("TIMELINE_LOG_ORIGIN", "a+b", "no '\\+'"),
    ],
)
def test_a_value_of_the_wrong_kind_names_the_variable(env: str, raw: str, why: str) -> None:
    with pytest.raises(ConfigError, match=rf"^{env}\b.*{why}"):
        Settings.from_env({env: raw})


def test_lists_are_comma_separated_and_trimmed() -> None:
    read = Settings.from_env({"TIMELINE_TRUSTED_PROXIES": " 10.0.0.1 ,, 10.0.0.2 "})
    assert read.trusted_proxies == ("10.0.0.1", "10.0.0.2")
    assert Settings.from_env({"TIMELINE_LOG_LEVEL": "DEBUG"}).log_level == "debug"


def test_every_variable_is_declared_once() -> None:
    envs = [s.env for s in specs().values()]
    assert len(envs) == len(set(envs))
    assert all(re.fullmatch(r"TIMELINE_[A-Z_]+", e) for e in envs)
