/* Fuzz target: ss, sysctl, conntrack, ip route get, ip -o link parsers.
 * Invariants: no crash; on error the fact is empty; counts within bounds. */
#include <stdint.h>
#include <stdlib.h>

#include "probes/netstate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *t = (const char *)data;
    struct err e = {0};
    struct udp_listen_fact u;
    if (ss_parse_udp(t, size, &u, &e) != 0 && u.n != 0)
        abort();
    if (u.n > UDP_LISTEN_MAX)
        abort();
    struct ct_timeout_fact ct;
    sysctl_parse_ct_timeouts(t, size, &ct, &e);
    struct ct_fact c;
    if (conntrack_parse_udp(t, size, &c, &e) != 0 && c.n != 0)
        abort();
    if (c.n > CT_ENTRY_MAX)
        abort();
    struct route_fact r;
    if (route_parse_get(t, size, &r, &e) != 0 && r.ok)
        abort();
    struct link_fact l;
    if (link_parse(t, size, &l, &e) != 0 && l.n != 0)
        abort();
    return 0;
}
