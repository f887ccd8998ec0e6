/* log.h - JSON-lines logging to stderr, one object per line. */
#ifndef VEX_LOG_H
#define VEX_LOG_H

enum { VEX_LOG_DEBUG, VEX_LOG_INFO, VEX_LOG_WARN, VEX_LOG_ERROR };

/* "proc" is copied; it names the process in every line ("vex-api", "vex-runner"). */
void vex_log_init(const char *proc, int min_level);

/* "debug" ... "error" -> VEX_LOG_*; unknown -> -1. */
int vex_log_level_parse(const char *name);

/*
 * Write {"ts":"<RFC3339 ms>","level":"info","proc":"...","pid":N,"msg":"<msg>",k1:v1,...}
 * followed by a newline, with one write(2). The variadic part is pairs of
 * (const char *key, const char *value) terminated by a NULL key; values are
 * JSON-escaped strings. Safe to call from several threads.
 */
void vex_log(int level, const char *msg, ...);

#endif
