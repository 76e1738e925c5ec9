/* Fuzz target: Libreswan parsers (ipsec trafficstatus, ipsec status, and the
 * merge of the two).  No crash; nothing kept on error. */
#include <stdint.h>
#include <stdlib.h>

#include "probes/libreswan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct err e = {0};
    struct sa_fact f;
    int tr = libreswan_parse_trafficstatus((const char *)data, size, &f, &e);
    if (tr != 0 && f.n_ike != 0)
        abort();
    struct libreswan_status s;
    if (libreswan_parse_status((const char *)data, size, &s, &e) != 0) {
        if (s.conns.n_conn != 0 || s.sas.n_ike != 0 || s.x)
            abort();
    } else if (tr == 0) {
        libreswan_merge_traffic(&s.sas, &f);
    }
    for (size_t i = 0; i < s.sas.n_ike; i++)
        if (s.sas.ike[i].n_child && !s.sas.ike[i].child)
            abort();
    libreswan_status_free(&s);
    sa_fact_free(&f);
    return 0;
}
