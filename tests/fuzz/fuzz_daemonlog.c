/* Fuzz target: daemon log parser.  Invariants: no crash; counts add up. */
#include <stdint.h>
#include <stdlib.h>

#include "probes/daemonlog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct err e = {0};
    struct log_fact f;
    if (daemonlog_parse((const char *)data, size, &f, &e) == 0) {
        size_t sum = 0;
        for (int k = 0; k < LOG_KIND_COUNT; k++)
            sum += f.count[k];
        if (sum != f.n || f.n > f.lines)
            abort();
        for (size_t i = 0; i < f.n; i++)   /* a time of day is one, or unknown */
            if (f.ev[i].tod.known && f.ev[i].tod.v > 86400)
                abort();
    } else if (f.n != 0) {
        abort();
    }
    log_fact_free(&f);
    return 0;
}
