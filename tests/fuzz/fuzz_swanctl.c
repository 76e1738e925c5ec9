/* Fuzz target: the four swanctl parsers (raw vici dump and human form).
 * Invariants: never crash or leak; on error the fact is empty. */
#include <stdint.h>
#include <stdlib.h>

#include "probes/swanctl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *t = (const char *)data;
    struct err e = {0};
    struct sa_fact s;
    struct conn_fact c;
    if (swanctl_parse_sas_raw(t, size, &s, &e) != 0 && s.n_ike != 0)
        abort();
    sa_fact_free(&s);
    if (swanctl_parse_sas_text(t, size, &s, &e) != 0 && s.n_ike != 0)
        abort();
    sa_fact_free(&s);
    if (swanctl_parse_conns_raw(t, size, &c, &e) != 0 && c.n_conn != 0)
        abort();
    conn_fact_free(&c);
    if (swanctl_parse_conns_text(t, size, &c, &e) != 0 && c.n_conn != 0)
        abort();
    conn_fact_free(&c);
    return 0;
}
