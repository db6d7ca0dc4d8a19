-- begin: reads the key and, when the conflict table (src/machine/decide.ts) says "reserve", claims it
-- for a new attempt in the same step. Mirrors `decide` and `reservedRecord` case by case.
--
-- KEYS: the per-record layout (lib.lua).
-- ARGV: 1 key, 2 channel, 3 grace ms, 4 operation, 5 fingerprint, 6 retryFailed ('1' or '0'),
--       7 lease token, 8 lease ms, 9 request (nullable: '' or '=' .. text), 10 key fields (nullable).
-- Returns: { 1 if reserved else 0, server now ms, { field, value, ... } of the record after the call }.
-- Audit: an override reservation writes `override_used`; a routine one writes nothing (the record is its trail).

local key, grace = ARGV[1], tonumber(ARGV[3])
local operation, fingerprint, retry_failed = ARGV[4], ARGV[5], ARGV[6] == '1'
local token, lease_ms, request, key_fields = ARGV[7], tonumber(ARGV[8]), opt(ARGV[9]), opt(ARGV[10])

local now = now_ms()
local rec, stored_flat = load_record(KEYS[1])

-- The decision: nil (leave the record as it is) or the attempt, generation and kind of the reservation.
local attempt, generation, fresh, override
if rec == nil or (SETTLED[rec.state] and rec.tombstoneUntil ~= nil and now >= rec.tombstoneUntil) then
  -- None, or past its tombstone: a new logical write. The attempt continues while the hash exists.
  attempt, generation, fresh, override = (rec and rec.attempt or 0) + 1, (rec and rec.generation or 1), true, false
else
  local same = rec.fingerprint == fingerprint
  if rec.state == 'released' then
    if same then attempt, generation, fresh, override = rec.attempt + 1, rec.generation, false, false end
  elseif rec.state == 'succeeded' or rec.state == 'failed' then
    local expired = rec.expiresAt ~= nil and now >= rec.expiresAt
    if not expired then
      if not same then
        -- An approval applies only at the attempt it was approved against (decide.ts overrideApplies).
        if rec.overrideFingerprint == fingerprint and rec.overrideAttempt == rec.attempt then
          attempt, generation, fresh, override = rec.attempt + 1, rec.generation + 1, true, true
        end
      elseif rec.state == 'failed' and retry_failed then
        attempt, generation, fresh, override = rec.attempt + 1, rec.generation, false, false
      end
    end
  end
  -- in_flight (live or lapsed) and unknown never reserve here: wait, reconcile or mismatch.
end

if attempt == nil then return { 0, now, stored_flat } end

local claim = {
  key = key,
  operation = operation,
  fingerprint = fingerprint,
  state = 'in_flight',
  attempt = attempt,
  generation = generation,
  leaseOwner = token,
  leaseUntil = now + lease_ms,
  request = request,
  keyFields = key_fields,
  createdAt = now,
  updatedAt = now,
}
if rec ~= nil then
  -- No approval survives a reservation: the record moved on (decide.ts reservedRecord).
  if not fresh then
    claim.createdAt = rec.createdAt
    -- Provider-key evidence is per generation (evidenceOnReserve in provider-key-evidence.ts).
    claim.keyEvidence = rec.keyEvidence
  end
end
save_record(KEYS[1], rec, claim)

if override then
  -- Every approved request for this fingerprint and generation is used (as in SQLite and PostgreSQL):
  -- they approved the same change at the same attempt, and the attempt this reservation opens lapses them
  -- all; the audit entry names the first.
  local used = nil
  local entries = redis.call('HGETALL', KEYS[10])
  for i = 1, #entries, 2 do
    local request = cjson.decode(entries[i + 1])
    if request.key == key and request.fingerprint == fingerprint
      and request.status == 'approved' and request.generation == rec.generation then
      request.status = 'used'
      redis.call('HSET', KEYS[10], entries[i], cjson.encode(request))
      used = used or request.id
    end
  end
  append_audit(claim, 'override_used', attempt, 'executor', cjson.encode({
    id = used, fingerprint = fingerprint, previousFingerprint = rec.fingerprint, generation = generation }),
    now)
end
place(key, claim, rec, grace)
return { 1, now, flat_record(claim) }
