-- retrysafe PostgreSQL schema, version 2: provider-key evidence per generation
-- (src/machine/provider-key-evidence.ts). Null on every existing row: nothing is known about their keys
-- yet, which is what null means. Adding a nullable column without a default rewrites no rows.

ALTER TABLE {{schema}}."{{prefix}}records"
  ADD COLUMN key_evidence text
    CHECK (key_evidence IS NULL OR key_evidence IN ('answered', 'absent', 'burned'));
