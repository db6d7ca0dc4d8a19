-- requestOverride: records a request to let a different payload reuse a succeeded or failed key.
-- Refused for a missing, in-flight, unknown, released or expired key, for the payload the key already
-- holds (override_refusal in lib.lua, mirroring overrideRefusal in src/machine/overrides.ts), and for an
-- id in use.
--
-- KEYS: the per-record layout (lib.lua).
-- ARGV: 1 key, 2 channel, 3 grace ms, 4 request id, 5 fingerprint, 6 requested by, 7 reason,
--       8 proposed payload (canonical JSON; '' or '=' .. text).
-- Returns: { 1, the request as JSON } or { 0, the refusal (code and fields) as JSON }.
-- Audit: `override_requested` (actor = the requester).

local key = ARGV[1]
local id, fingerprint, requested_by, reason, payload = ARGV[4], ARGV[5], ARGV[6], ARGV[7], opt(ARGV[8])

local now = now_ms()
local rec = load_record(KEYS[1])
local refused = override_refusal(key, rec, fingerprint, now)
if refused ~= nil then return refusal(refused) end
if redis.call('HEXISTS', KEYS[10], id) == 1 then return refusal({ code = 'duplicate_request', id = id }) end

local request = cjson.encode({
  id = id, key = key, fingerprint = fingerprint, generation = rec.generation, attempt = rec.attempt,
  payload = payload, requestedBy = requested_by,
  reason = reason, requestedAt = now, status = 'pending' })
redis.call('HSET', KEYS[10], id, request)
append_audit(rec, 'override_requested', rec.attempt, requested_by, cjson.encode({
  id = id, fingerprint = fingerprint, generation = rec.generation, reason = reason }), now)
return { 1, request }
