/* hookkeys.c - the webhook secrets' key at start: the key file, and sealing what a database holds in plaintext. */
#include "core/hooks/hookkeys.h"

#include <stdio.h>

#include <openssl/crypto.h>

#include "core/base/config.h"
#include "core/base/err.h"
#include "core/base/log.h"
#include "core/hooks/sealbox.h"
#include "core/store/store.h"

int vex_hookkeys_prepare(const struct vex_config *cfg, char *err, size_t errlen)
{
	struct vex_sealring ring;
	struct vex_store *s = NULL;
	char n1[16], n2[16];
	int rc, sealed = 0, failed = 0;

	rc = vex_sealring_load(cfg->hook_key_file, cfg->hook_key_file_previous, 1, &ring, err, errlen);
	if (rc)
		return rc;
	rc = vex_store_open(cfg->store, cfg->db_synchronous, cfg->db_busy_timeout_ms, &s);
	if (rc) {
		snprintf(err, errlen, "cannot open the database %s: %s", cfg->store_label, vex_strerror(rc));
		goto out;
	}
	rc = vex_store_webhook_secrets_seal(s, &ring, &sealed, &failed);
	if (rc) {
		snprintf(err, errlen, "cannot seal the webhook secrets: %s", vex_strerror(rc));
		goto out;
	}
	snprintf(n1, sizeof(n1), "%d", sealed);
	snprintf(n2, sizeof(n2), "%d", failed);
	if (sealed > 0)
		vex_log(VEX_LOG_INFO, "webhook secrets sealed under the current key", "sealed", n1, "key_id",
			ring.cur.id, NULL);
	if (failed > 0)
		vex_log(VEX_LOG_ERROR,
			"webhook secrets under an unknown key: their deliveries fail (set [webhooks] "
			"secret_key_file_previous to the key they were sealed with)",
			"count", n2, NULL);
out:
	vex_store_free(s);
	vex_sealring_release(&ring);
	return rc;
}

int vex_hookkeys_check(const struct vex_config *cfg, char *err, size_t errlen)
{
	struct vex_sealkey k;
	int rc;

	rc = vex_sealkey_load(cfg->hook_key_file, 0, &k, err, errlen);
	if (rc == VEX_ENOTFOUND)
		rc = 0;
	if (rc == 0 && cfg->hook_key_file_previous)
		rc = vex_sealkey_load(cfg->hook_key_file_previous, 0, &k, err, errlen);
	OPENSSL_cleanse(&k, sizeof(k));
	return rc;
}
