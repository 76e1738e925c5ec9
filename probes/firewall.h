/* Firewall and NAT facts from `nft list ruleset` (nftables 1.0.6) and
 * `iptables-save` (iptables 1.8.9): every rule of every chain, classified by
 * what matters to an IPsec tunnel:
 *  - does it match IKE (udp 500), NAT-T (udp 4500) or ESP, and accept/drop it;
 *  - is it a SNAT/MASQUERADE, and which earlier rule in the same chain exempts
 *    IPsec traffic from it (`-m policy --dir out --pol ipsec`, `rt ipsec
 *    exists`, `meta secpath exists`, or an ACCEPT/RETURN for given subnets);
 *  - does it clamp the TCP MSS.
 * Jumps into user chains are recorded (verdict FW_JUMP, target) but not
 * followed. */
#ifndef TS_FIREWALL_H
#define TS_FIREWALL_H

#include "probes/fact.h"

enum fw_source {
    FW_SRC_NONE = 0,
    FW_SRC_NFT,
    FW_SRC_IPTABLES,
};

enum fw_verdict {
    FW_NONE = 0,        /* no verdict (counter, log, mark, set ...) */
    FW_ACCEPT,
    FW_DROP,
    FW_REJECT,
    FW_RETURN,
    FW_JUMP,            /* jump/goto a user chain (target in `target`) */
    FW_MASQUERADE,
    FW_SNAT,
    FW_DNAT,
    FW_OTHER,           /* another terminal target (REDIRECT, NFQUEUE, ...) */
};

/* What a rule matches (bits). */
enum {
    FW_M_UDP500 = 1u << 0,
    FW_M_UDP4500 = 1u << 1,
    FW_M_ESP = 1u << 2,
    FW_M_IPSEC_IN_POLICY = 1u << 3,   /* packet has/will have an IPsec policy (exemption) */
    FW_M_IPSEC_NO_POLICY = 1u << 4,   /* packet has no IPsec policy (pol none / missing) */
    FW_M_TCP_SYN = 1u << 5,
};

struct fw_rule {
    char family[8];                 /* nft: ip, ip6, inet...; iptables: "ip" */
    char table[32];
    char chain[32];
    char hook[16];                  /* input, forward, output, prerouting, postrouting, "" */
    size_t pos;                     /* 0-based position in its chain */
    unsigned match;                 /* FW_M_* */
    enum fw_verdict verdict;
    char target[32];                /* jump target, or the target's name for FW_OTHER */
    char saddr[FACT_TS_MAX], daddr[FACT_TS_MAX];   /* "" = any; a leading "!" = negated */
    char oif[FACT_NAME_MAX];
    bool mss_clamp_pmtu;            /* TCPMSS --clamp-mss-to-pmtu / maxseg size set rt mtu */
    struct opt_u64 mss_set;         /* TCPMSS --set-mss N / maxseg size set N */
    char text[FACT_TEXT_MAX];       /* the rule as printed (cut to fit) */
};

struct fw_chain {
    char family[8], table[32], name[32];
    char hook[16];                  /* "" for a user chain */
    char type[12];                  /* nft: filter, nat, route; iptables: table name */
    char policy[12];                /* "accept", "drop", "" (user chain) */
};

struct fw_fact {
    enum fw_source source;
    size_t n_rule;
    struct fw_rule *rule;
    size_t n_chain;
    struct fw_chain *chain;
};

void fw_fact_free(struct fw_fact *f);

/* Empty output is an empty ruleset, not an error. */
int nft_parse_ruleset(const char *text, size_t len, struct fw_fact *out, struct err *e);
int iptables_parse_save(const char *text, size_t len, struct fw_fact *out, struct err *e);

/* For the SNAT/MASQUERADE rule `i`: the index of the first earlier rule of the
 * same chain that lets traffic from `src` to `dst` (subnets as text; NULL =
 * any) leave without NAT: an ACCEPT/RETURN with an IPsec-policy match, or an
 * ACCEPT/RETURN whose saddr/daddr are those subnets (or unset); when the NAT
 * rule sits in a user chain, the rules before each jump into that chain are
 * searched too (one level).  -1 when none: the protected traffic would be
 * NATed before IPsec sees it. */
long fw_nat_exemption_before(const struct fw_fact *f, size_t i, const char *src,
                             const char *dst);

#endif
