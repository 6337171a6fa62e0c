"""The built wheel installs into a fresh virtualenv and migrates, loads and serves from anywhere.

Built with pip (hatchling, as pyproject.toml says), installed into a new
virtualenv, and run from an empty folder outside the checkout with the
checkout nowhere on the path: `timeline migrate` (the revisions, the SQL files
and Alembic's environment come from the installed package), `timeline demo
load`, `timeline keys create`, then `timeline serve` answering a read and a
write.

The wheel is installed with --no-deps, and its dependencies are this
virtualenv's, reached through a .pth file (this venv's editable hook for the
checkout is not processed there, so the checkout's `src` stays off the path):
the same packages pip would fetch, in a few seconds rather than a minute.
TIMELINE_WHEEL_FULL_INSTALL=1 installs them from the index instead (about 50 s here,
against about 15 s).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import socket
import subprocess
import sys
import sysconfig
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from alembic.script import ScriptDirectory

from tests.pg import scratch_database
from timeline.migrate import alembic_config

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def _run(*args: str | Path, cwd: Path, env: dict[str, str], timeout: float = 300) -> str:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"{args}: {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A fresh virtualenv with the wheel installed, and the environment to run it in."""
    work = tmp_path_factory.mktemp("wheel")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env.pop("TIMELINE_DATABASE_URL", None)
    pip = (sys.executable, "-m", "pip")
    build: list[str | Path] = ["wheel", "--no-deps", "-q", "-w", work / "dist", ROOT]
    if importlib.util.find_spec("hatchling") is not None:
        # hatchling is a dev dependency: no isolated build environment to make and fill.
        build.insert(1, "--no-build-isolation")
    _run(*pip, *build, cwd=work, env=env)
    (wheel,) = (work / "dist").glob("timeline-*.whl")
    venv = work / "venv"
    python = venv / "bin" / "python"
    if os.environ.get("TIMELINE_WHEEL_FULL_INSTALL") == "1":
        _run(sys.executable, "-m", "venv", venv, cwd=work, env=env)
        _run(python, "-m", "pip", "install", "-q", wheel, cwd=work, env=env, timeout=900)
        return venv, env
    # No pip of its own: this one installs into it (pip --python).
    _run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=work, env=env)
    _run(
        *pip,
        "--python",
        python,
        "install",
        "-q",
        "--no-deps",
        "--no-index",
        wheel,
        cwd=work,
        env=env,
    )
    site = _run(
        python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=work, env=env
    ).strip()
    Path(site, "_timeline_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"])
    return venv, env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def _serving(timeline: Path, cwd: Path, env: dict[str, str]) -> Iterator[str]:
    port = _free_port()
    log = cwd / "serve.log"
    with log.open("w") as err:
        process = subprocess.Popen(
            [str(timeline), "serve", "--port", str(port)],
            cwd=cwd,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(base + "/health", timeout=2).status_code == 200:
                    break
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_the_installed_wheel_migrates_loads_the_demo_and_serves_from_any_directory(
    installed: tuple[Path, dict[str, str]], postgres_server: str, tmp_path: Path
) -> None:
    venv, base_env = installed
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    bin_ = venv / "bin"
    where = _run(
        bin_ / "python",
        "-c",
        "import timeline; print(timeline.__file__)",
        cwd=elsewhere,
        env=base_env,
    )
    assert Path(where.strip()).is_relative_to(venv), where
    assert not list(elsewhere.iterdir())  # nothing here: no alembic.ini, no migrations/
    with scratch_database(postgres_server) as url:
        env = {**base_env, "TIMELINE_DATABASE_URL": url, "TIMELINE_IDEMPOTENCY_PURGE_EVERY": "0"}
        _run(bin_ / "timeline", "migrate", cwd=elsewhere, env=env)
        _run(bin_ / "timeline", "demo", "load", cwd=elsewhere, env=env)
        key = _run(
            bin_ / "timeline", "keys", "create", "--scope", "write", cwd=elsewhere, env=env
        ).split()[-1]
        with _serving(bin_ / "timeline", elsewhere, env) as base:
            page = httpx.get(f"{base}/v1/timelines/nagorno-karabakh-2020", timeout=10)
            assert page.status_code == 200, page.text
            assert len(page.json()["assertions"]) > 10
            opened = httpx.post(
                f"{base}/v1/timelines",
                json={"slug": "from-a-wheel", "title": "Installed", "region": "nowhere"},
                headers={"Authorization": f"Bearer {key}", "Idempotency-Key": "once"},
                timeout=10,
            )
            assert opened.status_code == 201, opened.text
        # Every revision came with the package: the database is at this checkout's head.
        with psycopg.connect(url) as conn:
            (revision,) = conn.execute("SELECT version_num FROM alembic_version").fetchone() or (
                "",
            )
        script = ScriptDirectory.from_config(alembic_config(url))
        assert revision == script.get_current_head()
