/* buf.h - the one growable byte buffer: capped, always NUL-terminated, errors that stick. */
#ifndef VEX_BUF_H
#define VEX_BUF_H

#include <stddef.h>

/*
 * "p" holds "len" bytes and a NUL after them (NULL until the first byte is added); "len" never
 * passes "max". The first failed append is kept in "err": later appends do nothing and return it,
 * so a run of appends can be checked once at the end. The buffer owns "p"; vex_buf_release frees
 * it, vex_buf_steal hands it to the caller.
 */
struct vex_buf {
	char *p;
	size_t len;
	size_t cap; /* bytes allocated at "p" (len + 1 at least once allocated) */
	size_t max; /* the most bytes "len" may reach */
	int err;    /* 0, or the first VEX_ETOOBIG / VEX_ENOMEM */
};

/* An empty buffer that may grow to "max" bytes (at most SIZE_MAX / 2). Allocates nothing.
 * A zeroed struct vex_buf with "max" set is the same. */
void vex_buf_init(struct vex_buf *b, size_t max);

/* Room for "extra" more bytes and the NUL. 0, VEX_ETOOBIG (len + extra > max) or VEX_ENOMEM;
 * neither failure is kept in "err" nor changes the contents. */
int vex_buf_reserve(struct vex_buf *b, size_t extra);

/* After vex_buf_reserve, a caller may write up to cap - len - 1 bytes at p + len itself (a read(2)),
 * then add them to "len" and put the NUL back: vex_buf_wrote does both. */
void vex_buf_wrote(struct vex_buf *b, size_t n);

/* Removes the first "n" bytes (all when n >= len), keeping the rest and the memory. */
void vex_buf_drop(struct vex_buf *b, size_t n);

/* Appends "n" bytes of "data". 0, or VEX_ETOOBIG / VEX_ENOMEM (then kept in "err", contents unchanged). */
int vex_buf_add(struct vex_buf *b, const void *data, size_t n);

/* Appends the NUL-terminated "s". As vex_buf_add. */
int vex_buf_puts(struct vex_buf *b, const char *s);

/* Appends printf output. As vex_buf_add. */
int vex_buf_printf(struct vex_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Empties the buffer and clears "err"; keeps the memory for reuse. */
void vex_buf_reset(struct vex_buf *b);

/* Frees the memory; the buffer is empty, with the same "max". Accepts NULL. */
void vex_buf_release(struct vex_buf *b);

/* The bytes (NUL-terminated, "len" in "*ret_len" when not NULL), now owned by the caller: free()
 * them. An empty buffer gives "" (allocated). NULL when that allocation fails. The buffer is left
 * empty and released. */
char *vex_buf_steal(struct vex_buf *b, size_t *ret_len);

#endif
