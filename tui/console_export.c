#include "tui/console_export.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "playbook/bundle_session.h"
#include "playbook/correlate.h"
#include "playbook/correlate_json.h"
#include "playbook/replay.h"
#include "playbook/session.h"

static void name_safe(char *out, size_t n, const char *in)
{
    size_t o = 0;
    for (; in && *in && o + 1 < n; in++)
        out[o++] = ((*in >= 'a' && *in <= 'z') || (*in >= 'A' && *in <= 'Z') || (*in >= '0' && *in <= '9') ||
                    *in == '-' || *in == '_' || *in == '.') ? *in : '_';
    out[o] = '\0';
}

/* No finished diagnosis: the captures, the console's outputs and what is on
 * screen; session.json keeps the declared spans (replay's correlation). */
static int export_plain(const struct console_export_in *x, const char *dir, struct err *e)
{
    struct bundle_input in = {0};
    for (int i = 0; i < 2; i++) {
        in.peer[i].name = x->peer[i];
        in.peer[i].collected = x->collected[i];
        in.pcap[i] = x->pcap[i];
    }
    struct bundle_raw *raws = calloc(x->n_raws ? x->n_raws : 1, sizeof *raws);
    if (!raws)
        return err_set(e, ERR_INTERNAL, "out of memory");
    for (size_t i = 0; i < x->n_raws; i++) {
        raws[i] = x->raws[i];
        raws[i].origin = "console";
    }
    in.raws = raws;
    in.n_raws = x->n_raws;
    in.findings = x->findings;
    in.exit_status = -1;
    struct correlate_opts co;
    replay_correlate_opts(NULL, NULL, &co);
    json_t *peers = json_array();
    for (int i = 0; peers && i < 2; i++) {
        bool w = x->window[i][0] > 0 && x->window[i][1] > x->window[i][0];
        if (w)
            co.span[i] = correlate_span_of_seconds(x->window[i][0], x->window[i][1]);
        json_array_append_new(peers, json_pack("{s:s, s:s, s:b, s:b, s:o, s:o}", "side", i ? "b" : "a", "name",
                                               x->peer[i] ? x->peer[i] : "", "collected", x->collected[i],
                                               "connected", x->collected[i], "connect_error", json_null(),
                                               "capture_window",
                                               w ? json_pack("{s:f, s:f}", "start_s", x->window[i][0], "end_s",
                                                             x->window[i][1])
                                                 : json_null()));
    }
    json_t *sj = peers ? json_pack("{s:s, s:o}", "schema", "tunnelscope.session/1", "peers", peers) : NULL;
    char *session = sj ? json_dumps(sj, JSON_PRESERVE_ORDER) : NULL;
    json_decref(sj);
    in.session_json = session;
    char *corr = NULL;
    if (in.pcap[0] && in.pcap[1]) {
        struct correlate_result *res = NULL;
        if (correlate_files(in.pcap[0], in.pcap[1], &co, &res, e) == 0) {
            json_t *j = correlate_result_json(res, in.peer[0].name, in.peer[1].name);
            corr = j ? json_dumps(j, JSON_PRESERVE_ORDER) : NULL;
            json_decref(j);
        }
        correlate_result_free(res);
    }
    in.correlation_json = corr;
    in.note = "Exported from the tunnelscope console before its diagnosis finished: the findings are those "
              "on screen and cannot be recomputed from the bundle.";
    int r = session ? bundle_write(&in, dir, e) : err_set(e, ERR_INTERNAL, "out of memory");
    free(session);
    free(corr);
    free(raws);
    return r;
}

int console_export(const struct console_export_in *x, char *dir, size_t dir_size, bool *recomputable,
                   struct err *e)
{
    char conn[64], stamp[32];
    name_safe(conn, sizeof conn, x->conn && *x->conn ? x->conn : "tunnel");
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    snprintf(dir, dir_size, "tunnelscope-%s-%s", conn, stamp);
    *recomputable = x->diag && diag_done(x->diag);
    if (!*recomputable)
        return export_plain(x, dir, e);
    struct bundle_session_extra ex = {
        .raws = x->raws,
        .n_raws = x->n_raws,
        .note = "Exported from the tunnelscope console: pcap/ holds each end's capture as the console took it "
                "(correlation.json), pcap/diagnosis* the captures the five steps judged.",
    };
    for (int i = 0; i < 2; i++) {
        ex.pcap[i] = x->pcap[i];
        ex.window[i][0] = x->window[i][0];
        ex.window[i][1] = x->window[i][1];
    }
    return bundle_write_session_ex(x->diag, &ex, dir, NULL, e);
}
