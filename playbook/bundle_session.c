#include "playbook/bundle_session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "playbook/bundle.h"
#include "playbook/correlate_json.h"
#include "playbook/replay.h"
#include "playbook/report.h"

int bundle_write_session(const struct diag_session *s, const char *dir,
                         const char *const *secrets, struct err *e)
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
            .started = d->started,
            .ended = d->started + (d->seconds > 0 ? d->seconds : 0),
        };
    }
    /* both ends' pcaps, as the session kept them */
    const struct diag_opts *o = diag_options(s);
    char pcap[2][4096];
    const char *pcaps[2] = {NULL, NULL};
    for (int side = 0; o->pcap_dir && side < 2; side++) {
        snprintf(pcap[side], sizeof pcap[side], "%s/%s.pcap", o->pcap_dir, side ? "b" : "a");
        if (!access(pcap[side], R_OK))
            pcaps[side] = pcap[side];
    }
    /* the correlation of the two, with each end's own address as the session knew it */
    char *corr = NULL;
    if (pcaps[0] && pcaps[1]) {
        const struct peer_facts *fa = diag_peer_facts(s, 0), *fb = diag_peer_facts(s, 1);
        struct correlate_opts co;
        replay_correlate_opts(fa ? fa->ike.local_host : NULL, fb ? fb->ike.local_host : NULL, &co);
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
    if (report_json_text(&ri, &dj)) {
        free(raws);
        free(corr);
        return err_set(e, ERR_INTERNAL, "out of memory");
    }
    struct bundle_input in = {
        .peer = {{diag_peer_name(s, 0), true}, {diag_peer_name(s, 1), true}},
        .raws = raws,
        .n_raws = n,
        .pcap = {pcaps[0], pcaps[1]},
        .findings = diag_findings(s),
        .findings_json = dj.data,
        .exit_status = diag_exit_status(s),
        .correlation_json = corr,
        .secrets = secrets,
    };
    int r = bundle_write(&in, dir, e);
    buf_free(&dj);
    free(corr);
    free(raws);
    return r;
}
