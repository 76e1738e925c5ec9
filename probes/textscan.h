/* Small helpers to read command output without copying it: a span is a
 * pointer and a length into the caller's text (never NUL-terminated). */
#ifndef TS_TEXTSCAN_H
#define TS_TEXTSCAN_H

#include <stdbool.h>
#include <stddef.h>

#include "probes/fact.h"

struct span {
    const char *p;
    size_t len;
};

/* printf("%.*s", SPAN_FMT(s)) prints at most 80 bytes of a span. */
#define SPAN_FMT(s) (int)((s).len > 80 ? 80 : (s).len), (s).p

/* Next line of *all (without "\n" and a trailing "\r"); false at the end. */
bool span_line(struct span *all, struct span *line);
/* Removes leading blanks and returns their width (a tab counts 8). */
size_t span_indent(struct span *s);
void span_trim(struct span *s);
/* Next blank-separated word; false when none is left. */
bool span_word(struct span *s, struct span *w);
/* Next part up to `sep` (the last part runs to the end); false when done. */
bool span_split(struct span *s, const char *sep, struct span *part);
bool span_eq(struct span s, const char *lit);
bool span_starts(struct span s, const char *lit);
const char *span_find(struct span s, const char *lit);
const char *span_rfind(struct span s, const char *lit);
/* Strict decimal into an opt; 0 / -1. */
int span_u64(struct span s, struct opt_u64 *o);
/* After `key` (e.g. "mtu ") in s, the decimal number that follows; 0 / -1. */
int span_u64_after(struct span s, const char *key, struct opt_u64 *o);
int span_copy(struct span s, char *dst, size_t n);

#endif
