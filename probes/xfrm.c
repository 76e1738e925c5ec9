#include "probes/xfrm.h"

#include <stdlib.h>
#include <string.h>

#include "probes/textscan.h"

void xfrm_fact_free(struct xfrm_fact *f)
{
    if (!f)
        return;
    free(f->sa);
    free(f->pol);
    memset(f, 0, sizeof *f);
}

struct xfrm_sa *xfrm_fact_add_sa(struct xfrm_fact *f)
{
    if (f->n_sa >= ((size_t)1 << 20))
        return NULL;
    struct xfrm_sa *p = fact_grow((void **)&f->sa, f->n_sa, sizeof *p);
    if (p)
        f->n_sa++;
    return p;
}

struct xfrm_policy *xfrm_fact_add_policy(struct xfrm_fact *f)
{
    if (f->n_pol >= ((size_t)1 << 20))
        return NULL;
    struct xfrm_policy *p = fact_grow((void **)&f->pol, f->n_pol, sizeof *p);
    if (p)
        f->n_pol++;
    return p;
}

/* "0x1d" -> 29 */
static int hex_word(struct span w, struct opt_u64 *o)
{
    while (w.len && (w.p[w.len - 1] == ',' || w.p[w.len - 1] == ':'))
        w.len--;
    if (w.len < 3 || w.p[0] != '0' || w.p[1] != 'x')
        return -1;
    if (fact_parse_hex_u64(w.p, w.len, &o->v) != 0)
        return -1;
    o->known = true;
    return 0;
}

/* "1(0x00000001)" or "1" -> 1 ;  "0xc89904f1(3365471473)" -> hex */
static int num_paren(struct span w, struct opt_u64 *o, bool hex)
{
    const char *par = memchr(w.p, '(', w.len);
    if (par)
        w.len = (size_t)(par - w.p);
    if (hex)
        return hex_word(w, o);
    return span_u64(w, o);
}

/* "420(bytes)," -> 420 ; "(INF)(bytes)" -> unknown (no limit) */
static int num_unit(struct span w, struct opt_u64 *o)
{
    const char *par = memchr(w.p, '(', w.len);
    if (!par || par == w.p)
        return span_starts(w, "(INF)") ? 0 : -1;
    w.len = (size_t)(par - w.p);
    return span_u64(w, o);
}

/* Reads `key VALUE` pairs of a line, calling back for each known key. */
static bool next_kv(struct span *s, struct span *k, struct span *v)
{
    if (!span_word(s, k))
        return false;
    struct span save = *s;
    if (!span_word(s, v)) {
        *s = save;
        v->p = NULL;
        v->len = 0;
    }
    return true;
}

/* "src A dst B" (state) or "src P/L dst P/L [upspec]" (policy): 0 / -1 */
static int head_line(struct span line, char *src, size_t sn, char *dst, size_t dn,
                     struct span *rest)
{
    struct span w1, a, w2, b;
    if (!span_word(&line, &w1) || !span_eq(w1, "src") || !span_word(&line, &a) ||
        !span_word(&line, &w2) || !span_eq(w2, "dst") || !span_word(&line, &b))
        return -1;
    if (span_copy(a, src, sn) != 0 || span_copy(b, dst, dn) != 0)
        return -1;
    if (rest)
        *rest = line;
    return 0;
}

static bool is_prefix(const char *s)
{
    return strchr(s, '/') != NULL;
}

static int alg_line(struct xfrm_sa *sa, struct span kind, struct span rest)
{
    struct span name;
    if (!span_word(&rest, &name))
        return -1;
    char *dst = NULL;
    if (span_eq(kind, "aead"))
        dst = sa->aead;
    else if (span_eq(kind, "enc"))
        dst = sa->enc;
    else if (span_eq(kind, "auth") || span_eq(kind, "auth-trunc"))
        dst = sa->auth;
    if (!dst)
        return 0; /* comp: not a fact */
    return span_copy(name, dst, XFRM_ALG_MAX);
}

enum sub {
    SUB_NONE,
    SUB_ESN,
    SUB_LFT_CFG,
    SUB_LFT_CUR,
    SUB_STATS,
};

/* "seq-hi 0x0, seq 0x1d, oseq-hi 0x0, oseq 0x0" / "seq 0x0, oseq 0x5, bitmap ..." */
static int replay_pairs(struct xfrm_sa *sa, struct span s)
{
    struct span k, v;
    while (next_kv(&s, &k, &v)) {
        struct opt_u64 *o = NULL;
        if (span_eq(k, "seq"))
            o = &sa->seq;
        else if (span_eq(k, "oseq"))
            o = &sa->oseq;
        else if (span_eq(k, "seq-hi"))
            o = &sa->seq_hi;
        else if (span_eq(k, "oseq-hi"))
            o = &sa->oseq_hi;
        else if (span_eq(k, "replay_window")) {
            struct span t = v;
            while (t.len && t.p[t.len - 1] == ',')
                t.len--;
            if (span_u64(t, &sa->esn_replay_window) != 0)
                return -1;
            continue;
        } else
            continue;
        if (!v.p || hex_word(v, o) != 0)
            return -1;
    }
    return 0;
}

static int state_detail(struct xfrm_sa *sa, struct span line, enum sub *sub)
{
    struct span rest = line, w1;
    span_word(&rest, &w1);
    struct span k, v;
    if (span_eq(w1, "proto")) {
        *sub = SUB_NONE;
        struct span l = line;
        while (next_kv(&l, &k, &v)) {
            if (!v.p)
                return -1;
            if (span_eq(k, "proto")) {
                if (span_copy(v, sa->proto, sizeof sa->proto))
                    return -1;
            } else if (span_eq(k, "spi")) {
                if (num_paren(v, &sa->spi, true))
                    return -1;
            } else if (span_eq(k, "reqid")) {
                if (num_paren(v, &sa->reqid, false))
                    return -1;
            } else if (span_eq(k, "mode")) {
                if (span_copy(v, sa->mode, sizeof sa->mode))
                    return -1;
            }
        }
        return sa->proto[0] && sa->spi.known ? 0 : -1;
    }
    if ((span_eq(w1, "replay-window") && *sub != SUB_STATS) || span_eq(w1, "flag")) {
        *sub = SUB_NONE;
        struct span l = line;
        if (span_eq(w1, "replay-window")) {
            span_word(&l, &k);
            span_word(&l, &v);
            if (span_u64(v, &sa->replay_window))
                return -1;
        }
        if (span_find(l, " esn") || span_find(line, "flag esn"))
            sa->esn = TRI_YES;
        else if (sa->esn == TRI_UNKNOWN)
            sa->esn = TRI_NO;
        return 0;
    }
    if (span_eq(w1, "aead") || span_eq(w1, "enc") || span_eq(w1, "auth") ||
        span_eq(w1, "auth-trunc") || span_eq(w1, "comp")) {
        *sub = SUB_NONE;
        return alg_line(sa, w1, rest);
    }
    if (span_eq(w1, "encap")) {
        *sub = SUB_NONE;
        sa->encap = TRI_YES;
        struct span l = rest;
        while (next_kv(&l, &k, &v)) {
            if (!v.p)
                return -1;
            if (span_eq(k, "type")) {
                if (span_copy(v, sa->encap_type, sizeof sa->encap_type))
                    return -1;
            } else if (span_eq(k, "sport")) {
                if (span_u64(v, &sa->encap_sport))
                    return -1;
            } else if (span_eq(k, "dport")) {
                if (span_u64(v, &sa->encap_dport))
                    return -1;
            } else if (span_eq(k, "addr")) {
                if (span_copy(v, sa->encap_oa, sizeof sa->encap_oa))
                    return -1;
            }
        }
        return sa->encap_type[0] && sa->encap_sport.known && sa->encap_dport.known ? 0 : -1;
    }
    if (span_starts(line, "anti-replay esn context:")) {
        *sub = SUB_ESN;
        sa->esn = TRI_YES;
        struct span r = {line.p + 24, line.len - 24};
        return replay_pairs(sa, r);
    }
    if (span_starts(line, "anti-replay context:")) {
        *sub = SUB_NONE;
        struct span r = {line.p + 20, line.len - 20};
        return replay_pairs(sa, r);
    }
    if (span_eq(w1, "sel")) {
        *sub = SUB_NONE;
        return head_line(rest, sa->sel_src, sizeof sa->sel_src, sa->sel_dst, sizeof sa->sel_dst,
                         NULL);
    }
    if (span_eq(line, "lifetime config:")) {
        *sub = SUB_LFT_CFG;
        return 0;
    }
    if (span_eq(line, "lifetime current:")) {
        *sub = SUB_LFT_CUR;
        return 0;
    }
    if (span_eq(line, "stats:")) {
        *sub = SUB_STATS;
        return 0;
    }
    /* sub-lines of the block we are in */
    if (*sub == SUB_ESN) {
        if (span_starts(line, "seq") || span_starts(line, "oseq") ||
            span_starts(line, "replay_window"))
            return replay_pairs(sa, line);
        return 0; /* bitmap words */
    }
    if (*sub == SUB_LFT_CFG) {
        if (span_starts(line, "expire add:")) {
            struct span l = {line.p + 11, line.len - 11};
            while (next_kv(&l, &k, &v)) {
                if (!v.p)
                    return -1;
                if (span_eq(k, "soft") && num_unit(v, &sa->soft_add_expires))
                    return -1;
                if (span_eq(k, "hard") && num_unit(v, &sa->hard_add_expires))
                    return -1;
            }
        }
        return 0;
    }
    if (*sub == SUB_LFT_CUR) {
        if (span_starts(line, "add ")) {
            /* "add 2026-12-05 09:36:50 use -" */
            const char *use = span_find(line, " use ");
            if (!use || use < line.p + 4) /* "add use ...": the space of "add " found */
                return -1;
            struct span a = {line.p + 4, (size_t)(use - line.p - 4)};
            struct span u = {use + 5, (size_t)(line.p + line.len - use - 5)};
            span_trim(&a);
            span_trim(&u);
            return span_copy(a, sa->add_time, sizeof sa->add_time) ||
                           span_copy(u, sa->use_time, sizeof sa->use_time)
                       ? -1
                       : 0;
        }
        struct span l = line, b, p;
        if (span_word(&l, &b) && span_word(&l, &p) && span_find(b, "(bytes)") &&
            span_find(p, "(packets)"))
            return num_unit(b, &sa->cur_bytes) || num_unit(p, &sa->cur_packets) ? -1 : 0;
        return -1;
    }
    if (*sub == SUB_STATS) {
        struct span l = line;
        while (next_kv(&l, &k, &v)) {
            if (!v.p)
                return -1;
            if (span_eq(k, "replay-window") && span_u64(v, &sa->stat_replay_window))
                return -1;
            if (span_eq(k, "replay") && span_u64(v, &sa->stat_replay))
                return -1;
            if (span_eq(k, "failed") && span_u64(v, &sa->stat_failed))
                return -1;
        }
        return 0;
    }
    /* lastused, mark, if_id, output-mark, dir, offload, iptfs-opts, security
     * context, coa...: not facts */
    return 0;
}

static bool looks_like_error(struct span line)
{
    return span_starts(line, "RTNETLINK") || span_starts(line, "Error") ||
           span_find(line, "not found") || span_find(line, "command not found") ||
           span_find(line, "Permission denied") || span_find(line, "Operation not permitted");
}

/* The block structure both listings share: a head line at indent 0 starts an
 * item ("src A dst B"), indented lines are its details.  The driver reads the
 * lines, says where the output is an error message, cut short or garbled, and
 * leaves the meaning of each line to the callbacks. */
struct blocks {
    const char *what;            /* "ip xfrm state" */
    const char *noun;            /* "state": "line N is not a state head" */
    const char *unfinished;      /* "SA without its proto line" */
    const char *last_unfinished; /* "the last SA has no proto line" */
    int (*start)(void *ctx);                        /* a new item: 0 / -1 out of memory */
    bool (*started)(const void *ctx);               /* an item is open */
    bool (*finished)(const void *ctx);              /* the open item has its required line */
    /* 0; -1 not a head line; -2 when it set e itself */
    int (*head)(void *ctx, struct span line, size_t lineno, struct err *e);
    int (*detail)(void *ctx, struct span line);     /* 0 / -1 not understood */
};

static int parse_blocks(const char *text, size_t len, const struct blocks *b, void *ctx,
                        struct err *e)
{
    struct span all = {text, len}, line;
    size_t lineno = 0;
    while (span_line(&all, &line)) {
        lineno++;
        size_t ind = span_indent(&line);
        span_trim(&line);
        if (line.len == 0)
            continue;
        if (ind == 0) {
            if (looks_like_error(line))
                return err_set(e, ERR_UNSUPPORTED, "%s: %.*s", b->what, SPAN_FMT(line));
            if (b->started(ctx) && !b->finished(ctx))
                return err_set(e, ERR_TRUNCATED, "%s: line %zu: %s", b->what, lineno,
                               b->unfinished);
            if (b->start(ctx) != 0)
                return err_set(e, ERR_INTERNAL, "out of memory");
            int h = b->head(ctx, line, lineno, e);
            if (h == -2)
                return -1;
            if (h != 0)
                return err_set(e, lineno == 1 ? ERR_UNSUPPORTED : ERR_PARSE,
                               "%s: line %zu is not a %s head: %.*s", b->what, lineno, b->noun,
                               SPAN_FMT(line));
            continue;
        }
        if (!b->started(ctx))
            return err_set(e, ERR_UNSUPPORTED, "%s: line %zu: detail before any %s", b->what,
                           lineno, b->noun);
        if (b->detail(ctx, line) != 0)
            return err_set(e, ERR_PARSE, "%s: line %zu not understood: %.*s", b->what, lineno,
                           SPAN_FMT(line));
    }
    if (b->started(ctx) && !b->finished(ctx))
        return err_set(e, ERR_TRUNCATED, "%s: %s: output cut short", b->what,
                       b->last_unfinished);
    return 0;
}

struct state_ctx {
    struct xfrm_fact *f;
    struct xfrm_sa *sa;
    enum sub sub;
};

static int state_start(void *ctx)
{
    struct state_ctx *c = ctx;
    c->sa = xfrm_fact_add_sa(c->f);
    c->sub = SUB_NONE;
    return c->sa ? 0 : -1;
}

static bool state_started(const void *ctx)
{
    return ((const struct state_ctx *)ctx)->sa != NULL;
}

static bool state_finished(const void *ctx)
{
    return ((const struct state_ctx *)ctx)->sa->proto[0] != '\0';
}

static int state_head(void *ctx, struct span line, size_t lineno, struct err *e)
{
    struct xfrm_sa *sa = ((struct state_ctx *)ctx)->sa;
    if (head_line(line, sa->src, sizeof sa->src, sa->dst, sizeof sa->dst, NULL) != 0 ||
        is_prefix(sa->src))
        return -1;
    return 0;
}

static int state_detail_cb(void *ctx, struct span line)
{
    struct state_ctx *c = ctx;
    return state_detail(c->sa, line, &c->sub);
}

int xfrm_parse_states_text(const char *text, size_t len, struct xfrm_fact *f, struct err *e)
{
    static const struct blocks b = {
        "ip xfrm state", "state", "SA without its proto line", "the last SA has no proto line",
        state_start, state_started, state_finished, state_head, state_detail_cb,
    };
    free(f->sa);
    f->sa = NULL;
    f->n_sa = 0;
    struct state_ctx c = {f, NULL, SUB_NONE};
    if (parse_blocks(text, len, &b, &c, e) != 0) {
        free(f->sa);
        f->sa = NULL;
        f->n_sa = 0;
        return -1;
    }
    /* iproute2 prints an "encap" line whenever the state has XFRMA_ENCAP */
    for (size_t i = 0; i < f->n_sa; i++)
        if (f->sa[i].encap == TRI_UNKNOWN)
            f->sa[i].encap = TRI_NO;
    return 0;
}

static int tmpl_proto_line(struct xfrm_tmpl *t, struct span line)
{
    struct span k, v;
    while (next_kv(&line, &k, &v)) {
        if (!v.p)
            return -1;
        if (span_eq(k, "proto")) {
            if (span_copy(v, t->proto, sizeof t->proto))
                return -1;
        } else if (span_eq(k, "spi")) {
            if (num_paren(v, &t->spi, true))
                return -1;
        } else if (span_eq(k, "reqid")) {
            if (num_paren(v, &t->reqid, false))
                return -1;
        } else if (span_eq(k, "mode")) {
            if (span_copy(v, t->mode, sizeof t->mode))
                return -1;
        }
    }
    return t->proto[0] ? 0 : -1;
}

static int policy_dir_line(struct xfrm_policy *p, struct span line)
{
    struct span k, v;
    strcpy(p->action, "allow");
    while (next_kv(&line, &k, &v)) {
        if (span_eq(k, "dir") || span_eq(k, "socket")) {
            if (!v.p || span_copy(v, p->dir, sizeof p->dir))
                return -1;
            p->socket = span_eq(k, "socket");
        } else if (span_eq(k, "action")) {
            if (!v.p || span_copy(v, p->action, sizeof p->action))
                return -1;
        } else if (span_eq(k, "priority")) {
            if (!v.p || span_u64(v, &p->priority))
                return -1;
        } else if (span_eq(k, "index")) {
            if (!v.p || span_u64(v, &p->index))
                return -1;
        } else if (span_eq(k, "ptype")) {
            if (!v.p || span_copy(v, p->ptype, sizeof p->ptype))
                return -1;
        } else if (span_eq(k, "flag")) {
            break; /* flags and their mask end the line */
        }
    }
    return p->dir[0] ? 0 : -1;
}

struct policy_ctx {
    struct xfrm_fact *f;
    struct xfrm_policy *p;
    struct xfrm_tmpl *t;         /* the template whose lines follow */
};

static int policy_start(void *ctx)
{
    struct policy_ctx *c = ctx;
    c->p = xfrm_fact_add_policy(c->f);
    c->t = NULL;
    return c->p ? 0 : -1;
}

static bool policy_started(const void *ctx)
{
    return ((const struct policy_ctx *)ctx)->p != NULL;
}

static bool policy_finished(const void *ctx)
{
    return ((const struct policy_ctx *)ctx)->p->dir[0] != '\0';
}

static int policy_head(void *ctx, struct span line, size_t lineno, struct err *e)
{
    struct xfrm_policy *p = ((struct policy_ctx *)ctx)->p;
    struct span rest;
    if (head_line(line, p->src, sizeof p->src, p->dst, sizeof p->dst, &rest) != 0 ||
        !is_prefix(p->src) || !is_prefix(p->dst))
        return -1;
    span_trim(&rest);
    /* drop the "uid N" that -s adds and "dev X" */
    const char *uid = span_find(rest, "uid ");
    if (uid && (uid == rest.p || uid[-1] == ' '))
        rest.len = (size_t)(uid - rest.p);
    span_trim(&rest);
    if (span_copy(rest, p->upspec, sizeof p->upspec) != 0) {
        err_set(e, ERR_PARSE, "ip xfrm policy: line %zu: selector too long", lineno);
        return -2;
    }
    return 0;
}

static int policy_detail(void *ctx, struct span line)
{
    struct policy_ctx *c = ctx;
    struct xfrm_policy *p = c->p;
    struct span rest = line, w1;
    span_word(&rest, &w1);
    if (span_eq(w1, "dir") || span_eq(w1, "socket"))
        return policy_dir_line(p, line);
    if (span_eq(w1, "tmpl")) {
        if (p->n_tmpl >= XFRM_TMPL_MAX) {
            p->more_tmpl = true;
            c->t = NULL;
            return 0;
        }
        c->t = &p->tmpl[p->n_tmpl++];
        return head_line(rest, c->t->src, sizeof c->t->src, c->t->dst, sizeof c->t->dst, NULL);
    }
    if (span_eq(w1, "proto") && c->t)
        return tmpl_proto_line(c->t, line);
    if (span_eq(w1, "level") && c->t) {
        struct span lv;
        span_word(&rest, &lv);
        return span_copy(lv, c->t->level, sizeof c->t->level);
    }
    /* lifetime lines, masks, marks, offload: not facts of a policy */
    return 0;
}

int xfrm_parse_policies_text(const char *text, size_t len, struct xfrm_fact *f, struct err *e)
{
    static const struct blocks b = {
        "ip xfrm policy", "policy", "policy without dir line",
        "the last policy has no dir line", policy_start, policy_started, policy_finished,
        policy_head, policy_detail,
    };
    free(f->pol);
    f->pol = NULL;
    f->n_pol = 0;
    struct policy_ctx c = {f, NULL, NULL};
    if (parse_blocks(text, len, &b, &c, e) != 0)
        goto fail;
    for (size_t i = 0; i < f->n_pol; i++)
        for (size_t k = 0; k < f->pol[i].n_tmpl; k++)
            if (!f->pol[i].tmpl[k].proto[0]) {
                err_set(e, ERR_TRUNCATED, "ip xfrm policy: a template has no proto line");
                goto fail;
            }
    return 0;
fail:
    free(f->pol);
    f->pol = NULL;
    f->n_pol = 0;
    return -1;
}

int xfrm_parse_stat(const char *text, size_t len, struct xfrm_stat_fact *out, struct err *e)
{
    memset(out, 0, sizeof *out);
    struct span all = {text, len}, line;
    size_t lineno = 0;
    while (span_line(&all, &line)) {
        lineno++;
        span_trim(&line);
        if (line.len == 0)
            continue;
        struct span name, val, extra;
        span_word(&line, &name);
        if (!span_word(&line, &val) || span_word(&line, &extra) || !span_starts(name, "Xfrm") ||
            span_u64(val, &(struct opt_u64){0}) != 0) {
            int code = lineno == 1 ? ERR_UNSUPPORTED : ERR_PARSE;
            memset(out, 0, sizeof *out);
            return err_set(e, code, "xfrm_stat: line %zu is not 'XfrmName value'", lineno);
        }
        if (out->n >= sizeof out->c / sizeof out->c[0])
            continue;
        if (span_copy(name, out->c[out->n].name, sizeof out->c[out->n].name) != 0)
            continue;
        fact_parse_u64(val.p, val.len, &out->c[out->n].v);
        out->n++;
    }
    if (out->n == 0)
        return err_set(e, ERR_TRUNCATED, "xfrm_stat: no counter (empty output)");
    return 0;
}

struct opt_u64 xfrm_stat_get(const struct xfrm_stat_fact *f, const char *name)
{
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->c[i].name, name) == 0)
            return OPT_U64(f->c[i].v);
    return OPT_UNKNOWN;
}
