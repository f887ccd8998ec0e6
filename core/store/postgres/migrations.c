/* migrations.c - the PostgreSQL schema: numbered migrations in step with core/store/sqlite/migrations.c. */
#include "core/store/postgres/pg_internal.h"

/*
 * Numbered migrations: vex_pg_migrations[i] takes the schema from version i to i + 1, the PostgreSQL form of
 * SQLite's vex_store_migrations[i]. Append only, never edit a shipped entry, and append to both lists at once.
 * Each entry runs through PQexec (simple query protocol) in one transaction.
 * Mapping: TEXT -> text COLLATE "C", INTEGER -> bigint (Unix microseconds overflow int4), REAL -> double
 * precision; JSON stays text (jsonb would not give the stored bytes back). Every text column compares and
 * sorts by bytes, as SQLite's do, whatever collation the database was created with: listings page by
 * comparing ids, and their indexes serve those comparisons only in the column's own collation. A SQLite trigger is a plpgsql function named after
 * it with an _fn suffix, and a FOR EACH ROW trigger whose WHEN is SQLite's; the functions return NULL (AFTER
 * triggers: the value is ignored). No IF [NOT] EXISTS: the list is this schema's only source, so a name
 * that is not where it should be is a mistake to fail on.
 */
const char *const vex_pg_migrations[] = {
	/* 1: agents, jobs, runners. Times are Unix microseconds; NULL means "not set". */
	"CREATE TABLE agents ("
	" id text COLLATE \"C\" PRIMARY KEY NOT NULL,"
	" owner text COLLATE \"C\" NOT NULL,"
	" name text COLLATE \"C\" NOT NULL,"
	" role text COLLATE \"C\" NOT NULL,"
	" max_depth bigint NOT NULL,"
	" spawn_shadow bigint NOT NULL DEFAULT 0,"
	" model text COLLATE \"C\","
	" tools_json text COLLATE \"C\","
	" base_url text COLLATE \"C\","
	" schedule_json text COLLATE \"C\","
	" status text COLLATE \"C\" NOT NULL CHECK (status IN ('ACTIVE','PAUSED','DELETED')),"
	" generation bigint NOT NULL DEFAULT 0,"
	" fitness double precision NOT NULL DEFAULT 0,"
	" plan text COLLATE \"C\" NOT NULL DEFAULT 'free',"
	" created_at bigint NOT NULL,"
	" updated_at bigint NOT NULL"
	");"
	"CREATE INDEX agents_owner_id ON agents(owner, id);"
	/* Agents the scheduler looks at. */
	"CREATE INDEX agents_scheduled ON agents(id) WHERE schedule_json IS NOT NULL AND status = 'ACTIVE';"
	"CREATE TABLE jobs ("
	" id text COLLATE \"C\" PRIMARY KEY NOT NULL,"
	" owner text COLLATE \"C\" NOT NULL,"
	" plan text COLLATE \"C\" NOT NULL,"
	" kind text COLLATE \"C\" NOT NULL CHECK (kind IN ('agent','tool')),"
	" agent_id text COLLATE \"C\" REFERENCES agents(id),"
	" tool text COLLATE \"C\","
	" input_json text COLLATE \"C\" NOT NULL,"
	" status text COLLATE \"C\" NOT NULL CHECK (status IN ('queued','running','completed','failed','timeout','canceled')),"
	" attempts bigint NOT NULL DEFAULT 0,"
	" max_attempts bigint NOT NULL DEFAULT 1,"
	" priority bigint NOT NULL DEFAULT 0,"
	" timeout_ms bigint NOT NULL DEFAULT 0,"
	" created_at bigint NOT NULL,"
	" started_at bigint,"
	" completed_at bigint,"
	" updated_at bigint NOT NULL,"
	" progress_step text COLLATE \"C\","
	" progress_total bigint NOT NULL DEFAULT 0,"
	" progress_pct double precision NOT NULL DEFAULT 0,"
	" progress_message text COLLATE \"C\","
	" result_json text COLLATE \"C\","
	" error_code text COLLATE \"C\","
	" error_message text COLLATE \"C\","
	" error_details_json text COLLATE \"C\","
	" tokens_in bigint NOT NULL DEFAULT 0,"
	" tokens_out bigint NOT NULL DEFAULT 0,"
	" final_model text COLLATE \"C\","
	" steps bigint NOT NULL DEFAULT 0,"
	" browser_steps bigint NOT NULL DEFAULT 0,"
	" browser_seconds double precision NOT NULL DEFAULT 0,"
	" idempotency_key text COLLATE \"C\","
	" cancel_requested bigint NOT NULL DEFAULT 0,"
	" lease_owner text COLLATE \"C\","
	" lease_expires_at bigint,"
	" rev bigint NOT NULL DEFAULT 1"
	");"
	/* Owner listings (newest first), and with a status filter; the second also serves the per-owner
	 * running count of claims. */
	"CREATE INDEX jobs_owner_id ON jobs(owner, id);"
	"CREATE INDEX jobs_owner_status_id ON jobs(owner, status, id);"
	/* Claims: best queued job first; partial, so it stays as small as the queue. */
	"CREATE INDEX jobs_claim ON jobs(priority DESC, id) WHERE status = 'queued';"
	/* One agent's jobs (events), newest first. */
	"CREATE INDEX jobs_agent_id ON jobs(agent_id, id) WHERE agent_id IS NOT NULL;"
	/* Rescue of expired leases; a submit (status queued) does not touch it. */
	"CREATE INDEX jobs_lease ON jobs(lease_expires_at) WHERE status = 'running';"
	"CREATE UNIQUE INDEX jobs_idem ON jobs(owner, idempotency_key) WHERE idempotency_key IS NOT NULL;"
	/* A tool's recent runs (estimated durations, per-tool listings). */
	"CREATE INDEX jobs_tool_id ON jobs(tool, id) WHERE tool IS NOT NULL;"
	/* API keys: only the SHA-256 of a key is stored (hex), with a short prefix for display. */
	"CREATE TABLE api_keys ("
	" id text COLLATE \"C\" PRIMARY KEY NOT NULL,"
	" owner text COLLATE \"C\" NOT NULL,"
	" role text COLLATE \"C\" NOT NULL CHECK (role IN ('user','admin')),"
	" plan text COLLATE \"C\" NOT NULL,"
	" name text COLLATE \"C\","
	" hash text COLLATE \"C\" NOT NULL UNIQUE,"
	" prefix text COLLATE \"C\" NOT NULL,"
	" created_at bigint NOT NULL,"
	" last_used_at bigint,"
	" revoked_at bigint"
	");"
	"CREATE INDEX api_keys_owner_id ON api_keys(owner, id);"
	/* Scheduled runs: one row per (agent, UTC minute slot) fired, so a slot fires exactly once. */
	"CREATE TABLE schedule_fires ("
	" agent_id text COLLATE \"C\" NOT NULL REFERENCES agents(id),"
	" slot bigint NOT NULL,"
	" job_id text COLLATE \"C\" NOT NULL,"
	" fired_at bigint NOT NULL,"
	" PRIMARY KEY (agent_id, slot)"
	");"
	"CREATE TABLE runners ("
	" id text COLLATE \"C\" PRIMARY KEY NOT NULL,"
	" pid bigint NOT NULL,"
	" beat_at bigint NOT NULL"
	");"
	"CREATE INDEX runners_beat ON runners(beat_at);",

	/* 2: job events (streams, webhooks) and webhooks. Every change of a job (insert, or an update that
	 * bumps rev) leaves one row, written by the triggers below in the transaction of the change. seq is
	 * SQLite's rowid: an identity here, BY DEFAULT so an explicit seq (a restore) is still accepted. The
	 * readers of "seq > cursor" (streams, the webhook fan-out, the stats rollup) need seqs to become visible
	 * in seq order, as under SQLite's single writer: a transaction that writes an event holds the jobs lock
	 * (VEX_PG_JOBS_LOCK, pg_internal.h) until it ends, so event writers commit one after another. Every job
	 * write takes that lock first (vex_pg_begin_jobs), the triggers again for any other writer. */
	"CREATE TABLE job_events ("
	" seq bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
	" job_id text COLLATE \"C\" NOT NULL,"
	" owner text COLLATE \"C\" NOT NULL,"
	" rev bigint NOT NULL,"
	" type text COLLATE \"C\" NOT NULL,"
	" status text COLLATE \"C\" NOT NULL,"
	" attempts bigint NOT NULL,"
	" started_at bigint,"
	" progress_step text COLLATE \"C\","
	" progress_total bigint NOT NULL DEFAULT 0,"
	" progress_pct double precision NOT NULL DEFAULT 0,"
	" progress_message text COLLATE \"C\","
	" cancel_requested bigint NOT NULL DEFAULT 0,"
	" at bigint NOT NULL"
	");"
	"CREATE INDEX job_events_job ON job_events(job_id, rev);"
	"CREATE INDEX job_events_at ON job_events(at);"
	"CREATE FUNCTION jobs_event_insert_fn() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
	" PERFORM pg_advisory_xact_lock(" VEX_PG_JOBS_LOCK ");"
	" INSERT INTO job_events(job_id, owner, rev, type, status, attempts, started_at, progress_step,"
	" progress_total, progress_pct, progress_message, cancel_requested, at)"
	" VALUES (NEW.id, NEW.owner, NEW.rev, 'queued', NEW.status, NEW.attempts, NEW.started_at,"
	" NEW.progress_step, NEW.progress_total, NEW.progress_pct, NEW.progress_message, NEW.cancel_requested,"
	" NEW.updated_at);"
	" PERFORM pg_notify('" VEX_PG_WAKE_CHANNEL "', '');" /* once per transaction: equal ones fold at commit */
	" RETURN NULL; END $$;"
	"CREATE TRIGGER jobs_event_insert AFTER INSERT ON jobs FOR EACH ROW EXECUTE FUNCTION jobs_event_insert_fn();"
	"CREATE FUNCTION jobs_event_update_fn() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
	" PERFORM pg_advisory_xact_lock(" VEX_PG_JOBS_LOCK ");"
	" INSERT INTO job_events(job_id, owner, rev, type, status, attempts, started_at, progress_step,"
	" progress_total, progress_pct, progress_message, cancel_requested, at)"
	" VALUES (NEW.id, NEW.owner, NEW.rev,"
	" CASE WHEN NEW.status <> OLD.status THEN"
	" (CASE NEW.status WHEN 'running' THEN 'started' WHEN 'queued' THEN 'requeued' ELSE NEW.status END)"
	" WHEN NEW.cancel_requested <> OLD.cancel_requested THEN 'cancel_requested' ELSE 'progress' END,"
	" NEW.status, NEW.attempts, NEW.started_at, NEW.progress_step, NEW.progress_total, NEW.progress_pct,"
	" NEW.progress_message, NEW.cancel_requested, NEW.updated_at);"
	" IF NEW.status = 'queued' AND OLD.status <> 'queued' THEN"
	" PERFORM pg_notify('" VEX_PG_WAKE_CHANNEL "', ''); END IF;"
	" RETURN NULL; END $$;"
	"CREATE TRIGGER jobs_event_update AFTER UPDATE ON jobs FOR EACH ROW WHEN (NEW.rev <> OLD.rev)"
	" EXECUTE FUNCTION jobs_event_update_fn();"
	/* How far a consumer of job_events got (the webhook fan-out: 'webhooks'). */
	"CREATE TABLE event_cursors ("
	" name text COLLATE \"C\" PRIMARY KEY NOT NULL,"
	" seq bigint NOT NULL"
	");"
	"INSERT INTO event_cursors(name, seq) VALUES ('webhooks', 0);"
	/* Webhooks: events is a bit mask (VEX_HOOK_EV_*); the secret is kept to sign deliveries. */
	"CREATE TABLE webhooks ("
	" id text COLLATE \"C\" PRIMARY KEY NOT NULL,"
	" owner text COLLATE \"C\" NOT NULL,"
	" url text COLLATE \"C\" NOT NULL,"
	" events bigint NOT NULL,"
	" description text COLLATE \"C\","
	" secret text COLLATE \"C\" NOT NULL,"
	" status text COLLATE \"C\" NOT NULL CHECK (status IN ('active','disabled','deleted')),"
	" disabled_reason text COLLATE \"C\","
	" failing_since bigint,"
	" last_error text COLLATE \"C\","
	" created_at bigint NOT NULL,"
	" updated_at bigint NOT NULL"
	");"
	"CREATE INDEX webhooks_owner_id ON webhooks(owner, id);"
	/* One row per (hook, job event): id is the webhook-id header, payload the exact body every attempt sends. */
	"CREATE TABLE webhook_deliveries ("
	" id text COLLATE \"C\" PRIMARY KEY NOT NULL,"
	" hook_id text COLLATE \"C\" NOT NULL REFERENCES webhooks(id),"
	" owner text COLLATE \"C\" NOT NULL,"
	" job_id text COLLATE \"C\" NOT NULL,"
	" event_seq bigint NOT NULL,"
	" event text COLLATE \"C\" NOT NULL,"
	" payload text COLLATE \"C\" NOT NULL,"
	" status text COLLATE \"C\" NOT NULL CHECK (status IN ('pending','delivered','failed','canceled')),"
	" attempts bigint NOT NULL DEFAULT 0,"
	" next_at bigint NOT NULL,"
	" claimed_by text COLLATE \"C\","
	" claimed_until bigint,"
	" last_status_code bigint,"
	" last_error text COLLATE \"C\","
	" created_at bigint NOT NULL,"
	" finished_at bigint"
	");"
	"CREATE INDEX webhook_deliveries_hook ON webhook_deliveries(hook_id, id);"
	"CREATE UNIQUE INDEX webhook_deliveries_event ON webhook_deliveries(hook_id, event_seq);"
	/* In order per (hook, job): the oldest pending delivery of a pair goes first. */
	"CREATE INDEX webhook_deliveries_order ON webhook_deliveries(hook_id, job_id, event_seq)"
	" WHERE status = 'pending';"
	"CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_at) WHERE status = 'pending';"
	/* Every attempt, with a capped response body. */
	"CREATE TABLE webhook_attempts ("
	" delivery_id text COLLATE \"C\" NOT NULL REFERENCES webhook_deliveries(id),"
	" n bigint NOT NULL,"
	" at bigint NOT NULL,"
	" status_code bigint,"
	" error text COLLATE \"C\","
	" duration_us bigint NOT NULL,"
	" response_body text COLLATE \"C\","
	" PRIMARY KEY (delivery_id, n)"
	");",

	/* 3: the tool catalog the runner publishes (command tools, MCP servers' tools) and vex-api reads. */
	"CREATE TABLE tools ("
	" name text COLLATE \"C\" PRIMARY KEY NOT NULL,"
	" short_name text COLLATE \"C\" NOT NULL,"
	" server text COLLATE \"C\","
	" source text COLLATE \"C\" NOT NULL CHECK (source IN ('command','mcp')),"
	" description text COLLATE \"C\" NOT NULL DEFAULT '',"
	" input_schema text COLLATE \"C\" NOT NULL,"
	" updated_at bigint NOT NULL"
	");"
	"CREATE INDEX tools_short ON tools(short_name);"
	"CREATE INDEX tools_server ON tools(server) WHERE server IS NOT NULL;",

	/* 4: tool grants: who besides admins may run a catalog tool; a job's and an agent's owner role. */
	"ALTER TABLE tools ADD COLUMN grant_json text COLLATE \"C\";"
	"ALTER TABLE jobs ADD COLUMN owner_role text COLLATE \"C\" NOT NULL DEFAULT 'user';"
	"ALTER TABLE agents ADD COLUMN owner_role text COLLATE \"C\" NOT NULL DEFAULT 'user';",

	/* 5: fair claims (docs/runner.md): each owner's queue in claim order; each hook's pending deliveries by
	 * due time and by claim expiry. */
	"CREATE INDEX jobs_owner_queue ON jobs(owner, priority DESC, id) WHERE status = 'queued';"
	"CREATE INDEX webhook_deliveries_hook_due ON webhook_deliveries(hook_id, next_at) WHERE status = 'pending';"
	"CREATE INDEX webhook_deliveries_hook_claim ON webhook_deliveries(hook_id, claimed_until)"
	" WHERE status = 'pending';",

	/* 6: token revocations (by jti, or by subject with an iat cut-off in Unix seconds); revoked keys by time. */
	"CREATE TABLE token_revocations ("
	" id text COLLATE \"C\" PRIMARY KEY NOT NULL,"
	" jti text COLLATE \"C\","
	" sub text COLLATE \"C\","
	" issued_before bigint,"
	" reason text COLLATE \"C\","
	" created_by text COLLATE \"C\" NOT NULL,"
	" created_at bigint NOT NULL,"
	" CHECK ((jti IS NULL) <> (sub IS NULL)),"
	" CHECK ((sub IS NULL) = (issued_before IS NULL))"
	");"
	"CREATE UNIQUE INDEX token_revocations_jti ON token_revocations(jti) WHERE jti IS NOT NULL;"
	"CREATE INDEX token_revocations_sub ON token_revocations(sub, issued_before) WHERE sub IS NOT NULL;"
	"CREATE INDEX token_revocations_created ON token_revocations(created_at);"
	"CREATE INDEX api_keys_revoked ON api_keys(revoked_at) WHERE revoked_at IS NOT NULL;",

	/* 7: the request an Idempotency-Key came with (hex SHA-256 of method, path and canonical body). */
	"ALTER TABLE jobs ADD COLUMN request_hash text COLLATE \"C\";",

	/* 8: each owner's number of queued jobs, kept by triggers and filled from the jobs already queued
	 * (replaced by job_tally in 14). */
	"CREATE TABLE owner_queued (owner text COLLATE \"C\" PRIMARY KEY NOT NULL, n bigint NOT NULL);"
	"INSERT INTO owner_queued(owner, n) SELECT owner, COUNT(*) FROM jobs WHERE status = 'queued' GROUP BY owner;"
	"CREATE FUNCTION owner_queued_insert_fn() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
	" INSERT INTO owner_queued AS q (owner, n) VALUES (NEW.owner, 1) ON CONFLICT (owner) DO UPDATE SET n = q.n + 1;"
	" RETURN NULL; END $$;"
	"CREATE TRIGGER owner_queued_insert AFTER INSERT ON jobs FOR EACH ROW WHEN (NEW.status = 'queued')"
	" EXECUTE FUNCTION owner_queued_insert_fn();"
	"CREATE FUNCTION owner_queued_enter_fn() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
	" INSERT INTO owner_queued AS q (owner, n) VALUES (NEW.owner, 1) ON CONFLICT (owner) DO UPDATE SET n = q.n + 1;"
	" RETURN NULL; END $$;"
	"CREATE TRIGGER owner_queued_enter AFTER UPDATE OF status ON jobs FOR EACH ROW"
	" WHEN (OLD.status <> 'queued' AND NEW.status = 'queued') EXECUTE FUNCTION owner_queued_enter_fn();"
	"CREATE FUNCTION owner_queued_leave_fn() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
	" UPDATE owner_queued SET n = n - 1 WHERE owner = OLD.owner;"
	" RETURN NULL; END $$;"
	"CREATE TRIGGER owner_queued_leave AFTER UPDATE OF status ON jobs FOR EACH ROW"
	" WHEN (OLD.status = 'queued' AND NEW.status <> 'queued') EXECUTE FUNCTION owner_queued_leave_fn();"
	"CREATE FUNCTION owner_queued_delete_fn() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
	" UPDATE owner_queued SET n = n - 1 WHERE owner = OLD.owner;"
	" RETURN NULL; END $$;"
	"CREATE TRIGGER owner_queued_delete AFTER DELETE ON jobs FOR EACH ROW WHEN (OLD.status = 'queued')"
	" EXECUTE FUNCTION owner_queued_delete_fn();",

	/* 9: retention (docs/retention.md): finished jobs by completion time, a job's deliveries, fires by slot. */
	"CREATE INDEX jobs_finished ON jobs(completed_at) WHERE status IN ('completed','failed','timeout','canceled');"
	"CREATE INDEX webhook_deliveries_job ON webhook_deliveries(job_id);"
	"CREATE INDEX schedule_fires_slot ON schedule_fires(slot);",

	/* 10: operator actions (docs/operations.md): a retry's links both ways; a re-sent delivery (left out of
	 * the one-delivery-per-event index); paused claiming, one row per paused tool ('' pauses every claim). */
	"ALTER TABLE jobs ADD COLUMN retry_of text COLLATE \"C\";"
	"ALTER TABLE jobs ADD COLUMN retried_by text COLLATE \"C\";"
	"ALTER TABLE webhook_deliveries ADD COLUMN resend_of text COLLATE \"C\";"
	"DROP INDEX webhook_deliveries_event;"
	"CREATE UNIQUE INDEX webhook_deliveries_event ON webhook_deliveries(hook_id, event_seq) WHERE resend_of IS NULL;"
	"CREATE TABLE claim_pauses ("
	" tool text COLLATE \"C\" PRIMARY KEY NOT NULL,"
	" paused_at bigint NOT NULL,"
	" paused_by text COLLATE \"C\" NOT NULL"
	");",

	/* 11: the W3C traceparent a submit carried (core/base/traceparent.h), NULL when none or an invalid one.
	 * length() counts characters in both databases. */
	"ALTER TABLE jobs ADD COLUMN traceparent text COLLATE \"C\" CHECK (traceparent IS NULL OR length(traceparent) = 55);",

	/* 12: metrics (issue 14): the number of jobs of each kind and status, kept by triggers and filled from
	 * the jobs there are (replaced by job_tally in 14). */
	"CREATE TABLE job_counts (kind text COLLATE \"C\" NOT NULL, status text COLLATE \"C\" NOT NULL, n bigint NOT NULL,"
	" PRIMARY KEY (kind, status));"
	"INSERT INTO job_counts(kind, status, n) SELECT kind, status, COUNT(*) FROM jobs GROUP BY kind, status;"
	"CREATE FUNCTION job_counts_insert_fn() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
	" INSERT INTO job_counts AS c (kind, status, n) VALUES (NEW.kind, NEW.status, 1)"
	" ON CONFLICT (kind, status) DO UPDATE SET n = c.n + 1;"
	" RETURN NULL; END $$;"
	"CREATE TRIGGER job_counts_insert AFTER INSERT ON jobs FOR EACH ROW EXECUTE FUNCTION job_counts_insert_fn();"
	"CREATE FUNCTION job_counts_update_fn() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
	" UPDATE job_counts SET n = n - 1 WHERE kind = OLD.kind AND status = OLD.status;"
	" INSERT INTO job_counts AS c (kind, status, n) VALUES (NEW.kind, NEW.status, 1)"
	" ON CONFLICT (kind, status) DO UPDATE SET n = c.n + 1;"
	" RETURN NULL; END $$;"
	"CREATE TRIGGER job_counts_update AFTER UPDATE OF status ON jobs FOR EACH ROW WHEN (OLD.status <> NEW.status)"
	" EXECUTE FUNCTION job_counts_update_fn();"
	"CREATE FUNCTION job_counts_delete_fn() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
	" UPDATE job_counts SET n = n - 1 WHERE kind = OLD.kind AND status = OLD.status;"
	" RETURN NULL; END $$;"
	"CREATE TRIGGER job_counts_delete AFTER DELETE ON jobs FOR EACH ROW EXECUTE FUNCTION job_counts_delete_fn();",

	/* 13: stats (docs/api-vex.md, Stats): each owner's jobs by status, and per (owner, minute, kind, name,
	 * metric) the jobs submitted (metric 0) and finished (2 failed, 3 timeout, 4 canceled, completed ones
	 * by latency bucket: 100 + bucket of vex_lat_bounds_us), both kept by triggers (replaced in 14); the
	 * runners' host, start time, slots and busy slots. Integer division truncates in both databases. */
	"CREATE TABLE job_status_counts (owner text COLLATE \"C\" NOT NULL, status text COLLATE \"C\" NOT NULL, n bigint NOT NULL,"
	" PRIMARY KEY (owner, status));"
	"INSERT INTO job_status_counts(owner, status, n) SELECT owner, status, COUNT(*) FROM jobs GROUP BY owner, status;"
	"CREATE FUNCTION job_status_counts_delete_fn() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
	" UPDATE job_status_counts SET n = n - 1 WHERE owner = OLD.owner AND status = OLD.status;"
	" RETURN NULL; END $$;"
	"CREATE TRIGGER job_status_counts_delete AFTER DELETE ON jobs FOR EACH ROW"
	" EXECUTE FUNCTION job_status_counts_delete_fn();"
	"CREATE TABLE job_minute_stats (owner text COLLATE \"C\" NOT NULL, minute bigint NOT NULL, kind text COLLATE \"C\" NOT NULL,"
	" name text COLLATE \"C\" NOT NULL, metric bigint NOT NULL, n bigint NOT NULL,"
	" PRIMARY KEY (owner, minute, kind, name, metric));"
	"CREATE INDEX job_minute_stats_minute ON job_minute_stats(minute);"
	"CREATE FUNCTION job_stats_insert_fn() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
	" INSERT INTO job_status_counts AS c (owner, status, n) VALUES (NEW.owner, NEW.status, 1)"
	" ON CONFLICT (owner, status) DO UPDATE SET n = c.n + 1;"
	" INSERT INTO job_minute_stats AS m (owner, minute, kind, name, metric, n) VALUES (NEW.owner,"
	" NEW.created_at / 60000000, NEW.kind,"
	" CASE NEW.kind WHEN 'tool' THEN COALESCE(NEW.tool, '') ELSE COALESCE(NEW.agent_id, '') END, 0, 1)"
	" ON CONFLICT (owner, minute, kind, name, metric) DO UPDATE SET n = m.n + 1;"
	" RETURN NULL; END $$;"
	"CREATE TRIGGER job_stats_insert AFTER INSERT ON jobs FOR EACH ROW EXECUTE FUNCTION job_stats_insert_fn();"
	"CREATE FUNCTION job_stats_status_fn() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
	" UPDATE job_status_counts SET n = n - 1 WHERE owner = OLD.owner AND status = OLD.status;"
	" INSERT INTO job_status_counts AS c (owner, status, n) VALUES (NEW.owner, NEW.status, 1)"
	" ON CONFLICT (owner, status) DO UPDATE SET n = c.n + 1;"
	" RETURN NULL; END $$;"
	"CREATE TRIGGER job_stats_status AFTER UPDATE OF status ON jobs FOR EACH ROW WHEN (OLD.status <> NEW.status)"
	" EXECUTE FUNCTION job_stats_status_fn();"
	/* A finish adds one rollup row: a completed job its latency bucket, any other end its status. */
	"CREATE FUNCTION job_stats_finish_fn() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
	" INSERT INTO job_minute_stats AS m (owner, minute, kind, name, metric, n) VALUES (NEW.owner,"
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
	" ELSE 121 END, 1) ON CONFLICT (owner, minute, kind, name, metric) DO UPDATE SET n = m.n + 1;"
	" RETURN NULL; END $$;"
	"CREATE TRIGGER job_stats_finish AFTER UPDATE OF status ON jobs FOR EACH ROW WHEN (OLD.status <> NEW.status"
	" AND NEW.status IN ('completed','failed','timeout','canceled')) EXECUTE FUNCTION job_stats_finish_fn();"
	"ALTER TABLE runners ADD COLUMN host text COLLATE \"C\" NOT NULL DEFAULT '';"
	"ALTER TABLE runners ADD COLUMN started_at bigint NOT NULL DEFAULT 0;"
	"ALTER TABLE runners ADD COLUMN slots bigint NOT NULL DEFAULT 0;"
	"ALTER TABLE runners ADD COLUMN busy bigint NOT NULL DEFAULT 0;",

	/* 14: lighter counters (docs/bench.md, "Issue 14's cost"): one table, job_tally (owner, status, kind),
	 * replaces the three counts of 8, 12 and 13, one statement per insert, two per status change; the
	 * rollup is folded by the runner behind the cursor 'stats', starting from the newest event here.
	 * SQLite drops with IF EXISTS; here each trigger, its function and table surely exist (8, 12, 13). */
	"DROP TRIGGER job_stats_finish ON jobs; DROP TRIGGER job_stats_status ON jobs;"
	"DROP TRIGGER job_stats_insert ON jobs; DROP TRIGGER job_status_counts_delete ON jobs;"
	"DROP TRIGGER job_counts_insert ON jobs; DROP TRIGGER job_counts_update ON jobs;"
	"DROP TRIGGER job_counts_delete ON jobs; DROP TRIGGER owner_queued_insert ON jobs;"
	"DROP TRIGGER owner_queued_enter ON jobs; DROP TRIGGER owner_queued_leave ON jobs;"
	"DROP TRIGGER owner_queued_delete ON jobs;"
	"DROP FUNCTION job_stats_finish_fn(), job_stats_status_fn(), job_stats_insert_fn(), job_status_counts_delete_fn(),"
	" job_counts_insert_fn(), job_counts_update_fn(), job_counts_delete_fn(), owner_queued_insert_fn(),"
	" owner_queued_enter_fn(), owner_queued_leave_fn(), owner_queued_delete_fn();"
	"DROP TABLE job_status_counts, job_counts, owner_queued;"
	"CREATE TABLE job_tally (owner text COLLATE \"C\" NOT NULL, status text COLLATE \"C\" NOT NULL, kind text COLLATE \"C\" NOT NULL, n bigint NOT NULL,"
	" PRIMARY KEY (owner, status, kind));"
	"INSERT INTO job_tally(owner, status, kind, n) SELECT owner, status, kind, COUNT(*) FROM jobs"
	" GROUP BY owner, status, kind;"
	"CREATE FUNCTION job_tally_insert_fn() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
	" INSERT INTO job_tally AS t (owner, status, kind, n) VALUES (NEW.owner, NEW.status, NEW.kind, 1)"
	" ON CONFLICT (owner, status, kind) DO UPDATE SET n = t.n + 1;"
	" RETURN NULL; END $$;"
	"CREATE TRIGGER job_tally_insert AFTER INSERT ON jobs FOR EACH ROW EXECUTE FUNCTION job_tally_insert_fn();"
	"CREATE FUNCTION job_tally_update_fn() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
	" UPDATE job_tally SET n = n - 1 WHERE owner = OLD.owner AND status = OLD.status AND kind = OLD.kind;"
	" INSERT INTO job_tally AS t (owner, status, kind, n) VALUES (NEW.owner, NEW.status, NEW.kind, 1)"
	" ON CONFLICT (owner, status, kind) DO UPDATE SET n = t.n + 1;"
	" RETURN NULL; END $$;"
	"CREATE TRIGGER job_tally_update AFTER UPDATE OF status ON jobs FOR EACH ROW WHEN (OLD.status <> NEW.status)"
	" EXECUTE FUNCTION job_tally_update_fn();"
	"CREATE FUNCTION job_tally_delete_fn() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
	" UPDATE job_tally SET n = n - 1 WHERE owner = OLD.owner AND status = OLD.status AND kind = OLD.kind;"
	" RETURN NULL; END $$;"
	"CREATE TRIGGER job_tally_delete AFTER DELETE ON jobs FOR EACH ROW EXECUTE FUNCTION job_tally_delete_fn();"
	"INSERT INTO event_cursors(name, seq) VALUES ('stats', (SELECT COALESCE(MAX(seq), 0) FROM job_events));",
};

const int vex_pg_migration_count = (int)(sizeof(vex_pg_migrations) / sizeof(vex_pg_migrations[0]));
