/* Fuzz target: Libreswan trafficstatus parser.  No crash; empty on error. */
#include <stdint.h>
#include <stdlib.h>

#include "probes/libreswan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct err e = {0};
    struct sa_fact f;
    if (libreswan_parse_trafficstatus((const char *)data, size, &f, &e) != 0 && f.n_ike != 0)
        abort();
    sa_fact_free(&f);
    return 0;
}
