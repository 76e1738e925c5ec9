/* The offline diagnosis (diag_new_offline) and `replay --check` on the shipped
 * sample bundles (real lab incidents, assets/samples/): the five steps run
 * again on the recorded outputs and pcaps give the saved findings, and a
 * changed recorded output changes the findings the way the live steps would. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "playbook/bundle.h"
#include "playbook/replay.h"
#include "playbook/report.h"
#include "playbook/session.h"

static struct bundle *open_sample(const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/assets/samples/%s.tar.gz", TS_SOURCE_DIR, name);
    struct err e = {0};
    struct bundle *b = bundle_open(path, &e);
    if (!b)
        fail_msg("%s: %s", path, e.msg);
    return b;
}

static const struct finding *find(const struct findings *fs, const char *id)
{
    for (size_t i = 0; i < fs->n; i++)
        if (!strcmp(fs->v[i].id, id))
            return &fs->v[i];
    return NULL;
}

static void test_replay_check_recomputes_the_saved_findings_of_each_sample(void **state)
{
    (void)state;
    const char *names[] = {"esp-drop-to-b", "udp4500-drop-to-a"};
    for (size_t k = 0; k < 2; k++) {
        struct bundle *b = open_sample(names[k]);
        struct replay_check c;
        struct err e = {0};
        assert_int_equal(replay_check_run(b, &c, &e), 0);
        assert_true(c.findings_checked);
        if (!c.findings_equal)
            fail_msg("%s: %s", names[k], c.findings_diff);
        assert_true(c.correlation_checked && c.correlation_equal);
        assert_int_equal(c.unused_records, 0);
        assert_true(replay_check_ok(&c));
        replay_check_free(&c);
        bundle_free(b);
    }
}

static void test_offline_session_finds_the_sample_principal_finding(void **state)
{
    (void)state;
    struct bundle *b = open_sample("esp-drop-to-b");
    struct diag_session *s = NULL;
    struct err e = {0};
    assert_int_equal(replay_session(b, &s, &e), 0);
    assert_true(diag_done(s));
    assert_true(diag_is_offline(s));
    const struct finding *p = findings_principal(diag_findings(s));
    assert_non_null(p);
    assert_string_equal(p->id, "reach.esp_lost_a_to_b");
    assert_int_equal(p->step, STEP_REACH);
    assert_int_equal(diag_exit_status(s), 2);
    /* every recorded output is kept again as this session's evidence */
    assert_int_equal(diag_raw_count(s), bundle_raw_count(b));
    /* a recorded diagnosis has no peer to re-run a step on */
    assert_int_equal(diag_rerun_step(s, STEP_REACH, &e), -1);
    diag_free(s);
    bundle_free(b);
}

/* The findings come from the recorded outputs: gw-b's `ss -ulnp` without its
 * UDP/4500 sockets makes step 1 report the missing listener on gw-b. */
static void test_offline_session_parses_the_recorded_outputs(void **state)
{
    (void)state;
    struct bundle *b = open_sample("esp-drop-to-b");
    struct diag_record r;
    struct err e = {0};
    assert_int_equal(replay_record(b, &r, &e), 0);
    struct diag_raw *raws = (struct diag_raw *)r.raws;
    char *edited = NULL;
    for (size_t i = 0; i < r.n_raws; i++) {
        if (raws[i].side != 1 || strcmp(raws[i].what, "ss -ulnp"))
            continue;
        /* keep the header and the UDP/500 lines */
        size_t n = strlen(raws[i].output);
        edited = calloc(n + 1, 1);
        assert_non_null(edited);
        for (const char *l = raws[i].output; *l;) {
            size_t len = strcspn(l, "\n");
            if (!memmem(l, len, ":4500 ", 6))
                strncat(edited, l, len + (l[len] == '\n'));
            l += len + (l[len] == '\n');
        }
        raws[i].output = edited;
    }
    assert_non_null(edited);
    struct diag_opts o;
    replay_options(b, &o);
    struct diag_session *s = diag_new_offline(&r, &o, &e);
    assert_non_null(s);
    assert_int_equal(diag_start(s, &e), 0);
    const struct finding *f = find(diag_findings(s), "transport.no_listener");
    assert_non_null(f);
    assert_non_null(strstr(f->title, "gw-b"));
    assert_non_null(strstr(f->title, "UDP/4500"));
    assert_int_equal(diag_peer_facts(s, 1)->listen4500, TRI_NO);
    assert_int_equal(diag_peer_facts(s, 0)->listen4500, TRI_YES);
    diag_free(s);
    free(edited);
    replay_record_free(&r);
    bundle_free(b);
}

/* Step 2 reads the recorded pcaps: without gw-b's capture the two-end
 * correlation cannot run, and says why (the SA counters still speak). */
static void test_offline_session_reads_the_recorded_captures(void **state)
{
    (void)state;
    struct bundle *b = open_sample("esp-drop-to-b");
    struct diag_record r;
    struct err e = {0};
    assert_int_equal(replay_record(b, &r, &e), 0);
    r.peer[1].pcap = NULL;
    struct diag_opts o;
    replay_options(b, &o);
    struct diag_session *s = diag_new_offline(&r, &o, &e);
    assert_non_null(s);
    assert_int_equal(diag_start(s, &e), 0);
    const struct reach_facts *rf = diag_reach_facts(s);
    assert_non_null(rf);
    assert_false(rf->ran);
    assert_non_null(strstr(rf->error, "tcpdump on gw-b produced no capture"));
    diag_free(s);
    replay_record_free(&r);
    bundle_free(b);
}

/* A diagnosis whose step 5 was re-run: the re-run's outputs (run 1) answer
 * only the re-run, the first run's (run 0, superseded for step 5) only the
 * first run.  gw-b's connections as re-read say a CHILD_SA rekey of 600 s
 * (was 3600): step 5 of the recomputed findings judges that; steps 1-4 stay
 * those of the first run; nothing recorded is left unused. */
static void test_offline_session_reruns_a_step_on_that_runs_outputs(void **state)
{
    (void)state;
    struct bundle *b = open_sample("esp-drop-to-b");
    struct diag_record r;
    struct err e = {0};
    assert_int_equal(replay_record(b, &r, &e), 0);
    struct diag_raw *raws = calloc(r.n_raws + 2, sizeof *raws);
    assert_non_null(raws);
    memcpy(raws, r.raws, r.n_raws * sizeof *raws);
    size_t n = r.n_raws;
    char *edited = NULL;
    for (size_t i = 0; i < r.n_raws; i++) {
        if (strcmp(raws[i].what, "swanctl --list-conns --raw"))
            continue;
        raws[n] = raws[i];
        raws[n].run = 1;
        raws[n].step = STEP_TIMERS;
        if (raws[i].side == 1) {
            const char *o = raws[i].output, *at = strstr(o, "rekey_time=3600");
            assert_non_null(at);
            edited = malloc(strlen(o) + 1);
            assert_non_null(edited);
            snprintf(edited, strlen(o) + 1, "%.*srekey_time=600%s", (int)(at - o), o, at + strlen("rekey_time=3600"));
            raws[n].output = edited;
        }
        n++;
    }
    assert_int_equal(n, r.n_raws + 2);
    struct diag_record_run rerun = {.step = STEP_TIMERS};
    struct diag_record rr = r;
    rr.raws = raws;
    rr.n_raws = n;
    rr.reruns = &rerun;
    rr.n_reruns = 1;
    struct diag_opts o;
    replay_options(b, &o);
    struct diag_session *s = diag_new_offline(&rr, &o, &e);
    assert_non_null(s);
    assert_int_equal(diag_start(s, &e), 0);
    assert_true(diag_done(s));
    assert_int_equal(diag_unused_records(s), 0);
    assert_int_equal(diag_run_count(s), 2);
    assert_int_equal(diag_run_step(s, 1), STEP_TIMERS);
    const struct findings *fs = diag_findings(s), *saved = bundle_findings(b);
    assert_non_null(find(fs, "timers.lifetime_mismatch"));
    assert_null(find(saved, "timers.lifetime_mismatch"));
    for (size_t i = 0; i < saved->n; i++)
        if (saved->v[i].step < STEP_TIMERS)
            assert_non_null(find(fs, saved->v[i].id));
    /* the re-run's outputs are kept as run 1 */
    size_t in_run1 = 0;
    for (size_t i = 0; i < diag_raw_count(s); i++)
        in_run1 += diag_raw_get(s, i)->run == 1;
    assert_int_equal(in_run1, 2);
    diag_free(s);
    free(edited);
    free(raws);
    replay_record_free(&r);
    bundle_free(b);
}

static void test_replay_json_diff_names_the_first_difference(void **state)
{
    (void)state;
    json_t *x = json_pack("{s:[{s:s, s:[{s:s}]}]}", "steps", "name", "reach", "findings", "title", "76 of 76 lost");
    json_t *y = json_pack("{s:[{s:s, s:[{s:s}]}]}", "steps", "name", "reach", "findings", "title", "75 of 76 lost");
    char diff[256];
    assert_int_equal(replay_json_diff(x, x, diff, sizeof diff), 1);
    assert_string_equal(diff, "");
    assert_int_equal(replay_json_diff(x, y, diff, sizeof diff), 0);
    assert_string_equal(diff, "steps[0].findings[0].title: \"76 of 76 lost\" vs \"75 of 76 lost\"");
    /* what says how long the run took is not compared */
    json_t *t1 = json_pack("{s:{s:f}, s:[{s:f, s:s}]}", "timings", "total_seconds", 9.5, "steps", "seconds", 1.0,
                           "status", "ok");
    json_t *t2 = json_pack("{s:{s:f}, s:[{s:f, s:s}]}", "timings", "total_seconds", 7.5, "steps", "seconds", 2.0,
                           "status", "ok");
    json_t *c1 = replay_comparable(t1), *c2 = replay_comparable(t2);
    assert_int_equal(replay_json_diff(c1, c2, diff, sizeof diff), 1);
    json_decref(x);
    json_decref(y);
    json_decref(t1);
    json_decref(t2);
    json_decref(c1);
    json_decref(c2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay_check_recomputes_the_saved_findings_of_each_sample),
        cmocka_unit_test(test_offline_session_finds_the_sample_principal_finding),
        cmocka_unit_test(test_offline_session_parses_the_recorded_outputs),
        cmocka_unit_test(test_offline_session_reads_the_recorded_captures),
        cmocka_unit_test(test_offline_session_reruns_a_step_on_that_runs_outputs),
        cmocka_unit_test(test_replay_json_diff_names_the_first_difference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
