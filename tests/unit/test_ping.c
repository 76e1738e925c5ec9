/* ping parser on real iputils 20221126 outputs (tests/fixtures/ping/README.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "probes/ping.h"

static void load(const char *rel, struct ping_fact *p)
{
    size_t n;
    char *t = fixture_load(rel, &n);
    struct err e = {0};
    if (ping_parse(t, n, p, &e) != 0)
        fail_msg("%s: %s", rel, e.msg);
    free(t);
}

static void test_ping_through_tunnel_reads_loss_and_rtt(void **state)
{
    struct ping_fact p;
    load("ping/ping.gw-a.txt", &p);
    assert_string_equal(p.dst, "10.20.0.1");
    assert_string_equal(p.from, "10.10.0.1");
    assert_int_equal(p.payload.v, 56);
    assert_int_equal(p.packet.v, 84);
    assert_int_equal(p.transmitted.v, 5);
    assert_int_equal(p.received.v, 5);
    assert_int_equal(p.replies, 5);
    assert_int_equal(p.rtt_min_us.v, 934);
    assert_int_equal(p.rtt_avg_us.v, 1480);
    assert_int_equal(p.rtt_max_us.v, 2554);
    assert_int_equal(p.rtt_mdev_us.v, 576);
    assert_false(p.local_error_mtu.known);
    assert_false(p.errors.known);
}

static void test_ping_total_loss_has_no_rtt(void **state)
{
    struct ping_fact p;
    load("ping/ping-loss.gw-a.txt", &p);
    assert_int_equal(p.transmitted.v, 3);
    assert_int_equal(p.received.v, 0);
    assert_false(p.rtt_avg_us.known);
}

static void test_ping_df_reports_local_mtu_error(void **state)
{
    struct ping_fact p;
    load("ping/ping-df-toobig.gw-a.txt", &p);
    assert_int_equal(p.payload.v, 1500);
    assert_int_equal(p.packet.v, 1528);
    assert_int_equal(p.local_error_mtu.v, 1400);
    assert_int_equal(p.errors.v, 2);
    assert_int_equal(p.received.v, 0);
    load("ping/ping-df-ok.gw-a.txt", &p);
    assert_int_equal(p.received.v, 2);
    assert_false(p.local_error_mtu.known);
}

static void test_ping_reports_router_frag_needed(void **state)
{
    struct ping_fact p;
    load("ping/ping-fragneeded.gw-a.txt", &p);
    assert_int_equal(p.frag_needed_mtu.v, 1400);
    assert_string_equal(p.frag_needed_from, "192.168.77.1");
    assert_int_equal(p.local_error_mtu.v, 1400);
}

static void test_ping_that_cannot_start_keeps_its_error(void **state)
{
    struct ping_fact p;
    load("ping/ping-unreachable.txt", &p);
    assert_string_equal(p.error, "connect: Network is unreachable");
    assert_false(p.transmitted.known);
}

static void test_ping_interrupted_or_garbled_is_an_error(void **state)
{
    size_t n;
    char *t = fixture_load("ping/ping.gw-a.txt", &n);
    struct ping_fact p;
    struct err e = {0};
    const char *stats = strstr(t, "--- ");
    assert_int_equal(ping_parse(t, (size_t)(stats - t), &p, &e), -1);
    assert_int_equal(e.code, ERR_TRUNCATED);
    char *rtt = strstr(t, "0.934/");
    assert_non_null(rtt);
    rtt[2] = 'x';
    assert_int_equal(ping_parse(t, n, &p, &e), -1);
    assert_int_equal(e.code, ERR_PARSE);
    const char *other = "hello world\n";
    assert_int_equal(ping_parse(other, strlen(other), &p, &e), -1);
    assert_int_equal(e.code, ERR_UNSUPPORTED);
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ping_through_tunnel_reads_loss_and_rtt),
        cmocka_unit_test(test_ping_total_loss_has_no_rtt),
        cmocka_unit_test(test_ping_df_reports_local_mtu_error),
        cmocka_unit_test(test_ping_reports_router_frag_needed),
        cmocka_unit_test(test_ping_that_cannot_start_keeps_its_error),
        cmocka_unit_test(test_ping_interrupted_or_garbled_is_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
