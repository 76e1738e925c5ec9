#include "playbook/report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "playbook/prose.h"
#include "playbook/session.h"

void report_from_session(const struct diag_session *s, struct report_in *out)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i < 2; i++) {
        out->peer[i] = diag_peer_name(s, i);
        out->conn[i] = diag_conn_name(s, i);
        out->facts[i] = diag_peer_facts(s, i);
    }
    out->fs = diag_findings(s);
    for (int k = STEP_FIRST; k <= STEP_LAST; k++) {
        out->status[k] = diag_step_status(s, k);
        out->step_seconds[k] = diag_step_seconds(s, k);
    }
    out->connect_seconds = diag_connect_seconds(s);
    out->total_seconds = diag_total_seconds(s);
    out->exit_status = diag_exit_status(s);
    out->reach = diag_reach_facts(s);
    out->capture_seconds = diag_options(s)->capture_seconds;
    out->active = diag_options(s)->active;
    out->other_end = diag_other_end_note(s);
}

const char *report_result_name(int exit_status)
{
    switch (exit_status) {
    case 0:
        return "ok";
    case 1:
        return "warning";
    case 2:
        return "failure";
    default:
        return "cannot_diagnose";
    }
}

static const char *sev_tag(enum severity s)
{
    switch (s) {
    case SEV_FAILURE:
        return "FAIL";
    case SEV_WARNING:
        return "WARN";
    case SEV_INFO:
        return "info";
    default:
        return " ok ";
    }
}

static const struct finding *principal(const struct report_in *r)
{
    return r->fs ? findings_principal(r->fs) : NULL;
}

static void evidence_line(struct buf *b, const struct evidence *e, const char *indent)
{
    buf_printf(b, "%s%s%s%s%s%s\n", indent, e->peer ? e->peer : "both", e->source ? ": " : "",
               e->source ? e->source : "", e->detail ? ": " : "", e->detail ? e->detail : "");
}

/* ---- text ------------------------------------------------------------------ */

int report_text(const struct report_in *r, struct buf *b)
{
    buf_printf(b, "tunnelscope diagnose %s <-> %s", r->peer[0] ? r->peer[0] : "?", r->peer[1] ? r->peer[1] : "?");
    if (r->conn[0] || r->conn[1])
        buf_printf(b, "   connection %s / %s", r->conn[0] ? r->conn[0] : "-", r->conn[1] ? r->conn[1] : "-");
    buf_puts(b, "\n\n");
    const struct finding *p = principal(r);
    const char *res = report_result_name(r->exit_status);
    if (r->exit_status == 3)
        buf_printf(b, "RESULT: could not diagnose%s%s\n", p ? ": " : "", p ? p->title : "");
    else if (p)
        buf_printf(b, "RESULT: %s: %s (step %d): %s\n", !strcmp(res, "failure") ? "FAILURE" : "WARNING", p->id,
                   p->step, p->title);
    else
        buf_puts(b, "RESULT: ok: nothing wrong found\n");
    if (p && p->decision)
        buf_printf(b, "  next: %s\n", p->decision);
    if (r->other_end)
        buf_printf(b, "\nONE END ONLY: %s\n", r->other_end);
    buf_puts(b, "\n");
    for (int k = STEP_FIRST; k <= STEP_LAST; k++) {
        char t[32];
        if (r->step_seconds[k] >= 0)
            snprintf(t, sizeof t, "%6.2f s", r->step_seconds[k]);
        else
            snprintf(t, sizeof t, "%8s", "-");
        buf_printf(b, "%d. %-42s %-8s %s\n", k, step_title(k), step_status_name(r->status[k]), t);
        for (size_t i = 0; r->fs && i < r->fs->n; i++) {
            const struct finding *f = &r->fs->v[i];
            if (f->step != k)
                continue;
            buf_printf(b, "   [%s] %s: %s\n", sev_tag(f->sev), f->id, f->title);
            if (f->sev >= SEV_WARNING) {
                for (size_t e = 0; e < f->n_ev; e++)
                    evidence_line(b, &f->ev[e], "          ");
                if (f->decision)
                    buf_printf(b, "          next: %s\n", f->decision);
            }
        }
    }
    buf_printf(b, "\ntime: connect %.2f s, total %.2f s", r->connect_seconds, r->total_seconds);
    if (r->capture_seconds)
        buf_printf(b, " (capture window %u s)", r->capture_seconds);
    buf_printf(b, "\nexit status %d (%s)\n", r->exit_status, res);
    return b->data ? 0 : -1;
}

/* ---- Markdown ---------------------------------------------------------------- */

static void md_escape(struct buf *b, const char *s)
{
    for (; s && *s; s++) {
        if (strchr("\\`*_[]<>|", *s))
            buf_puts(b, "\\");
        buf_append(b, s, 1);
    }
}

int report_markdown(const struct report_in *r, struct buf *b)
{
    buf_puts(b, "# IPsec tunnel diagnosis: ");
    md_escape(b, r->peer[0]);
    buf_puts(b, " and ");
    md_escape(b, r->peer[1]);
    buf_puts(b, "\n\n");
    if (r->conn[0] || r->conn[1]) {
        buf_puts(b, "Connection: ");
        md_escape(b, r->conn[0] ? r->conn[0] : "-");
        buf_puts(b, " / ");
        md_escape(b, r->conn[1] ? r->conn[1] : "-");
        buf_puts(b, "\n\n");
    }
    const struct finding *p = principal(r);
    buf_printf(b, "**Result: %s** (exit status %d)", report_result_name(r->exit_status), r->exit_status);
    if (p) {
        buf_printf(b, ". Principal finding, step %d, `%s`: ", p->step, p->id);
        md_escape(b, p->title);
        if (p->decision) {
            buf_puts(b, "\n\n> ");
            md_escape(b, p->decision);
        }
    }
    if (r->other_end) {
        buf_puts(b, "\n\n> **One end only.** ");
        md_escape(b, r->other_end);
    }
    buf_puts(b, "\n\n| step | status | time |\n|---|---|---|\n");
    for (int k = STEP_FIRST; k <= STEP_LAST; k++) {
        buf_printf(b, "| %d. %s | %s | ", k, step_title(k), step_status_name(r->status[k]));
        if (r->step_seconds[k] >= 0)
            buf_printf(b, "%.2f s |\n", r->step_seconds[k]);
        else
            buf_puts(b, "- |\n");
    }
    for (int k = STEP_FIRST; k <= STEP_LAST; k++) {
        buf_printf(b, "\n## %d. %s: %s\n\n", k, step_title(k), step_status_name(r->status[k]));
        char *checks = prose_step_checks(k);
        if (checks) {
            buf_puts(b, "_What it checks:_ ");
            buf_puts(b, checks);
            buf_puts(b, "\n\n");
            free(checks);
        }
        for (size_t i = 0; r->fs && i < r->fs->n; i++) {
            const struct finding *f = &r->fs->v[i];
            if (f->step != k)
                continue;
            buf_printf(b, "- **%s** `%s`: ", severity_name(f->sev), f->id);
            md_escape(b, f->title);
            buf_puts(b, "\n");
            for (size_t e = 0; e < f->n_ev; e++) {
                buf_puts(b, "  - ");
                md_escape(b, f->ev[e].peer ? f->ev[e].peer : "both");
                if (f->ev[e].source) {
                    buf_puts(b, ", `");
                    buf_puts(b, f->ev[e].source);
                    buf_puts(b, "`");
                }
                if (f->ev[e].detail) {
                    buf_puts(b, ": ");
                    md_escape(b, f->ev[e].detail);
                }
                buf_puts(b, "\n");
            }
            if (f->sev >= SEV_WARNING && f->decision) {
                buf_puts(b, "  - _Decision:_ ");
                md_escape(b, f->decision);
                buf_puts(b, "\n");
            }
        }
    }
    buf_printf(b, "\n---\nConnect %.2f s, total %.2f s.\n", r->connect_seconds, r->total_seconds);
    return b->data ? 0 : -1;
}

/* ---- JSON ------------------------------------------------------------------ */

static json_t *jstr(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *jnum_or_null(double v)
{
    return v >= 0 ? json_real(v) : json_null();
}

static json_t *jint_or_null(long long v)
{
    return v >= 0 ? json_integer(v) : json_null();
}

static json_t *jtri(enum tri t)
{
    return t == TRI_YES ? json_true() : t == TRI_NO ? json_false() : json_null();
}

static json_t *jlist(const char *const *v)
{
    json_t *a = json_array();
    for (int i = 0; a && i < PF_MAX && v[i]; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

static json_t *finding_json(const struct finding *f)
{
    json_t *ev = json_array();
    for (size_t i = 0; ev && i < f->n_ev; i++)
        json_array_append_new(ev, json_pack("{s:o, s:o, s:o}", "peer", jstr(f->ev[i].peer), "source",
                                            jstr(f->ev[i].source), "detail", jstr(f->ev[i].detail)));
    return json_pack("{s:s, s:i, s:s, s:s, s:o, s:o}", "id", f->id, "step", f->step, "severity",
                     severity_name(f->sev), "title", f->title, "decision", jstr(f->decision), "evidence",
                     ev ? ev : json_array());
}

static json_t *peer_json(const struct report_in *r, int i)
{
    const struct peer_facts *f = r->facts[i];
    json_t *o = json_pack("{s:s, s:s, s:o}", "side", i ? "b" : "a", "name", r->peer[i] ? r->peer[i] : "?",
                          "connection", jstr(r->conn[i]));
    if (o && r->other_end)
        json_object_set_new(o, "collected", json_boolean(i == 0));
    if (!o || !f || (r->other_end && i == 1))
        return o;
    json_object_set_new(o, "connected", json_boolean(f->connected));
    json_object_set_new(o, "daemon", jstr(f->daemon));
    if (f->ike.state) {
        json_object_set_new(o, "ike",
                            json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "state", f->ike.state, "local_host",
                                      jstr(f->ike.local_host), "local_port", jint_or_null(f->ike.local_port),
                                      "remote_host", jstr(f->ike.remote_host), "remote_port",
                                      jint_or_null(f->ike.remote_port), "nat_local", jtri(f->ike.nat_local),
                                      "nat_remote", jtri(f->ike.nat_remote), "proposal", jstr(f->ike.proposal)));
    } else {
        json_object_set_new(o, "ike", json_null());
    }
    if (f->child.state) {
        char in[16], out[16];
        snprintf(in, sizeof in, "%08x", f->child.spi_in);
        snprintf(out, sizeof out, "%08x", f->child.spi_out);
        json_object_set_new(o, "child",
                            json_pack("{s:s, s:o, s:s, s:s, s:o, s:o, s:o, s:o}", "state", f->child.state, "encap",
                                      jtri(f->child.encap), "spi_in", in, "spi_out", out, "packets_in",
                                      jint_or_null(f->child.packets_in), "packets_out",
                                      jint_or_null(f->child.packets_out), "local_ts", jlist(f->child.local_ts),
                                      "remote_ts", jlist(f->child.remote_ts)));
    } else {
        json_object_set_new(o, "child", json_null());
    }
    json_object_set_new(o, "local_ts", jlist(f->conn.local_ts));
    json_object_set_new(o, "remote_ts", jlist(f->conn.remote_ts));
    return o;
}

static json_t *dir_json(const struct reach_dir *d)
{
    json_t *spis = json_array();
    for (int i = 0; spis && i < d->n_spis && i < 4; i++) {
        char t[16];
        snprintf(t, sizeof t, "%08x", d->spis[i].spi);
        json_array_append_new(spis, json_pack("{s:s, s:I, s:I, s:I}", "spi", t, "sent", (json_int_t)d->spis[i].sent,
                                              "received", (json_int_t)d->spis[i].received, "lost",
                                              (json_int_t)d->spis[i].lost));
    }
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:i, s:o}", "esp_sent",
                     (json_int_t)d->esp_sent, "esp_received", (json_int_t)d->esp_received, "esp_lost",
                     (json_int_t)d->esp_lost, "esp_duplicated", (json_int_t)d->esp_dup, "esp_reordered",
                     (json_int_t)d->esp_reorder, "udp4500_sent", (json_int_t)d->udp4500_sent, "udp4500_received",
                     (json_int_t)d->udp4500_received, "keepalives_sent", (json_int_t)d->ka_sent,
                     "keepalives_received", (json_int_t)d->ka_received, "ike_sa_init", (json_int_t)d->ike_sa_init,
                     "delay_median_ms", jnum_or_null(d->delay_median_ms), "delay_p99_ms",
                     jnum_or_null(d->delay_p99_ms), "nat_mapping_changes", d->mapping_changes, "spis",
                     spis ? spis : json_array());
}

json_t *report_json(const struct report_in *r)
{
    json_t *root = json_object();
    if (!root)
        return NULL;
    json_object_set_new(root, "schema", json_string("tunnelscope.diagnose/1"));
    json_object_set_new(root, "version", json_string(TS_VERSION));
    json_object_set_new(root, "result", json_string(report_result_name(r->exit_status)));
    json_object_set_new(root, "exit_status", json_integer(r->exit_status));
    json_t *peers = json_array();
    for (int i = 0; peers && i < 2; i++)
        json_array_append_new(peers, peer_json(r, i));
    json_object_set_new(root, "peers", peers ? peers : json_array());
    const struct finding *p = principal(r);
    json_object_set_new(root, "principal", p ? finding_json(p) : json_null());
    json_t *steps = json_array();
    for (int k = STEP_FIRST; steps && k <= STEP_LAST; k++) {
        json_t *fl = json_array();
        for (size_t i = 0; fl && r->fs && i < r->fs->n; i++)
            if (r->fs->v[i].step == k)
                json_array_append_new(fl, finding_json(&r->fs->v[i]));
        json_array_append_new(steps, json_pack("{s:i, s:s, s:s, s:s, s:o, s:o}", "step", k, "name", step_name(k),
                                               "title", step_title(k), "status", step_status_name(r->status[k]),
                                               "seconds", jnum_or_null(r->step_seconds[k]), "findings",
                                               fl ? fl : json_array()));
    }
    json_object_set_new(root, "steps", steps ? steps : json_array());
    if (r->other_end)
        json_object_set_new(root, "one_end",
                            json_pack("{s:s, s:s}", "collected", r->peer[0] ? r->peer[0] : "?",
                                      "other_end_must_supply", r->other_end));
    json_object_set_new(root, "timings",
                        json_pack("{s:o, s:o, s:i}", "connect_seconds", jnum_or_null(r->connect_seconds),
                                  "total_seconds", jnum_or_null(r->total_seconds), "capture_seconds",
                                  (int)r->capture_seconds));
    if (r->reach && r->reach->ran)
        json_object_set_new(root, "reachability",
                            json_pack("{s:f, s:o, s:o, s:o}", "window_seconds", r->reach->window_s, "clock_offset",
                                      jstr(r->reach->offset_method), "a_to_b", dir_json(&r->reach->a_to_b),
                                      "b_to_a", dir_json(&r->reach->b_to_a)));
    else
        json_object_set_new(root, "reachability", json_null());
    return root;
}

int report_json_text(const struct report_in *r, struct buf *out)
{
    json_t *j = report_json(r);
    if (!j)
        return -1;
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(j);
    if (!s)
        return -1;
    int rc = buf_puts(out, s) || buf_puts(out, "\n") ? -1 : 0;
    free(s);
    return rc;
}
