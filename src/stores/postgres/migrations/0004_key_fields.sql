-- retrysafe PostgreSQL schema, version 4: the canonical key fields on each record, so that a lookup
-- from a stored record (batch reconciliation, which has no input) can search the provider by the
-- write's logical identity. Null on records written before this version.
ALTER TABLE {{schema}}."{{prefix}}records" ADD COLUMN key_fields text;
