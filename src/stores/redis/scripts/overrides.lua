-- overrides: the override requests of one bucket, of one key or of all its keys.
--
-- KEYS: 1 the bucket's override requests.
-- ARGV: 1 key ('' for every key).
-- Returns: { request JSON, ... }.

local out = {}
local values = redis.call('HVALS', KEYS[1])
for _, value in ipairs(values) do
  if ARGV[1] == '' or cjson.decode(value).key == ARGV[1] then out[#out + 1] = value end
end
return out
