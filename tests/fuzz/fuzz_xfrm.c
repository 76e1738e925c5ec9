/* Fuzz target: XFRM text parsers (states, policies, xfrm_stat).
 * Invariants: no crash, no leak; on error the lists are empty. */
#include <stdint.h>
#include <stdlib.h>

#include "probes/xfrm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *t = (const char *)data;
    struct err e = {0};
    struct xfrm_fact f = {0};
    if (xfrm_parse_states_text(t, size, &f, &e) != 0 && f.n_sa != 0)
        abort();
    if (xfrm_parse_policies_text(t, size, &f, &e) != 0 && f.n_pol != 0)
        abort();
    for (size_t i = 0; i < f.n_pol; i++)
        if (f.pol[i].n_tmpl > XFRM_TMPL_MAX)
            abort();
    xfrm_fact_free(&f);
    struct xfrm_stat_fact s;
    if (xfrm_parse_stat(t, size, &s, &e) == 0 && s.n == 0)
        abort();
    return 0;
}
