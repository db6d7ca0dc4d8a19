-- retrysafe PostgreSQL schema, version 5: `count` groups by state and operation from this index (an
-- index-only scan once the table is vacuumed) and finds each state's oldest record through it, so
-- counting a large store reads no record.
CREATE INDEX "{{prefix}}records_state_operation_idx"
  ON {{schema}}."{{prefix}}records" (state, operation, updated_at);
