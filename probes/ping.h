/* iputils ping output (tested on iputils 20221126): loss, rtt, and the two
 * ways a DF ping finds the path MTU:
 *   ping: local error: message too long, mtu=1400     (our own route/interface)
 *   From 192.168.77.1 icmp_seq=1 Frag needed and DF set (mtu = 1400)  (a router) */
#ifndef TS_PING_H
#define TS_PING_H

#include "probes/fact.h"

struct ping_fact {
    char dst[FACT_ADDR_MAX];
    char from[FACT_ADDR_MAX];              /* the -I source, when printed */
    struct opt_u64 payload, packet;        /* "1500(1528) bytes of data" */
    size_t replies;                        /* echo reply lines */
    struct opt_u64 transmitted, received, errors, duplicates;
    struct opt_u64 rtt_min_us, rtt_avg_us, rtt_max_us, rtt_mdev_us;
    struct opt_u64 local_error_mtu;
    struct opt_u64 frag_needed_mtu;
    char frag_needed_from[FACT_ADDR_MAX];
    char error[96];                        /* "connect: Network is unreachable", ... */
};

/* 0 with the fact, including a ping that could not send at all (error set,
 * counts unknown); ERR_TRUNCATED when the statistics are missing (killed),
 * ERR_UNSUPPORTED for output that is not ping's. */
int ping_parse(const char *text, size_t len, struct ping_fact *out, struct err *e);

#endif
