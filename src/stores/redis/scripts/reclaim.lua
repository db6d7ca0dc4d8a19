-- reclaim: an unknown (or lapsed in_flight) record at exactly `attempt` gets the next attempt, held by
-- the caller: in the same generation (createdAt stays: the provider's key retention counts from it), or,
-- with a rekey, in the next one (a new provider key: evidence reset, createdAt restarts). A rekey applies
-- only to a burned key (mayRekey in src/machine/provider-key-evidence.ts).
--
-- KEYS: the per-record layout (lib.lua).
-- ARGV: 1 key, 2 channel, 3 grace ms, 4 attempt seen, 5 new lease token, 6 lease ms, 7 reason,
--       8 evidence the new attempt starts with (optional: unchanged), 9 rekey evidence JSON (optional).
-- Returns: { 1 if claimed else 0, server now ms, { field, value, ... } of the current record or {} }.
-- Audit: `reclaimed`, or `rekeyed` for a new generation (attempt = the new attempt).

local key, channel, grace = ARGV[1], ARGV[2], tonumber(ARGV[3])
local attempt, token, lease_ms, reason = tonumber(ARGV[4]), ARGV[5], tonumber(ARGV[6]), ARGV[7]

local now = now_ms()
local rec, stored_flat = load_record(KEYS[1])
local evidence, rekey = opt(ARGV[8]), opt(ARGV[9])
if not open_at(rec, attempt, now) then return { 0, now, stored_flat } end
if rekey ~= nil and rec.keyEvidence ~= 'burned' then return { 0, now, stored_flat } end

local stored = rec
rec = copy(stored)
rec.state = 'in_flight'
rec.attempt = attempt + 1
apply_key_evidence(rec, stored, rekey ~= nil, evidence, now)
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
local detail = { reason = reason, token = token, previousAttempt = attempt, leaseUntil = rec.leaseUntil,
  previous = { state = stored.state, reason = null(stored.reason), result = null(stored.result),
    providerRef = null(stored.providerRef), leaseOwner = null(stored.leaseOwner),
    leaseUntil = null(stored.leaseUntil), keyEvidence = null(stored.keyEvidence) } }
if rekey ~= nil then
  append_audit(rec, 'rekeyed', rec.attempt, 'executor', rekey_detail(stored, rec, rekey, detail), now)
else
  append_audit(rec, 'reclaimed', rec.attempt, 'executor', cjson.encode(detail), now)
end
place(key, rec, stored, grace)
notify(channel, rec)
return fenced_reply(true, now, rec)
