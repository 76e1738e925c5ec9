/* playbook/report: the JSON schema of assets/diagnose-json.md, the text report
 * with per-step timing, the Markdown report; built from literal findings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <string.h>

#include "playbook/report.h"

static void fill(struct findings *fs, struct report_in *r)
{
    struct finding *f = findings_add(fs, "transport.natt", STEP_TRANSPORT, SEV_INFO, NULL, "NAT-T in use");
    assert_non_null(f);
    f = findings_add(fs, "reach.esp_lost_a_to_b", STEP_REACH, SEV_FAILURE, "escalate",
                     "%d of %d ESP packets sent by gw-a did not arrive at gw-b", 116, 116);
    assert_non_null(f);
    assert_int_equal(finding_add_evidence(f, NULL, "capture A+B", "SPI %08x: 116 sent, 0 received", 0x20d11d01u), 0);
    assert_non_null(findings_add(fs, "timers.ok", STEP_TIMERS, SEV_OK, NULL, "fine"));
    memset(r, 0, sizeof *r);
    r->peer[0] = "gw-a";
    r->peer[1] = "gw-b";
    r->conn[0] = r->conn[1] = "site";
    r->fs = fs;
    for (int k = STEP_FIRST; k <= STEP_LAST; k++) {
        r->status[k] = findings_step_status(fs, k);
        r->step_seconds[k] = 0.5 * k;
    }
    r->connect_seconds = 0.3;
    r->total_seconds = 9.8;
    r->exit_status = findings_exit_status(fs);
    r->capture_seconds = 5;
}

static void test_json_follows_the_documented_schema(void **state)
{
    struct findings fs = FINDINGS_INIT;
    struct report_in r;
    fill(&fs, &r);
    struct buf b = BUF_INIT;
    assert_int_equal(report_json_text(&r, &b), 0);
    json_error_t je;
    json_t *j = json_loads(b.data, 0, &je);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "schema")), "tunnelscope.diagnose/1");
    assert_string_equal(json_string_value(json_object_get(j, "result")), "failure");
    assert_int_equal(json_integer_value(json_object_get(j, "exit_status")), 2);
    json_t *p = json_object_get(j, "principal");
    assert_string_equal(json_string_value(json_object_get(p, "id")), "reach.esp_lost_a_to_b");
    assert_int_equal(json_integer_value(json_object_get(p, "step")), 2);
    json_t *ev = json_array_get(json_object_get(p, "evidence"), 0);
    assert_true(json_is_null(json_object_get(ev, "peer")));
    assert_string_equal(json_string_value(json_object_get(ev, "source")), "capture A+B");
    json_t *steps = json_object_get(j, "steps");
    assert_int_equal(json_array_size(steps), 5);
    json_t *s2 = json_array_get(steps, 1);
    assert_string_equal(json_string_value(json_object_get(s2, "name")), "reachability");
    assert_string_equal(json_string_value(json_object_get(s2, "status")), "failure");
    assert_true(json_real_value(json_object_get(s2, "seconds")) == 1.0);
    json_t *peers = json_object_get(j, "peers");
    assert_string_equal(json_string_value(json_object_get(json_array_get(peers, 1), "name")), "gw-b");
    assert_string_equal(json_string_value(json_object_get(json_array_get(peers, 0), "side")), "a");
    assert_true(json_is_null(json_object_get(j, "reachability")));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "timings"), "capture_seconds")), 5);
    json_decref(j);
    buf_free(&b);
    findings_free(&fs);
}

static void test_text_report_names_the_principal_and_times_each_step(void **state)
{
    struct findings fs = FINDINGS_INIT;
    struct report_in r;
    fill(&fs, &r);
    struct buf b = BUF_INIT;
    assert_int_equal(report_text(&r, &b), 0);
    assert_non_null(strstr(b.data, "RESULT: FAILURE: reach.esp_lost_a_to_b (step 2)"));
    assert_non_null(strstr(b.data, "  next: escalate"));
    assert_non_null(strstr(b.data, "2. UDP/4500 reachability"));
    assert_non_null(strstr(b.data, "  1.00 s"));
    assert_non_null(strstr(b.data, "SPI 20d11d01"));
    assert_non_null(strstr(b.data, "exit status 2 (failure)"));
    buf_free(&b);
    assert_int_equal(report_markdown(&r, &b), 0);
    assert_non_null(strstr(b.data, "**Result: failure** (exit status 2)"));
    assert_non_null(strstr(b.data, "`reach.esp_lost_a_to_b`"));
    assert_non_null(strstr(b.data, "_What it checks:_")); /* step prose from assets/playbook.md */
    buf_free(&b);
    findings_free(&fs);
}

static void test_healthy_and_cannot_diagnose_results(void **state)
{
    struct findings fs = FINDINGS_INIT;
    assert_non_null(findings_add(&fs, "transport.natt", STEP_TRANSPORT, SEV_INFO, NULL, "NAT-T"));
    struct report_in r = {.peer = {"a", "b"}, .fs = &fs, .exit_status = 0};
    struct buf b = BUF_INIT;
    assert_int_equal(report_text(&r, &b), 0);
    assert_non_null(strstr(b.data, "RESULT: ok: nothing wrong found"));
    buf_free(&b);
    json_t *j = report_json(&r);
    assert_true(json_is_null(json_object_get(j, "principal")));
    json_decref(j);
    r.exit_status = 3;
    assert_string_equal(report_result_name(3), "cannot_diagnose");
    assert_int_equal(report_text(&r, &b), 0);
    assert_non_null(strstr(b.data, "RESULT: could not diagnose"));
    buf_free(&b);
    findings_free(&fs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_follows_the_documented_schema),
        cmocka_unit_test(test_text_report_names_the_principal_and_times_each_step),
        cmocka_unit_test(test_healthy_and_cannot_diagnose_results),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
