-- spend.lua - add one batch of spend (the day's spend hashes, the cost
-- metrics) to Redis exactly once (core/state/spend_queue.c sends it).
--
-- A process numbers its batches 1, 2, 3 ... and sends each, in order,
-- until Redis answers it. KEYS[1] = "<prefix>spendbatch:<process id>"
-- (sy_key_spend_batch) holds the number of its last batch applied, so
-- a batch sent again after its answer was lost is not counted twice,
-- and a batch whose predecessor failed is refused (a gap), so it never
-- overtakes it. KEYS[2..] are the hashes the batch adds to.
-- ARGV: 1 the batch's number; 2 the last one the process knows is done
-- (when the mark is missing or behind it, Redis lost it or the process
-- gave those batches up: it counts as the mark); 3 the mark's TTL s;
-- 4 the increments, each "<hash> <amount> <length>:<field>", <hash> 1
-- for KEYS[2]; 5.. per hash of KEYS[2..] its TTL s (0: none).
-- Returns 1 when applied now, 0 when it had been before.
-- Every check comes before the first write: Redis does not undo a
-- script that fails half way, which would leave a batch marked applied
-- yet partly written (WRONGTYPE on a hash, a field not an integer). The
-- first write is the mark, so an OOM refusal writes nothing at all.
-- SPDX-License-Identifier: MIT
local seq = tonumber(ARGV[1])
local last = tonumber(redis.call('GET', KEYS[1]) or 0) or 0
if last < tonumber(ARGV[2]) then last = tonumber(ARGV[2]) end
if seq <= last then return 0 end
if seq ~= last + 1 then
  return redis.error_reply('ERR spend batch ' .. ARGV[1] ..
                           ' waits for batch ' .. (last + 1))
end
local p, pos, ops = ARGV[4], 1, {}
while pos <= #p do
  local k, amt, len, at = string.match(p, '^(%d+) (%-?%d+) (%d+):()', pos)
  if not k then return redis.error_reply('ERR spend batch: bad increments') end
  local field = string.sub(p, at, at + tonumber(len) - 1)
  ops[#ops + 1] = { KEYS[tonumber(k) + 1], field, amt }
  pos = at + tonumber(len)
end
for i = 2, #KEYS do
  local t = redis.call('TYPE', KEYS[i])['ok']
  if t ~= 'hash' and t ~= 'none' then
    return redis.error_reply('WRONGTYPE spend batch: ' .. KEYS[i] ..
                             ' is a ' .. t .. ', not a hash')
  end
end
for _, op in ipairs(ops) do
  local v = redis.call('HGET', op[1], op[2])
  if v and not string.match(v, '^%-?%d+$') then
    return redis.error_reply('ERR spend batch: ' .. op[1] .. ' ' .. op[2] ..
                             ' is not an integer')
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
for _, op in ipairs(ops) do
  redis.call('HINCRBY', op[1], op[2], op[3])
end
for i = 2, #KEYS do
  if tonumber(ARGV[3 + i]) > 0 then
    redis.call('EXPIRE', KEYS[i], ARGV[3 + i])
  end
end
return 1
