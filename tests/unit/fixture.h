/* Test helper: reads a fixture file into memory (NUL-terminated). */
#ifndef TS_TEST_FIXTURE_H
#define TS_TEST_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Returns malloc'd contents of TS_FIXTURES/rel, length in *len; aborts the test
 * binary (fail) when the file is missing: a missing fixture is a broken test. */
static inline char *fixture_load(const char *rel, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", TS_FIXTURES, rel);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "fixture missing: %s\n", path);
        abort();
    }
    size_t cap = 4096, n = 0, r;
    char *b = malloc(cap + 1);
    while (b && (r = fread(b + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            char *nb = realloc(b, cap * 2 + 1);
            if (!nb) {
                free(b);
                b = NULL;
                break;
            }
            b = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (!b)
        abort();
    b[n] = '\0';
    *len = n;
    return b;
}

#endif
