/**
 * The one atomic step of the Redis limiter, as a Lua script (Redis runs a script to completion before
 * any other command): read every check's cell, decide whether all admit, and only then write them.
 * It answers the values it read, so the caller computes the result with decideLimits, exactly as the
 * in-memory limiter does from its Map: one implementation of the arithmetic, and this script's
 * decision is the same comparison (a GCRA cell admits when its new TAT minus the window is not after
 * now; a quota when its use of this period is below the limit).
 *
 * KEYS: one cell per check. ARGV: now, commit (1/0), then four per check:
 * `r`, limit, windowMs, - (rate: the cell holds the TAT) or `q`, limit, periodEnd, seed (quota: the
 * cell holds `used:periodEnd`; another period's value counts as the seed). Cells expire when they
 * stop limiting: a TAT a second after it has passed (Redis counts the time by its own clock, and a node
 * whose clock is behind, or whose call arrives late, must still find the cell), a quota at the end of its period.
 */
export const LIMITS_SCRIPT = `
-- Times on a grid of 1/1024 ms and intervals whole steps of it, rounded down: exact sums (domain/gcra.ts).
local now = math.floor(tonumber(ARGV[1]) * 1024) / 1024
local commit = ARGV[2] == '1'
local stored = {}
local nextv = {}
local allowed = true
for i = 1, #KEYS do
  local base = 2 + (i - 1) * 4
  local limit = tonumber(ARGV[base + 2])
  local w = tonumber(ARGV[base + 3])
  local v = redis.call('GET', KEYS[i])
  stored[i] = v or ''
  if ARGV[base + 1] == 'r' then
    local tat = now
    if v and tonumber(v) > now then tat = tonumber(v) end
    local interval = math.max(1, math.floor(w / limit * 1024)) / 1024
    local newTat = tat + interval
    if newTat - interval * limit > now then allowed = false end
    nextv[i] = newTat
  else
    local used = tonumber(ARGV[base + 4])
    if v then
      local sep = string.find(v, ':', 1, true)
      if string.sub(v, sep + 1) == ARGV[base + 3] then used = tonumber(string.sub(v, 1, sep - 1)) end
    end
    if used >= limit then allowed = false end
    nextv[i] = used + 1
  end
end
if allowed and commit then
  for i = 1, #KEYS do
    local base = 2 + (i - 1) * 4
    if ARGV[base + 1] == 'r' then
      redis.call('SET', KEYS[i], string.format('%.17g', nextv[i]), 'PX', math.ceil(nextv[i] - now) + 1000)
    else
      redis.call('SET', KEYS[i], string.format('%d', nextv[i]) .. ':' .. ARGV[base + 3], 'PX', math.max(1, math.ceil(tonumber(ARGV[base + 3]) - now)))
    end
  end
end
return stored
`;
