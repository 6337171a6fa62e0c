"""The schema's history: Alembic's environment, its revisions, and the SQL they load.

Shipped inside the package, so an installed wheel migrates from any directory
(`timeline.migrate` finds this folder with importlib.resources; no alembic.ini).

Functions and triggers live in `sql/NAME.vN.sql`, one file per version of each,
as message-db keeps its functions: a migration that changes a function loads a
new file and never edits an old one, so every revision keeps the meaning it had
when it was written. A revision that needs code to fill data carries its own
frozen copy of it rather than importing today's.
"""

from __future__ import annotations

import re
from importlib.resources import files

from alembic import op

# What can hide a `;` that does not end a statement: a dollar-quoted body, a string,
# a comment. Anything else ending in `;` is a statement.
_TOKEN = re.compile(r"\$(?:[A-Za-z_][A-Za-z_0-9]*)?\$|'(?:[^']|'')*'|--[^\n]*|/\*.*?\*/|;", re.S)


def sql_text(name: str) -> str:
    """The text of `sql/<name>.sql`, e.g. `timeline_write.v2`."""
    return (files(__name__) / "sql" / f"{name}.sql").read_text(encoding="utf-8")


def statements(script: str) -> list[str]:
    """The statements of an SQL script, each without its `;` (the driver runs one at a time)."""
    found: list[str] = []
    start = at = 0
    while (match := _TOKEN.search(script, at)) is not None:
        token = match.group(0)
        if token == ";":
            found.append(script[start : match.start()].strip())
            start = at = match.end()
        elif token.startswith("$"):
            end = script.find(token, match.end())
            if end < 0:
                raise ValueError(f"unterminated {token} quote in SQL script")
            at = end + len(token)
        else:
            at = match.end()
    found.append(script[start:].strip())
    return [s for s in found if not _only_comments(s)]


def _only_comments(statement: str) -> bool:
    return not re.sub(r"--[^\n]*|/\*.*?\*/", "", statement, flags=re.S).strip()


def run_sql(name: str) -> None:
    """Run every statement of `sql/<name>.sql` in the migration's transaction."""
    for statement in statements(sql_text(name)):
        op.execute(statement)
