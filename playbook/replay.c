#include "playbook/replay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "playbook/correlate_json.h"
#include "playbook/finding_json.h"

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

int replay_correlate(const struct bundle *b, struct correlate_result **out, struct err *e)
{
    const char *pa = bundle_pcap_path(b, 0), *pb = bundle_pcap_path(b, 1);
    if (!pa || !pb)
        return err_set(e, ERR_NOT_FOUND, "the bundle lacks %s's capture",
                       !pa ? (bundle_peer_name(b, 0) ? bundle_peer_name(b, 0) : "A")
                           : (bundle_peer_name(b, 1) ? bundle_peer_name(b, 1) : "B"));
    struct correlate_opts o;
    replay_correlate_opts(given_local(b, "a"), given_local(b, "b"), &o);
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

int replay_check_run(const struct bundle *b, struct replay_check *c, struct err *e)
{
    memset(c, 0, sizeof *c);
    const json_t *saved = bundle_correlation_json(b);
    if (!saved || !bundle_pcap_path(b, 0) || !bundle_pcap_path(b, 1))
        return 0;
    c->correlation = replay_correlation_json(b, e);
    if (!c->correlation)
        return err_wrap(e, "recomputing the correlation");
    c->correlation_checked = true;
    c->correlation_equal = replay_json_diff(c->correlation, saved, c->correlation_diff,
                                            sizeof c->correlation_diff);
    return 0;
}

void replay_compare_findings(const struct bundle *b, const struct findings *recomputed,
                             struct replay_check *c)
{
    struct err e = {0};
    c->findings_checked = true;
    c->findings_equal = findings_equal(recomputed, bundle_findings(b), &e) == 1;
    snprintf(c->findings_diff, sizeof c->findings_diff, "%s", c->findings_equal ? "" : e.msg);
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

int replay_recompute_findings(const struct bundle *b, const json_t *correlation,
                              struct findings *out, struct err *e)
{
    (void)b;
    (void)correlation;
    (void)out;
    /* The diagnosis session (playbook/session.c) has no offline entry yet that
     * takes recorded outputs instead of running commands: say so, never pretend. */
    err_set(e, ERR_UNSUPPORTED, "this build's playbook cannot yet re-run its steps on recorded outputs");
    return 1;
}
