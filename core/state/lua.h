/*
 * lua.h - the Redis Lua scripts, kept as core/state/lua/NAME.lua and
 * embedded at build time (the Makefile runs tools/embed.sh on each):
 * sy_lua_NAME() returns the script's text, NUL-terminated, and its length
 * in '*len'. One line per script; add yours, leave the others.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_CORE_LUA_H
#define SY_CORE_LUA_H

#include <stddef.h>

const char *sy_lua_breaker(size_t *len);
const char *sy_lua_budget(size_t *len);
const char *sy_lua_ratelimit(size_t *len);
const char *sy_lua_vkeys(size_t *len);
const char *sy_lua_responses_del(size_t *len);
const char *sy_lua_spend(size_t *len);

#endif
