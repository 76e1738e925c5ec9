/* xfrm-nl-dump: the netlink XFRM source of probes/xfrm_nl.h, on its own.
 *
 *   xfrm-nl-dump raw states|policies FILE   one dump, reply datagrams (keys
 *                                            scrubbed) written verbatim to FILE
 *   xfrm-nl-dump facts                       both dumps, the facts as lines
 *   xfrm-nl-dump parse-nl STATES POLICIES    the facts of two raw dump files
 *   xfrm-nl-dump parse-text STATES POLICIES  the facts of `ip -s xfrm state
 *                                            list nokeys` / `ip -s xfrm policy`
 *
 * Used to capture tests/fixtures/xfrm_nl/ and by the live tests, inside the
 * UML guest too, where the sanitizer build of tunnelscope cannot run: there it
 * is compiled without sanitizers (see tests/fixtures/xfrm_nl/capture).
 * The fact lines print every field, unknown as "?", so that two sources can
 * be compared with diff. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probes/xfrm_nl.h"

static const char *u(struct opt_u64 o, char *b, size_t n)
{
    return opt_u64_text(o, OPT_FMT_DEC, "?", b, n);
}

static const char *x(struct opt_u64 o, char *b, size_t n)
{
    return opt_u64_text(o, OPT_FMT_0XHEX8, "?", b, n);
}

static const char *s(const char *t)
{
    return t[0] ? t : "-";
}

static void print_facts(const struct xfrm_fact *f)
{
    char b[17][32];
    for (size_t i = 0; i < f->n_sa; i++) {
        const struct xfrm_sa *a = &f->sa[i];
        printf("sa %s>%s proto %s spi %s reqid %s mode %s replay-window %s esn %s "
               "aead %s enc %s auth %s encap %s type %s sport %s dport %s oa %s "
               "seq %s oseq %s seq-hi %s oseq-hi %s esn-window %s sel %s>%s "
               "soft-add %s hard-add %s bytes %s packets %s add %s use %s "
               "stat-window %s stat-replay %s stat-failed %s\n",
               a->src, a->dst, s(a->proto), x(a->spi, b[0], 32), u(a->reqid, b[1], 32),
               s(a->mode), u(a->replay_window, b[2], 32), tri_name(a->esn), s(a->aead),
               s(a->enc), s(a->auth), tri_name(a->encap), s(a->encap_type),
               u(a->encap_sport, b[3], 32), u(a->encap_dport, b[4], 32), s(a->encap_oa),
               x(a->seq, b[5], 32), x(a->oseq, b[6], 32), x(a->seq_hi, b[7], 32),
               x(a->oseq_hi, b[8], 32), u(a->esn_replay_window, b[9], 32), s(a->sel_src),
               s(a->sel_dst), u(a->soft_add_expires, b[10], 32),
               u(a->hard_add_expires, b[11], 32), u(a->cur_bytes, b[12], 32),
               u(a->cur_packets, b[13], 32), s(a->add_time), s(a->use_time),
               u(a->stat_replay_window, b[14], 32), u(a->stat_replay, b[15], 32),
               u(a->stat_failed, b[16], 32));
    }
    for (size_t i = 0; i < f->n_pol; i++) {
        const struct xfrm_policy *p = &f->pol[i];
        printf("policy %s>%s upspec '%s' %s %s action %s priority %s index %s ptype %s "
               "tmpl %zu%s\n",
               p->src, p->dst, p->upspec, p->socket ? "socket" : "dir", s(p->dir),
               s(p->action), u(p->priority, b[0], 32), u(p->index, b[1], 32), s(p->ptype),
               p->n_tmpl, p->more_tmpl ? "+" : "");
        for (size_t k = 0; k < p->n_tmpl; k++) {
            const struct xfrm_tmpl *t = &p->tmpl[k];
            printf("  tmpl %s>%s proto %s spi %s reqid %s mode %s level %s\n", t->src, t->dst,
                   s(t->proto), x(t->spi, b[0], 32), u(t->reqid, b[1], 32), s(t->mode),
                   s(t->level));
        }
    }
}

static char *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        fprintf(stderr, "xfrm-nl-dump: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    struct buf b = BUF_INIT;
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
        buf_append(&b, chunk, n);
    fclose(fp);
    *len = b.len;
    return b.data ? buf_take(&b) : calloc(1, 1);
}

static int parse_files(const char *st, const char *po, int netlink)
{
    size_t l1 = 0, l2 = 0;
    char *a = slurp(st, &l1), *b = slurp(po, &l2);
    struct xfrm_fact f = {0};
    struct err e = {0};
    int rc = 1;
    if (!a || !b)
        goto out;
    int r1 = netlink ? xfrm_nl_parse_states(a, l1, &f, &e)
                     : xfrm_parse_states_text(a, l1, &f, &e);
    if (r1 != 0) {
        fprintf(stderr, "xfrm-nl-dump: %s: %s\n", st, e.msg);
        goto out;
    }
    int r2 = netlink ? xfrm_nl_parse_policies(b, l2, &f, &e)
                     : xfrm_parse_policies_text(b, l2, &f, &e);
    if (r2 != 0) {
        fprintf(stderr, "xfrm-nl-dump: %s: %s\n", po, e.msg);
        goto out;
    }
    print_facts(&f);
    rc = 0;
out:
    xfrm_fact_free(&f);
    free(a);
    free(b);
    return rc;
}

int main(int argc, char **argv)
{
    struct err e = {0};
    if (argc == 4 && strcmp(argv[1], "raw") == 0) {
        enum xfrm_nl_kind k;
        if (strcmp(argv[2], "states") == 0)
            k = XFRM_NL_STATES;
        else if (strcmp(argv[2], "policies") == 0)
            k = XFRM_NL_POLICIES;
        else
            goto usage;
        struct buf raw = BUF_INIT;
        if (xfrm_nl_dump(k, &raw, &e) != 0) {
            fprintf(stderr, "xfrm-nl-dump: %s\n", e.msg);
            buf_free(&raw);
            return 1;
        }
        FILE *fp = fopen(argv[3], "wb");
        if (!fp || fwrite(raw.data, 1, raw.len, fp) != raw.len || fclose(fp) != 0) {
            fprintf(stderr, "xfrm-nl-dump: %s: %s\n", argv[3], strerror(errno));
            buf_free(&raw);
            return 1;
        }
        buf_free(&raw);
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "facts") == 0) {
        struct xfrm_fact f = {0};
        if (xfrm_nl_collect(&f, &e) != 0) {
            fprintf(stderr, "xfrm-nl-dump: %s\n", e.msg);
            return 1;
        }
        print_facts(&f);
        xfrm_fact_free(&f);
        return 0;
    }
    if (argc == 4 && strcmp(argv[1], "parse-nl") == 0)
        return parse_files(argv[2], argv[3], 1);
    if (argc == 4 && strcmp(argv[1], "parse-text") == 0)
        return parse_files(argv[2], argv[3], 0);
usage:
    fprintf(stderr, "usage: xfrm-nl-dump raw states|policies FILE | facts |\n"
                    "       parse-nl STATES POLICIES | parse-text STATES POLICIES\n");
    return 64;
}
