/* IPv4/IPv6 prefixes as traffic selectors print them ("10.10.0.0/16",
 * "fd00::/8", "10.1.2.3", "10.10.0.0/16[tcp/80]": the protocol/port part is
 * ignored).  Pure; used to compare selectors and NAT rule matches. */
#ifndef TS_CIDR_H
#define TS_CIDR_H

#include <stdbool.h>
#include <stdint.h>

struct cidr {
    int family; /* 4 or 6 */
    uint8_t addr[16];
    int len; /* prefix length */
};

/* 0 / -1 (not an address: "dynamic", "any" with no family...). */
int cidr_parse(const char *s, struct cidr *out);
/* a contains b (every address of b is in a). */
bool cidr_contains(const struct cidr *a, const struct cidr *b);
bool cidr_overlaps(const struct cidr *a, const struct cidr *b);
/* String forms, parsed first: false when either does not parse. */
bool cidr_str_overlaps(const char *a, const char *b);

#endif
