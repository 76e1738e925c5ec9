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
        cmocka_unit_test(test_replay_json_diff_names_the_first_difference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
