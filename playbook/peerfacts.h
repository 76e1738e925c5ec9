/* What the five steps know about one peer, and what the two-end capture saw.
 *
 * These are the inputs of the step rules (playbook/rules.h): plain value
 * records, daemon-neutral (strongSwan and Libreswan facts end up in the same
 * fields), that a test writes as literals.  The diagnosis session fills them
 * from the probes' parsed facts (playbook/session.c); the rules never run a
 * command.  Strings are borrowed: whoever fills a struct owns them (the
 * session keeps them in a string pool; a test uses literals).
 *
 * Unknown numbers are -1; unknown yes/no facts are TRI_UNKNOWN.  A rule never
 * treats "unknown" as "fine": it either says it could not tell, or stays quiet
 * when another rule already reports the gap (struct pf_gap). */
#ifndef TS_PEERFACTS_H
#define TS_PEERFACTS_H

#include <stdbool.h>
#include <stdint.h>

#include "probes/fact.h" /* enum tri */

#define PF_MAX 8 /* selectors, proposals, addresses: NULL-terminated lists of at most PF_MAX - 1 */
#define PF_MAX_RULES 16
#define PF_MAX_GAPS 12
#define PF_MAX_LOG 6

/* A probe that could not run (no sudo, tool missing, timed out). */
struct pf_gap {
    int step;           /* the step that needed it */
    const char *probe;  /* "conntrack -L" */
    const char *reason; /* "sudo -n refused", "command not found" */
};

/* The configured connection (swanctl --list-conns, ipsec status). */
struct pf_conn {
    const char *name;  /* NULL: no connection selected */
    const char *child; /* CHILD_SA config name */
    const char *local_addrs[PF_MAX], *remote_addrs[PF_MAX];
    const char *local_ts[PF_MAX], *remote_ts[PF_MAX];
    const char *ike_proposals[PF_MAX], *esp_proposals[PF_MAX];
    int dpd_delay;        /* s; 0 off; -1 unknown */
    int dpd_timeout;      /* s; 0 none (IKEv2 uses retransmits); -1 unknown */
    int ike_rekey_time;   /* s; 0 never; -1 unknown */
    int child_rekey_time; /* s */
    int child_life_time;  /* s (hard) */
};

/* The IKE SA of that connection as the daemon shows it. */
struct pf_ike {
    const char *state; /* "ESTABLISHED", "CONNECTING"... NULL: no IKE SA */
    const char *local_host, *remote_host;
    int local_port, remote_port; /* -1 unknown */
    enum tri nat_local;          /* this end is behind NAT */
    enum tri nat_remote;         /* the other end is behind NAT */
    const char *proposal;        /* "AES_GCM_16_256/PRF_HMAC_SHA2_256/ECP_256" */
    long established_s;          /* seconds since established; -1 */
};

/* The CHILD SA (the one for the conn's child, installed first). */
struct pf_child {
    const char *state; /* "INSTALLED", "REKEYED"... NULL: no CHILD SA */
    enum tri encap;    /* ESP-in-UDP */
    uint32_t spi_in, spi_out;
    int64_t packets_in, packets_out, bytes_in, bytes_out; /* -1 unknown */
    const char *proposal;                                 /* "AES_GCM_16_256" */
    const char *local_ts[PF_MAX], *remote_ts[PF_MAX];     /* negotiated */
    long installed_s;                                     /* -1 */
};

enum pf_nat_action { PF_NAT_SNAT = 1, PF_NAT_MASQUERADE, PF_NAT_EXEMPT /* accept/return/ipsec match */ };

/* A rule of the postrouting NAT chain, in evaluation order. */
struct pf_nat_rule {
    enum pf_nat_action action;
    const char *src, *dst; /* CIDR, NULL = any */
    const char *oif;       /* NULL = any */
    bool ipsec_none;       /* applies only to packets that IPsec does not protect (-m policy --pol none, meta ipsec missing) */
    const char *text;      /* the rule as listed, for the evidence */
};

/* Firewall (nft list ruleset / iptables-save). */
struct pf_firewall {
    bool known;
    const char *source; /* "nft list ruleset" or "iptables-save" */
    struct pf_nat_rule nat[PF_MAX_RULES];
    int n_nat;
    enum tri mss_clamp; /* TCPMSS / "tcp option maxseg size set" rule present */
    int mss_value;      /* -1: clamp-to-pmtu or unknown */
    const char *drop_udp4500, *drop_udp500, *drop_esp; /* text of a drop rule, or NULL */
};

/* `ip route get REMOTE from LOCAL` for the protected subnets. */
struct pf_route {
    const char *dst, *from; /* what was asked; NULL: not asked */
    const char *dev, *via, *src;
    const char *error; /* "RTNETLINK answers: Network is unreachable" */
};

/* Counts of interesting daemon log lines over the recent window. */
struct pf_logs {
    bool known;
    int window_s; /* how far back the lines go */
    int ts_unacceptable, no_proposal_chosen, auth_failed;
    int dpd_dead;      /* "giving up after N retransmits", peer dead */
    int ike_established, child_established;
    int retransmits;
    const char *lines[PF_MAX_LOG]; /* a few telling lines, NULL-terminated */
};

/* Active DF sweep through the tunnel (only with --active). */
struct pf_sweep {
    bool ran;
    const char *from, *to; /* protected addresses used */
    const char *error;     /* could not run: why */
    bool small_ok;         /* a small ping passed */
    int largest_ok;        /* ICMP payload size (ping -s); -1 */
    int first_fail;        /* smallest size seen failing; -1 none */
    bool fail_silent;      /* that failure got no reply, no ICMP, no local error: dropped unseen */
    int local_mtu;         /* "local error: message too long, mtu=N"; -1 */
    int frag_needed_mtu;   /* ICMP "Frag needed ... (mtu = N)" seen; -1 */
};

struct peer_facts {
    const char *name; /* "gw-a" */
    bool connected;
    const char *connect_error;
    enum tri sudo;
    const char *daemon; /* "strongswan", "libreswan"; NULL none found */
    struct pf_gap gaps[PF_MAX_GAPS];
    int n_gaps;

    struct pf_conn conn;
    struct pf_ike ike;
    struct pf_child child;

    enum tri listen500, listen4500;
    struct pf_firewall fw;
    int udp_timeout, udp_timeout_stream; /* s (nf_conntrack_udp_timeout*) -1 */
    int conntrack_4500_timeout;          /* s left on the live UDP/4500 entry; -1 */
    int keepalive_s;                     /* NAT-T keepalive interval; 0 off; -1 */
    int outer_mtu;                       /* MTU of the interface toward the peer; -1 */
    struct pf_route route;
    struct pf_logs logs;
    struct pf_sweep sweep;
};

/* One direction of the two-end capture, X (sender) to Y (receiver). */
struct reach_spi {
    uint32_t spi;
    long sent, received, lost;
};

#define REACH_BUCKETS 6
struct reach_bucket {
    int max_len; /* wire length up to this (last bucket: INT_MAX) */
    long sent, lost;
};

struct reach_dir {
    long udp4500_sent, udp4500_received; /* every UDP/4500 packet: ESP, IKE, keepalives */
    long esp_sent, esp_received, esp_lost, esp_dup, esp_reorder;
    long esp_outside;                    /* sent, not received, outside the receiver's capture span */
    long raw_esp_sent, raw_esp_received; /* IP proto 50 */
    long ike_sent, ike_received;
    long ike_sa_init;                    /* IKE_SA_INIT requests seen: new IKE SAs */
    long ka_sent, ka_received;
    double ka_interval_s;                /* median; -1 none */
    long frag_sent, frag_received;
    double delay_median_ms, delay_p99_ms; /* -1 unknown */
    struct reach_spi spis[4];
    int n_spis;
    struct reach_bucket buckets[REACH_BUCKETS];
    int mapping_changes;                 /* outer addr/port of the sender as the receiver saw it changed */
    const char *mapping_first, *mapping_last; /* "203.0.113.10:4500" */
};

struct reach_facts {
    bool ran;            /* both captures ran and were correlated */
    const char *error;   /* why not */
    double window_s;     /* the span both captures cover */
    const char *offset_method; /* how the clock offset was estimated */
    struct reach_dir a_to_b, b_to_a;
    /* CHILD SA counter deltas over the window (-1 unknown): a second witness */
    int64_t a_out, b_in, b_out, a_in;
};

#endif
