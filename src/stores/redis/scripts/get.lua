-- get: one record, as it is stored.
--
-- KEYS: 1 record hash.
-- Returns: { field, value, ... } ({} when there is no record).

return redis.call('HGETALL', KEYS[1])
