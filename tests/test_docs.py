"""The shell examples in README.md and docs/*.md run, in reading order, against one fresh
server: they cannot drift from what the API does.

A fenced block is run when the line before it is `<!-- run -->`; every other `sh` block
says why it is not (`<!-- not run: ... -->`), so a new example is run or excused, never
forgotten. The blocks of all files run in one bash session per file, on one server (as
after `make run`: migrated, the demo loaded), README first: a reader follows README's
example before docs/api.md's walk-through, so the two must not collide (they did: both
opened `nk-2020`, and the walk-through's first POST was a 409). Each block runs with
`set -euo pipefail` and a `curl` that fails on any answer of 400 or more, so an error in
any step fails the test. The docs' `http://127.0.0.1:8000` is the server's address.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.served import Served, fresh_server

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
RUN = "<!-- run -->"
NOT_RUN = re.compile(r"<!-- not run: .+ -->")
FENCE = re.compile(r"^```(\S*)")
SHELLS = ("sh", "bash", "shell", "console")
DEFAULT_BASE = re.compile(r"(?:http://)?(?:127\.0\.0\.1|localhost):8000")

PRELUDE = """\
set -euo pipefail
trap 'echo "docs runner: failed at line $LINENO of the script: $BASH_COMMAND" >&2' ERR
# An answer of 400 or more is a failure; its body is still shown.
curl() { command curl --silent --show-error --fail-with-body --max-time 20 "$@"; }
"""


@dataclass(frozen=True)
class Block:
    path: Path
    line: int  # of the opening fence, 1-based
    language: str
    mark: str  # the line before the fence
    code: str

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def blocks(path: Path) -> list[Block]:
    """The fenced blocks of `path`, with the line before each."""
    lines = path.read_text().splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
        mark = lines[i - 1].strip() if i > 0 else ""
        code = "\n".join(lines[i + 1 : end])
        found.append(Block(path, i + 1, opening.group(1), mark, code))
        i = end + 1
    return found


def runnable(path: Path) -> list[Block]:
    return [b for b in blocks(path) if b.mark == RUN]


def script(path: Path, base_url: str) -> str:
    parts = [PRELUDE]
    for block in runnable(path):
        code = DEFAULT_BASE.sub(base_url, block.code)
        parts.append(f"# --- {block.where}\n{code}\n")
    return "\n".join(parts)


def test_every_shell_block_is_run_or_says_why_not() -> None:
    unmarked = [
        b.where
        for path in DOCS
        for b in blocks(path)
        if b.language in SHELLS and b.mark != RUN and not NOT_RUN.fullmatch(b.mark)
    ]
    assert not unmarked, f"mark these `{RUN}` or `<!-- not run: why -->`: {unmarked}"


def test_the_docs_have_examples_to_run() -> None:
    assert runnable(ROOT / "README.md")
    assert runnable(ROOT / "docs" / "api.md")


@pytest.fixture(scope="module")
def server(postgres_server: str) -> Iterator[Served]:
    missing = [tool for tool in ("bash", "curl", "jq") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"the docs' examples need {', '.join(missing)} (.ci/run installs them)")
    with fresh_server(postgres_server) as served:
        yield served


# In reading order, on one server: README's example, then the docs' (api.md first).
@pytest.mark.parametrize("path", [p for p in DOCS if runnable(p)], ids=lambda p: p.name)
def test_the_shell_examples_run_against_a_fresh_server(path: Path, server: Served) -> None:
    venv_bin = str(ROOT / ".venv" / "bin")
    env = server.env()
    env["PATH"] = f"{venv_bin}:{env['PATH']}"
    done = subprocess.run(
        ["bash", "-c", script(path, server.base_url)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"{path.name}:\n{done.stdout}\n{done.stderr}"
