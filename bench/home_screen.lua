-- wrk script of the HomeScreen benchmark (bench/home_screen.py), the same for both servers.
--
--   wrk -t1 -c32 -d20s --latency -s bench/home_screen.lua http://127.0.0.1:PORT/graphql \
--       -- TOKENS_FILE BODY_FILE
--
-- TOKENS_FILE holds one bearer token per line (one per sampled person); BODY_FILE the JSON
-- POST body (the HomeScreen operation).  Every request goes to a person picked at random.
-- The requests are formatted once in init(), so wrk spends almost nothing per request.
-- A response counts as an error when its status is not 200 or its body carries "errors":
-- done() prints one machine-readable line, "BENCH key=value ...", for the Python driver.

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
  local body = read_all(args[2])
  prepared = {}
  for token in io.lines(args[1]) do
    if token ~= "" then
      local headers = {
        ["Content-Type"] = "application/json",
        ["Authorization"] = "Bearer " .. token,
      }
      table.insert(prepared, wrk.format("POST", nil, headers, body))
    end
  end
  assert(#prepared > 0, "no tokens in " .. args[1])
  math.randomseed(os.time() * 1000 + (id or 0))
  responses, non200, body_errors = 0, 0, 0
end

function request()
  return prepared[math.random(#prepared)]
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
