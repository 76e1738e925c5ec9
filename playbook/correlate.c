#include "playbook/correlate.h"

#include <stdlib.h>
#include <string.h>

const uint32_t correlate_bucket_max[CORRELATE_BUCKETS] = {128, 576, 1024, 1280, 1400, UINT32_MAX};

#define RES_SPI 4096u
#define RES_KA 1024u
#define IKE_RING 1024u
#define NAT_MAX 4096u

const char *correlate_how_name(int how)
{
    switch (how) {
    case CORRELATE_HOW_GIVEN: return "given";
    case CORRELATE_HOW_TTL: return "ttl";
    case CORRELATE_HOW_FREQUENT: return "most-frequent-address";
    case CORRELATE_HOW_BOTH_DIRS: return "min-delay-both-directions";
    case CORRELATE_HOW_ONE_DIR: return "min-delay-one-direction";
    default: return "none";
    }
}

const char *correlate_span_how_name(int how)
{
    switch (how) {
    case CORRELATE_SPAN_DECLARED: return "declared";
    case CORRELATE_SPAN_PACKETS: return "packets";
    default: return "none";
    }
}

static int bucket_of(uint32_t len)
{
    int b = 0;
    while (b < CORRELATE_BUCKETS - 1 && len > correlate_bucket_max[b])
        b++;
    return b;
}

/* ---- bounded reservoir of values, for medians and p99 ---- */

struct reservoir {
    int64_t *v;
    uint32_t cap, n, alloc; /* cap: the most values kept; alloc: room in v (grows to cap) */
    uint64_t seen;
    uint64_t rng;
    int64_t min, max;
};

static int res_add(struct reservoir *r, int64_t x)
{
    if (r->n == r->alloc && r->alloc < r->cap) {
        uint32_t na = r->alloc ? r->alloc * 4 : 64;
        if (na > r->cap)
            na = r->cap;
        int64_t *nv = realloc(r->v, sizeof *nv * na);
        if (!nv)
            return -1;
        r->v = nv;
        r->alloc = na;
        if (!r->rng)
            r->rng = 0x9E3779B97F4A7C15ull ^ r->cap;
    }
    if (r->seen == 0 || x < r->min)
        r->min = x;
    if (r->seen == 0 || x > r->max)
        r->max = x;
    r->seen++;
    if (r->n < r->cap) {
        r->v[r->n++] = x;
        return 0;
    }
    r->rng ^= r->rng << 13;
    r->rng ^= r->rng >> 7;
    r->rng ^= r->rng << 17;
    uint64_t j = r->seen < (1ull << 32) ? ((r->rng >> 32) * r->seen) >> 32 : r->rng % r->seen;
    if (j < r->cap)
        r->v[j] = x;
    return 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Distribution of sign * v + add. */
static int res_dist(const struct reservoir *r, int sign, int64_t add, struct correlate_dist *d)
{
    memset(d, 0, sizeof *d);
    if (!r->seen)
        return 0;
    int64_t *t = malloc(sizeof *t * r->n);
    if (!t)
        return -1;
    for (uint32_t i = 0; i < r->n; i++)
        t[i] = sign * r->v[i] + add;
    qsort(t, r->n, sizeof *t, cmp_i64);
    d->n = r->seen;
    d->min = sign > 0 ? r->min + add : -r->max + add;
    d->max = sign > 0 ? r->max + add : -r->min + add;
    d->median = t[(r->n - 1) / 2];
    uint64_t k = ((uint64_t)r->n * 99 + 99) / 100;
    d->p99 = t[k ? k - 1 : 0];
    free(t);
    return 0;
}

/* ---- state ---- */

struct slot {
    int64_t ts[2];
    uint16_t len;
    uint8_t ttl[2];
    uint8_t seen; /* bit 0: A, bit 1: B */
};

struct spi_state {
    uint32_t spi;
    int dir;
    size_t order;
    struct slot *ring;
    uint64_t head;
    int have_head;
    uint64_t maxseq[2];
    int have_max[2];
    uint64_t seq_first, seq_last;
    int64_t first_ns, last_ns; /* A clock */
    uint64_t seen[2], dup[2], reord[2], late[2], matched, only_in[2], only_out[2];
    uint64_t bseen[2][CORRELATE_BUCKETS], bonly_in[2][CORRELATE_BUCKETS];
    struct reservoir raw; /* tB - tA of matched packets */
};

struct ike_key {
    uint64_t ispi, rspi;
    uint32_t msgid;
    uint8_t exch, resp, seen, dir;
};

struct ka_state {
    int64_t last;
    int have_last;
    struct reservoir iv;
};

struct end_state {
    struct correlate_end r;
    int have_first, ended;
    struct correlate_span decl; /* declared span, start_ns 0: none */
    struct ka_state ka[2]; /* [0] sent, [1] received */
    struct {
        int have;
        uint16_t lport;
        struct capture_addr addr;
        uint16_t port;
    } cur[3]; /* by local port class: 500, 4500, raw ESP */
    uint64_t frag_sent, frag_received;
};

struct correlate {
    struct correlate_opts o;
    uint32_t mask;
    int learned;
    /* bootstrap buffers */
    struct capture_event *boot[2];
    size_t nboot[2];
    /* SPIs: open addressing table of pointers, plus insertion order */
    struct spi_state **tab;
    size_t tab_cap, n_spis;
    struct spi_state **list;
    struct spi_state *last_sp;
    struct end_state end[2];
    int64_t now; /* A clock */
    uint64_t events;
    struct ike_key ike[IKE_RING];
    size_t ike_n, ike_next;
    struct correlate_ike ikes[2];
    struct reservoir dirraw[2];
    struct correlate_nat_event *nat;
    size_t n_nat, nat_cap;
    uint64_t nat_dropped;
    int finished;
};

static int oom(struct err *e)
{
    return err_set(e, ERR_INTERNAL, "out of memory");
}

struct correlate *correlate_new(const struct correlate_opts *o, struct err *e)
{
    struct correlate *c = calloc(1, sizeof *c);
    if (!c) {
        oom(e);
        return NULL;
    }
    if (o)
        c->o = *o;
    if (!c->o.window)
        c->o.window = 16384;
    if (c->o.window & (c->o.window - 1) || c->o.window < 16 || c->o.window > (1u << 24)) {
        err_set(e, ERR_USAGE, "window must be a power of two in 16..16777216");
        free(c);
        return NULL;
    }
    if (!c->o.grace_ns)
        c->o.grace_ns = 1000000000;
    if (!c->o.idle_ns)
        c->o.idle_ns = 10ll * 1000000000;
    if (!c->o.bootstrap)
        c->o.bootstrap = 4096;
    c->mask = c->o.window - 1;
    for (int s = 0; s < 2; s++) {
        const struct correlate_span *sp = &c->o.span[s];
        if (sp->start_ns && correlate_declare_span(c, s, sp->start_ns, sp->end_ns, e) != 0) {
            free(c);
            return NULL;
        }
        if (c->o.local[s].family && !c->o.local_how[s])
            c->o.local_how[s] = CORRELATE_HOW_GIVEN;
        for (int k = 0; k < 2; k++)
            c->end[s].ka[k].iv.cap = RES_KA;
    }
    for (int d = 0; d < 2; d++)
        c->dirraw[d].cap = 65536;
    if (c->o.local[0].family && c->o.local[1].family && c->o.have_offset)
        c->learned = 1;
    return c;
}

static void spi_free(struct spi_state *sp)
{
    free(sp->ring);
    free(sp->raw.v);
    free(sp);
}

void correlate_free(struct correlate *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n_spis; i++)
        spi_free(c->list[i]);
    free(c->list);
    free(c->tab);
    free(c->boot[0]);
    free(c->boot[1]);
    for (int s = 0; s < 2; s++)
        for (int k = 0; k < 2; k++)
            free(c->end[s].ka[k].iv.v);
    free(c->dirraw[0].v);
    free(c->dirraw[1].v);
    free(c->nat);
    free(c);
}

/* ---- learning local addresses and the clock offset ---- */

static uint64_t mix(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    return k;
}

static void most_frequent(const struct capture_event *ev, size_t n, struct capture_addr *out)
{
    struct {
        struct capture_addr a;
        size_t count;
    } t[16];
    size_t nt = 0;
    for (size_t i = 0; i < n; i++) {
        if (!ev[i].src.family)
            continue;
        const struct capture_addr *two[2] = {&ev[i].src, &ev[i].dst};
        for (int k = 0; k < 2; k++) {
            size_t j = 0;
            while (j < nt && !capture_addr_eq(&t[j].a, two[k]))
                j++;
            if (j == nt) {
                if (nt == 16)
                    continue;
                t[nt].a = *two[k];
                t[nt++].count = 0;
            }
            t[j].count++;
        }
    }
    size_t best = 0;
    for (size_t j = 1; j < nt; j++)
        if (t[j].count > t[best].count)
            best = j;
    if (nt)
        *out = t[best].a;
}

void correlate_learn(const struct capture_event *a, size_t na, const struct capture_event *b,
                     size_t nb, struct correlate_opts *o)
{
    size_t cap = 16;
    while (cap < na * 2)
        cap *= 2;
    uint32_t *tab = calloc(cap, sizeof *tab); /* index + 1 into a[] */
    int have_ab = 0, have_ba = 0;
    int64_t min_ab = 0, min_ba = 0;
    struct capture_addr la = {0}, lb = {0};
    int voted = 0;
    if (tab) {
        for (size_t i = 0; i < na; i++) {
            if (a[i].kind != CAPTURE_ESP)
                continue;
            size_t h = mix((uint64_t)a[i].spi << 32 | a[i].seq) & (cap - 1);
            while (tab[h])
                h = (h + 1) & (cap - 1);
            tab[h] = (uint32_t)i + 1;
        }
        for (size_t i = 0; i < nb; i++) {
            if (b[i].kind != CAPTURE_ESP)
                continue;
            size_t h = mix((uint64_t)b[i].spi << 32 | b[i].seq) & (cap - 1);
            for (; tab[h]; h = (h + 1) & (cap - 1)) {
                const struct capture_event *x = &a[tab[h] - 1];
                if (x->spi != b[i].spi || x->seq != b[i].seq)
                    continue;
                int a_sends;
                if (o->local[0].family)
                    a_sends = capture_addr_eq(&x->src, &o->local[0]);
                else if (o->local[1].family)
                    a_sends = !capture_addr_eq(&b[i].src, &o->local[1]);
                else if (x->ttl != b[i].ttl)
                    a_sends = x->ttl > b[i].ttl;
                else
                    break;
                if (!voted) {
                    la = a_sends ? x->src : x->dst;
                    lb = a_sends ? b[i].dst : b[i].src;
                    voted = 1;
                }
                int64_t raw = b[i].ts_ns - x->ts_ns;
                if (a_sends) {
                    if (!have_ab || raw < min_ab)
                        min_ab = raw;
                    have_ab = 1;
                } else {
                    if (!have_ba || -raw < min_ba)
                        min_ba = -raw;
                    have_ba = 1;
                }
                break;
            }
        }
        free(tab);
    }
    const struct capture_event *evs[2] = {a, b};
    size_t ns[2] = {na, nb};
    struct capture_addr votes[2] = {la, lb};
    for (int s = 0; s < 2; s++) {
        if (o->local[s].family)
            continue;
        if (voted) {
            o->local[s] = votes[s];
            o->local_how[s] = CORRELATE_HOW_TTL;
        } else {
            most_frequent(evs[s], ns[s], &o->local[s]);
            o->local_how[s] = o->local[s].family ? CORRELATE_HOW_FREQUENT : CORRELATE_HOW_NONE;
        }
    }
    if (!o->have_offset) {
        if (have_ab && have_ba) {
            o->offset_ns = (min_ab - min_ba) / 2;
            o->offset_how = CORRELATE_HOW_BOTH_DIRS;
        } else if (have_ab) {
            o->offset_ns = min_ab;
            o->offset_how = CORRELATE_HOW_ONE_DIR;
        } else if (have_ba) {
            o->offset_ns = -min_ba;
            o->offset_how = CORRELATE_HOW_ONE_DIR;
        } else {
            o->offset_ns = 0;
            o->offset_how = CORRELATE_HOW_NONE;
        }
        o->have_offset = 1;
    }
}

/* ---- SPI table ---- */

static struct spi_state *spi_find(struct correlate *c, uint32_t spi)
{
    if (c->last_sp && c->last_sp->spi == spi)
        return c->last_sp;
    if (!c->tab_cap)
        return NULL;
    for (size_t h = mix(spi) & (c->tab_cap - 1); c->tab[h]; h = (h + 1) & (c->tab_cap - 1))
        if (c->tab[h]->spi == spi)
            return c->last_sp = c->tab[h];
    return NULL;
}

static struct spi_state *spi_add(struct correlate *c, uint32_t spi)
{
    if ((c->n_spis + 1) * 2 > c->tab_cap) {
        size_t ncap = c->tab_cap ? c->tab_cap * 2 : 64;
        struct spi_state **nt = calloc(ncap, sizeof *nt);
        struct spi_state **nl = realloc(c->list, ncap * sizeof *nl);
        if (!nt || !nl) {
            free(nt);
            if (nl)
                c->list = nl;
            return NULL;
        }
        c->list = nl;
        for (size_t i = 0; i < c->n_spis; i++) {
            size_t h = mix(c->list[i]->spi) & (ncap - 1);
            while (nt[h])
                h = (h + 1) & (ncap - 1);
            nt[h] = c->list[i];
        }
        free(c->tab);
        c->tab = nt;
        c->tab_cap = ncap;
    }
    struct spi_state *sp = calloc(1, sizeof *sp);
    if (!sp)
        return NULL;
    sp->spi = spi;
    sp->dir = CORRELATE_DIR_UNKNOWN;
    sp->order = c->n_spis;
    sp->raw.cap = RES_SPI;
    size_t h = mix(spi) & (c->tab_cap - 1);
    while (c->tab[h])
        h = (h + 1) & (c->tab_cap - 1);
    c->tab[h] = sp;
    c->list[c->n_spis++] = sp;
    return c->last_sp = sp;
}

/* ---- settling ---- */

/* The span capture `side` covers so far (its clock): a declared span, widened to
 * the side's own packets when some lie outside it (the capture evidently ran
 * then), else first to last packet.  *hi is 0 while the end is not known yet
 * (the capture still runs). */
static int span_of(const struct end_state *x, int64_t *lo, int64_t *hi)
{
    if (x->decl.start_ns) {
        *lo = x->decl.start_ns;
        *hi = x->decl.end_ns;
        if (x->have_first) {
            if (x->r.first_ns < *lo)
                *lo = x->r.first_ns;
            if (*hi && x->r.last_ns > *hi)
                *hi = x->r.last_ns;
        }
        if (!*hi && x->ended)
            *hi = x->have_first && x->r.last_ns > *lo ? x->r.last_ns : *lo;
        return CORRELATE_SPAN_DECLARED;
    }
    if (!x->have_first)
        return CORRELATE_SPAN_NONE;
    *lo = x->r.first_ns;
    *hi = x->ended ? x->r.last_ns : 0;
    return CORRELATE_SPAN_PACKETS;
}

/* Did capture `side` cover time t (that side's clock)?  Not in the last grace_ns
 * of the span: a packet sent then may still have been on its way. */
static int covered(const struct correlate *c, int side, int64_t t)
{
    int64_t lo = 0, hi = 0;
    if (span_of(&c->end[side], &lo, &hi) == CORRELATE_SPAN_NONE || t < lo)
        return 0;
    return !hi || t + c->o.grace_ns <= hi;
}

static void settle(struct correlate *c, struct spi_state *sp, struct slot *sl)
{
    if (sl->seen == 1 || sl->seen == 2) {
        int s = sl->seen == 1 ? 0 : 1;
        int64_t t = s == 0 ? sl->ts[0] + c->o.offset_ns : sl->ts[1] - c->o.offset_ns;
        if (covered(c, !s, t)) {
            sp->only_in[s]++;
            sp->bonly_in[s][bucket_of(sl->len)]++;
        } else {
            sp->only_out[s]++;
        }
    }
    memset(sl, 0, sizeof *sl);
}

static void spi_flush(struct correlate *c, struct spi_state *sp)
{
    if (!sp->ring)
        return;
    for (uint32_t i = 0; i < c->o.window; i++)
        if (sp->ring[i].seen)
            settle(c, sp, &sp->ring[i]);
    free(sp->ring);
    sp->ring = NULL;
}

static void advance(struct correlate *c, struct spi_state *sp, uint64_t nh)
{
    uint64_t n = nh - sp->head;
    if (n > c->o.window)
        n = c->o.window;
    for (uint64_t i = 1; i <= n; i++) {
        struct slot *sl = &sp->ring[(sp->head + i) & c->mask];
        if (sl->seen)
            settle(c, sp, sl);
    }
    sp->head = nh;
}

/* The 64-bit sequence number closest to the SPI's head with these low 32 bits. */
static uint64_t extend_seq(const struct spi_state *sp, uint32_t low)
{
    if (!sp->have_head)
        return low;
    uint64_t hi = sp->head & ~0xFFFFFFFFull;
    uint64_t cand = hi | low;
    if (cand + 0x80000000ull < sp->head)
        cand += 0x100000000ull;
    else if (cand > sp->head + 0x80000000ull && cand >= 0x100000000ull)
        cand -= 0x100000000ull;
    return cand;
}

static int side_sends(const struct correlate *c, int side, const struct capture_event *ev)
{
    const struct capture_addr *l = &c->o.local[side];
    if (!l->family)
        return -1;
    if (capture_addr_eq(&ev->src, l))
        return 1;
    if (capture_addr_eq(&ev->dst, l))
        return 0;
    return -1;
}

static int on_esp(struct correlate *c, int side, const struct capture_event *ev, int64_t t_a,
                  struct err *e)
{
    struct spi_state *sp = spi_find(c, ev->spi);
    if (!sp && !(sp = spi_add(c, ev->spi)))
        return oom(e);
    if (sp->dir == CORRELATE_DIR_UNKNOWN) {
        int snd = side_sends(c, side, ev);
        if (snd >= 0)
            sp->dir = (snd == (side == 0)) ? CORRELATE_AB : CORRELATE_BA;
    }
    if (!sp->ring) {
        sp->ring = calloc(c->o.window, sizeof *sp->ring);
        if (!sp->ring)
            return oom(e);
    }
    uint64_t q = extend_seq(sp, ev->seq);
    if (!sp->have_head) {
        sp->head = q;
        sp->have_head = 1;
        sp->seq_first = sp->seq_last = q;
        sp->first_ns = t_a;
    }
    sp->last_ns = t_a;
    if (q > sp->head)
        advance(c, sp, q);
    else if (sp->head - q >= c->o.window) {
        sp->late[side]++;
        return 0;
    }
    if (q < sp->seq_first)
        sp->seq_first = q;
    if (q > sp->seq_last)
        sp->seq_last = q;
    struct slot *sl = &sp->ring[q & c->mask];
    uint8_t bit = (uint8_t)(1u << side);
    if (sl->seen & bit) {
        sp->dup[side]++;
        return 0;
    }
    sl->seen |= bit;
    sl->ts[side] = ev->ts_ns;
    sl->ttl[side] = ev->ttl;
    if (!sl->len)
        sl->len = (uint16_t)(ev->ip_len > 65535 ? 65535 : ev->ip_len);
    sp->seen[side]++;
    sp->bseen[side][bucket_of(ev->ip_len)]++;
    if (sp->have_max[side] && q < sp->maxseq[side])
        sp->reord[side]++;
    else
        sp->maxseq[side] = q;
    sp->have_max[side] = 1;
    /* The next sequence number's slot is usually the next one touched. */
    __builtin_prefetch(&sp->ring[(sp->head + 1) & c->mask], 1);
    if (sl->seen == 3) {
        sp->matched++;
        if (sp->dir == CORRELATE_DIR_UNKNOWN && sl->ttl[0] != sl->ttl[1])
            sp->dir = sl->ttl[0] > sl->ttl[1] ? CORRELATE_AB : CORRELATE_BA;
        int64_t raw = sl->ts[1] - sl->ts[0];
        if (res_add(&sp->raw, raw) != 0)
            return oom(e);
        if (sp->dir != CORRELATE_DIR_UNKNOWN && res_add(&c->dirraw[sp->dir], raw) != 0)
            return oom(e);
    }
    return 0;
}

static int on_ike(struct correlate *c, int side, const struct capture_event *ev, int snd)
{
    if (snd < 0)
        return 0;
    int dir = (snd == (side == 0)) ? CORRELATE_AB : CORRELATE_BA;
    uint8_t resp = (ev->ike.flags & CAPTURE_IKE_F_RESPONSE) ? 1 : 0;
    struct correlate_ike *k = &c->ikes[dir];
    /* IKE_SA_INIT: the request has no responder SPI yet, the response has one. */
    uint64_t rspi = ev->ike.exchange == 34 ? 0 : ev->ike.rspi;
    struct ike_key *hit = NULL;
    for (size_t i = 0; i < c->ike_n; i++) {
        struct ike_key *x = &c->ike[i];
        if (x->ispi == ev->ike.ispi && x->rspi == rspi && x->msgid == ev->ike.msgid &&
            x->exch == ev->ike.exchange && x->resp == resp && x->dir == dir) {
            hit = x;
            break;
        }
    }
    uint8_t bit = (uint8_t)(1u << side);
    if (!hit) {
        hit = &c->ike[c->ike_next];
        c->ike_next = (c->ike_next + 1) % IKE_RING;
        if (c->ike_n < IKE_RING)
            c->ike_n++;
        memset(hit, 0, sizeof *hit);
        hit->ispi = ev->ike.ispi;
        hit->rspi = rspi;
        hit->msgid = ev->ike.msgid;
        hit->exch = ev->ike.exchange;
        hit->resp = resp;
        hit->dir = (uint8_t)dir;
    }
    if (hit->seen & bit) {
        if (snd)
            k->retransmits++;
        return 0;
    }
    hit->seen |= bit;
    if (snd)
        resp ? k->resp_sent++ : k->req_sent++;
    else
        resp ? k->resp_received++ : k->req_received++;
    if (hit->seen == 3)
        resp ? k->resp_matched++ : k->req_matched++;
    return 0;
}

static int observe_peer(struct correlate *c, int side, const struct capture_event *ev)
{
    struct end_state *x = &c->end[side];
    uint16_t lport = ev->flags & CAPTURE_F_UDP_ENCAP ? ev->dport : 0;
    int cls = lport == 500 ? 0 : lport == 4500 ? 1 : lport == 0 ? 2 : -1;
    if (cls >= 0) {
        if (x->cur[cls].have &&
            (!capture_addr_eq(&x->cur[cls].addr, &ev->src) || x->cur[cls].port != ev->sport)) {
            if (c->n_nat < NAT_MAX) {
                if (c->n_nat == c->nat_cap) {
                    size_t nc = c->nat_cap ? c->nat_cap * 2 : 16;
                    struct correlate_nat_event *nn = realloc(c->nat, nc * sizeof *nn);
                    if (!nn)
                        return -1;
                    c->nat = nn;
                    c->nat_cap = nc;
                }
                struct correlate_nat_event *n = &c->nat[c->n_nat++];
                n->side = side;
                n->ts_ns = ev->ts_ns;
                n->local_port = lport;
                n->old_addr = x->cur[cls].addr;
                n->old_port = x->cur[cls].port;
                n->new_addr = ev->src;
                n->new_port = ev->sport;
            } else {
                c->nat_dropped++;
            }
        }
        x->cur[cls].have = 1;
        x->cur[cls].addr = ev->src;
        x->cur[cls].port = ev->sport;
    }
    for (size_t i = 0; i < x->r.n_peers; i++) {
        struct correlate_endpoint *p = &x->r.peers[i];
        if (p->port == ev->sport && capture_addr_eq(&p->addr, &ev->src)) {
            p->last_ns = ev->ts_ns;
            p->packets++;
            return 0;
        }
    }
    if (x->r.n_peers == CORRELATE_MAX_ENDPOINTS) {
        x->r.peers_dropped++;
        return 0;
    }
    struct correlate_endpoint *p = &x->r.peers[x->r.n_peers++];
    p->addr = ev->src;
    p->port = ev->sport;
    p->first_ns = p->last_ns = ev->ts_ns;
    p->packets = 1;
    return 0;
}

static int process(struct correlate *c, int side, const struct capture_event *ev, struct err *e)
{
    struct end_state *x = &c->end[side];
    int64_t t_a = side == 0 ? ev->ts_ns : ev->ts_ns - c->o.offset_ns;
    if (!x->have_first || ev->ts_ns < x->r.first_ns) {
        x->r.first_ns = ev->ts_ns;
        x->have_first = 1;
    }
    if (ev->ts_ns > x->r.last_ns)
        x->r.last_ns = ev->ts_ns;
    if (t_a > c->now)
        c->now = t_a;
    x->r.packets++;
    int snd = side_sends(c, side, ev);
    switch (ev->kind) {
    case CAPTURE_ESP:
        x->r.esp++;
        (ev->flags & CAPTURE_F_UDP_ENCAP) ? x->r.esp_udp++ : x->r.esp_raw++;
        if (ev->flags & CAPTURE_F_FIRST_FRAG) {
            x->r.fragments++;
            snd == 1 ? x->frag_sent++ : snd == 0 ? x->frag_received++ : 0;
        }
        if (on_esp(c, side, ev, t_a, e) != 0)
            return -1;
        break;
    case CAPTURE_IKE:
        (ev->flags & CAPTURE_F_IKE_MARKER) ? x->r.ike4500++ : x->r.ike500++;
        on_ike(c, side, ev, snd);
        break;
    case CAPTURE_KEEPALIVE:
        if (snd >= 0) {
            snd ? x->r.keepalive_sent++ : x->r.keepalive_received++;
            struct ka_state *k = &x->ka[snd ? 0 : 1];
            if (k->have_last && res_add(&k->iv, ev->ts_ns - k->last) != 0)
                return oom(e);
            k->last = ev->ts_ns;
            k->have_last = 1;
        }
        break;
    case CAPTURE_FRAGMENT:
        x->r.fragments++;
        snd == 1 ? x->frag_sent++ : snd == 0 ? x->frag_received++ : 0;
        break;
    case CAPTURE_TRUNCATED: x->r.truncated++; break;
    case CAPTURE_MALFORMED: x->r.malformed++; break;
    case CAPTURE_UNSUPPORTED: x->r.unsupported++; break;
    default: x->r.other++; break;
    }
    if (snd == 0 && (ev->kind == CAPTURE_ESP || ev->kind == CAPTURE_IKE ||
                     ev->kind == CAPTURE_KEEPALIVE) &&
        observe_peer(c, side, ev) != 0)
        return oom(e);
    if ((++c->events & 4095) == 0) {
        for (size_t i = 0; i < c->n_spis; i++) {
            struct spi_state *sp = c->list[i];
            if (sp->ring && c->now - sp->last_ns > c->o.idle_ns)
                spi_flush(c, sp);
        }
    }
    return 0;
}

/* Learn from the buffers, then replay them in time order (offset removed). */
static int boot_drain(struct correlate *c, struct err *e)
{
    correlate_learn(c->boot[0], c->nboot[0], c->boot[1], c->nboot[1], &c->o);
    c->learned = 1;
    size_t i = 0, j = 0;
    int r = 0;
    while (r == 0 && (i < c->nboot[0] || j < c->nboot[1])) {
        int takeA = j >= c->nboot[1] ||
                    (i < c->nboot[0] && c->boot[0][i].ts_ns <= c->boot[1][j].ts_ns - c->o.offset_ns);
        r = takeA ? process(c, 0, &c->boot[0][i++], e) : process(c, 1, &c->boot[1][j++], e);
    }
    free(c->boot[0]);
    free(c->boot[1]);
    c->boot[0] = c->boot[1] = NULL;
    c->nboot[0] = c->nboot[1] = 0;
    return r;
}

int correlate_add(struct correlate *c, int side, const struct capture_event *ev, struct err *e)
{
    if (side != 0 && side != 1)
        return err_set(e, ERR_USAGE, "side must be 0 (A) or 1 (B)");
    if (c->finished)
        return err_set(e, ERR_USAGE, "correlate: already finished");
    if (c->learned)
        return process(c, side, ev, e);
    if (!c->boot[side]) {
        c->boot[side] = malloc(sizeof *ev * c->o.bootstrap);
        if (!c->boot[side])
            return oom(e);
    }
    c->boot[side][c->nboot[side]++] = *ev;
    if (c->nboot[side] == c->o.bootstrap)
        return boot_drain(c, e);
    return 0;
}

void correlate_end_side(struct correlate *c, int side)
{
    if (side == 0 || side == 1)
        c->end[side].ended = 1;
}

int correlate_declare_span(struct correlate *c, int side, int64_t start_ns, int64_t end_ns,
                           struct err *e)
{
    if (side != 0 && side != 1)
        return err_set(e, ERR_USAGE, "side must be 0 (A) or 1 (B)");
    if (start_ns <= 0 || end_ns < 0 || (end_ns && end_ns < start_ns))
        return err_set(e, ERR_USAGE, "capture span of %s: the end must not come before the start",
                       side ? "B" : "A");
    c->end[side].decl.start_ns = start_ns;
    c->end[side].decl.end_ns = end_ns;
    return 0;
}

/* ---- result ---- */

static void counts_for(const struct spi_state *sp, int dir, struct correlate_counts *k)
{
    int s = dir == CORRELATE_BA ? 1 : 0, r = !s;
    k->sent = sp->seen[s];
    k->received = sp->seen[r];
    k->matched = sp->matched;
    k->lost = sp->only_in[s];
    k->outside = sp->only_out[s];
    k->received_only = sp->only_in[r] + sp->only_out[r];
    k->dup_sent = sp->dup[s];
    k->duplicated = sp->dup[r];
    k->reordered = sp->reord[r];
    k->late = sp->late[0] + sp->late[1];
    for (int b = 0; b < CORRELATE_BUCKETS; b++) {
        k->bucket_sent[b] = sp->bseen[s][b];
        k->bucket_received[b] = sp->bseen[r][b];
        k->bucket_lost[b] = sp->bonly_in[s][b];
    }
}

static void counts_add(struct correlate_counts *t, const struct correlate_counts *k)
{
    t->sent += k->sent;
    t->received += k->received;
    t->matched += k->matched;
    t->lost += k->lost;
    t->outside += k->outside;
    t->received_only += k->received_only;
    t->dup_sent += k->dup_sent;
    t->duplicated += k->duplicated;
    t->reordered += k->reordered;
    t->late += k->late;
    for (int b = 0; b < CORRELATE_BUCKETS; b++) {
        t->bucket_sent[b] += k->bucket_sent[b];
        t->bucket_received[b] += k->bucket_received[b];
        t->bucket_lost[b] += k->bucket_lost[b];
    }
}

static int cmp_spi(const void *a, const void *b)
{
    const struct correlate_spi *x = a, *y = b;
    if (x->dir != y->dir)
        return x->dir < y->dir ? -1 : 1;
    return x->first_ns < y->first_ns ? -1 : x->first_ns > y->first_ns;
}

int correlate_finish(struct correlate *c, struct correlate_result **out, struct err *e)
{
    *out = NULL;
    if (c->finished)
        return err_set(e, ERR_USAGE, "correlate: already finished");
    if (!c->learned && boot_drain(c, e) != 0)
        return -1;
    c->finished = 1;
    /* Settle with both spans final. */
    c->end[0].ended = c->end[1].ended = 1;
    for (size_t i = 0; i < c->n_spis; i++)
        spi_flush(c, c->list[i]);
    struct correlate_result *r = calloc(1, sizeof *r);
    if (!r)
        return oom(e);
    r->window = c->o.window;
    r->grace_ns = c->o.grace_ns;
    /* Clock offset from the min one-way delays of the whole run. */
    const struct reservoir *ab = &c->dirraw[CORRELATE_AB], *ba = &c->dirraw[CORRELATE_BA];
    if (ab->seen && ba->seen) {
        r->offset_ns = (ab->min - -ba->max) / 2;
        r->offset_how = CORRELATE_HOW_BOTH_DIRS;
    } else if (ab->seen) {
        r->offset_ns = ab->min;
        r->offset_how = CORRELATE_HOW_ONE_DIR;
    } else if (ba->seen) {
        r->offset_ns = ba->max;
        r->offset_how = CORRELATE_HOW_ONE_DIR;
    } else {
        r->offset_ns = c->o.offset_ns;
        r->offset_how = c->o.offset_how;
    }
    if (res_dist(ab, 1, -r->offset_ns, &r->dir[CORRELATE_AB].c.delay) != 0 ||
        res_dist(ba, -1, r->offset_ns, &r->dir[CORRELATE_BA].c.delay) != 0)
        goto fail;
    r->spis = calloc(c->n_spis ? c->n_spis : 1, sizeof *r->spis);
    if (!r->spis)
        goto fail;
    r->n_spis = c->n_spis;
    for (size_t i = 0; i < c->n_spis; i++) {
        const struct spi_state *sp = c->list[i];
        struct correlate_spi *o = &r->spis[i];
        o->spi = sp->spi;
        o->dir = sp->dir;
        o->seq_first = sp->seq_first;
        o->seq_last = sp->seq_last;
        o->first_ns = sp->first_ns;
        o->last_ns = sp->last_ns;
        counts_for(sp, sp->dir, &o->c);
        int sign = sp->dir == CORRELATE_BA ? -1 : 1;
        if (res_dist(&sp->raw, sign, -sign * r->offset_ns, &o->c.delay) != 0)
            goto fail;
        if (sp->dir != CORRELATE_DIR_UNKNOWN) {
            struct correlate_dist keep = r->dir[sp->dir].c.delay;
            counts_add(&r->dir[sp->dir].c, &o->c);
            r->dir[sp->dir].c.delay = keep;
            r->dir[sp->dir].spis++;
        }
    }
    qsort(r->spis, r->n_spis, sizeof *r->spis, cmp_spi);
    int64_t lo[2] = {0, 0}, hi[2] = {0, 0};
    for (int s = 0; s < 2; s++) {
        struct end_state *x = &c->end[s];
        r->end[s] = x->r;
        r->end[s].local = c->o.local[s];
        r->end[s].local_how = c->o.local_how[s];
        r->end[s].declared = x->decl;
        r->end[s].span_how = span_of(x, &lo[s], &hi[s]);
        r->end[s].span_start_ns = lo[s];
        r->end[s].span_end_ns = hi[s];
        if (res_dist(&x->ka[0].iv, 1, 0, &r->end[s].ka_sent_interval) != 0 ||
            res_dist(&x->ka[1].iv, 1, 0, &r->end[s].ka_received_interval) != 0)
            goto fail;
    }
    if (r->end[0].span_how && r->end[1].span_how) {
        /* B's span in A's clock (the final offset estimate) */
        int64_t b0 = lo[1] - r->offset_ns, b1 = hi[1] - r->offset_ns;
        int64_t cs = lo[0] > b0 ? lo[0] : b0, ce = hi[0] < b1 ? hi[0] : b1;
        if (ce > cs) {
            r->common_start_ns = cs;
            r->common_end_ns = ce;
        }
    }
    for (int d = 0; d < 2; d++) {
        int snd = d == CORRELATE_AB ? 0 : 1;
        r->dir[d].frag_sent = c->end[snd].frag_sent;
        r->dir[d].frag_received = c->end[!snd].frag_received;
        r->dir[d].keepalive_sent = c->end[snd].r.keepalive_sent;
        r->dir[d].keepalive_received = c->end[!snd].r.keepalive_received;
        r->dir[d].ike = c->ikes[d];
    }
    r->nat = c->nat;
    r->n_nat = c->n_nat;
    r->nat_dropped = c->nat_dropped;
    c->nat = NULL;
    c->n_nat = c->nat_cap = 0;
    *out = r;
    return 0;
fail:
    correlate_result_free(r);
    return oom(e);
}

void correlate_result_free(struct correlate_result *r)
{
    if (!r)
        return;
    free(r->spis);
    free(r->nat);
    free(r);
}
