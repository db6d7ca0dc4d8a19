-- reclaim: an unknown (or lapsed in_flight) record at exactly `attempt` gets the next attempt in the
-- same generation, held by the caller. createdAt stays: the provider's key retention counts from it.
--
-- KEYS: the per-record layout (lib.lua).
-- ARGV: 1 key, 2 channel, 3 grace ms, 4 attempt seen, 5 new lease token, 6 lease ms, 7 reason.
-- Returns: { 1 if claimed else 0, server now ms, { field, value, ... } of the current record or {} }.
-- Audit: `reclaimed` (attempt = the new attempt).

local key, channel, grace = ARGV[1], ARGV[2], tonumber(ARGV[3])
local attempt, token, lease_ms, reason = tonumber(ARGV[4]), ARGV[5], tonumber(ARGV[6]), ARGV[7]

local now = now_ms()
local rec, stored_flat = load_record(KEYS[1])
if not open_at(rec, attempt, now) then return { 0, now, stored_flat } end

local stored = rec
rec = copy(stored)
rec.state = 'in_flight'
rec.attempt = attempt + 1
rec.leaseOwner = token
rec.leaseUntil = now + lease_ms
rec.result = nil
rec.providerRef = nil
rec.reason = nil
rec.expiresAt = nil
rec.tombstoneUntil = nil
rec.overrideFingerprint = nil
rec.overrideAttempt = nil
rec.updatedAt = now
save_record(KEYS[1], stored, rec)
-- What the previous attempt left behind is kept, as in the SQL stores: the new attempt overwrites it.
local null = function(value) if value == nil then return cjson.null end return value end
append_audit(rec, 'reclaimed', rec.attempt, 'executor', cjson.encode({
  reason = reason, token = token, previousAttempt = attempt, leaseUntil = rec.leaseUntil,
  previous = { state = stored.state, reason = null(stored.reason), result = null(stored.result),
    providerRef = null(stored.providerRef), leaseOwner = null(stored.leaseOwner),
    leaseUntil = null(stored.leaseUntil) } }), now)
place(key, rec, stored, grace)
notify(channel, rec)
return fenced_reply(true, now, rec)
