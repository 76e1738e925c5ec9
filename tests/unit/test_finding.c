/* playbook/finding: principal finding, step status, exit status. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "playbook/finding.h"

static void test_principal_is_first_failure_in_step_order(void **state)
{
    struct findings fs = FINDINGS_INIT;
    /* added out of order: a step-5 failure first, then a step-2 failure */
    assert_non_null(findings_add(&fs, "timers.dpd_aggressive", STEP_TIMERS, SEV_FAILURE, "raise dpd_delay",
                                 "DPD %d s over a lossy path", 3));
    assert_non_null(findings_add(&fs, "transport.natt", STEP_TRANSPORT, SEV_INFO, NULL, "NAT-T in use"));
    struct finding *f = findings_add(&fs, "reach.esp_lost_a_to_b", STEP_REACH, SEV_FAILURE,
                                     "escalate to the ISP of site B", "%d of %d ESP lost", 1243, 1243);
    assert_non_null(f);
    assert_int_equal(finding_add_evidence(f, "gw-a", "tcpdump", "SPI %08x", 0xc3b8a9d2u), 0);
    const struct finding *p = findings_principal(&fs);
    assert_non_null(p);
    assert_string_equal(p->id, "reach.esp_lost_a_to_b");
    assert_string_equal(p->title, "1243 of 1243 ESP lost");
    assert_int_equal(p->n_ev, 1);
    assert_string_equal(p->ev[0].detail, "SPI c3b8a9d2");
    assert_int_equal(findings_exit_status(&fs), 2);
    assert_int_equal(findings_step_status(&fs, STEP_TRANSPORT), STEP_INFO);
    assert_int_equal(findings_step_status(&fs, STEP_POLICY), STEP_OK);
    assert_int_equal(findings_step_status(&fs, STEP_REACH), STEP_FAILED);
    findings_free(&fs);
    findings_free(&fs); /* idempotent */
}

static void test_principal_falls_back_to_first_warning(void **state)
{
    struct findings fs = FINDINGS_INIT;
    findings_add(&fs, "mtu.mss_clamp_missing", STEP_MTU, SEV_WARNING, "clamp MSS to 1360", "no clamp");
    findings_add(&fs, "transport.natt", STEP_TRANSPORT, SEV_INFO, NULL, "NAT-T");
    assert_string_equal(findings_principal(&fs)->id, "mtu.mss_clamp_missing");
    assert_int_equal(findings_exit_status(&fs), 1);
    assert_non_null(findings_find(&fs, "transport.natt"));
    assert_null(findings_find(&fs, "nope"));
    findings_free(&fs);
}

static void test_healthy_has_no_principal_and_exit_zero(void **state)
{
    struct findings fs = FINDINGS_INIT;
    findings_add(&fs, "transport.natt", STEP_TRANSPORT, SEV_INFO, NULL, "NAT-T");
    assert_null(findings_principal(&fs));
    assert_int_equal(findings_exit_status(&fs), 0);
    findings_free(&fs);
}

static void test_step_names_are_stable(void **state)
{
    assert_string_equal(step_name(STEP_REACH), "reachability");
    assert_string_equal(step_name(9), "unknown");
    assert_string_equal(step_status_name(STEP_SKIPPED), "skipped");
    assert_string_equal(step_status_name(STEP_FAILED), "failure");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_principal_is_first_failure_in_step_order),
        cmocka_unit_test(test_principal_falls_back_to_first_warning),
        cmocka_unit_test(test_healthy_has_no_principal_and_exit_zero),
        cmocka_unit_test(test_step_names_are_stable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
