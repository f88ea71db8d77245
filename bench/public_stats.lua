-- wrk script of the public figures' benchmark (bench/public_stats.py), the same for every server.
--
--   wrk -t1 -c32 -d10s --latency -s bench/public_stats.lua http://127.0.0.1:PORT/PATH \
--       -- METHOD [BODY_FILE]
--
-- Anonymous: no Authorization, no cookie, no Accept-Language.  METHOD is GET or POST (then
-- BODY_FILE holds the JSON body).  The request is formatted once in init(), so wrk spends
-- almost nothing per request.  A response counts as an error when its status is not 200 or
-- its body carries "errors": (GraphQL); done() prints one machine-readable line,
-- "BENCH key=value ...", for the Python driver (the same line as bench/home_screen.lua's).

local counter = 0
local threads = {}

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end

local function read_all(path)
  local file = assert(io.open(path, "rb"), "cannot open " .. tostring(path))
  local text = file:read("*a")
  file:close()
  return text
end

function init(args)
  local method = args[1] or "GET"
  if method == "POST" then
    prepared = wrk.format("POST", nil, {["Content-Type"] = "application/json"},
                          read_all(args[2]))
  else
    prepared = wrk.format("GET", nil, {})
  end
  responses, non200, body_errors = 0, 0, 0
end

function request()
  return prepared
end

function response(status, headers, body)
  responses = responses + 1
  if status ~= 200 then
    non200 = non200 + 1
  elseif body and string.find(body, '"errors":', 1, true) then
    body_errors = body_errors + 1
  end
end

function done(summary, latency, requests)
  local seen, bad_status, bad_body = 0, 0, 0
  for _, thread in ipairs(threads) do
    seen = seen + (thread:get("responses") or 0)
    bad_status = bad_status + (thread:get("non200") or 0)
    bad_body = bad_body + (thread:get("body_errors") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d " ..
    "responses=%d non200=%d body_errors=%d connect=%d read=%d write=%d timeout=%d status=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, seen, bad_status, bad_body,
    e.connect, e.read, e.write, e.timeout, e.status))
end
