-- retrysafe PostgreSQL schema, version 3: approvals bound to the attempt they were given for, and
-- override requests that keep the attempt they were made at and the proposed payload (canonical JSON),
-- so the approver sees what will be sent.

ALTER TABLE {{schema}}."{{prefix}}records" ADD COLUMN override_attempt bigint;

ALTER TABLE {{schema}}."{{prefix}}overrides" ADD COLUMN attempt bigint;
ALTER TABLE {{schema}}."{{prefix}}overrides" ADD COLUMN payload text;
