#include "playbook/bundle_session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "playbook/bundle.h"
#include "playbook/correlate_json.h"
#include "playbook/replay.h"
#include "playbook/report.h"

/* The role under pcap/ of run k's capture of an end, NULL when it is the main capture. */
static const char *run_role(const struct diag_session *s, const struct bundle_session_extra *x, size_t k,
                            int side, char *buf, size_t size)
{
    const char *p;
    double ws, we;
    if (diag_run_capture(s, k, side, &p, &ws, &we))
        return NULL;
    const char *main = x && (x->pcap[0] || x->pcap[1]) ? NULL : diag_pcap_path(s, side);
    if (main && !strcmp(main, p))
        return NULL;
    if (k)
        snprintf(buf, size, "diagnosis-run%zu", k);
    else
        snprintf(buf, size, "diagnosis");
    return buf;
}

/* The bundle's main capture of an end and its declared span: the console's, else the session's latest. */
static int main_capture(const struct diag_session *s, const struct bundle_session_extra *x, int side,
                        const char **pcap, double *ws, double *we)
{
    if (x && (x->pcap[0] || x->pcap[1])) {
        *pcap = x->pcap[side];
        *ws = x->window[side][0];
        *we = x->window[side][1];
        return *pcap && *ws > 0 && *we > *ws ? 0 : -1;
    }
    *pcap = diag_pcap_path(s, side);
    return diag_capture_window(s, side, ws, we);
}

static json_t *record_of(const struct diag_session *s, const struct bundle_session_extra *x)
{
    const struct diag_opts *o = diag_options(s);
    json_t *peers = json_array();
    for (int i = 0; peers && i < 2; i++) {
        const struct peer_facts *f = diag_peer_facts(s, i);
        double ws, we;
        const char *pc;
        bool collected = !(i == 1 && diag_one_end(s));
        json_t *win = !collected || main_capture(s, x, i, &pc, &ws, &we)
                          ? json_null()
                          : json_pack("{s:f, s:f}", "start_s", ws, "end_s", we);
        json_t *p = json_pack("{s:s, s:s, s:b, s:b, s:o, s:o}", "side", i ? "b" : "a", "name",
                              diag_peer_name(s, i), "collected", collected, "connected", collected && f->connected,
                              "connect_error",
                              collected && !f->connected && f->connect_error ? json_string(f->connect_error)
                                                                             : json_null(),
                              "capture_window", win ? win : json_null());
        if (!p || json_array_append_new(peers, p)) {
            json_decref(peers);
            return NULL;
        }
    }
    if (!peers)
        return NULL;
    json_t *doc = json_pack("{s:s, s:{s:o, s:i, s:b}, s:o}", "schema", "tunnelscope.session/1", "options", "conn",
                            o->conn ? json_string(o->conn) : json_null(), "capture_seconds",
                            (int)o->capture_seconds, "active", o->active, "peers", peers);
    /* the runs, when replay needs more than the above */
    bool need = diag_run_count(s) > 1;
    for (size_t k = 0; k < diag_run_count(s); k++)
        for (int i = 0; i < 2; i++) {
            char rb[48];
            if (run_role(s, x, k, i, rb, sizeof rb))
                need = true;
        }
    json_t *runs = need ? json_array() : NULL;
    for (size_t k = 0; doc && runs && k < diag_run_count(s); k++) {
        json_t *caps = json_array();
        for (int i = 0; caps && i < 2; i++) {
            const char *p;
            double ws, we;
            char rb[48];
            if (diag_run_capture(s, k, i, &p, &ws, &we))
                continue;
            const char *role = run_role(s, x, k, i, rb, sizeof rb);
            json_array_append_new(caps, json_pack("{s:s, s:o, s:{s:f, s:f}}", "side", i ? "b" : "a", "role",
                                                  role ? json_string(role) : json_null(), "capture_window",
                                                  "start_s", ws, "end_s", we));
        }
        json_array_append_new(runs, json_pack("{s:i, s:i, s:o}", "run", (int)k, "step", diag_run_step(s, k),
                                              "captures", caps ? caps : json_array()));
    }
    if (doc && runs)
        json_object_set_new(doc, "runs", runs);
    return doc;
}

json_t *bundle_session_record(const struct diag_session *s)
{
    return record_of(s, NULL);
}

int bundle_write_session(const struct diag_session *s, const char *dir,
                         const char *const *secrets, struct err *e)
{
    return bundle_write_session_note(s, dir, secrets, NULL, e);
}

int bundle_write_session_note(const struct diag_session *s, const char *dir, const char *const *secrets,
                              const char *note, struct err *e)
{
    struct bundle_session_extra x = {.note = note};
    return bundle_write_session_ex(s, &x, dir, secrets, e);
}

/* Whether a later run re-ran the step this output was collected for. */
static bool superseded(const struct diag_session *s, const struct diag_raw *d)
{
    for (size_t k = (size_t)d->run + 1; k < diag_run_count(s); k++)
        if (diag_run_step(s, k) == d->step)
            return true;
    return false;
}

int bundle_write_session_ex(const struct diag_session *s, const struct bundle_session_extra *x,
                            const char *dir, const char *const *secrets, struct err *e)
{
    if (!diag_done(s))
        return err_set(e, ERR_USAGE, "the diagnosis has not finished");
    size_t nd = diag_raw_count(s), nx = x ? x->n_raws : 0, n = nd + nx;
    struct bundle_raw *raws = calloc(n ? n : 1, sizeof *raws);
    struct bundle_pcap more[2 * 64];
    char roles[2 * 64][48];
    size_t n_more = 0;
    if (!raws)
        return err_set(e, ERR_INTERNAL, "out of memory");
    for (size_t i = 0; i < nd; i++) {
        const struct diag_raw *d = diag_raw_get(s, i);
        raws[i] = (struct bundle_raw){
            .side = d->side,
            .step = d->step,
            .what = d->what,
            .command = d->line,
            .output = d->output ? d->output : "",
            .output_len = d->output ? strlen(d->output) : 0,
            .exit_status = d->exit_status,
            .error = d->error,
            .error_code = d->error_code != ERR_NONE ? err_code_name(d->error_code) : NULL,
            .started = d->started,
            .ended = d->started + (d->seconds > 0 ? d->seconds : 0),
            .run = d->run,
            .superseded = superseded(s, d),
        };
    }
    for (size_t i = 0; i < nx; i++) {
        raws[nd + i] = x->raws[i];
        raws[nd + i].origin = "console";
    }
    /* the diagnosis's captures that are not the main ones */
    for (size_t k = 0; k < diag_run_count(s); k++)
        for (int i = 0; i < 2 && n_more < sizeof more / sizeof *more; i++) {
            const char *p;
            double ws, we;
            if (diag_run_capture(s, k, i, &p, &ws, &we) ||
                !run_role(s, x, k, i, roles[n_more], sizeof roles[n_more]))
                continue;
            more[n_more] = (struct bundle_pcap){.side = i, .role = roles[n_more], .path = p};
            n_more++;
        }
    /* both ends' main captures: the console's, or the session's (kept or read offline) */
    const char *pcaps[2];
    double win[2][2];
    int have_win[2];
    for (int i = 0; i < 2; i++)
        have_win[i] = !main_capture(s, x, i, &pcaps[i], &win[i][0], &win[i][1]);
    /* the correlation of the two, with each end's own address as the session knew it */
    char *corr = NULL;
    if (pcaps[0] && pcaps[1]) {
        const struct peer_facts *fa = diag_peer_facts(s, 0), *fb = diag_peer_facts(s, 1);
        struct correlate_opts co;
        replay_correlate_opts(fa ? fa->ike.local_host : NULL, fb ? fb->ike.local_host : NULL, &co);
        /* and each end's capture span, as session.json records it for replay */
        for (int i = 0; i < 2; i++)
            if (have_win[i])
                co.span[i] = correlate_span_of_seconds(win[i][0], win[i][1]);
        struct correlate_result *r = NULL;
        if (correlate_files(pcaps[0], pcaps[1], &co, &r, e) == 0) {
            json_t *j = correlate_result_json(r, diag_peer_name(s, 0), diag_peer_name(s, 1));
            corr = j ? json_dumps(j, JSON_PRESERVE_ORDER) : NULL;
            json_decref(j);
            correlate_result_free(r);
        }
        if (!corr) {
            free(raws);
            return err_wrap(e, "correlating the two captures for the bundle");
        }
    }
    struct report_in ri;
    report_from_session(s, &ri);
    struct buf dj = BUF_INIT;
    json_t *rec = record_of(s, x);
    char *rec_text = rec ? json_dumps(rec, JSON_PRESERVE_ORDER) : NULL;
    json_decref(rec);
    if (!rec_text || report_json_text(&ri, &dj)) {
        free(raws);
        free(corr);
        free(rec_text);
        buf_free(&dj);
        return err_set(e, ERR_INTERNAL, "out of memory");
    }
    const char *note = x && x->note ? x->note : diag_other_end_note(s);
    struct bundle_input in = {
        .peer = {{diag_peer_name(s, 0), true}, {diag_peer_name(s, 1), !diag_one_end(s)}},
        .raws = raws,
        .n_raws = n,
        .pcap = {pcaps[0], pcaps[1]},
        .more_pcaps = more,
        .n_more_pcaps = n_more,
        .findings = diag_findings(s),
        .findings_json = dj.data,
        .exit_status = diag_exit_status(s),
        .correlation_json = corr,
        .secrets = secrets,
        .note = note,
        .session_json = rec_text,
    };
    int r = bundle_write(&in, dir, e);
    buf_free(&dj);
    free(rec_text);
    free(corr);
    free(raws);
    return r;
}
