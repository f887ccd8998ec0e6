/* sseread.c - fuzzes the text/event-stream reader (runner/sseread.h) fed in reads of every size. */
#include "core/base/err.h"
#include "runner/sseread.h"
#include "tests/fuzz/fuzz.h"

struct seen {
	size_t events;
	size_t max;
};

/* Every event the reader hands out keeps within the cap and is NUL terminated at "len". */
static int on_event(void *arg, const char *event, const char *data, size_t len)
{
	struct seen *s = arg;

	FUZZ_ASSERT(event && strlen(event) < 64);
	if (data) {
		FUZZ_ASSERT(len <= s->max && data[len] == '\0');
	}
	s->events++;
	return 0;
}

/* The first byte picks the cap (64..319 bytes) and the read size (1..16); the rest is the stream. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vex_sse_reader r;
	struct seen s = { 0, 0 };
	size_t off = 0, step, n;

	if (size < 2)
		return 0;
	s.max = 64 + data[0];
	step = data[1] % 16 + 1;
	data += 2;
	size -= 2;
	vex_sse_init(&r, s.max);
	while (off < size) {
		n = size - off < step ? size - off : step;
		if (vex_sse_feed(&r, (const char *)data + off, n, on_event, &s) != 0)
			break;
		off += n;
	}
	vex_sse_release(&r);
	return 0;
}
