-- noteUnknown: a reconciliation step (lookup, re-send) left an unknown record at exactly `attempt`
-- unknown. Only its reason changes (not updatedAt: the settle delay counts from the attempt), and the
-- answer goes to the audit log.
--
-- KEYS: the per-record layout (lib.lua).
-- ARGV: 1 key, 2 channel, 3 grace ms, 4 attempt, 5 reason, 6 actor, 7 action, 8 answer.
-- Returns: { 1 if applied else 0, server now ms, { field, value, ... } of the current record or {} }.
-- Audit: `still_unknown`.

local attempt, reason, actor, action, answer = tonumber(ARGV[4]), ARGV[5], ARGV[6], ARGV[7], ARGV[8]

local now = now_ms()
local rec, stored_flat = load_record(KEYS[1])
if rec == nil or rec.attempt ~= attempt or rec.state ~= 'unknown' then
  return { 0, now, stored_flat }
end
local stored = rec
rec = copy(stored)
rec.reason = reason
save_record(KEYS[1], stored, rec)
append_audit(rec, 'still_unknown', attempt, actor,
  cjson.encode({ action = action, answer = answer, reason = reason }), now)
return fenced_reply(true, now, rec)
