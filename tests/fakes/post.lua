-- post.lua - wrk script: POST a small chat request to the mock LLM.
-- Usage: wrk -t2 -c64 -d5s -s tests/fakes/post.lua http://127.0.0.1:PORT/v1/chat/completions
-- Set WRK_STREAM=1 in the environment to ask for a streamed reply.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer sk-bench"
local stream = os.getenv("WRK_STREAM") == "1"
wrk.body = '{"model":"gpt-4o-mini","stream":' .. (stream and "true" or "false") ..
    ',"messages":[{"role":"system","content":"You are terse."},' ..
    '{"role":"user","content":"Say hello in five words."}]}'
