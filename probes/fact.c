#include "probes/fact.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *tri_name(enum tri t)
{
    switch (t) {
    case TRI_NO:
        return "no";
    case TRI_YES:
        return "yes";
    default:
        return "unknown";
    }
}

const char *opt_u64_text(struct opt_u64 o, enum opt_fmt fmt, const char *unknown, char *b, size_t n)
{
    if (!o.known || !b || n == 0)
        return unknown;
    unsigned long long v = (unsigned long long)o.v;
    switch (fmt) {
    case OPT_FMT_HEX8:
        snprintf(b, n, "%08llx", v);
        break;
    case OPT_FMT_0XHEX8:
        snprintf(b, n, "0x%08llx", v);
        break;
    default:
        snprintf(b, n, "%llu", v);
        break;
    }
    return b;
}

int fact_parse_u64(const char *s, size_t len, uint64_t *out)
{
    if (!s || len == 0 || len > 20)
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int fact_parse_hex_u64(const char *s, size_t len, uint64_t *out)
{
    if (!s)
        return -1;
    if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        s += 2;
        len -= 2;
    }
    if (len == 0 || len > 16)
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned d;
        char c = s[i];
        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            d = (unsigned)(c - 'A' + 10);
        else
            return -1;
        v = (v << 4) | d;
    }
    *out = v;
    return 0;
}

void *fact_grow(void **arr, size_t n, size_t sz)
{
    /* the capacity is implied by n: 0, then 8, then the next power of two */
    if (n == 0 || (n >= 8 && (n & (n - 1)) == 0)) {
        size_t cap = n == 0 ? 8 : n * 2;
        if (cap > SIZE_MAX / sz)
            return NULL;
        void *p = realloc(*arr, cap * sz);
        if (!p)
            return NULL;
        *arr = p;
    }
    void *el = (char *)*arr + n * sz;
    memset(el, 0, sz);
    return el;
}

int fact_copy(char *dst, size_t n, const char *s, size_t len)
{
    if (n == 0)
        return -1;
    size_t c = len < n - 1 ? len : n - 1;
    memcpy(dst, s, c);
    dst[c] = '\0';
    return c == len ? 0 : -1;
}

int ts_list_add(struct ts_list *l, const char *s, size_t len)
{
    if (l->n >= FACT_LIST_MAX) {
        l->more = true;
        return 0;
    }
    if (fact_copy(l->item[l->n], sizeof l->item[l->n], s, len) != 0)
        return -1;
    l->n++;
    return 0;
}
