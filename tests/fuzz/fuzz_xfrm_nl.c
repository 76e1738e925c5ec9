/* Fuzz target: the netlink XFRM dump parsers and the key scrubber.
 * Invariants: no crash, no leak; on error the list is empty; scrubbing never
 * grows or moves anything and a scrubbed dump that parsed still parses. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "probes/xfrm_nl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct err e = {0};
    struct xfrm_fact f = {0};
    int rs = xfrm_nl_parse_states(data, size, &f, &e);
    if (rs != 0 && f.n_sa != 0)
        abort();
    int rp = xfrm_nl_parse_policies(data, size, &f, &e);
    if (rp != 0 && f.n_pol != 0)
        abort();
    for (size_t i = 0; i < f.n_pol; i++)
        if (f.pol[i].n_tmpl > XFRM_TMPL_MAX)
            abort();
    size_t n_sa = f.n_sa;
    unsigned char *c = malloc(size ? size : 1);
    if (!c)
        abort();
    if (size)
        memcpy(c, data, size);
    int keys = xfrm_nl_scrub_keys(c, size);
    if (keys < -1)
        abort();
    /* scrubbing only rewrites key bytes: a dump that parsed still parses, alike */
    if (rs == 0 && keys >= 0) {
        struct xfrm_fact g = {0};
        if (xfrm_nl_parse_states(c, size, &g, &e) != 0 || g.n_sa != n_sa)
            abort();
        xfrm_fact_free(&g);
    }
    free(c);
    xfrm_fact_free(&f);
    return 0;
}
