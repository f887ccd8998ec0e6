-- list.lua - make bench: GET /api/v1/jobs?limit=$VEX_BENCH_LIMIT[&cursor=$VEX_BENCH_CURSOR] as $VEX_BENCH_TOKEN (rows 6b, 6c).
wrk.method = "GET"
local cursor = os.getenv("VEX_BENCH_CURSOR") or ""
wrk.path = "/api/v1/jobs?limit=" .. os.getenv("VEX_BENCH_LIMIT") .. (cursor ~= "" and ("&cursor=" .. cursor) or "")
wrk.headers["Authorization"] = "Bearer " .. os.getenv("VEX_BENCH_TOKEN")
dofile(os.getenv("VEX_BENCH_LUA") .. "/report.lua")
