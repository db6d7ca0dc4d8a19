-- audit: one key's audit entries, oldest first.
--
-- KEYS: 1 audit list.
-- Returns: { entry JSON, ... }.

return redis.call('LRANGE', KEYS[1], 0, -1)
