-- Many API keys, all active: each request takes the next key from the file named by BENCH_KEYS_FILE
-- (one header line per key, "name: value"). Runs Lua per request, so wrk needs more CPU: it runs on
-- the load generators' CPU, the same for the bare proxy and Gatehouse. Each run starts at a random key,
-- so that runs shorter than the key list do not all present its first keys.
local headerLines = {}
local nextIndex = 1

init = function(args)
  for line in io.lines(os.getenv("BENCH_KEYS_FILE")) do
    local name, value = line:match("^([^:]+):%s*(.*)$")
    headerLines[#headerLines + 1] = { [name] = value }
  end
  math.randomseed(os.time())
  nextIndex = math.random(#headerLines)
end

request = function()
  local headers = headerLines[nextIndex]
  nextIndex = nextIndex % #headerLines + 1
  return wrk.format(nil, nil, headers)
end

dofile(os.getenv("BENCH_REPORT_LUA"))
