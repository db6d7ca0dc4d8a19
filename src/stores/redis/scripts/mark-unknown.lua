-- markUnknown: an in_flight record whose lease lapsed at exactly `attempt` becomes unknown. Its old
-- holder is fenced out from then on; nothing is re-executed on a guess.
--
-- KEYS: the per-record layout (lib.lua).
-- ARGV: 1 key, 2 channel, 3 grace ms, 4 attempt, 5 reason.
-- Returns: { 1 if applied else 0, server now ms, { field, value, ... } of the current record or {} }.
-- Audit: `marked_unknown`.

local key, channel, grace = ARGV[1], ARGV[2], tonumber(ARGV[3])
local attempt, reason = tonumber(ARGV[4]), ARGV[5]

local now = now_ms()
local rec, stored_flat = load_record(KEYS[1])
if rec == nil or rec.attempt ~= attempt or not lease_lapsed(rec, now) then
  return { 0, now, stored_flat }
end
local stored = rec
rec = copy(stored)
rec.state = 'unknown'
rec.reason = reason
rec.leaseOwner = nil
rec.leaseUntil = nil
rec.updatedAt = now
save_record(KEYS[1], stored, rec)
append_audit(rec, 'marked_unknown', attempt, 'executor', cjson.encode({ reason = reason,
  token = stored.leaseOwner, leaseUntil = stored.leaseUntil }), now)
place(key, rec, stored, grace)
notify(channel, rec)
return fenced_reply(true, now, rec)
