"""`python -m timeline.api.openapi`: print the app's OpenAPI document (for openapi/openapi.json)."""

from __future__ import annotations

import sys
from typing import Any

import msgspec

from timeline.config import Settings

# The schema does not depend on the database; no connection is opened.
PLACEHOLDER_URL = "postgresql://localhost/timeline"


def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document exactly as the app serves it at /schema/openapi.json."""
    from timeline.api.app import create_app

    app = create_app(Settings(), PLACEHOLDER_URL)
    schema: dict[str, Any] = app.openapi_schema.to_schema()
    return schema


def render(schema: dict[str, Any]) -> str:
    """Stable text: sorted keys, two-space indent, a final newline."""
    return (
        msgspec.json.format(msgspec.json.encode(schema, order="sorted"), indent=2).decode() + "\n"
    )


def main() -> int:
    sys.stdout.write(render(document()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
