-- GET one URL with the bench's credentials; writes latency percentiles and status counts to BENCH_OUT_FILE.
wrk.method = "GET"
if os.getenv("BENCH_API_KEY") and os.getenv("BENCH_API_KEY") ~= "" then
  wrk.headers["X-API-Key"] = os.getenv("BENCH_API_KEY")
elseif os.getenv("BENCH_BEARER") and os.getenv("BENCH_BEARER") ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_BEARER")
end

local threads = {}
function setup(thread) table.insert(threads, thread) end

ok = 0
bad = 0
function response(status, headers, resp)
  if status >= 200 and status < 300 then ok = ok + 1 else bad = bad + 1 end
end

function done(summary, latency, requests)
  local o, b = 0, 0
  for _, t in ipairs(threads) do
    o = o + t:get("ok")
    b = b + t:get("bad")
  end
  local out = assert(io.open(os.getenv("BENCH_OUT_FILE"), "w"))
  out:write(string.format(
    '{"durationUs":%d,"requests":%d,"ok":%d,"bad":%d,"latencyUs":{"mean":%.1f,"p50":%d,"p95":%d,"p99":%d,"max":%d}}',
    summary.duration, summary.requests, o, b, latency.mean, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max))
  out:close()
end
