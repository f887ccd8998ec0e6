-- submit.lua - make bench: durable POST /api/v1/agents/{id}/execute ($VEX_BENCH_AGENT, $VEX_BENCH_TOKEN).
wrk.method = "POST"
wrk.path = "/api/v1/agents/" .. os.getenv("VEX_BENCH_AGENT") .. "/execute"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("VEX_BENCH_TOKEN")
wrk.headers["Content-Type"] = "application/json"
-- The same input as bench-sqlite-insert stores, so both write rows of a like size.
wrk.body = '{"prompt":"benchmark prompt: say something short about durable queues"}'
dofile(os.getenv("VEX_BENCH_LUA") .. "/report.lua")
