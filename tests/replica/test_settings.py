"""TIMELINE_READ_DATABASE_URL and TIMELINE_READ_WAIT: read once, a bad value named."""

from __future__ import annotations

import pytest

from timeline.config import Settings
from timeline.variables import ConfigError


def test_reads_stay_on_the_primary_unless_a_standby_is_named() -> None:
    assert Settings.from_env({}).read_database_url is None
    named = Settings.from_env({"TIMELINE_READ_DATABASE_URL": "postgresql://h:5433/db"})
    assert named.read_database_url == "postgresql://h:5433/db"
    assert named.read_wait_seconds == 1.0


def test_a_standby_url_that_is_not_postgresql_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="TIMELINE_READ_DATABASE_URL"):
        Settings.from_env({"TIMELINE_READ_DATABASE_URL": "mysql://h/db"})


def test_a_bad_read_wait_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="TIMELINE_READ_WAIT"):
        Settings.from_env({"TIMELINE_READ_WAIT": "soon"})
    assert Settings.from_env({"TIMELINE_READ_WAIT": "0.25"}).read_wait_seconds == 0.25
