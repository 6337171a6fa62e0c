"""Every route to the newest schema ends in the same schema, and revisions keep their meaning.

A database made from scratch, one left at any earlier revision and then migrated, and one
migrated down to any revision and up again must all hold the same tables, indexes,
functions and triggers (compared in the catalog). Revisions load their functions from
versioned SQL files and import none of today's code, so what each made stays what it makes.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory

from tests.migrations.catalog import as_text, schema_of
from tests.pg import scratch_database
from timeline.migrate import alembic_config, migrate
from timeline.migrations import statements

VERSIONS = Path(__file__).resolve().parents[2] / "src" / "timeline" / "migrations" / "versions"


def _revisions(url: str) -> list[str]:
    """Every revision, oldest first."""
    script = ScriptDirectory.from_config(alembic_config(url))
    return [r.revision for r in reversed(list(script.walk_revisions()))]


@pytest.fixture(scope="module")
def head_schema(postgres_server: str) -> Iterator[str]:
    with scratch_database(postgres_server) as url:
        migrate(url)
        yield as_text(schema_of(url))


def test_from_each_earlier_revision_the_upgrade_gives_the_schema_made_from_scratch(
    postgres_server: str, head_schema: str
) -> None:
    revisions = _revisions(postgres_server)
    assert len(revisions) >= 7
    for start in revisions[:-1]:
        with scratch_database(postgres_server) as url:
            config = alembic_config(url)
            command.upgrade(config, start)
            assert schema_of(url)["revision"] == [(start,)]
            command.upgrade(config, "head")
            assert as_text(schema_of(url)) == head_schema, f"from {start}"


def test_down_to_each_revision_and_up_again_gives_the_same_schema(
    postgres_server: str, head_schema: str
) -> None:
    with scratch_database(postgres_server) as url:
        config = alembic_config(url)
        migrate(url)
        for revision in reversed(_revisions(url)[:-1]):
            command.downgrade(config, revision)
            below = as_text(schema_of(url))
            command.upgrade(config, "head")
            assert as_text(schema_of(url)) == head_schema, f"down to {revision} and up"
            command.downgrade(config, revision)
            assert as_text(schema_of(url)) == below


def test_a_revision_imports_no_code_of_ours_but_the_sql_loader() -> None:
    for path in sorted(VERSIONS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            for name in names:
                assert not name.startswith("timeline") or name == "timeline.migrations", (
                    f"{path.name} imports {name}: freeze a copy in the revision instead"
                )


def test_functions_and_triggers_are_made_from_sql_files_not_python_strings() -> None:
    for path in sorted(VERSIONS.glob("*.py")):
        source = path.read_text().upper()
        for statement in ("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", "CREATE TRIGGER"):
            assert statement not in source, f"{path.name} has {statement}: put it in sql/"


def test_a_script_splits_at_semicolons_outside_bodies_strings_and_comments() -> None:
    script = """-- a header; with a semicolon
CREATE FUNCTION f() RETURNS text LANGUAGE plpgsql AS $$
BEGIN RETURN 'a;b'; END $$;
/* a block; comment */ SELECT 'it''s; fine', $tag$ x; $$ y; $tag$;
ALTER TABLE t ENABLE ALWAYS TRIGGER g
-- a trailing comment;
"""
    assert statements(script) == [
        "-- a header; with a semicolon\nCREATE FUNCTION f() RETURNS text LANGUAGE plpgsql AS $$\n"
        "BEGIN RETURN 'a;b'; END $$",
        "/* a block; comment */ SELECT 'it''s; fine', $tag$ x; $$ y; $tag$",
        "ALTER TABLE t ENABLE ALWAYS TRIGGER g\n-- a trailing comment;",
    ]
    with pytest.raises(ValueError, match="unterminated"):
        statements("CREATE FUNCTION f() AS $$ BEGIN")
