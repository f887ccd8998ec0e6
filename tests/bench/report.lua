-- report.lua - shared by the make bench wrk scripts: writes the run's figures as JSON to $VEX_BENCH_OUT.
function done(summary, latency, requests)
	local path = os.getenv("VEX_BENCH_OUT")
	if path == nil or path == "" then
		return
	end
	local e = summary.errors
	local secs = summary.duration / 1e6
	local f = assert(io.open(path, "w"))
	f:write(string.format(
		'{"requests":%d,"seconds":%.3f,"requests_per_s":%.1f,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
		'"max_us":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}}\n',
		summary.requests, secs, summary.requests / secs,
		latency:percentile(50.0), latency:percentile(90.0), latency:percentile(99.0), latency.max,
		e.connect, e.read, e.write, e.status, e.timeout))
	f:close()
end
