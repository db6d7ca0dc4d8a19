-- settle: the holder ends its attempt. Fenced: applies only while the record is in_flight at the
-- lease's attempt with the lease's token. A refused settlement is appended to the audit log as a
-- `late_write` (also for a key without a record), because it may be the only evidence of a write.
--
-- KEYS: the per-record layout (lib.lua).
-- ARGV: 1 key, 2 channel, 3 grace ms, 4 lease attempt, 5 lease token, 6 state (succeeded, failed,
--       released or unknown), 7 result (optional), 8 providerRef (optional), 9 reason (optional),
--       10 ttl ms, 11 tombstone ms, 12 the lease's generation (for the late_write detail),
--       13 provider-key evidence after the attempt (optional: unchanged).
-- Optional values are '' for null or '=' .. value.
-- Returns: { 1 if applied else 0, server now ms, { field, value, ... } of the current record or {} }.
-- Audit: `late_write` when refused; an applied settlement is the record itself.

local key, channel, grace = ARGV[1], ARGV[2], tonumber(ARGV[3])
local attempt, token, state = tonumber(ARGV[4]), ARGV[5], ARGV[6]

local now = now_ms()
local stored, stored_flat = load_record(KEYS[1])
local rec = stored
if not holds(rec, attempt, token) then
  -- The stale holder's whole settlement (the same detail every store keeps), built only when refused.
  local null = function(value) if value == nil then return cjson.null end return value end
  local detail = cjson.encode({ state = state, result = null(opt(ARGV[7])), providerRef = null(opt(ARGV[8])),
    reason = null(opt(ARGV[9])), ttlMs = tonumber(ARGV[10]), tombstoneMs = tonumber(ARGV[11]), token = token,
    generation = tonumber(ARGV[12]) })
  append_audit(rec, 'late_write', attempt, 'executor', detail, now)
  return { 0, now, stored_flat }
end

rec = copy(stored)
rec.state = state
rec.result = opt(ARGV[7])
rec.providerRef = opt(ARGV[8])
rec.reason = opt(ARGV[9])
rec.leaseOwner = nil
rec.leaseUntil = nil
rec.updatedAt = now
local evidence = opt(ARGV[13])
if evidence ~= nil then rec.keyEvidence = evidence end
if SETTLED[state] then
  rec.expiresAt = now + tonumber(ARGV[10])
  rec.tombstoneUntil = rec.expiresAt + tonumber(ARGV[11])
else
  -- unknown never expires: it blocks the key until reconciled or resolved.
  rec.expiresAt = nil
  rec.tombstoneUntil = nil
end
save_record(KEYS[1], stored, rec)
place(key, rec, stored, grace)
notify(channel, rec)
return fenced_reply(true, now, rec)
