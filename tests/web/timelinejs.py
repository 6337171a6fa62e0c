"""TimelineJS (npm @knight-lab/timelinejs 3.9.11) for the tests and the bench only: installed
with npm into .venv/npm when missing, served with an export by a static server on loopback."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
NPM_DIR = ROOT / ".venv" / "npm"
PACKAGE = "@knight-lab/timelinejs@3.9.11"
DIST = NPM_DIR / "node_modules" / "@knight-lab" / "timelinejs" / "dist"

# font: null, so TimelineJS loads no web fonts from Google's servers
PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>TimelineJS</title><link rel="icon" href="data:,">
<link rel="stylesheet" href="dist/css/timeline.css">
<script src="dist/js/timeline.js"></script></head>
<body><div id="timeline-embed" style="width: 100%; height: 650px"></div>
<script>window.timeline = new TL.Timeline("timeline-embed", "export.json", {font: null});</script>
</body></html>
"""


def install() -> str | None:
    """The dist folder, installing the package with npm first if needed; None, saying why,
    when it cannot be had."""
    if (DIST / "js" / "timeline.js").exists():
        return None
    if shutil.which("npm") is None:
        return "npm is not installed"
    NPM_DIR.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(NPM_DIR), PACKAGE],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if not (DIST / "js" / "timeline.js").exists():
        return f"npm install {PACKAGE} failed: {done.stderr.strip()[-300:]}"
    return None


@contextlib.contextmanager
def served(export: bytes) -> Iterator[str]:
    """The TimelineJS page with `export` as its data, on a loopback static server: its URL."""

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "index.html").write_text(PAGE)
        (folder / "export.json").write_bytes(export)
        (folder / "dist").symlink_to(DIST)
        server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=tmp))
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
        finally:
            server.shutdown()
            server.server_close()
