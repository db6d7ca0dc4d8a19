-- requestResolution: a person asks to resolve an unknown (or lapsed in_flight) record at exactly
-- `attempt` without evidence; the request waits in the audit log for a second person. Changes no record.
--
-- KEYS: the per-record layout (lib.lua).
-- ARGV: 1 key, 2 channel, 3 grace ms, 4 attempt, 5 state, 6 result (optional), 7 providerRef (optional),
--       8 reason, 9 requested by, 10 request id, 11 '1' if the approval is to start a new generation.
-- Optional values are '' for null or '=' .. value.
-- Returns: { 1 if recorded else 0, server now ms, { field, value, ... } of the current record or {} }.
-- Audit: `resolution_requested` (actor = the requester).

local attempt = tonumber(ARGV[4])
local now = now_ms()
local rec, stored_flat = load_record(KEYS[1])
if not open_at(rec, attempt, now) then return { 0, now, stored_flat } end

local null = function(value) if value == nil then return cjson.null end return value end
append_audit(rec, 'resolution_requested', attempt, ARGV[9], cjson.encode({
  id = ARGV[10], state = ARGV[5], result = null(opt(ARGV[6])), providerRef = null(opt(ARGV[7])),
  reason = ARGV[8], newGeneration = ARGV[11] == '1' }), now)
return { 1, now, stored_flat }
