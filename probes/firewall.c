#include "probes/firewall.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "probes/textscan.h"

void fw_fact_free(struct fw_fact *f)
{
    if (!f)
        return;
    free(f->rule);
    free(f->chain);
    memset(f, 0, sizeof *f);
}

static struct fw_rule *add_rule(struct fw_fact *f)
{
    if (f->n_rule >= 200000)
        return NULL;
    struct fw_rule *r = fact_grow((void **)&f->rule, f->n_rule, sizeof *r);
    if (r)
        f->n_rule++;
    return r;
}

static struct fw_chain *add_chain(struct fw_fact *f)
{
    if (f->n_chain >= 20000)
        return NULL;
    struct fw_chain *c = fact_grow((void **)&f->chain, f->n_chain, sizeof *c);
    if (c)
        f->n_chain++;
    return c;
}

/* The 0-based position of the rule just added (the last one) in its chain:
 * one more than the nearest earlier rule of the same chain.  Listings give a
 * chain's rules together, so the scan back stops at once (a count over all
 * rules here made 30 000 rules take minutes). */
static size_t chain_next_pos(const struct fw_fact *f, const char *family, const char *table,
                             const char *chain)
{
    for (size_t i = f->n_rule - 1; i-- > 0;)
        if (!strcmp(f->rule[i].chain, chain) && !strcmp(f->rule[i].table, table) &&
            !strcmp(f->rule[i].family, family))
            return f->rule[i].pos + 1;
    return 0;
}

/* Does a port list ("500", "{ 500, 4500 }", "500,4500", "isakmp") hold `port`? */
static bool ports_hold(struct span s, unsigned port)
{
    const char *names[2] = {"isakmp", "ipsec-nat-t"};
    size_t i = 0;
    while (i < s.len) {
        while (i < s.len && !isalnum((unsigned char)s.p[i]))
            i++;
        size_t st = i;
        while (i < s.len && (isalnum((unsigned char)s.p[i]) || s.p[i] == '-'))
            i++;
        struct span w = {s.p + st, i - st};
        if (w.len == 0)
            break;
        /* ranges "400-600" */
        const char *dash = memchr(w.p, '-', w.len);
        struct opt_u64 a = {0}, b = {0};
        if (dash && span_u64((struct span){w.p, (size_t)(dash - w.p)}, &a) == 0 &&
            span_u64((struct span){dash + 1, (size_t)(w.p + w.len - dash - 1)}, &b) == 0) {
            if (port >= a.v && port <= b.v)
                return true;
        } else if (span_u64(w, &a) == 0) {
            if (a.v == port)
                return true;
        } else if ((port == 500 && span_eq(w, names[0])) ||
                   (port == 4500 && span_eq(w, names[1]))) {
            return true;
        }
    }
    return false;
}

/* ---- nft ---------------------------------------------------------------- */

/* The text after `key` up to the next keyword: a "{ ... }" set or one word. */
static bool nft_value_after(struct span line, const char *key, struct span *v)
{
    const char *k = span_find(line, key);
    if (!k)
        return false;
    struct span r = {k + strlen(key), (size_t)(line.p + line.len - k - strlen(key))};
    span_trim(&r);
    if (r.len && r.p[0] == '{') {
        const char *close = memchr(r.p, '}', r.len);
        if (!close)
            return false;
        v->p = r.p;
        v->len = (size_t)(close - r.p + 1);
        return true;
    }
    struct span w;
    if (r.len && r.p[0] == '!' ) {
        /* "!= 10.0.0.0/8" */
        struct span rr = r;
        struct span op;
        span_word(&rr, &op);
        if (!span_word(&rr, &w))
            return false;
        v->p = r.p;
        v->len = (size_t)(w.p + w.len - r.p);
        return true;
    }
    if (!span_word(&r, &w))
        return false;
    *v = w;
    return true;
}

static void nft_classify(struct fw_rule *r, struct span line)
{
    /* drop a trailing comment "..." so its words do not count */
    const char *c = span_find(line, " comment \"");
    if (c)
        line.len = (size_t)(c - line.p);
    struct span v;
    bool udp = span_find(line, "udp dport") || span_find(line, "th dport");
    if (udp && (nft_value_after(line, "udp dport ", &v) || nft_value_after(line, "th dport ", &v))) {
        if (ports_hold(v, 500))
            r->match |= FW_M_UDP500;
        if (ports_hold(v, 4500))
            r->match |= FW_M_UDP4500;
    }
    if (span_find(line, "l4proto esp") || span_find(line, "protocol esp") ||
        span_find(line, "protocol 50") || span_find(line, "nexthdr esp") ||
        span_find(line, "esp spi"))
        r->match |= FW_M_ESP;
    if (span_find(line, "rt ipsec exists") || span_find(line, "meta secpath exists") ||
        span_find(line, "ipsec out") || span_find(line, "ipsec in") ||
        span_find(line, "xt match policy") || span_find(line, "xt match \"policy\""))
        r->match |= FW_M_IPSEC_IN_POLICY;
    if (span_find(line, "rt ipsec missing") || span_find(line, "meta secpath missing"))
        r->match = (r->match & ~(unsigned)FW_M_IPSEC_IN_POLICY) | FW_M_IPSEC_NO_POLICY;
    if (span_find(line, "tcp flags syn") || span_find(line, "tcp flags & (syn"))
        r->match |= FW_M_TCP_SYN;
    if (nft_value_after(line, "ip saddr ", &v) || nft_value_after(line, "ip6 saddr ", &v))
        span_copy(v, r->saddr, sizeof r->saddr);
    if (nft_value_after(line, "ip daddr ", &v) || nft_value_after(line, "ip6 daddr ", &v))
        span_copy(v, r->daddr, sizeof r->daddr);
    if (nft_value_after(line, "oifname ", &v) || nft_value_after(line, "oif ", &v)) {
        if (v.len >= 2 && v.p[0] == '"' && v.p[v.len - 1] == '"') {
            v.p++;
            v.len -= 2;
        }
        span_copy(v, r->oif, sizeof r->oif);
    }
    if (span_find(line, "maxseg size set rt mtu"))
        r->mss_clamp_pmtu = true;
    else if (nft_value_after(line, "maxseg size set ", &v))
        span_u64(v, &r->mss_set);
    /* verdict: the last verdict word of the rule */
    struct span rest = line, w, prev = {0};
    while (span_word(&rest, &w)) {
        if (span_eq(w, "accept"))
            r->verdict = FW_ACCEPT;
        else if (span_eq(w, "drop"))
            r->verdict = FW_DROP;
        else if (span_eq(w, "reject"))
            r->verdict = FW_REJECT;
        else if (span_eq(w, "return"))
            r->verdict = FW_RETURN;
        else if (span_eq(w, "masquerade"))
            r->verdict = FW_MASQUERADE;
        else if (span_eq(w, "snat") && !span_eq(prev, "ct"))
            r->verdict = FW_SNAT;
        else if (span_eq(w, "dnat") && !span_eq(prev, "ct"))
            r->verdict = FW_DNAT;
        else if (span_eq(w, "redirect") || span_eq(w, "queue")) {
            r->verdict = FW_OTHER;
            span_copy(w, r->target, sizeof r->target);
        } else if (span_eq(w, "jump") || span_eq(w, "goto")) {
            struct span t;
            if (span_word(&rest, &t)) {
                r->verdict = FW_JUMP;
                span_copy(t, r->target, sizeof r->target);
            }
        }
        prev = w;
    }
}

static int nft_chain_meta(struct fw_chain *ch, struct span line)
{
    struct span v;
    if (nft_value_after(line, "type ", &v))
        span_copy(v, ch->type, sizeof ch->type);
    if (nft_value_after(line, "hook ", &v))
        span_copy(v, ch->hook, sizeof ch->hook);
    if (nft_value_after(line, "policy ", &v)) {
        if (v.len && v.p[v.len - 1] == ';')
            v.len--;
        span_copy(v, ch->policy, sizeof ch->policy);
    }
    return 0;
}

static int brace_delta(struct span line)
{
    int d = 0;
    bool q = false;
    for (size_t i = 0; i < line.len; i++) {
        if (line.p[i] == '"')
            q = !q;
        else if (!q && line.p[i] == '{')
            d++;
        else if (!q && line.p[i] == '}')
            d--;
    }
    return d;
}

int nft_parse_ruleset(const char *text, size_t len, struct fw_fact *out, struct err *e)
{
    memset(out, 0, sizeof *out);
    out->source = FW_SRC_NFT;
    struct span all = {text, len}, line;
    size_t lineno = 0;
    int depth = 0;            /* braces open */
    int skip_depth = -1;      /* inside a block we skip (set, map, flowtable...) */
    char family[8] = "", table[32] = "";
    struct fw_chain *ch = NULL;
    while (span_line(&all, &line)) {
        lineno++;
        span_trim(&line);
        if (line.len == 0 || line.p[0] == '#')
            continue;
        int d = brace_delta(line);
        if (skip_depth >= 0) {
            depth += d;
            if (depth <= skip_depth)
                skip_depth = -1;
            if (depth < 0)
                goto garbled;
            continue;
        }
        struct span r = line, w1, w2, w3;
        span_word(&r, &w1);
        if (depth == 0) {
            if (!span_eq(w1, "table") || !span_word(&r, &w2) || !span_word(&r, &w3) || d != 1) {
                err_set(e, lineno == 1 ? ERR_UNSUPPORTED : ERR_PARSE,
                        "nft: line %zu: expected 'table FAMILY NAME {': %.*s", lineno,
                        SPAN_FMT(line));
                goto fail;
            }
            if (span_copy(w2, family, sizeof family) || span_copy(w3, table, sizeof table))
                goto garbled;
            depth = 1;
            continue;
        }
        if (depth == 1) {
            if (span_eq(line, "}")) {
                depth = 0;
                continue;
            }
            if (span_eq(w1, "chain") && d == 1) {
                if (!span_word(&r, &w2))
                    goto garbled;
                ch = add_chain(out);
                if (!ch)
                    goto oom;
                strcpy(ch->family, family);
                strcpy(ch->table, table);
                if (span_copy(w2, ch->name, sizeof ch->name))
                    goto garbled;
                depth = 2;
                continue;
            }
            /* set, map, flowtable, ct helper, counter objects...: skipped */
            if (d > 0) {
                skip_depth = depth;
                depth += d;
                continue;
            }
            if (d < 0)
                goto garbled;
            continue;
        }
        /* depth 2: inside a chain */
        if (span_eq(line, "}")) {
            depth = 1;
            ch = NULL;
            continue;
        }
        if (d != 0 || !ch)
            goto garbled;
        if (span_eq(w1, "type") && span_find(line, " hook ")) {
            nft_chain_meta(ch, line);
            continue;
        }
        if (span_eq(w1, "policy")) {
            nft_chain_meta(ch, line);
            continue;
        }
        struct fw_rule *rule = add_rule(out);
        if (!rule)
            goto oom;
        strcpy(rule->family, ch->family);
        strcpy(rule->table, ch->table);
        strcpy(rule->chain, ch->name);
        strcpy(rule->hook, ch->hook);
        rule->pos = chain_next_pos(out, ch->family, ch->table, ch->name);
        fact_copy(rule->text, sizeof rule->text, line.p, line.len);
        nft_classify(rule, line);
    }
    if (depth != 0 || skip_depth >= 0) {
        err_set(e, ERR_TRUNCATED, "nft: ruleset ends inside a block: output cut short");
        goto fail;
    }
    return 0;
garbled:
    err_set(e, ERR_PARSE, "nft: line %zu not understood: %.*s", lineno, SPAN_FMT(line));
    goto fail;
oom:
    err_set(e, ERR_INTERNAL, "out of memory");
fail:
    fw_fact_free(out);
    return -1;
}

/* ---- iptables-save ------------------------------------------------------ */

/* Next argument of an iptables-save rule (handles "quoted strings"). */
static bool ipt_arg(struct span *s, struct span *a)
{
    while (s->len && s->p[0] == ' ') {
        s->p++;
        s->len--;
    }
    if (!s->len)
        return false;
    if (s->p[0] == '"') {
        size_t i = 1;
        while (i < s->len && !(s->p[i] == '"' && s->p[i - 1] != '\\'))
            i++;
        if (i >= s->len)
            return false;
        a->p = s->p;
        a->len = i + 1;
        s->p += i + 1;
        s->len -= i + 1;
        return true;
    }
    return span_word(s, a);
}

static void lower_copy(char *dst, size_t n, struct span s)
{
    size_t i;
    for (i = 0; i + 1 < n && i < s.len; i++)
        dst[i] = (char)tolower((unsigned char)s.p[i]);
    dst[i] = '\0';
}

static bool builtin_chain(struct span c)
{
    return span_eq(c, "INPUT") || span_eq(c, "OUTPUT") || span_eq(c, "FORWARD") ||
           span_eq(c, "PREROUTING") || span_eq(c, "POSTROUTING");
}

static int ipt_rule(struct fw_fact *out, const char *table, struct span line, struct err *e,
                    size_t lineno)
{
    struct span s = {line.p + 3, line.len - 3}, a, chain;
    if (!ipt_arg(&s, &chain))
        return err_set(e, ERR_PARSE, "iptables-save: line %zu: -A without chain", lineno);
    struct fw_rule *r = add_rule(out);
    if (!r)
        return err_set(e, ERR_INTERNAL, "out of memory");
    strcpy(r->family, "ip");
    fact_copy(r->table, sizeof r->table, table, strlen(table));
    span_copy(chain, r->chain, sizeof r->chain);
    if (builtin_chain(chain))
        lower_copy(r->hook, sizeof r->hook, chain);
    r->pos = chain_next_pos(out, "ip", r->table, r->chain);
    fact_copy(r->text, sizeof r->text, line.p, line.len);
    bool neg = false, pudp = false, dir_out = false, pol_ipsec = false, pol_none = false;
    struct span dports = {0};
    while (ipt_arg(&s, &a)) {
        struct span v = {0};
        if (span_eq(a, "!")) {
            neg = true;
            continue;
        }
        bool takes = span_eq(a, "-s") || span_eq(a, "-d") || span_eq(a, "-o") ||
                     span_eq(a, "-i") || span_eq(a, "-p") || span_eq(a, "--dport") ||
                     span_eq(a, "--dports") || span_eq(a, "-j") || span_eq(a, "-g") ||
                     span_eq(a, "--dir") || span_eq(a, "--pol") || span_eq(a, "--set-mss") ||
                     span_eq(a, "-m") || span_eq(a, "--tcp-flags") || span_eq(a, "--comment") ||
                     span_eq(a, "--to-source") || span_eq(a, "--to-destination");
        if (takes && !ipt_arg(&s, &v))
            return err_set(e, ERR_TRUNCATED, "iptables-save: line %zu: %.*s without value",
                           lineno, SPAN_FMT(a));
        if (span_eq(a, "-s") || span_eq(a, "-d")) {
            char *dst = span_eq(a, "-s") ? r->saddr : r->daddr;
            size_t off = 0;
            if (neg)
                dst[off++] = '!';
            fact_copy(dst + off, FACT_TS_MAX - off, v.p, v.len);
        } else if (span_eq(a, "-o")) {
            span_copy(v, r->oif, sizeof r->oif);
        } else if (span_eq(a, "-p")) {
            if (!neg && (span_eq(v, "esp") || span_eq(v, "50")))
                r->match |= FW_M_ESP;
            pudp = !neg && (span_eq(v, "udp") || span_eq(v, "17"));
        } else if (span_eq(a, "--dport") || span_eq(a, "--dports")) {
            if (!neg)
                dports = v;
        } else if (span_eq(a, "--tcp-flags")) {
            struct span cmp;
            if (!ipt_arg(&s, &cmp))
                return err_set(e, ERR_TRUNCATED, "iptables-save: line %zu: --tcp-flags", lineno);
            if (span_eq(cmp, "SYN"))
                r->match |= FW_M_TCP_SYN;
        } else if (span_eq(a, "--dir")) {
            dir_out = span_eq(v, "out");
        } else if (span_eq(a, "--pol")) {
            pol_ipsec = span_eq(v, "ipsec");
            pol_none = span_eq(v, "none");
        } else if (span_eq(a, "--set-mss")) {
            span_u64(v, &r->mss_set);
        } else if (span_eq(a, "--clamp-mss-to-pmtu")) {
            r->mss_clamp_pmtu = true;
        } else if (span_eq(a, "-j") || span_eq(a, "-g")) {
            if (span_eq(v, "ACCEPT"))
                r->verdict = FW_ACCEPT;
            else if (span_eq(v, "DROP"))
                r->verdict = FW_DROP;
            else if (span_eq(v, "REJECT"))
                r->verdict = FW_REJECT;
            else if (span_eq(v, "RETURN"))
                r->verdict = FW_RETURN;
            else if (span_eq(v, "MASQUERADE"))
                r->verdict = FW_MASQUERADE;
            else if (span_eq(v, "SNAT"))
                r->verdict = FW_SNAT;
            else if (span_eq(v, "DNAT"))
                r->verdict = FW_DNAT;
            else if (span_eq(v, "TCPMSS") || span_eq(v, "LOG") || span_eq(v, "MARK") ||
                     span_eq(v, "CONNMARK") || span_eq(v, "NOTRACK") || span_eq(v, "CT"))
                r->verdict = FW_NONE;
            else if (v.len && isupper((unsigned char)v.p[0]) &&
                     !memchr(v.p, '-', v.len) && !memchr(v.p, '_', v.len) &&
                     !builtin_chain(v))
                r->verdict = FW_OTHER;   /* REDIRECT, NFQUEUE, ... */
            else
                r->verdict = FW_JUMP;
            span_copy(v, r->target, sizeof r->target);
        }
        neg = false;
    }
    if (pudp && dports.p) {
        if (ports_hold(dports, 500))
            r->match |= FW_M_UDP500;
        if (ports_hold(dports, 4500))
            r->match |= FW_M_UDP4500;
    }
    if (pol_ipsec)
        r->match |= FW_M_IPSEC_IN_POLICY;
    if (pol_none)
        r->match |= FW_M_IPSEC_NO_POLICY;
    (void)dir_out;
    return 0;
}

int iptables_parse_save(const char *text, size_t len, struct fw_fact *out, struct err *e)
{
    memset(out, 0, sizeof *out);
    out->source = FW_SRC_IPTABLES;
    struct span all = {text, len}, line;
    size_t lineno = 0;
    char table[32] = "";
    bool in_table = false;
    while (span_line(&all, &line)) {
        lineno++;
        span_trim(&line);
        if (line.len == 0 || line.p[0] == '#')
            continue;
        if (line.p[0] == '*') {
            if (in_table) {
                err_set(e, ERR_PARSE, "iptables-save: line %zu: table without COMMIT", lineno);
                goto fail;
            }
            fact_copy(table, sizeof table, line.p + 1, line.len - 1);
            in_table = true;
        } else if (span_eq(line, "COMMIT")) {
            if (!in_table) {
                err_set(e, ERR_PARSE, "iptables-save: line %zu: COMMIT outside a table", lineno);
                goto fail;
            }
            in_table = false;
        } else if (line.p[0] == ':' && in_table) {
            struct span r = {line.p + 1, line.len - 1}, name, pol;
            span_word(&r, &name);
            span_word(&r, &pol);
            struct fw_chain *c = add_chain(out);
            if (!c) {
                err_set(e, ERR_INTERNAL, "out of memory");
                goto fail;
            }
            strcpy(c->family, "ip");
            strcpy(c->table, table);
            fact_copy(c->type, sizeof c->type, table, strlen(table));
            span_copy(name, c->name, sizeof c->name);
            if (builtin_chain(name)) {
                lower_copy(c->hook, sizeof c->hook, name);
                lower_copy(c->policy, sizeof c->policy, pol);
            }
        } else if (line.p[0] == '[' && in_table && span_find(line, "] -A ")) {
            /* iptables-save -c: "[packets:bytes] -A CHAIN ..." */
            const char *a = span_find(line, "] -A ");
            struct span rl = {a + 2, (size_t)(line.p + line.len - a - 2)};
            if (ipt_rule(out, table, rl, e, lineno) != 0)
                goto fail;
        } else if (span_starts(line, "-A ") && in_table) {
            if (ipt_rule(out, table, line, e, lineno) != 0)
                goto fail;
        } else {
            err_set(e, lineno == 1 ? ERR_UNSUPPORTED : ERR_PARSE,
                    "iptables-save: line %zu not understood: %.*s", lineno, SPAN_FMT(line));
            goto fail;
        }
    }
    if (in_table) {
        err_set(e, ERR_TRUNCATED, "iptables-save: table %s has no COMMIT: output cut short", table);
        goto fail;
    }
    return 0;
fail:
    fw_fact_free(out);
    return -1;
}

static long exemption_in_chain(const struct fw_fact *f, size_t i, const char *src,
                               const char *dst)
{
    const struct fw_rule *nat = &f->rule[i];
    for (size_t k = 0; k < i; k++) {
        const struct fw_rule *r = &f->rule[k];
        if (strcmp(r->family, nat->family) || strcmp(r->table, nat->table) ||
            strcmp(r->chain, nat->chain))
            continue;
        if (r->verdict != FW_ACCEPT && r->verdict != FW_RETURN)
            continue;
        if (r->match & FW_M_IPSEC_IN_POLICY)
            return (long)k;
        if (!r->saddr[0] && !r->daddr[0])
            continue;
        bool s_ok = !r->saddr[0] || (src && !strcmp(r->saddr, src));
        bool d_ok = !r->daddr[0] || (dst && !strcmp(r->daddr, dst));
        if (s_ok && d_ok)
            return (long)k;
    }
    return -1;
}

long fw_nat_exemption_before(const struct fw_fact *f, size_t i, const char *src,
                             const char *dst)
{
    if (i >= f->n_rule)
        return -1;
    long x = exemption_in_chain(f, i, src, dst);
    if (x >= 0)
        return x;
    /* the NAT rule sits in a user chain: look before each jump into it */
    const struct fw_rule *nat = &f->rule[i];
    for (size_t j = 0; j < f->n_rule; j++) {
        const struct fw_rule *r = &f->rule[j];
        if (r->verdict == FW_JUMP && !strcmp(r->target, nat->chain) &&
            !strcmp(r->family, nat->family) && !strcmp(r->table, nat->table) &&
            strcmp(r->chain, nat->chain) != 0) {
            x = exemption_in_chain(f, j, src, dst);
            if (x >= 0)
                return x;
        }
    }
    return -1;
}
