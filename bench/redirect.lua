-- wrk script: GET /{slug} for a random slug of the hot set per request.
-- The hot set is read from the file named by WRK_BENCH_SLUGS (one slug a
-- line). done() prints one line of figures for bench/run to read.
local slugs_file = os.getenv("WRK_BENCH_SLUGS")
local requests = {}
local count = 0
local next_thread = 0

function setup(thread)
  next_thread = next_thread + 1
  thread:set("thread_number", next_thread)
end

function init(args)
  if slugs_file then
    local f = assert(io.open(slugs_file, "r"))
    for slug in f:lines() do
      if slug ~= "" then
        count = count + 1
        requests[count] = wrk.format("GET", "/" .. slug)
      end
    end
    f:close()
  end
  if count == 0 then
    requests[1] = wrk.format("GET", "/")
    count = 1
  end
  math.randomseed(os.time() * 1000 + (thread_number or 0))
end

function request()
  return requests[math.random(count)]
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
