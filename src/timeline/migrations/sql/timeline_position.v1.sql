-- timeline_position, version 1 (migration 0007): a projection row's position, where
-- PENDING + k (PENDING = 2^62 = 4611686018427387904) stands for the k-th event of a write
-- and p_positions holds the positions the write was given.
CREATE FUNCTION timeline_position(p_position bigint, p_positions bigint[]) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN p_position >= 4611686018427387904 THEN p_positions[p_position - 4611686018427387904]
              ELSE p_position END
$$;
