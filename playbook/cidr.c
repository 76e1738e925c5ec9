#include "playbook/cidr.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

int cidr_parse(const char *s, struct cidr *out)
{
    char tmp[64];
    size_t n = strcspn(s, "/[ ");
    if (!n || n >= sizeof tmp)
        return -1;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    memset(out, 0, sizeof *out);
    int max;
    if (inet_pton(AF_INET, tmp, out->addr) == 1) {
        out->family = 4;
        max = 32;
    } else if (inet_pton(AF_INET6, tmp, out->addr) == 1) {
        out->family = 6;
        max = 128;
    } else {
        return -1;
    }
    out->len = max;
    if (s[n] == '/') {
        char *end;
        long l = strtol(s + n + 1, &end, 10);
        if (end == s + n + 1 || l < 0 || l > max || (*end && *end != '[' && *end != ' '))
            return -1;
        out->len = (int)l;
    } else if (s[n] && s[n] != '[' && s[n] != ' ') {
        return -1;
    }
    return 0;
}

static bool prefix_equal(const uint8_t *a, const uint8_t *b, int len)
{
    int full = len / 8, rest = len % 8;
    if (memcmp(a, b, (size_t)full))
        return false;
    if (!rest)
        return true;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (a[full] & mask) == (b[full] & mask);
}

bool cidr_contains(const struct cidr *a, const struct cidr *b)
{
    return a->family == b->family && a->len <= b->len && prefix_equal(a->addr, b->addr, a->len);
}

bool cidr_overlaps(const struct cidr *a, const struct cidr *b)
{
    return cidr_contains(a, b) || cidr_contains(b, a);
}

bool cidr_str_overlaps(const char *a, const char *b)
{
    struct cidr x, y;
    return !cidr_parse(a, &x) && !cidr_parse(b, &y) && cidr_overlaps(&x, &y);
}
