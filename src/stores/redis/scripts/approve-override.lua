-- approveOverride: a second identity approves a pending request. Refused when the approver is the
-- requester, when the request is not pending, or when the key is no longer the settled record of the
-- generation and attempt the request was made for: mirrors approvalRefusal (src/machine/overrides.ts),
-- in its order. On success the record accepts the request's
-- fingerprint once, at its current attempt (decide.ts overrideApplies).
--
-- KEYS: the per-record layout (lib.lua) of the request's key.
-- ARGV: 1 key, 2 channel, 3 grace ms, 4 request id, 5 approved by.
-- Returns: { 1, the request as JSON } or { 0, the refusal (code and fields) as JSON }.
-- Audit: `override_approved` (actor = the approver).

local key = ARGV[1]
local id, approved_by = ARGV[4], ARGV[5]

local now = now_ms()
local stored = redis.call('HGET', KEYS[10], id)
local request = stored and cjson.decode(stored)
if not request or request.key ~= key then return refusal({ code = 'no_request', id = id }) end
if request.status ~= 'pending' then return refusal({ code = 'not_pending', id = id, status = request.status }) end
if request.requestedBy == approved_by then
  return refusal({ code = 'same_approver', id = id, requestedBy = request.requestedBy })
end
local rec = load_record(KEYS[1])
if rec == nil then return refusal({ code = 'no_record', key = key }) end
-- Requests from before the layout kept their attempt carry none and are bound by generation only.
local requested_attempt = request.attempt or 0
if rec.generation ~= request.generation or (requested_attempt ~= 0 and rec.attempt ~= requested_attempt) then
  return refusal({ code = 'moved_on', id = id, key = key,
    requested = { generation = request.generation, attempt = requested_attempt },
    now = { generation = rec.generation, attempt = rec.attempt } })
end
local refused = override_refusal(key, rec, request.fingerprint, now)
if refused ~= nil then return refusal(refused) end

request.status = 'approved'
request.approvedBy = approved_by
request.approvedAt = now
local encoded = cjson.encode(request)
redis.call('HSET', KEYS[10], id, encoded)
redis.call('HSET', KEYS[1], 'overrideFingerprint', request.fingerprint, 'overrideAttempt', int(rec.attempt))
append_audit(rec, 'override_approved', rec.attempt, approved_by, cjson.encode({
  id = id, fingerprint = request.fingerprint, generation = rec.generation }), now)
return { 1, encoded }
