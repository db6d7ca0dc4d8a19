-- requestOverride: records a request to let a different payload reuse a succeeded or failed key.
-- Refused for a missing, in-flight, unknown, released or expired key, for the payload the key already
-- holds, and for an id in use.
--
-- KEYS: the per-record layout (lib.lua).
-- ARGV: 1 key, 2 channel, 3 grace ms, 4 request id, 5 fingerprint, 6 requested by, 7 reason,
--       8 proposed payload (canonical JSON; '' or '=' .. text).
-- Returns: { 1, the request as JSON } or { 0, why it was refused }.
-- Audit: `override_requested` (actor = the requester).

local key = ARGV[1]
local id, fingerprint, requested_by, reason, payload = ARGV[4], ARGV[5], ARGV[6], ARGV[7], opt(ARGV[8])

local now = now_ms()
local rec = load_record(KEYS[1])
if rec == nil then
  return { 0, 'there is no record for this key; only a succeeded or failed key can be overridden' }
end
if not (rec.state == 'succeeded' or rec.state == 'failed') then
  return { 0, 'the key is ' .. rec.state .. '; only a succeeded or failed key can be overridden' }
end
if rec.expiresAt ~= nil and now >= rec.expiresAt then
  return { 0, 'the key is past its TTL and only its tombstone remains; a tombstone cannot be overridden' }
end
if rec.fingerprint == fingerprint then
  return { 0, 'the key already holds this payload; no override is needed' }
end
if redis.call('HEXISTS', KEYS[10], id) == 1 then
  return { 0, 'an override request with id ' .. id .. ' already exists' }
end

local request = cjson.encode({
  id = id, key = key, fingerprint = fingerprint, generation = rec.generation, attempt = rec.attempt,
  payload = payload, requestedBy = requested_by,
  reason = reason, requestedAt = now, status = 'pending' })
redis.call('HSET', KEYS[10], id, request)
append_audit(rec, 'override_requested', rec.attempt, requested_by, cjson.encode({
  id = id, fingerprint = fingerprint, generation = rec.generation, reason = reason }), now)
return { 1, request }
