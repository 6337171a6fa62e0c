"""The docs UI at /schema, served whole by this server: Swagger UI 5.35.0, pinned and vendored.

Litestar's render plugins point at a CDN by default, so with no internet the
page was blank. The bundle (npm `swagger-ui-dist` 5.35.0, Apache-2.0: LICENSE
and NOTICE beside it) lives in `docs_assets/` and is served under
/schema/assets/. Swagger UI rather than Scalar: one 1.7 MB script that renders
OpenAPI 3.1 and fetches nothing else (Scalar's standalone build is 4.9 MB and
loads fonts from its own CDN), and it starts from a file (`init.js`), so the
page carries a Content-Security-Policy with no inline script.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from litestar import Request, Router
from litestar.datastructures import ResponseHeader
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.static_files import create_static_files_router

SWAGGER_UI_VERSION = "5.35.0"
ASSETS = Path(__file__).with_name("docs_assets")

# Swagger UI sets inline styles on its elements, hence 'unsafe-inline' for styles only.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


class LocalSwaggerUI(SwaggerRenderPlugin):
    """Swagger UI from this server's own assets, under a strict Content-Security-Policy."""

    def __init__(self, path: str = "/swagger") -> None:
        base = "/schema/assets"
        super().__init__(
            version=SWAGGER_UI_VERSION,
            js_url=f"{base}/swagger-ui-bundle.js",
            css_url=f"{base}/swagger-ui.css",
            standalone_preset_js_url=f"{base}/init.js",
            path=path,
            favicon="<link rel='icon' href='data:,'>",
        )

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        title = html.escape(str(openapi_schema["info"]["title"]))
        url = html.escape(self.get_openapi_json_route(request))
        return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}: API docs</title>
{self.favicon}
<link rel="stylesheet" href="{self.css_url}">
<script src="{self.js_url}" defer></script>
<script src="{self.standalone_preset_js_url}" defer></script>
</head>
<body>
<main id="swagger-ui" data-url="{url}"></main>
</body>
</html>
""".encode()

    def receive_router(self, router: Router) -> None:
        """Serve the assets beside the docs, and put the CSP on every /schema response."""
        super().receive_router(router)
        router.register(
            create_static_files_router(
                path="/assets", directories=[ASSETS], include_in_schema=False
            )
        )
        router.response_headers = [ResponseHeader(name="Content-Security-Policy", value=CSP)]
