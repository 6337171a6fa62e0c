"""A database's schema as comparable text, read from the catalog (no pg_dump: its version may
differ from the server's).

Everything a migration makes: tables and their columns, defaults and constraints, indexes,
columns' statistics targets, functions with their full definitions, triggers with whether they
fire ALWAYS, and schemas.
"""

from __future__ import annotations

import psycopg

# Only what the migrations own: the public and projections schemas (not pg_catalog, not
# extensions' objects, which depend on what the server has).
_SCHEMAS = "('public', 'projections')"

QUERIES = {
    "schemas": f"SELECT nspname FROM pg_namespace WHERE nspname IN {_SCHEMAS} ORDER BY 1",
    "columns": f"""
        SELECT c.table_schema, c.table_name, c.column_name,
               -- the column's place among the live ones (a dropped column leaves a hole)
               row_number() OVER (PARTITION BY c.table_schema, c.table_name
                                  ORDER BY c.ordinal_position), c.data_type,
               c.udt_name, c.is_nullable, c.column_default, c.is_identity, c.identity_generation
          FROM information_schema.columns c
         WHERE c.table_schema IN {_SCHEMAS} ORDER BY 1, 2, c.ordinal_position""",
    "constraints": f"""
        SELECT n.nspname, t.relname, k.conname, pg_get_constraintdef(k.oid)
          FROM pg_constraint k JOIN pg_class t ON t.oid = k.conrelid
          JOIN pg_namespace n ON n.oid = t.relnamespace
         WHERE n.nspname IN {_SCHEMAS} ORDER BY 1, 2, 3""",
    "indexes": f"""
        SELECT schemaname, tablename, indexname, indexdef FROM pg_indexes
         WHERE schemaname IN {_SCHEMAS} ORDER BY 1, 2, 3""",
    "functions": f"""
        SELECT n.nspname, p.proname, pg_get_function_identity_arguments(p.oid),
               pg_get_functiondef(p.oid)
          FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
          LEFT JOIN pg_depend d ON d.objid = p.oid AND d.deptype = 'e'
         WHERE n.nspname IN {_SCHEMAS} AND d.objid IS NULL ORDER BY 1, 2, 3""",
    "triggers": f"""
        SELECT n.nspname, c.relname, t.tgname, t.tgenabled, pg_get_triggerdef(t.oid)
          FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
          JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname IN {_SCHEMAS} AND NOT t.tgisinternal ORDER BY 1, 2, 3""",
    "sequences": f"""
        SELECT schemaname, sequencename, data_type, start_value, increment_by
          FROM pg_sequences WHERE schemaname IN {_SCHEMAS} ORDER BY 1, 2""",
    # columns whose statistics target is not the default (ANALYZE samples them otherwise)
    "statistics": f"""
        SELECT n.nspname, c.relname, a.attname, a.attstattarget
          FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
          JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname IN {_SCHEMAS} AND a.attnum > 0 AND NOT a.attisdropped
           AND a.attstattarget >= 0 ORDER BY 1, 2, 3""",
    "revision": "SELECT version_num FROM alembic_version",
}


def schema_of(url: str) -> dict[str, list[tuple[object, ...]]]:
    """The schema of the database at `url`, section by section."""
    with psycopg.connect(url.replace("postgresql+asyncpg://", "postgresql://")) as conn:
        return {name: [tuple(r) for r in conn.execute(q).fetchall()] for name, q in QUERIES.items()}


def as_text(schema: dict[str, list[tuple[object, ...]]]) -> str:
    return "\n".join(f"{name}: {row!r}" for name, rows in schema.items() for row in rows)
