/* bench_gen_pairs: a deterministic generator of two-end capture pairs with a
 * known ground truth, for `tunnelscope correlate` (its tests and benchmark).
 *
 * gw-a (10.1.0.2, behind a NAT that rewrites it to 203.0.113.10, source port
 * 4500 -> --rebind-port from --rebind-at on) and gw-b (198.51.100.20) exchange
 * ESP-in-UDP on several SPIs per direction, NAT keepalives (A -> B every
 * --keepalive-ms) and IKE INFORMATIONAL exchanges (A asks, B answers, every
 * --ike-ms).  A's capture is Ethernet, B's Linux cooked (SLL), snap length 128.
 * One-way delay 5 ms + uniform jitter; B's clock runs --offset-ms ahead.
 * Loss: --loss-ab / --loss-ba random fractions, and every A -> B packet longer
 * than --big-above bytes (a PMTU black hole); --dup duplicates A -> B packets
 * at B.  Each capture has its own window (--a-start/--a-stop/--b-start/--b-stop
 * in ms of the run).  --rekey-ms replaces every SPI, --seq-start starts the
 * sequence numbers there (ESN wrap when near 2^32).  --blocked-to-b 1: nothing
 * sent toward B arrives (ESP, keepalives, IKE) and B sends nothing: B's
 * capture runs its whole window and holds no packet (UDP/4500 blocked).  The
 * truth JSON also gives each capture's window in its own clock ("spans"), for
 * `correlate --span-a/--span-b`.
 *
 * The truth JSON counts exactly what correlate's documented rules count (see
 * assets/correlate-json.md): no packet is dropped within 50 ms of the edges
 * of the receiver's counted span, so a slightly wrong clock offset estimate
 * cannot move a packet between "lost" and "outside". */
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MS 1000000ll
#define SNAP 128
#define MAXSPI 16
#define NB 6

static const uint32_t bucket_max[NB] = {128, 576, 1024, 1280, 1400, UINT32_MAX};

struct opts {
    uint64_t packets;
    uint64_t seed;
    double pps;
    double loss_ab, loss_ba, dup;
    uint32_t big_above;
    int spis;
    int64_t offset_ns, jitter_ns, grace_ns;
    int64_t a_start, a_stop, b_start, b_stop; /* ns of the run; stop 0 = end */
    int64_t rekey_ns, rebind_ns, keepalive_ns, ike_ns;
    uint16_t rebind_port;
    uint32_t seq_start;
    int blocked_to_b;
};

static uint64_t rng_state;
static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static double frand(void) { return (double)(rnd() >> 11) / 9007199254740992.0; }

/* ---- packets ---- */

enum { K_ESP, K_KA, K_IKE_REQ, K_IKE_RESP };

struct pkt {
    int64_t t;        /* capture time in that end's clock */
    int kind;
    int dir;          /* 0: A -> B, 1: B -> A */
    uint32_t spi, seq, len, msgid;
    uint16_t a_port;  /* A's port as B sees it */
    int own;          /* in a heap: the receiver's own later send (an IKE response) */
};

struct heap {
    struct pkt *v;
    size_t n, cap;
};

static void heap_push(struct heap *h, const struct pkt *p)
{
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 1024;
        h->v = realloc(h->v, h->cap * sizeof *h->v);
        if (!h->v)
            abort();
    }
    size_t i = h->n++;
    while (i > 0 && h->v[(i - 1) / 2].t > p->t) {
        h->v[i] = h->v[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->v[i] = *p;
}

static struct pkt heap_pop(struct heap *h)
{
    struct pkt top = h->v[0], last = h->v[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n)
            break;
        if (c + 1 < h->n && h->v[c + 1].t < h->v[c].t)
            c++;
        if (last.t <= h->v[c].t)
            break;
        h->v[i] = h->v[c];
        i = c;
    }
    if (h->n)
        h->v[i] = last;
    return top;
}

/* ---- truth ---- */

struct spi_truth {
    uint32_t spi;
    int dir;
    uint64_t sent, received, matched, lost, outside, received_only, duplicated, reordered;
    uint64_t max_rx;
    int have_max;
    uint64_t bsent[NB], breceived[NB], blost[NB];
    /* per-sequence state is kept in a bitmap: bit0 sent-in-window, bit1 received */
    uint8_t *st;
    uint32_t nst;
};

struct truth {
    struct spi_truth s[4096];
    size_t n;
    uint64_t ka_sent, ka_received, req_sent, req_received, req_matched, resp_sent, resp_received,
        resp_matched, nat_changes;
    int64_t nat_change_ts;
    uint64_t packets[2];
    uint8_t ike[65536]; /* by message id: 1 request sent, 2 received; 4 response sent, 8 received */
};

static int bucket_of(uint32_t len)
{
    int b = 0;
    while (b < NB - 1 && len > bucket_max[b])
        b++;
    return b;
}

static struct spi_truth *truth_spi(struct truth *T, uint32_t spi, int dir)
{
    for (size_t i = T->n; i-- > 0;)
        if (T->s[i].spi == spi)
            return &T->s[i];
    if (T->n == 4096)
        abort();
    struct spi_truth *s = &T->s[T->n++];
    memset(s, 0, sizeof *s);
    s->spi = spi;
    s->dir = dir;
    return s;
}

static uint8_t *seqstate(struct spi_truth *s, uint32_t idx)
{
    if (idx >= s->nst) {
        uint32_t n = s->nst ? s->nst : 1024;
        while (n <= idx)
            n *= 2;
        s->st = realloc(s->st, n);
        if (!s->st)
            abort();
        memset(s->st + s->nst, 0, n - s->nst);
        s->nst = n;
    }
    return &s->st[idx];
}

/* ---- pcap writing ---- */

struct out {
    pcap_t *dead;
    pcap_dumper_t *d;
    int link; /* 1 Ethernet, 113 SLL */
};

static void put16(uint8_t *p, unsigned v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

static const uint8_t A_PRIV[4] = {10, 1, 0, 2}, A_NAT[4] = {203, 0, 113, 10},
                     B_PUB[4] = {198, 51, 100, 20};

/* side: 0 writes A's copy, 1 B's copy. */
static void write_pkt(struct out *o, int side, const struct pkt *p)
{
    uint8_t b[SNAP];
    memset(b, 0, sizeof b);
    size_t l2;
    if (o->link == 1) {
        memset(b, 0x02, 12);
        put16(b + 12, 0x0800);
        l2 = 14;
    } else {
        put16(b, side == 1 && p->dir == 0 ? 0 : 4);
        put16(b + 2, 1);
        put16(b + 4, 6);
        put16(b + 14, 0x0800);
        l2 = 16;
    }
    uint32_t payload;
    if (p->kind == K_ESP)
        payload = p->len - 28;
    else if (p->kind == K_KA)
        payload = 1;
    else
        payload = 4 + 28 + 48;
    uint32_t iplen = 28 + payload;
    uint8_t *ip = b + l2;
    ip[0] = 0x45;
    put16(ip + 2, iplen);
    put16(ip + 4, (unsigned)(p->seq & 0xFFFF));
    int sender_copy = (p->dir == 0) == (side == 0);
    ip[8] = sender_copy ? 64 : 60;
    ip[9] = 17;
    const uint8_t *a_addr = side == 0 ? A_PRIV : A_NAT;
    uint16_t a_port = side == 0 ? 4500 : p->a_port;
    const uint8_t *src = p->dir == 0 ? a_addr : B_PUB, *dst = p->dir == 0 ? B_PUB : a_addr;
    memcpy(ip + 12, src, 4);
    memcpy(ip + 16, dst, 4);
    uint8_t *u = ip + 20;
    put16(u, p->dir == 0 ? a_port : 4500);
    put16(u + 2, p->dir == 0 ? 4500 : a_port);
    put16(u + 4, 8 + payload);
    uint8_t *x = u + 8;
    if (p->kind == K_ESP) {
        put32(x, p->spi);
        put32(x + 4, p->seq);
    } else if (p->kind == K_KA) {
        x[0] = 0xFF;
    } else {
        /* non-ESP marker, then the IKE header */
        put32(x + 4, 0x0badcafe);
        put32(x + 8, 0x11223344);
        put32(x + 12, 0x55667788);
        put32(x + 16, 0x99aabbcc);
        x[4 + 16] = 46;
        x[4 + 17] = 0x20;
        x[4 + 18] = 37;
        x[4 + 19] = p->kind == K_IKE_REQ ? 0x08 : 0x20;
        put32(x + 4 + 20, p->msgid);
        put32(x + 4 + 24, 76);
    }
    uint32_t wire = (uint32_t)l2 + iplen;
    struct pcap_pkthdr h;
    memset(&h, 0, sizeof h);
    h.ts.tv_sec = p->t / 1000000000;
    h.ts.tv_usec = p->t % 1000000000; /* nanosecond files */
    h.len = wire;
    h.caplen = wire < SNAP ? wire : SNAP;
    pcap_dump((u_char *)o->d, &h, b);
}

/* ---- the run ---- */

struct gen {
    struct opts o;
    struct out out[2];
    struct heap inflight[2]; /* arrivals at A (index 0) / at B (1), receiver clock */
    struct truth T;
    int64_t start_ns;        /* epoch of the run */
    int64_t end_ns;          /* run length */
    uint16_t a_port_now;
    int have_b_port;
    uint16_t last_b_seen_port;
};

static int64_t clock_of(const struct gen *g, int side, int64_t t_true)
{
    return g->start_ns + t_true + (side == 1 ? g->o.offset_ns : 0);
}

static int in_window(const struct gen *g, int side, int64_t t_true)
{
    int64_t s = side == 0 ? g->o.a_start : g->o.b_start;
    int64_t e = side == 0 ? g->o.a_stop : g->o.b_stop;
    return t_true >= s && t_true <= e;
}

/* Is a packet sent at t_true (receiver side `r`) in correlate's counted span of r's capture?
 * Approximated by the configured window; the generator keeps drops 50 ms away from its edges. */
static int counted_span(const struct gen *g, int r, int64_t t_true)
{
    int64_t s = r == 0 ? g->o.a_start : g->o.b_start;
    int64_t e = r == 0 ? g->o.a_stop : g->o.b_stop;
    return t_true >= s && t_true + g->o.grace_ns <= e;
}

static int near_edge(const struct gen *g, int r, int64_t t_true)
{
    int64_t s = r == 0 ? g->o.a_start : g->o.b_start;
    int64_t e = (r == 0 ? g->o.a_stop : g->o.b_stop) - g->o.grace_ns;
    return llabs(t_true - s) < 50 * MS || llabs(t_true - e) < 50 * MS;
}

/* Emits every arrival at side r up to true time t. */
static void flush_arrivals(struct gen *g, int r, int64_t t_true)
{
    struct heap *h = &g->inflight[r];
    while (h->n && h->v[0].t <= clock_of(g, r, t_true)) {
        struct pkt p = heap_pop(h);
        int64_t tt = p.t - g->start_ns - (r == 1 ? g->o.offset_ns : 0);
        if (!in_window(g, r, tt))
            continue;
        write_pkt(&g->out[r], r, &p);
        g->T.packets[r]++;
        if (p.own) {
            g->T.resp_sent++;
            g->T.ike[p.msgid & 0xFFFF] |= 4;
            continue;
        }
        if (p.kind == K_KA) {
            g->T.ka_received++;
        } else if (p.kind == K_IKE_REQ) {
            g->T.req_received++;
            g->T.ike[p.msgid & 0xFFFF] |= 2;
        } else if (p.kind == K_IKE_RESP) {
            g->T.resp_received++;
            g->T.ike[p.msgid & 0xFFFF] |= 8;
        } else {
            struct spi_truth *s = truth_spi(&g->T, p.spi, p.dir);
            uint64_t q = (uint64_t)p.seq < g->o.seq_start ? (uint64_t)p.seq + 0x100000000ull
                                                         : p.seq;
            uint8_t *st = seqstate(s, (uint32_t)(q - g->o.seq_start));
            if (*st & 2) {
                s->duplicated++;
                continue;
            }
            *st |= 2;
            s->received++;
            s->breceived[bucket_of(p.len)]++;
            if (*st & 1)
                s->matched++;
            else
                s->received_only++;
            if (s->have_max && q < s->max_rx)
                s->reordered++;
            else
                s->max_rx = q;
            s->have_max = 1;
        }
        if (r == 1) {
            if (g->have_b_port && p.a_port != g->last_b_seen_port) {
                g->T.nat_changes++;
                g->T.nat_change_ts = p.t;
            }
            g->have_b_port = 1;
            g->last_b_seen_port = p.a_port;
        }
    }
}

/* A packet sent by side s at true time t; `drop` decided by the caller. */
static void send_pkt(struct gen *g, struct pkt p, int64_t t, int drop, int lost_counted, int copies)
{
    int s = p.dir == 0 ? 0 : 1, r = !s;
    p.a_port = g->a_port_now;
    p.t = clock_of(g, s, t);
    int sent_in = in_window(g, s, t);
    if (sent_in) {
        write_pkt(&g->out[s], s, &p);
        g->T.packets[s]++;
    }
    if (p.kind == K_ESP) {
        struct spi_truth *st = truth_spi(&g->T, p.spi, p.dir);
        uint64_t q = (uint64_t)p.seq < g->o.seq_start ? (uint64_t)p.seq + 0x100000000ull : p.seq;
        uint8_t *x = seqstate(st, (uint32_t)(q - g->o.seq_start));
        if (sent_in) {
            *x = (uint8_t)(1 | (lost_counted ? 4 : 0) | bucket_of(p.len) << 3);
            st->sent++;
            st->bsent[bucket_of(p.len)]++;
        }
    } else if (sent_in) {
        if (p.kind == K_KA) {
            g->T.ka_sent++;
        } else if (p.kind == K_IKE_REQ) {
            g->T.req_sent++;
            g->T.ike[p.msgid & 0xFFFF] |= 1;
        }
    }
    if (drop)
        return;
    for (int k = 0; k < copies; k++) {
        struct pkt a = p;
        int64_t d = 5 * MS + (g->o.jitter_ns ? (int64_t)(rnd() % (uint64_t)g->o.jitter_ns) : 0);
        a.t = clock_of(g, r, t + d) + k * 1000;
        heap_push(&g->inflight[r], &a);
    }
}

/* After the run: sent but never received = lost when dropped inside the receiver's
 * counted span, else outside (it arrived, or would have, outside the receiver's capture). */
static void settle_truth(struct truth *T)
{
    for (size_t j = 0; j < T->n; j++) {
        struct spi_truth *s = &T->s[j];
        for (uint32_t q = 0; q < s->nst; q++) {
            uint8_t x = s->st[q];
            if (!(x & 1) || (x & 2))
                continue;
            if (x & 4) {
                s->lost++;
                s->blost[(x >> 3) & 7]++;
            } else {
                s->outside++;
            }
        }
    }
    for (uint32_t m = 0; m < 65536; m++) {
        T->req_matched += (T->ike[m] & 3) == 3;
        T->resp_matched += (T->ike[m] & 12) == 12;
    }
}

static int usage(void)
{
    fprintf(stderr,
            "usage: bench_gen_pairs [options] A.pcap B.pcap TRUTH.json\n"
            "  --packets N --seed N --pps N --spis N (per direction) --loss-ab F --loss-ba F\n"
            "  --big-above LEN (0 off) --dup F --jitter-us N --offset-ms N --grace-ms N\n"
            "  --a-start-ms --a-stop-ms --b-start-ms --b-stop-ms --rekey-ms --rebind-ms\n"
            "  --rebind-port P --keepalive-ms --ike-ms --seq-start N --blocked-to-b 0|1\n");
    return 64;
}

int main(int argc, char **argv)
{
    struct gen *g = calloc(1, sizeof *g);
    if (!g)
        return 1;
    struct opts *o = &g->o;
    o->packets = 1000000;
    o->seed = 1;
    o->pps = 100000;
    o->loss_ab = 0.01;
    o->big_above = 1400;
    o->spis = 4;
    o->jitter_ns = 200000;
    o->offset_ns = 1500 * MS;
    o->grace_ns = 1000 * MS;
    o->b_start = 300 * MS;
    o->a_stop = -1;
    o->b_stop = -1;
    o->rekey_ns = -1;
    o->rebind_ns = -1;
    o->rebind_port = 31337;
    o->keepalive_ns = 1000 * MS;
    o->ike_ns = 2000 * MS;
    o->seq_start = 1;
    int i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i += 2) {
        if (i + 1 >= argc) {
            free(g);
            return usage();
        }
        const char *k = argv[i] + 2, *v = argv[i + 1];
        double d = strtod(v, NULL);
        int64_t ms = (int64_t)(d * MS);
        if (!strcmp(k, "packets")) o->packets = strtoull(v, NULL, 10);
        else if (!strcmp(k, "seed")) o->seed = strtoull(v, NULL, 10);
        else if (!strcmp(k, "pps")) o->pps = d;
        else if (!strcmp(k, "spis")) o->spis = atoi(v);
        else if (!strcmp(k, "loss-ab")) o->loss_ab = d;
        else if (!strcmp(k, "loss-ba")) o->loss_ba = d;
        else if (!strcmp(k, "big-above")) o->big_above = (uint32_t)atoi(v);
        else if (!strcmp(k, "dup")) o->dup = d;
        else if (!strcmp(k, "jitter-us")) o->jitter_ns = (int64_t)(d * 1000);
        else if (!strcmp(k, "offset-ms")) o->offset_ns = ms;
        else if (!strcmp(k, "grace-ms")) o->grace_ns = ms;
        else if (!strcmp(k, "a-start-ms")) o->a_start = ms;
        else if (!strcmp(k, "a-stop-ms")) o->a_stop = ms;
        else if (!strcmp(k, "b-start-ms")) o->b_start = ms;
        else if (!strcmp(k, "b-stop-ms")) o->b_stop = ms;
        else if (!strcmp(k, "rekey-ms")) o->rekey_ns = ms;
        else if (!strcmp(k, "rebind-ms")) o->rebind_ns = ms;
        else if (!strcmp(k, "rebind-port")) o->rebind_port = (uint16_t)atoi(v);
        else if (!strcmp(k, "keepalive-ms")) o->keepalive_ns = ms;
        else if (!strcmp(k, "ike-ms")) o->ike_ns = ms;
        else if (!strcmp(k, "seq-start")) o->seq_start = (uint32_t)strtoul(v, NULL, 0);
        else if (!strcmp(k, "blocked-to-b")) o->blocked_to_b = atoi(v) != 0;
        else {
            free(g);
            return usage();
        }
    }
    if (argc - i != 3 || o->spis < 1 || o->spis > MAXSPI || o->pps <= 0) {
        free(g);
        return usage();
    }
    rng_state = o->seed;
    int64_t gap = (int64_t)(1e9 / o->pps);
    if (gap < 1)
        gap = 1;
    g->end_ns = (int64_t)o->packets * gap;
    if (o->a_stop < 0)
        o->a_stop = g->end_ns;
    if (o->b_stop < 0)
        o->b_stop = g->end_ns - 200 * MS;
    g->start_ns = 1700000000ll * 1000000000ll;
    g->a_port_now = 4500;
    for (int s = 0; s < 2; s++) {
        g->out[s].link = s == 0 ? 1 : 113;
        g->out[s].dead = pcap_open_dead_with_tstamp_precision(g->out[s].link, SNAP,
                                                              PCAP_TSTAMP_PRECISION_NANO);
        g->out[s].d = pcap_dump_open(g->out[s].dead, argv[i + s]);
        if (!g->out[s].d) {
            fprintf(stderr, "%s: %s\n", argv[i + s], pcap_geterr(g->out[s].dead));
            return 1;
        }
    }
    /* SPIs: [dir][k], sequence counters */
    uint32_t spi[2][MAXSPI], seq[2][MAXSPI];
    int gen_no = 0;
    for (int d = 0; d < 2; d++)
        for (int k = 0; k < o->spis; k++) {
            spi[d][k] = 0xc0000000u | (uint32_t)(d << 16) | (uint32_t)k;
            seq[d][k] = o->seq_start;
        }
    int64_t next_rekey = o->rekey_ns > 0 ? o->rekey_ns : INT64_MAX;
    int64_t next_ka = o->keepalive_ns > 0 ? 100 * MS : INT64_MAX;
    int64_t next_ike = o->ike_ns > 0 ? 150 * MS : INT64_MAX;
    uint32_t msgid = 2;
    for (uint64_t n = 0; n < o->packets; n++) {
        int64_t t = (int64_t)n * gap;
        if (o->rebind_ns >= 0 && t >= o->rebind_ns)
            g->a_port_now = o->rebind_port;
        if (t >= next_rekey) {
            gen_no++;
            for (int d = 0; d < 2; d++)
                for (int k = 0; k < o->spis; k++) {
                    spi[d][k] = 0xc0000000u | (uint32_t)(d << 16) | (uint32_t)(gen_no << 8) | (uint32_t)k;
                    seq[d][k] = o->seq_start;
                }
            next_rekey += o->rekey_ns;
        }
        flush_arrivals(g, 0, t);
        flush_arrivals(g, 1, t);
        if (t >= next_ka) {
            struct pkt p = {.kind = K_KA, .dir = 0};
            send_pkt(g, p, t, o->blocked_to_b, 0, 1);
            next_ka += o->keepalive_ns;
        }
        if (t >= next_ike) {
            struct pkt p = {.kind = K_IKE_REQ, .dir = 0, .msgid = msgid};
            send_pkt(g, p, t, o->blocked_to_b, 0, 1);
            if (!o->blocked_to_b) { /* no request arrives, so no response */
                /* B answers 1 ms after the request reaches it: its own copy is queued in B's heap
                 * (so B's file stays in time order), the arrival in A's. */
                int64_t tr = t + 6 * MS + o->jitter_ns;
                struct pkt q = {.kind = K_IKE_RESP, .dir = 1, .msgid = msgid, .own = 1};
                q.a_port = g->a_port_now;
                q.t = clock_of(g, 1, tr);
                heap_push(&g->inflight[1], &q);
                q.own = 0;
                q.t = clock_of(g, 0, tr + 5 * MS);
                heap_push(&g->inflight[0], &q);
            }
            msgid++;
            next_ike += o->ike_ns;
        }
        int dir = o->blocked_to_b ? 0 : (int)(rnd() & 1);
        int k = (int)(rnd() % (uint64_t)o->spis);
        double u = frand();
        uint32_t len = u < 0.70 ? 100 + (uint32_t)(rnd() % 100)
                       : u < 0.90 ? 500 + (uint32_t)(rnd() % 500)
                       : u < 0.97 ? 1300 + (uint32_t)(rnd() % 100)
                                  : 1401 + (uint32_t)(rnd() % 60);
        struct pkt p = {.kind = K_ESP, .dir = dir, .spi = spi[dir][k], .seq = seq[dir][k]++, .len = len};
        int r = !dir;
        int drop = 0;
        if (o->blocked_to_b) {
            drop = 1;
        } else if (!near_edge(g, r, t)) {
            double loss = dir == 0 ? o->loss_ab : o->loss_ba;
            drop = frand() < loss;
            if (dir == 0 && o->big_above && len > o->big_above)
                drop = 1;
        }
        int copies = dir == 0 && frand() < o->dup ? 2 : 1;
        send_pkt(g, p, t, drop, drop && counted_span(g, r, t), copies);
    }
    flush_arrivals(g, 0, INT64_MAX / 4);
    flush_arrivals(g, 1, INT64_MAX / 4);
    settle_truth(&g->T);
    for (int s = 0; s < 2; s++) {
        pcap_dump_close(g->out[s].d);
        pcap_close(g->out[s].dead);
    }
    FILE *f = fopen(argv[i + 2], "w");
    if (!f)
        return 1;
    struct truth *T = &g->T;
    uint64_t tot[2][9] = {{0}};
    uint64_t bt[2][3][NB] = {{{0}}};
    fprintf(f, "{\n  \"packets\": {\"a\": %" PRIu64 ", \"b\": %" PRIu64 "},\n", T->packets[0], T->packets[1]);
    fprintf(f, "  \"offset_ns\": %" PRId64 ",\n  \"grace_ns\": %" PRId64 ",\n", o->offset_ns, o->grace_ns);
    fprintf(f, "  \"spis\": [\n");
    for (size_t j = 0; j < T->n; j++) {
        struct spi_truth *s = &T->s[j];
        uint64_t v[9] = {s->sent, s->received, s->matched, s->lost, s->outside, s->received_only,
                         s->duplicated, s->reordered, 1};
        for (int x = 0; x < 9; x++)
            tot[s->dir][x] += v[x];
        for (int b = 0; b < NB; b++) {
            bt[s->dir][0][b] += s->bsent[b];
            bt[s->dir][1][b] += s->breceived[b];
            bt[s->dir][2][b] += s->blost[b];
        }
        fprintf(f,
                "    {\"spi\": \"%08x\", \"direction\": \"%s\", \"sent\": %" PRIu64 ", \"received\": %" PRIu64
                ", \"matched\": %" PRIu64 ", \"lost\": %" PRIu64 ", \"outside\": %" PRIu64
                ", \"received_only\": %" PRIu64 ", \"duplicated\": %" PRIu64 ", \"reordered\": %" PRIu64 "}%s\n",
                s->spi, s->dir ? "b->a" : "a->b", s->sent, s->received, s->matched, s->lost, s->outside,
                s->received_only, s->duplicated, s->reordered, j + 1 < T->n ? "," : "");
        free(s->st);
    }
    fprintf(f, "  ],\n  \"directions\": [\n");
    for (int d = 0; d < 2; d++) {
        fprintf(f,
                "    {\"direction\": \"%s\", \"spis\": %" PRIu64 ", \"sent\": %" PRIu64 ", \"received\": %" PRIu64
                ", \"matched\": %" PRIu64 ", \"lost\": %" PRIu64 ", \"outside\": %" PRIu64
                ", \"received_only\": %" PRIu64 ", \"duplicated\": %" PRIu64 ", \"reordered\": %" PRIu64
                ", \"by_size\": [",
                d ? "b->a" : "a->b", tot[d][8], tot[d][0], tot[d][1], tot[d][2], tot[d][3], tot[d][4],
                tot[d][5], tot[d][6], tot[d][7]);
        for (int b = 0; b < NB; b++)
            fprintf(f, "{\"sent\": %" PRIu64 ", \"received\": %" PRIu64 ", \"lost\": %" PRIu64 "}%s",
                    bt[d][0][b], bt[d][1][b], bt[d][2][b], b + 1 < NB ? ", " : "");
        fprintf(f, "]}%s\n", d ? "" : ",");
    }
    fprintf(f,
            "  ],\n  \"keepalives\": {\"sent\": %" PRIu64 ", \"received\": %" PRIu64 "},\n"
            "  \"ike\": {\"requests_sent\": %" PRIu64 ", \"requests_received\": %" PRIu64
            ", \"requests_matched\": %" PRIu64 ", \"responses_sent\": %" PRIu64
            ", \"responses_received\": %" PRIu64 ", \"responses_matched\": %" PRIu64 "},\n"
            "  \"nat_changes\": %" PRIu64 ", \"nat_change_ts_ns\": %" PRId64 ",\n",
            T->ka_sent, T->ka_received, T->req_sent, T->req_received, T->req_matched, T->resp_sent,
            T->resp_received, T->resp_matched, T->nat_changes, T->nat_change_ts);
    /* each capture's window in its own clock: when it ran, packets or not */
    fprintf(f,
            "  \"spans\": {\"a\": {\"start_ns\": %" PRId64 ", \"end_ns\": %" PRId64 "}, "
            "\"b\": {\"start_ns\": %" PRId64 ", \"end_ns\": %" PRId64 "}}\n}\n",
            clock_of(g, 0, o->a_start), clock_of(g, 0, o->a_stop), clock_of(g, 1, o->b_start),
            clock_of(g, 1, o->b_stop));
    fclose(f);
    free(g->inflight[0].v);
    free(g->inflight[1].v);
    free(g);
    return 0;
}
