/* Building blocks shared by every fact of probes/.
 *
 * A fact is a plain struct that a test can write as a literal.  A value that the
 * tool did not print is "unknown", never 0: numbers are struct opt_u64 and
 * yes/no flags are enum tri, both zero-initialised to unknown. */
#ifndef TS_FACT_H
#define TS_FACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "remote/err.h"

/* A yes/no that the source may not have told. */
enum tri {
    TRI_UNKNOWN = 0,
    TRI_NO,
    TRI_YES,
};

/* A number that the source may not have told ({0} is unknown). */
struct opt_u64 {
    bool known;
    uint64_t v;
};

#define OPT_U64(x) ((struct opt_u64){true, (uint64_t)(x)})
#define OPT_UNKNOWN ((struct opt_u64){false, 0})

/* Text sizes used by the facts (including the NUL). */
#define FACT_NAME_MAX 64    /* connection, child, interface, process names */
#define FACT_ADDR_MAX 48    /* one IPv4/IPv6 address in text */
#define FACT_TS_MAX 96      /* one selector: "10.10.0.0/16" or "fd00::/64[udp/4500]" */
#define FACT_TEXT_MAX 160   /* one proposal, one id, one log message excerpt */

/* Up to this many items in a list of addresses or selectors; more sets `more`. */
#define FACT_LIST_MAX 8

/* A list of traffic selectors or addresses, as the tool printed them. */
struct ts_list {
    size_t n;
    bool more;                         /* the tool listed more than FACT_LIST_MAX */
    char item[FACT_LIST_MAX][FACT_TS_MAX];
};

const char *tri_name(enum tri t);  /* "unknown", "no", "yes" */

/* How opt_u64_text() writes a known number. */
enum opt_fmt {
    OPT_FMT_DEC,       /* 1234 */
    OPT_FMT_HEX8,      /* 000004d2: SPIs, sequence numbers */
    OPT_FMT_0XHEX8,    /* 0x000004d2 */
};

/* A number for display: the text of o.v into b (size n) and b, or `unknown`
 * itself when the source did not tell it.  One formatter for every front end
 * and tool that prints facts. */
const char *opt_u64_text(struct opt_u64 o, enum opt_fmt fmt, const char *unknown, char *b, size_t n);

/* Strict decimal: the whole of s[0..len) must be digits, no sign, no overflow.
 * 0 / -1 (nothing written on error). */
int fact_parse_u64(const char *s, size_t len, uint64_t *out);
/* Strict hexadecimal (optional 0x prefix). */
int fact_parse_hex_u64(const char *s, size_t len, uint64_t *out);
/* Copies s[0..len) into dst of size n; -1 when it does not fit (dst is then
 * the truncated text, still NUL-terminated). */
int fact_copy(char *dst, size_t n, const char *s, size_t len);
/* Room for element n (the n+1th) in *arr, an array of n elements of size sz
 * grown only by this function (emptied by free + NULL + n = 0): its capacity
 * doubles (8, 16, 32 ...), so that adding N elements copies O(N), not O(N^2)
 * as a realloc per element does.  The new element is zeroed.  Returns it, or
 * NULL when out of memory (*arr unchanged). */
void *fact_grow(void **arr, size_t n, size_t sz);
/* Appends to a selector list; -1 when an item does not fit in FACT_TS_MAX. */
int ts_list_add(struct ts_list *l, const char *s, size_t len);

#endif
