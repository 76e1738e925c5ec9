/* bench_bigdata: one big tool output through the parser the collect path uses
 * (probe_parse(), as probe_collect() calls it), with its parse time, its peak
 * memory and what was counted.  Inputs come from tests/lab/gen-bigdata.
 *
 * usage: bench_bigdata KIND FILE [REPEAT]
 *   KIND: xfrm-state, xfrm-policy, nft, iptables, ss, conntrack, swanctl-sas
 *   REPEAT (default 1): parses that many times; the time printed is the best.
 * Prints one line:
 *   KIND bytes=N ms=T rss_kb=R status=ok|error COUNTS... [error=MESSAGE]
 * rss_kb is the process's peak RSS after the parses minus before reading the
 * file (getrusage ru_maxrss): the file's text and the fact built from it.
 * tests/lab/test_bigdata.sh checks the counts; the figures are in
 * tests/bench/README.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "probes/probe.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static long maxrss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static const struct {
    const char *kind;
    enum probe_id id;
} kinds[] = {
    {"xfrm-state", PROBE_XFRM_STATE}, {"xfrm-policy", PROBE_XFRM_POLICY},
    {"nft", PROBE_NFT},               {"iptables", PROBE_IPTABLES},
    {"ss", PROBE_SS_UDP},             {"conntrack", PROBE_CONNTRACK},
    {"swanctl-sas", PROBE_SWANCTL_SAS},
};

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap + 1);
    size_t got;
    while (b && (got = fread(b + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *nb = realloc(b, cap * 2 + 1);
            if (!nb) {
                free(b);
                b = NULL;
                break;
            }
            b = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (b) {
        b[n] = '\0';
        *len = n;
    }
    return b;
}

static size_t ipsec_rules(const struct fw_fact *f)
{
    size_t n = 0;
    for (size_t i = 0; i < f->n_rule; i++)
        if ((f->rule[i].match & (FW_M_UDP500 | FW_M_UDP4500 | FW_M_ESP)) &&
            f->rule[i].verdict == FW_ACCEPT)
            n++;
    return n;
}

static void counts(enum probe_id id, const struct peer_facts *f)
{
    switch (id) {
    case PROBE_XFRM_STATE:
        printf(" states=%zu", f->xfrm.n_sa);
        break;
    case PROBE_XFRM_POLICY:
        printf(" policies=%zu", f->xfrm.n_pol);
        break;
    case PROBE_NFT:
    case PROBE_IPTABLES: {
        const struct fw_fact *fw = id == PROBE_NFT ? &f->nft : &f->ipt;
        printf(" chains=%zu rules=%zu ipsec_accept=%zu", fw->n_chain, fw->n_rule, ipsec_rules(fw));
        break;
    }
    case PROBE_SS_UDP:
        printf(" listeners_kept=%zu more=%d port500=%zu port4500=%zu", f->udp.n, f->udp.more,
               udp_listen_count(&f->udp, 500, NULL), udp_listen_count(&f->udp, 4500, NULL));
        break;
    case PROBE_CONNTRACK:
        printf(" ike_kept=%zu more=%d other=%zu shown=%llu", f->ct.n, f->ct.more, f->ct.n_other,
               (unsigned long long)(f->ct.shown.known ? f->ct.shown.v : 0));
        break;
    case PROBE_SWANCTL_SAS: {
        size_t children = 0;
        for (size_t i = 0; i < f->sas.n_ike; i++)
            children += f->sas.ike[i].n_child;
        printf(" ike_sas=%zu child_sas=%zu", f->sas.n_ike, children);
        break;
    }
    default:
        break;
    }
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: bench_bigdata KIND FILE [REPEAT]\n");
        return 64;
    }
    int found = -1;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (!strcmp(argv[1], kinds[i].kind))
            found = (int)i;
    int repeat = argc == 4 ? atoi(argv[3]) : 1;
    if (found < 0 || repeat < 1) {
        fprintf(stderr, "bench_bigdata: unknown kind '%s' or bad REPEAT\n", argv[1]);
        return 64;
    }
    enum probe_id id = kinds[found].id;
    long rss0 = maxrss_kb();
    size_t len = 0;
    char *text = slurp(argv[2], &len);
    if (!text) {
        fprintf(stderr, "bench_bigdata: cannot read %s\n", argv[2]);
        return 1;
    }
    /* conntrack's summary line is on its stderr: the collect path hands it over apart */
    const char *err_out = "";
    if (id == PROBE_CONNTRACK) {
        char *sum = strstr(text, "conntrack v");
        if (sum) {
            err_out = sum;
            len = (size_t)(sum - text);
        }
    }
    double best = -1;
    struct peer_facts *f = calloc(1, sizeof *f);
    for (int r = 0; r < repeat && f; r++) {
        peer_facts_free(f);
        memset(f, 0, sizeof *f);
        double t0 = now_ms();
        probe_parse(id, text, len, err_out, 0, f);
        double t = now_ms() - t0;
        if (best < 0 || t < best)
            best = t;
    }
    if (!f)
        return 1;
    const struct probe_raw *raw = &f->raw[id];
    printf("%s bytes=%zu ms=%.1f rss_kb=%ld status=%s", argv[1], len, best, maxrss_kb() - rss0,
           raw->status == PROBE_OK ? "ok" : "error");
    counts(id, f);
    if (raw->status != PROBE_OK)
        printf(" error=%s", raw->err.msg);
    printf("\n");
    int rc = raw->status == PROBE_OK ? 0 : 1;
    peer_facts_free(f);
    free(f);
    free(text);
    return rc;
}
