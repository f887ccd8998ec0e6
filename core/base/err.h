/* err.h - the one return vocabulary of vex: 0 or a negative VEX_E... code. */
#ifndef VEX_ERR_H
#define VEX_ERR_H

enum {
	VEX_OK = 0,
	VEX_ERROR = -1,     /* unexpected internal failure */
	VEX_ENOMEM = -2,    /* allocation failed */
	VEX_EINVAL = -3,    /* invalid argument or input */
	VEX_ENOTFOUND = -4, /* no such row / key / resource (or not visible to the caller) */
	VEX_EBUSY = -5,     /* database locked past busy_timeout */
	VEX_EEXIST = -6,    /* already exists */
	VEX_ECONFLICT = -7, /* lost a race: lease not held, CAS mismatch */
	VEX_EAUTH = -8,     /* authentication failed */
	VEX_EIO = -9,       /* I/O or network failure (storage, socket, memcached) */
	VEX_ETOOBIG = -10,  /* a size cap was exceeded */
	VEX_ESTATE = -11,   /* operation not allowed in the current state */
	VEX_EFORBIDDEN = -12, /* authenticated but not allowed */
	VEX_ELIMIT = -13,    /* a per-owner cap was reached (core/base/caps.h) */
	VEX_EUNAVAIL = -14   /* the store's server is unreachable (PostgreSQL down or away): try again later */
};

/* A short, static, lower-case description of "code". Never NULL. */
const char *vex_strerror(int code);

#endif
