-- timeline_view, version 1 (migration 0007): a stored view with a pending last_position
-- (PENDING + k, PENDING = 2^62) made real. Such a view ends in `<PENDING + k>}`; anything
-- else gives NULL, which the NOT NULL view column refuses.
CREATE FUNCTION timeline_view(p_view text, p_last_position bigint, p_positions bigint[])
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE
    WHEN p_last_position < 4611686018427387904 THEN p_view
    WHEN right(p_view, length(p_last_position::text) + 1) = p_last_position::text || '}'
      THEN left(p_view, -(length(p_last_position::text) + 1))
           || p_positions[p_last_position - 4611686018427387904]::text || '}'
  END
$$;
