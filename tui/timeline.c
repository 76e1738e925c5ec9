#include "tui/timeline.h"

#include <stdlib.h>
#include <string.h>

#define TL_RING 16384u /* sequence numbers kept per SPI for matching */
#define TL_MAX_SPIS 256u
#define TL_PEND 512u       /* IKE messages and keepalives waiting for the other end */
#define TL_KA_TOL_NS 1000000000LL /* a keepalive pairs with one seen within 1 s (clock offset removed) */

/* An IKE message or keepalive seen at one end only so far.  IKE is matched
 * by what NAT does not touch: both SPIs (the responder's left out of
 * IKE_SA_INIT, where the request carries none), message id, exchange type
 * and the response flag, as playbook/correlate matches it.  A keepalive has
 * no identity: it pairs with the oldest unmatched one sent the other way
 * round within TL_KA_TOL_NS once the clock offset is removed. */
struct tl_pend {
    uint64_t row;      /* absolute row index + 1, 0 free */
    uint64_t ispi, rspi;
    uint32_t msgid;
    uint8_t kind, exch, resp, side;
};

struct tl_spi {
    uint32_t spi;
    int dir;
    uint32_t *seq;     /* [TL_RING] */
    uint64_t *row;     /* [TL_RING] absolute row index + 1, 0 empty */
    int64_t sec[2][TL_RATE_SECONDS];
    uint32_t count[2][TL_RATE_SECONDS];
};

struct timeline {
    struct tl_row *rows;
    size_t cap, max;
    uint64_t first, end;   /* absolute indices kept: [first, end) */
    uint64_t settle;       /* first row not settled yet */
    struct tl_spi *spis;
    size_t n_spis, last_spi;
    struct capture_addr local[2];
    int64_t span_start[2], span_end[2], last_ts[2];
    int64_t heard[2];      /* realtime of the last stream bytes (timeline_heard), 0 never */
    uint64_t packets[2];
    struct tl_totals tot[2];
    struct tl_pend pend[TL_PEND];
    size_t pend_next;      /* next slot written (oldest first from here) */
    int64_t dmin[2];       /* per direction: least (receiver ts - sender ts) of matched ESP */
    int have_d[2];
    int64_t grace_ns;      /* as last given to timeline_settle (1 s before) */
};

struct timeline *timeline_new(size_t max_rows)
{
    struct timeline *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->max = max_rows ? max_rows : TIMELINE_DEFAULT_ROWS;
    t->grace_ns = 1000000000LL;
    return t;
}

void timeline_free(struct timeline *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n_spis; i++) {
        free(t->spis[i].seq);
        free(t->spis[i].row);
    }
    free(t->spis);
    free(t->rows);
    free(t);
}

static struct tl_row *row_at(const struct timeline *t, uint64_t abs)
{
    if (abs < t->first || abs >= t->end)
        return NULL;
    return &t->rows[abs % t->max];
}

const struct tl_row *timeline_row(const struct timeline *t, uint64_t abs)
{
    return row_at(t, abs);
}

uint64_t timeline_first(const struct timeline *t) { return t->first; }
uint64_t timeline_end(const struct timeline *t) { return t->end; }
uint64_t timeline_dropped(const struct timeline *t) { return t->first; }
uint64_t timeline_packets(const struct timeline *t, int side) { return t->packets[side & 1]; }

int64_t timeline_start(const struct timeline *t)
{
    int64_t a = t->span_start[0], b = t->span_start[1];
    if (!a)
        return b;
    if (!b)
        return a;
    return a < b ? a : b;
}

const struct tl_totals *timeline_totals(const struct timeline *t, int dir)
{
    return &t->tot[dir == TL_BA];
}

int timeline_covered(const struct timeline *t, int side, int64_t ts_ns)
{
    side &= 1;
    return t->span_start[side] && ts_ns >= t->span_start[side] &&
           (!t->span_end[side] || ts_ns <= t->span_end[side]);
}

static struct tl_spi *spi_find(struct timeline *t, uint32_t spi, int create)
{
    if (t->last_spi < t->n_spis && t->spis[t->last_spi].spi == spi)
        return &t->spis[t->last_spi];
    for (size_t i = 0; i < t->n_spis; i++)
        if (t->spis[i].spi == spi) {
            t->last_spi = i;
            return &t->spis[i];
        }
    if (!create || t->n_spis >= TL_MAX_SPIS)
        return NULL;
    struct tl_spi *v = realloc(t->spis, (t->n_spis + 1) * sizeof *v);
    if (!v)
        return NULL;
    t->spis = v;
    struct tl_spi *s = &v[t->n_spis];
    memset(s, 0, sizeof *s);
    s->spi = spi;
    s->dir = TL_DIR_UNKNOWN;
    s->seq = calloc(TL_RING, sizeof *s->seq);
    s->row = calloc(TL_RING, sizeof *s->row);
    if (!s->seq || !s->row) {
        free(s->seq);
        free(s->row);
        return NULL;
    }
    t->last_spi = t->n_spis++;
    return s;
}

static const struct tl_spi *spi_get(const struct timeline *t, uint32_t spi)
{
    for (size_t i = 0; i < t->n_spis; i++)
        if (t->spis[i].spi == spi)
            return &t->spis[i];
    return NULL;
}

void timeline_set_local(struct timeline *t, int side, const struct capture_addr *a)
{
    t->local[side & 1] = *a;
}

void timeline_set_span(struct timeline *t, int side, int64_t start_ns, int64_t end_ns)
{
    t->span_start[side & 1] = start_ns;
    t->span_end[side & 1] = end_ns;
}

void timeline_set_spi_dir(struct timeline *t, uint32_t spi, int dir)
{
    struct tl_spi *s = spi_find(t, spi, 1);
    if (s)
        s->dir = dir;
}

size_t timeline_spis(const struct timeline *t, uint32_t *out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < t->n_spis && n < max; i++)
        out[n++] = t->spis[i].spi;
    return n;
}

/* 1: this end sent it, 0: received, 2: unknown. */
static uint8_t sent_by(const struct timeline *t, int side, const struct capture_event *ev,
                       const struct tl_spi *s)
{
    const struct capture_addr *l = &t->local[side];
    if (l->family) {
        if (capture_addr_eq(&ev->src, l))
            return 1;
        if (capture_addr_eq(&ev->dst, l))
            return 0;
    }
    if (s && s->dir != TL_DIR_UNKNOWN)
        return (s->dir == TL_AB) == (side == 0);
    return 2;
}

static int row_dir_of(const struct timeline *t, const struct tl_row *r)
{
    for (int x = 0; x < 2; x++) {
        if (!(r->have & (1u << x)) || r->p[x].sent == 2)
            continue;
        int a_sent = (x == 0) == (r->p[x].sent == 1);
        return a_sent ? TL_AB : TL_BA;
    }
    int x = (r->have & 1u) ? 0 : 1;
    if (r->p[x].kind == CAPTURE_ESP) {
        const struct tl_spi *s = spi_get(t, r->p[x].spi);
        if (s && s->dir != TL_DIR_UNKNOWN)
            return s->dir;
    }
    return r->dir;
}

int timeline_row_dir(const struct timeline *t, const struct tl_row *r)
{
    return row_dir_of(t, r);
}

int timeline_matchable(int kind)
{
    return kind == CAPTURE_ESP || kind == CAPTURE_IKE || kind == CAPTURE_KEEPALIVE;
}

int64_t timeline_row_ts(const struct tl_row *r)
{
    return (r->have & 1u) ? r->p[0].ts_ns : r->p[1].ts_ns;
}

static struct tl_row *row_new(struct timeline *t)
{
    if (t->end - t->first >= t->max) {
        /* full: the oldest row goes */
        if (t->settle == t->first)
            t->settle++;
        t->first++;
    } else if (t->end >= t->cap) {
        size_t ncap = t->cap ? t->cap * 2 : 4096;
        if (ncap > t->max)
            ncap = t->max;
        struct tl_row *v = realloc(t->rows, ncap * sizeof *v);
        if (!v)
            return NULL;
        t->rows = v;
        t->cap = ncap;
    }
    struct tl_row *r = &t->rows[t->end % t->max];
    memset(r, 0, sizeof *r);
    r->dir = TL_DIR_UNKNOWN;
    t->end++;
    return r;
}

static void fill_pkt(struct tl_pkt *p, const struct capture_event *ev, uint8_t sent)
{
    p->ts_ns = ev->ts_ns;
    p->kind = ev->kind;
    p->ttl = ev->ttl;
    p->sent = sent;
    uint32_t len = ev->ip_len ? ev->ip_len : ev->wire_len;
    p->len = len > 65535u ? 65535u : (uint16_t)len;
    if (ev->kind == CAPTURE_ESP) {
        p->spi = ev->spi;
        p->seq = ev->seq;
    } else if (ev->kind == CAPTURE_IKE) {
        p->seq = ev->ike.msgid;
        p->exchange = ev->ike.exchange;
        p->ike_flags = ev->ike.flags;
    }
}

static void rate_add(struct tl_spi *s, int side, int64_t ts_ns)
{
    int64_t sec = ts_ns / 1000000000;
    size_t i = (size_t)(sec % TL_RATE_SECONDS);
    if (s->sec[side][i] != sec) {
        s->sec[side][i] = sec;
        s->count[side][i] = 0;
    }
    s->count[side][i]++;
}

void timeline_spi_rate(const struct timeline *t, int side, uint32_t spi, int64_t now_ns,
                       uint32_t out[TL_RATE_SECONDS])
{
    const struct tl_spi *s = spi_get(t, spi);
    int64_t now_s = now_ns / 1000000000;
    for (int k = 0; k < TL_RATE_SECONDS; k++) {
        int64_t sec = now_s - (TL_RATE_SECONDS - 1) + k;
        size_t i = (size_t)(((sec % TL_RATE_SECONDS) + TL_RATE_SECONDS) % TL_RATE_SECONDS);
        out[k] = (s && s->sec[side & 1][i] == sec) ? s->count[side & 1][i] : 0;
    }
}

/* The clock offset (B minus A) as the matched ESP packets tell it: half the
 * difference of the least apparent delays of the two directions (the one
 * direction's least delay when only one is known; 0 before any match). */
static int64_t clock_offset(const struct timeline *t)
{
    if (t->have_d[TL_AB] && t->have_d[TL_BA])
        return (t->dmin[TL_AB] - t->dmin[TL_BA]) / 2;
    if (t->have_d[TL_AB])
        return t->dmin[TL_AB];
    if (t->have_d[TL_BA])
        return -t->dmin[TL_BA];
    return 0;
}

static void offset_learn(struct timeline *t, const struct tl_row *r, int dir)
{
    if (r->have != 3u || dir == TL_DIR_UNKNOWN)
        return;
    int64_t d = dir == TL_AB ? r->p[1].ts_ns - r->p[0].ts_ns : r->p[0].ts_ns - r->p[1].ts_ns;
    if (!t->have_d[dir] || d < t->dmin[dir]) {
        t->dmin[dir] = d;
        t->have_d[dir] = 1;
    }
}

/* A sighting at `side` completes a row made by the other end (s: the SPI of
 * an ESP packet, NULL for IKE and keepalives). */
static void row_match(struct timeline *t, struct tl_spi *s, struct tl_row *r, int side,
                      const struct capture_event *ev)
{
    int other = 1 - side;
    uint8_t sent = sent_by(t, side, ev, s);
    fill_pkt(&r->p[side], ev, sent);
    r->have |= (uint8_t)(1u << side);
    if (!s) {
        r->flags &= (uint8_t)~(TL_ROW_LOST | TL_ROW_OUTSIDE);
        int dir = row_dir_of(t, r);
        if (dir != TL_DIR_UNKNOWN)
            r->dir = (uint8_t)dir;
        return;
    }
    if (s->dir == TL_DIR_UNKNOWN && r->p[other].ttl != ev->ttl) {
        /* the sender's copy was captured before any router decremented its TTL */
        int sender = ev->ttl > r->p[other].ttl ? side : other;
        s->dir = sender == 0 ? TL_AB : TL_BA;
        if (!t->local[side].family)
            t->local[side] = sender == side ? ev->src : ev->dst;
    }
    if (r->flags & TL_ROW_SETTLED) {
        /* arrived after it was settled: the totals as if both copies had
         * come in time (the receiver's copy: no longer lost; the sender's:
         * one more sent) */
        int counted = r->dir; /* the direction it was counted in, if any */
        int dir = row_dir_of(t, r);
        if (counted != TL_DIR_UNKNOWN) {
            struct tl_totals *k = &t->tot[counted];
            if ((counted == TL_AB) == (side == 1)) { /* the receiver's copy */
                if ((r->flags & TL_ROW_LOST) && k->lost)
                    k->lost--;
                if ((r->flags & TL_ROW_OUTSIDE) && k->outside)
                    k->outside--;
                k->received++;
            } else {
                k->sent++;
            }
        } else if (dir != TL_DIR_UNKNOWN) {
            t->tot[dir].sent++;
            t->tot[dir].received++;
            r->dir = (uint8_t)dir;
        }
        r->flags &= (uint8_t)~(TL_ROW_LOST | TL_ROW_OUTSIDE);
    }
    offset_learn(t, r, row_dir_of(t, r));
}

static int pend_kind(const struct capture_event *ev)
{
    return ev->kind == CAPTURE_IKE || ev->kind == CAPTURE_KEEPALIVE;
}

static void pend_key(const struct capture_event *ev, int side, struct tl_pend *k)
{
    memset(k, 0, sizeof *k);
    k->kind = ev->kind;
    k->side = (uint8_t)side;
    if (ev->kind == CAPTURE_IKE) {
        k->ispi = ev->ike.ispi;
        k->rspi = ev->ike.exchange == 34 ? 0 : ev->ike.rspi;
        k->msgid = ev->ike.msgid;
        k->exch = ev->ike.exchange;
        k->resp = (ev->ike.flags & CAPTURE_IKE_F_RESPONSE) ? 1 : 0;
    }
}

/* The oldest row of the other end that this IKE message or keepalive
 * completes, its pending slot freed; NULL when none. */
static struct tl_row *pend_match(struct timeline *t, int side, const struct capture_event *ev)
{
    struct tl_pend k;
    pend_key(ev, side, &k);
    uint8_t sent = sent_by(t, side, ev, NULL);
    int64_t off = clock_offset(t);
    for (size_t i = 0; i < TL_PEND; i++) {
        struct tl_pend *p = &t->pend[(t->pend_next + i) % TL_PEND];
        if (!p->row || p->side == side || p->kind != k.kind)
            continue;
        struct tl_row *r = row_at(t, p->row - 1);
        if (!r || r->have != (1u << p->side)) {
            p->row = 0; /* gone, or completed */
            continue;
        }
        const struct tl_pkt *o = &r->p[p->side];
        if (sent != 2 && o->sent != 2 && sent == o->sent)
            continue; /* both sent it, or both received it: not the same packet */
        if (k.kind == CAPTURE_IKE) {
            if (p->ispi != k.ispi || p->rspi != k.rspi || p->msgid != k.msgid || p->exch != k.exch ||
                p->resp != k.resp)
                continue;
        } else {
            /* in A's clock */
            int64_t ta = side == 0 ? ev->ts_ns : o->ts_ns;
            int64_t tb = side == 1 ? ev->ts_ns : o->ts_ns;
            int64_t d = tb - off - ta;
            if (d > TL_KA_TOL_NS || d < -TL_KA_TOL_NS)
                continue;
        }
        p->row = 0;
        return r;
    }
    return NULL;
}

static void pend_add(struct timeline *t, int side, const struct capture_event *ev, uint64_t abs)
{
    struct tl_pend *p = &t->pend[t->pend_next];
    pend_key(ev, side, p);
    p->row = abs + 1;
    t->pend_next = (t->pend_next + 1) % TL_PEND;
}

int timeline_add(struct timeline *t, int side, const struct capture_event *ev)
{
    side &= 1;
    t->packets[side]++;
    if (ev->ts_ns > t->last_ts[side])
        t->last_ts[side] = ev->ts_ns;
    struct tl_spi *s = NULL;
    if (ev->kind == CAPTURE_ESP) {
        s = spi_find(t, ev->spi, 1);
        if (s) {
            rate_add(s, side, ev->ts_ns);
            size_t slot = ev->seq & (TL_RING - 1);
            if (s->row[slot] && s->seq[slot] == ev->seq) {
                struct tl_row *r = row_at(t, s->row[slot] - 1);
                if (r && !(r->have & (1u << side))) {
                    row_match(t, s, r, side, ev);
                    s->row[slot] = 0;
                    return 0;
                }
            }
        }
    } else if (pend_kind(ev)) {
        struct tl_row *r = pend_match(t, side, ev);
        if (r) {
            row_match(t, NULL, r, side, ev);
            return 0;
        }
    }
    struct tl_row *r = row_new(t);
    if (!r)
        return -1;
    uint8_t sent = sent_by(t, side, ev, s);
    if (s && s->dir == TL_DIR_UNKNOWN && sent != 2)
        s->dir = (side == 0) == (sent == 1) ? TL_AB : TL_BA;
    fill_pkt(&r->p[side], ev, sent);
    r->have = (uint8_t)(1u << side);
    r->dir = (uint8_t)row_dir_of(t, r);
    if (s) {
        size_t slot = ev->seq & (TL_RING - 1);
        s->seq[slot] = ev->seq;
        s->row[slot] = t->end; /* abs + 1 of the new row */
    } else if (pend_kind(ev)) {
        pend_add(t, side, ev, t->end - 1);
    }
    return 0;
}

#define TL_REORDER_NS 5000000000LL /* rows come in arrival order, within a few s of time order */

size_t timeline_end_span(struct timeline *t, int side, int64_t end_ns)
{
    side &= 1;
    t->span_end[side] = end_ns;
    size_t n = 0;
    for (uint64_t i = t->end; i > t->first; i--) {
        struct tl_row *r = row_at(t, i - 1);
        int64_t ts = timeline_row_ts(r);
        if (ts < end_ns - TL_REORDER_NS)
            break;
        if (!(r->flags & TL_ROW_LOST))
            continue;
        int dir = row_dir_of(t, r);
        int sender = dir == TL_AB ? 0 : 1;
        if (dir == TL_DIR_UNKNOWN || 1 - sender != side || r->p[sender].ts_ns + t->grace_ns <= end_ns)
            continue;
        r->flags = (uint8_t)((r->flags & ~TL_ROW_LOST) | TL_ROW_OUTSIDE);
        if (r->p[sender].kind == CAPTURE_ESP && t->tot[dir].lost) {
            t->tot[dir].lost--;
            t->tot[dir].outside++;
        }
        n++;
    }
    return n;
}

static void settle_row(struct timeline *t, struct tl_row *r)
{
    r->flags |= TL_ROW_SETTLED;
    int x = (r->have & 1u) ? 0 : 1;
    if (!timeline_matchable(r->p[x].kind))
        return;
    int esp = r->p[x].kind == CAPTURE_ESP; /* the totals count ESP only */
    int dir = row_dir_of(t, r);
    r->dir = (uint8_t)dir;
    if (dir == TL_DIR_UNKNOWN)
        return;
    int sender = dir == TL_AB ? 0 : 1, receiver = 1 - sender;
    if (esp && (r->have & (1u << sender)))
        t->tot[dir].sent++;
    if (r->have & (1u << receiver)) {
        if (esp)
            t->tot[dir].received++;
        return;
    }
    /* as `tunnelscope correlate` counts: sent outside the receiver's
     * capture, or in its last grace period (it may still have been on its
     * way), is not lost but "outside" */
    int64_t ts = r->p[sender].ts_ns;
    if (!t->span_start[receiver] || ts < t->span_start[receiver] ||
        (t->span_end[receiver] && ts + t->grace_ns > t->span_end[receiver])) {
        r->flags |= TL_ROW_OUTSIDE;
        if (esp)
            t->tot[dir].outside++;
        return;
    }
    r->flags |= TL_ROW_LOST;
    if (esp)
        t->tot[dir].lost++;
}

void timeline_heard(struct timeline *t, int side, int64_t now_ns)
{
    if (side == 0 || side == 1)
        t->heard[side] = now_ns;
}

size_t timeline_settle(struct timeline *t, int64_t now_ns, int64_t grace_ns)
{
    t->grace_ns = grace_ns;
    int64_t horizon[2];
    for (int x = 0; x < 2; x++) {
        /* an ended capture has nothing more to show: what it did not show
         * by its end is settled, and after it as time goes by (outside) */
        int64_t h = t->span_end[x] ? t->span_end[x] + grace_ns : t->last_ts[x];
        int busy = !t->span_end[x] && t->heard[x] && now_ns - t->heard[x] < grace_ns;
        horizon[x] = busy || h > now_ns - grace_ns ? h : now_ns - grace_ns;
    }
    size_t n = 0;
    for (; t->settle < t->end; t->settle++) {
        struct tl_row *r = row_at(t, t->settle);
        if (!r || (r->flags & TL_ROW_SETTLED))
            continue;
        int x = (r->have & 1u) ? 0 : 1;
        if (r->have != 3u && timeline_matchable(r->p[x].kind) && r->p[x].ts_ns + grace_ns > horizon[1 - x])
            break;
        settle_row(t, r);
        n++;
    }
    return n;
}

void timeline_settle_all(struct timeline *t)
{
    for (; t->settle < t->end; t->settle++) {
        struct tl_row *r = row_at(t, t->settle);
        if (r && !(r->flags & TL_ROW_SETTLED))
            settle_row(t, r);
    }
}
