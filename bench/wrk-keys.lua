-- Many API keys, all active: each request takes the next key from the file named by BENCH_KEYS_FILE
-- (one header line per key, "name: value"). Runs Lua per request, so wrk needs more CPU: it runs on
-- the load generators' CPU, the same for the bare proxy and Gatehouse.
local headerLines = {}
local nextIndex = 1

init = function(args)
  for line in io.lines(os.getenv("BENCH_KEYS_FILE")) do
    local name, value = line:match("^([^:]+):%s*(.*)$")
    headerLines[#headerLines + 1] = { [name] = value }
  end
end

request = function()
  local headers = headerLines[nextIndex]
  nextIndex = nextIndex % #headerLines + 1
  return wrk.format(nil, nil, headers)
end

dofile(os.getenv("BENCH_REPORT_LUA"))
