-- post.lua - wrk script for the throughput rounds: POST one small chat
-- completion (not streamed) with the bench caller key, the same request
-- to every target (the mock, nginx and fcgi-hello ignore the key).
--   SY_BENCH_KEY=... wrk -t2 -c64 -d4s --latency -s bench/post.lua URL
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("SY_BENCH_KEY") or "sk-bench-unset-key-0000")
wrk.body = '{"model":"gpt-4o-mini","stream":false,"messages":[' ..
    '{"role":"system","content":"You are terse."},' ..
    '{"role":"user","content":"Say hello in five words."}]}'
