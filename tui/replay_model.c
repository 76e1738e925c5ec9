#include "tui/replay_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probes/capture.h"
#include "probes/ipsec_sa.h"
#include "probes/swanctl.h"

static const char *end_local(const struct bundle *b, int side)
{
    const json_t *ends = json_object_get(bundle_correlation_json(b), "ends");
    return json_string_value(json_object_get(json_object_get(ends, side ? "b" : "a"), "local"));
}

/* Feeds both captures to the timeline in time order (each end's own clock, as live). */
static int feed(const struct bundle *b, struct timeline *tl, int64_t *last, struct err *e)
{
    struct capture_file *f[2] = {NULL, NULL};
    struct capture_event ev[2];
    int have[2] = {0, 0};
    int64_t first[2] = {0, 0}, lastv[2] = {0, 0};
    int r = 0;
    for (int s = 0; s < 2 && !r; s++) {
        if (!bundle_pcap_path(b, s))
            continue;
        f[s] = capture_file_open(bundle_pcap_path(b, s), e);
        if (!f[s])
            r = -1;
        else if ((have[s] = capture_file_next(f[s], &ev[s], e)) < 0)
            r = -1;
        if (have[s] == 1)
            first[s] = ev[s].ts_ns;
    }
    while (!r && (have[0] == 1 || have[1] == 1)) {
        int s = have[0] == 1 && (have[1] != 1 || ev[0].ts_ns <= ev[1].ts_ns) ? 0 : 1;
        if (timeline_add(tl, s, &ev[s])) {
            r = err_set(e, ERR_INTERNAL, "out of memory");
            break;
        }
        lastv[s] = ev[s].ts_ns;
        if (lastv[s] > *last)
            *last = lastv[s];
        if ((have[s] = capture_file_next(f[s], &ev[s], e)) < 0)
            r = -1;
    }
    for (int s = 0; s < 2; s++) {
        if (f[s] && !r)
            timeline_set_span(tl, s, first[s], lastv[s]);
        capture_file_free(f[s]);
    }
    return r;
}

static void copy(char *dst, size_t n, const char *s)
{
    snprintf(dst, n, "%s", s ? s : "");
}

/* The end's SAs from its last recorded `swanctl --list-sas` output (as the live console shows them). */
static void sas_from_raws(const struct bundle *b, struct replay_model *rm, int side)
{
    const struct bundle_raw *best = NULL;
    for (size_t i = 0; i < bundle_raw_count(b); i++) {
        const struct bundle_raw *r = bundle_raw_get(b, i);
        if (r->side == side && r->exit_status == 0 && r->what && strstr(r->what, "--list-sas"))
            best = r;
    }
    if (!best)
        return;
    struct sa_fact f = {0};
    struct err e = {0};
    int rc = strstr(best->what, "--raw") ? swanctl_parse_sas_raw(best->output, best->output_len, &f, &e)
                                         : swanctl_parse_sas_text(best->output, best->output_len, &f, &e);
    if (rc) {
        sa_fact_free(&f);
        return;
    }
    const struct ike_sa *ike = NULL;
    const struct child_sa *child = NULL;
    for (size_t i = 0; i < f.n_ike; i++) {
        const struct child_sa *ch = NULL;
        for (size_t k = 0; k < f.ike[i].n_child; k++)
            if (!strcmp(f.ike[i].child[k].state, "INSTALLED")) {
                ch = &f.ike[i].child[k];
                break;
            }
        if (!ike || (ch && !child)) {
            ike = &f.ike[i];
            child = ch ? ch : (f.ike[i].n_child ? &f.ike[i].child[0] : NULL);
        }
    }
    struct model_end *x = &rm->m.end[side];
    x->daemon = "strongswan";
    if (ike) {
        copy(rm->ike_state[side], sizeof rm->ike_state[side], ike->state);
        x->ike_state = rm->ike_state[side];
        x->behind_nat = ike->nat_local;
        if (!rm->conn_name[0])
            copy(rm->conn_name, sizeof rm->conn_name, ike->name);
    }
    if (child) {
        copy(rm->child_state[side], sizeof rm->child_state[side], child->state);
        x->child_state = rm->child_state[side];
        if (child->spi_out.known && x->n_sa < MODEL_MAX_SA) {
            x->sa[x->n_sa++] = (struct model_sa){(uint32_t)child->spi_out.v, 1,
                                                 child->bytes_out.known ? (int64_t)child->bytes_out.v : -1,
                                                 child->packets_out.known ? (int64_t)child->packets_out.v : -1};
            timeline_set_spi_dir(rm->tl, (uint32_t)child->spi_out.v, side == 0 ? TL_AB : TL_BA);
        }
        if (child->spi_in.known && x->n_sa < MODEL_MAX_SA) {
            x->sa[x->n_sa++] = (struct model_sa){(uint32_t)child->spi_in.v, 0,
                                                 child->bytes_in.known ? (int64_t)child->bytes_in.v : -1,
                                                 child->packets_in.known ? (int64_t)child->packets_in.v : -1};
            timeline_set_spi_dir(rm->tl, (uint32_t)child->spi_in.v, side == 0 ? TL_BA : TL_AB);
        }
    }
    sa_fact_free(&f);
}

int replay_model_load(const struct bundle *b, struct replay_model *rm, struct err *e)
{
    memset(rm, 0, sizeof *rm);
    struct model *m = &rm->m;
    rm->tl = timeline_new(0);
    if (!rm->tl)
        return err_set(e, ERR_INTERNAL, "out of memory");
    for (int s = 0; s < 2; s++) {
        struct model_end *x = &m->end[s];
        x->name = bundle_peer_name(b, s) ? bundle_peer_name(b, s) : s ? "B" : "A";
        if (bundle_peer_collected(b, s)) {
            x->link = ML_READY;
        } else {
            x->link = ML_FAILED;
            x->error = "not in this bundle (half-bundle): the other site must supply it";
        }
        x->capture = bundle_pcap_path(b, s) ? MC_STOPPED : MC_OFF;
        const char *l = end_local(b, s);
        struct capture_addr a;
        if (l && !capture_addr_parse(l, &a))
            timeline_set_local(rm->tl, s, &a);
    }
    for (int s = 0; s < 2; s++)
        sas_from_raws(b, rm, s);
    if (rm->conn_name[0])
        m->conn = rm->conn_name;
    int64_t last = 0;
    if (feed(b, rm->tl, &last, e)) {
        replay_model_free(rm);
        return err_wrap(e, "replaying the captures");
    }
    timeline_settle_all(rm->tl);
    m->tl = rm->tl;
    m->now_ns = last;
    m->capture = bundle_pcap_path(b, 0) || bundle_pcap_path(b, 1) ? MC_STOPPED : MC_OFF;
    const json_t *ends = json_object_get(bundle_correlation_json(b), "ends");
    long long udp = 0, raw = 0;
    for (int s = 0; s < 2; s++) {
        const json_t *x = json_object_get(ends, s ? "b" : "a");
        udp += json_integer_value(json_object_get(x, "esp_udp"));
        raw += json_integer_value(json_object_get(x, "esp_raw"));
    }
    m->transport = udp > 0 ? MT_UDP4500 : raw > 0 ? MT_RAW_ESP : MT_UNKNOWN;
    const struct findings *fs = bundle_findings(b);
    m->findings = fs;
    for (int k = STEP_FIRST; k <= STEP_LAST; k++) {
        int any = 0;
        for (size_t i = 0; i < fs->n; i++)
            any |= fs->v[i].step == k;
        m->step[k] = any ? findings_step_status(fs, k) : STEP_SKIPPED;
    }
    m->export_unavailable = "this is a replay: the bundle is already exported";
    const json_t *span = json_object_get(bundle_manifest(b), "time_span");
    const char *start = json_string_value(json_object_get(span, "start"));
    int n = snprintf(NULL, 0, "replay of %s (recorded %s)", bundle_root(b), start ? start : "?");
    rm->message = malloc((size_t)n + 1);
    if (!rm->message) {
        replay_model_free(rm);
        return err_set(e, ERR_INTERNAL, "out of memory");
    }
    snprintf(rm->message, (size_t)n + 1, "replay of %s (recorded %s)", bundle_root(b),
             start ? start : "?");
    m->message = rm->message;
    m->sweep_done = 1;
    return 0;
}

void replay_model_free(struct replay_model *rm)
{
    if (!rm)
        return;
    timeline_free(rm->tl);
    free(rm->message);
    free(rm->conn);
    memset(rm, 0, sizeof *rm);
}
