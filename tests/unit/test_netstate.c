/* ss, sysctl, conntrack, ip route get, ip -o link parsers on real outputs
 * (tests/fixtures/{ss,sysctl,conntrack,iproute2}/README.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "probes/netstate.h"
#include "remote/buf.h"

static void test_ss_finds_charon_on_500_and_4500(void **state)
{
    size_t n;
    char *t = fixture_load("ss/ss-ulnp.gw-a.txt", &n);
    struct udp_listen_fact f;
    struct err e = {0};
    assert_int_equal(ss_parse_udp(t, n, &f, &e), 0);
    assert_int_equal(f.n, 4);
    const char *proc;
    assert_int_equal(udp_listen_count(&f, 4500, &proc), 2);
    assert_string_equal(proc, "charon");
    assert_int_equal(udp_listen_count(&f, 500, NULL), 2);
    assert_string_equal(f.l[2].addr, "::");
    assert_true(f.l[0].pid.known);
    free(t);
}

static void test_ss_ike_listeners_listed_after_many_others_are_kept(void **state)
{
    /* the layout of `ss -ulnp` (tests/fixtures/ss) with 200 other listeners before the IKE
     * ports, as ss's hash order may give them (tests/lab/test_bigdata.sh does it for real) */
    struct buf b = BUF_INIT;
    buf_puts(&b, "State  Recv-Q Send-Q Local Address:Port  Peer Address:PortProcess\n");
    for (int i = 0; i < 200; i++)
        buf_printf(&b, "UNCONN 0      0          127.0.0.1:%d      0.0.0.0:*    "
                       "users:((\"python3\",pid=5760,fd=%d))\n", 20000 + i, i + 5);
    buf_puts(&b, "UNCONN 0      0            0.0.0.0:4500      0.0.0.0:*    users:((\"charon\",pid=9,fd=7))\n"
                 "UNCONN 0      0            0.0.0.0:500       0.0.0.0:*    users:((\"charon\",pid=9,fd=8))\n");
    struct udp_listen_fact f;
    struct err e = {0};
    assert_int_equal(ss_parse_udp(b.data, b.len, &f, &e), 0);
    assert_int_equal(f.n, UDP_LISTEN_MAX);
    assert_true(f.more);
    const char *proc = NULL;
    assert_int_equal(udp_listen_count(&f, 500, &proc), 1);
    assert_string_equal(proc, "charon");
    assert_int_equal(udp_listen_count(&f, 4500, NULL), 1);
    buf_free(&b);
    (void)state;
}

static void test_ss_nothing_listening_is_empty_not_error(void **state)
{
    size_t n;
    char *t = fixture_load("ss/ss-ulnp.nat.txt", &n);
    struct udp_listen_fact f;
    struct err e = {0};
    assert_int_equal(ss_parse_udp(t, n, &f, &e), 0);
    assert_int_equal(f.n, 0);
    assert_int_equal(udp_listen_count(&f, 4500, NULL), 0);
    free(t);
    assert_int_equal(ss_parse_udp("", 0, &f, &e), -1);
    assert_int_equal(e.code, ERR_TRUNCATED);
    const char *x = "bash: ss: command not found\n";
    assert_int_equal(ss_parse_udp(x, strlen(x), &f, &e), -1);
    assert_int_equal(e.code, ERR_UNSUPPORTED);
}

static void test_ss_without_process_column_keeps_sockets(void **state)
{
    const char *t = "State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess\n"
                    "UNCONN 0      0            0.0.0.0:4500      0.0.0.0:*\n";
    struct udp_listen_fact f;
    struct err e = {0};
    assert_int_equal(ss_parse_udp(t, strlen(t), &f, &e), 0);
    assert_int_equal(f.n, 1);
    assert_string_equal(f.l[0].process, "");
    assert_false(f.l[0].pid.known);
    const char *bad = "State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess\n"
                      "UNCONN 0      0            0.0.0.0:45x0      0.0.0.0:*\n";
    assert_int_equal(ss_parse_udp(bad, strlen(bad), &f, &e), -1);
    assert_int_equal(e.code, ERR_PARSE);
}

static void test_sysctl_reads_udp_timeouts(void **state)
{
    size_t n;
    char *t = fixture_load("sysctl/udp-timeouts.nat.txt", &n);
    struct ct_timeout_fact f;
    struct err e = {0};
    assert_int_equal(sysctl_parse_ct_timeouts(t, n, &f, &e), 0);
    assert_int_equal(f.udp_timeout.v, 30);
    assert_int_equal(f.udp_timeout_stream.v, 120);
    assert_false(f.missing);
    free(t);
}

static void test_sysctl_missing_key_is_unknown(void **state)
{
    size_t n;
    char *t = fixture_load("sysctl/cannot-stat.txt", &n);
    struct ct_timeout_fact f;
    struct err e = {0};
    assert_int_equal(sysctl_parse_ct_timeouts(t, n, &f, &e), 0);
    assert_true(f.missing);
    assert_false(f.udp_timeout.known);
    free(t);
    const char *g = "net.netfilter.nf_conntrack_udp_timeout = thirty\n";
    assert_int_equal(sysctl_parse_ct_timeouts(g, strlen(g), &f, &e), -1);
    assert_int_equal(e.code, ERR_PARSE);
}

static void test_sysctl_n_reads_bare_values_in_the_order_asked(void **state)
{
    size_t n;
    char *t = fixture_load("sysctl/udp-timeouts-n.ns.txt", &n);
    struct ct_timeout_fact f;
    struct err e = {0};
    assert_int_equal(sysctl_parse_ct_timeouts(t, n, &f, &e), 0);
    assert_int_equal(f.udp_timeout.v, 30);
    assert_int_equal(f.udp_timeout_stream.v, 120);
    free(t);
    /* one key missing: the values left cannot be placed */
    const char *shifted = "sysctl: cannot stat /proc/sys/net/netfilter/nf_conntrack_udp_timeout: No such file\n120\n";
    assert_int_equal(sysctl_parse_ct_timeouts(shifted, strlen(shifted), &f, &e), 0);
    assert_true(f.missing);
    assert_false(f.udp_timeout.known);
    assert_false(f.udp_timeout_stream.known);
    /* a third bare value, or both forms at once, is not the two-key command */
    const char *three = "30\n120\n7\n";
    assert_int_equal(sysctl_parse_ct_timeouts(three, strlen(three), &f, &e), -1);
    const char *mixed = "30\nnet.netfilter.nf_conntrack_udp_timeout_stream = 120\n";
    assert_int_equal(sysctl_parse_ct_timeouts(mixed, strlen(mixed), &f, &e), -1);
    assert_false(f.udp_timeout.known);
}

static void test_conntrack_reads_natt_flows(void **state)
{
    size_t n;
    char *t = fixture_load("conntrack/udp.nat.txt", &n);
    struct ct_fact f;
    struct err e = {0};
    assert_int_equal(conntrack_parse_udp(t, n, &f, &e), 0);
    assert_int_equal(f.n, 2);
    assert_int_equal(f.shown.v, 2);
    const struct ct_entry *c = &f.e[1];
    assert_string_equal(c->src, "192.168.77.2");
    assert_string_equal(c->dst, "198.51.100.20");
    assert_int_equal(c->sport, 4500);
    assert_string_equal(c->rdst, "203.0.113.10");
    assert_int_equal(c->rdport, 4500);
    assert_true(c->assured);
    assert_false(c->unreplied);
    assert_int_equal(c->timeout.v, 118);
    assert_false(f.e[0].assured);
    free(t);
}

static void test_conntrack_flags_unreplied(void **state)
{
    size_t n;
    char *t = fixture_load("conntrack/udp-unreplied.nat.txt", &n);
    struct ct_fact f;
    struct err e = {0};
    assert_int_equal(conntrack_parse_udp(t, n, &f, &e), 0);
    assert_int_equal(f.n, 1);
    assert_true(f.e[0].unreplied);
    assert_int_equal(f.e[0].rsport, 4500);
    free(t);
    t = fixture_load("conntrack/empty.txt", &n);
    assert_int_equal(conntrack_parse_udp(t, n, &f, &e), 0);
    assert_int_equal(f.n, 0);
    free(t);
}

static void test_conntrack_truncated_list_is_an_error(void **state)
{
    size_t n;
    char *t = fixture_load("conntrack/udp.nat.txt", &n);
    struct ct_fact f;
    struct err e = {0};
    /* drop the last entry: the summary announces 2 */
    char *last = strrchr(t, '\n');
    *last = '\0';
    last = strrchr(t, '\n');
    assert_int_equal(conntrack_parse_udp(t, (size_t)(last - t) + 1, &f, &e), -1);
    assert_int_equal(e.code, ERR_TRUNCATED);
    /* a line cut inside its reply tuple */
    char *cut = strstr(t, "[ASSURED]");
    assert_non_null(cut);
    const char *denied = "conntrack v1.4.7 (conntrack-tools): Operation failed: Operation not permitted\n";
    assert_int_equal(conntrack_parse_udp(denied, strlen(denied), &f, &e), -1);
    assert_int_equal(e.code, ERR_UNSUPPORTED);
    free(t);
}

static void test_route_get_through_ipsec_table(void **state)
{
    size_t n;
    char *t = fixture_load("iproute2/ip-route-get.gw-a.txt", &n);
    struct route_fact r;
    struct err e = {0};
    assert_int_equal(route_parse_get(t, n, &r, &e), 0);
    assert_true(r.ok);
    assert_string_equal(r.dst, "10.20.0.1");
    assert_string_equal(r.from, "10.10.0.1");
    assert_string_equal(r.dev, "ipsec0");
    assert_string_equal(r.table, "220");
    assert_string_equal(r.via, "");
    assert_string_equal(r.type, "unicast");
    free(t);
    t = fixture_load("iproute2/ip-route-get-wan.gw-a.txt", &n);
    assert_int_equal(route_parse_get(t, n, &r, &e), 0);
    assert_string_equal(r.via, "192.168.77.1");
    assert_string_equal(r.src, "192.168.77.2");
    assert_string_equal(r.dev, "wan");
    assert_string_equal(r.table, "");
    free(t);
}

static void test_route_get_kernel_error_is_a_fact(void **state)
{
    size_t n;
    char *t = fixture_load("iproute2/ip-route-get-fail.gw-a.txt", &n);
    struct route_fact r;
    struct err e = {0};
    assert_int_equal(route_parse_get(t, n, &r, &e), 0);
    assert_false(r.ok);
    assert_string_equal(r.error, "Network is unreachable");
    free(t);
    assert_int_equal(route_parse_get("", 0, &r, &e), -1);
    const char *g = "10.20.0.1 dev\n";
    assert_int_equal(route_parse_get(g, strlen(g), &r, &e), -1);
    assert_int_equal(e.code, ERR_TRUNCATED);
}

static void test_link_reads_mtus(void **state)
{
    size_t n;
    char *t = fixture_load("iproute2/ip-o-link.gw-a.txt", &n);
    struct link_fact f;
    struct err e = {0};
    assert_int_equal(link_parse(t, n, &f, &e), 0);
    assert_int_equal(f.n, 5);
    const struct link_info *l = link_find(&f, "ipsec0");
    assert_non_null(l);
    assert_int_equal(l->mtu.v, 1400);
    assert_true(l->up);
    assert_string_equal(l->state, "UNKNOWN");
    l = link_find(&f, "wan");
    assert_non_null(l);
    assert_int_equal(l->mtu.v, 1500);
    assert_string_equal(l->state, "UP");
    assert_null(link_find(&f, "wan@if25"));
    free(t);
    const char *g = "4: ipsec0: <UP> mtu x qdisc\n";
    assert_int_equal(link_parse(g, strlen(g), &f, &e), -1);
    assert_int_equal(e.code, ERR_PARSE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ss_finds_charon_on_500_and_4500),
        cmocka_unit_test(test_ss_ike_listeners_listed_after_many_others_are_kept),
        cmocka_unit_test(test_ss_nothing_listening_is_empty_not_error),
        cmocka_unit_test(test_ss_without_process_column_keeps_sockets),
        cmocka_unit_test(test_sysctl_reads_udp_timeouts),
        cmocka_unit_test(test_sysctl_n_reads_bare_values_in_the_order_asked),
        cmocka_unit_test(test_sysctl_missing_key_is_unknown),
        cmocka_unit_test(test_conntrack_reads_natt_flows),
        cmocka_unit_test(test_conntrack_flags_unreplied),
        cmocka_unit_test(test_conntrack_truncated_list_is_an_error),
        cmocka_unit_test(test_route_get_through_ipsec_table),
        cmocka_unit_test(test_route_get_kernel_error_is_a_fact),
        cmocka_unit_test(test_link_reads_mtus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
