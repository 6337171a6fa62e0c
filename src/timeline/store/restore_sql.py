"""The SQL a restore runs on its staging table: create it, check it, move it into `events`.

`restore.py` runs these; the rules and the reasons they give are described there.
Two rows are the same event when they agree on `SAME_KEY` and not `DIFFERENT`.
"""

from __future__ import annotations

from sqlalchemy import text

STAGING = "restore_staging"

CREATE_STAGING = f"""
CREATE TEMPORARY TABLE {STAGING} (
  line bigint PRIMARY KEY,
  stream_type text NOT NULL,
  stream_id text NOT NULL,
  version bigint NOT NULL,
  type text NOT NULL,
  schema_version smallint NOT NULL,
  data jsonb NOT NULL,
  metadata jsonb NOT NULL,
  timeline text,
  reported_at timestamptz,
  recorded_at timestamptz NOT NULL
) ON COMMIT PRESERVE ROWS
"""

SAME_KEY = "(a.stream_type, a.stream_id, a.version) = (b.stream_type, b.stream_id, b.version)"
DIFFERENT = (
    "(a.type, a.schema_version, a.data, a.timeline, a.reported_at) IS DISTINCT FROM "
    "(b.type, b.schema_version, b.data, b.timeline, b.reported_at)"
)


def _held(stream_type: str, stream_id: str, event_type: str | None = None) -> str:
    """SQL: the store or an earlier staged line holds an event of that stream (and type)."""
    typed = "" if event_type is None else f" AND p.type = '{event_type}'"
    return (
        f"(EXISTS (SELECT 1 FROM events p WHERE p.stream_type = '{stream_type}' "
        f"AND p.stream_id = {stream_id}{typed}) OR EXISTS (SELECT 1 FROM {STAGING} p "
        f"WHERE p.stream_type = '{stream_type}' AND p.stream_id = {stream_id}{typed} "
        "AND p.line < a.line))"
    )


# The rules a decision enforces on the write path, checked here across the file
# and the store, since an imported event skips the decision that made it.
DOMAIN_PROBLEMS = f"""
  (SELECT a.line, format('timeline: assertion %s is on timeline %s, which neither this store '
                         'nor an earlier line opens', a.stream_id, a.timeline)
     FROM {STAGING} a
    WHERE a.type = 'AssertionRecorded' AND NOT {_held("timeline", "a.timeline")}
    ORDER BY a.line LIMIT 1)
  UNION ALL
  (SELECT a.line, format('data.citations: source %s is registered neither in this store nor '
                         'on an earlier line', c.source_id)
     FROM {STAGING} a, jsonb_to_recordset(CASE jsonb_typeof(a.data->'citations')
                          WHEN 'array' THEN a.data->'citations' ELSE '[]' END)
                       AS c (source_id text)
    WHERE a.stream_type = 'assertion' AND NOT {_held("source", "c.source_id")}
    ORDER BY a.line LIMIT 1)
  UNION ALL
  (SELECT a.line, format('data.citations: source %s was withdrawn before this line',
                         c.source_id)
     FROM {STAGING} a, jsonb_to_recordset(CASE jsonb_typeof(a.data->'citations')
                          WHEN 'array' THEN a.data->'citations' ELSE '[]' END)
                       AS c (source_id text)
    WHERE a.stream_type = 'assertion' AND {_held("source", "c.source_id", "SourceWithdrawn")}
    ORDER BY a.line LIMIT 1)
  UNION ALL
  (SELECT a.line, format('data.source_id: source %s is withdrawn neither in this store nor on '
                         'an earlier line', a.data->>'source_id')
     FROM {STAGING} a
    WHERE a.type = 'CitedSourceWithdrawn'
      AND NOT {_held("source", "a.data->>'source_id'", "SourceWithdrawn")}
    ORDER BY a.line LIMIT 1)
  UNION ALL
  (SELECT a.line, format('data.via: source %s is registered neither in this store nor on an '
                         'earlier line', a.data->>'via')
     FROM {STAGING} a
    WHERE a.type IN ('SourceRegistered', 'SourceUpdated') AND a.data->>'via' IS NOT NULL
      AND NOT {_held("source", "a.data->>'via'")}
    ORDER BY a.line LIMIT 1)
  UNION ALL
  (SELECT a.line, CASE
            WHEN a.timeline IS DISTINCT FROM f.timeline
              THEN format('timeline: %s is not the timeline of assertion %s (%s)',
                          coalesce(a.timeline, 'null'), a.stream_id, f.timeline)
            ELSE format('reported_at: precedes the first report of assertion %s (%s)',
                        a.stream_id, f.reported_at) END
     FROM {STAGING} a
     JOIN LATERAL (SELECT timeline, reported_at FROM events p
                    WHERE p.stream_type = 'assertion' AND p.stream_id = a.stream_id
                      AND p.version = 1
                   UNION ALL
                   SELECT timeline, reported_at FROM {STAGING} p
                    WHERE p.stream_type = 'assertion' AND p.stream_id = a.stream_id
                      AND p.version = 1 AND p.line < a.line
                   LIMIT 1) f ON true
    WHERE a.stream_type = 'assertion' AND a.version > 1
      AND (a.timeline IS DISTINCT FROM f.timeline OR a.reported_at < f.reported_at)
    ORDER BY a.line LIMIT 1)
  UNION ALL
  (SELECT a.line, format('type: assertion %s was retracted at version %s; it cannot be %s',
                         a.stream_id, r.version,
                         CASE a.type WHEN 'AssertionRevised' THEN 'revised'
                                     ELSE 'retracted again' END)
     FROM {STAGING} a
     JOIN LATERAL (SELECT p.version FROM events p
                    WHERE p.stream_type = 'assertion' AND p.stream_id = a.stream_id
                      AND p.type = 'AssertionRetracted' AND p.version < a.version
                   UNION ALL
                   SELECT p.version FROM {STAGING} p
                    WHERE p.stream_type = 'assertion' AND p.stream_id = a.stream_id
                      AND p.type = 'AssertionRetracted' AND p.version < a.version
                   LIMIT 1) r ON true
    WHERE a.type IN ('AssertionRevised', 'AssertionRetracted')
    ORDER BY a.line LIMIT 1)
"""

# The first problem of the staged file, by line: an in-file duplicate with
# other content, an event the store holds with other content, or a version
# that follows nothing (neither an earlier line nor the store has version - 1).
FIRST_PROBLEM = text(f"""
SELECT line, reason FROM (
  (SELECT a.line, format('stream %s/%s version %s: differs from line %s',
                         a.stream_type, a.stream_id, a.version, b.line) AS reason
     FROM {STAGING} a JOIN {STAGING} b ON {SAME_KEY} AND b.line < a.line
    WHERE {DIFFERENT} ORDER BY a.line LIMIT 1)
  UNION ALL
  (SELECT a.line, format('stream %s/%s version %s: this store holds a different event there',
                         a.stream_type, a.stream_id, a.version)
     FROM {STAGING} a JOIN events b ON {SAME_KEY}
    WHERE {DIFFERENT} ORDER BY a.line LIMIT 1)
  UNION ALL
  (SELECT a.line, format('stream %s/%s version %s: follows no version %s (not in the store '
                         'nor on an earlier line)',
                         a.stream_type, a.stream_id, a.version, a.version - 1)
     FROM {STAGING} a
    WHERE a.version > 1
      AND NOT EXISTS (SELECT 1 FROM {STAGING} p WHERE p.stream_type = a.stream_type
                        AND p.stream_id = a.stream_id AND p.version = a.version - 1
                        AND p.line < a.line)
      AND NOT EXISTS (SELECT 1 FROM events p WHERE p.stream_type = a.stream_type
                        AND p.stream_id = a.stream_id AND p.version = a.version - 1)
    ORDER BY a.line LIMIT 1)
  UNION ALL {DOMAIN_PROBLEMS}
) problems ORDER BY line LIMIT 1
""")


def insert_sql(keep_clocks: bool) -> str:
    """Staged rows of a line range that neither the store nor an earlier line holds.

    Afresh, recorded_at is left to the column's default (the transaction's
    now()) and metadata is the importer's; kept, both come from the file.
    """
    clocks = "a.metadata, a.recorded_at" if keep_clocks else "CAST(:metadata AS jsonb), now()"
    return f"""
INSERT INTO events (stream_type, stream_id, version, type, schema_version, data, timeline,
                    reported_at, metadata, recorded_at)
SELECT a.stream_type, a.stream_id, a.version, a.type, a.schema_version, a.data, a.timeline,
       a.reported_at, {clocks}
  FROM {STAGING} a
 WHERE a.line BETWEEN :first AND :last
   AND NOT EXISTS (SELECT 1 FROM events b WHERE {SAME_KEY})
   AND NOT EXISTS (SELECT 1 FROM {STAGING} b WHERE {SAME_KEY} AND b.line < a.line)
 ORDER BY a.line
"""


RETURNING = (
    "RETURNING position, tx_id::text AS tx_id, stream_type, stream_id, version, "
    "type, schema_version, data::text AS data, metadata, timeline, reported_at, recorded_at"
)
