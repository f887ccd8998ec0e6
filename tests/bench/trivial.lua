-- trivial.lua - make bench: GET /bench/trivial (nginx + libfcgi hello-world, the poll baseline).
wrk.method = "GET"
wrk.path = "/bench/trivial"
dofile(os.getenv("VEX_BENCH_LUA") .. "/report.lua")
