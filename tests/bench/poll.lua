-- poll.lua - make bench: authenticated GET /api/v1/jobs/{id} of a completed job ($VEX_BENCH_JOB, $VEX_BENCH_TOKEN).
wrk.method = "GET"
wrk.path = "/api/v1/jobs/" .. os.getenv("VEX_BENCH_JOB")
wrk.headers["Authorization"] = "Bearer " .. os.getenv("VEX_BENCH_TOKEN")
dofile(os.getenv("VEX_BENCH_LUA") .. "/report.lua")
