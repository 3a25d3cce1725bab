-- post.lua - wrk script for the throughput rounds: POST one small request
-- (not streamed) with the bench caller key. BENCH_REQ picks it (the URL
-- gives the path):
--   chat       chat completion to group gpt-4o-mini (the default; the
--              same request to the mock, nginx and fcgi-hello, which
--              ignore the key)
--   hedged     the same chat completion to group gpt-4o-mini-hedged
--   messages   Anthropic Messages (POST /v1/messages, x-api-key)
--   responses  OpenAI Responses (POST /v1/responses), "store": false: the
--              surface alone
--   responses_store  the same with the API's default store: every
--              response is also written to the conversation store (Redis)
-- BENCH_CHECK=1 prints the first answer that is not 2xx to stderr (the
-- start-up check of bench/run.sh; it costs wrk a parse per response).
--   SY_BENCH_KEY=... BENCH_REQ=messages wrk -t2 -c64 -d4s --latency \
--       -s bench/post.lua URL/v1/messages
local key = os.getenv("SY_BENCH_KEY") or "sk-bench-unset-key-0000"
local kind = os.getenv("BENCH_REQ") or "chat"

local function chat(model)
    return '{"model":"' .. model .. '","stream":false,"messages":[' ..
        '{"role":"system","content":"You are terse."},' ..
        '{"role":"user","content":"Say hello in five words."}]}'
end

local reqs = {
    chat = { body = chat("gpt-4o-mini") },
    hedged = { body = chat("gpt-4o-mini-hedged") },
    messages = {
        anthropic = true,
        body = '{"model":"gpt-4o-mini","max_tokens":64,"system":"You are terse.",' ..
            '"messages":[{"role":"user","content":"Say hello in five words."}]}',
    },
    responses = {
        body = '{"model":"gpt-4o-mini","instructions":"You are terse.",' ..
            '"input":"Say hello in five words.","store":false}',
    },
    responses_store = {
        body = '{"model":"gpt-4o-mini","instructions":"You are terse.",' ..
            '"input":"Say hello in five words."}',
    },
}
local req = reqs[kind]
if not req then
    error("post.lua: unknown BENCH_REQ '" .. kind .. "'")
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
if req.anthropic then
    wrk.headers["x-api-key"] = key
    wrk.headers["anthropic-version"] = "2023-06-01"
else
    wrk.headers["Authorization"] = "Bearer " .. key
end
wrk.body = req.body

if os.getenv("BENCH_CHECK") == "1" then
    local shown = false
    function response(status, headers, body)
        if status >= 300 and not shown then
            shown = true
            io.stderr:write("HTTP " .. status .. ": " .. string.sub(body or "", 1, 400) .. "\n")
        end
    end
end
