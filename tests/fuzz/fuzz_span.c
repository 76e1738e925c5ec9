/* Fuzz target: capture spans given on the command line (`correlate --span-a
 * START,END`).  Invariants: no crash; a parsed span is ordered and within
 * below 2^63 ns (year 2262); a parsed time is positive and below it too; a failure leaves
 * the output untouched. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "playbook/correlate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    struct err e = {0};
    const int64_t limit = 9223372036ll * 1000000000ll; /* 2262-04-11T23:47:16Z */
    struct correlate_span sp = {-1, -1};
    if (correlate_span_parse(s, &sp, &e) == 0) {
        if (sp.start_ns <= 0 || sp.end_ns <= sp.start_ns || sp.end_ns >= limit)
            abort();
    } else if (sp.start_ns != -1 || sp.end_ns != -1 || !e.msg[0]) {
        abort();
    }
    int64_t t = -1;
    if (correlate_time_parse(s, &t, &e) == 0) {
        if (t <= 0 || t >= limit)
            abort();
    } else if (t != -1) {
        abort();
    }
    free(s);
    return 0;
}
