/* Collecting one peer's facts for the steps: which commands to run, and how
 * their (parsed) outputs become the daemon-neutral struct peer_facts that the
 * rules read.  The parsing itself is the probes' (probes/swanctl.h, ...);
 * this file only picks the connection's SAs and copies what the rules need.
 * Internal to playbook/ (session.c and the tests). */
#ifndef TS_COLLECT_H
#define TS_COLLECT_H

#include <stdbool.h>
#include <stddef.h>

#include "playbook/peerfacts.h"
#include "probes/ipsec_sa.h"
#include "probes/libreswan.h"
#include "remote/buf.h"

enum probe_kind {
    PROBE_SUDO,      /* sudo -n true */
    PROBE_SAS,       /* swanctl --list-sas --raw */
    PROBE_CONNS,     /* swanctl --list-conns --raw */
    PROBE_SS,        /* ss -ulnp */
    PROBE_SWCONF,    /* strongswan.conf: charon.keep_alive */
    PROBE_SYSCTL,    /* conntrack UDP timeouts */
    PROBE_NFT,       /* nft list ruleset */
    PROBE_IPT,       /* iptables-save */
    PROBE_LOG,       /* the daemon's recent log */
    PROBE_LINK,      /* ip -o link: MTUs */
    PROBE_ROUTE_PEER,/* ip route get <the other gateway>: capture interface */
    PROBE_ROUTE_TS,  /* ip route get <remote protected host> */
    PROBE_SAS_AFTER, /* swanctl --list-sas --raw after the capture (counter deltas) */
    PROBE_LOG_NEW,   /* log lines written since the diagnosis started */
    PROBE_PING,      /* one DF ping of the sweep */
    PROBE_LOG_SIZE,  /* where the log ends now */
    PROBE_BATCH,     /* several of the above in one command (playbook/batch.h) */
    PROBE_LSW_STATUS,  /* ipsec whack --status (Libreswan), exit 127 where no Libreswan */
    PROBE_LSW_TRAFFIC, /* ipsec whack --trafficstatus (Libreswan) */
    PROBE_LSW_LOG,     /* pluto's recent log: logfile= of ipsec.conf, else the journal (-u ipsec);
                        * exit 127 where no Libreswan */
    PROBE_COUNT
};

struct probe_spec {
    enum probe_kind kind;
    int step;          /* the step whose gap it is when it cannot run */
    const char *what;  /* for evidence and gaps */
    const char *command;
    bool sudo;
};

const struct probe_spec *collect_probe(enum probe_kind k);

/* Strings the peer_facts point to that do not live in the parsed facts. */
struct strpool {
    char **v;
    size_t n, cap;
};
const char *strpool_dup(struct strpool *p, const char *s, size_t len); /* NULL on ENOMEM */
const char *strpool_printf(struct strpool *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void strpool_free(struct strpool *p);

/* Everything known about one peer; facts are rebuilt from the parsed outputs
 * by collect_build(). */
struct collect_side {
    const char *name;
    struct sa_fact sas, sas_before;
    bool have_sas, have_sas_before, sas_ran;
    struct conn_fact conns;
    bool have_conns;
    const char *conn_want; /* connection name chosen by discovery */
    const char *peer_ike_addr; /* the other gateway's address as this one reaches it */
    /* Libreswan: `ipsec status` fills sas and conns (daemon "libreswan");
     * per connection (in step with conns.conn) its NAT-T keepalive, kept in
     * the pool; lsw_state says what the Libreswan probe found. */
    const struct libreswan_conn_x *lsw_x;
    size_t n_lsw_x;
    enum { LSW_UNKNOWN, LSW_ABSENT, LSW_NOT_RUNNING, LSW_RUNNING } lsw_state;
    bool lsw_log;          /* pluto's log was read: charon's (empty there) does not replace it */
    struct strpool pool;   /* lives as long as the side */
    struct peer_facts f;
};

/* Parses the output of a probe into the side (and its gaps).  status is the
 * command's exit status (-1 none), err_code its remote/err code (ERR_NONE when
 * it ran to its end), text its stdout, errtext its stderr. */
void collect_parse(struct collect_side *s, enum probe_kind k, int status, int err_code, const char *text,
                   size_t len, const char *errtext);
/* Adds a gap (a probe that could not run) to the facts. */
void collect_gap(struct collect_side *s, int step, const char *probe, const char *reason);
/* Fills s->f.conn / ike / child for the connection s->conn_want. */
void collect_select_conn(struct collect_side *s);
/* Counter delta of the CHILD SA between sas_before and sas (packets), -1 unknown. */
void collect_deltas(const struct collect_side *s, int64_t *in, int64_t *out);
/* The first address of the conn's first remote selector (a host to route to
 * and ping): "10.20.0.1" for 10.20.0.0/16.  NULL when none. */
const char *collect_remote_host(struct collect_side *s);
/* The address of this gateway inside its local selectors, from the route to
 * the remote host (src) when it is inside them.  NULL when unknown. */
const char *collect_local_protected(const struct collect_side *s);
/* One ping of the DF sweep: 1 passed, 0 no reply and no error (dropped
 * unseen), 2 ICMP "fragmentation needed" came back, 3 local "message too
 * long"; *mtu the MTU it named (-1). */
int collect_ping_result(int status, const char *text, size_t len, int *mtu);
/* The MTU of interface dev from `ip -o link`. */
void collect_link_mtu(struct collect_side *s, const char *text, size_t len, const char *dev);

#endif
