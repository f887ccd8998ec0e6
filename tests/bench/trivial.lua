-- trivial.lua - make bench: GET /bench/trivial (nginx + libfcgi hello-world, the poll baseline).
wrk.method = "GET"
wrk.path = "/bench/trivial"
-- The same credential as the polls, so both pay the same nginx limit_req lookups.
wrk.headers["Authorization"] = "Bearer " .. os.getenv("VEX_BENCH_TOKEN")
dofile(os.getenv("VEX_BENCH_LUA") .. "/report.lua")
