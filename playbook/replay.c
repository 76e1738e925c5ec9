#include "playbook/replay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "playbook/collect.h"
#include "playbook/correlate_json.h"
#include "playbook/finding_json.h"
#include "playbook/report.h"

void replay_correlate_opts(const char *local_a, const char *local_b, struct correlate_opts *o)
{
    memset(o, 0, sizeof *o);
    const char *l[2] = {local_a, local_b};
    for (int s = 0; s < 2; s++)
        if (l[s] && !capture_addr_parse(l[s], &o->local[s]))
            o->local_how[s] = CORRELATE_HOW_GIVEN;
}

/* The local address the export gave for an end ("given" in correlation.json), or NULL. */
static const char *given_local(const struct bundle *b, const char *end)
{
    const json_t *x = json_object_get(json_object_get(bundle_correlation_json(b), "ends"), end);
    const char *how = json_string_value(json_object_get(x, "local_how"));
    if (!how || strcmp(how, "given"))
        return NULL;
    return json_string_value(json_object_get(x, "local"));
}

static const json_t *session_peer(const struct bundle *b, int side);

void replay_capture_spans(const struct bundle *b, struct correlate_opts *o)
{
    for (int side = 0; side < 2; side++) {
        const json_t *w = json_object_get(session_peer(b, side), "capture_window");
        o->span[side] = correlate_span_of_seconds(json_number_value(json_object_get(w, "start_s")),
                                                  json_number_value(json_object_get(w, "end_s")));
    }
}

int replay_correlate(const struct bundle *b, struct correlate_result **out, struct err *e)
{
    const char *pa = bundle_pcap_path(b, 0), *pb = bundle_pcap_path(b, 1);
    if (!pa || !pb)
        return err_set(e, ERR_NOT_FOUND, "the bundle lacks %s's capture",
                       !pa ? (bundle_peer_name(b, 0) ? bundle_peer_name(b, 0) : "A")
                           : (bundle_peer_name(b, 1) ? bundle_peer_name(b, 1) : "B"));
    struct correlate_opts o;
    replay_correlate_opts(given_local(b, "a"), given_local(b, "b"), &o);
    replay_capture_spans(b, &o);
    return correlate_files(pa, pb, &o, out, e);
}

json_t *replay_correlation_json(const struct bundle *b, struct err *e)
{
    struct correlate_result *r = NULL;
    if (replay_correlate(b, &r, e))
        return NULL;
    json_t *j = correlate_result_json(r, bundle_peer_name(b, 0), bundle_peer_name(b, 1));
    correlate_result_free(r);
    if (!j)
        err_set(e, ERR_INTERNAL, "out of memory");
    return j;
}

static void scalar_str(const json_t *v, char *out, size_t n)
{
    char *s = v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
    snprintf(out, n, "%s", s ? s : "(absent)");
    if (s && strlen(s) > 40)
        snprintf(out + 37, n > 37 ? n - 37 : 0, "...");
    free(s);
}

static int diff_at(const json_t *x, const json_t *y, char *path, size_t plen, char *diff,
                   size_t size)
{
    size_t base = strlen(path);
    if (json_is_object(x) && json_is_object(y)) {
        const char *k;
        const json_t *v;
        json_object_foreach((json_t *)x, k, v) {
            snprintf(path + base, plen - base, "%s%s", base ? "." : "", k);
            if (!diff_at(v, json_object_get(y, k), path, plen, diff, size))
                return 0;
        }
        json_object_foreach((json_t *)y, k, v) {
            if (!json_object_get(x, k)) {
                snprintf(path + base, plen - base, "%s%s", base ? "." : "", k);
                snprintf(diff, size, "%s: only in the second", path);
                return 0;
            }
        }
        path[base] = '\0';
        return 1;
    }
    if (json_is_array(x) && json_is_array(y)) {
        size_t n = json_array_size(x), m = json_array_size(y);
        for (size_t i = 0; i < n && i < m; i++) {
            snprintf(path + base, plen - base, "[%zu]", i);
            if (!diff_at(json_array_get(x, i), json_array_get(y, i), path, plen, diff, size))
                return 0;
        }
        path[base] = '\0';
        if (n != m) {
            snprintf(diff, size, "%s: %zu entries vs %zu", *path ? path : "(top)", n, m);
            return 0;
        }
        return 1;
    }
    if (x && y && json_equal((json_t *)x, (json_t *)y))
        return 1;
    char a[48], b[48];
    scalar_str(x, a, sizeof a);
    scalar_str(y, b, sizeof b);
    snprintf(diff, size, "%s: %s vs %s", *path ? path : "(top)", a, b);
    return 0;
}

int replay_json_diff(const json_t *x, const json_t *y, char *diff, size_t size)
{
    char path[512] = "";
    if (size)
        diff[0] = '\0';
    return diff_at(x, y, path, sizeof path, diff, size);
}

/* ---- the findings, recomputed by the offline session ---- */

static int err_code_of(const char *name)
{
    if (!name)
        return ERR_NONE;
    for (int c = ERR_NONE; c <= ERR_DISCONNECTED; c++)
        if (!strcmp(err_code_name(c), name))
            return c;
    return ERR_INTERNAL;
}

/* session.json's entry for an end, or NULL. */
static const json_t *session_peer(const struct bundle *b, int side)
{
    size_t i;
    const json_t *p;
    json_array_foreach(json_object_get(bundle_session_json(b), "peers"), i, p) {
        const char *sd = json_string_value(json_object_get(p, "side"));
        if (sd && !strcmp(sd, side ? "b" : "a"))
            return p;
    }
    return NULL;
}

void replay_options(const struct bundle *b, struct diag_opts *o)
{
    memset(o, 0, sizeof *o);
    const json_t *opt = json_object_get(bundle_session_json(b), "options");
    if (opt) {
        o->conn = json_string_value(json_object_get(opt, "conn"));
        json_int_t cs = json_integer_value(json_object_get(opt, "capture_seconds"));
        o->capture_seconds = cs > 0 && cs <= 3600 ? (unsigned)cs : 0;
        o->active = json_is_true(json_object_get(opt, "active"));
        return;
    }
    /* an older bundle: what its outputs and findings.json show */
    json_int_t cs = json_integer_value(
        json_object_get(json_object_get(bundle_findings_json(b), "timings"), "capture_seconds"));
    o->capture_seconds = cs > 0 && cs <= 3600 ? (unsigned)cs : 0;
    for (size_t i = 0; i < bundle_raw_count(b); i++) {
        const char *w = bundle_raw_get(b, i)->what;
        if (w && !strcmp(w, collect_probe(PROBE_PING)->what))
            o->active = true;
    }
}

int replay_record(const struct bundle *b, struct diag_record *r, struct err *e)
{
    memset(r, 0, sizeof *r);
    size_t n = bundle_raw_count(b), k = 0;
    struct diag_raw *v = calloc(n ? n : 1, sizeof *v);
    const json_t *runs = json_object_get(bundle_session_json(b), "runs");
    size_t n_runs = json_array_size(runs);
    struct diag_record_run *rr = calloc(n_runs ? n_runs : 1, sizeof *rr);
    if (!v || !rr) {
        free(v);
        free(rr);
        return err_set(e, ERR_INTERNAL, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        const struct bundle_raw *x = bundle_raw_get(b, i);
        if (x->origin)
            continue; /* the console's own commands: evidence the steps did not read */
        v[k++] = (struct diag_raw){
            .side = x->side,
            .step = x->step,
            .what = (char *)(x->what ? x->what : ""),
            .line = (char *)(x->command ? x->command : ""),
            .output = (char *)(x->output ? x->output : ""),
            .exit_status = x->exit_status,
            .error = (char *)x->error,
            .error_code = x->error_code ? err_code_of(x->error_code) : x->error ? ERR_INTERNAL : ERR_NONE,
            .started = x->started,
            .seconds = x->ended > x->started ? x->ended - x->started : 0,
            .run = x->run,
        };
    }
    r->raws = v;
    r->n_raws = k;
    for (int side = 0; side < 2; side++) {
        struct diag_record_peer *p = &r->peer[side];
        const json_t *sp = session_peer(b, side);
        p->name = bundle_peer_name(b, side);
        p->collected = bundle_peer_collected(b, side);
        p->connected = sp ? json_is_true(json_object_get(sp, "connected")) : p->collected;
        p->connect_error = sp ? json_string_value(json_object_get(sp, "connect_error")) : NULL;
        p->pcap = bundle_pcap_path(b, side);
        const json_t *w = json_object_get(sp, "capture_window");
        p->window_start = json_number_value(json_object_get(w, "start_s"));
        p->window_end = json_number_value(json_object_get(w, "end_s"));
    }
    /* the runs: each one's capture (the main one when its role is null), the re-runs in order */
    size_t i;
    const json_t *run;
    json_array_foreach(runs, i, run) {
        struct diag_record_run *q = i ? &rr[r->n_reruns] : NULL;
        if (q)
            q->step = (int)json_integer_value(json_object_get(run, "step"));
        size_t c;
        const json_t *cap;
        json_array_foreach(json_object_get(run, "captures"), c, cap) {
            const char *sd = json_string_value(json_object_get(cap, "side"));
            const char *role = json_string_value(json_object_get(cap, "role"));
            const json_t *w = json_object_get(cap, "capture_window");
            if (!sd || (strcmp(sd, "a") && strcmp(sd, "b")))
                continue;
            int side = sd[0] == 'b';
            const char *pcap = role ? bundle_pcap_role_path(b, side, role) : bundle_pcap_path(b, side);
            double ws = json_number_value(json_object_get(w, "start_s"));
            double we = json_number_value(json_object_get(w, "end_s"));
            if (q) {
                q->pcap[side] = pcap;
                q->window[side][0] = ws;
                q->window[side][1] = we;
            } else {
                r->peer[side].pcap = pcap;
                r->peer[side].window_start = ws;
                r->peer[side].window_end = we;
            }
        }
        if (q)
            r->n_reruns++;
    }
    r->reruns = rr;
    return 0;
}

void replay_record_free(struct diag_record *r)
{
    free((void *)r->raws);
    r->raws = NULL;
    r->n_raws = 0;
    free((void *)r->reruns);
    r->reruns = NULL;
    r->n_reruns = 0;
}

int replay_session(const struct bundle *b, struct diag_session **out, struct err *e)
{
    *out = NULL;
    const char *schema = json_string_value(json_object_get(bundle_findings_json(b), "schema"));
    if (!bundle_session_json(b) && (!schema || strcmp(schema, "tunnelscope.diagnose/1"))) {
        err_set(e, ERR_UNSUPPORTED, "its findings were not made by the five steps (%s, no session.json)",
                schema ? schema : "no schema");
        return 1;
    }
    if (!bundle_peer_collected(b, 0) && !bundle_peer_collected(b, 1)) {
        err_set(e, ERR_UNSUPPORTED, "the bundle collected neither end");
        return 1;
    }
    struct diag_record r;
    if (replay_record(b, &r, e))
        return -1;
    struct diag_opts o;
    replay_options(b, &o);
    struct diag_session *s = diag_new_offline(&r, &o, e);
    int rc = s ? diag_start(s, e) : -1;
    replay_record_free(&r);
    if (rc) {
        diag_free(s);
        return -1;
    }
    *out = s;
    return 0;
}

int replay_recompute_findings(const struct bundle *b, struct findings *out, struct err *e)
{
    struct diag_session *s = NULL;
    int r = replay_session(b, &s, e);
    if (r)
        return r;
    const struct findings *fs = diag_findings(s);
    for (size_t i = 0; i < fs->n; i++) {
        const struct finding *f = &fs->v[i];
        struct finding *n = findings_add(out, f->id, f->step, f->sev, f->decision, "%s", f->title);
        for (size_t k = 0; n && k < f->n_ev; k++)
            finding_add_evidence(n, f->ev[k].peer, f->ev[k].source, f->ev[k].detail ? "%s" : NULL,
                                 f->ev[k].detail);
    }
    diag_free(s);
    return 0;
}

json_t *replay_comparable(const json_t *doc)
{
    json_t *c = json_deep_copy(doc);
    if (!c)
        return NULL;
    json_object_del(c, "timings");
    json_object_del(c, "version");
    size_t i;
    json_t *st;
    json_array_foreach(json_object_get(c, "steps"), i, st)
        json_object_del(st, "seconds");
    return c;
}

int replay_check_run(const struct bundle *b, struct replay_check *c, struct err *e)
{
    memset(c, 0, sizeof *c);
    const json_t *saved = bundle_correlation_json(b);
    if (saved && bundle_pcap_path(b, 0) && bundle_pcap_path(b, 1)) {
        c->correlation = replay_correlation_json(b, e);
        if (!c->correlation)
            return err_wrap(e, "recomputing the correlation");
        c->correlation_checked = true;
        c->correlation_equal = replay_json_diff(c->correlation, saved, c->correlation_diff,
                                                sizeof c->correlation_diff);
    }
    struct diag_session *s = NULL;
    struct err fe = {0};
    int r = replay_session(b, &s, &fe);
    if (r > 0) {
        snprintf(c->findings_why, sizeof c->findings_why, "%s", fe.msg);
        return 0;
    }
    if (r < 0) {
        if (e)
            *e = fe;
        return err_wrap(e, "recomputing the findings");
    }
    struct report_in ri;
    report_from_session(s, &ri);
    c->findings = report_json(&ri);
    c->unused_records = diag_unused_records(s);
    diag_free(s);
    json_t *x = c->findings ? replay_comparable(c->findings) : NULL;
    json_t *y = replay_comparable(bundle_findings_json(b));
    if (!x || !y) {
        json_decref(x);
        json_decref(y);
        return err_set(e, ERR_INTERNAL, "out of memory");
    }
    c->findings_checked = true;
    c->findings_equal = replay_json_diff(x, y, c->findings_diff, sizeof c->findings_diff);
    json_decref(x);
    json_decref(y);
    return 0;
}

bool replay_check_ok(const struct replay_check *c)
{
    if (!c->correlation_checked && !c->findings_checked)
        return false;
    return (!c->correlation_checked || c->correlation_equal) &&
           (!c->findings_checked || c->findings_equal);
}

void replay_check_free(struct replay_check *c)
{
    json_decref(c->correlation);
    c->correlation = NULL;
    json_decref(c->findings);
    c->findings = NULL;
}

json_t *replay_check_json(const struct bundle *b, const struct replay_check *c)
{
    json_t *peers = json_array();
    for (int s = 0; peers && s < 2; s++) {
        if (!bundle_peer_name(b, s))
            continue;
        json_array_append_new(peers, json_pack("{s:s, s:s, s:b, s:o}", "side", s ? "b" : "a", "name",
                                               bundle_peer_name(b, s), "collected",
                                               bundle_peer_collected(b, s), "pcap",
                                               bundle_pcap_path(b, s) ? json_true() : json_false()));
    }
    json_t *check = json_pack(
        "{s:b, s:o, s:o, s:b, s:o, s:o, s:b}", "correlation_checked", c->correlation_checked,
        "correlation_equal", c->correlation_checked ? json_boolean(c->correlation_equal) : json_null(),
        "correlation_diff", c->correlation_diff[0] ? json_string(c->correlation_diff) : json_null(),
        "findings_checked", c->findings_checked, "findings_equal",
        c->findings_checked ? json_boolean(c->findings_equal) : json_null(), "findings_diff",
        c->findings_diff[0] ? json_string(c->findings_diff) : json_null(), "ok", replay_check_ok(c));
    if (check) {
        json_object_set_new(check, "findings_not_checked_why",
                            c->findings_why[0] ? json_string(c->findings_why) : json_null());
        json_object_set_new(check, "unused_raw_outputs", json_integer((json_int_t)c->unused_records));
    }
    const json_t *m = bundle_manifest(b);
    json_t *doc = json_pack("{s:s, s:o, s:O, s:O, s:I, s:O, s:o}", "bundle", bundle_root(b), "peers",
                            peers ? peers : json_array(), "complete",
                            json_object_get(m, "complete") ? json_object_get(m, "complete") : json_null(),
                            "time_span",
                            json_object_get(m, "time_span") ? json_object_get(m, "time_span") : json_null(),
                            "raw_outputs", (json_int_t)bundle_raw_count(b), "findings",
                            bundle_findings_json(b), "check", check ? check : json_null());
    return doc;
}
