/* Regressions for crashes found by fuzzing (issue 9, RELIABILITY.md): each
 * input is the smallest form of what libFuzzer found; the behaviour asserted
 * is the parser's contract (clear error, no half-read numbers, no secret kept). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "probes/ping.h"
#include "probes/redact.h"
#include "probes/swanctl.h"
#include "probes/xfrm.h"

/* fuzz_ping: an error after some counts were read used to leave them in the fact. */
static void test_ping_error_after_replies_leaves_no_counts(void **state)
{
    (void)state;
    const char *t = "PING 198.51.100.20 (198.51.100.20) 1450(1478) bytes of data.\n"
                    "64 bytes from 198.51.100.20: icmp_seq=1 ttl=64 time=1.03 ms\n"
                    "From 192.168.77.1 icmp_seq=2 Frag needed and DF set\n";
    struct ping_fact p;
    struct err e = {0};
    assert_int_equal(ping_parse(t, strlen(t), &p, &e), -1);
    assert_non_null(strstr(e.msg, "Frag needed without mtu"));
    assert_int_equal(p.replies, 0);
    assert_false(p.payload.known);
    assert_string_equal(p.dst, "");
}

/* The "(" right before " bytes of data" made a span of length -1. */
static void test_ping_header_with_open_parenthesis_only(void **state)
{
    (void)state;
    const char *t = "PING 10.20.0.1 (10.20.0.1) 56( bytes of data.\n";
    struct ping_fact p;
    struct err e = {0};
    (void)ping_parse(t, strlen(t), &p, &e); /* no crash; the sizes are not invented */
    assert_false(p.packet.known);
}

/* fuzz_redact: a known secret in the part of a line kept by a rule (before
 * ': PSK', around an xfrm key, before 'secret =') was let through. */
static void test_redact_known_secret_beside_a_rule(void **state)
{
    (void)state;
    const char *secrets[] = {"s3cret", NULL};
    const char *lines[] = {
        "s3cret : PSK \"x\"\n",
        "\taead rfc4106(gcm(aes)) 0xfa4efa4efa4efa4e 128 s3cret\n",
        "s3cret secret = abc\n",
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        struct buf out = BUF_INIT;
        assert_true(redact_text(lines[i], strlen(lines[i]), secrets, &out) >= 2 ||
                    i == 2); /* "s3cret secret" is not a config key: secret replaced once */
        assert_null(strstr(out.data, "s3cret"));
        assert_null(strstr(out.data, "fa4efa4e"));
        buf_free(&out);
    }
}

/* fuzz_xfrm: "add use ..." in a lifetime block: " use " was found inside
 * "add " and the add time got a length of -1. */
static void test_xfrm_lifetime_add_use_overlap_is_an_error(void **state)
{
    (void)state;
    const char *t = "src 192.168.77.2 dst 198.51.100.20\n"
                    "\tproto esp spi 0xc89904f1(3365471473) reqid 1(0x00000001) mode tunnel\n"
                    "\tlifetime current:\n"
                    "\t  0(bytes), 0(packets)\n"
                    "\t  add use  2026-12-05 10:25:42 use -\n";
    struct xfrm_fact f = {0};
    struct err e = {0};
    int r = xfrm_parse_states_text(t, strlen(t), &f, &e);
    if (r != 0)
        assert_int_equal(f.n_sa, 0);
    xfrm_fact_free(&f);
}

/* fuzz_swanctl (round 3): an endpoint "local ' @ HOST[PORT]" whose only quote
 * is the opening one: "' @ " was found at the opening quote itself and the id
 * got a length of -1, copied as 159 bytes read past the input. */
static void test_swanctl_endpoint_with_one_quote_is_an_error(void **state)
{
    (void)state;
    const char *lit = "site: #1, ESTABLISHED, IKEv2, 50f13cc598a2fa4c_i* 7f26f386d81a04f5_r\n"
                      "  local ' @ 192.168.77.2[4500]\n";
    size_t n = strlen(lit);
    char *t = malloc(n); /* exact size, no NUL: ASan sees any read past the end */
    assert_non_null(t);
    memcpy(t, lit, n);
    struct sa_fact f;
    struct err e = {0};
    assert_int_equal(swanctl_parse_sas_text(t, n, &f, &e), -1);
    assert_int_equal(f.n_ike, 0);
    sa_fact_free(&f);
    /* an empty id between two quotes is still read */
    const char *ok = "site: #1, ESTABLISHED, IKEv2, 50f13cc598a2fa4c_i* 7f26f386d81a04f5_r\n"
                     "  local  '' @ 192.168.77.2[4500]\n";
    assert_int_equal(swanctl_parse_sas_text(ok, strlen(ok), &f, &e), 0);
    assert_int_equal(f.n_ike, 1);
    assert_string_equal(f.ike[0].local_host, "192.168.77.2");
    assert_string_equal(f.ike[0].local_id, "");
    sa_fact_free(&f);
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ping_error_after_replies_leaves_no_counts),
        cmocka_unit_test(test_ping_header_with_open_parenthesis_only),
        cmocka_unit_test(test_redact_known_secret_beside_a_rule),
        cmocka_unit_test(test_xfrm_lifetime_add_use_overlap_is_an_error),
        cmocka_unit_test(test_swanctl_endpoint_with_one_quote_is_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
