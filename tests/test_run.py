"""`make run` stops quietly on SIGTERM, whatever step it is in (timeline/run.py)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.bench.serve import free_port
from tests.pg import scratch_database

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


@pytest.fixture(scope="module")
def run_url(postgres_server: str) -> Iterator[str]:
    with scratch_database(postgres_server) as url:
        yield url


def _interruptible() -> None:
    """SIGINT as a terminal's session has it, even when this run was started with it ignored
    (in the background, under nohup): make and its children would inherit that."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _make_run(url: str, port: int) -> subprocess.Popen[str]:
    env = dict(os.environ, TIMELINE_DATABASE_URL=url, TIMELINE_PORT=str(port))
    # A session of its own, as a terminal gives make: the signal can go to its group.
    return subprocess.Popen(
        ["make", "--no-print-directory", "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        preexec_fn=_interruptible,
    )


def _serving(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as r:
            return bool(r.status == 200)
    except OSError:
        return False


def _stop(proc: subprocess.Popen[str], *, group: bool, sig: signal.Signals = signal.SIGTERM) -> str:
    if group:
        os.killpg(proc.pid, sig)
    else:
        proc.send_signal(sig)
    out, _ = proc.communicate(timeout=30)
    # make dies of the signal it was sent (it re-raises it), as a stopped program should.
    assert proc.returncode == -sig, out
    return out


@pytest.mark.parametrize("group", [False, True], ids=["make", "its-process-group"])
@pytest.mark.parametrize("after", [0.2, 1.0, 2.0])
def test_a_sigterm_during_the_steps_before_serving_ends_make_run_quietly(
    run_url: str, after: float, group: bool
) -> None:
    proc = _make_run(run_url, free_port())
    time.sleep(after)
    out = _stop(proc, group=group)
    assert "make: ***" not in out
    assert "Traceback" not in out


@pytest.mark.parametrize("group", [False, True], ids=["make", "its-process-group"])
def test_a_sigterm_while_serving_ends_make_run_quietly(run_url: str, group: bool) -> None:
    port = free_port()
    proc = _make_run(run_url, port)
    deadline = time.monotonic() + 60
    while not _serving(port):
        assert proc.poll() is None, proc.communicate()[0]
        assert time.monotonic() < deadline, "make run did not serve within 60 s"
        time.sleep(0.2)
    out = _stop(proc, group=group)
    assert "make: ***" not in out
    assert "Traceback" not in out
    assert "Application shutdown complete" in out


@pytest.mark.parametrize("after", [1.0, 2.0])
def test_ctrl_c_on_the_terminal_ends_make_run_quietly(run_url: str, after: float) -> None:
    proc = _make_run(run_url, free_port())
    time.sleep(after)
    out = _stop(proc, group=True, sig=signal.SIGINT)  # a terminal sends it to the group
    assert "make: ***" not in out
    assert "Traceback" not in out
    assert "KeyboardInterrupt" not in out
