"""The docs UI at /schema renders offline: its assets come from this server, pinned."""

from __future__ import annotations

from typing import Any

import httpx

from tests.web.conftest import Site


def test_the_docs_list_every_operation_and_load_nothing_from_elsewhere(
    page: Any, site: Site
) -> None:
    schema = httpx.get(f"{site.base}/schema/openapi.json").json()
    operations = {
        (method.upper(), path)
        for path, item in schema["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    }
    page.goto(f"{site.base}/schema")
    page.wait_for_selector(".opblock", timeout=20000)
    shown = page.eval_on_selector_all(
        ".opblock",
        "els => els.map(e => [e.querySelector('.opblock-summary-method').innerText,"
        " e.querySelector('.opblock-summary-path').dataset.path])",
    )
    assert {(m, p) for m, p in shown} == operations
    # the page fixture checks that no request left the server and no console error


def test_the_docs_page_sets_a_content_security_policy_without_inline_script(site: Site) -> None:
    response = httpx.get(f"{site.base}/schema")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self';" in policy
    assert "<script>" not in response.text  # only <script src=...>
    assets = httpx.get(f"{site.base}/schema/assets/swagger-ui-bundle.js")
    assert assets.status_code == 200
    assert len(assets.content) > 1_000_000
