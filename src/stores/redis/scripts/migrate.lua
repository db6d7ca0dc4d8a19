-- migrate: records the key layout version and bucket count the first time, and returns what is
-- recorded, so the store can refuse data laid out by another version.
--
-- KEYS: 1 the store's meta hash.
-- ARGV: 1 layout version, 2 bucket count.
-- Returns: { recorded layout version, recorded bucket count }.

local now = now_ms()
redis.call('HSETNX', KEYS[1], 'layout', ARGV[1])
redis.call('HSETNX', KEYS[1], 'buckets', ARGV[2])
redis.call('HSETNX', KEYS[1], 'createdAt', int(now))
return redis.call('HMGET', KEYS[1], 'layout', 'buckets')
