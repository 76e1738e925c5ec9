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

struct prefix_hash {
    const struct capture_event *ev;
    uint32_t *tab;
    size_t cap;
};

static int prefix_hash_init(struct prefix_hash *h, const struct capture_event *ev, size_t n)
{
    h->ev = ev;
    h->cap = 16;
    while (h->cap < n * 2)
        h->cap *= 2;
    h->tab = calloc(h->cap, sizeof *h->tab);
    if (!h->tab)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (ev[i].kind != CAPTURE_ESP)
            continue;
        size_t k = mix64((uint64_t)ev[i].spi << 32 | ev[i].seq) & (h->cap - 1);
        while (h->tab[k])
            k = (k + 1) & (h->cap - 1);
        h->tab[k] = (uint32_t)i + 1;
    }
    return 0;
}

static const struct capture_event *prefix_hash_find(const struct prefix_hash *h,
                                                    const struct capture_event *ev)
{
    for (size_t k = mix64((uint64_t)ev->spi << 32 | ev->seq) & (h->cap - 1); h->tab[k];
         k = (k + 1) & (h->cap - 1)) {
        const struct capture_event *x = &h->ev[h->tab[k] - 1];
        if (x->spi == ev->spi && x->seq == ev->seq)
            return x;
    }
    return NULL;
}

/* No ESP packet of the two prefixes matched: the captures started far apart (or the
 * clocks are).  Both files are read again side by side, each packet looked up in the
 * other file's prefix: the later capture's first packets are found in the earlier file
 * after reading about as far as the start difference.  Collects matched pairs for
 * correlate_learn(); returns how many. */
static size_t find_pairs(const char *const paths[2], struct capture_event *const pre[2],
                         const size_t npre[2], struct capture_event *pa, struct capture_event *pb,
                         struct err *e)
{
    struct prefix_hash h[2] = {{0}, {0}};
    struct capture_file *f[2] = {NULL, NULL};
    size_t found = 0;
    int live[2] = {1, 1};
    for (int s = 0; s < 2; s++) {
        if (prefix_hash_init(&h[s], pre[s], npre[s]) != 0)
            goto done;
        /* Skip what the prefix already holds. */
        f[s] = capture_file_open(paths[s], e);
        struct capture_event ev;
        for (size_t i = 0; f[s] && i < npre[s]; i++)
            if (capture_file_next(f[s], &ev, e) != 1)
                break;
        live[s] = f[s] != NULL;
    }
    for (uint32_t n = 0; (live[0] || live[1]) && n < SCAN_MAX && found < PAIRS; n++) {
        int s = (int)(n & 1);
        struct capture_event ev;
        if (!live[s])
            continue;
        if (capture_file_next(f[s], &ev, e) != 1) {
            live[s] = 0;
            continue;
        }
        if (ev.kind != CAPTURE_ESP)
            continue;
        const struct capture_event *x = prefix_hash_find(&h[!s], &ev);
        if (x) {
            pa[found] = s == 0 ? ev : *x;
            pb[found] = s == 0 ? *x : ev;
            found++;
        }
    }
done:
    for (int s = 0; s < 2; s++) {
        capture_file_free(f[s]);
        free(h[s].tab);
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
