/* Host facts of one peer besides IPsec: UDP listeners (`ss -ulnp`), conntrack
 * UDP timeouts (`sysctl`), live conntrack UDP entries (`conntrack -L -p udp`),
 * a route lookup (`ip route get`) and interface MTUs (`ip -o link`).
 * Tested on iproute2 6.1.0, procps 4.0.2, conntrack-tools 1.4.7. */
#ifndef TS_NETSTATE_H
#define TS_NETSTATE_H

#include "probes/fact.h"

/* ---- ss -ulnp ---------------------------------------------------------- */
struct udp_listener {
    char addr[FACT_ADDR_MAX];        /* "0.0.0.0", "::", "*", "192.0.2.1%eth0" */
    uint16_t port;
    char process[FACT_NAME_MAX];     /* "charon", "pluto"; "" when ss showed none */
    struct opt_u64 pid;
};

/* Up to UDP_LISTEN_MAX listeners are kept (`more` says others were seen);
 * past it those on 500 and 4500 replace others, so that their counts stay
 * exact up to UDP_LISTEN_MAX of them; counts of other ports are then a floor. */
#define UDP_LISTEN_MAX 64

struct udp_listen_fact {
    size_t n;
    bool more;
    struct udp_listener l[UDP_LISTEN_MAX];
};

int ss_parse_udp(const char *text, size_t len, struct udp_listen_fact *out, struct err *e);
/* Number of sockets bound to `port`; `proc` (may be NULL) receives the first
 * process name seen on it. */
size_t udp_listen_count(const struct udp_listen_fact *f, uint16_t port, const char **proc);

/* ---- sysctl net.netfilter.nf_conntrack_udp_timeout{,_stream} ------------ */
struct ct_timeout_fact {
    struct opt_u64 udp_timeout;          /* seconds, unreplied / single-direction flows */
    struct opt_u64 udp_timeout_stream;   /* seconds, flows seen both ways (ASSURED) */
    bool missing;                        /* sysctl said a key does not exist */
};

/* Reads `sysctl KEY...` ("key = value" lines) and also `sysctl -n
 * net.netfilter.nf_conntrack_udp_timeout net.netfilter.nf_conntrack_udp_timeout_stream`
 * (bare values, in that order). */
int sysctl_parse_ct_timeouts(const char *text, size_t len, struct ct_timeout_fact *out,
                             struct err *e);

/* ---- conntrack -L -p udp ------------------------------------------------ */
struct ct_entry {
    struct opt_u64 timeout;              /* seconds left */
    char src[FACT_ADDR_MAX], dst[FACT_ADDR_MAX];        /* original direction */
    uint16_t sport, dport;
    char rsrc[FACT_ADDR_MAX], rdst[FACT_ADDR_MAX];      /* reply direction */
    uint16_t rsport, rdport;
    bool unreplied, assured;
};

#define CT_ENTRY_MAX 64

/* Only entries with port 500 or 4500 in either tuple are kept (up to
 * CT_ENTRY_MAX); the others are counted. */
struct ct_fact {
    size_t n;
    bool more;
    struct ct_entry e[CT_ENTRY_MAX];
    size_t n_other;
    struct opt_u64 shown;                /* "N flow entries have been shown." */
};

/* Reads stdout alone or stdout+stderr: when the "N flow entries have been
 * shown" summary is there, fewer entries than announced is ERR_TRUNCATED;
 * without it, empty output is no flow. */
int conntrack_parse_udp(const char *text, size_t len, struct ct_fact *out, struct err *e);

/* ---- ip route get ------------------------------------------------------- */
struct route_fact {
    bool ok;                             /* false: the kernel answered an error */
    char error[80];                      /* "Network is unreachable" */
    char type[16];                       /* "unicast" (not printed), "local", "unreachable", ... */
    char dst[FACT_ADDR_MAX];
    char from[FACT_ADDR_MAX];
    char via[FACT_ADDR_MAX];
    char dev[FACT_NAME_MAX];
    char src[FACT_ADDR_MAX];
    char table[16];                      /* "" = main */
    struct opt_u64 mtu;                  /* a cached or locked PMTU */
};

int route_parse_get(const char *text, size_t len, struct route_fact *out, struct err *e);

/* ---- ip -o link --------------------------------------------------------- */
struct link_info {
    struct opt_u64 ifindex;
    char name[FACT_NAME_MAX];            /* without "@peer" */
    struct opt_u64 mtu;
    bool up;                             /* UP in the flags */
    char state[16];                      /* operstate: UP, DOWN, UNKNOWN */
};

#define LINK_MAX 64

struct link_fact {
    size_t n;
    bool more;
    struct link_info l[LINK_MAX];
};

int link_parse(const char *text, size_t len, struct link_fact *out, struct err *e);
const struct link_info *link_find(const struct link_fact *f, const char *name);

#endif
