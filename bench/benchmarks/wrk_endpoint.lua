-- wrk script of `bench benchmark targets` (bench/benchmarks/wrk.py): one endpoint, many ids.
-- Arguments after `--`: METHOD PATH BODY IDS_FILE THREADS. PATH holds {id} where an id goes;
-- IDS_FILE has one id per line ("-" when PATH has none); BODY "" for none. Each thread takes every
-- THREADS-th id and cycles through its own: while a thread's connections fewer than its ids,
-- no two of its requests in flight name the same id. done() prints one line, WRK-RESULT {json}.

local threads = {}

function setup(thread)
  thread:set("index", #threads)
  table.insert(threads, thread)
end

function init(args)
  local method, path, body, ids_file, count = args[1], args[2], args[3], args[4], tonumber(args[5])
  local headers = {}
  if body == "" then
    body = nil
  else
    headers["Content-Type"] = "application/json"
  end
  local ids = {}
  if ids_file ~= "-" then
    local all = {}
    for line in io.lines(ids_file) do
      if line ~= "" then table.insert(all, line) end
    end
    for i, id in ipairs(all) do
      if (i - 1) % count == index then table.insert(ids, id) end
    end
    if #ids == 0 then ids = all end -- fewer ids than threads: every thread uses them all
  end
  built = {}
  if #ids == 0 then
    table.insert(built, wrk.format(method, path, headers, body))
  else
    for _, id in ipairs(ids) do
      table.insert(built, wrk.format(method, (path:gsub("{id}", id)), headers, body))
    end
  end
  position = 0
  non2xx = 0
end

function request()
  position = position % #built + 1
  return built[position]
end

function response(status, headers, body)
  if status < 200 or status > 299 then non2xx = non2xx + 1 end
end

function done(summary, latency, requests)
  local non = 0
  for _, thread in ipairs(threads) do non = non + thread:get("non2xx") end
  local e = summary.errors
  io.write(string.format(
    'WRK-RESULT {"requests":%d,"duration_us":%d,"non_2xx":%d,"connect_errors":%d,"read_errors":%d,' ..
    '"write_errors":%d,"status_errors":%d,"timeouts":%d,"latency_us":{"mean":%.1f,"p50":%.1f,"p90":%.1f,' ..
    '"p95":%.1f,"p99":%.1f,"p999":%.1f,"max":%.1f}}\n',
    summary.requests, summary.duration, non, e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(95),
    latency:percentile(99), latency:percentile(99.9), latency.max))
end
