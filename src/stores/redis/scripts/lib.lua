-- retrysafe: helpers shared by every script. The loader prepends this file to each script before
-- SCRIPT LOAD, so every transition is still one script run by one EVALSHA, while the record encoding
-- lives in one place.
--
-- KEYS of every per-record script (layout.ts `recordKeys().scriptKeys`), all under one hash tag:
--   1 record hash, 2 audit list, 3..7 per-state indexes (STATES order), 8 compaction index,
--   9 deletion index, 10 the bucket's override requests.
-- ARGV of every per-record script starts with: 1 key, 2 change channel, 3 expiry grace ms.
--
-- Records are hashes whose absent fields are null. Times are milliseconds on the server's clock.

local FIELDS = { 'key', 'operation', 'fingerprint', 'state', 'attempt', 'generation', 'leaseOwner',
  'leaseUntil', 'result', 'request', 'keyFields', 'providerRef', 'reason', 'overrideFingerprint', 'createdAt',
  'updatedAt', 'expiresAt', 'tombstoneUntil', 'overrideAttempt', 'keyEvidence' }
local NUMERIC = { attempt = true, generation = true, leaseUntil = true, createdAt = true,
  updatedAt = true, expiresAt = true, tombstoneUntil = true, overrideAttempt = true }
local STATES = { 'in_flight', 'succeeded', 'failed', 'unknown', 'released' }
local SETTLED = { succeeded = true, failed = true, released = true }

-- The server's clock: a client whose clock is off can neither shorten nor lengthen a lease.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function int(n)
  return string.format('%d', n)
end

-- Nullable strings arrive as '' (null) or '=' .. value.
local function opt(arg)
  if arg == nil or arg == '' then return nil end
  return string.sub(arg, 2)
end

-- The record as a table (nil when absent) and the hash as read, which a script that changes nothing
-- returns as it is (the client ignores fields it does not know).
local function load_record(name)
  local flat = redis.call('HGETALL', name)
  if #flat == 0 then return nil, flat end
  local rec = {}
  for i = 1, #flat, 2 do
    local field, value = flat[i], flat[i + 1]
    if NUMERIC[field] then rec[field] = tonumber(value) else rec[field] = value end
  end
  return rec, flat
end

local function flat_record(rec)
  local out = {}
  if rec == nil then return out end
  for _, field in ipairs(FIELDS) do
    local value = rec[field]
    if value ~= nil then
      out[#out + 1] = field
      if NUMERIC[field] then out[#out + 1] = int(value) else out[#out + 1] = value end
    end
  end
  return out
end

-- A copy to change, so `save_record` can write only what differs from what was loaded.
local function copy(rec)
  local out = {}
  for field, value in pairs(rec) do out[field] = value end
  return out
end

-- Writes the fields of `rec` that differ from `stored` (nil for a new hash) and deletes the ones it
-- dropped: one HSET and at most one HDEL, whatever the record's size. The hash keeps its TTL; `place`
-- sets or removes it.
local function save_record(name, stored, rec)
  local set, drop = {}, {}
  for _, field in ipairs(FIELDS) do
    local value, before = rec[field], stored and stored[field]
    if value == nil then
      if before ~= nil then drop[#drop + 1] = field end
    elseif value ~= before then
      set[#set + 1] = field
      if NUMERIC[field] then set[#set + 1] = int(value) else set[#set + 1] = value end
    end
  end
  if #set > 0 then redis.call('HSET', name, unpack(set)) end
  if #drop > 0 then redis.call('HDEL', name, unpack(drop)) end
end

-- Mirrors isLapsed (src/machine/lapse.ts): in flight past its lease end, or with no lease end at all
-- (nobody can hold such a record).
local function lease_lapsed(rec, now)
  return rec.state == 'in_flight' and (rec.leaseUntil == nil or now >= rec.leaseUntil)
end

-- Mirrors holds (src/machine/transitions.ts): the fence of every holder's write.
local function holds(rec, attempt, token)
  return rec ~= nil and rec.state == 'in_flight' and rec.attempt == attempt and rec.leaseOwner == token
end

-- The audit log keeps what a record cannot show: refused late writes, unknown outcomes, reclaims,
-- resolutions and overrides (the routine reserve and settle are the record itself). Entry ids are
-- positions in the key's list, assigned when read. The list has a retention of its own, apart from the
-- record's: it outlives gc and the record's expiry (as the SQL stores' audit tables do). The last ARGV of
-- every per-record script is that retention in ms: '' keeps the list for ever (the default), a number
-- makes the list expire that long after its latest entry.
local function append_audit(rec, event, attempt, actor, detail, at)
  redis.call('RPUSH', KEYS[2], cjson.encode({ at = at, event = event, attempt = attempt, actor = actor,
    detail = detail }))
  local retention = tonumber(ARGV[#ARGV])
  if retention ~= nil then redis.call('PEXPIRE', KEYS[2], int(retention)) end
end

-- The per-state index of `state` among KEYS, the five of them starting at KEYS[first] in STATES order.
local function state_key(state, first)
  for i, name in ipairs(STATES) do
    if name == state then return KEYS[first - 1 + i] end
  end
  error('unknown record state ' .. tostring(state))
end

local function state_index(state)
  return state_key(state, 3)
end

-- Keeps the bucket's indexes and the record's expiry in step with the record, touching only what
-- changed since `stored` (nil for a new hash). A record with a tombstone end expires `grace` ms after it
-- (its audit list keeps its own retention), so gc, which deletes at the tombstone's end, has time to run first;
-- in_flight and unknown records never expire. gc re-reads every record it finds in an index, so an
-- entry left behind by a record Redis expired by itself is harmless.
local function place(key, rec, stored, grace)
  local old_state = stored and stored.state
  if old_state ~= nil and old_state ~= rec.state then redis.call('ZREM', state_index(old_state), key) end
  redis.call('ZADD', state_index(rec.state), rec.updatedAt, key)
  local old_tombstone = stored and stored.tombstoneUntil
  if rec.tombstoneUntil ~= nil then
    if rec.expiresAt ~= (stored and stored.expiresAt) then redis.call('ZADD', KEYS[8], rec.expiresAt, key) end
    if rec.tombstoneUntil ~= old_tombstone then
      redis.call('ZADD', KEYS[9], rec.tombstoneUntil, key)
      local at = int(rec.tombstoneUntil + grace)
      redis.call('PEXPIREAT', KEYS[1], at)
    end
  elseif old_tombstone ~= nil then
    redis.call('ZREM', KEYS[8], key)
    redis.call('ZREM', KEYS[9], key)
    redis.call('PERSIST', KEYS[1])
  end
end

-- Wakes waiters on the key (store.waitForChange).
local function notify(channel, rec)
  redis.call('PUBLISH', channel, rec.state .. ' ' .. int(rec.attempt))
end

local function fenced_reply(ok, now, rec)
  return { ok and 1 or 0, now, flat_record(rec) }
end

-- The `rekeyed` audit detail (the same shape in every store): the generations and the evidence, given
-- as JSON text by the executor (src/machine/provider-key-evidence.ts decides when a rekey is due).
local function rekey_detail(stored, rec, evidence_json, base)
  base.fromGeneration = stored.generation
  base.toGeneration = rec.generation
  base.keyEvidence = stored.keyEvidence
  base.evidence = cjson.decode(evidence_json)
  return cjson.encode(base)
end

-- The provider-key part of reclaimedRecord and endedRecord (src/machine/transitions.ts): a new
-- generation starts with no evidence and a new createdAt; otherwise the evidence given replaces the old.
local function apply_key_evidence(rec, stored, new_generation, evidence, now)
  if new_generation then
    rec.generation = stored.generation + 1
    rec.keyEvidence = nil
    rec.createdAt = now
  elseif evidence ~= nil then
    rec.keyEvidence = evidence
  end
end

-- Mirrors isUnsettled (src/machine/lapse.ts): unknown or lapsed in_flight at exactly `attempt`, what
-- reclaim, resolve and requestResolution act on.
local function open_at(rec, attempt, now)
  return rec ~= nil and rec.attempt == attempt
    and (rec.state == 'unknown' or lease_lapsed(rec, now))
end


-- An override refusal as a script reply: { 0, the code and its fields as JSON } (OverrideRefusal in
-- src/machine/overrides.ts; src/stores/refusals.ts gives the words).
local function refusal(fields)
  return { 0, cjson.encode(fields) }
end

-- Mirrors overrideRefusal (src/machine/overrides.ts), in its order: nil when `rec` of `key` can take an
-- override to `fingerprint` at `now`, else the refusal's fields.
local function override_refusal(key, rec, fingerprint, now)
  if rec == nil then return { code = 'no_record', key = key } end
  if not (rec.state == 'succeeded' or rec.state == 'failed') then
    return { code = 'not_settled', key = key, state = rec.state }
  end
  if rec.fingerprint == fingerprint then return { code = 'same_payload', key = key } end
  if rec.expiresAt ~= nil and now >= rec.expiresAt then return { code = 'tombstone', key = key } end
  return nil
end
