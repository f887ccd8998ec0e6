/* migrations.c - the SQLite schema: numbered migrations, applied at open by db.c (PRAGMA user_version). */
#include "core/store/sqlite/store_internal.h"

/*
 * Numbered migrations: migrations[i] takes the schema from user_version i to i + 1.
 * Append only; never edit a shipped entry.
 */
const char *const vex_store_migrations[] = {
	/* 1: agents, jobs, runners. Times are Unix microseconds; NULL means "not set". */
	"CREATE TABLE agents ("
	" id TEXT PRIMARY KEY NOT NULL,"
	" owner TEXT NOT NULL,"
	" name TEXT NOT NULL,"
	" role TEXT NOT NULL,"
	" max_depth INTEGER NOT NULL,"
	" spawn_shadow INTEGER NOT NULL DEFAULT 0,"
	" model TEXT,"
	" tools_json TEXT,"
	" base_url TEXT,"
	" schedule_json TEXT,"
	" status TEXT NOT NULL CHECK (status IN ('ACTIVE','PAUSED','DELETED')),"
	" generation INTEGER NOT NULL DEFAULT 0,"
	" fitness REAL NOT NULL DEFAULT 0,"
	" plan TEXT NOT NULL DEFAULT 'free',"
	" created_at INTEGER NOT NULL,"
	" updated_at INTEGER NOT NULL"
	");"
	"CREATE INDEX agents_owner_id ON agents(owner, id);"
	/* Agents the scheduler looks at. */
	"CREATE INDEX agents_scheduled ON agents(id) WHERE schedule_json IS NOT NULL AND status = 'ACTIVE';"
	"CREATE TABLE jobs ("
	" id TEXT PRIMARY KEY NOT NULL,"
	" owner TEXT NOT NULL,"
	" plan TEXT NOT NULL,"
	" kind TEXT NOT NULL CHECK (kind IN ('agent','tool')),"
	" agent_id TEXT REFERENCES agents(id),"
	" tool TEXT,"
	" input_json TEXT NOT NULL,"
	" status TEXT NOT NULL CHECK (status IN ('queued','running','completed','failed','timeout','canceled')),"
	" attempts INTEGER NOT NULL DEFAULT 0,"
	" max_attempts INTEGER NOT NULL DEFAULT 1,"
	" priority INTEGER NOT NULL DEFAULT 0,"
	" timeout_ms INTEGER NOT NULL DEFAULT 0,"
	" created_at INTEGER NOT NULL,"
	" started_at INTEGER,"
	" completed_at INTEGER,"
	" updated_at INTEGER NOT NULL,"
	" progress_step TEXT,"
	" progress_total INTEGER NOT NULL DEFAULT 0,"
	" progress_pct REAL NOT NULL DEFAULT 0,"
	" progress_message TEXT,"
	" result_json TEXT,"
	" error_code TEXT,"
	" error_message TEXT,"
	" error_details_json TEXT,"
	" tokens_in INTEGER NOT NULL DEFAULT 0,"
	" tokens_out INTEGER NOT NULL DEFAULT 0,"
	" final_model TEXT,"
	" steps INTEGER NOT NULL DEFAULT 0,"
	" browser_steps INTEGER NOT NULL DEFAULT 0,"
	" browser_seconds REAL NOT NULL DEFAULT 0,"
	" idempotency_key TEXT,"
	" cancel_requested INTEGER NOT NULL DEFAULT 0,"
	" lease_owner TEXT,"
	" lease_expires_at INTEGER,"
	" rev INTEGER NOT NULL DEFAULT 1"
	");"
	/* Owner listings (newest first), and with a status filter. The (owner, status, id) index also
	 * serves the per-owner running count of claims, so no separate (owner, status) index. */
	"CREATE INDEX jobs_owner_id ON jobs(owner, id);"
	"CREATE INDEX jobs_owner_status_id ON jobs(owner, status, id);"
	/* Claims: best queued job first. Partial: only queued rows are in it, so it stays as small
	 * as the queue, and a job leaves it when claimed. */
	"CREATE INDEX jobs_claim ON jobs(priority DESC, id) WHERE status = 'queued';"
	/* One agent's jobs (events), newest first; started_at bounds filter along the way. */
	"CREATE INDEX jobs_agent_id ON jobs(agent_id, id) WHERE agent_id IS NOT NULL;"
	/* Rescue of expired leases. Partial: a submit (status queued) does not touch it. */
	"CREATE INDEX jobs_lease ON jobs(lease_expires_at) WHERE status = 'running';"
	"CREATE UNIQUE INDEX jobs_idem ON jobs(owner, idempotency_key) WHERE idempotency_key IS NOT NULL;"
	/* A tool's recent runs (estimated durations, per-tool listings). */
	"CREATE INDEX jobs_tool_id ON jobs(tool, id) WHERE tool IS NOT NULL;"
	/* API keys: only the SHA-256 of a key is stored (hex), with a short prefix for display. */
	"CREATE TABLE api_keys ("
	" id TEXT PRIMARY KEY NOT NULL,"
	" owner TEXT NOT NULL,"
	" role TEXT NOT NULL CHECK (role IN ('user','admin')),"
	" plan TEXT NOT NULL,"
	" name TEXT,"
	" hash TEXT NOT NULL UNIQUE,"
	" prefix TEXT NOT NULL,"
	" created_at INTEGER NOT NULL,"
	" last_used_at INTEGER,"
	" revoked_at INTEGER"
	");"
	"CREATE INDEX api_keys_owner_id ON api_keys(owner, id);"
	/* Scheduled runs: one row per (agent, UTC minute slot) fired, so a slot fires exactly once
	 * whatever the number of runners and restarts. */
	"CREATE TABLE schedule_fires ("
	" agent_id TEXT NOT NULL REFERENCES agents(id),"
	" slot INTEGER NOT NULL,"
	" job_id TEXT NOT NULL,"
	" fired_at INTEGER NOT NULL,"
	" PRIMARY KEY (agent_id, slot)"
	");"
	"CREATE TABLE runners ("
	" id TEXT PRIMARY KEY NOT NULL,"
	" pid INTEGER NOT NULL,"
	" beat_at INTEGER NOT NULL"
	");"
	"CREATE INDEX runners_beat ON runners(beat_at);",

	/* 2: job events (streams, webhooks) and webhooks. */
	/* Every change of a job (insert, or an update that bumps rev) leaves one row, written by the
	 * triggers below inside the transaction that made the change, so no path can forget it.
	 * seq is the rowid without AUTOINCREMENT: pruning never removes the newest row, so seq keeps
	 * growing. Terminal fields (result, error) are read from the job itself, which never changes
	 * again once terminal. */
	"CREATE TABLE job_events ("
	" seq INTEGER PRIMARY KEY,"
	" job_id TEXT NOT NULL,"
	" owner TEXT NOT NULL,"
	" rev INTEGER NOT NULL,"
	" type TEXT NOT NULL,"
	" status TEXT NOT NULL,"
	" attempts INTEGER NOT NULL,"
	" started_at INTEGER,"
	" progress_step TEXT,"
	" progress_total INTEGER NOT NULL DEFAULT 0,"
	" progress_pct REAL NOT NULL DEFAULT 0,"
	" progress_message TEXT,"
	" cancel_requested INTEGER NOT NULL DEFAULT 0,"
	" at INTEGER NOT NULL"
	");"
	"CREATE INDEX job_events_job ON job_events(job_id, rev);"
	"CREATE INDEX job_events_at ON job_events(at);"
	"CREATE TRIGGER jobs_event_insert AFTER INSERT ON jobs BEGIN"
	" INSERT INTO job_events(job_id, owner, rev, type, status, attempts, started_at, progress_step,"
	" progress_total, progress_pct, progress_message, cancel_requested, at)"
	" VALUES (NEW.id, NEW.owner, NEW.rev, 'queued', NEW.status, NEW.attempts, NEW.started_at,"
	" NEW.progress_step, NEW.progress_total, NEW.progress_pct, NEW.progress_message, NEW.cancel_requested,"
	" NEW.updated_at);"
	" END;"
	"CREATE TRIGGER jobs_event_update AFTER UPDATE ON jobs WHEN NEW.rev != OLD.rev BEGIN"
	" INSERT INTO job_events(job_id, owner, rev, type, status, attempts, started_at, progress_step,"
	" progress_total, progress_pct, progress_message, cancel_requested, at)"
	" VALUES (NEW.id, NEW.owner, NEW.rev,"
	" CASE WHEN NEW.status != OLD.status THEN"
	" (CASE NEW.status WHEN 'running' THEN 'started' WHEN 'queued' THEN 'requeued' ELSE NEW.status END)"
	" WHEN NEW.cancel_requested != OLD.cancel_requested THEN 'cancel_requested' ELSE 'progress' END,"
	" NEW.status, NEW.attempts, NEW.started_at, NEW.progress_step, NEW.progress_total, NEW.progress_pct,"
	" NEW.progress_message, NEW.cancel_requested, NEW.updated_at);"
	" END;"
	/* How far a consumer of job_events got (the webhook fan-out: 'webhooks'). */
	"CREATE TABLE event_cursors ("
	" name TEXT PRIMARY KEY NOT NULL,"
	" seq INTEGER NOT NULL"
	");"
	"INSERT INTO event_cursors(name, seq) VALUES ('webhooks', 0);"
	/* Webhooks: events is a bit mask (VEX_HOOK_EV_*); the secret is kept to sign deliveries. */
	"CREATE TABLE webhooks ("
	" id TEXT PRIMARY KEY NOT NULL,"
	" owner TEXT NOT NULL,"
	" url TEXT NOT NULL,"
	" events INTEGER NOT NULL,"
	" description TEXT,"
	" secret TEXT NOT NULL,"
	" status TEXT NOT NULL CHECK (status IN ('active','disabled','deleted')),"
	" disabled_reason TEXT,"
	" failing_since INTEGER,"
	" last_error TEXT,"
	" created_at INTEGER NOT NULL,"
	" updated_at INTEGER NOT NULL"
	");"
	"CREATE INDEX webhooks_owner_id ON webhooks(owner, id);"
	/* One row per (hook, job event): id is the webhook-id header (stable across retries), payload
	 * the exact body every attempt sends. */
	"CREATE TABLE webhook_deliveries ("
	" id TEXT PRIMARY KEY NOT NULL,"
	" hook_id TEXT NOT NULL REFERENCES webhooks(id),"
	" owner TEXT NOT NULL,"
	" job_id TEXT NOT NULL,"
	" event_seq INTEGER NOT NULL,"
	" event TEXT NOT NULL,"
	" payload TEXT NOT NULL,"
	" status TEXT NOT NULL CHECK (status IN ('pending','delivered','failed','canceled')),"
	" attempts INTEGER NOT NULL DEFAULT 0,"
	" next_at INTEGER NOT NULL,"
	" claimed_by TEXT,"
	" claimed_until INTEGER,"
	" last_status_code INTEGER,"
	" last_error TEXT,"
	" created_at INTEGER NOT NULL,"
	" finished_at INTEGER"
	");"
	"CREATE INDEX webhook_deliveries_hook ON webhook_deliveries(hook_id, id);"
	"CREATE UNIQUE INDEX webhook_deliveries_event ON webhook_deliveries(hook_id, event_seq);"
	/* In order per (hook, job): the oldest pending delivery of a pair goes first. */
	"CREATE INDEX webhook_deliveries_order ON webhook_deliveries(hook_id, job_id, event_seq)"
	" WHERE status = 'pending';"
	"CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_at) WHERE status = 'pending';"
	/* Every attempt, with a capped response body. */
	"CREATE TABLE webhook_attempts ("
	" delivery_id TEXT NOT NULL REFERENCES webhook_deliveries(id),"
	" n INTEGER NOT NULL,"
	" at INTEGER NOT NULL,"
	" status_code INTEGER,"
	" error TEXT,"
	" duration_us INTEGER NOT NULL,"
	" response_body TEXT,"
	" PRIMARY KEY (delivery_id, n)"
	");",

	/* 3: the tool catalog the runner publishes (command tools, MCP servers' tools) and vex-api
	 * reads for validation and listing. Builtins are compiled into both programs, not stored. */
	"CREATE TABLE tools ("
	" name TEXT PRIMARY KEY NOT NULL,"
	" short_name TEXT NOT NULL,"
	" server TEXT,"
	" source TEXT NOT NULL CHECK (source IN ('command','mcp')),"
	" description TEXT NOT NULL DEFAULT '',"
	" input_schema TEXT NOT NULL,"
	" updated_at INTEGER NOT NULL"
	");"
	"CREATE INDEX tools_short ON tools(short_name);"
	"CREATE INDEX tools_server ON tools(server) WHERE server IS NOT NULL;",

	/* 4: tool grants. A catalog row carries who besides admins may run it (core/tools/grant.h; NULL:
	 * admins only); a job and an agent carry their owner's role as of the submit (or the create),
	 * so the runner offers an agent's model only what that owner may run. */
	"ALTER TABLE tools ADD COLUMN grant_json TEXT;"
	"ALTER TABLE jobs ADD COLUMN owner_role TEXT NOT NULL DEFAULT 'user';"
	"ALTER TABLE agents ADD COLUMN owner_role TEXT NOT NULL DEFAULT 'user';",

	/* 5: fair claims (docs/runner.md). Each owner's queue in claim order: a skip scan finds the
	 * owners with queued work, one seek each's best job. Each hook's pending deliveries by due time
	 * and by claim expiry: its next deliveries and its in-flight count, whatever its backlog. */
	"CREATE INDEX jobs_owner_queue ON jobs(owner, priority DESC, id) WHERE status = 'queued';"
	"CREATE INDEX webhook_deliveries_hook_due ON webhook_deliveries(hook_id, next_at) WHERE status = 'pending';"
	"CREATE INDEX webhook_deliveries_hook_claim ON webhook_deliveries(hook_id, claimed_until)"
	" WHERE status = 'pending';",

	/* 6: token revocations (by jti, or by subject with an iat cut-off in Unix seconds), checked on
	 * every authentication by the two indexes; the stream server reads new revocations and newly
	 * revoked keys by their times. */
	"CREATE TABLE token_revocations ("
	" id TEXT PRIMARY KEY NOT NULL,"
	" jti TEXT,"
	" sub TEXT,"
	" issued_before INTEGER,"
	" reason TEXT,"
	" created_by TEXT NOT NULL,"
	" created_at INTEGER NOT NULL,"
	" CHECK ((jti IS NULL) <> (sub IS NULL)),"
	" CHECK ((sub IS NULL) = (issued_before IS NULL))"
	");"
	"CREATE UNIQUE INDEX token_revocations_jti ON token_revocations(jti) WHERE jti IS NOT NULL;"
	"CREATE INDEX token_revocations_sub ON token_revocations(sub, issued_before) WHERE sub IS NOT NULL;"
	"CREATE INDEX token_revocations_created ON token_revocations(created_at);"
	"CREATE INDEX api_keys_revoked ON api_keys(revoked_at) WHERE revoked_at IS NOT NULL;",

	/* 7: the request an Idempotency-Key came with (hex SHA-256 of method, path and canonical
	 * body), so the same key sent with another request is refused instead of answered with the
	 * first request's job. NULL for jobs without a key and for keyed jobs stored before. */
	"ALTER TABLE jobs ADD COLUMN request_hash TEXT;",

	/* 8: each owner's number of queued jobs (store_caps.c), kept by triggers on every insert,
	 * status change and delete of a job and filled here from the jobs already queued, so that the
	 * queued-job cap is one point read in the insert's transaction however long the queue. */
	"CREATE TABLE owner_queued (owner TEXT PRIMARY KEY NOT NULL, n INTEGER NOT NULL) WITHOUT ROWID;"
	"INSERT INTO owner_queued(owner, n) SELECT owner, COUNT(*) FROM jobs WHERE status = 'queued' GROUP BY owner;"
	"CREATE TRIGGER owner_queued_insert AFTER INSERT ON jobs WHEN NEW.status = 'queued' BEGIN"
	" INSERT INTO owner_queued(owner, n) VALUES (NEW.owner, 1) ON CONFLICT(owner) DO UPDATE SET n = n + 1; END;"
	"CREATE TRIGGER owner_queued_enter AFTER UPDATE OF status ON jobs"
	" WHEN OLD.status <> 'queued' AND NEW.status = 'queued' BEGIN"
	" INSERT INTO owner_queued(owner, n) VALUES (NEW.owner, 1) ON CONFLICT(owner) DO UPDATE SET n = n + 1; END;"
	"CREATE TRIGGER owner_queued_leave AFTER UPDATE OF status ON jobs"
	" WHEN OLD.status = 'queued' AND NEW.status <> 'queued' BEGIN"
	" UPDATE owner_queued SET n = n - 1 WHERE owner = OLD.owner; END;"
	"CREATE TRIGGER owner_queued_delete AFTER DELETE ON jobs WHEN OLD.status = 'queued' BEGIN"
	" UPDATE owner_queued SET n = n - 1 WHERE owner = OLD.owner; END;",

	/* 9: retention (docs/retention.md). Finished jobs by completion time, oldest first: partial, so
	 * submits, claims and running jobs never touch it; a job's deliveries, deleted with it; schedule
	 * fires by slot, kept while the scheduler may look at their slot. */
	"CREATE INDEX jobs_finished ON jobs(completed_at) WHERE status IN ('completed','failed','timeout','canceled');"
	"CREATE INDEX webhook_deliveries_job ON webhook_deliveries(job_id);"
	"CREATE INDEX schedule_fires_slot ON schedule_fires(slot);",

	/* 10: operator actions (docs/operations.md): a retry's links both ways (set in the retry's insert
	 * transaction); a re-sent webhook delivery (resend_of: the delivery it repeats, same event and
	 * body, so the one-delivery-per-event index leaves re-sends out); paused claiming, one row per
	 * paused tool ('' pauses every claim), read by each claim (store_job_writes.c). */
	"ALTER TABLE jobs ADD COLUMN retry_of TEXT;"
	"ALTER TABLE jobs ADD COLUMN retried_by TEXT;"
	"ALTER TABLE webhook_deliveries ADD COLUMN resend_of TEXT;"
	"DROP INDEX webhook_deliveries_event;"
	"CREATE UNIQUE INDEX webhook_deliveries_event ON webhook_deliveries(hook_id, event_seq) WHERE resend_of IS NULL;"
	"CREATE TABLE claim_pauses ("
	" tool TEXT PRIMARY KEY NOT NULL,"
	" paused_at INTEGER NOT NULL,"
	" paused_by TEXT NOT NULL"
	") WITHOUT ROWID;",

	/* 11: the W3C traceparent a submit carried (core/base/traceparent.h; docs/api-vex.md, "Trace
	 * context"), NULL when none or an invalid one was sent; the runner logs it, hands it to MCP
	 * servers and sends it with the job's webhooks. */
	"ALTER TABLE jobs ADD COLUMN traceparent TEXT CHECK (traceparent IS NULL OR length(traceparent) = 55);",

	/* 12: metrics (issue 14): the number of jobs of each kind and status, kept by triggers on every insert,
	 * status change and delete of a job and filled here from the jobs there are, so that /metrics reads
	 * twelve rows (vex_sqlite_metrics_counts) however long the history. */
	"CREATE TABLE job_counts (kind TEXT NOT NULL, status TEXT NOT NULL, n INTEGER NOT NULL,"
	" PRIMARY KEY (kind, status)) WITHOUT ROWID;"
	"INSERT INTO job_counts(kind, status, n) SELECT kind, status, COUNT(*) FROM jobs GROUP BY kind, status;"
	"CREATE TRIGGER job_counts_insert AFTER INSERT ON jobs BEGIN"
	" INSERT INTO job_counts(kind, status, n) VALUES (NEW.kind, NEW.status, 1)"
	" ON CONFLICT(kind, status) DO UPDATE SET n = n + 1; END;"
	"CREATE TRIGGER job_counts_update AFTER UPDATE OF status ON jobs WHEN OLD.status <> NEW.status BEGIN"
	" UPDATE job_counts SET n = n - 1 WHERE kind = OLD.kind AND status = OLD.status;"
	" INSERT INTO job_counts(kind, status, n) VALUES (NEW.kind, NEW.status, 1)"
	" ON CONFLICT(kind, status) DO UPDATE SET n = n + 1; END;"
	"CREATE TRIGGER job_counts_delete AFTER DELETE ON jobs BEGIN"
	" UPDATE job_counts SET n = n - 1 WHERE kind = OLD.kind AND status = OLD.status; END;",

	/* 13: stats (docs/api-vex.md, Stats). Each owner's jobs by status, kept by triggers on every
	 * insert, status change and delete of a job, so that the counts are a read of a few rows however
	 * long the history (the global count is their SUM). Per (owner, minute, kind, name, metric) the
	 * jobs submitted (metric 0, by created_at's minute) and finished (by completed_at's minute: 2
	 * failed, 3 timeout, 4 canceled, and completed ones by latency, completed_at - created_at, in
	 * fixed buckets: metric 100 + bucket, bounds vex_lat_bounds_us of core/store/stats.h),
	 * written by triggers in the transaction of the change and pruned by
	 * retention after VEX_STATS_KEEP_MINUTES; name is the tool of a tool job, the agent id of an agent
	 * job. The runners' heartbeat carries host, start time, slots and busy slots. No index for an
	 * owner's listing by tool: one on (owner, tool, id) halved end-to-end throughput (docs/bench.md,
	 * "Issue 14's cost"); such a listing seeks the owner's jobs and filters. Nothing is back-filled:
	 * the series start at the upgrade, the counts hold every stored job. */
	"CREATE TABLE job_status_counts (owner TEXT NOT NULL, status TEXT NOT NULL, n INTEGER NOT NULL,"
	" PRIMARY KEY (owner, status)) WITHOUT ROWID;"
	"INSERT INTO job_status_counts(owner, status, n) SELECT owner, status, COUNT(*) FROM jobs GROUP BY owner, status;"
	"CREATE TRIGGER job_status_counts_delete AFTER DELETE ON jobs BEGIN"
	" UPDATE job_status_counts SET n = n - 1 WHERE owner = OLD.owner AND status = OLD.status; END;"
	"CREATE TABLE job_minute_stats (owner TEXT NOT NULL, minute INTEGER NOT NULL, kind TEXT NOT NULL,"
	" name TEXT NOT NULL, metric INTEGER NOT NULL, n INTEGER NOT NULL,"
	" PRIMARY KEY (owner, minute, kind, name, metric)) WITHOUT ROWID;"
	"CREATE INDEX job_minute_stats_minute ON job_minute_stats(minute);"
	"CREATE TRIGGER job_stats_insert AFTER INSERT ON jobs BEGIN"
	" INSERT INTO job_status_counts(owner, status, n) VALUES (NEW.owner, NEW.status, 1)"
	" ON CONFLICT(owner, status) DO UPDATE SET n = n + 1;"
	" INSERT INTO job_minute_stats(owner, minute, kind, name, metric, n) VALUES (NEW.owner,"
	" NEW.created_at / 60000000, NEW.kind,"
	" CASE NEW.kind WHEN 'tool' THEN COALESCE(NEW.tool, '') ELSE COALESCE(NEW.agent_id, '') END, 0, 1)"
	" ON CONFLICT(owner, minute, kind, name, metric) DO UPDATE SET n = n + 1; END;"
	/* A status change moves one count; a finish adds one rollup row: a completed job its latency
	 * bucket (completed_at - created_at; the completed count is the buckets' sum), any other end
	 * its status. Plain statements, no subquery, one per change: every statement here costs each
	 * claim and finish (docs/bench.md). */
	"CREATE TRIGGER job_stats_status AFTER UPDATE OF status ON jobs WHEN OLD.status <> NEW.status BEGIN"
	" UPDATE job_status_counts SET n = n - 1 WHERE owner = OLD.owner AND status = OLD.status;"
	" INSERT INTO job_status_counts(owner, status, n) VALUES (NEW.owner, NEW.status, 1)"
	" ON CONFLICT(owner, status) DO UPDATE SET n = n + 1; END;"
	"CREATE TRIGGER job_stats_finish AFTER UPDATE OF status ON jobs WHEN OLD.status <> NEW.status"
	" AND NEW.status IN ('completed','failed','timeout','canceled') BEGIN"
	" INSERT INTO job_minute_stats(owner, minute, kind, name, metric, n) VALUES (NEW.owner,"
	" COALESCE(NEW.completed_at, NEW.updated_at) / 60000000, NEW.kind,"
	" CASE NEW.kind WHEN 'tool' THEN COALESCE(NEW.tool, '') ELSE COALESCE(NEW.agent_id, '') END,"
	" CASE WHEN NEW.status = 'failed' THEN 2 WHEN NEW.status = 'timeout' THEN 3 WHEN NEW.status = 'canceled' THEN 4"
	" WHEN COALESCE(NEW.completed_at, NEW.updated_at) - NEW.created_at <= 250 THEN 100"
	" WHEN COALESCE(NEW.completed_at, NEW.updated_at) - NEW.created_at <= 500 THEN 101"
	" WHEN COALESCE(NEW.completed_at, NEW.updated_at) - NEW.created_at <= 1000 THEN 102"
	" WHEN COALESCE(NEW.completed_at, NEW.updated_at) - NEW.created_at <= 2500 THEN 103"
	" WHEN COALESCE(NEW.completed_at, NEW.updated_at) - NEW.created_at <= 5000 THEN 104"
	" WHEN COALESCE(NEW.completed_at, NEW.updated_at) - NEW.created_at <= 10000 THEN 105"
	" WHEN COALESCE(NEW.completed_at, NEW.updated_at) - NEW.created_at <= 25000 THEN 106"
	" WHEN COALESCE(NEW.completed_at, NEW.updated_at) - NEW.created_at <= 50000 THEN 107"
	" WHEN COALESCE(NEW.completed_at, NEW.updated_at) - NEW.created_at <= 100000 THEN 108"
	" WHEN COALESCE(NEW.completed_at, NEW.updated_at) - NEW.created_at <= 250000 THEN 109"
	" WHEN COALESCE(NEW.completed_at, NEW.updated_at) - NEW.created_at <= 500000 THEN 110"
	" WHEN COALESCE(NEW.completed_at, NEW.updated_at) - NEW.created_at <= 1000000 THEN 111"
	" WHEN COALESCE(NEW.completed_at, NEW.updated_at) - NEW.created_at <= 2500000 THEN 112"
	" WHEN COALESCE(NEW.completed_at, NEW.updated_at) - NEW.created_at <= 5000000 THEN 113"
	" WHEN COALESCE(NEW.completed_at, NEW.updated_at) - NEW.created_at <= 10000000 THEN 114"
	" WHEN COALESCE(NEW.completed_at, NEW.updated_at) - NEW.created_at <= 25000000 THEN 115"
	" WHEN COALESCE(NEW.completed_at, NEW.updated_at) - NEW.created_at <= 50000000 THEN 116"
	" WHEN COALESCE(NEW.completed_at, NEW.updated_at) - NEW.created_at <= 100000000 THEN 117"
	" WHEN COALESCE(NEW.completed_at, NEW.updated_at) - NEW.created_at <= 250000000 THEN 118"
	" WHEN COALESCE(NEW.completed_at, NEW.updated_at) - NEW.created_at <= 500000000 THEN 119"
	" WHEN COALESCE(NEW.completed_at, NEW.updated_at) - NEW.created_at <= 1000000000 THEN 120"
	" ELSE 121 END, 1) ON CONFLICT(owner, minute, kind, name, metric) DO UPDATE SET n = n + 1; END;"
	"ALTER TABLE runners ADD COLUMN host TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE runners ADD COLUMN started_at INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE runners ADD COLUMN slots INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE runners ADD COLUMN busy INTEGER NOT NULL DEFAULT 0;",

	/* 14: lighter counters (docs/bench.md, "Issue 14's cost"). Migrations 8, 12 and 13 kept three
	 * tables of counts (owner_queued, job_counts, job_status_counts) and a per-minute rollup, each
	 * by its own triggers: fourteen statements per job in the write transactions every submit,
	 * claim and finish wait behind. One table, job_tally (owner, status, kind), replaces the three
	 * counts (the queued-job cap reads an owner's two queued rows, stats an owner's twelve, /metrics
	 * sums over owners): one statement per insert, two per status change. The rollup is no longer
	 * written by triggers: the runner folds the job events in batches, outside the hot path,
	 * behind the cursor 'stats' (vex_sqlite_stats_rollup), starting from the newest event here. */
	"DROP TRIGGER IF EXISTS job_stats_finish; DROP TRIGGER IF EXISTS job_stats_status; DROP TRIGGER IF EXISTS job_stats_insert;"
	"DROP TRIGGER IF EXISTS job_status_counts_delete; DROP TRIGGER IF EXISTS job_counts_insert; DROP TRIGGER IF EXISTS job_counts_update;"
	"DROP TRIGGER IF EXISTS job_counts_delete; DROP TRIGGER IF EXISTS owner_queued_insert; DROP TRIGGER IF EXISTS owner_queued_enter;"
	"DROP TRIGGER IF EXISTS owner_queued_leave; DROP TRIGGER IF EXISTS owner_queued_delete;"
	"DROP TABLE IF EXISTS job_status_counts; DROP TABLE IF EXISTS job_counts; DROP TABLE IF EXISTS owner_queued;"
	"CREATE TABLE job_tally (owner TEXT NOT NULL, status TEXT NOT NULL, kind TEXT NOT NULL, n INTEGER NOT NULL,"
	" PRIMARY KEY (owner, status, kind)) WITHOUT ROWID;"
	"INSERT INTO job_tally(owner, status, kind, n) SELECT owner, status, kind, COUNT(*) FROM jobs"
	" GROUP BY owner, status, kind;"
	"CREATE TRIGGER job_tally_insert AFTER INSERT ON jobs BEGIN"
	" INSERT INTO job_tally(owner, status, kind, n) VALUES (NEW.owner, NEW.status, NEW.kind, 1)"
	" ON CONFLICT(owner, status, kind) DO UPDATE SET n = n + 1; END;"
	"CREATE TRIGGER job_tally_update AFTER UPDATE OF status ON jobs WHEN OLD.status <> NEW.status BEGIN"
	" UPDATE job_tally SET n = n - 1 WHERE owner = OLD.owner AND status = OLD.status AND kind = OLD.kind;"
	" INSERT INTO job_tally(owner, status, kind, n) VALUES (NEW.owner, NEW.status, NEW.kind, 1)"
	" ON CONFLICT(owner, status, kind) DO UPDATE SET n = n + 1; END;"
	"CREATE TRIGGER job_tally_delete AFTER DELETE ON jobs BEGIN"
	" UPDATE job_tally SET n = n - 1 WHERE owner = OLD.owner AND status = OLD.status AND kind = OLD.kind; END;"
	"INSERT INTO event_cursors(name, seq) VALUES ('stats', (SELECT COALESCE(MAX(seq), 0) FROM job_events));",
};

const int vex_store_migration_count = (int)(sizeof(vex_store_migrations) / sizeof(vex_store_migrations[0]));
