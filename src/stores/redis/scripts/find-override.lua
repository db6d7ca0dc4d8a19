-- find-override: the request with this id in one bucket, if it is there (approveOverride only knows
-- the id, so it asks every bucket).
--
-- KEYS: 1 the bucket's override requests.
-- ARGV: 1 request id.
-- Returns: the request as JSON, or nil.

return redis.call('HGET', KEYS[1], ARGV[1])
