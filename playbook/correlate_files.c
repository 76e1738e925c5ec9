/* Offline correlation of two capture files: the first events of each are read
 * ahead to learn the local addresses and the clock offset (correlate_learn),
 * then both files are read in step, always taking the earlier packet (B's
 * time with the offset removed), so that the two copies of a packet reach the
 * engine close together and its window stays small. */
#include "playbook/correlate.h"

#include <stdlib.h>

#define PREFIX 8192
#define SCAN_MAX (64u << 20) /* events read past the prefix looking for a first match */
#define PAIRS 256

static uint64_t mix64(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    return k;
}

/* No ESP packet of the two prefixes matched: the captures started far apart (or the
 * clocks are).  Look for the packets of one prefix further into the other file, both
 * ways round, and collect matched pairs for correlate_learn().  Returns the pairs found. */
static size_t find_pairs(const char *const paths[2], struct capture_event *const pre[2],
                         const size_t npre[2], struct capture_event *pa, struct capture_event *pb,
                         struct err *e)
{
    size_t found = 0;
    for (int s = 0; s < 2 && !found; s++) {
        size_t cap = 16;
        while (cap < npre[s] * 2)
            cap *= 2;
        uint32_t *tab = calloc(cap, sizeof *tab);
        if (!tab)
            return 0;
        for (size_t i = 0; i < npre[s]; i++) {
            if (pre[s][i].kind != CAPTURE_ESP)
                continue;
            size_t h = mix64((uint64_t)pre[s][i].spi << 32 | pre[s][i].seq) & (cap - 1);
            while (tab[h])
                h = (h + 1) & (cap - 1);
            tab[h] = (uint32_t)i + 1;
        }
        struct capture_file *f = capture_file_open(paths[!s], e);
        struct capture_event ev;
        for (uint32_t n = 0; f && n < SCAN_MAX && found < PAIRS; n++) {
            if (capture_file_next(f, &ev, e) != 1)
                break;
            if (ev.kind != CAPTURE_ESP)
                continue;
            size_t h = mix64((uint64_t)ev.spi << 32 | ev.seq) & (cap - 1);
            for (; tab[h]; h = (h + 1) & (cap - 1)) {
                const struct capture_event *x = &pre[s][tab[h] - 1];
                if (x->spi == ev.spi && x->seq == ev.seq) {
                    pa[found] = s == 0 ? *x : ev;
                    pb[found] = s == 0 ? ev : *x;
                    found++;
                    break;
                }
            }
        }
        capture_file_free(f);
        free(tab);
    }
    return found;
}

struct source {
    struct capture_file *f;
    struct capture_event *pre;
    size_t npre, ipre;
    struct capture_event cur;
    int have, eof;
};

static int source_next(struct source *s, struct err *e)
{
    if (s->ipre < s->npre) {
        s->cur = s->pre[s->ipre++];
        s->have = 1;
        return 0;
    }
    if (s->pre) {
        free(s->pre);
        s->pre = NULL;
    }
    int r = capture_file_next(s->f, &s->cur, e);
    if (r < 0)
        return -1;
    s->have = r == 1;
    s->eof = r == 0;
    return 0;
}

int correlate_files(const char *path_a, const char *path_b, const struct correlate_opts *o,
                    struct correlate_result **out, struct err *e)
{
    struct source src[2] = {{0}, {0}};
    const char *paths[2] = {path_a, path_b};
    struct correlate *c = NULL;
    struct correlate_opts opts = {0};
    int rc = -1;
    *out = NULL;
    if (o)
        opts = *o;
    for (int s = 0; s < 2; s++) {
        src[s].f = capture_file_open(paths[s], e);
        if (!src[s].f)
            goto done;
        src[s].pre = malloc(sizeof *src[s].pre * PREFIX);
        if (!src[s].pre) {
            err_set(e, ERR_INTERNAL, "out of memory");
            goto done;
        }
        while (src[s].npre < PREFIX) {
            int r = capture_file_next(src[s].f, &src[s].pre[src[s].npre], e);
            if (r < 0) {
                err_wrap(e, "%s", paths[s]);
                goto done;
            }
            if (r == 0)
                break;
            src[s].npre++;
        }
    }
    correlate_learn(src[0].pre, src[0].npre, src[1].pre, src[1].npre, &opts);
    if (opts.offset_how == CORRELATE_HOW_NONE) {
        struct capture_event *pa = malloc(sizeof *pa * PAIRS), *pb = malloc(sizeof *pb * PAIRS);
        struct capture_event *pre[2] = {src[0].pre, src[1].pre};
        size_t npre[2] = {src[0].npre, src[1].npre};
        size_t n = pa && pb ? find_pairs(paths, pre, npre, pa, pb, e) : 0;
        if (n) {
            struct correlate_opts again = o ? *o : (struct correlate_opts){0};
            correlate_learn(pa, n, pb, n, &again);
            for (int s = 0; s < 2; s++)
                if (again.local_how[s] == CORRELATE_HOW_NONE) {
                    again.local[s] = opts.local[s];
                    again.local_how[s] = opts.local_how[s];
                }
            opts = again;
        }
        free(pa);
        free(pb);
    }
    c = correlate_new(&opts, e);
    if (!c)
        goto done;
    for (int s = 0; s < 2; s++)
        if (source_next(&src[s], e) != 0) {
            err_wrap(e, "%s", paths[s]);
            goto done;
        }
    int64_t off = opts.offset_ns;
    for (;;) {
        int s;
        if (src[0].have && src[1].have)
            s = src[0].cur.ts_ns <= src[1].cur.ts_ns - off ? 0 : 1;
        else if (src[0].have)
            s = 0;
        else if (src[1].have)
            s = 1;
        else
            break;
        if (correlate_add(c, s, &src[s].cur, e) != 0)
            goto done;
        if (source_next(&src[s], e) != 0) {
            err_wrap(e, "%s", paths[s]);
            goto done;
        }
        if (src[s].eof)
            correlate_end_side(c, s);
    }
    rc = correlate_finish(c, out, e);
done:
    correlate_free(c);
    for (int s = 0; s < 2; s++) {
        capture_file_free(src[s].f);
        free(src[s].pre);
    }
    return rc;
}
