-- vkeys.lua - virtual keys in Redis, every operation in one script so
-- that create never half-writes a key and two creates of one name cannot
-- both win (core/state/vkeys.c runs it).
--
-- KEYS[1] = "<prefix>vkname" (sy_key_vkey_index), name -> hmac.
-- ARGV[1] op, ARGV[2] "<prefix>vk:" (sy_key_vkey_base), to which the
-- hmac is appended to name a key's hash (sy_key_vkey); then
--   create name hmac f1 v1 ...  -> 1, or 0 name taken, -1 hmac taken
--   update name f1 v1 ...       -> 1, or 0 unknown name
--   show name                   -> {hmac, f1, v1, ...} or {}
--   lookup hmac                 -> {index hmac of its name or '', f1, v1,
--                                   ...} or {}
--   list                        -> {{hmac, f1, v1, ...}, ...}
-- Field names and values come from C, already validated. The key names
-- built here need a non-cluster Redis, like the rate limits.
-- SPDX-License-Identifier: MIT
local op, VK = ARGV[1], ARGV[2]
local IDX = KEYS[1]
local function entry(hmac)
  local t = redis.call('HGETALL', VK .. hmac)
  if #t == 0 then return nil end
  table.insert(t, 1, hmac)
  return t
end
if op == 'create' then
  local name, hmac = ARGV[3], ARGV[4]
  if redis.call('HEXISTS', IDX, name) == 1 then return 0 end
  if redis.call('EXISTS', VK .. hmac) == 1 then return -1 end
  local f = {}
  for i = 5, #ARGV do f[#f + 1] = ARGV[i] end
  redis.call('HSET', VK .. hmac, unpack(f))
  redis.call('HSET', IDX, name, hmac)
  return 1
elseif op == 'update' then
  local hmac = redis.call('HGET', IDX, ARGV[3])
  if not hmac then return 0 end
  if redis.call('EXISTS', VK .. hmac) == 0 then return 0 end
  if #ARGV >= 5 then
    local f = {}
    for i = 4, #ARGV do f[#f + 1] = ARGV[i] end
    redis.call('HSET', VK .. hmac, unpack(f))
  end
  return 1
elseif op == 'show' then
  local hmac = redis.call('HGET', IDX, ARGV[3])
  if not hmac then return {} end
  return entry(hmac) or {}
elseif op == 'lookup' then
  local t = entry(ARGV[3])
  if not t then return {} end
  local idx = ''
  for i = 2, #t - 1, 2 do
    if t[i] == 'name' then
      idx = redis.call('HGET', IDX, t[i + 1]) or ''
    end
  end
  t[1] = idx
  return t
elseif op == 'list' then
  local all = redis.call('HGETALL', IDX)
  local out = {}
  for i = 1, #all - 1, 2 do
    local t = entry(all[i + 1])
    if t then out[#out + 1] = t end
  end
  return out
end
return redis.error_reply('ERR vkeys: unknown op')
