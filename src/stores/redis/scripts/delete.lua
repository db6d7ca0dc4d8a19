-- delete: records of one bucket past their tombstone are deleted with their override requests. Their
-- audit log stays: it has a retention of its own (lib.lua append_audit), as in the SQL stores. Records Redis already expired by themselves (a grace period after the tombstone) only
-- leave index entries behind; those are removed and counted too.
--
-- KEYS: 1 deletion index, 2 compaction index, 3..7 per-state indexes (STATES order), 8 the bucket's
--       override requests.
-- ARGV: 1 bucket base ('<prefix>{<bucket>}:'), 2 at most this many index entries.
-- Returns: { records deleted, index entries inspected }.

local base, limit = ARGV[1], tonumber(ARGV[2])
local now = now_ms()
local deleted, gone = 0, {}
local members = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, limit)
for _, member in ipairs(members) do
  local name = base .. 'r:' .. member
  local until_ = redis.call('HGET', name, 'tombstoneUntil')
  if until_ and tonumber(until_) > now then
    -- The record moved on; keep indexing it at its real tombstone end.
    redis.call('ZADD', KEYS[1], until_, member)
  elseif redis.call('EXISTS', name) == 1 and not until_ then
    -- Reserved again (no tombstone): not ours to delete.
    redis.call('ZREM', KEYS[1], member)
  else
    redis.call('DEL', name)
    redis.call('ZREM', KEYS[1], member)
    redis.call('ZREM', KEYS[2], member)
    for i = 1, #STATES do redis.call('ZREM', KEYS[2 + i], member) end
    gone[member] = true
    deleted = deleted + 1
  end
end
if deleted > 0 then
  local entries = redis.call('HGETALL', KEYS[8])
  for i = 1, #entries, 2 do
    if gone[cjson.decode(entries[i + 1]).key] then redis.call('HDEL', KEYS[8], entries[i]) end
  end
end
return { deleted, #members }
