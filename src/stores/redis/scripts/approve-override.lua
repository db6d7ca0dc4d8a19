-- approveOverride: a second identity approves a pending request. Refused when the approver is the
-- requester, when the request is not pending, or when the key is no longer the settled record of the
-- generation and attempt the request was made for. On success the record accepts the request's
-- fingerprint once, at its current attempt (decide.ts overrideApplies).
--
-- KEYS: the per-record layout (lib.lua) of the request's key.
-- ARGV: 1 key, 2 channel, 3 grace ms, 4 request id, 5 approved by.
-- Returns: { 1, the request as JSON } or { 0, why it was refused }.
-- Audit: `override_approved` (actor = the approver).

local key = ARGV[1]
local id, approved_by = ARGV[4], ARGV[5]

local now = now_ms()
local stored = redis.call('HGET', KEYS[10], id)
if not stored then return { 0, 'there is no override request ' .. id } end
local request = cjson.decode(stored)
if request.key ~= key then return { 0, 'override request ' .. id .. ' is for another key' } end
if request.status ~= 'pending' then return { 0, 'override request ' .. id .. ' is already ' .. request.status } end
if request.requestedBy == approved_by then
  return { 0, 'override request ' .. id .. ' was made by ' .. approved_by .. '; another identity must approve it' }
end
local rec = load_record(KEYS[1])
if rec == nil then return { 0, 'the key of override request ' .. id .. ' has no record any more' } end
if rec.generation ~= request.generation then
  return { 0, 'the key moved from generation ' .. int(request.generation) .. ' to ' .. int(rec.generation) ..
    ' since override request ' .. id .. ' was made; request it again' }
end
if request.attempt ~= nil and rec.attempt ~= request.attempt then
  return { 0, 'the key moved from attempt ' .. int(request.attempt) .. ' to ' .. int(rec.attempt) ..
    ' since override request ' .. id .. ' was made; request it again' }
end
if not (rec.state == 'succeeded' or rec.state == 'failed') then
  return { 0, 'the key is ' .. rec.state .. '; only a succeeded or failed key can be overridden' }
end
if rec.expiresAt ~= nil and now >= rec.expiresAt then
  return { 0, 'the key is past its TTL and only its tombstone remains; a tombstone cannot be overridden' }
end

request.status = 'approved'
request.approvedBy = approved_by
request.approvedAt = now
local encoded = cjson.encode(request)
redis.call('HSET', KEYS[10], id, encoded)
redis.call('HSET', KEYS[1], 'overrideFingerprint', request.fingerprint, 'overrideAttempt', int(rec.attempt))
append_audit(rec, 'override_approved', rec.attempt, approved_by, cjson.encode({
  id = id, fingerprint = request.fingerprint, generation = rec.generation }), now)
return { 1, encoded }
