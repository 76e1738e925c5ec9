/* Libreswan `ipsec trafficstatus` (tests/fixtures/libreswan/README.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "probes/libreswan.h"

static void test_trafficstatus_3x_with_006_prefix(void **state)
{
    size_t n;
    char *t = fixture_load("libreswan/trafficstatus-3x.txt", &n);
    struct sa_fact f;
    struct err e = {0};
    assert_int_equal(libreswan_parse_trafficstatus(t, n, &f, &e), 0);
    assert_int_equal(f.source, SA_SRC_LIBRESWAN);
    assert_int_equal(f.n_ike, 1);
    assert_string_equal(f.ike[0].name, "westnet-eastnet-ipv4-psk-ikev2");
    assert_string_equal(f.ike[0].remote_id, "@east");
    assert_int_equal(f.ike[0].child[0].uniqueid.v, 2);
    assert_string_equal(f.ike[0].child[0].protocol, "ESP");
    assert_int_equal(f.ike[0].child[0].bytes_in.v, 336);
    assert_int_equal(f.ike[0].child[0].bytes_out.v, 336);
    assert_false(f.ike[0].child[0].packets_in.known);
    sa_fact_free(&f);
    free(t);
}

static void test_trafficstatus_4x_instances_and_subnet_pairs(void **state)
{
    size_t n;
    char *t = fixture_load("libreswan/trafficstatus-4x.txt", &n);
    struct sa_fact f;
    struct err e = {0};
    assert_int_equal(libreswan_parse_trafficstatus(t, n, &f, &e), 0);
    assert_int_equal(f.n_ike, 3);
    assert_string_equal(f.ike[0].name, "ikev2-cp [27] 5.149.159.35");
    assert_string_equal(f.ike[0].remote_id, "CN=vpnclient, O=IKEv2 VPN");
    assert_true(f.ike[0].child[0].bytes_out.v == 2012385143ULL);
    assert_string_equal(f.ike[2].child[0].name, "c2cc-to-host-b/1x2");
    assert_int_equal(f.ike[2].child[0].bytes_out.v, 3707);
    sa_fact_free(&f);
    /* cut inside a line */
    assert_int_equal(libreswan_parse_trafficstatus(t, 60, &f, &e), -1);
    assert_int_equal(f.n_ike, 0);
    const char *g = "#2: \"x\", type=ESP, add_time=1, inBytes=3x6, outBytes=1, id='a'\n";
    assert_int_equal(libreswan_parse_trafficstatus(g, strlen(g), &f, &e), -1);
    const char *u = "sh: 1: ipsec: not found\n";
    assert_int_equal(libreswan_parse_trafficstatus(u, strlen(u), &f, &e), -1);
    assert_int_equal(e.code, ERR_UNSUPPORTED);
    assert_int_equal(libreswan_parse_trafficstatus("", 0, &f, &e), 0);
    assert_int_equal(f.n_ike, 0);
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trafficstatus_3x_with_006_prefix),
        cmocka_unit_test(test_trafficstatus_4x_instances_and_subnet_pairs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
