#include "playbook/bundle_report.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "probes/capture.h"

/* ---- small helpers ---- */

void bundle_report_thousands(unsigned long long v, char *out, size_t size)
{
    char digits[32];
    int n = snprintf(digits, sizeof digits, "%llu", v);
    size_t o = 0;
    for (int i = 0; i < n && o + 1 < size; i++) {
        if (i && (n - i) % 3 == 0 && o + 2 < size)
            out[o++] = ',';
        out[o++] = digits[i];
    }
    if (size)
        out[o < size ? o : size - 1] = '\0';
}

static void hms(double t, char *out, size_t size)
{
    if (!(t > 0)) {
        snprintf(out, size, "??:??:??");
        return;
    }
    time_t s = (time_t)t;
    struct tm tm;
    gmtime_r(&s, &tm);
    snprintf(out, size, "%02d:%02d:%02d", tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static void ymd(double t, char *out, size_t size)
{
    if (!(t > 0)) {
        snprintf(out, size, "an unknown date");
        return;
    }
    time_t s = (time_t)t;
    struct tm tm;
    gmtime_r(&s, &tm);
    snprintf(out, size, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

static long long jint(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_integer(v) ? (long long)json_integer_value(v) : -1;
}

static const char *jstr(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static const char *num(long long v, char *b, size_t n)
{
    if (v < 0)
        snprintf(b, n, "?");
    else
        bundle_report_thousands((unsigned long long)v, b, n);
    return b;
}

static const char *peer_or(const struct bundle_report_in *in, int side)
{
    return in->peer[side] ? in->peer[side] : side ? "B" : "A";
}

/* The output format: Markdown or HTML, with the escaping each needs. */
enum fmt { MD, HTML };

struct out {
    enum fmt f;
    struct buf *b;
    int oom;
};

static void put(struct out *o, const char *s)
{
    if (buf_puts(o->b, s))
        o->oom = 1;
}

static void putf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (buf_vprintf(o->b, fmt, ap))
        o->oom = 1;
    va_end(ap);
}

/* Text from the findings or the peers, escaped for the format (one line). */
static void text(struct out *o, const char *s)
{
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        char tmp[8] = {0};
        if (o->f == HTML) {
            switch (c) {
            case '<': put(o, "&lt;"); continue;
            case '>': put(o, "&gt;"); continue;
            case '&': put(o, "&amp;"); continue;
            case '"': put(o, "&quot;"); continue;
            case '\'': put(o, "&#39;"); continue;
            default: break;
            }
        } else if (strchr("\\`*_[]<>|#", c)) {
            tmp[0] = '\\';
            tmp[1] = (char)c;
            put(o, tmp);
            continue;
        }
        if (c == '\n' || c == '\r' || c == '\t')
            c = ' ';
        else if (c < 0x20 || c == 0x7f)
            c = '?';
        tmp[0] = (char)c;
        put(o, tmp);
    }
}

/* A file name of the bundle (a link in HTML). */
static void file_ref(struct out *o, const char *rel)
{
    if (o->f == HTML) {
        put(o, "<a href=\"");
        text(o, rel);
        put(o, "\"><code>");
        text(o, rel);
        put(o, "</code></a>");
    } else {
        putf(o, "`%s`", rel); /* bundle file names are slugs: no backtick inside */
    }
}

/* Verbatim lines (evidence details): a code block. */
static void block(struct out *o, const char *s)
{
    if (!s || !*s)
        return;
    if (o->f == HTML) {
        put(o, "<pre>");
        for (const char *p = s; *p; p++) {
            char c[2] = {*p, 0};
            if (*p == '\n') {
                put(o, "\n");
                continue;
            }
            text(o, c);
        }
        put(o, "</pre>\n");
    } else {
        put(o, "\n    ");
        for (const char *p = s; *p; p++) {
            if (*p == '\n') {
                put(o, "\n    ");
                continue;
            }
            unsigned char c = (unsigned char)*p;
            char t[2] = {(char)(c < 0x20 && c != '\t' ? '?' : c), 0};
            put(o, t);
        }
        put(o, "\n\n");
    }
}

static void heading(struct out *o, int level, const char *title)
{
    if (o->f == HTML) {
        putf(o, "<h%d>", level);
        text(o, title);
        putf(o, "</h%d>\n", level);
    } else {
        for (int i = 0; i < level; i++)
            put(o, "#");
        put(o, " ");
        put(o, title); /* our own titles: nothing to escape */
        put(o, "\n\n");
    }
}

static void para_open(struct out *o)
{
    put(o, o->f == HTML ? "<p>" : "");
}

static void para_close(struct out *o)
{
    put(o, o->f == HTML ? "</p>\n" : "\n\n");
}

static void strong(struct out *o, const char *s)
{
    put(o, o->f == HTML ? "<strong>" : "**");
    text(o, s);
    put(o, o->f == HTML ? "</strong>" : "**");
}

/* ---- which file proves a claim ---- */

static int evidence_is_capture(const struct evidence *ev)
{
    return ev->source && (strstr(ev->source, "capture") || strstr(ev->source, "pcap") ||
                          strstr(ev->source, "correlat"));
}

/* The raw output an evidence line rests on: same peer, the same command. */
static const char *raw_file_for(const struct bundle_report_in *in, const struct evidence *ev)
{
    if (!ev->source || !in->raw_file)
        return NULL;
    for (size_t i = 0; i < in->n_raws; i++) {
        const struct bundle_raw *r = &in->raws[i];
        const char *pn = in->peer[r->side];
        if (ev->peer && pn && strcmp(ev->peer, pn))
            continue;
        if ((r->what && !strcmp(r->what, ev->source)) ||
            (r->command && !strcmp(r->command, ev->source)))
            return in->raw_file[i];
    }
    for (size_t i = 0; i < in->n_raws; i++) { /* the command line contains the source */
        const struct bundle_raw *r = &in->raws[i];
        const char *pn = in->peer[r->side];
        if (ev->peer && pn && strcmp(ev->peer, pn))
            continue;
        if (r->command && strstr(r->command, ev->source))
            return in->raw_file[i];
    }
    return NULL;
}

static void proof_files(struct out *o, const struct bundle_report_in *in, const struct evidence *ev)
{
    const char *raw = raw_file_for(in, ev);
    if (raw) {
        file_ref(o, raw);
        return;
    }
    if (evidence_is_capture(ev)) {
        int any = 0;
        for (int s = 0; s < 2; s++)
            if (in->pcap_file[s]) {
                if (any++)
                    put(o, ", ");
                file_ref(o, in->pcap_file[s]);
            }
        if (in->correlation) {
            if (any++)
                put(o, ", ");
            file_ref(o, "correlation.json");
        }
        if (any)
            return;
    }
    file_ref(o, "findings.json");
}

/* ---- per-direction numbers ---- */

/* The outer address the receiver saw the sender at: its most frequent peer endpoint. */
static const char *seen_as(const json_t *recv_end, long long *port)
{
    const json_t *best = NULL;
    size_t i;
    const json_t *p;
    json_array_foreach(json_object_get(recv_end, "peer_endpoints"), i, p) {
        if (!best || jint(p, "packets") > jint(best, "packets"))
            best = p;
    }
    *port = best ? jint(best, "port") : -1;
    return best ? jstr(best, "addr") : NULL;
}

static double dir_time(const json_t *corr, const char *dir, int last)
{
    /* the span of the direction's SPIs, in A's clock */
    double t = 0;
    size_t i;
    const json_t *s;
    json_array_foreach(json_object_get(corr, "spis"), i, s) {
        const char *d = jstr(s, "direction");
        if (!d || strcmp(d, dir))
            continue;
        long long v = jint(s, last ? "last_ns" : "first_ns");
        if (v <= 0)
            continue;
        double x = (double)v / 1e9;
        if (!(t > 0) || (last ? x > t : x < t))
            t = x;
    }
    return t;
}

static void direction_sentence(struct out *o, const struct bundle_report_in *in, int d)
{
    const json_t *corr = in->correlation;
    const json_t *dir = json_array_get(json_object_get(corr, "directions"), (size_t)d);
    const json_t *ends = json_object_get(corr, "ends");
    int xs = d, ys = !d;
    const json_t *ex = json_object_get(ends, xs ? "b" : "a");
    const json_t *ey = json_object_get(ends, ys ? "b" : "a");
    char n1[32], n2[32], n3[32], n4[32], n5[32], t1[16], t2[16];
    long long port = -1;
    const char *src = seen_as(ey, &port); /* the sender's public address, after NAT */
    if (!src)
        src = jstr(ex, "local");
    const char *dst = jstr(ey, "local");
    const char *dname = d ? "b->a" : "a->b";
    double first = dir_time(corr, dname, 0), last = dir_time(corr, dname, 1);
    if (!(first > 0)) {
        first = (double)jint(ex, "first_ns") / 1e9;
        last = (double)jint(ex, "last_ns") / 1e9;
    }
    hms(first, t1, sizeof t1);
    hms(last, t2, sizeof t2);
    long long sent = jint(dir, "sent"), outside = jint(dir, "outside");
    put(o, o->f == HTML ? "<li>" : "- ");
    strong(o, peer_or(in, xs));
    put(o, o->f == HTML ? " &rarr; " : " -> ");
    strong(o, peer_or(in, ys));
    put(o, ": ");
    /* what the sender put on the wire: ESP in UDP/4500, or raw ESP (IP protocol 50) */
    int raw_esp = jint(ex, "esp_raw") > 0 && jint(ex, "esp_udp") <= 0;
    put(o, raw_esp ? "ESP (IP protocol 50) from " : "UDP/4500 from ");
    text(o, src ? src : "an unknown address");
    put(o, " to ");
    text(o, dst ? dst : "an unknown address");
    if (sent > 0) {
        putf(o, ": %s ESP packets sent by ", num(sent, n1, sizeof n1));
        text(o, peer_or(in, xs));
        putf(o, " between %s and %s UTC, ", t1, t2);
    } else {
        put(o, ": no ESP packet sent by ");
        text(o, peer_or(in, xs));
        put(o, " during the capture, ");
    }
    putf(o, "%s received by ", num(jint(dir, "received"), n2, sizeof n2));
    text(o, peer_or(in, ys));
    putf(o, " (%s lost", num(jint(dir, "lost"), n3, sizeof n3));
    if (outside > 0) {
        putf(o, ", %s not received but sent outside the time span of ", num(outside, n4, sizeof n4));
        text(o, peer_or(in, ys));
        const char *how = jstr(json_object_get(ey, "span"), "how");
        put(o, how && !strcmp(how, "declared") ? "'s capture (as recorded when it started and stopped), so not counted lost"
                                               : "'s captured packets, so not counted lost");
    }
    putf(o, ", %s duplicated, %s reordered)", num(jint(dir, "duplicated"), n4, sizeof n4),
         num(jint(dir, "reordered"), n5, sizeof n5));
    const json_t *delay = json_object_get(dir, "delay_ns");
    if (jint(delay, "n") > 0)
        putf(o, "; one-way delay median %.1f ms, 99th percentile %.1f ms",
             (double)jint(delay, "median") / 1e6, (double)jint(delay, "p99") / 1e6);
    putf(o, "; NAT keepalives %s sent, %s received", num(jint(dir, "keepalives_sent"), n1, sizeof n1),
         num(jint(dir, "keepalives_received"), n2, sizeof n2));
    const json_t *ike = json_object_get(dir, "ike");
    if (ike)
        putf(o, "; IKE requests %s sent, %s received",
             num(jint(ike, "requests_sent"), n3, sizeof n3),
             num(jint(ike, "requests_received"), n4, sizeof n4));
    if (jint(dir, "fragments_sent") > 0)
        putf(o, "; outer fragments %s sent, %s received",
             num(jint(dir, "fragments_sent"), n3, sizeof n3),
             num(jint(dir, "fragments_received"), n4, sizeof n4));
    if (in->window_file[d][0] || in->window_file[d][1]) {
        put(o, ". The packets around the losses, at each end: ");
        for (int s = 0, k = 0; s < 2; s++)
            if (in->window_file[d][s]) {
                if (k++)
                    put(o, ", ");
                file_ref(o, in->window_file[d][s]);
            }
    }
    put(o, ". Proof: ");
    int any = 0;
    for (int s = 0; s < 2; s++)
        if (in->pcap_file[s]) {
            if (any++)
                put(o, ", ");
            file_ref(o, in->pcap_file[s]);
        }
    if (any)
        put(o, ", ");
    file_ref(o, "correlation.json");
    put(o, o->f == HTML ? ".</li>\n" : ".\n");
}

static void nat_changes(struct out *o, const struct bundle_report_in *in)
{
    const json_t *nat = json_object_get(in->correlation, "nat_changes");
    if (!json_array_size(nat))
        return;
    heading(o, 3, "NAT mapping changes");
    put(o, o->f == HTML ? "<ul>\n" : "");
    size_t i;
    const json_t *c;
    json_array_foreach(nat, i, c) {
        const char *end = jstr(c, "end");
        int side = end && !strcmp(end, "b");
        char t[16];
        hms((double)jint(c, "ts_ns") / 1e9, t, sizeof t);
        put(o, o->f == HTML ? "<li>" : "- ");
        putf(o, "%s UTC (", t);
        text(o, peer_or(in, side));
        put(o, "'s clock): ");
        text(o, peer_or(in, side));
        put(o, " saw its peer move from ");
        text(o, jstr(c, "old_addr"));
        putf(o, ":%lld to ", jint(c, "old_port"));
        text(o, jstr(c, "new_addr"));
        putf(o, ":%lld", jint(c, "new_port"));
        put(o, o->f == HTML ? "</li>\n" : "\n");
    }
    put(o, o->f == HTML ? "</ul>\n" : "\n");
}

/* ---- the timeline (HTML only) ---- */

struct key {
    uint32_t spi;
    uint32_t seq;
};

static int key_cmp(const void *a, const void *b)
{
    const struct key *x = a, *y = b;
    if (x->spi != y->spi)
        return x->spi < y->spi ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

struct tl_ev {
    int64_t ts;  /* A's clock */
    uint8_t kind;
    int sent;    /* 1: sent by this end, 0: received from the peer */
    struct key k;
};

struct tl_side {
    struct tl_ev *v;
    size_t n, cap;
    int64_t first, last; /* A's clock */
};

static int tl_load(const char *path, const struct capture_addr *local, int64_t shift,
                   struct tl_side *s, struct err *e)
{
    struct capture_file *f = capture_file_open(path, e);
    if (!f)
        return -1;
    struct capture_event ev;
    int r;
    while ((r = capture_file_next(f, &ev, e)) == 1) {
        if (ev.kind != CAPTURE_ESP && ev.kind != CAPTURE_IKE && ev.kind != CAPTURE_KEEPALIVE &&
            ev.kind != CAPTURE_FRAGMENT)
            continue;
        int sent = capture_addr_eq(&ev.src, local);
        if (!sent && !capture_addr_eq(&ev.dst, local))
            continue;
        if (s->n == s->cap) {
            size_t cap = s->cap ? s->cap * 2 : 1024;
            struct tl_ev *v = realloc(s->v, cap * sizeof *v);
            if (!v) {
                capture_file_free(f);
                return err_set(e, ERR_INTERNAL, "out of memory");
            }
            s->v = v;
            s->cap = cap;
        }
        struct tl_ev *t = &s->v[s->n++];
        t->ts = ev.ts_ns - shift;
        t->kind = ev.kind;
        t->sent = sent;
        t->k.spi = ev.spi;
        t->k.seq = ev.seq;
        if (s->n == 1 || t->ts < s->first)
            s->first = t->ts;
        if (t->ts > s->last)
            s->last = t->ts;
    }
    capture_file_free(f);
    return r < 0 ? -1 : 0;
}

#define TL_BUCKETS 60
#define TL_W 900
#define TL_H 220

struct tl_dir {
    long sent[TL_BUCKETS], recv[TL_BUCKETS], lost[TL_BUCKETS], ka_sent[TL_BUCKETS],
        ka_recv[TL_BUCKETS];
    long total_sent, total_recv, total_lost;
};

/* The span in which the correlation counted an end's missing packets as lost
 * (ends.X.span of correlation.json: declared or from its packets), in A's
 * clock; `have` 0 when it has none (nothing can be counted lost there). */
struct cspan {
    int have;
    int64_t lo, hi, grace;
};

static struct cspan corr_span(const json_t *corr, int side, int64_t offset)
{
    struct cspan c = {0};
    const json_t *sp = json_object_get(json_object_get(json_object_get(corr, "ends"), side ? "b" : "a"), "span");
    const json_t *lo = json_object_get(sp, "start_ns"), *hi = json_object_get(sp, "end_ns");
    const json_t *g = json_object_get(corr, "grace_ns");
    if (!json_is_integer(lo) || !json_is_integer(hi))
        return c;
    c.have = 1;
    c.lo = (int64_t)json_integer_value(lo) - (side ? offset : 0);
    c.hi = (int64_t)json_integer_value(hi) - (side ? offset : 0);
    c.grace = json_is_integer(g) ? (int64_t)json_integer_value(g) : 1000000000LL;
    return c;
}

/* Was a packet sent at t (A's clock) counted lost if the receiver y lacks it? */
static int counted(const struct cspan *ys, const struct tl_side *y, int64_t t)
{
    if (ys->have)
        return t >= ys->lo && t + ys->grace <= ys->hi;
    /* an older correlation.json without spans: y's packets */
    return y->n && t >= y->first && t + 1000000000LL <= y->last;
}

static void tl_count(const struct tl_side *x, const struct tl_side *y, const struct cspan *ys, int64_t t0,
                     int64_t span, struct tl_dir *d, int *oom)
{
    memset(d, 0, sizeof *d);
    /* what Y received, for matching X's ESP */
    struct key *got = malloc((y->n ? y->n : 1) * sizeof *got);
    size_t n_got = 0;
    if (!got) {
        *oom = 1;
        return;
    }
    for (size_t i = 0; i < y->n; i++) {
        const struct tl_ev *t = &y->v[i];
        if (t->sent)
            continue;
        int b = (int)((t->ts - t0) * TL_BUCKETS / span);
        b = b < 0 ? 0 : b >= TL_BUCKETS ? TL_BUCKETS - 1 : b;
        if (t->kind == CAPTURE_KEEPALIVE)
            d->ka_recv[b]++;
        d->recv[b]++;
        d->total_recv++;
        if (t->kind == CAPTURE_ESP)
            got[n_got++] = t->k;
    }
    qsort(got, n_got, sizeof *got, key_cmp);
    for (size_t i = 0; i < x->n; i++) {
        const struct tl_ev *t = &x->v[i];
        if (!t->sent)
            continue;
        int b = (int)((t->ts - t0) * TL_BUCKETS / span);
        b = b < 0 ? 0 : b >= TL_BUCKETS ? TL_BUCKETS - 1 : b;
        d->sent[b]++;
        d->total_sent++;
        if (t->kind == CAPTURE_KEEPALIVE)
            d->ka_sent[b]++;
        if (t->kind == CAPTURE_ESP && counted(ys, y, t->ts) && !bsearch(&t->k, got, n_got, sizeof *got, key_cmp)) {
            d->lost[b]++;
            d->total_lost++;
        }
    }
    free(got);
}

int bundle_report_loss_span(const char *const pcap[2], const json_t *correlation, int dir,
                            int64_t *first_ns, int64_t *last_ns, struct err *e)
{
    *first_ns = *last_ns = 0;
    const json_t *ends = json_object_get(correlation, "ends");
    const char *la = jstr(json_object_get(ends, "a"), "local");
    const char *lb = jstr(json_object_get(ends, "b"), "local");
    struct capture_addr a, b;
    if (!pcap[0] || !pcap[1] || !la || !lb || capture_addr_parse(la, &a) || capture_addr_parse(lb, &b))
        return 0;
    const json_t *off = json_object_get(json_object_get(correlation, "clock"), "offset_ns");
    int64_t offset = json_is_integer(off) ? (int64_t)json_integer_value(off) : 0;
    struct tl_side sa = {0}, sb = {0};
    int r = 0;
    if (tl_load(pcap[0], &a, 0, &sa, e) || tl_load(pcap[1], &b, offset, &sb, e)) {
        r = -1;
    } else {
        const struct tl_side *x = dir ? &sb : &sa, *y = dir ? &sa : &sb;
        struct cspan ys = corr_span(correlation, !dir, offset);
        struct key *got = malloc((y->n ? y->n : 1) * sizeof *got);
        size_t n_got = 0;
        if (!got) {
            r = err_set(e, ERR_INTERNAL, "out of memory");
        } else {
            for (size_t i = 0; i < y->n; i++)
                if (!y->v[i].sent && y->v[i].kind == CAPTURE_ESP)
                    got[n_got++] = y->v[i].k;
            qsort(got, n_got, sizeof *got, key_cmp);
            for (size_t i = 0; i < x->n; i++) {
                const struct tl_ev *t = &x->v[i];
                if (!t->sent || t->kind != CAPTURE_ESP || !counted(&ys, y, t->ts) ||
                    bsearch(&t->k, got, n_got, sizeof *got, key_cmp))
                    continue;
                if (!*first_ns || t->ts < *first_ns)
                    *first_ns = t->ts;
                if (t->ts > *last_ns)
                    *last_ns = t->ts;
            }
            free(got);
        }
    }
    free(sa.v);
    free(sb.v);
    return r;
}

static void svg_direction(struct out *o, const struct bundle_report_in *in, int xs,
                          const struct tl_side *sx, const struct tl_side *sy, int64_t t0,
                          int64_t span, int64_t offset)
{
    struct tl_dir d;
    struct cspan ys = corr_span(in->correlation, !xs, offset);
    tl_count(sx, sy, &ys, t0, span, &d, &o->oom);
    long max = 1;
    for (int b = 0; b < TL_BUCKETS; b++) {
        if (d.sent[b] > max)
            max = d.sent[b];
        if (d.recv[b] > max)
            max = d.recv[b];
    }
    const int left = 60, top = 24, plot_w = TL_W - left - 20, half = 70;
    const int mid = top + half + 10;
    const double bw = (double)plot_w / TL_BUCKETS;
    put(o, "<figure>\n");
    putf(o, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"",
         TL_W, TL_H, TL_W, TL_H);
    text(o, peer_or(in, xs));
    put(o, " to ");
    text(o, peer_or(in, !xs));
    put(o, " timeline\" font-family=\"sans-serif\" font-size=\"11\">\n");
    putf(o, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n", TL_W, TL_H);
    putf(o, "<text x=\"%d\" y=\"%d\">sent by ", left, top - 8);
    text(o, peer_or(in, xs));
    putf(o, " (up, blue) / received by ");
    text(o, peer_or(in, !xs));
    putf(o, " (down, green); lost in red; keepalives &#9670;; NAT changes dashed</text>\n");
    putf(o, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#444\"/>\n", left, mid,
         left + plot_w, mid);
    putf(o, "<text x=\"4\" y=\"%d\">%ld/bin</text>\n", top + 10, max);
    for (int b = 0; b < TL_BUCKETS; b++) {
        double x = left + b * bw;
        double hs = (double)d.sent[b] * half / (double)max;
        double hr = (double)d.recv[b] * half / (double)max;
        double hl = (double)d.lost[b] * half / (double)max;
        if (d.sent[b])
            putf(o, "<rect class=\"sent\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                    "fill=\"#3b6fd8\"><title>%ld sent</title></rect>\n",
                 x + 1, mid - hs, bw - 2, hs, d.sent[b]);
        if (d.lost[b])
            putf(o, "<rect class=\"lost\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                    "fill=\"#d62828\"><title>%ld ESP lost</title></rect>\n",
                 x + 1, mid - hl, bw - 2, hl, d.lost[b]);
        if (d.recv[b])
            putf(o, "<rect class=\"received\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%.1f\" "
                    "fill=\"#2a9d4f\"><title>%ld received</title></rect>\n",
                 x + 1, mid, bw - 2, hr, d.recv[b]);
        if (d.ka_sent[b])
            putf(o, "<text class=\"keepalive\" x=\"%.1f\" y=\"%d\" fill=\"#555\">&#9670;"
                    "<title>%ld keepalives sent</title></text>\n",
                 x + bw / 2 - 4, top + 4, d.ka_sent[b]);
        if (d.ka_recv[b])
            putf(o, "<text class=\"keepalive\" x=\"%.1f\" y=\"%d\" fill=\"#555\">&#9670;"
                    "<title>%ld keepalives received</title></text>\n",
                 x + bw / 2 - 4, mid + half + 14, d.ka_recv[b]);
    }
    /* NAT mapping changes seen by the receiver (its clock -> A's clock) */
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get(in->correlation, "nat_changes"), i, c) {
        const char *end = jstr(c, "end");
        int side = end && !strcmp(end, "b");
        if (side != !xs)
            continue;
        int64_t ts = (int64_t)jint(c, "ts_ns") - (side ? offset : 0);
        double x = left + (double)(ts - t0) * plot_w / (double)span;
        if (x < left || x > left + plot_w)
            continue;
        putf(o, "<line class=\"nat\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#e07b00\" "
                "stroke-dasharray=\"4 3\"><title>NAT mapping change: ",
             x, top, x, mid + half);
        text(o, jstr(c, "old_addr"));
        putf(o, ":%lld to ", jint(c, "old_port"));
        text(o, jstr(c, "new_addr"));
        putf(o, ":%lld</title></line>\n", jint(c, "new_port"));
    }
    char a[16], b[16];
    hms((double)t0 / 1e9, a, sizeof a);
    hms((double)(t0 + span) / 1e9, b, sizeof b);
    putf(o, "<text x=\"%d\" y=\"%d\">%s UTC</text>\n", left, TL_H - 4, a);
    putf(o, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s UTC</text>\n", left + plot_w,
         TL_H - 4, b);
    put(o, "</svg>\n<figcaption>");
    text(o, peer_or(in, xs));
    put(o, " &rarr; ");
    text(o, peer_or(in, !xs));
    char n1[32], n2[32], n3[32];
    bundle_report_thousands((unsigned long long)d.total_sent, n1, sizeof n1);
    bundle_report_thousands((unsigned long long)d.total_recv, n2, sizeof n2);
    bundle_report_thousands((unsigned long long)d.total_lost, n3, sizeof n3);
    putf(o, ": %s packets sent, %s received, %s ESP lost (pictured from ", n1, n2, n3);
    file_ref(o, in->pcap_file[xs]);
    put(o, " and ");
    file_ref(o, in->pcap_file[!xs]);
    put(o, ")</figcaption>\n</figure>\n");
}

static void timelines(struct out *o, const struct bundle_report_in *in, struct err *e)
{
    const json_t *ends = json_object_get(in->correlation, "ends");
    const char *la = jstr(json_object_get(ends, "a"), "local");
    const char *lb = jstr(json_object_get(ends, "b"), "local");
    struct capture_addr a, b;
    if (!in->pcap_path[0] || !in->pcap_path[1] || !la || !lb || capture_addr_parse(la, &a) ||
        capture_addr_parse(lb, &b)) {
        put(o, "<p>No timeline: it needs both ends' captures and their local addresses from the "
               "correlation.</p>\n");
        return;
    }
    int64_t offset = jint(json_object_get(in->correlation, "clock"), "offset_ns");
    if (offset == -1 && !json_is_integer(json_object_get(json_object_get(in->correlation, "clock"),
                                                          "offset_ns")))
        offset = 0;
    struct tl_side sa = {0}, sb = {0};
    struct err le = {0};
    if (tl_load(in->pcap_path[0], &a, 0, &sa, &le) ||
        tl_load(in->pcap_path[1], &b, offset, &sb, &le)) {
        put(o, "<p>No timeline: ");
        text(o, le.msg);
        put(o, "</p>\n");
    } else if (!sa.n && !sb.n) {
        put(o, "<p>No timeline: neither capture holds an IKE/ESP packet of its end.</p>\n");
    } else {
        /* from the first to the last packet or capture span edge of either end
         * (an end that received nothing still has the span it captured) */
        int64_t t0 = INT64_MAX, t1 = INT64_MIN;
        const struct tl_side *sides[2] = {&sa, &sb};
        for (int k = 0; k < 2; k++) {
            struct cspan c = corr_span(in->correlation, k, offset);
            if (sides[k]->n) {
                t0 = sides[k]->first < t0 ? sides[k]->first : t0;
                t1 = sides[k]->last > t1 ? sides[k]->last : t1;
            }
            if (c.have) {
                t0 = c.lo < t0 ? c.lo : t0;
                t1 = c.hi > t1 ? c.hi : t1;
            }
        }
        int64_t span = t1 - t0 > 0 ? t1 - t0 + 1 : 1000000000LL;
        svg_direction(o, in, 0, &sa, &sb, t0, span, offset);
        svg_direction(o, in, 1, &sb, &sa, t0, span, offset);
    }
    free(sa.v);
    free(sb.v);
    (void)e;
}

/* ---- the report ---- */

static void findings_detail(struct out *o, const struct bundle_report_in *in, const struct finding *f)
{
    char h[64];
    snprintf(h, sizeof h, "[%s] ", severity_name(f->sev));
    if (o->f == HTML) {
        putf(o, "<div class=\"finding %s\"><h4>", severity_name(f->sev));
        text(o, h);
        text(o, f->title);
        put(o, " <small><code>");
        text(o, f->id);
        put(o, "</code></small></h4>\n");
    } else {
        put(o, "#### ");
        text(o, h);
        text(o, f->title);
        put(o, " (`");
        put(o, f->id); /* ids are [a-z0-9._] */
        put(o, "`)\n\n");
    }
    if (f->decision) {
        para_open(o);
        strong(o, "Decision:");
        put(o, " ");
        text(o, f->decision);
        para_close(o);
    }
    if (f->n_ev) {
        put(o, o->f == HTML ? "<ul>\n" : "");
        for (size_t j = 0; j < f->n_ev; j++) {
            const struct evidence *ev = &f->ev[j];
            put(o, o->f == HTML ? "<li>" : "- ");
            if (ev->peer) {
                text(o, ev->peer);
                put(o, ": ");
            }
            if (ev->source) {
                put(o, o->f == HTML ? "<code>" : "");
                if (o->f == HTML)
                    text(o, ev->source);
                else {
                    put(o, "`");
                    for (const char *p = ev->source; *p; p++) {
                        char c[2] = {*p == '`' ? '\'' : (*p == '\n' ? ' ' : *p), 0};
                        put(o, c);
                    }
                    put(o, "`");
                }
                put(o, o->f == HTML ? "</code>" : "");
            }
            put(o, " (proved by ");
            proof_files(o, in, ev);
            put(o, ")");
            if (ev->detail && strchr(ev->detail, '\n')) {
                put(o, o->f == HTML ? "\n" : "");
                block(o, ev->detail);
            } else if (ev->detail) {
                put(o, ": ");
                text(o, ev->detail);
            }
            put(o, o->f == HTML ? "</li>\n" : "\n");
        }
        put(o, o->f == HTML ? "</ul>\n" : "\n");
    }
    if (o->f == HTML)
        put(o, "</div>\n");
}

static void body(struct out *o, const struct bundle_report_in *in, struct err *e)
{
    const struct findings *fs = in->findings;
    char t1[16], t2[16], day[32], title[256];
    hms(in->span_start, t1, sizeof t1);
    hms(in->span_end, t2, sizeof t2);
    ymd(in->span_start, day, sizeof day);
    snprintf(title, sizeof title, "IPsec tunnel evidence: %s and %s", peer_or(in, 0), peer_or(in, 1));
    if (o->f == HTML) {
        put(o, "<h1>");
        text(o, title);
        put(o, "</h1>\n");
    } else {
        put(o, "# ");
        text(o, title);
        put(o, "\n\n");
    }
    para_open(o);
    putf(o, "Collected by tunnelscope %s on %s between %s and %s UTC ", in->version ? in->version : "",
         day, t1, t2);
    if (in->collected[0] && in->collected[1]) {
        put(o, "on both gateways, ");
        text(o, peer_or(in, 0));
        put(o, " and ");
        text(o, peer_or(in, 1));
        put(o, ", at the same time.");
    } else {
        int s = in->collected[1] && !in->collected[0];
        put(o, "on one gateway only, ");
        text(o, peer_or(in, s));
        put(o, ": the other end's view is missing from this bundle, so what it received is not known here.");
    }
    put(o, " Every claim below names the file of this bundle that proves it; ");
    file_ref(o, "manifest.json");
    put(o, o->f == HTML ? " lists every file with its SHA-256 (check with <code>tunnelscope verify</code>)."
                        : " lists every file with its SHA-256 (check with `tunnelscope verify`).");
    para_close(o);
    if (in->note) {
        para_open(o);
        strong(o, "Note:");
        put(o, " ");
        text(o, in->note);
        para_close(o);
    }

    heading(o, 2, "Conclusion");
    const struct finding *p = findings_principal(fs);
    para_open(o);
    if (p) {
        strong(o, "Principal finding");
        putf(o, " (step %d, %s, %s): ", p->step, step_title(p->step), severity_name(p->sev));
        text(o, p->title);
        para_close(o);
        para_open(o);
        strong(o, "Decision:");
        put(o, " ");
        text(o, p->decision ? p->decision : "none recorded");
        para_close(o);
        para_open(o);
        put(o, "Proved by ");
        struct buf seen = BUF_INIT;
        for (size_t j = 0; j < p->n_ev; j++) {
            struct buf one = BUF_INIT;
            struct out t = {o->f, &one, 0};
            proof_files(&t, in, &p->ev[j]);
            if (t.oom)
                o->oom = 1;
            if (one.data && (!seen.data || !strstr(seen.data, one.data))) {
                if (seen.len)
                    put(o, ", ");
                put(o, one.data);
                if (buf_puts(&seen, one.data) || buf_puts(&seen, "\n"))
                    o->oom = 1;
            }
            buf_free(&one);
        }
        buf_free(&seen);
        if (!p->n_ev)
            file_ref(o, "findings.json");
        put(o, ".");
    } else {
        put(o, "No failure and no warning: the five steps found nothing wrong with the tunnel "
               "during this window.");
    }
    para_close(o);

    heading(o, 2, "What was observed, per direction");
    if (in->correlation && json_array_size(json_object_get(in->correlation, "directions")) == 2) {
        put(o, o->f == HTML ? "<ul>\n" : "");
        direction_sentence(o, in, 0);
        direction_sentence(o, in, 1);
        put(o, o->f == HTML ? "</ul>\n" : "\n");
        nat_changes(o, in);
        if (o->f == HTML) {
            heading(o, 3, "Timeline");
            timelines(o, in, e);
        }
    } else {
        para_open(o);
        put(o, "The two ends' captures were not correlated in this bundle (");
        put(o, in->collected[0] && in->collected[1] ? "no capture was taken on both ends"
                                                   : "only one end was collected");
        put(o, "), so no per-direction packet counts are claimed.");
        for (int s = 0; s < 2; s++)
            if (in->pcap_file[s]) {
                put(o, " The capture of ");
                text(o, peer_or(in, s));
                put(o, " is ");
                file_ref(o, in->pcap_file[s]);
                put(o, ".");
            }
        para_close(o);
    }

    heading(o, 2, "The five steps");
    if (o->f == HTML)
        put(o, "<table>\n<tr><th>Step</th><th>Result</th><th>Findings</th></tr>\n");
    else
        put(o, "| Step | Result | Findings |\n| --- | --- | --- |\n");
    for (int k = STEP_FIRST; k <= STEP_LAST; k++) {
        int n = 0;
        for (size_t i = 0; i < fs->n; i++)
            n += fs->v[i].step == k;
        const char *st = n ? step_status_name(findings_step_status(fs, k)) : "not run";
        if (o->f == HTML) {
            putf(o, "<tr class=\"%s\"><td>%d. ", n ? st : "notrun", k);
            text(o, step_title(k));
            putf(o, "</td><td>%s</td><td>", st);
        } else {
            putf(o, "| %d. %s | %s | ", k, step_title(k), st);
        }
        int first = 1;
        for (size_t i = 0; i < fs->n; i++) {
            if (fs->v[i].step != k)
                continue;
            if (!first)
                put(o, o->f == HTML ? "<br>" : "; ");
            first = 0;
            putf(o, "%s: ", severity_name(fs->v[i].sev));
            text(o, fs->v[i].title);
        }
        put(o, o->f == HTML ? "</td></tr>\n" : " |\n");
    }
    put(o, o->f == HTML ? "</table>\n" : "\n");

    heading(o, 2, "Findings and their evidence");
    for (int k = STEP_FIRST; k <= STEP_LAST; k++) {
        int any = 0;
        for (size_t i = 0; i < fs->n; i++)
            any |= fs->v[i].step == k;
        if (!any)
            continue;
        char h[96];
        snprintf(h, sizeof h, "Step %d: %s", k, step_title(k));
        heading(o, 3, h);
        for (size_t i = 0; i < fs->n; i++)
            if (fs->v[i].step == k)
                findings_detail(o, in, &fs->v[i]);
    }

    heading(o, 2, "Files in this bundle");
    put(o, o->f == HTML ? "<ul>\n" : "");
    static const char *const fixed[][2] = {
        {"manifest.json", "every file with its SHA-256 and size, the peers, the time span"},
        {"findings.json", "the findings of the five steps, as the tool computed them"},
        {"raw/index.json", "for each command output: peer, exact command, start and end time, exit status"},
    };
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        put(o, o->f == HTML ? "<li>" : "- ");
        file_ref(o, fixed[i][0]);
        putf(o, ": %s%s", fixed[i][1], o->f == HTML ? "</li>\n" : "\n");
    }
    if (in->correlation) {
        put(o, o->f == HTML ? "<li>" : "- ");
        file_ref(o, "correlation.json");
        put(o, ": the two captures matched packet by packet (ESP SPI and sequence number)");
        put(o, o->f == HTML ? "</li>\n" : "\n");
    }
    for (int s = 0; s < 2; s++)
        if (in->pcap_file[s]) {
            put(o, o->f == HTML ? "<li>" : "- ");
            file_ref(o, in->pcap_file[s]);
            put(o, ": IKE and ESP headers captured on ");
            text(o, peer_or(in, s));
            put(o, " (pcap, opens in Wireshark; no inner traffic)");
            put(o, o->f == HTML ? "</li>\n" : "\n");
        }
    for (int d = 0; d < 2; d++)
        for (int s = 0; s < 2; s++)
            if (in->window_file[d][s]) {
                put(o, o->f == HTML ? "<li>" : "- ");
                file_ref(o, in->window_file[d][s]);
                put(o, ": the packets captured on ");
                text(o, peer_or(in, s));
                put(o, " from 2 s before the first to 2 s after the last packet lost ");
                text(o, peer_or(in, d));
                put(o, o->f == HTML ? " &rarr; " : " -> ");
                text(o, peer_or(in, !d));
                put(o, o->f == HTML ? "</li>\n" : "\n");
            }
    for (size_t i = 0; i < in->n_raws; i++) {
        const struct bundle_raw *r = &in->raws[i];
        char a[16], b[16];
        hms(r->started, a, sizeof a);
        hms(r->ended, b, sizeof b);
        put(o, o->f == HTML ? "<li>" : "- ");
        if (in->raw_file && in->raw_file[i])
            file_ref(o, in->raw_file[i]);
        put(o, ": ");
        text(o, peer_or(in, r->side));
        put(o, o->f == HTML ? ", <code>" : ", `");
        if (o->f == HTML)
            text(o, r->command ? r->command : r->what);
        else
            for (const char *q = r->command ? r->command : r->what ? r->what : ""; *q; q++) {
                char c[2] = {*q == '`' ? '\'' : (*q == '\n' ? ' ' : *q), 0};
                put(o, c);
            }
        put(o, o->f == HTML ? "</code>" : "`");
        putf(o, ", %s to %s UTC, ", a, b);
        if (r->exit_status >= 0)
            putf(o, "exit status %d", r->exit_status);
        else {
            put(o, "did not finish: ");
            text(o, r->error ? r->error : "no exit status");
        }
        put(o, o->f == HTML ? "</li>\n" : "\n");
    }
    put(o, o->f == HTML ? "</ul>\n" : "\n");
    para_open(o);
    put(o, "No pre-shared key, private key or ESP/IKE key is in this bundle: commands were run "
           "so as not to print keys, and every file was scanned and redacted before it was "
           "written.");
    para_close(o);
}

int bundle_report_markdown(const struct bundle_report_in *in, struct buf *out, struct err *e)
{
    struct out o = {MD, out, 0};
    body(&o, in, e);
    return o.oom ? err_set(e, ERR_INTERNAL, "out of memory") : 0;
}

static const char css[] =
    "body{font-family:sans-serif;max-width:960px;margin:1em auto;padding:0 1em;color:#222}"
    "table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:3px 6px;text-align:left;"
    "vertical-align:top}tr.failure td:nth-child(2){color:#b00;font-weight:bold}"
    "tr.warning td:nth-child(2){color:#a60}tr.ok td:nth-child(2){color:#070}"
    ".finding{border-left:4px solid #999;padding-left:8px;margin:8px 0}"
    ".finding.failure{border-color:#d62828}.finding.warning{border-color:#e07b00}"
    ".finding.ok{border-color:#2a9d4f}pre{background:#f4f4f4;padding:6px;overflow-x:auto}"
    "figure{margin:1em 0}figcaption{font-size:90%;color:#444}";

int bundle_report_html(const struct bundle_report_in *in, struct buf *out, struct err *e)
{
    struct out o = {HTML, out, 0};
    put(&o, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
            "style-src 'unsafe-inline'; img-src data:\">\n<title>IPsec tunnel evidence: ");
    text(&o, peer_or(in, 0));
    put(&o, " and ");
    text(&o, peer_or(in, 1));
    put(&o, "</title>\n<style>");
    put(&o, css);
    put(&o, "</style>\n</head>\n<body>\n");
    body(&o, in, e);
    put(&o, "</body>\n</html>\n");
    return o.oom ? err_set(e, ERR_INTERNAL, "out of memory") : 0;
}
