-- list: one page per requested state of one bucket's records, oldest update first, for the store to
-- merge across buckets. Inspects at most `budget` index entries per state, so a rare filter cannot
-- block the server; the caller continues from the returned offset.
--
-- KEYS: 1..5 the bucket's per-state indexes (STATES order in lib.lua).
-- ARGV: 1 bucket base ('<prefix>{<bucket>}:'), 2 operation ('' for any), 3 updated before (exclusive,
--       '' for no bound), 4 budget, 5 and 6 the cursor's updatedAt and key ('' for none: only entries
--       after it in (score, member) order), then per state: state, offset, wanted.
-- Returns: per requested state { next offset (-1 when exhausted), { field, value, ... }, ... }.

local base, operation, before, budget = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local after_score, after_key = ARGV[5], ARGV[6]
local max = '+inf'
if before ~= '' then max = '(' .. before end
local min = '-inf'
if after_score ~= '' then min = after_score end
local after_number = tonumber(after_score)

local function index_of(state)
  return state_key(state, 1)
end

local out = {}
for i = 7, #ARGV, 3 do
  local state, offset, wanted = ARGV[i], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
  local page = { 0 }
  local found, inspected, exhausted = 0, 0, false
  while found < wanted and inspected < budget do
    local batch = math.min(wanted - found, budget - inspected)
    local entries = redis.call('ZRANGEBYSCORE', index_of(state), min, max, 'WITHSCORES', 'LIMIT', offset + inspected, batch)
    for j = 1, #entries, 2 do
      local member = entries[j]
      inspected = inspected + 1
      -- At the cursor's own score only members after its key come after it.
      if after_number == nil or tonumber(entries[j + 1]) > after_number or member > after_key then
        local rec = load_record(base .. 'r:' .. member)
        -- Entries of records Redis already expired are skipped; gc removes them.
        if rec ~= nil and rec.state == state and (operation == '' or rec.operation == operation) then
          found = found + 1
          page[#page + 1] = flat_record(rec)
        end
      end
    end
    if #entries / 2 < batch then
      exhausted = true
      break
    end
  end
  if exhausted then page[1] = -1 else page[1] = offset + inspected end
  out[#out + 1] = page
end
return out
