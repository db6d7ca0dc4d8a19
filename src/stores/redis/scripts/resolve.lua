-- resolve: a reconciler or a person settles an unknown (or lapsed in_flight) record at exactly
-- `attempt`.
--
-- KEYS: the per-record layout (lib.lua).
-- ARGV: 1 key, 2 channel, 3 grace ms, 4 attempt, 5 state (succeeded, failed or released),
--       6 result (optional), 7 providerRef (optional), 8 reason, 9 actor, 10 ttl ms, 11 tombstone ms,
--       12 evidence (optional JSON text).
-- Optional values are '' for null or '=' .. value.
-- Returns: { 1 if applied else 0, server now ms, { field, value, ... } of the current record or {} }.
-- Audit: `resolved` (actor = the resolver, reason in detail).

local key, channel, grace = ARGV[1], ARGV[2], tonumber(ARGV[3])
local attempt, state, reason, actor = tonumber(ARGV[4]), ARGV[5], ARGV[8], ARGV[9]

local now = now_ms()
local rec, stored_flat = load_record(KEYS[1])
if not open_at(rec, attempt, now) then return { 0, now, stored_flat } end

local stored = rec
rec = copy(stored)
rec.state = state
rec.result = opt(ARGV[6])
rec.providerRef = opt(ARGV[7])
rec.reason = reason
rec.leaseOwner = nil
rec.leaseUntil = nil
rec.updatedAt = now
rec.expiresAt = now + tonumber(ARGV[10])
rec.tombstoneUntil = rec.expiresAt + tonumber(ARGV[11])
save_record(KEYS[1], stored, rec)
-- The same evidence the SQL stores keep: the resolution and what the unknown attempt left behind.
local null = function(value) if value == nil then return cjson.null end return value end
append_audit(rec, 'resolved', attempt, actor, cjson.encode({
  state = state, reason = reason, result = null(rec.result), providerRef = null(rec.providerRef),
  previous = { state = stored.state, reason = null(stored.reason), result = null(stored.result),
    providerRef = null(stored.providerRef), leaseOwner = null(stored.leaseOwner),
    leaseUntil = null(stored.leaseUntil) },
  evidence = opt(ARGV[12]) and cjson.decode(opt(ARGV[12])) or cjson.null }), now)
place(key, rec, stored, grace)
notify(channel, rec)
return fenced_reply(true, now, rec)
