-- ratelimit.lua - sliding-window rate limits in Redis, reserved all or
-- nothing across several limits, settled with real usage, and parked
-- after a 429 (core/state/ratelimit.c runs it; the same arithmetic as its
-- in-memory windows).
--
-- KEYS[i] = "<prefix>rl:{<name>}" (sy_key_ratelimit), the base of item
-- i's keys: window counters "<base>:<window id>" and the park key
-- "<base>:park" (the suffixes of sy_key_ratelimit_window and
-- sy_key_ratelimit_park in core/state/keys.c).
-- ARGV: 1 op (reserve, settle, park), 2 now ms (0: Redis TIME),
-- 3 window ms, 4 window id (settle), then per item i: limit, amount
-- (reserve: cost; settle: used - reserved; park: ms).
-- Returns {allowed, refused index or -1, parked, retry ms, window id,
-- now}.
-- SPDX-License-Identifier: MIT
local op = ARGV[1]
local now = tonumber(ARGV[2]) or 0
if now <= 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local W = math.max(1, tonumber(ARGV[3]))
local wid = math.floor(now / W)
if op == 'settle' then wid = tonumber(ARGV[4]) end
local elapsed = now - wid * W
local function wkey(base, id)
  return base .. ':' .. string.format('%d', id)
end
if op == 'reserve' then
  for i = 1, #KEYS do
    local limit = tonumber(ARGV[3 + 2 * i])
    local cost = tonumber(ARGV[4 + 2 * i])
    local pt = redis.call('PTTL', KEYS[i] .. ':park')
    if pt > 0 then return {0, i - 1, 1, pt, wid, now} end
    if limit > 0 then
      local cur = tonumber(redis.call('GET', wkey(KEYS[i], wid)) or 0)
      local prev = tonumber(redis.call('GET', wkey(KEYS[i], wid - 1)) or 0)
      local est = math.floor(prev * (W - elapsed) / W) + cur
      local need = math.min(cost, limit)
      if est + need > limit then
        local left = W - elapsed
        local wait = left
        if prev > 0 and cur + need <= limit then
          local a, b = prev * left, (limit - cur - need + 1) * W
          local t = 0
          if a >= b then t = math.floor((a - b) / prev) + 1 end
          if t < wait then wait = t end
        end
        if wait < 1 then wait = 1 end
        return {0, i - 1, 0, wait, wid, now}
      end
    end
  end
  for i = 1, #KEYS do
    local limit = tonumber(ARGV[3 + 2 * i])
    local cost = tonumber(ARGV[4 + 2 * i])
    if limit > 0 and cost > 0 then
      local k = wkey(KEYS[i], wid)
      redis.call('INCRBY', k, cost)
      redis.call('PEXPIRE', k, 2 * W + 1000)
    end
  end
  return {1, -1, 0, 0, wid, now}
elseif op == 'settle' then
  for i = 1, #KEYS do
    local delta = tonumber(ARGV[4 + 2 * i])
    local k = wkey(KEYS[i], wid)
    if delta ~= 0 and redis.call('EXISTS', k) == 1 then
      if redis.call('INCRBY', k, delta) < 0 then
        redis.call('SET', k, 0, 'KEEPTTL')
      end
    end
  end
elseif op == 'park' then
  for i = 1, #KEYS do
    local ms = tonumber(ARGV[4 + 2 * i])
    local k = KEYS[i] .. ':park'
    if ms > 0 and redis.call('PTTL', k) < ms then
      redis.call('SET', k, 1, 'PX', ms)
    end
  end
end
return {1, -1, 0, 0, wid, now}
