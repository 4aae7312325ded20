-- wrk script: POST, in turn, each line of $BENCH_BODIES_FILE (one JSON body per line) with
-- $BENCH_AUTHORIZATION if set; count answers carrying GraphQL errors; print one summary line
-- starting with BENCH_JSON when done (the same fields as post_graphql.lua, plus graphql_errors).

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  bodies = {}
  local file = assert(io.open(assert(os.getenv("BENCH_BODIES_FILE"), "set BENCH_BODIES_FILE"), "rb"))
  for line in file:lines() do
    if line ~= "" then
      table.insert(bodies, line)
    end
  end
  file:close()
  turn = 0
  graphql_errors = 0
  headers = {
    ["Content-Type"] = "application/json",
    ["Accept"] = "application/graphql-response+json, application/json",
  }
  local authorization = os.getenv("BENCH_AUTHORIZATION")
  if authorization ~= nil and authorization ~= "" then
    headers["Authorization"] = authorization
  end
end

function request()
  turn = turn + 1
  return wrk.format("POST", nil, headers, bodies[(turn % #bodies) + 1])
end

function response(status, headers, body)
  if status == 200 and string.find(body, '"errors"', 1, true) then
    graphql_errors = graphql_errors + 1
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  local answered_with_errors = 0
  for _, thread in ipairs(threads) do
    answered_with_errors = answered_with_errors + thread:get("graphql_errors")
  end
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"graphql":%d},' ..
    '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout, answered_with_errors,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
end
