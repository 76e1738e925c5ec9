/* bench_console A.pcap B.pcap [SECONDS]: the console's own cost under a busy
 * capture.  Both pcaps (from bench_gen_pairs) are streamed in as the remote
 * tcpdumps would stream them, paced by their timestamps (so at the rate they
 * were generated at, e.g. 20,000 packets/s per end), through the same code as
 * the console: capture_stream_feed -> timeline_add -> timeline_settle ->
 * view_build -> draw_view -> doupdate on a real curses screen (200x50, output
 * to /dev/null), data redraws capped at 10 a second, a key drawn at once.
 * Every 200 ms a key is injected (filters, scrolling, panes, steps) and the
 * time from the key to the end of the doupdate() showing it is measured.
 * Prints the packets/s achieved per end, key-to-screen latency (median, p95,
 * max) and the process CPU time as a percentage of one core.  No network:
 * the SSH transport's cost is not in these figures. */
#include <curses.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "probes/capture.h"
#include "tui/draw.h"
#include "tui/model.h"
#include "tui/timeline.h"
#include "tui/ui.h"
#include "tui/view.h"

struct src {
    unsigned char *data;
    size_t len, off;     /* off: bytes already fed */
    int nsec;
    int64_t t0;          /* first record's time */
    struct capture_stream *cs;
    struct timeline *tl;
    int side;
    uint64_t records;
};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec / 1e6;
}

static int on_ev(void *ctx, const struct capture_record *rec, const struct capture_event *ev, struct err *e)
{
    struct src *s = ctx;
    s->records++;
    return timeline_add(s->tl, s->side, ev) == 0 ? 0 : err_set(e, ERR_INTERNAL, "out of memory");
}

static int load(const char *path, struct src *s)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    s->data = malloc((size_t)n);
    if (!s->data || fread(s->data, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        return -1;
    }
    fclose(f);
    s->len = (size_t)n;
    if (s->len < 24)
        return -1;
    uint32_t magic;
    memcpy(&magic, s->data, 4);
    if (magic != 0xa1b2c3d4u && magic != 0xa1b23c4du)
        return -1; /* generator output: native-endian classic pcap */
    s->nsec = magic == 0xa1b23c4du;
    s->off = 0;
    return 0;
}

static int64_t rec_ts(const struct src *s, size_t off)
{
    uint32_t sec, frac;
    memcpy(&sec, s->data + off, 4);
    memcpy(&frac, s->data + off + 4, 4);
    return (int64_t)sec * 1000000000LL + (int64_t)frac * (s->nsec ? 1 : 1000);
}

/* Feeds every record due by `elapsed` (ns since the start of the replay). */
static void feed(struct src *s, int64_t elapsed)
{
    size_t start = s->off, end = s->off;
    if (end == 0)
        end = 24; /* the file header goes with the first record */
    while (end + 16 <= s->len) {
        int64_t t = rec_ts(s, end);
        if (!s->t0)
            s->t0 = t;
        if (t - s->t0 > elapsed)
            break;
        uint32_t caplen;
        memcpy(&caplen, s->data + end + 8, 4);
        if (end + 16 + caplen > s->len)
            break;
        end += 16 + caplen;
    }
    if (end > start && (start > 0 || end > 24)) {
        struct err e = {0};
        if (capture_stream_feed(s->cs, s->data + start, end - start, &e) != 0) {
            fprintf(stderr, "bench_console: %s\n", e.msg);
            exit(1);
        }
        s->off = end;
    }
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_console A.pcap B.pcap [SECONDS]\n");
        return 64;
    }
    double seconds = argc > 3 ? atof(argv[3]) : 15.0;
    struct timeline *tl = timeline_new(0);
    struct src s[2] = {{0}};
    for (int i = 0; i < 2; i++) {
        if (load(argv[1 + i], &s[i]) != 0) {
            fprintf(stderr, "bench_console: cannot read %s (classic pcap expected)\n", argv[1 + i]);
            return 1;
        }
        s[i].side = i;
        s[i].tl = tl;
        s[i].cs = capture_stream_new(on_ev, &s[i]);
    }
    FILE *out = fopen("/dev/null", "w");
    setenv("LINES", "50", 1);
    setenv("COLUMNS", "200", 1);
    SCREEN *scr = newterm("xterm-256color", out, stdin);
    if (!scr)
        return 1;
    set_term(scr);
    draw_init();

    struct model m;
    memset(&m, 0, sizeof m);
    m.conn = "bench";
    m.transport = MT_UDP4500;
    m.capture = MC_RUNNING;
    for (int i = 0; i < 2; i++) {
        m.end[i].name = i ? "gw-b" : "gw-a";
        m.end[i].link = ML_READY;
        m.end[i].daemon = "strongswan";
        m.end[i].ike_state = "ESTABLISHED";
        m.end[i].child_state = "INSTALLED";
    }
    m.tl = tl;
    struct ui_state ui;
    ui_init(&ui, 0);
    static const int keyseq[] = {'l', 'l', 'd', 'd', 'd', UK_PPAGE, UK_END, UK_TAB, '3', 'k', 'k', 'k', 'k', 'k', 'x', '2'};
    size_t nkeys_max = (size_t)(seconds * 5) + 8, nkeys = 0, ki = 0;
    int64_t *lat = calloc(nkeys_max, sizeof *lat);

    int64_t t0 = now_ns(), last_draw = 0, key_at = 0, next_key = t0 + 200000000LL;
    int key_pending = 0, dirty = 1;
    uint64_t frames = 0;
    double cpu0 = cpu_s();
    while (now_ns() - t0 < (int64_t)(seconds * 1e9)) {
        int64_t now = now_ns();
        for (int i = 0; i < 2; i++) {
            uint64_t before = s[i].records;
            feed(&s[i], now - t0);
            if (s[i].records != before)
                dirty = 1;
        }
        /* the capture clock is the generated one: settle on it */
        int64_t cap_now = s[0].t0 + (now - t0);
        for (int i = 0; i < 2; i++)
            if (!timeline_start(tl) && s[i].t0)
                timeline_set_span(tl, i, s[i].t0, 0);
        timeline_set_span(tl, 0, s[0].t0, 0);
        timeline_set_span(tl, 1, s[1].t0 ? s[1].t0 : s[0].t0, 0);
        if (timeline_settle(tl, cap_now, 500000000LL))
            dirty = 1;
        if (now >= next_key && nkeys < nkeys_max) {
            int k = keyseq[ki++ % (sizeof keyseq / sizeof keyseq[0])];
            key_at = now;
            tui_handle_key(&ui, &m, k);
            key_pending = 1;
            next_key = now + 200000000LL;
        }
        if (key_pending || (dirty && now - last_draw >= 100000000LL)) {
            m.now_ns = cap_now;
            m.elapsed_s = (double)(now - t0) / 1e9;
            m.capture_s = m.elapsed_s;
            struct view v = view_build(&m, &ui, 50, 200);
            if (v.page > 0)
                ui.page = v.page;
            draw_view(stdscr, &v);
            view_free(&v);
            wnoutrefresh(stdscr);
            doupdate();
            frames++;
            last_draw = now_ns();
            dirty = 0;
            if (key_pending) {
                lat[nkeys++] = last_draw - key_at;
                key_pending = 0;
            }
        }
        poll(NULL, 0, 5); /* the console's loop sleeps in poll() between events */
    }
    double wall = (double)(now_ns() - t0) / 1e9;
    double cpu = cpu_s() - cpu0;
    endwin();
    delscreen(scr);
    fclose(out);
    qsort(lat, nkeys, sizeof *lat, cmp_i64);
    printf("bench_console: %.1f s replayed, 200x50 screen, %llu frames (%.1f/s)\n", wall,
           (unsigned long long)frames, (double)frames / wall);
    for (int i = 0; i < 2; i++)
        printf("  end %c: %llu packets streamed in, %.0f packets/s\n", i ? 'B' : 'A',
               (unsigned long long)s[i].records, (double)s[i].records / wall);
    printf("  timeline: %llu rows; A->B sent %llu lost %llu; B->A sent %llu lost %llu\n",
           (unsigned long long)(timeline_end(tl) - timeline_first(tl)),
           (unsigned long long)timeline_totals(tl, TL_AB)->sent, (unsigned long long)timeline_totals(tl, TL_AB)->lost,
           (unsigned long long)timeline_totals(tl, TL_BA)->sent, (unsigned long long)timeline_totals(tl, TL_BA)->lost);
    if (nkeys)
        printf("  key-to-screen latency: median %.1f ms, p95 %.1f ms, max %.1f ms over %zu keys (target < 100 ms)\n",
               (double)lat[nkeys / 2] / 1e6, (double)lat[nkeys * 95 / 100] / 1e6, (double)lat[nkeys - 1] / 1e6,
               nkeys);
    printf("  CPU: %.2f s over %.1f s = %.1f %% of one core (target < 25 %%)\n", cpu, wall, 100.0 * cpu / wall);
    for (int i = 0; i < 2; i++) {
        capture_stream_free(s[i].cs);
        free(s[i].data);
    }
    free(lat);
    timeline_free(tl);
    return 0;
}
