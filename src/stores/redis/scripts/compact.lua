-- compact: records of one bucket past their TTL lose their result and request, and keep the rest (fingerprint,
-- state, reason, providerRef): a tombstone until `tombstoneUntil`.
--
-- KEYS: 1 the bucket's compaction index.
-- ARGV: 1 bucket base ('<prefix>{<bucket>}:'), 2 at most this many index entries.
-- Returns: { records compacted, index entries inspected }.

local base, limit = ARGV[1], tonumber(ARGV[2])
local now = now_ms()
local compacted = 0
local members = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, limit)
for _, member in ipairs(members) do
  local name = base .. 'r:' .. member
  local fields = redis.call('HMGET', name, 'state', 'expiresAt')
  if fields[1] and SETTLED[fields[1]] and fields[2] and tonumber(fields[2]) <= now then
    redis.call('HDEL', name, 'result', 'request')
    compacted = compacted + 1
  end
  redis.call('ZREM', KEYS[1], member)
end
return { compacted, #members }
