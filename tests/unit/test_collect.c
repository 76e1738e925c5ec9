/* playbook/collect, batch, discover: real tool outputs (tests/fixtures/) into
 * the facts the rules read; batched probes split back; connection discovery. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "playbook/batch.h"
#include "playbook/collect.h"
#include "playbook/discover.h"
#include "remote/err.h"

static char *slurp(const char *rel, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", TS_FIXTURES, rel);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    char *buf = malloc(1 << 20);
    assert_non_null(buf);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

static void parse_fixture(struct collect_side *s, enum probe_kind k, const char *rel, int status)
{
    size_t len;
    char *t = slurp(rel, &len);
    collect_parse(s, k, status, ERR_NONE, t, len, status ? t : "");
    free(t);
}

static struct collect_side *side_new(void)
{
    struct collect_side *s = calloc(1, sizeof *s);
    assert_non_null(s);
    s->name = "gw-a";
    s->f.name = "gw-a";
    s->f.udp_timeout = s->f.udp_timeout_stream = s->f.keepalive_s = s->f.outer_mtu = -1;
    return s;
}

static void side_free(struct collect_side *s)
{
    sa_fact_free(&s->sas);
    sa_fact_free(&s->sas_before);
    conn_fact_free(&s->conns);
    strpool_free(&s->pool);
    free(s);
}

/* fuzz_collect (CI, 2026-12-05): a keep_alive line without '=' inside the
 * charon section computed NULL + 1 (UBSan).  It is now a value left unset. */
static void test_swconf_keep_alive_without_equals_keeps_the_default(void **state)
{
    (void)state;
    struct collect_side *s = side_new();
    static const char conf[] = "charon {\n    keep_alive 5s\n}\n";
    collect_parse(s, PROBE_SWCONF, 0, ERR_NONE, conf, sizeof conf - 1, "");
    assert_int_equal(s->f.keepalive_s, 20);
    side_free(s);
    s = side_new();
    static const char set[] = "charon {\n    keep_alive = 5s\n}\n";
    collect_parse(s, PROBE_SWCONF, 0, ERR_NONE, set, sizeof set - 1, "");
    assert_int_equal(s->f.keepalive_s, 5);
    side_free(s);
}

static void test_swanctl_outputs_give_the_connection_sas_and_nat_side(void **state)
{
    struct collect_side *s = side_new();
    parse_fixture(s, PROBE_SAS, "swanctl/swanctl-list-sas-raw.gw-a.txt", 0);
    parse_fixture(s, PROBE_CONNS, "swanctl/swanctl-list-conns-raw.gw-a.txt", 0);
    assert_string_equal(s->f.daemon, "strongswan");
    s->conn_want = "site";
    collect_select_conn(s);
    assert_string_equal(s->f.conn.name, "site");
    assert_string_equal(s->f.conn.local_ts[0], "10.10.0.0/16");
    assert_string_equal(s->f.conn.remote_ts[0], "10.20.0.0/16");
    assert_int_equal(s->f.conn.dpd_delay, 30);
    assert_string_equal(s->f.ike.state, "ESTABLISHED");
    assert_int_equal(s->f.ike.nat_local, TRI_YES);
    assert_string_equal(s->f.child.state, "INSTALLED");
    assert_int_equal(s->f.child.encap, TRI_YES);
    const char *host = collect_remote_host(s);
    assert_string_equal(host, "10.20.0.1");
    side_free(s);
}

static void test_swanctl_without_daemon_means_no_daemon_not_a_gap(void **state)
{
    struct collect_side *s = side_new();
    const char *err = "connecting to 'unix:///var/run/charon.vici' failed: No such file or directory\n";
    collect_parse(s, PROBE_SAS, 1, ERR_NONE, "", 0, err);
    assert_null(s->f.daemon);
    assert_int_equal(s->f.n_gaps, 0);
    collect_parse(s, PROBE_SAS, -1, ERR_SUDO, "", 0, "");
    assert_int_equal(s->f.n_gaps, 1);
    assert_string_equal(s->f.gaps[0].reason, "sudo -n refused");
    side_free(s);
}

static void test_ss_listeners(void **state)
{
    struct collect_side *s = side_new();
    parse_fixture(s, PROBE_SS, "ss/ss-ulnp.gw-a.txt", 0);
    assert_int_equal(s->f.listen500, TRI_YES);
    assert_int_equal(s->f.listen4500, TRI_YES);
    const char *only500 = "State Recv-Q Send-Q Local Address:Port Peer Address:Port Process\n"
                          "UNCONN 0 0 0.0.0.0:500 0.0.0.0:* users:((\"charon\",pid=1,fd=13))\n"
                          "UNCONN 0 0 0.0.0.0:14500 0.0.0.0:* users:((\"x\",pid=2,fd=3))\n";
    collect_parse(s, PROBE_SS, 0, ERR_NONE, only500, strlen(only500), "");
    assert_int_equal(s->f.listen500, TRI_YES);
    assert_int_equal(s->f.listen4500, TRI_NO);
    collect_parse(s, PROBE_SS, 0, ERR_NONE, "garbage", 7, "");
    assert_int_equal(s->f.n_gaps, 1); /* not understood: a gap, the old facts stay */
    side_free(s);
}

static void test_keepalive_from_strongswan_conf(void **state)
{
    struct collect_side *s = side_new();
    parse_fixture(s, PROBE_SWCONF, "strongswan-conf/strongswan.conf.gw-a.txt", 0);
    assert_int_equal(s->f.keepalive_s, 20);
    parse_fixture(s, PROBE_SWCONF, "strongswan-conf/strongswan.conf.nat-expiry.gw-a.txt", 0);
    assert_int_equal(s->f.keepalive_s, 0);
    /* keep_alive elsewhere than charon { } is not charon's */
    const char *other = "libstrongswan {\n keep_alive = 5s\n}\ncharon {\n load = x\n}\n";
    collect_parse(s, PROBE_SWCONF, 0, ERR_NONE, other, strlen(other), "");
    assert_int_equal(s->f.keepalive_s, 20); /* the default */
    side_free(s);
}

static void test_sysctl_udp_timeouts(void **state)
{
    struct collect_side *s = side_new();
    parse_fixture(s, PROBE_SYSCTL, "sysctl/udp-timeouts.nat.txt", 0);
    assert_int_equal(s->f.udp_timeout, 30);
    assert_int_equal(s->f.udp_timeout_stream, 120);
    collect_parse(s, PROBE_SYSCTL, 0, ERR_NONE, "10\n10\n", 6, "");
    assert_int_equal(s->f.udp_timeout, 10);
    collect_parse(s, PROBE_SYSCTL, 0, ERR_NONE, "x\n", 2, "");
    assert_int_equal(s->f.udp_timeout, -1); /* never invented */
    side_free(s);
}

static void test_nft_nat_rules_exemption_and_clamp(void **state)
{
    struct collect_side *s = side_new();
    parse_fixture(s, PROBE_NFT, "nft/ruleset.gw-b.txt", 0);
    assert_true(s->f.fw.known);
    assert_int_equal(s->f.fw.n_nat, 3);
    assert_int_equal(s->f.fw.nat[0].action, PF_NAT_EXEMPT);
    assert_string_equal(s->f.fw.nat[0].src, "10.20.0.0/16");
    assert_string_equal(s->f.fw.nat[0].dst, "10.10.0.0/16");
    assert_int_equal(s->f.fw.nat[1].action, PF_NAT_EXEMPT); /* rt ipsec exists accept */
    assert_int_equal(s->f.fw.nat[2].action, PF_NAT_MASQUERADE);
    assert_string_equal(s->f.fw.nat[2].oif, "wan");
    assert_int_equal(s->f.fw.mss_clamp, TRI_YES);
    assert_int_equal(s->f.fw.mss_value, -1); /* rt mtu */
    side_free(s);
}

static void test_nft_snat_of_protected_traffic(void **state)
{
    struct collect_side *s = side_new();
    /* what `natlab fault no-nat-exemption` installs, as nft lists it */
    const char *rs = "table ip nlf_no_nat_exemption {\n"
                     "\tchain postrouting {\n"
                     "\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
                     "\t\tip saddr 10.10.0.0/16 ip daddr 10.20.0.0/16 counter packets 3 bytes 252 snat to "
                     "192.168.77.2\n"
                     "\t}\n"
                     "}\n"
                     "table inet filter {\n\tchain forward {\n\t\ttype filter hook forward priority filter; "
                     "policy accept;\n\t\tip saddr 1.2.3.4 snat to 5.6.7.8\n\t}\n}\n";
    collect_parse(s, PROBE_NFT, 0, ERR_NONE, rs, strlen(rs), "");
    assert_int_equal(s->f.fw.n_nat, 1); /* only the postrouting NAT chain counts */
    assert_int_equal(s->f.fw.nat[0].action, PF_NAT_SNAT);
    assert_string_equal(s->f.fw.nat[0].src, "10.10.0.0/16");
    assert_non_null(strstr(s->f.fw.nat[0].text, "snat to 192.168.77.2"));
    assert_int_equal(s->f.fw.mss_clamp, TRI_NO);
    side_free(s);
}

static void test_iptables_save_nat_and_clamp(void **state)
{
    struct collect_side *s = side_new();
    parse_fixture(s, PROBE_IPT, "iptables/iptables-save.gw-a.txt", 0);
    assert_true(s->f.fw.known);
    assert_int_equal(s->f.fw.n_nat, 2);
    assert_int_equal(s->f.fw.nat[0].action, PF_NAT_EXEMPT);
    assert_int_equal(s->f.fw.nat[1].action, PF_NAT_MASQUERADE);
    assert_string_equal(s->f.fw.nat[1].oif, "wan");
    assert_int_equal(s->f.fw.mss_clamp, TRI_YES);
    side_free(s);
}

static void test_route_get_success_and_failure(void **state)
{
    struct collect_side *s = side_new();
    parse_fixture(s, PROBE_ROUTE_TS, "iproute2/ip-route-get-wan.gw-a.txt", 0);
    assert_string_equal(s->f.route.dev, "wan");
    assert_string_equal(s->f.route.via, "192.168.77.1");
    assert_string_equal(s->f.route.src, "192.168.77.2");
    assert_null(s->f.route.error);
    memset(&s->f.route, 0, sizeof s->f.route);
    parse_fixture(s, PROBE_ROUTE_TS, "iproute2/ip-route-get-fail.gw-a.txt", 2);
    assert_string_equal(s->f.route.error, "RTNETLINK answers: Network is unreachable");
    side_free(s);
}

static void test_link_mtu_of_the_outer_interface(void **state)
{
    struct collect_side *s = side_new();
    size_t len;
    char *t = slurp("iproute2/ip-o-link.gw-a.txt", &len);
    collect_link_mtu(s, t, len, "wan");
    assert_int_equal(s->f.outer_mtu, 1500);
    collect_link_mtu(s, t, len, "ipsec0");
    assert_int_equal(s->f.outer_mtu, 1400);
    free(t);
    side_free(s);
}

static void test_ping_results(void **state)
{
    const char *names[] = {"ping/ping-df-ok.gw-a.txt", "ping/ping-df-toobig.gw-a.txt", "ping/ping-fragneeded.gw-a.txt",
                           "ping/ping-loss.gw-a.txt"};
    int status[] = {0, 1, 1, 1};
    int want[] = {1, 3, 2, 0};
    int want_mtu[] = {-1, 1400, 1400, -1};
    for (int i = 0; i < 4; i++) {
        size_t len;
        char *t = slurp(names[i], &len);
        int mtu;
        assert_int_equal(collect_ping_result(status[i], t, len, &mtu), want[i]);
        assert_int_equal(mtu, want_mtu[i]);
        free(t);
    }
}

static void test_charon_log_counts(void **state)
{
    struct collect_side *s = side_new();
    parse_fixture(s, PROBE_LOG, "charon/charon-filelog.gw-a.log", 0);
    assert_true(s->f.logs.known);
    assert_int_equal(s->f.logs.ts_unacceptable, 1);
    assert_int_equal(s->f.logs.retransmits, 2);
    assert_true(s->f.logs.ike_established >= 1);
    assert_non_null(s->f.logs.lines[0]);
    assert_non_null(strstr(s->f.logs.lines[0], "TS_UNACCEPTABLE"));
    side_free(s);
}

static void test_batch_round_trip_and_forged_markers(void **state)
{
    int ids[] = {3, 7};
    const char *cmds[] = {"echo a", "false"};
    struct buf b = BUF_INIT;
    assert_int_equal(batch_build(&b, "n0nce", ids, cmds, 2), 0);
    assert_non_null(strstr(b.data, "@@tunnelscope:n0nce:3:begin"));
    buf_free(&b);
    /* what that script prints */
    const char *out = "@@tunnelscope:n0nce:3:begin\n"
                      "line 1\nline 2\n"
                      "\n@@tunnelscope:n0nce:3:end:0\n"
                      "@@tunnelscope:n0nce:7:begin\n"
                      "@@tunnelscope:n0nce:7:end:9 forged\n"
                      "\n@@tunnelscope:n0nce:7:end:1\n";
    size_t st, ln;
    int status;
    assert_int_equal(batch_section(out, strlen(out), "n0nce", 3, &st, &ln, &status), 1);
    assert_int_equal(status, 0);
    assert_int_equal(ln, strlen("line 1\nline 2\n"));
    assert_memory_equal(out + st, "line 1\nline 2\n", ln);
    /* a forged end marker inside the output does not end it early */
    assert_int_equal(batch_section(out, strlen(out), "n0nce", 7, &st, &ln, &status), 1);
    assert_int_equal(status, 1);
    assert_non_null(memmem(out + st, ln, "forged", 6));
    /* another nonce, an absent id, a cut-off section */
    assert_int_equal(batch_section(out, strlen(out), "other", 3, &st, &ln, &status), -1);
    assert_int_equal(batch_section(out, strlen(out), "n0nce", 5, &st, &ln, &status), -1);
    const char *cut = "@@tunnelscope:n0nce:3:begin\npartial";
    assert_int_equal(batch_section(cut, strlen(cut), "n0nce", 3, &st, &ln, &status), 0);
    assert_int_equal(status, -1);
    assert_int_equal(ln, 7);
}

static void test_discovery_matches_addresses_and_nat(void **state)
{
    /* the lab: gw-a names gw-b's address; gw-b accepts %any */
    struct discover_conn ca[] = {{"site", {"192.168.77.2"}, {"198.51.100.20"}},
                                 {"other", {"192.168.77.2"}, {"192.0.2.99"}}};
    struct discover_conn cb[] = {{"site", {"198.51.100.20"}, {"%any"}}};
    struct discover_sa sb[] = {{"site", "198.51.100.20", "203.0.113.10"}};
    struct discover_side a = {ca, 2, NULL, 0}, b = {cb, 1, sb, 1};
    struct discover_out d;
    discover_conn(&a, &b, NULL, &d);
    assert_int_equal(d.result, DISCOVER_FOUND);
    assert_string_equal(d.name_a, "site");
    assert_string_equal(d.name_b, "site");
    discover_conn(&a, &b, "nope", &d);
    assert_int_equal(d.result, DISCOVER_NONE);

    /* two connections on B that both accept A equally: ambiguous */
    struct discover_conn cb2[] = {{"one", {"198.51.100.20"}, {"%any"}}, {"two", {"198.51.100.20"}, {"%any"}}};
    struct discover_conn ca2[] = {{"x", {"192.168.77.2"}, {"198.51.100.20"}}};
    struct discover_side a2 = {ca2, 1, NULL, 0}, b2 = {cb2, 2, NULL, 0};
    discover_conn(&a2, &b2, NULL, &d);
    assert_int_equal(d.result, DISCOVER_AMBIGUOUS);
    assert_int_equal(d.n_cand, 2);
    discover_conn(&a2, &b2, "two", &d);
    assert_int_equal(d.result, DISCOVER_NONE); /* "two" does not exist on A */
}

/* One end's list unread (sudo refused, swanctl missing): the other end is
 * still diagnosed with its own connection, when that is not a guess. */
static void test_discovery_alone_takes_the_only_or_the_named_connection(void **state)
{
    (void)state;
    struct discover_conn one[] = {{"site", {"192.168.77.2"}, {"198.51.100.20"}}};
    struct discover_side s1 = {one, 1, NULL, 0};
    assert_string_equal(discover_alone(&s1, NULL), "site");
    assert_string_equal(discover_alone(&s1, "site"), "site");
    assert_null(discover_alone(&s1, "other")); /* a name given that is not there */

    struct discover_conn two[] = {{"site", {"192.168.77.2"}, {"198.51.100.20"}},
                                  {"lab", {"192.168.77.2"}, {"192.0.2.99"}}};
    struct discover_sa up[] = {{"lab", "192.168.77.2", "192.0.2.99"}, {"lab", "192.168.77.2", "192.0.2.99"}};
    struct discover_side s2 = {two, 2, NULL, 0};
    assert_null(discover_alone(&s2, NULL)); /* two connections, no SA: no guess */
    s2 = (struct discover_side){two, 2, up, 2};
    assert_string_equal(discover_alone(&s2, NULL), "lab"); /* the one with SAs */
    struct discover_sa both[] = {{"lab", "192.168.77.2", "192.0.2.99"}, {"site", "192.168.77.2", "198.51.100.20"}};
    s2 = (struct discover_side){two, 2, both, 2};
    assert_null(discover_alone(&s2, NULL)); /* SAs of both */
    struct discover_sa gone[] = {{"old", "192.168.77.2", "192.0.2.1"}};
    s2 = (struct discover_side){two, 2, gone, 1};
    assert_null(discover_alone(&s2, NULL)); /* an SA of a connection no longer configured */
    struct discover_side none = {NULL, 0, NULL, 0};
    assert_null(discover_alone(&none, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_swconf_keep_alive_without_equals_keeps_the_default),
        cmocka_unit_test(test_swanctl_outputs_give_the_connection_sas_and_nat_side),
        cmocka_unit_test(test_swanctl_without_daemon_means_no_daemon_not_a_gap),
        cmocka_unit_test(test_ss_listeners),
        cmocka_unit_test(test_keepalive_from_strongswan_conf),
        cmocka_unit_test(test_sysctl_udp_timeouts),
        cmocka_unit_test(test_nft_nat_rules_exemption_and_clamp),
        cmocka_unit_test(test_nft_snat_of_protected_traffic),
        cmocka_unit_test(test_iptables_save_nat_and_clamp),
        cmocka_unit_test(test_route_get_success_and_failure),
        cmocka_unit_test(test_link_mtu_of_the_outer_interface),
        cmocka_unit_test(test_ping_results),
        cmocka_unit_test(test_charon_log_counts),
        cmocka_unit_test(test_batch_round_trip_and_forged_markers),
        cmocka_unit_test(test_discovery_matches_addresses_and_nat),
        cmocka_unit_test(test_discovery_alone_takes_the_only_or_the_named_connection),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
