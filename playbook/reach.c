#include "playbook/reach.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct reach_acc {
    struct correlate *c;
    struct capture_addr local[2];
    long sa_init[2]; /* [0] sent by A, [1] sent by B */
    struct err err;
    bool failed;
};

struct reach_acc *reach_acc_new(const char *local_a, const char *local_b)
{
    struct reach_acc *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    struct correlate_opts o = {0};
    const char *l[2] = {local_a, local_b};
    for (int i = 0; i < 2; i++)
        if (l[i] && capture_addr_parse(l[i], &a->local[i]) == 0) {
            o.local[i] = a->local[i];
            o.local_how[i] = CORRELATE_HOW_GIVEN;
        }
    o.bootstrap = 512;
    a->c = correlate_new(&o, &a->err);
    if (!a->c) {
        free(a);
        return NULL;
    }
    return a;
}

void reach_acc_add(struct reach_acc *a, int side, const struct capture_event *ev)
{
    if (!a || a->failed)
        return;
    if (ev->kind == CAPTURE_IKE && ev->ike.exchange == 34 && !(ev->ike.flags & CAPTURE_IKE_F_RESPONSE) &&
        a->local[side].family && capture_addr_eq(&ev->src, &a->local[side]))
        a->sa_init[side]++;
    if (correlate_add(a->c, side, ev, &a->err) != 0)
        a->failed = true;
}

void reach_acc_declare_span(struct reach_acc *a, int side, int64_t start_ns, int64_t end_ns)
{
    if (!a || a->failed)
        return;
    if (correlate_declare_span(a->c, side, start_ns, end_ns, &a->err) != 0)
        a->failed = true;
}

static const char *endpoint(struct strpool *pool, const struct capture_addr *addr, uint16_t port)
{
    char t[64];
    capture_addr_str(addr, t, sizeof t);
    return strpool_printf(pool, "%s:%u", t, (unsigned)port);
}

static double ns_ms(int64_t ns)
{
    return (double)ns / 1e6;
}

void reach_from_result(const struct correlate_result *r, const long ike_sa_init[2], struct reach_facts *out,
                       struct strpool *pool)
{
    memset(out, 0, sizeof *out);
    out->ran = true;
    out->offset_method = correlate_how_name(r->offset_how);
    /* the span both captures cover (as declared by the live capture, else
     * from the packets), in A's clock */
    out->window_s = r->common_end_ns > r->common_start_ns
                        ? (double)(r->common_end_ns - r->common_start_ns) / 1e9
                        : 0;
    for (int d = 0; d < 2; d++) {
        const struct correlate_direction *cd = &r->dir[d];
        struct reach_dir *o = d == CORRELATE_AB ? &out->a_to_b : &out->b_to_a;
        o->esp_sent = (long)cd->c.sent;
        o->esp_received = (long)cd->c.received;
        o->esp_lost = (long)cd->c.lost;
        o->esp_outside = (long)cd->c.outside;
        o->esp_dup = (long)cd->c.duplicated;
        o->esp_reorder = (long)cd->c.reordered;
        o->ike_sent = (long)(cd->ike.req_sent + cd->ike.resp_sent);
        o->ike_received = (long)(cd->ike.req_received + cd->ike.resp_received);
        o->ka_sent = (long)cd->keepalive_sent;
        o->ka_received = (long)cd->keepalive_received;
        const struct correlate_dist *ki = &r->end[d].ka_sent_interval;
        o->ka_interval_s = ki->n ? (double)ki->median / 1e9 : -1;
        o->udp4500_sent = o->esp_sent + o->ka_sent + o->ike_sent;
        o->udp4500_received = o->esp_received + o->ka_received + o->ike_received;
        o->frag_sent = (long)cd->frag_sent;
        o->frag_received = (long)cd->frag_received;
        o->delay_median_ms = cd->c.delay.n ? ns_ms(cd->c.delay.median) : -1;
        o->delay_p99_ms = cd->c.delay.n ? ns_ms(cd->c.delay.p99) : -1;
        o->ike_sa_init = ike_sa_init ? ike_sa_init[d] : 0;
        for (int k = 0; k < REACH_BUCKETS && k < CORRELATE_BUCKETS; k++) {
            o->buckets[k].max_len = correlate_bucket_max[k] > 65535 ? 65535 : (int)correlate_bucket_max[k];
            o->buckets[k].sent = (long)cd->c.bucket_sent[k];
            o->buckets[k].lost = (long)cd->c.bucket_lost[k];
        }
        for (size_t k = 0; k < r->n_spis && o->n_spis < 4; k++) {
            const struct correlate_spi *sp = &r->spis[k];
            if (sp->dir != d)
                continue;
            o->spis[o->n_spis++] =
                (struct reach_spi){sp->spi, (long)sp->c.sent, (long)sp->c.received, (long)sp->c.lost};
        }
    }
    /* NAT mapping changes on UDP/4500: B seeing A's endpoint change is A's
     * mapping (direction A->B), and the other way round */
    for (size_t k = 0; k < r->n_nat; k++) {
        const struct correlate_nat_event *n = &r->nat[k];
        if (n->local_port != 4500)
            continue;
        struct reach_dir *o = n->side == 1 ? &out->a_to_b : &out->b_to_a;
        if (!o->mapping_changes)
            o->mapping_first = endpoint(pool, &n->old_addr, n->old_port);
        o->mapping_last = endpoint(pool, &n->new_addr, n->new_port);
        o->mapping_changes++;
    }
    out->a_out = out->b_in = out->b_out = out->a_in = -1;
}

int reach_acc_finish(struct reach_acc *a, struct reach_facts *out, struct strpool *pool, struct err *e)
{
    if (!a)
        return err_set(e, ERR_INTERNAL, "out of memory");
    if (a->failed) {
        if (e)
            *e = a->err;
        return -1;
    }
    correlate_end_side(a->c, 0);
    correlate_end_side(a->c, 1);
    struct correlate_result *r = NULL;
    if (correlate_finish(a->c, &r, e) != 0)
        return -1;
    reach_from_result(r, a->sa_init, out, pool);
    correlate_result_free(r);
    return 0;
}

void reach_acc_free(struct reach_acc *a)
{
    if (!a)
        return;
    correlate_free(a->c);
    free(a);
}
