#include "playbook/correlate_json.h"

#include <stdio.h>

static json_t *dist_json(const struct correlate_dist *d)
{
    if (!d->n)
        return json_pack("{s:I}", "n", (json_int_t)0);
    return json_pack("{s:I,s:I,s:I,s:I,s:I}", "n", (json_int_t)d->n, "min", (json_int_t)d->min,
                     "median", (json_int_t)d->median, "p99", (json_int_t)d->p99, "max",
                     (json_int_t)d->max);
}

static json_t *addr_json(const struct capture_addr *a)
{
    char s[64];
    if (!a->family)
        return json_null();
    return json_string(capture_addr_str(a, s, sizeof s));
}

static json_t *counts_json(const struct correlate_counts *k)
{
    json_t *o = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "sent", (json_int_t)k->sent,
                          "received", (json_int_t)k->received, "matched", (json_int_t)k->matched,
                          "lost", (json_int_t)k->lost, "outside", (json_int_t)k->outside,
                          "received_only", (json_int_t)k->received_only, "duplicated",
                          (json_int_t)k->duplicated, "dup_sent", (json_int_t)k->dup_sent,
                          "reordered", (json_int_t)k->reordered, "late", (json_int_t)k->late);
    if (!o)
        return NULL;
    json_t *b = json_array();
    for (int i = 0; b && i < CORRELATE_BUCKETS; i++) {
        json_t *x = json_pack("{s:o,s:I,s:I,s:I}", "max_ip_len",
                              correlate_bucket_max[i] == UINT32_MAX
                                  ? json_null()
                                  : json_integer(correlate_bucket_max[i]),
                              "sent", (json_int_t)k->bucket_sent[i], "received",
                              (json_int_t)k->bucket_received[i], "lost", (json_int_t)k->bucket_lost[i]);
        json_array_append_new(b, x);
    }
    json_object_set_new(o, "delay_ns", dist_json(&k->delay));
    json_object_set_new(o, "by_size", b);
    return o;
}

/* The span the correlation used for an end, and what it was declared as. */
static json_t *span_json(const struct correlate_end *x)
{
    json_t *decl = x->declared.start_ns
                       ? json_pack("{s:I,s:o}", "start_ns", (json_int_t)x->declared.start_ns,
                                   "end_ns",
                                   x->declared.end_ns ? json_integer((json_int_t)x->declared.end_ns)
                                                      : json_null())
                       : json_null();
    if (x->span_how == CORRELATE_SPAN_NONE)
        return json_pack("{s:s,s:n,s:n,s:o}", "how", "none", "start_ns", "end_ns", "declared", decl);
    return json_pack("{s:s,s:I,s:I,s:o}", "how", correlate_span_how_name(x->span_how), "start_ns",
                     (json_int_t)x->span_start_ns, "end_ns", (json_int_t)x->span_end_ns,
                     "declared", decl);
}

static const char *dir_name(int d)
{
    return d == CORRELATE_AB ? "a->b" : d == CORRELATE_BA ? "b->a" : "unknown";
}

json_t *correlate_result_json(const struct correlate_result *r, const char *name_a,
                              const char *name_b)
{
    const char *names[2] = {name_a ? name_a : "A", name_b ? name_b : "B"};
    json_t *root = json_pack("{s:s,s:{s:I,s:s},s:I,s:I}", "schema", "tunnelscope.correlate/1",
                             "clock", "offset_ns", (json_int_t)r->offset_ns, "method",
                             correlate_how_name(r->offset_how), "window", (json_int_t)r->window,
                             "grace_ns", (json_int_t)r->grace_ns);
    if (!root)
        return NULL;
    json_t *ends = json_object();
    for (int s = 0; s < 2; s++) {
        const struct correlate_end *x = &r->end[s];
        json_t *peers = json_array();
        for (size_t i = 0; i < x->n_peers; i++)
            json_array_append_new(
                peers, json_pack("{s:o,s:i,s:I,s:I,s:I}", "addr", addr_json(&x->peers[i].addr),
                                 "port", x->peers[i].port, "first_ns",
                                 (json_int_t)x->peers[i].first_ns, "last_ns",
                                 (json_int_t)x->peers[i].last_ns, "packets",
                                 (json_int_t)x->peers[i].packets));
        json_t *e = json_pack(
            "{s:s,s:o,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "name",
            names[s], "local", addr_json(&x->local), "local_how", correlate_how_name(x->local_how),
            "first_ns", (json_int_t)x->first_ns, "last_ns", (json_int_t)x->last_ns, "packets",
            (json_int_t)x->packets, "esp", (json_int_t)x->esp, "esp_udp", (json_int_t)x->esp_udp,
            "esp_raw", (json_int_t)x->esp_raw, "ike_500", (json_int_t)x->ike500, "ike_4500",
            (json_int_t)x->ike4500, "keepalives_sent", (json_int_t)x->keepalive_sent,
            "keepalives_received", (json_int_t)x->keepalive_received, "fragments",
            (json_int_t)x->fragments, "truncated", (json_int_t)x->truncated, "malformed",
            (json_int_t)x->malformed, "unsupported", (json_int_t)x->unsupported, "other",
            (json_int_t)x->other);
        if (!e)
            continue;
        json_object_set_new(e, "span", span_json(x));
        json_object_set_new(e, "keepalive_sent_interval_ns", dist_json(&x->ka_sent_interval));
        json_object_set_new(e, "keepalive_received_interval_ns",
                            dist_json(&x->ka_received_interval));
        json_object_set_new(e, "peer_endpoints", peers);
        json_object_set_new(e, "peer_endpoints_dropped", json_integer((json_int_t)x->peers_dropped));
        json_object_set_new(ends, s == 0 ? "a" : "b", e);
    }
    json_object_set_new(root, "ends", ends);
    json_object_set_new(root, "common_span",
                        r->common_end_ns > r->common_start_ns
                            ? json_pack("{s:I,s:I}", "start_ns", (json_int_t)r->common_start_ns,
                                        "end_ns", (json_int_t)r->common_end_ns)
                            : json_null());
    json_t *dirs = json_array();
    for (int d = 0; d < 2; d++) {
        const struct correlate_direction *x = &r->dir[d];
        json_t *o = counts_json(&x->c);
        if (!o)
            continue;
        char label[160];
        snprintf(label, sizeof label, "%s -> %s", names[d == 0 ? 0 : 1], names[d == 0 ? 1 : 0]);
        json_object_set_new(o, "direction", json_string(dir_name(d)));
        json_object_set_new(o, "label", json_string(label));
        json_object_set_new(o, "spis", json_integer(x->spis));
        json_object_set_new(o, "fragments_sent", json_integer((json_int_t)x->frag_sent));
        json_object_set_new(o, "fragments_received", json_integer((json_int_t)x->frag_received));
        json_object_set_new(o, "keepalives_sent", json_integer((json_int_t)x->keepalive_sent));
        json_object_set_new(o, "keepalives_received",
                            json_integer((json_int_t)x->keepalive_received));
        json_object_set_new(
            o, "ike",
            json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "requests_sent", (json_int_t)x->ike.req_sent,
                      "requests_received", (json_int_t)x->ike.req_received, "requests_matched",
                      (json_int_t)x->ike.req_matched, "responses_sent", (json_int_t)x->ike.resp_sent,
                      "responses_received", (json_int_t)x->ike.resp_received,
                      "responses_matched", (json_int_t)x->ike.resp_matched, "retransmits",
                      (json_int_t)x->ike.retransmits));
        json_array_append_new(dirs, o);
    }
    json_object_set_new(root, "directions", dirs);
    json_t *spis = json_array();
    for (size_t i = 0; i < r->n_spis; i++) {
        const struct correlate_spi *sp = &r->spis[i];
        json_t *o = counts_json(&sp->c);
        if (!o)
            continue;
        char hex[16];
        snprintf(hex, sizeof hex, "%08x", sp->spi);
        json_object_set_new(o, "spi", json_string(hex));
        json_object_set_new(o, "direction", json_string(dir_name(sp->dir)));
        json_object_set_new(o, "seq_first", json_integer((json_int_t)sp->seq_first));
        json_object_set_new(o, "seq_last", json_integer((json_int_t)sp->seq_last));
        json_object_set_new(o, "first_ns", json_integer(sp->first_ns));
        json_object_set_new(o, "last_ns", json_integer(sp->last_ns));
        json_array_append_new(spis, o);
    }
    json_object_set_new(root, "spis", spis);
    json_t *nat = json_array();
    for (size_t i = 0; i < r->n_nat; i++) {
        const struct correlate_nat_event *n = &r->nat[i];
        char a[64], b[64];
        json_array_append_new(
            nat, json_pack("{s:s,s:I,s:i,s:s,s:i,s:s,s:i}", "end", n->side ? "b" : "a", "ts_ns",
                           (json_int_t)n->ts_ns, "local_port", n->local_port, "old_addr",
                           capture_addr_str(&n->old_addr, a, sizeof a), "old_port", n->old_port,
                           "new_addr", capture_addr_str(&n->new_addr, b, sizeof b), "new_port",
                           n->new_port));
    }
    json_object_set_new(root, "nat_changes", nat);
    json_object_set_new(root, "nat_changes_dropped", json_integer((json_int_t)r->nat_dropped));
    return root;
}
