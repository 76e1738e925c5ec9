/* Which configured connection joins the two peers.
 *
 * Each peer lists its connections (name, local and remote addresses) and its
 * IKE SAs (connection name, local and remote host).  A pair (connection of A,
 * connection of B) matches when A's remote addresses name one of B's local
 * addresses (or B's IKE SA's local host) and B's remote addresses accept A
 * (one of A's local addresses, the address B's IKE SA sees A at behind its
 * NAT, or %any).  An explicit name (--conn) restricts the candidates on both
 * ends.  Pure: a test writes the lists as literals. */
#ifndef TS_DISCOVER_H
#define TS_DISCOVER_H

#include <stddef.h>

#define DISCOVER_MAX_ADDRS 8

struct discover_conn {
    const char *name;
    const char *local_addrs[DISCOVER_MAX_ADDRS];  /* NULL-terminated; "%any" allowed */
    const char *remote_addrs[DISCOVER_MAX_ADDRS];
};

struct discover_sa {
    const char *name; /* connection name of the IKE SA */
    const char *local_host, *remote_host;
};

struct discover_side {
    const struct discover_conn *conns;
    size_t n_conns;
    const struct discover_sa *sas;
    size_t n_sas;
};

enum discover_result { DISCOVER_FOUND, DISCOVER_NONE, DISCOVER_AMBIGUOUS };

struct discover_out {
    enum discover_result result;
    const char *name_a, *name_b; /* FOUND: the chosen pair (pointers into the input) */
    /* AMBIGUOUS: the candidates, "a-name/b-name" pairs (pointers into the input) */
    const char *cand_a[8], *cand_b[8];
    size_t n_cand;
};

/* want: --conn NAME or NULL. */
void discover_conn(const struct discover_side *a, const struct discover_side *b, const char *want,
                   struct discover_out *out);

/* The connection of one side alone, for when the other side's list could not
 * be read (sudo refused, swanctl missing, not connected): `want` when this
 * side has it; else its only connection; else the only connection one of its
 * IKE SAs belongs to.  NULL when that does not name exactly one (pointer into
 * the input). */
const char *discover_alone(const struct discover_side *s, const char *want);

#endif
