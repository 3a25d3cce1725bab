-- budget.lua - money budgets in Redis: reserve a worst-case cost, settle
-- it with the real one, read what is spent and reserved
-- (core/state/budget.c runs it).
--
-- KEYS[1] = "<prefix>budget:{<name>}:<period id>" (sy_key_budget), a
-- hash: spent, reserved, seq, "r:<id>" = amount per live reservation,
-- and "d:<id>" for a reservation a resettle charged, until its expiry;
-- KEYS[2] = KEYS[1] .. ":res" (sy_key_budget_res), a sorted set:
-- reservation id by expiry ms.
-- Ids: the counter is never below now * 1000 (ms) at a reserve, so ids
-- are not used again when Redis loses the hash or goes back to an older
-- copy of it (a restart, a failover) while settles of the old ones may
-- still be on their way; below 2^53
-- until the year 2255, and written with %.0f (Lua's own conversion
-- would write 1.7955647990000e+15).
-- ARGV: 1 op (reserve, settle, get), 2 now ms (0: Redis TIME), 3 key TTL
-- s (0: none), then reserve: 4 budget, 5 cost, 6 reservation ms;
-- settle: 4 id, 5 real cost; resettle: 4 id, 5 real cost, 6 the
-- reservation's expiry (ms, this script's clock: reserve's now + ttl).
-- Returns {allowed or found, id, remaining, spent, reserved, now}; a
-- resettle's "found" is 1 (settled now), 2 (settled before: nothing
-- done) or 3 (expired unsettled, or unknown: nothing done).
-- At most 1000 expired reservations are cleaned per call
-- (SY_BUDGET_CLEAN_MAX).
-- SPDX-License-Identifier: MIT
local op = ARGV[1]
local now = tonumber(ARGV[2]) or 0
if now <= 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local kttl = tonumber(ARGV[3]) or 0
local H, Z = KEYS[1], KEYS[2]
local ids = redis.call('ZRANGEBYSCORE', Z, '-inf', now, 'LIMIT', 0, 1000)
for _, id in ipairs(ids) do
  local amt = tonumber(redis.call('HGET', H, 'r:' .. id) or 0)
  if amt ~= 0 then redis.call('HINCRBY', H, 'reserved', -amt) end
  redis.call('HDEL', H, 'r:' .. id, 'd:' .. id)
  redis.call('ZREM', Z, id)
end
local function touch()
  if kttl > 0 then
    redis.call('EXPIRE', H, kttl)
    if redis.call('EXISTS', Z) == 1 then redis.call('EXPIRE', Z, kttl) end
  end
end
local spent = tonumber(redis.call('HGET', H, 'spent') or 0)
local reserved = tonumber(redis.call('HGET', H, 'reserved') or 0)
if op == 'reserve' then
  local budget = tonumber(ARGV[4])
  local cost = tonumber(ARGV[5])
  local ttl = tonumber(ARGV[6])
  -- Never below now * 1000: nor when Redis restored an older copy of
  -- the hash (a snapshot, a lagging replica), whose seq went back.
  if tonumber(redis.call('HGET', H, 'seq') or 0) < now * 1000 then
    redis.call('HSET', H, 'seq', string.format('%.0f', now * 1000))
  end
  local seq = redis.call('HINCRBY', H, 'seq', 1)
  local sid = string.format('%.0f', seq)
  local left = budget - spent - reserved
  if cost > left then
    touch()
    if left < 0 then left = 0 end
    return {0, seq, left, spent, reserved, now}
  end
  redis.call('HSET', H, 'r:' .. sid, cost)
  reserved = redis.call('HINCRBY', H, 'reserved', cost)
  redis.call('ZADD', Z, string.format('%.0f', now + ttl), sid)
  touch()
  return {1, seq, budget - spent - reserved, spent, reserved, now}
elseif op == 'settle' then
  local id = ARGV[4]
  local real = tonumber(ARGV[5])
  local found = 0
  -- A resettle charged it already: this settle was sent first and
  -- arrived late (a connection that hung). Nothing more.
  if redis.call('HEXISTS', H, 'd:' .. id) == 1 then
    return {0, tonumber(id), 0, spent, reserved, now}
  end
  local amt = redis.call('HGET', H, 'r:' .. id)
  if amt then
    reserved = redis.call('HINCRBY', H, 'reserved', -tonumber(amt))
    redis.call('HDEL', H, 'r:' .. id)
    redis.call('ZREM', Z, id)
    found = 1
  end
  if real > 0 then spent = redis.call('HINCRBY', H, 'spent', real) end
  touch()
  return {found, tonumber(id), 0, spent, reserved, now}
elseif op == 'resettle' then
  -- A settle sent again because its first try got no answer: that try
  -- may have run (the reply was lost) or not (Redis was unreachable).
  -- Only a live reservation proves it did not; a missing one that has
  -- not reached its expiry was settled by that try (only a settle
  -- removes a reservation before its expiry). Past the expiry the two
  -- cannot be told apart, and nothing is added: never charged twice.
  local id = ARGV[4]
  local real = tonumber(ARGV[5])
  local expires = tonumber(ARGV[6])
  local amt = redis.call('HGET', H, 'r:' .. id)
  local found = 3
  if amt then
    -- Charged now; the mark "d:<id>" (kept with the reservation's
    -- expiry in Z) stops the first try from charging again should it
    -- still arrive.
    reserved = redis.call('HINCRBY', H, 'reserved', -tonumber(amt))
    redis.call('HDEL', H, 'r:' .. id)
    redis.call('HSET', H, 'd:' .. id, 1)
    if real > 0 then spent = redis.call('HINCRBY', H, 'spent', real) end
    touch()
    found = 1
  elseif redis.call('HEXISTS', H, 'd:' .. id) == 1 or now < expires then
    found = 2
  end
  return {found, tonumber(id), 0, spent, reserved, now}
end
return {1, 0, 0, spent, reserved, now}
