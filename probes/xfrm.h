/* Kernel XFRM facts: SAs (states), policies and /proc/net/xfrm_stat.
 *
 * Two sources fill the same structs:
 *  - text over SSH: `ip -s xfrm state list nokeys`, `ip [-s] xfrm policy`
 *    (iproute2 6.1 format; the non -s form too, with fewer fields known);
 *  - netlink dumps via libmnl when tunnelscope runs on the gateway
 *    (probes/xfrm_nl.h).
 * Key material never enters these structs: of an algorithm only its name is
 * kept ("rfc4106(gcm(aes))"), whatever follows it on the line (a key, a
 * "[REDACTED]", a key length) is skipped.
 * Addresses are text as iproute2 prints them; selectors "10.10.0.0/16".
 * Fields not printed stay unknown (see probes/fact.h). */
#ifndef TS_XFRM_H
#define TS_XFRM_H

#include "probes/fact.h"

#define XFRM_ALG_MAX 64

struct xfrm_sa {
    char src[FACT_ADDR_MAX], dst[FACT_ADDR_MAX];   /* outer addresses */
    char proto[8];                   /* "esp", "ah", "comp" */
    struct opt_u64 spi, reqid;
    char mode[16];                   /* "tunnel", "transport", "beet" */
    struct opt_u64 replay_window;    /* the "replay-window N" of the state line */
    enum tri esn;                    /* flag esn / an "anti-replay esn context" */
    char aead[XFRM_ALG_MAX], enc[XFRM_ALG_MAX], auth[XFRM_ALG_MAX];
    enum tri encap;                  /* UDP encapsulation (NAT-T) present */
    char encap_type[24];             /* "espinudp", "espinudp-nonike", "espintcp" */
    struct opt_u64 encap_sport, encap_dport;
    char encap_oa[FACT_ADDR_MAX];
    struct opt_u64 seq, oseq, seq_hi, oseq_hi;     /* anti-replay context */
    struct opt_u64 esn_replay_window;
    char sel_src[FACT_TS_MAX], sel_dst[FACT_TS_MAX];
    struct opt_u64 soft_add_expires, hard_add_expires;   /* lifetime config, seconds */
    struct opt_u64 cur_bytes, cur_packets;               /* lifetime current */
    char add_time[24], use_time[24];                     /* "2026-12-05 09:29:05", "-" */
    struct opt_u64 stat_replay_window, stat_replay, stat_failed; /* stats: */
};

struct xfrm_tmpl {
    char src[FACT_ADDR_MAX], dst[FACT_ADDR_MAX];
    char proto[8];
    struct opt_u64 spi, reqid;
    char mode[16];
    char level[16];                  /* "required" / "use" when printed */
};

#define XFRM_TMPL_MAX 4

struct xfrm_policy {
    char src[FACT_TS_MAX], dst[FACT_TS_MAX];   /* selector */
    char upspec[48];                 /* "proto udp dport 53", "" when any */
    char dir[8];                     /* "in", "out", "fwd" */
    bool socket;                     /* a per-socket policy ("socket in") */
    char action[8];                  /* "allow" or "block" ("allow" when not printed) */
    struct opt_u64 priority, index;
    char ptype[8];
    size_t n_tmpl;
    bool more_tmpl;
    struct xfrm_tmpl tmpl[XFRM_TMPL_MAX];
};

struct xfrm_fact {
    size_t n_sa;
    struct xfrm_sa *sa;
    size_t n_pol;
    struct xfrm_policy *pol;
};

/* /proc/net/xfrm_stat: every counter the kernel printed, by name. */
struct xfrm_stat_fact {
    size_t n;
    struct {
        char name[40];
        uint64_t v;
    } c[64];
};

void xfrm_fact_free(struct xfrm_fact *f);
struct xfrm_sa *xfrm_fact_add_sa(struct xfrm_fact *f);
struct xfrm_policy *xfrm_fact_add_policy(struct xfrm_fact *f);

/* `ip [-s] xfrm state [list nokeys]` into f->sa (f->pol untouched). Empty
 * output is no state.  ERR_UNSUPPORTED for text that is not iproute2's. */
int xfrm_parse_states_text(const char *text, size_t len, struct xfrm_fact *f, struct err *e);
/* `ip [-s] xfrm policy` into f->pol. */
int xfrm_parse_policies_text(const char *text, size_t len, struct xfrm_fact *f,
                             struct err *e);
int xfrm_parse_stat(const char *text, size_t len, struct xfrm_stat_fact *out, struct err *e);
/* A counter by name ("XfrmInNoStates"); unknown when the kernel did not print it. */
struct opt_u64 xfrm_stat_get(const struct xfrm_stat_fact *f, const char *name);

#endif
