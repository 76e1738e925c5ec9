#include "playbook/bundle_session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "playbook/bundle.h"
#include "playbook/correlate_json.h"
#include "playbook/replay.h"
#include "playbook/report.h"

json_t *bundle_session_record(const struct diag_session *s)
{
    const struct diag_opts *o = diag_options(s);
    json_t *peers = json_array();
    for (int i = 0; peers && i < 2; i++) {
        const struct peer_facts *f = diag_peer_facts(s, i);
        double ws, we;
        bool collected = !(i == 1 && diag_one_end(s));
        json_t *win = !collected || diag_capture_window(s, i, &ws, &we)
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
    return json_pack("{s:s, s:{s:o, s:i, s:b}, s:o}", "schema", "tunnelscope.session/1", "options", "conn",
                     o->conn ? json_string(o->conn) : json_null(), "capture_seconds", (int)o->capture_seconds,
                     "active", o->active, "peers", peers);
}

int bundle_write_session(const struct diag_session *s, const char *dir,
                         const char *const *secrets, struct err *e)
{
    return bundle_write_session_note(s, dir, secrets, NULL, e);
}

int bundle_write_session_note(const struct diag_session *s, const char *dir, const char *const *secrets,
                              const char *note, struct err *e)
{
    if (!diag_done(s))
        return err_set(e, ERR_USAGE, "the diagnosis has not finished");
    size_t n = diag_raw_count(s);
    struct bundle_raw *raws = calloc(n ? n : 1, sizeof *raws);
    if (!raws)
        return err_set(e, ERR_INTERNAL, "out of memory");
    for (size_t i = 0; i < n; i++) {
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
        };
    }
    /* both ends' pcaps, as the session kept them (or read them, offline) */
    const char *pcaps[2] = {diag_pcap_path(s, 0), diag_pcap_path(s, 1)};
    /* the correlation of the two, with each end's own address as the session knew it */
    char *corr = NULL;
    if (pcaps[0] && pcaps[1]) {
        const struct peer_facts *fa = diag_peer_facts(s, 0), *fb = diag_peer_facts(s, 1);
        struct correlate_opts co;
        replay_correlate_opts(fa ? fa->ike.local_host : NULL, fb ? fb->ike.local_host : NULL, &co);
        /* and each end's capture span, as session.json records it for replay */
        for (int i = 0; i < 2; i++) {
            double ws, we;
            if (!diag_capture_window(s, i, &ws, &we))
                co.span[i] = correlate_span_of_seconds(ws, we);
        }
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
    json_t *rec = bundle_session_record(s);
    char *rec_text = rec ? json_dumps(rec, JSON_PRESERVE_ORDER) : NULL;
    json_decref(rec);
    if (!rec_text || report_json_text(&ri, &dj)) {
        free(raws);
        free(corr);
        free(rec_text);
        buf_free(&dj);
        return err_set(e, ERR_INTERNAL, "out of memory");
    }
    struct bundle_input in = {
        .peer = {{diag_peer_name(s, 0), true}, {diag_peer_name(s, 1), !diag_one_end(s)}},
        .raws = raws,
        .n_raws = n,
        .pcap = {pcaps[0], pcaps[1]},
        .findings = diag_findings(s),
        .findings_json = dj.data,
        .exit_status = diag_exit_status(s),
        .correlation_json = corr,
        .secrets = secrets,
        .note = note ? note : diag_other_end_note(s),
        .session_json = rec_text,
    };
    int r = bundle_write(&in, dir, e);
    buf_free(&dj);
    free(rec_text);
    free(corr);
    free(raws);
    return r;
}
