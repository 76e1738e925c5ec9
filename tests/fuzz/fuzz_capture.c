/* Fuzz target: the pcap stream decoder and the packet decoder take bytes from a
 * remote tcpdump.  The input is fed as a pcap stream in chunks whose sizes come
 * from the input itself, and each record's bytes are decoded under every link
 * type, and every event goes into a correlation engine (alternating sides, a tiny window).
 * Invariants: no crash, an event never claims more than was captured, and the
 * correlation's counts add up. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "playbook/correlate.h"
#include "probes/capture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fctx {
    struct correlate *c;
    int n;
};

static int check_fn(void *ctx, const struct capture_record *rec, const struct capture_event *ev,
                    struct err *e)
{
    struct fctx *f = ctx;
    if (rec->cap_len > rec->wire_len || rec->cap_len > CAPTURE_MAX_CAPLEN)
        abort();
    if (ev->kind > CAPTURE_UNSUPPORTED)
        abort();
    if (ev->kind == CAPTURE_ESP && ev->cap_len < 8)
        abort();
    static const int lts[] = {0, 1, 12, 101, 113, 228, 229, 276, 9999};
    for (size_t i = 0; i < sizeof lts / sizeof lts[0]; i++) {
        struct capture_event x;
        capture_decode(lts[i], rec->ts_ns, rec->data, rec->cap_len, rec->wire_len, &x);
        if (x.ip_len && x.kind == CAPTURE_ESP && x.ip_len > x.wire_len)
            abort();
    }
    return correlate_add(f->c, f->n++ & 1, ev, e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct err e = {0};
    struct correlate_opts o = {.window = 16, .bootstrap = 8};
    struct fctx f = {.c = correlate_new(&o, &e)};
    struct capture_stream *s = capture_stream_new(check_fn, &f);
    if (!s || !f.c) {
        capture_stream_free(s);
        correlate_free(f.c);
        return 0;
    }
    size_t off = 0, i = 0;
    while (off < size) {
        size_t chunk = 1 + (data[i++ % size] % 97);
        if (chunk > size - off)
            chunk = size - off;
        if (capture_stream_feed(s, data + off, chunk, &e) != 0)
            break;
        off += chunk;
    }
    capture_stream_finish(s, &e);
    capture_stream_free(s);
    struct correlate_result *r = NULL;
    if (correlate_finish(f.c, &r, &e) == 0) {
        for (int d = 0; d < 2; d++) {
            const struct correlate_counts *k = &r->dir[d].c;
            if (k->matched > k->sent || k->matched > k->received || k->lost + k->matched > k->sent)
                abort();
        }
        correlate_result_free(r);
    }
    correlate_free(f.c);
    /* The raw bytes as one frame of each link type. */
    for (int lt = 0; lt < 3; lt++) {
        struct capture_event ev;
        capture_decode(lt == 0 ? 1 : lt == 1 ? 101 : 276, 0, data, (uint32_t)size, (uint32_t)size, &ev);
    }
    return 0;
}
