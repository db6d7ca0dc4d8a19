-- resolve: a reconciler or a person settles an unknown (or lapsed in_flight) record at exactly
-- `attempt`.
--
-- KEYS: the per-record layout (lib.lua).
-- ARGV: 1 key, 2 channel, 3 grace ms, 4 attempt, 5 state (succeeded, failed or released),
--       6 result (optional), 7 providerRef (optional), 8 reason, 9 actor, 10 ttl ms, 11 tombstone ms,
--       12 evidence (optional JSON text), 13 provider-key evidence left (optional: unchanged),
--       14 new-generation evidence JSON (optional; only a `released` resolution takes it: the next
--       attempt gets a new provider key).
-- Optional values are '' for null or '=' .. value.
-- Returns: { 1 if applied else 0, server now ms, { field, value, ... } of the current record or {} }.
-- Audit: `resolved` (actor = the resolver, reason in detail), plus `rekeyed` for a new generation.

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
local key_evidence, new_generation = opt(ARGV[13]), opt(ARGV[14])
-- Only a released resolution takes a new generation.
apply_key_evidence(rec, stored, new_generation ~= nil and state == 'released', key_evidence, now)
save_record(KEYS[1], stored, rec)
-- The same evidence the SQL stores keep: the resolution and what the unknown attempt left behind.
local null = function(value) if value == nil then return cjson.null end return value end
append_audit(rec, 'resolved', attempt, actor, cjson.encode({
  state = state, reason = reason, result = null(rec.result), providerRef = null(rec.providerRef),
  previous = { state = stored.state, reason = null(stored.reason), result = null(stored.result),
    providerRef = null(stored.providerRef), leaseOwner = null(stored.leaseOwner),
    leaseUntil = null(stored.leaseUntil), keyEvidence = null(stored.keyEvidence) },
  evidence = opt(ARGV[12]) and cjson.decode(opt(ARGV[12])) or cjson.null }), now)
if rec.generation ~= stored.generation then
  append_audit(rec, 'rekeyed', attempt, actor, rekey_detail(stored, rec, new_generation, { reason = reason }),
    now)
end
place(key, rec, stored, grace)
notify(channel, rec)
return fenced_reply(true, now, rec)
