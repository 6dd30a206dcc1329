-- Seat buyers for bench/boxoffice.py. Run with as many threads as connections: each wrk
-- thread is then one buyer with one connection and its own access token, which holds 1 to 4
-- random seats, and again: each new hold replaces the buyer's previous one ("replace"), or the
-- buyer releases each hold before the next ("release"). A seat named in a 409 is left alone
-- until the buyer's next successful hold.
-- Arguments after `--`: tokens file, seat names file, showtime id, "replace" or "release".
local threads = {}
local next_buyer = 1

function setup(thread)
  thread:set("buyer", next_buyer)
  next_buyer = next_buyer + 1
  threads[#threads + 1] = thread
end

function init(args)
  local tokens = {}
  for line in io.lines(args[1]) do
    if #line > 0 then tokens[#tokens + 1] = line end
  end
  seats = {}
  for line in io.lines(args[2]) do
    if #line > 0 then seats[#seats + 1] = line end
  end
  hold_path = "/api/v1/showtimes/" .. args[3] .. "/holds"
  releasing = args[4] == "release"
  headers = {
    ["Authorization"] = "Bearer " .. tokens[(buyer - 1) % #tokens + 1],
    ["Content-Type"] = "application/json",
  }
  math.randomseed(buyer * 7919)
  hold_id = nil
  avoid = {}
  holds, releases, conflicts, failures = 0, 0, 0, 0
end

function request()
  if hold_id and releasing then
    return wrk.format("DELETE", "/api/v1/holds/" .. hold_id, headers)
  end
  local wanted, chosen, picked = math.random(1, 4), {}, {}
  while #picked < wanted do
    local seat = seats[math.random(#seats)]
    if not chosen[seat] and not avoid[seat] then
      chosen[seat] = true
      picked[#picked + 1] = '"' .. seat .. '"'
    end
  end
  return wrk.format("POST", hold_path, headers, '{"seats":[' .. table.concat(picked, ",") .. "]}")
end

function response(status, _headers, body)
  if status == 201 then
    hold_id = string.match(body, '"id":(%d+)')
    holds = holds + 1
    avoid = {}
  elseif status == 204 then
    hold_id = nil
    releases = releases + 1
  elseif status == 409 then
    conflicts = conflicts + 1
    local named = string.match(body, '"seats":%[(.-)%]') or ""
    for seat in string.gmatch(named, '"(%w+)"') do avoid[seat] = true end
  else
    failures = failures + 1
    hold_id = nil
  end
end

function done(summary, latency, _requests)
  local totals = {holds = 0, releases = 0, conflicts = 0, failures = 0}
  for _, thread in ipairs(threads) do
    for name, _ in pairs(totals) do totals[name] = totals[name] + thread:get(name) end
  end
  local errors = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "seconds": %.3f, "p50_ms": %.3f, "p99_ms": %.3f, ' ..
    '"rps": %.1f, "errors": %d, "holds": %d, "releases": %d, "conflicts": %d, ' ..
    '"failures": %d}\n',
    summary.requests, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.requests / (summary.duration / 1e6),
    errors.connect + errors.read + errors.write + errors.timeout,
    totals.holds, totals.releases, totals.conflicts, totals.failures))
end
