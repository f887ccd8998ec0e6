/* handles.c - a runner background thread's own store and cache handles. */
#include "runner/handles.h"

#include "core/base/err.h"
#include "core/base/log.h"

int vex_handles_try(const struct vex_config *cfg, struct vex_store **store, struct vex_cache **cache)
{
	int rc;

	if (!*store) {
		rc = vex_store_open(cfg->store, cfg->db_synchronous, cfg->db_busy_timeout_ms, store);
		if (rc < 0)
			vex_log(VEX_LOG_ERROR, "store open failed", "path", cfg->store_label, "error", vex_strerror(rc),
				NULL);
	}
	if (!*cache && vex_cache_open(cfg->cache_servers, cfg->cache_timeout_ms, cfg->jwt_secret, cfg->jwt_secret_len,
				      cache) == 0 &&
	    vex_cache_sasl(*cache, cfg->cache_sasl_user, cfg->cache_sasl_password) < 0) {
		vex_cache_free(*cache);
		*cache = NULL;
	}
	if (!*cache) {
		vex_log(VEX_LOG_WARN, "cache open failed, running without it", NULL);
		vex_cache_open("", cfg->cache_timeout_ms, NULL, 0, cache);
	}
	return *store && *cache ? 0 : VEX_EIO;
}

int vex_handles_open(struct vex_ticker *t, const struct vex_config *cfg, struct vex_store **store,
		     struct vex_cache **cache)
{
	while (vex_handles_try(cfg, store, cache) < 0)
		if (vex_ticker_nap(t, 1000))
			return VEX_ESTATE;
	return 0;
}

void vex_handles_close(struct vex_store **store, struct vex_cache **cache)
{
	vex_cache_free(*cache);
	vex_store_free(*store);
	*cache = NULL;
	*store = NULL;
}
