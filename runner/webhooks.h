/* webhooks.h - the deliverer thread: fans job events out to webhooks and delivers them, signed, with libcurl. */
#ifndef VEX_RUNNER_WEBHOOKS_H
#define VEX_RUNNER_WEBHOOKS_H

#include "core/base/config.h"

struct vex_webhooks;

/*
 * Start the deliverer thread (its own vex_store, opened in the thread). About every 50 ms it
 * fans new job events out to the matching hooks (vex_store_hooks_fanout), claims up to
 * cfg->hook_concurrency due deliveries under "runner_id" (lease: cfg->hook_timeout_ms + 5 s) and
 * POSTs them concurrently (one libcurl multi handle), signed twice (X-Agent-CoreX-Signature and
 * the Standard Webhooks headers), within cfg->hook_timeout_ms, following no redirect and
 * connecting only to addresses vex_netguard_addr_allowed() accepts (cfg->hooks_allow_private).
 * Each attempt is recorded: 2xx delivered, 410 disables the hook, anything else is retried after
 * cfg->hook_retry_ms (jittered, raised by Retry-After) until that schedule is used up. Between
 * rounds it runs the retention rounds (runner/retention.h: old job events, finished jobs, schedule
 * fires, freed pages). "cfg" must outlive it; the runner id is copied. 0, VEX_EINVAL, VEX_ENOMEM,
 * VEX_ERROR.
 */
int vex_webhooks_start(const struct vex_config *cfg, const char *runner_id, struct vex_webhooks **ret);

/* Stop the thread within about 50 ms: attempts in flight are abandoned and their claims dropped, so
 * that they are sent again (same webhook-id) by whichever runner comes next. Accepts NULL. */
void vex_webhooks_free(struct vex_webhooks *w);

#endif
