"""`make run` prints the viewer's address beside the docs'."""

from __future__ import annotations

from timeline.welcome import SLUG, welcome_text


def test_the_welcome_names_the_viewer_beside_the_docs() -> None:
    lines = welcome_text("http://127.0.0.1:8000", None).splitlines()
    viewer = next(i for i, line in enumerate(lines) if "viewer:" in line)
    docs = next(i for i, line in enumerate(lines) if "API docs:" in line)
    assert abs(viewer - docs) == 1
    assert f"http://127.0.0.1:8000/timelines/{SLUG}" in lines[viewer]
