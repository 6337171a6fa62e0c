-- timeline_actor_keys, version 1 (migration 0006): the timeline-qualified, lower-cased actor
-- keys a GIN index serves `actor=` from.
-- PL/pgSQL, not SQL: a SQL function that unnests cannot be inlined, and its executor costs
-- about twice this loop per row (a page walking the timeline for a common actor calls it on
-- every row it passes).
CREATE OR REPLACE FUNCTION public.timeline_actor_keys(timeline text, actors text[])
RETURNS text[] LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
  keys text[] := '{}';
  actor text;
BEGIN
  FOREACH actor IN ARRAY actors LOOP
    keys := keys || (timeline || chr(31) || lower(actor));
  END LOOP;
  RETURN keys;
END $$;
