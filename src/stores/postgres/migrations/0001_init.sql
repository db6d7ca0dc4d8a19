-- retrysafe PostgreSQL schema, version 1: records, the append-only audit log, overrides.
-- {{schema}} is the quoted schema, {{prefix}} the validated table prefix, {{channel}} the NOTIFY channel.
-- Times are integer milliseconds since the epoch on the server's clock.

CREATE TABLE {{schema}}."{{prefix}}records" (
  key text PRIMARY KEY,
  operation text NOT NULL,
  fingerprint text NOT NULL,
  state text NOT NULL
    CHECK (state IN ('in_flight', 'succeeded', 'failed', 'unknown', 'released')),
  attempt bigint NOT NULL CHECK (attempt >= 1),
  generation bigint NOT NULL CHECK (generation >= 1),
  lease_owner text,
  lease_until bigint,
  result text,
  request text,
  provider_ref text,
  reason text,
  override_fingerprint text,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL,
  expires_at bigint,
  tombstone_until bigint,
  -- The transition that wrote the row last: lets `begin` tell an override reservation from any other
  -- in the same statement (RETURNING sees only the new row).
  last_event text NOT NULL,
  -- The conflict table relies on these: in_flight and unknown never expire; in_flight has a holder.
  CHECK (state NOT IN ('in_flight', 'unknown') OR (expires_at IS NULL AND tombstone_until IS NULL)),
  CHECK (state <> 'in_flight' OR (lease_owner IS NOT NULL AND lease_until IS NOT NULL))
);

-- gc finds its work through this index, never by a table scan: settled records by when gc next has work
-- on them (compaction at expires_at while a result or request is held, deletion at tombstone_until after).
-- The expression is SQL_GC_DUE in src/stores/shared.ts. In-flight and unknown rows are not in it, so a
-- reservation writes no entry here and a settle one.
CREATE INDEX "{{prefix}}records_gc_idx"
  ON {{schema}}."{{prefix}}records"
  ((CASE WHEN result IS NOT NULL OR request IS NOT NULL THEN expires_at ELSE tombstone_until END))
  WHERE tombstone_until IS NOT NULL;

-- list({ states, updatedBefore }) of the records that need attention ("what is stuck in unknown"); settled
-- rows leave it, so a settle writes no entry here. Listing settled states scans (an operator's query).
CREATE INDEX "{{prefix}}records_open_idx"
  ON {{schema}}."{{prefix}}records" (state, updated_at)
  WHERE state IN ('in_flight', 'unknown');

CREATE TABLE {{schema}}."{{prefix}}audit" (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  key text NOT NULL,
  at bigint NOT NULL,
  event text NOT NULL,
  attempt bigint NOT NULL,
  actor text NOT NULL,
  detail text NOT NULL
);

CREATE INDEX "{{prefix}}audit_key_id_idx" ON {{schema}}."{{prefix}}audit" (key, id);

CREATE TABLE {{schema}}."{{prefix}}overrides" (
  id text PRIMARY KEY,
  key text NOT NULL,
  fingerprint text NOT NULL,
  generation bigint NOT NULL,
  requested_by text NOT NULL,
  reason text NOT NULL,
  requested_at bigint NOT NULL,
  approved_by text,
  approved_at bigint,
  status text NOT NULL CHECK (status IN ('pending', 'approved', 'used'))
);

CREATE INDEX "{{prefix}}overrides_key_idx"
  ON {{schema}}."{{prefix}}overrides" (key, requested_at);

-- The audit log is evidence (a late write may be the only proof that a call happened): rows are
-- appended, never changed or removed. Pruning it is a deliberate act: disable the trigger first.
CREATE FUNCTION {{schema}}."{{prefix}}audit_append_only"() RETURNS trigger
  LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the retrysafe audit log is append-only: % refused', TG_OP
    USING ERRCODE = 'integrity_constraint_violation';
END;
$$;

CREATE TRIGGER "{{prefix}}audit_no_update_delete"
  BEFORE UPDATE OR DELETE ON {{schema}}."{{prefix}}audit"
  FOR EACH ROW EXECUTE FUNCTION {{schema}}."{{prefix}}audit_append_only"();

CREATE TRIGGER "{{prefix}}audit_no_truncate"
  BEFORE TRUNCATE ON {{schema}}."{{prefix}}audit"
  FOR EACH STATEMENT EXECUTE FUNCTION {{schema}}."{{prefix}}audit_append_only"();

-- Waiters LISTEN on the channel and are woken when a record changes state or attempt (heartbeats and
-- compaction do not wake anyone; nobody waits on a key before its record exists, so an insert does not
-- either). The notification is sent on commit of the same transaction as the change, whoever made it.
CREATE FUNCTION {{schema}}."{{prefix}}notify_change"() RETURNS trigger
  LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('{{channel}}', NEW.key);
  RETURN NULL;
END;
$$;

CREATE TRIGGER "{{prefix}}records_notify_update"
  AFTER UPDATE ON {{schema}}."{{prefix}}records"
  FOR EACH ROW
  WHEN (OLD.state IS DISTINCT FROM NEW.state OR OLD.attempt IS DISTINCT FROM NEW.attempt)
  EXECUTE FUNCTION {{schema}}."{{prefix}}notify_change"();
