-- wrk script: form-encoded carrier status callbacks, each to the next call in a list.
--   BENCH_PATHS  a file with one callback path per line
--   BENCH_FORM   the form body (the same report for every call)
-- Each wrk thread takes every n-th path, so no two requests report on the same call.
local paths = {}
for line in io.lines(os.getenv("BENCH_PATHS")) do
  paths[#paths + 1] = line
end

local counter = 1
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  counter = id + 1
  step = #threads > 0 and #threads or 1
  wrapped = 0
end

function request()
  local path = paths[counter]
  counter = counter + step
  if counter > #paths then
    counter = id + 1
    wrapped = wrapped + 1
  end
  return wrk.format("POST", path, {["Content-Type"] = "application/x-www-form-urlencoded"}, os.getenv("BENCH_FORM"))
end

function done(summary, latency, requests)
  local wraps = 0
  for _, thread in ipairs(threads) do
    wraps = wraps + (thread:get("wrapped") or 0)
  end
  io.write(string.format(
    'WRK_JSON {"requests": %d, "seconds": %.3f, "non2xx": %d, "socket_errors": %d, "wrapped": %d, ' ..
    '"p50": %.2f, "p95": %.2f, "p99": %.2f}\n',
    summary.requests, summary.duration / 1e6, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout, wraps,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000))
end
