"""What a reviewer expects of the headers: OPTIONS tells the truth, HTML gets a CSP."""

from __future__ import annotations

from litestar import Litestar, MediaType, Response, get
from litestar.testing import AsyncTestClient

from tests.api.conftest import Client
from timeline.api.app import create_app
from timeline.api.docs_ui import CSP as DOCS_CSP
from timeline.api.edge import STRICT_CSP
from timeline.config import Settings


async def test_options_lists_the_methods_each_path_really_has(
    app: Litestar, client: Client, ids: dict[str, str]
) -> None:
    schema = app.openapi_schema.to_schema()
    for template, item in schema["paths"].items():
        path = template
        for name, value in ids.items():
            path = path.replace("{" + name + "}", value)
        methods = {m.upper() for m in item} & {"GET", "POST", "PUT", "PATCH", "DELETE"}
        expected = methods | {"OPTIONS"} | ({"HEAD"} if "GET" in methods else set())
        response = await client.options(path)
        assert response.status_code == 204, (path, response.text)
        allow = {m.strip() for m in response.headers["allow"].split(",")}
        assert allow == expected, (path, allow)
        for method in ("GET", "POST"):
            if method not in expected:
                refused = await client.request(method, path)
                assert refused.status_code == 405, (path, method)


@get("/test-html-plain", media_type=MediaType.HTML, include_in_schema=False)
async def plain_html() -> str:
    return "<p>hello</p>"


@get("/test-html-own-policy", include_in_schema=False)
async def html_with_policy() -> Response[str]:
    return Response(
        "<p>viewer</p>",
        media_type=MediaType.HTML,
        headers={"Content-Security-Policy": "default-src 'self'"},
    )


async def test_every_html_answer_without_a_policy_of_its_own_gets_a_restrictive_one(
    database_url: str,
) -> None:
    app = create_app(Settings(), database_url, extra_route_handlers=[plain_html, html_with_policy])
    async with AsyncTestClient(app, base_url="http://testserver.local") as client:
        plain = await client.get("/test-html-plain")
        assert plain.headers["content-security-policy"] == STRICT_CSP
        assert "default-src 'none'" in STRICT_CSP
        assert "frame-ancestors 'none'" in STRICT_CSP
        own = await client.get("/test-html-own-policy")
        assert own.headers.get_list("content-security-policy") == ["default-src 'self'"]
        docs = await client.get("/schema")
        assert docs.headers["content-type"].startswith("text/html")
        assert docs.headers["content-security-policy"] == DOCS_CSP
        assert "default-src 'none'" in DOCS_CSP
        assert "'unsafe-eval'" not in DOCS_CSP
        # The docs page loads its script from this server, and from nowhere else.
        assert "https://" not in DOCS_CSP
        assert 'src="https://' not in docs.text
        json_answer = await client.get("/health")
        assert "content-security-policy" not in json_answer.headers
