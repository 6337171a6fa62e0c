"""`make bench` prints its figures, not a log line per HTTP request or migration step."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# What happened in a benchmark run: a module makes a Litestar app with the default
# logging config (root logger at INFO), then another module's HTTP client and
# migrations log at INFO. Run in a process of its own: logging is process-wide.
SCRIPT = """
import logging, sys
from litestar import Litestar
if sys.argv[1] == "quiet":
    from tests.bench.__main__ import quiet_logging
    quiet_logging()
Litestar(route_handlers=[])
logging.getLogger("httpx").info("HTTP Request: GET http://127.0.0.1/health 200 OK")
logging.getLogger("alembic.runtime.migration").info("Running upgrade 0006 -> 0007")
logging.getLogger("timeline.feed.hub").warning("feed hub: database unavailable")
"""


def _run(mode: str) -> str:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, mode], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return out.stdout + out.stderr


@pytest.mark.parametrize(
    "line", ["HTTP Request: GET", "Running upgrade 0006 -> 0007"], ids=["http", "migration"]
)
def test_the_benchmark_runner_prints_no_info_lines_but_still_the_warnings(line: str) -> None:
    assert line in _run("loud"), "the scenario no longer logs at INFO: the test proves nothing"
    quiet = _run("quiet")
    assert line not in quiet
    assert "feed hub: database unavailable" in quiet
