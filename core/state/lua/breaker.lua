-- breaker.lua - the cluster-wide circuit breaker of one deployment, on
-- state kept in Redis: outcomes from every worker of every host, one
-- half-open probe for the whole cluster, transitions published on a
-- channel (core/state/breaker.c runs it; its C state machine applies the
-- same rules to one process's outcomes).
--
-- KEYS[1] = "<prefix>br:{<deployment>}" (sy_key_breaker), a hash:
--   state (0 closed, 1 open, 2 half-open), open_until (ms, Redis' clock),
--   trips, consecutive (the last run of provider failures), cr (the
--   history of the consecutive rule, see below), and per window bucket
--   i: i<i> (bucket id), o<i> (ok), f<i> (failed).
-- KEYS[2] = KEYS[1] .. ":probe" (sy_key_breaker_probe): the token of the
--   request holding the half-open probe. Its PX is the probe deadline,
--   set once, by the SET that grants the probe; nothing extends it.
-- ARGV: 1 op (allow, report, get), 2 now ms (0: Redis TIME),
--   3 consecutive, 4 min_requests, 5 failure_pct, 6 window_ms, 7 open_ms,
--   8 open_max_ms, 9 jitter_pct, 10 probe_ms, 11 channel ("" = no
--   PUBLISH), 12 deployment name (for the messages), 13 allow: the token
--   that would hold the probe; report: r16 (16-bit random value, the
--   jitter of a new open period). report: then one group of 5 per
--   outcome of one process, in the order they happened: outcome
--   (0 ignored, 1 success, 2 provider failure), first time and time (ms
--   since the epoch on the reporting host; a run of successes goes from
--   the first to the second; 0: now), count (outcomes it stands for),
--   probe token ("" = not the probe).
-- Returns {state, open_until, trips, now, verdict (allow: 0 deny, 1 pass,
--   2 probe), changed (a transition happened), window total, window
--   failed, probe_until (when the probe's hold ends; 0: none out)}.
-- Messages on the channel: "<state> <open_until> <now> <trips> <dep>
--   <probe_until>", on every transition, probe taken and probe freed.
--
-- The consecutive rule counts by the outcomes' own times, not by the
-- order in which they reach Redis (each process sends its outcomes every
-- refresh, so another's may arrive late): see "The consecutive rule" below.
-- The rules are checked once per report, after all of its outcomes are
-- in place.
-- Window buckets are numbered by Redis' clock at arrival.
-- SPDX-License-Identifier: MIT
local key, pkey = KEYS[1], KEYS[2]
local op = ARGV[1]
local now = tonumber(ARGV[2]) or 0
if now <= 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local cmax, minreq, pct = tonumber(ARGV[3]), tonumber(ARGV[4]),
  tonumber(ARGV[5])
local window, open_ms, open_max = tonumber(ARGV[6]), tonumber(ARGV[7]),
  tonumber(ARGV[8])
local jitter, probe_ms = tonumber(ARGV[9]), tonumber(ARGV[10])
local channel, dep = ARGV[11], ARGV[12]
local NB = 10

local f = {}
local h = redis.call('HGETALL', key)
for i = 1, #h, 2 do
  if h[i] == 'cr' then f.cr = h[i + 1] else f[h[i]] = tonumber(h[i + 1]) end
end
local state = f['state'] or 0
local till = f['open_until'] or 0
local trips = f['trips'] or 0
-- 'cr': the history of the consecutive rule (see success_at), stored
-- as "f<t>" (a failure) and "s<a>:<b>" (successes from a to b).
local runs = {}
for k, a, b in string.gmatch(f.cr or '', '([fs])(%d+):?(%d*)') do
  runs[#runs + 1] = {k, tonumber(a)}
  if k == 's' and b ~= '' and tonumber(b) ~= tonumber(a) then
    runs[#runs + 1] = {k, tonumber(b)}
  end
end
local bms = math.max(1, math.floor(window / NB))
local cur = math.floor(now / bms)
local verdict, changed, dirty = 0, 0, false

local function wsum()
  local total, failed = 0, 0
  for i = 0, NB - 1 do
    local id = f['i' .. i]
    if id and id <= cur and cur - id < NB then
      total = total + (f['o' .. i] or 0) + (f['f' .. i] or 0)
      failed = failed + (f['f' .. i] or 0)
    end
  end
  return total, failed
end

local function wadd(failed, n)
  local s = cur % NB
  if f['i' .. s] ~= cur then
    f['i' .. s], f['o' .. s], f['f' .. s] = cur, 0, 0
  end
  local k = failed and ('f' .. s) or ('o' .. s)
  f[k] = f[k] + n
  dirty = true
end

local function period(t, r16)
  local p, i = open_ms, 1
  while i < t and p < open_max do p = p * 2; i = i + 1 end
  if open_max > 0 and p > open_max then p = open_max end
  local jit = math.floor(p * jitter / 100)
  return p + math.floor(jit * r16 / 65536)
end

local function probe_until()
  local left = redis.call('PTTL', pkey)
  if left > 0 then return now + left end
  return 0
end

-- Every process learns of a transition, of a probe taken and of a probe
-- freed at once: "<state> <open_until> <now> <trips> <dep> <probe_until>".
local function notify()
  dirty = true
  if channel ~= '' then
    redis.call('PUBLISH', channel, string.format('%d %d %d %d %s %d',
      state, till, now, trips, dep, probe_until()))
  end
end

local function open_now(r16)
  trips = trips + 1
  local t = now + period(trips, r16)
  if t > till then till = t end -- a reopen never shortens a deadline
  state, runs = 1, {}
  redis.call('DEL', pkey)
  changed = 1
  notify()
end

-- Closing at 'at' (the probe's success): what happened before is over.
local function close_now(at)
  state, till, trips, runs = 0, 0, 0, {{'s', at}}
  for i = 0, NB - 1 do
    f['i' .. i], f['o' .. i], f['f' .. i] = nil, nil, nil
  end
  redis.call('DEL', pkey, key)
  changed = 1
  notify()
end

-- The consecutive rule across processes. 'runs' is the recent history
-- in time order, as points: {'f', t} a failure, {'s', t} a success. A
-- late outcome is put in its place by its time, so a late success only
-- splits the run it falls in, and a late failure only joins the run its
-- time belongs to. Points of equal time keep their arrival order. A run
-- of successes from one process is sent as its first and last time; a
-- failure of another process between them falls between successes.
-- Successes in a row are kept as their first and last; only the last
-- SPANS such spans are kept, and an outcome older than all of them is
-- too old to matter.
local SPANS = 8

local function too_old(t)
  return #runs > 0 and runs[1][1] == 's' and t < runs[1][2]
end

local function insert_point(kind, t)
  local i = #runs
  while i > 0 and runs[i][2] > t do i = i - 1 end
  table.insert(runs, i + 1, {kind, t})
end

-- Keep the first and last success of each span, and the last SPANS
-- spans; the last point of the span before them stays as the bound
-- below which outcomes are too old.
local function compact()
  local out, spans = {}, 0
  for i = #runs, 1, -1 do
    local m, nx, pv = runs[i], runs[i + 1], runs[i - 1]
    local last = m[1] == 's' and not (nx and nx[1] == 's')
    local inner = m[1] == 's' and nx and nx[1] == 's' and pv and pv[1] == 's'
    if last then
      spans = spans + 1
      if spans > SPANS then
        table.insert(out, 1, m)
        break
      end
    end
    if not inner then table.insert(out, 1, m) end
  end
  runs = out
end

local function failure_at(t)
  if too_old(t) then return end
  insert_point('f', t)
  dirty = true
end

local function success_at(a, b)
  if too_old(b) then return end
  insert_point('s', a)
  if b ~= a then insert_point('s', b) end
  compact()
  dirty = true
end

-- The longest run of failures in the history, and the last one.
local function run_lengths()
  local best, cur = 0, 0
  for _, m in ipairs(runs) do
    if m[1] == 's' then cur = 0 else cur = cur + 1 end
    if cur > best then best = cur end
  end
  return best, cur
end

local function should_open()
  if cmax > 0 and run_lengths() >= cmax then return true end
  if pct <= 0 then return false end
  local total, failed = wsum()
  return total >= math.max(minreq, 1) and failed * 100 >= pct * total
end

local function outcome(o, from, at, n, token, r16)
  local holder = redis.call('GET', pkey)
  local probe = token ~= '' and state == 2 and
    (holder == token or not holder)
  if o == 0 then
    -- Says nothing about the deployment: the probe is free at once.
    if token ~= '' and holder == token then
      redis.call('DEL', pkey)
      notify()
    end
    return false
  end
  wadd(o == 2, n)
  if state == 0 then
    if o == 1 then
      success_at(from, at)
    elseif cmax > 0 then
      for _ = 1, math.min(n, cmax) do failure_at(at) end
    end
    return o == 2
  elseif state == 2 and probe then
    if o == 1 then close_now(at) else open_now(r16) end
  end
  return false
end

if op == 'allow' then
  if state == 0 then
    verdict = 1
  elseif state == 2 or now >= till then
    if redis.call('SET', pkey, ARGV[13], 'NX', 'PX', probe_ms) then
      verdict = 2
      if state == 1 then state, changed = 2, 1 end
      notify()
    end
  end
elseif op == 'report' then
  -- The rules are checked once the whole batch is in place: a batch is
  -- one process's outcomes in order, and a failure of it that a later
  -- success of the same batch followed never ran on alone.
  local r16 = tonumber(ARGV[13]) or 0
  local failed = false
  for i = 14, #ARGV - 4, 5 do
    local at = tonumber(ARGV[i + 2]) or 0
    if at <= 0 then at = now end
    local from = tonumber(ARGV[i + 1]) or 0
    if from <= 0 or from > at then from = at end
    if outcome(tonumber(ARGV[i]) or 0, from, at,
        math.max(1, tonumber(ARGV[i + 3]) or 1), ARGV[i + 4], r16) then
      failed = true
    end
  end
  if state == 0 and failed and should_open() then open_now(r16) end
end

if dirty then
  local cr, i = {}, 1
  while i <= #runs do
    local m = runs[i]
    if m[1] == 'f' then
      cr[#cr + 1] = string.format('f%d', m[2])
    else
      local j = i
      while runs[j + 1] and runs[j + 1][1] == 's' do j = j + 1 end
      cr[#cr + 1] = string.format('s%d:%d', m[2], runs[j][2])
      i = j
    end
    i = i + 1
  end
  local _, last = run_lengths()
  local a = {'state', state, 'open_until', till, 'trips', trips,
             'consecutive', last, 'cr', table.concat(cr, ' ')}
  for i = 0, NB - 1 do
    if f['i' .. i] then
      for _, p in ipairs({'i', 'o', 'f'}) do
        a[#a + 1] = p .. i
        a[#a + 1] = f[p .. i]
      end
    end
  end
  redis.call('HSET', key, unpack(a))
  local jm = open_max + math.floor(open_max * jitter / 100)
  redis.call('PEXPIRE', key, window + 2 * jm + probe_ms + 60000)
end
local total, failed = wsum()
return {state, till, trips, now, verdict, changed, total, failed,
        probe_until()}
