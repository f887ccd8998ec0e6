-- runner_echo.lua - tests/bench/runner_cpu: POST /api/v1/tools/echo/execute ($VEX_BENCH_TOKEN), a builtin no-op job.
wrk.method = "POST"
wrk.path = "/api/v1/tools/echo/execute"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("VEX_BENCH_TOKEN")
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"arguments":{"i":1}}'
