-- heartbeat: extends the holder's lease to server now + lease ms. Fenced on attempt and token (a
-- holder whose lease lapsed untouched may still extend it). Not audited: it would drown the log.
--
-- KEYS: the per-record layout (lib.lua).
-- ARGV: 1 key, 2 channel, 3 grace ms, 4 lease attempt, 5 lease token, 6 lease ms.
-- Returns: { 1 if applied else 0, server now ms, { field, value, ... } of the current record or {} }.

local key = ARGV[1]
local attempt, token, lease_ms = tonumber(ARGV[4]), ARGV[5], tonumber(ARGV[6])

local now = now_ms()
local rec, stored_flat = load_record(KEYS[1])
if not holds(rec, attempt, token) then
  return { 0, now, stored_flat }
end
rec.leaseUntil = now + lease_ms
rec.updatedAt = now
redis.call('HSET', KEYS[1], 'leaseUntil', int(rec.leaseUntil), 'updatedAt', int(now))
redis.call('ZADD', state_index(rec.state), now, key)
return fenced_reply(true, now, rec)
