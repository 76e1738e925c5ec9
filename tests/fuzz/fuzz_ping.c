/* Fuzz target: ping output parser.  Invariants: no crash; on error the fact
 * is empty (no invented counts). */
#include <stdint.h>
#include <stdlib.h>

#include "probes/ping.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct err e = {0};
    struct ping_fact p;
    if (ping_parse((const char *)data, size, &p, &e) != 0 &&
        (p.transmitted.known || p.received.known || p.replies))
        abort();
    return 0;
}
