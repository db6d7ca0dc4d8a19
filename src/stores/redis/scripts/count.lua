-- count: one bucket's records per requested state, for the store to sum across buckets. Per state the
-- index answers alone (ZCOUNT, and its first entry for the oldest) unless the caller filters or groups
-- by operation or asks for lapsed in-flight records: then the script reads those fields of each indexed
-- record here, on the server, and sends back only numbers.
--
-- KEYS: 1..5 the bucket's per-state indexes (STATES order in lib.lua).
-- ARGV: 1 bucket base, 2 operation ('' for any), 3 updated before (exclusive, '' for no bound),
--       4 '1' to count per operation, 5 lapsed at ('' for no lapsed count), then the states.
-- Returns: per requested state { count, oldest score ('' if none), oldest key, lapsed, { op, n, ... },
--          oldest operation }.

local base, operation, before, per_operation, lapsed_at = ARGV[1], ARGV[2], ARGV[3], ARGV[4] == '1', ARGV[5]
local max = '+inf'
if before ~= '' then max = '(' .. before end
local lapsed_bound = tonumber(lapsed_at)

local function index_of(state)
  return state_key(state, 1)
end

local out = {}
for i = 6, #ARGV do
  local state = ARGV[i]
  local index = index_of(state)
  local wants_lapsed = state == 'in_flight' and lapsed_bound ~= nil
  if operation == '' and not per_operation and not wants_lapsed then
    local first = redis.call('ZRANGEBYSCORE', index, '-inf', max, 'WITHSCORES', 'LIMIT', 0, 1)
    local oldest_operation = ''
    if first[1] then oldest_operation = redis.call('HGET', base .. 'r:' .. first[1], 'operation') or '' end
    out[#out + 1] = { redis.call('ZCOUNT', index, '-inf', max), first[2] or '', first[1] or '', 0, {}, oldest_operation }
  else
    local count, lapsed, oldest_score, oldest_key, oldest_operation = 0, 0, '', '', ''
    local by_operation, names = {}, {}
    local entries = redis.call('ZRANGEBYSCORE', index, '-inf', max, 'WITHSCORES')
    for j = 1, #entries, 2 do
      local member = entries[j]
      local fields = redis.call('HMGET', base .. 'r:' .. member, 'state', 'operation', 'leaseUntil')
      -- Entries of records Redis already expired, or that moved on, are skipped; gc removes them.
      if fields[1] == state and (operation == '' or fields[2] == operation) then
        count = count + 1
        if oldest_score == '' then oldest_score, oldest_key, oldest_operation = entries[j + 1], member, fields[2] end
        if by_operation[fields[2]] == nil then
          by_operation[fields[2]] = 0
          names[#names + 1] = fields[2]
        end
        by_operation[fields[2]] = by_operation[fields[2]] + 1
        -- The mirror of isLapsed (src/machine/): no lease end, or one at or before the given time.
        if wants_lapsed and (not fields[3] or tonumber(fields[3]) <= lapsed_bound) then lapsed = lapsed + 1 end
      end
    end
    local flat = {}
    for _, name in ipairs(names) do
      flat[#flat + 1] = name
      flat[#flat + 1] = by_operation[name]
    end
    out[#out + 1] = { count, oldest_score, oldest_key, lapsed, flat, oldest_operation }
  end
end
return out
