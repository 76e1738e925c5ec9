/* Every probe parser on the outputs the lab helpers captured for real
 * (tests/fixtures/lab/README.md: natlab, libipsec backend; tests/fixtures/uml/
 * README.md: kernel XFRM in User-Mode Linux), checked against the lab's truth:
 * gw-a 192.168.77.2 behind NAT (203.0.113.10), gw-b 198.51.100.20,
 * 10.10.0.0/16 <-> 10.20.0.0/16, ESP-in-UDP, dpd_delay 30s, rekey 4h/1h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "probes/daemonlog.h"
#include "probes/firewall.h"
#include "probes/netstate.h"
#include "probes/ping.h"
#include "probes/swanctl.h"
#include "probes/xfrm.h"

static char *L(const char *rel, size_t *n)
{
    return fixture_load(rel, n);
}

static void test_lab_healthy_swanctl_matches_lab_truth(void **state)
{
    size_t n;
    struct err e = {0};
    for (int side = 0; side < 2; side++) {
        char *t = L(side ? "lab/healthy/gw-b.swanctl-list-sas-raw.txt"
                         : "lab/healthy/gw-a.swanctl-list-sas-raw.txt", &n);
        struct sa_fact f;
        assert_int_equal(swanctl_parse_sas_raw(t, n, &f, &e), 0);
        assert_int_equal(f.n_ike, 1);
        const struct ike_sa *ike = &f.ike[0];
        assert_string_equal(ike->state, "ESTABLISHED");
        assert_string_equal(ike->local_host, side ? "198.51.100.20" : "192.168.77.2");
        assert_string_equal(ike->remote_host, side ? "203.0.113.10" : "198.51.100.20");
        assert_int_equal(ike->local_port.v, 4500);
        assert_int_equal(ike->nat_local, side ? TRI_NO : TRI_YES);
        assert_string_equal(ike->proposal, "AES_GCM_16-256/PRF_HMAC_SHA2_256/MODP_2048");
        assert_int_equal(ike->n_child, 1);
        const struct child_sa *c = &ike->child[0];
        assert_int_equal(c->encap, TRI_YES);
        assert_string_equal(c->proposal, "AES_GCM_16-256");
        assert_string_equal(c->local_ts.item[0], side ? "10.20.0.0/16" : "10.10.0.0/16");
        assert_string_equal(c->remote_ts.item[0], side ? "10.10.0.0/16" : "10.20.0.0/16");
        assert_int_equal(c->packets_out.v, 3);
        assert_int_equal(c->packets_in.v, 3);
        sa_fact_free(&f);
        free(t);
        t = L(side ? "lab/healthy/gw-b.swanctl-list-sas.txt" : "lab/healthy/gw-a.swanctl-list-sas.txt", &n);
        assert_int_equal(swanctl_parse_sas_text(t, n, &f, &e), 0);
        assert_int_equal(f.ike[0].child[0].encap, TRI_YES);
        sa_fact_free(&f);
        free(t);
        struct conn_fact cf;
        t = L(side ? "lab/healthy/gw-b.swanctl-list-conns-raw.txt"
                   : "lab/healthy/gw-a.swanctl-list-conns-raw.txt", &n);
        assert_int_equal(swanctl_parse_conns_raw(t, n, &cf, &e), 0);
        assert_int_equal(cf.conn[0].dpd_delay.v, 30);
        assert_int_equal(cf.conn[0].rekey_time.v, 14400);
        assert_int_equal(cf.conn[0].child[0].rekey_time.v, 3600);
        conn_fact_free(&cf);
        free(t);
        t = L(side ? "lab/healthy/gw-b.swanctl-list-conns.txt" : "lab/healthy/gw-a.swanctl-list-conns.txt", &n);
        assert_int_equal(swanctl_parse_conns_text(t, n, &cf, &e), 0);
        assert_int_equal(cf.conn[0].dpd_delay.v, 30);
        conn_fact_free(&cf);
        free(t);
    }
}

static void test_lab_esp_drop_shows_one_way_counters(void **state)
{
    size_t n;
    struct err e = {0};
    struct sa_fact a, b;
    char *t = L("lab/esp-drop-to-b/gw-a.swanctl-list-sas-raw.txt", &n);
    assert_int_equal(swanctl_parse_sas_raw(t, n, &a, &e), 0);
    free(t);
    t = L("lab/esp-drop-to-b/gw-b.swanctl-list-sas-raw.txt", &n);
    assert_int_equal(swanctl_parse_sas_raw(t, n, &b, &e), 0);
    free(t);
    assert_int_equal(a.ike[0].child[0].packets_out.v, 3);
    assert_int_equal(b.ike[0].child[0].packets_in.v, 0);
    assert_int_equal(a.ike[0].child[0].spi_out.v, b.ike[0].child[0].spi_in.v);
    sa_fact_free(&a);
    sa_fact_free(&b);
    struct ping_fact p;
    t = L("lab/esp-drop-to-b/gw-a.ping.txt", &n);
    assert_int_equal(ping_parse(t, n, &p, &e), 0);
    assert_int_equal(p.received.v, 0);
    free(t);
}

static void test_lab_ts_mismatch_has_no_child_and_logs_it(void **state)
{
    size_t n;
    struct err e = {0};
    struct sa_fact f;
    char *t = L("lab/ts-mismatch/gw-a.swanctl-list-sas-raw.txt", &n);
    assert_int_equal(swanctl_parse_sas_raw(t, n, &f, &e), 0);
    assert_int_equal(f.n_ike, 1);
    assert_int_equal(f.ike[0].n_child, 0);
    sa_fact_free(&f);
    free(t);
    struct log_fact lf;
    t = L("lab/ts-mismatch/gw-a.charon.log", &n);
    assert_int_equal(daemonlog_parse(t, n, &lf, &e), 0);
    assert_true(lf.count[LOG_TS_UNACCEPTABLE] >= 1);
    assert_true(lf.count[LOG_NAT_LOCAL] >= 1);
    log_fact_free(&lf);
    free(t);
    t = L("lab/ts-mismatch/gw-b.charon.log", &n);
    assert_int_equal(daemonlog_parse(t, n, &lf, &e), 0);
    assert_true(lf.count[LOG_TS_UNACCEPTABLE] >= 1); /* "traffic selectors ... unacceptable" */
    log_fact_free(&lf);
    free(t);
    struct conn_fact cf;
    t = L("lab/ts-mismatch/gw-b.swanctl-list-conns-raw.txt", &n);
    assert_int_equal(swanctl_parse_conns_raw(t, n, &cf, &e), 0);
    assert_string_equal(cf.conn[0].child[0].remote_ts.item[0], "10.30.0.0/16");
    conn_fact_free(&cf);
    free(t);
}

static void test_lab_missing_nat_exemption_is_seen(void **state)
{
    size_t n;
    struct err e = {0};
    struct fw_fact f;
    char *t = L("lab/no-nat-exemption-iptables/gw-a.iptables-save.txt", &n);
    assert_int_equal(iptables_parse_save(t, n, &f, &e), 0);
    long snat = -1;
    for (size_t i = 0; i < f.n_rule; i++)
        if (f.rule[i].verdict == FW_SNAT)
            snat = (long)i;
    assert_true(snat >= 0);
    assert_string_equal(f.rule[snat].saddr, "10.10.0.0/16");
    assert_int_equal(fw_nat_exemption_before(&f, (size_t)snat, "10.10.0.0/16", "10.20.0.0/16"), -1);
    fw_fact_free(&f);
    free(t);
    t = L("lab/no-nat-exemption-iptables/gw-a.nft-list-ruleset.txt", &n);
    assert_int_equal(nft_parse_ruleset(t, n, &f, &e), 0);
    fw_fact_free(&f);
    free(t);
}

static void test_lab_pmtu_blackhole_df_ping_gets_nothing(void **state)
{
    size_t n;
    struct err e = {0};
    struct ping_fact p;
    char *t = L("lab/pmtu-blackhole/gw-a.ping-df-1372.txt", &n);
    assert_int_equal(ping_parse(t, n, &p, &e), 0);
    assert_int_equal(p.payload.v, 1372);
    assert_int_equal(p.received.v, 0);
    assert_false(p.frag_needed_mtu.known);
    free(t);
    t = L("lab/healthy/gw-a.ping-df-1372.txt", &n);
    assert_int_equal(ping_parse(t, n, &p, &e), 0);
    assert_int_equal(p.received.v, 2);
    free(t);
}

static void test_lab_every_capture_parses(void **state)
{
    static const char *states[] = {"healthy", "esp-drop-to-b", "ts-mismatch"};
    static const char *nodes[] = {"gw-a", "gw-b"};
    char rel[256];
    size_t n;
    struct err e = {0};
    for (size_t s = 0; s < 3; s++)
        for (size_t k = 0; k < 2; k++) {
#define P(what) snprintf(rel, sizeof rel, "lab/%s/%s.%s", states[s], nodes[k], what)
            char *t;
            P("ss-ulnp.txt");
            t = L(rel, &n);
            struct udp_listen_fact u;
            assert_int_equal(ss_parse_udp(t, n, &u, &e), 0);
            assert_true(udp_listen_count(&u, 4500, NULL) >= 1);
            assert_true(udp_listen_count(&u, 500, NULL) >= 1);
            free(t);
            P("sysctl-udp-timeouts.txt");
            t = L(rel, &n);
            struct ct_timeout_fact ct;
            assert_int_equal(sysctl_parse_ct_timeouts(t, n, &ct, &e), 0);
            free(t);
            P("ip-o-link.txt");
            t = L(rel, &n);
            struct link_fact lk;
            assert_int_equal(link_parse(t, n, &lk, &e), 0);
            assert_non_null(link_find(&lk, "ipsec0"));
            free(t);
            P("ip-route-get.txt");
            t = L(rel, &n);
            struct route_fact r;
            assert_int_equal(route_parse_get(t, n, &r, &e), 0);
            free(t);
            P("xfrm_stat.txt");
            t = L(rel, &n);
            struct xfrm_stat_fact xs;
            assert_int_equal(xfrm_parse_stat(t, n, &xs, &e), 0);
            free(t);
            P("nft-list-ruleset.txt");
            t = L(rel, &n);
            struct fw_fact fw;
            if (nft_parse_ruleset(t, n, &fw, &e) != 0)
                fail_msg("%s: %s", rel, e.msg);
            fw_fact_free(&fw);
            free(t);
            P("iptables-save.txt");
            t = L(rel, &n);
            if (iptables_parse_save(t, n, &fw, &e) != 0)
                fail_msg("%s: %s", rel, e.msg);
            fw_fact_free(&fw);
            free(t);
            P("charon.log");
            t = L(rel, &n);
            struct log_fact lf;
            assert_int_equal(daemonlog_parse(t, n, &lf, &e), 0);
            log_fact_free(&lf);
            free(t);
#undef P
        }
    char *t = L("lab/esp-drop-to-b/nat-a.conntrack-udp.txt", &n);
    struct ct_fact c;
    assert_int_equal(conntrack_parse_udp(t, n, &c, &e), 0);
    free(t);
}

static void test_uml_kernel_xfrm_states_match_lab_truth(void **state)
{
    size_t n;
    struct err e = {0};
    struct xfrm_fact a = {0}, b = {0};
    char *t = L("uml/esp-drop-to-b/gw-a.ip-s-xfrm-state-nokeys.txt", &n);
    assert_int_equal(xfrm_parse_states_text(t, n, &a, &e), 0);
    free(t);
    t = L("uml/esp-drop-to-b/gw-b.ip-s-xfrm-state-nokeys.txt", &n);
    assert_int_equal(xfrm_parse_states_text(t, n, &b, &e), 0);
    free(t);
    const struct xfrm_sa *a_out = NULL, *b_in = NULL;
    for (size_t i = 0; i < a.n_sa; i++)
        if (!strcmp(a.sa[i].src, "192.168.77.2"))
            a_out = &a.sa[i];
    for (size_t i = 0; i < b.n_sa; i++)
        if (!strcmp(b.sa[i].dst, "198.51.100.20"))
            b_in = &b.sa[i];
    assert_non_null(a_out);
    assert_non_null(b_in);
    assert_int_equal(a_out->encap, TRI_YES);
    assert_int_equal(a_out->encap_dport.v, 4500);
    assert_string_equal(a_out->aead, "rfc4106(gcm(aes))");
    assert_int_equal(a_out->cur_packets.v, 25);
    assert_int_equal(a_out->oseq.v, 0x19);
    assert_int_equal(b_in->cur_packets.v, 15);
    assert_true(a_out->spi.v == b_in->spi.v);
    xfrm_fact_free(&a);
    xfrm_fact_free(&b);
    /* the FAKED-keys form parses to the same and keeps no key */
    t = L("uml/healthy/gw-a.ip-s-xfrm-state-keys-FAKED.txt", &n);
    assert_int_equal(xfrm_parse_states_text(t, n, &a, &e), 0);
    for (size_t i = 0; i < a.n_sa; i++)
        assert_null(strstr(a.sa[i].aead, "fa4e"));
    xfrm_fact_free(&a);
    free(t);
    static const char *pf[] = {"uml/healthy/gw-a.ip-xfrm-policy.txt",
                               "uml/healthy/gw-b.ip-s-xfrm-policy.txt"};
    for (size_t i = 0; i < 2; i++) {
        t = L(pf[i], &n);
        if (xfrm_parse_policies_text(t, n, &a, &e) != 0)
            fail_msg("%s: %s", pf[i], e.msg);
        bool tunnel = false;
        for (size_t k = 0; k < a.n_pol; k++)
            if (a.pol[k].n_tmpl && !strcmp(a.pol[k].tmpl[0].mode, "tunnel"))
                tunnel = true;
        assert_true(tunnel);
        xfrm_fact_free(&a);
        free(t);
    }
    struct xfrm_stat_fact xs;
    t = L("uml/esp-drop-to-b/gw-b.xfrm_stat.txt", &n);
    assert_int_equal(xfrm_parse_stat(t, n, &xs, &e), 0);
    assert_true(xfrm_stat_get(&xs, "XfrmInNoStates").known);
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lab_healthy_swanctl_matches_lab_truth),
        cmocka_unit_test(test_lab_esp_drop_shows_one_way_counters),
        cmocka_unit_test(test_lab_ts_mismatch_has_no_child_and_logs_it),
        cmocka_unit_test(test_lab_missing_nat_exemption_is_seen),
        cmocka_unit_test(test_lab_pmtu_blackhole_df_ping_gets_nothing),
        cmocka_unit_test(test_lab_every_capture_parses),
        cmocka_unit_test(test_uml_kernel_xfrm_states_match_lab_truth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
