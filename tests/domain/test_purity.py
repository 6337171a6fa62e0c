"""The domain is pure: no module in it imports a database or web library."""

from __future__ import annotations

import ast
from pathlib import Path

import timeline.domain

FORBIDDEN = {"sqlalchemy", "litestar", "asyncpg", "psycopg", "alembic"}
ALLOWED_OURS = "timeline.domain"
DOMAIN = Path(timeline.domain.__file__).parent


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_the_domain_has_modules_to_check() -> None:
    assert len(list(DOMAIN.glob("*.py"))) >= 5


def test_no_domain_module_imports_sqlalchemy_litestar_or_asyncpg() -> None:
    offenders = {
        f"{path.name}: {name}"
        for path in DOMAIN.glob("**/*.py")
        for name in imported_modules(path)
        if name.split(".")[0] in FORBIDDEN
    }
    assert offenders == set()


def test_the_domain_imports_nothing_of_ours_outside_the_domain() -> None:
    offenders = {
        f"{path.name}: {name}"
        for path in DOMAIN.glob("**/*.py")
        for name in imported_modules(path)
        if name.split(".")[0] == "timeline" and not name.startswith(ALLOWED_OURS)
    }
    assert offenders == set()
