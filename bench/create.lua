-- wrk script: POST /-/api/v1/links with a bearer token (WRK_BENCH_TOKEN)
-- and a body whose target is unique per request: the run, the wrk thread
-- and a counter of that thread. done() prints one line of figures for
-- bench/run to read; any answer but 2xx/3xx counts under status=.
local token = os.getenv("WRK_BENCH_TOKEN") or ""
local run = os.getenv("WRK_BENCH_RUN") or tostring(os.time())
local headers = {
  ["Authorization"] = "Bearer " .. token,
  ["Content-Type"] = "application/json",
}
local counter = 0
local next_thread = 0

function setup(thread)
  next_thread = next_thread + 1
  thread:set("thread_number", next_thread)
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"target": "https://example.com/bench/%s/%d/%d"}',
    run, thread_number or 0, counter)
  return wrk.format("POST", "/-/api/v1/links", headers, body)
end

function done(summary, latency, _)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d p50_us=%d p99_us=%d p999_us=%d " ..
    "connect=%d read=%d write=%d status=%d timeout=%d\n",
    summary.requests, summary.duration, latency:percentile(50),
    latency:percentile(99), latency:percentile(99.9),
    e.connect, e.read, e.write, e.status, e.timeout))
end
