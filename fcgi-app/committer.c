/* committer.c - the vex-api group committer: one process writing the pool's new jobs, many per fsync. */
#include "fcgi-app/committer.h"

#include <signal.h>
#include <string.h>
#include <sys/prctl.h>

#include "fcgi-app/child.h"
#include "core/jobs/commitq.h"
#include "core/base/err.h"
#include "core/base/log.h"
#include "core/store/store.h"

static volatile sig_atomic_t stop_requested;

static void on_term(int sig)
{
	(void)sig;
	stop_requested = 1;
}

int vex_committer_run(const struct vex_config *cfg, int commit_fd)
{
	struct vex_store *store = NULL;
	int rc;

	vex_child_signals(on_term, NULL); /* poll() returns on TERM/INT and the loop sees the flag */
	prctl(PR_SET_NAME, "vex-api-commit");

	rc = vex_store_open(cfg->store, cfg->db_synchronous, cfg->db_busy_timeout_ms, &store);
	if (rc != 0) {
		vex_log(VEX_LOG_ERROR, "committer cannot open the store", "path", cfg->store_label, "error",
			vex_strerror(rc), NULL);
		return 1;
	}
	rc = vex_commitq_serve(commit_fd, store, &stop_requested);
	if (rc != 0)
		vex_log(VEX_LOG_ERROR, "committer stopped", "error", vex_strerror(rc), NULL);
	vex_store_free(store);
	return rc == 0 ? 0 : 1;
}
