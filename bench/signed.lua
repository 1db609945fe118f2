-- wrk script for the dlrd benchmark: cycles through a pre-signed corpus.
--
-- Environment (set by bench/run.sh):
--   BENCH_CORPUS  prefix of the per-thread corpus files (PREFIX.t0, .t1 ...)
--                 written by bench/gen_corpus.py: raw HTTP requests, each
--                 followed by one NUL byte
--   BENCH_OUT     where done() writes the run's summary as JSON
--   BENCH_RATE    optional: total target rate (requests/s) for an
--                 open-schedule, fixed-rate run (see delay() below)
--   BENCH_SLICE0  optional: thread t reads PREFIX.t<t + BENCH_SLICE0>, so two
--                 wrk processes run at once (one per dlrd replica) send
--                 disjoint slices of one corpus (default 0)
--
-- Thread t only sends requests from PREFIX.t<t>, in order, so no two
-- requests of a run share a verificationId unless a thread runs out of its
-- slice; it then starts over and counts "wrapped", which bench/run.sh turns
-- into a loud INVALID mark (duplicates are cheaper and would flatter dlrd).
--
-- The hot path (request) only indexes a Lua table; response() counts status
-- codes (wrk itself only counts status > 399) and dlrd's "duplicate" answers.

local corpus_prefix = os.getenv("BENCH_CORPUS")
local out_path = os.getenv("BENCH_OUT")
local rate = tonumber(os.getenv("BENCH_RATE") or "") or 0
local slice0 = tonumber(os.getenv("BENCH_SLICE0") or "") or 0

-- ---------------------------------------------------------------- main state
local threads = {}
local next_tid = 0

function setup(thread)
  thread:set("tid", next_tid)
  next_tid = next_tid + 1
  table.insert(threads, thread)
end

-- ---------------------------------------------------------------- thread state
local data, pos, len = nil, 1, 0
-- Globals, read by done() through thread:get().
tid = tid or 0
sent, wrapped = 0, 0
n200, n2xx, nbad, ndup = 0, 0, 0, 0
codes = {}

-- init only reads the file: wrk starts each thread right after its init and
-- starts its clock after the last one, so a slow init would give the first
-- thread a head start. Requests are cut out of the buffer as they are sent
-- (one memchr and one copy, which wrk makes anyway).
function init(args)
  local name = corpus_prefix .. ".t" .. (tid + slice0)
  local f = assert(io.open(name, "rb"))
  data = f:read("*a")
  f:close()
  len = #data
  assert(len > 0 and string.find(data, "\0", 1, true), "empty corpus " .. name)
end

function request()
  local z = string.find(data, "\0", pos, true)
  if not z then  -- slice exhausted: start over, and say so
    wrapped = wrapped + 1
    pos = 1
    z = string.find(data, "\0", pos, true)
  end
  local req = string.sub(data, pos, z - 1)
  pos = z + 1
  sent = sent + 1
  return req
end

function response(status, headers, body)
  if status == 200 then
    n200 = n200 + 1
    n2xx = n2xx + 1
    -- dlrd answers {"status":"duplicate"} to a replay; nginx sends no body.
    if string.find(body, "duplicate", 1, true) then ndup = ndup + 1 end
  elseif status >= 200 and status < 300 then
    n2xx = n2xx + 1
  else
    nbad = nbad + 1
    codes[status] = (codes[status] or 0) + 1
  end
end

-- Fixed-rate mode. wrk has no -R (wrk2 is not in Debian), so each thread
-- keeps an absolute send schedule at rate/threads requests per second: every
-- connection that is ready to send takes the next free slot and waits until
-- it (delay() is called once per request, before it is sent). The schedule
-- does not slip when a response is slow, so the offered rate stays fixed as
-- long as a connection is free; if the schedule falls more than one second
-- behind (server stalled, all connections busy) it is reset to now, and the
-- achieved rate shows the shortfall. Latency is measured by wrk from the
-- moment the request is written, not from its slot.
if rate > 0 then
  local ffi = require("ffi")
  pcall(ffi.cdef, [[
    typedef struct { long tv_sec; long tv_nsec; } bench_timespec_t;
    int clock_gettime(int clk_id, bench_timespec_t *tp);
  ]])
  local ts = ffi.new("bench_timespec_t")
  local function now_ms()
    ffi.C.clock_gettime(1, ts)  -- CLOCK_MONOTONIC
    return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
  end
  local interval_ms = nil  -- per thread, set on first use
  local slot = nil

  function delay()
    local t = now_ms()
    if not interval_ms then
      interval_ms = 1000 * (tonumber(os.getenv("BENCH_THREADS")) or 1) / rate
      slot = t
    end
    slot = slot + interval_ms
    if slot < t - 1000 then slot = t end
    local d = slot - t
    if d < 0 then d = 0 end
    return math.floor(d + 0.5)  -- wrk timers have 1 ms resolution
  end
end

-- ---------------------------------------------------------------- report
local function json_value(v)
  if type(v) == "table" then
    local parts = {}
    for k, x in pairs(v) do
      table.insert(parts, string.format("%q:%s", tostring(k), json_value(x)))
    end
    return "{" .. table.concat(parts, ",") .. "}"
  elseif type(v) == "string" then
    return string.format("%q", v)
  else
    return string.format("%.17g", v)
  end
end

function done(summary, latency, requests)
  local r = {
    duration_us = summary.duration,
    requests = summary.requests,
    bytes = summary.bytes,
    errors = summary.errors,
    latency_us = {
      mean = latency.mean, max = latency.max, stdev = latency.stdev,
      p50 = latency:percentile(50), p90 = latency:percentile(90),
      p99 = latency:percentile(99), p999 = latency:percentile(99.9),
    },
    target_rate = rate,
    sent = 0, wrapped = 0, n200 = 0, n2xx = 0, nbad = 0, ndup = 0,
    codes = {}, per_thread = {},
  }
  for _, t in ipairs(threads) do
    local pt = {}
    for _, k in ipairs({"sent", "wrapped", "n200", "n2xx", "nbad", "ndup"}) do
      local v = t:get(k) or 0
      r[k] = r[k] + v
      pt[k] = v
    end
    table.insert(r.per_thread, pt)
    for code, c in pairs(t:get("codes") or {}) do
      local key = tostring(code)
      r.codes[key] = (r.codes[key] or 0) + c
    end
  end
  -- per_thread as a JSON array
  local pts = {}
  for _, pt in ipairs(r.per_thread) do table.insert(pts, json_value(pt)) end
  r.per_thread = nil
  local text = json_value(r)
  text = text:sub(1, -2) .. ',"per_thread":[' .. table.concat(pts, ",") .. "]}"
  if out_path then
    local f = assert(io.open(out_path, "w"))
    f:write(text, "\n")
    f:close()
  else
    io.write(text, "\n")
  end
end
