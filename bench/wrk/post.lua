-- POST a fixed JSON body with the bench's credentials, count answers by status and remember the prediction id
-- of every 2xx answer, so that the bench can check each of them has a durable row.
-- Environment: BENCH_BODY_FILE, BENCH_OUT_FILE, BENCH_API_KEY (or BENCH_BEARER), BENCH_IDS (1 = collect ids).
local f = assert(io.open(os.getenv("BENCH_BODY_FILE"), "rb"))
local body = f:read("*a")
f:close()

wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/json"
if os.getenv("BENCH_API_KEY") and os.getenv("BENCH_API_KEY") ~= "" then
  wrk.headers["X-API-Key"] = os.getenv("BENCH_API_KEY")
elseif os.getenv("BENCH_BEARER") and os.getenv("BENCH_BEARER") ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_BEARER")
end

local collect_ids = os.getenv("BENCH_IDS") == "1"
local prepared = nil
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

-- thread-local counters (globals of each thread's Lua state, read back in done())
sent = 0
ok = 0
bad = 0
statuses = {}
ids = {}
sample = ""

function request()
  sent = sent + 1
  if prepared == nil then prepared = wrk.format() end
  return prepared
end

function response(status, headers, resp)
  if status >= 200 and status < 300 then
    ok = ok + 1
    if collect_ids then
      local id = string.match(string.sub(resp, 1, 80), '"id":"([0-9a-f%-]+)"')
      if id then ids[#ids + 1] = id end
    end
  else
    bad = bad + 1
    statuses[status] = (statuses[status] or 0) + 1
    if sample == "" then sample = string.sub(resp, 1, 300) end
  end
end

local function esc(s)
  return (string.gsub(s, '[%c"\\]', function(c) return string.format("\\u%04x", string.byte(c)) end))
end

function done(summary, latency, requests)
  local s, o, b, smp = 0, 0, 0, ""
  local st = {}
  local idf = nil
  if collect_ids then idf = assert(io.open(os.getenv("BENCH_OUT_FILE") .. ".ids", "w")) end
  for _, t in ipairs(threads) do
    s = s + t:get("sent")
    o = o + t:get("ok")
    b = b + t:get("bad")
    for k, v in pairs(t:get("statuses")) do st[k] = (st[k] or 0) + v end
    if smp == "" then smp = t:get("sample") end
    if idf then
      for _, id in ipairs(t:get("ids")) do idf:write(id, "\n") end
    end
  end
  if idf then idf:close() end
  local parts = {}
  for k, v in pairs(st) do parts[#parts + 1] = string.format('"%d":%d', k, v) end
  local e = summary.errors
  local out = assert(io.open(os.getenv("BENCH_OUT_FILE"), "w"))
  out:write(string.format(
    '{"durationUs":%d,"requests":%d,"bytes":%d,"sent":%d,"ok":%d,"bad":%d,"statuses":{%s},' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latencyUs":{"mean":%.1f,"p50":%d,"p90":%d,"p95":%d,"p99":%d,"max":%d},"sample":"%s"}',
    summary.duration, summary.requests, summary.bytes, s, o, b, table.concat(parts, ","),
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(95),
    latency:percentile(99), latency.max, esc(smp)))
  out:close()
end
