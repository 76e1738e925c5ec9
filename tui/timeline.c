#include "tui/timeline.h"

#include <stdlib.h>
#include <string.h>

#define TL_RING 16384u /* sequence numbers kept per SPI for matching */
#define TL_MAX_SPIS 256u

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
    uint64_t packets[2];
    struct tl_totals tot[2];
};

struct timeline *timeline_new(size_t max_rows)
{
    struct timeline *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->max = max_rows ? max_rows : TIMELINE_DEFAULT_ROWS;
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

/* A sighting of an ESP packet at `side` completes a row made by the other end. */
static void esp_match(struct timeline *t, struct tl_spi *s, struct tl_row *r, int side,
                      const struct capture_event *ev)
{
    int other = 1 - side;
    uint8_t sent = sent_by(t, side, ev, s);
    fill_pkt(&r->p[side], ev, sent);
    r->have |= (uint8_t)(1u << side);
    if (s->dir == TL_DIR_UNKNOWN && r->p[other].ttl != ev->ttl) {
        /* the sender's copy was captured before any router decremented its TTL */
        int sender = ev->ttl > r->p[other].ttl ? side : other;
        s->dir = sender == 0 ? TL_AB : TL_BA;
        if (!t->local[side].family)
            t->local[side] = sender == side ? ev->src : ev->dst;
    }
    if (r->flags & TL_ROW_SETTLED) {
        /* arrived after it was settled: no longer lost */
        int dir = row_dir_of(t, r);
        if (dir != TL_DIR_UNKNOWN) {
            if (r->flags & TL_ROW_LOST)
                t->tot[dir].lost--;
            t->tot[dir].received++;
        }
        r->flags &= (uint8_t)~(TL_ROW_LOST | TL_ROW_OUTSIDE);
    }
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
                    esp_match(t, s, r, side, ev);
                    s->row[slot] = 0;
                    return 0;
                }
            }
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
    }
    return 0;
}

static void settle_row(struct timeline *t, struct tl_row *r)
{
    r->flags |= TL_ROW_SETTLED;
    int x = (r->have & 1u) ? 0 : 1;
    if (r->p[x].kind != CAPTURE_ESP)
        return;
    int dir = row_dir_of(t, r);
    r->dir = (uint8_t)dir;
    if (dir == TL_DIR_UNKNOWN)
        return;
    int sender = dir == TL_AB ? 0 : 1, receiver = 1 - sender;
    if (r->have & (1u << sender))
        t->tot[dir].sent++;
    if (r->have & (1u << receiver)) {
        t->tot[dir].received++;
        return;
    }
    int64_t ts = r->p[sender].ts_ns;
    if (!t->span_start[receiver] || ts < t->span_start[receiver] ||
        (t->span_end[receiver] && ts > t->span_end[receiver])) {
        r->flags |= TL_ROW_OUTSIDE;
        return;
    }
    r->flags |= TL_ROW_LOST;
    t->tot[dir].lost++;
}

size_t timeline_settle(struct timeline *t, int64_t now_ns, int64_t grace_ns)
{
    int64_t horizon[2];
    for (int x = 0; x < 2; x++) {
        if (t->span_end[x])
            horizon[x] = t->span_end[x] + grace_ns;
        else
            horizon[x] = t->last_ts[x] > now_ns - grace_ns ? t->last_ts[x] : now_ns - grace_ns;
    }
    size_t n = 0;
    for (; t->settle < t->end; t->settle++) {
        struct tl_row *r = row_at(t, t->settle);
        if (!r || (r->flags & TL_ROW_SETTLED))
            continue;
        int x = (r->have & 1u) ? 0 : 1;
        if (r->have != 3u && r->p[x].kind == CAPTURE_ESP && r->p[x].ts_ns + grace_ns > horizon[1 - x])
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
