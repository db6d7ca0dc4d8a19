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
  'leaseUntil', 'result', 'request', 'providerRef', 'reason', 'overrideFingerprint', 'createdAt', 'updatedAt',
  'expiresAt', 'tombstoneUntil' }
local NUMERIC = { attempt = true, generation = true, leaseUntil = true, createdAt = true,
  updatedAt = true, expiresAt = true, tombstoneUntil = true }
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

local function load_record(name)
  local flat = redis.call('HGETALL', name)
  if #flat == 0 then return nil end
  local rec = {}
  for i = 1, #flat, 2 do
    local field, value = flat[i], flat[i + 1]
    if NUMERIC[field] then rec[field] = tonumber(value) else rec[field] = value end
  end
  return rec
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

-- Rewrites the whole hash (dropping its TTL); `place` sets the TTL again.
local function save_record(name, rec)
  redis.call('DEL', name)
  redis.call('HSET', name, unpack(flat_record(rec)))
end

local function lease_lapsed(rec, now)
  return rec.state == 'in_flight' and rec.leaseUntil ~= nil and now >= rec.leaseUntil
end

-- Audit ids are the entry's position in the key's list, so they increase per key for as long as the
-- list lives (it expires with the record's tombstone).
local function append_audit(audit_key, event, attempt, actor, detail, at)
  local id = redis.call('LLEN', audit_key) + 1
  redis.call('RPUSH', audit_key, cjson.encode({
    id = id, at = at, event = event, attempt = attempt, actor = actor, detail = detail }))
  return id
end

local function state_index(state)
  for i, name in ipairs(STATES) do
    if name == state then return KEYS[2 + i] end
  end
  error('unknown record state ' .. tostring(state))
end

-- Keeps the bucket's indexes and the record's expiry in step with the record. A record with a
-- tombstone end expires (with its audit list) `grace` ms after it, so gc, which deletes at the
-- tombstone's end, has time to run first; in_flight and unknown records never expire.
local function place(key, rec, old_state, grace)
  if old_state ~= nil and old_state ~= rec.state then redis.call('ZREM', state_index(old_state), key) end
  redis.call('ZADD', state_index(rec.state), rec.updatedAt, key)
  if rec.tombstoneUntil ~= nil then
    redis.call('ZADD', KEYS[8], rec.expiresAt, key)
    redis.call('ZADD', KEYS[9], rec.tombstoneUntil, key)
    local at = int(rec.tombstoneUntil + grace)
    redis.call('PEXPIREAT', KEYS[1], at)
    redis.call('PEXPIREAT', KEYS[2], at)
  else
    redis.call('ZREM', KEYS[8], key)
    redis.call('ZREM', KEYS[9], key)
    redis.call('PERSIST', KEYS[1])
    redis.call('PERSIST', KEYS[2])
  end
end

-- Wakes waiters on the key (store.waitForChange).
local function notify(channel, rec)
  redis.call('PUBLISH', channel, rec.state .. ' ' .. int(rec.attempt))
end

local function fenced_reply(ok, now, rec)
  return { ok and 1 or 0, now, flat_record(rec) }
end

-- Unknown or lapsed in_flight at exactly `attempt`: what markUnknown, reclaim and resolve act on.
local function open_at(rec, attempt, now)
  return rec ~= nil and rec.attempt == attempt
    and (rec.state == 'unknown' or lease_lapsed(rec, now))
end

