-- responses_del.lua - delete one stored response of the Responses API,
-- only when its owner asks (core/state/responses.c runs it): reading the
-- owner and deleting in one script, so that nothing written in between
-- is deleted on the strength of an old check.
--
-- KEYS[1] = "<prefix>resp:<id>" (sy_key_response).
-- ARGV[1] = the text every record of the caller starts with,
-- '{"owner":"<name>",' (the owner is the first member, written by C).
-- Returns 1 when deleted, 0 when absent or another caller's.
-- SPDX-License-Identifier: MIT
local head = ARGV[1]
if redis.call('GETRANGE', KEYS[1], 0, #head - 1) ~= head then
  return 0
end
redis.call('DEL', KEYS[1])
return 1
