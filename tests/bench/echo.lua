-- echo.lua - make bench: durable POST /api/v1/tools/echo/execute ($VEX_BENCH_TOKEN): rows 2, 2b, 2c and 6d-6e.
wrk.method = "POST"
wrk.path = "/api/v1/tools/echo/execute"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("VEX_BENCH_TOKEN")
wrk.headers["Content-Type"] = "application/json"
-- The same text as bench-sqlite-insert stores, so both write rows of a like size.
wrk.body = '{"arguments":{"text":"benchmark prompt: say something short about durable queues"}}'
dofile(os.getenv("VEX_BENCH_LUA") .. "/report.lua")
