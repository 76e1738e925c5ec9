/* playbook/rules: every finding fires on the facts that call for it, and a
 * healthy pair of gateways raises nothing.  Facts are literals: no network. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "playbook/prose.h"
#include "playbook/rules.h"

/* Two lab gateways in good health: gw-a behind NAT, ESP-in-UDP, keepalive 20 s. */
static struct peer_facts healthy_a(void)
{
    struct peer_facts p = {
        .name = "gw-a",
        .connected = true,
        .sudo = TRI_YES,
        .daemon = "strongswan",
        .conn = {.name = "site",
                 .child = "net",
                 .local_addrs = {"192.168.77.2"},
                 .remote_addrs = {"198.51.100.20"},
                 .local_ts = {"10.10.0.0/16"},
                 .remote_ts = {"10.20.0.0/16"},
                 .ike_proposals = {"aes256gcm16-prfsha256-ecp256"},
                 .esp_proposals = {"aes256gcm16-ecp256"},
                 .dpd_delay = 30,
                 .dpd_timeout = 0,
                 .ike_rekey_time = 14400,
                 .child_rekey_time = 3600,
                 .child_life_time = 3960},
        .ike = {.state = "ESTABLISHED",
                .local_host = "192.168.77.2",
                .local_port = 4500,
                .remote_host = "198.51.100.20",
                .remote_port = 4500,
                .nat_local = TRI_YES,
                .nat_remote = TRI_YES, /* as the lab's gw-a really reports it */
                .proposal = "AES_GCM_16_256/PRF_HMAC_SHA2_256/ECP_256",
                .established_s = 120},
        .child = {.state = "INSTALLED",
                  .encap = TRI_YES,
                  .spi_in = 0xc1000001,
                  .spi_out = 0xc2000002,
                  .packets_in = 10,
                  .packets_out = 10,
                  .bytes_in = 840,
                  .bytes_out = 840,
                  .proposal = "AES_GCM_16_256",
                  .local_ts = {"10.10.0.0/16"},
                  .remote_ts = {"10.20.0.0/16"},
                  .installed_s = 120},
        .listen500 = TRI_YES,
        .listen4500 = TRI_YES,
        .fw = {.known = true, .source = "nft list ruleset", .mss_clamp = TRI_NO, .mss_value = -1},
        .udp_timeout = 30,
        .udp_timeout_stream = 120,
        .conntrack_4500_timeout = -1,
        .keepalive_s = 20,
        .outer_mtu = 1500,
        .route = {.dst = "10.20.0.1", .from = "10.10.0.1", .dev = "ipsec0", .src = "10.10.0.1"},
        .logs = {.known = true, .window_s = 10},
        .sweep = {.largest_ok = -1, .first_fail = -1, .local_mtu = -1, .frag_needed_mtu = -1},
    };
    return p;
}

static struct peer_facts healthy_b(void)
{
    struct peer_facts p = healthy_a();
    p.name = "gw-b";
    const char *la[PF_MAX] = {"198.51.100.20"}, *ra[PF_MAX] = {"%any"};
    memcpy(p.conn.local_addrs, la, sizeof la);
    memcpy(p.conn.remote_addrs, ra, sizeof ra);
    p.conn.local_ts[0] = "10.20.0.0/16";
    p.conn.remote_ts[0] = "10.10.0.0/16";
    p.child.local_ts[0] = "10.20.0.0/16";
    p.child.remote_ts[0] = "10.10.0.0/16";
    p.ike.local_host = "198.51.100.20";
    p.ike.remote_host = "203.0.113.10";
    p.ike.nat_local = TRI_NO;
    p.ike.nat_remote = TRI_YES;
    p.child.spi_in = 0xc2000002;
    p.child.spi_out = 0xc1000001;
    p.route.dst = "10.10.0.1";
    p.route.from = "10.20.0.1";
    return p;
}

static struct reach_dir clean_dir(long n, uint32_t spi)
{
    struct reach_dir d = {
        .udp4500_sent = n + 2,
        .udp4500_received = n + 2,
        .esp_sent = n,
        .esp_received = n,
        .ka_sent = 1,
        .ka_received = 1,
        .ka_interval_s = -1,
        .ike_sent = 1,
        .ike_received = 1,
        .delay_median_ms = 0.2,
        .delay_p99_ms = 0.9,
        .spis = {{spi, n, n, 0}},
        .n_spis = 1,
        .buckets = {{128, n, 0}, {512, 0, 0}, {1200, 0, 0}, {65535, 0, 0}},
    };
    return d;
}

static struct reach_facts healthy_reach(void)
{
    struct reach_facts r = {
        .ran = true,
        .window_s = 5.0,
        .offset_method = "median of matched ESP delays, both directions",
        .a_to_b = clean_dir(100, 0xc2000002),
        .b_to_a = clean_dir(100, 0xc1000001),
        .a_out = 100,
        .b_in = 100,
        .b_out = 100,
        .a_in = 100,
    };
    return r;
}

struct world {
    struct peer_facts a, b;
    struct reach_facts r;
    struct diag_in in;
    struct findings fs;
};

static int setup(void **state)
{
    struct world *w = calloc(1, sizeof *w);
    if (!w)
        return -1;
    w->a = healthy_a();
    w->b = healthy_b();
    w->r = healthy_reach();
    w->in = (struct diag_in){.a = &w->a, .b = &w->b, .reach = &w->r, .active = false};
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    struct world *w = *state;
    findings_free(&w->fs);
    free(w);
    return 0;
}

static void run_all(struct world *w)
{
    findings_free(&w->fs);
    for (int s = STEP_FIRST; s <= STEP_LAST; s++)
        assert_int_equal(rules_step(s, &w->in, &w->fs), 0);
}

/* The finding must be there, at that step and severity, with a decision from the asset. */
static const struct finding *expect(const struct world *w, const char *id, int step, enum severity sev)
{
    const struct finding *f = findings_find(&w->fs, id);
    if (!f) {
        for (size_t i = 0; i < w->fs.n; i++)
            print_message("  have %s (%s): %s\n", w->fs.v[i].id, severity_name(w->fs.v[i].sev), w->fs.v[i].title);
        fail_msg("finding %s not raised", id);
    }
    assert_int_equal(f->step, step);
    assert_int_equal(f->sev, sev);
    assert_non_null(f->decision);
    assert_null(strstr(f->decision, "{")); /* every placeholder filled */
    return f;
}

/* No finding of warning or failure other than those named (NULL-terminated). */
static void expect_no_other_alarm(const struct world *w, const char *const *allowed)
{
    for (size_t i = 0; i < w->fs.n; i++) {
        if (w->fs.v[i].sev < SEV_WARNING)
            continue;
        bool ok = false;
        for (int k = 0; allowed[k]; k++)
            ok |= !strcmp(allowed[k], w->fs.v[i].id);
        if (!ok)
            fail_msg("unexpected %s %s: %s", severity_name(w->fs.v[i].sev), w->fs.v[i].id, w->fs.v[i].title);
    }
}

static void test_healthy_pair_raises_no_alarm_and_every_step_says_something(void **state)
{
    struct world *w = *state;
    run_all(w);
    expect_no_other_alarm(w, (const char *[]){NULL});
    assert_null(findings_principal(&w->fs));
    assert_int_equal(findings_exit_status(&w->fs), 0);
    assert_false(rules_cannot_diagnose(&w->fs));
    for (int s = STEP_FIRST; s <= STEP_LAST; s++) {
        bool some = false;
        for (size_t i = 0; i < w->fs.n; i++)
            some |= w->fs.v[i].step == s;
        assert_true(some);
    }
    expect(w, "transport.natt", STEP_TRANSPORT, SEV_INFO);
    const struct finding *n = findings_find(&w->fs, "transport.natt");
    assert_non_null(strstr(n->title, "gw-a behind NAT"));
    assert_null(strstr(n->title, "gw-b"));
    expect(w, "reach.ok", STEP_REACH, SEV_OK);
    expect(w, "reach.keepalive_ok", STEP_REACH, SEV_INFO);
    expect(w, "policy.ok", STEP_POLICY, SEV_OK);
    expect(w, "mtu.overhead", STEP_MTU, SEV_OK);
    expect(w, "mtu.mss_clamp_missing", STEP_MTU, SEV_INFO);
    expect(w, "mtu.sweep_skipped", STEP_MTU, SEV_INFO);
    expect(w, "timers.ok", STEP_TIMERS, SEV_OK);
}

static void test_healthy_active_sweep_raises_no_alarm(void **state)
{
    struct world *w = *state;
    w->in.active = true;
    struct pf_sweep s = {.ran = true, .from = "10.10.0.1", .to = "10.20.0.1", .small_ok = true,
                         .largest_ok = 1372, .first_fail = 1373, .local_mtu = 1400, .frag_needed_mtu = -1};
    w->a.sweep = s;
    s.from = "10.20.0.1";
    s.to = "10.10.0.1";
    w->b.sweep = s;
    run_all(w);
    expect_no_other_alarm(w, (const char *[]){NULL});
    expect(w, "mtu.sweep_ok", STEP_MTU, SEV_INFO);
    assert_null(findings_find(&w->fs, "mtu.blackhole"));
}

static void test_idle_tunnel_is_info_not_alarm(void **state)
{
    struct world *w = *state;
    struct reach_dir idle = {.udp4500_sent = 1, .udp4500_received = 1, .ka_sent = 1, .ka_received = 1,
                             .ka_interval_s = -1, .delay_median_ms = -1};
    w->r.a_to_b = idle;
    w->r.b_to_a = idle;
    run_all(w);
    expect(w, "reach.no_traffic", STEP_REACH, SEV_INFO);
    expect_no_other_alarm(w, (const char *[]){NULL});
}

static void test_unreachable_peer_cannot_be_diagnosed(void **state)
{
    struct world *w = *state;
    w->b.connected = false;
    w->b.connect_error = "connection refused";
    run_all(w);
    const struct finding *f = expect(w, "peer.unreachable", STEP_TRANSPORT, SEV_FAILURE);
    assert_non_null(strstr(f->title, "gw-b"));
    assert_non_null(strstr(f->title, "connection refused"));
    assert_true(rules_cannot_diagnose(&w->fs));
    /* the later steps say they could not run, they do not pass */
    for (int s = STEP_REACH; s <= STEP_LAST; s++)
        assert_int_not_equal(findings_step_status(&w->fs, s), STEP_OK);
}

static void test_no_sudo_no_daemon_no_conn(void **state)
{
    struct world *w = *state;
    w->a.sudo = TRI_NO;
    w->b.daemon = NULL;
    run_all(w);
    expect(w, "peer.no_sudo", STEP_TRANSPORT, SEV_FAILURE);
    expect(w, "transport.no_daemon", STEP_TRANSPORT, SEV_FAILURE);
    assert_true(rules_cannot_diagnose(&w->fs));

    w->a.sudo = TRI_YES;
    w->b.daemon = "strongswan";
    w->b.conn.name = NULL;
    run_all(w);
    expect(w, "transport.no_conn", STEP_TRANSPORT, SEV_FAILURE);
    assert_true(rules_cannot_diagnose(&w->fs));
}

static void test_missing_listener_on_4500(void **state)
{
    struct world *w = *state;
    w->b.listen4500 = TRI_NO;
    run_all(w);
    const struct finding *f = expect(w, "transport.no_listener", STEP_TRANSPORT, SEV_FAILURE);
    assert_non_null(strstr(f->title, "gw-b: nothing listens on UDP/4500"));
    assert_string_equal(findings_principal(&w->fs)->id, "transport.no_listener");
}

static void test_no_ike_sa(void **state)
{
    struct world *w = *state;
    w->a.ike.state = "CONNECTING";
    w->b.ike.state = NULL;
    w->b.child.state = NULL;
    run_all(w);
    expect(w, "transport.no_ike_sa", STEP_TRANSPORT, SEV_FAILURE);
    assert_null(findings_find(&w->fs, "transport.no_child_sa"));
}

static void test_ts_mismatch_gives_no_child_sa_then_both_selector_sets(void **state)
{
    struct world *w = *state;
    w->b.conn.remote_ts[0] = "10.11.0.0/16";
    w->a.child.state = NULL;
    w->b.child.state = NULL;
    w->b.logs.ts_unacceptable = 3;
    w->b.logs.lines[0] = "received TS_UNACCEPTABLE notify, no CHILD_SA built";
    /* no CHILD SA: no ESP on the wire, only IKE and keepalives */
    struct reach_dir d = {.udp4500_sent = 3, .udp4500_received = 3, .ike_sent = 2, .ike_received = 2,
                          .ka_sent = 1, .ka_received = 1, .ka_interval_s = -1, .delay_median_ms = -1};
    w->r.a_to_b = d;
    w->r.b_to_a = d;
    run_all(w);
    const struct finding *f = expect(w, "transport.no_child_sa", STEP_TRANSPORT, SEV_FAILURE);
    assert_non_null(strstr(f->title, "TS_UNACCEPTABLE"));
    const struct finding *t = expect(w, "policy.ts_mismatch", STEP_POLICY, SEV_FAILURE);
    assert_non_null(strstr(t->title, "10.11.0.0/16"));
    assert_non_null(strstr(t->title, "10.10.0.0/16"));
    assert_non_null(strstr(t->title, "10.20.0.0/16"));
    assert_non_null(strstr(t->decision, "gw-b has local 10.20.0.0/16 / remote 10.11.0.0/16"));
    assert_string_equal(findings_principal(&w->fs)->id, "transport.no_child_sa");
    expect_no_other_alarm(w, (const char *[]){"transport.no_child_sa", "policy.ts_mismatch", NULL});
}

static void test_narrowed_selectors_are_info(void **state)
{
    struct world *w = *state;
    w->b.conn.remote_ts[0] = "10.10.0.0/15"; /* B accepts more than A offers: narrowing */
    run_all(w);
    expect(w, "policy.ts_mismatch", STEP_POLICY, SEV_INFO);
    expect_no_other_alarm(w, (const char *[]){NULL});
}

static void test_raw_esp_blocked_by_firewall(void **state)
{
    struct world *w = *state;
    w->a.ike.nat_local = TRI_NO;
    w->b.ike.nat_remote = TRI_NO;
    w->a.child.encap = TRI_NO;
    w->b.child.encap = TRI_NO;
    w->b.fw.drop_esp = "ip protocol esp drop";
    run_all(w);
    const struct finding *f = expect(w, "transport.esp_raw_blocked", STEP_TRANSPORT, SEV_FAILURE);
    assert_non_null(strstr(f->title, "gw-b"));
    assert_null(findings_find(&w->fs, "transport.natt"));
}

static void test_esp_lost_one_way(void **state)
{
    struct world *w = *state;
    w->r.a_to_b.esp_received = 0;
    w->r.a_to_b.esp_lost = 100;
    w->r.a_to_b.udp4500_received = 2; /* IKE and keepalives still arrive */
    w->r.a_to_b.spis[0].received = 0;
    w->r.a_to_b.spis[0].lost = 100;
    w->r.b_to_a = clean_dir(0, 0xc1000001); /* no replies */
    w->r.b_to_a.n_spis = 0;
    run_all(w);
    const struct finding *f = expect(w, "reach.esp_lost_a_to_b", STEP_REACH, SEV_FAILURE);
    assert_non_null(strstr(f->title, "100 of 100 ESP packets sent by gw-a did not arrive at gw-b"));
    bool spi = false;
    for (size_t i = 0; i < f->n_ev; i++)
        spi |= f->ev[i].detail && strstr(f->ev[i].detail, "c2000002") != NULL;
    assert_true(spi);
    assert_string_equal(findings_principal(&w->fs)->id, "reach.esp_lost_a_to_b");
    expect_no_other_alarm(w, (const char *[]){"reach.esp_lost_a_to_b", NULL});
}

static void test_esp_lost_b_to_a(void **state)
{
    struct world *w = *state;
    w->r.b_to_a.esp_received = 50;
    w->r.b_to_a.esp_lost = 50;
    run_all(w);
    expect(w, "reach.esp_lost_b_to_a", STEP_REACH, SEV_FAILURE);
    expect_no_other_alarm(w, (const char *[]){"reach.esp_lost_b_to_a", NULL});
}

static void test_udp4500_blocked_toward_a(void **state)
{
    struct world *w = *state;
    w->r.b_to_a.udp4500_received = 0;
    w->r.b_to_a.esp_received = 0;
    w->r.b_to_a.esp_lost = 100;
    w->r.b_to_a.ka_received = 0;
    w->r.b_to_a.ike_received = 0;
    run_all(w);
    const struct finding *f = expect(w, "reach.udp4500_blocked_b_to_a", STEP_REACH, SEV_FAILURE);
    assert_non_null(strstr(f->title, "from gw-b never reaches gw-a"));
    assert_null(findings_find(&w->fs, "reach.esp_lost_b_to_a")); /* the block says it all */
    assert_string_equal(findings_principal(&w->fs)->id, "reach.udp4500_blocked_b_to_a");
    expect_no_other_alarm(w, (const char *[]){"reach.udp4500_blocked_b_to_a", NULL});
}

static void test_udp4500_blocked_toward_b(void **state)
{
    struct world *w = *state;
    w->r.a_to_b.udp4500_received = 0;
    w->r.a_to_b.esp_received = 0;
    w->r.a_to_b.esp_lost = 100;
    run_all(w);
    expect(w, "reach.udp4500_blocked_a_to_b", STEP_REACH, SEV_FAILURE);
}


static void test_only_esp_sent_and_none_arrived_is_esp_loss_not_a_port_block(void **state)
{
    struct world *w = *state;
    /* busy tunnel: no keepalive, no IKE in the window, every ESP packet lost */
    w->r.a_to_b = (struct reach_dir){.udp4500_sent = 130, .esp_sent = 130, .esp_lost = 130, .ka_interval_s = -1,
                                     .delay_median_ms = -1, .spis = {{0xc2000002, 130, 0, 130}}, .n_spis = 1};
    w->r.b_to_a = (struct reach_dir){.ka_interval_s = -1, .delay_median_ms = -1};
    run_all(w);
    expect(w, "reach.esp_lost_a_to_b", STEP_REACH, SEV_FAILURE);
    assert_null(findings_find(&w->fs, "reach.udp4500_blocked_a_to_b"));
}

static void test_counters_witness_loss_when_the_window_saw_no_esp(void **state)
{
    struct world *w = *state;
    struct reach_dir idle = {.ka_interval_s = -1, .delay_median_ms = -1};
    w->r.a_to_b = idle;
    w->r.b_to_a = idle;
    w->r.a_out = 50;
    w->r.b_in = 0;
    w->r.b_out = 0;
    w->r.a_in = 0;
    run_all(w);
    const struct finding *f = expect(w, "reach.esp_lost_a_to_b", STEP_REACH, SEV_FAILURE);
    assert_non_null(strstr(f->title, "SA counters"));
    assert_null(findings_find(&w->fs, "reach.esp_lost_b_to_a"));
}

static void test_loss_both_ways_is_random_loss(void **state)
{
    struct world *w = *state;
    w->r.a_to_b.esp_received = 90;
    w->r.a_to_b.esp_lost = 10;
    w->r.b_to_a.esp_received = 88;
    w->r.b_to_a.esp_lost = 12;
    run_all(w);
    const struct finding *f = expect(w, "reach.random_loss", STEP_REACH, SEV_FAILURE);
    assert_non_null(strstr(f->title, "(10.0 %)"));
    assert_non_null(strstr(f->title, "(12.0 %)"));
    assert_null(findings_find(&w->fs, "reach.esp_lost_a_to_b"));
    /* DPD 30 s is not aggressive even on a lossy path */
    assert_null(findings_find(&w->fs, "timers.dpd_aggressive"));
    expect_no_other_alarm(w, (const char *[]){"reach.random_loss", NULL});
}

static void test_one_lost_packet_at_window_edge_is_not_an_alarm(void **state)
{
    struct world *w = *state;
    w->r.a_to_b.esp_received = 99;
    w->r.a_to_b.esp_lost = 1;
    run_all(w);
    expect_no_other_alarm(w, (const char *[]){NULL});
}

static void test_nat_mapping_change(void **state)
{
    struct world *w = *state;
    w->r.a_to_b.mapping_changes = 1;
    w->r.a_to_b.mapping_first = "203.0.113.10:4500";
    w->r.a_to_b.mapping_last = "203.0.113.10:1024";
    run_all(w);
    const struct finding *f = expect(w, "reach.nat_mapping_changed", STEP_REACH, SEV_FAILURE);
    assert_non_null(strstr(f->title, "203.0.113.10:4500"));
    assert_non_null(strstr(f->title, "203.0.113.10:1024"));
}

static void test_keepalives_off_behind_nat(void **state)
{
    struct world *w = *state;
    w->a.keepalive_s = 0;
    run_all(w);
    const struct finding *f = expect(w, "reach.keepalive_too_sparse", STEP_REACH, SEV_FAILURE);
    assert_non_null(strstr(f->title, "gw-a"));
    /* it says that the NAT box itself was not seen */
    bool says = false;
    for (size_t i = 0; i < f->n_ev; i++)
        says |= f->ev[i].detail && strstr(f->ev[i].detail, "not reachable by ssh") != NULL;
    assert_true(says);
    /* gw-b is not behind NAT: its keepalives do not matter */
    w->a.keepalive_s = 20;
    w->b.keepalive_s = 0;
    run_all(w);
    assert_null(findings_find(&w->fs, "reach.keepalive_too_sparse"));
}

static void test_keepalive_not_below_udp_timeout(void **state)
{
    struct world *w = *state;
    w->a.keepalive_s = 30;
    w->b.udp_timeout = 25;
    run_all(w);
    const struct finding *f = expect(w, "reach.keepalive_too_sparse", STEP_REACH, SEV_FAILURE);
    assert_non_null(strstr(f->title, "every 30 s"));
    assert_non_null(strstr(f->title, "25 s"));
}

static void test_capture_unavailable_is_reported_and_counters_still_judge(void **state)
{
    struct world *w = *state;
    struct reach_facts r = {.ran = false, .error = "tcpdump: command not found on gw-b",
                            .a_out = 40, .b_in = 0, .b_out = 0, .a_in = 0};
    w->r = r;
    run_all(w);
    const struct finding *f = expect(w, "reach.not_run", STEP_REACH, SEV_WARNING);
    assert_non_null(strstr(f->title, "tcpdump"));
    expect(w, "reach.esp_lost_a_to_b", STEP_REACH, SEV_FAILURE);
    w->in.reach = NULL;
    run_all(w);
    expect(w, "reach.not_run", STEP_REACH, SEV_WARNING);
    assert_int_equal(findings_step_status(&w->fs, STEP_REACH), STEP_WARNING);
}

static void test_snat_without_exemption(void **state)
{
    struct world *w = *state;
    w->a.fw.nat[0] = (struct pf_nat_rule){.action = PF_NAT_SNAT, .src = "10.10.0.0/16", .dst = "10.20.0.0/16",
                                          .text = "ip saddr 10.10.0.0/16 ip daddr 10.20.0.0/16 snat to 192.168.77.2"};
    w->a.fw.n_nat = 1;
    run_all(w);
    const struct finding *f = expect(w, "policy.nat_exemption_missing", STEP_POLICY, SEV_FAILURE);
    assert_non_null(strstr(f->title, "gw-a"));
    assert_non_null(strstr(f->decision, "snat to 192.168.77.2"));
    assert_string_equal(findings_principal(&w->fs)->id, "policy.nat_exemption_missing");
    expect_no_other_alarm(w, (const char *[]){"policy.nat_exemption_missing", NULL});
}

static void test_nat_rules_that_spare_protected_traffic_are_fine(void **state)
{
    struct world *w = *state;
    /* an exemption first, then a broad masquerade */
    w->a.fw.nat[0] = (struct pf_nat_rule){.action = PF_NAT_EXEMPT, .dst = "10.20.0.0/16", .text = "ip daddr 10.20.0.0/16 accept"};
    w->a.fw.nat[1] = (struct pf_nat_rule){.action = PF_NAT_MASQUERADE, .text = "masquerade"};
    w->a.fw.n_nat = 2;
    /* masquerade limited to non-IPsec traffic */
    w->b.fw.nat[0] = (struct pf_nat_rule){.action = PF_NAT_MASQUERADE, .ipsec_none = true,
                                          .text = "-A POSTROUTING -m policy --dir out --pol none -j MASQUERADE"};
    /* masquerade on the WAN interface while protected traffic leaves by ipsec0 */
    w->b.fw.nat[1] = (struct pf_nat_rule){.action = PF_NAT_MASQUERADE, .oif = "wan0", .text = "oifname wan0 masquerade"};
    /* SNAT of another subnet */
    w->b.fw.nat[2] = (struct pf_nat_rule){.action = PF_NAT_SNAT, .src = "172.16.0.0/12", .text = "snat 172.16/12"};
    w->b.fw.n_nat = 3;
    run_all(w);
    assert_null(findings_find(&w->fs, "policy.nat_exemption_missing"));
    expect_no_other_alarm(w, (const char *[]){NULL});
}

static void test_route_error_and_subnet_overlap(void **state)
{
    struct world *w = *state;
    w->b.route.error = "RTNETLINK answers: Network is unreachable";
    w->b.route.dev = NULL;
    run_all(w);
    expect(w, "policy.route_wrong", STEP_POLICY, SEV_FAILURE);


    struct peer_facts b = healthy_b();
    w->b = b;
    w->a.conn.remote_ts[0] = "10.10.5.0/24";
    w->b.conn.local_ts[0] = "10.10.5.0/24";
    run_all(w);
    expect(w, "policy.subnet_overlap", STEP_POLICY, SEV_FAILURE);
}

static void test_pmtu_blackhole_with_mss(void **state)
{
    struct world *w = *state;
    w->in.active = true;
    w->a.sweep = (struct pf_sweep){.ran = true, .from = "10.10.0.1", .to = "10.20.0.1", .small_ok = true,
                                   .largest_ok = 1330, .first_fail = 1331, .fail_silent = true, .local_mtu = 1400, .frag_needed_mtu = -1};
    w->b.sweep = w->a.sweep;
    w->b.sweep.from = "10.20.0.1";
    w->b.sweep.to = "10.10.0.1";
    run_all(w);
    const struct finding *f = expect(w, "mtu.blackhole", STEP_MTU, SEV_FAILURE);
    assert_non_null(strstr(f->title, "up to 1330"));
    assert_non_null(strstr(f->title, "from 1331"));
    /* inner 1358 -> MSS 1318 */
    assert_non_null(strstr(f->decision, "--set-mss 1318"));
    const struct finding *m = expect(w, "mtu.mss_clamp_missing", STEP_MTU, SEV_WARNING);
    assert_non_null(strstr(m->title, "1318"));
    assert_string_equal(findings_principal(&w->fs)->id, "mtu.blackhole");
    expect_no_other_alarm(w, (const char *[]){"mtu.blackhole", "mtu.mss_clamp_missing", NULL});
}

static void test_pmtud_working_is_not_a_blackhole(void **state)
{
    struct world *w = *state;
    w->in.active = true;
    w->a.sweep = (struct pf_sweep){.ran = true, .from = "10.10.0.1", .to = "10.20.0.1", .small_ok = true,
                                   .largest_ok = 1330, .first_fail = 1331, .local_mtu = -1, .frag_needed_mtu = 1420};
    w->b.sweep = w->a.sweep;
    run_all(w);
    assert_null(findings_find(&w->fs, "mtu.blackhole"));
    expect(w, "mtu.pmtud_ok", STEP_MTU, SEV_INFO);
    expect_no_other_alarm(w, (const char *[]){NULL});
}

static void test_sweep_that_could_not_run_says_so(void **state)
{
    struct world *w = *state;
    w->in.active = true;
    w->a.sweep = (struct pf_sweep){.ran = true, .error = "no protected address on gw-a"};
    w->b.sweep = (struct pf_sweep){.ran = true, .small_ok = false, .from = "10.20.0.1", .to = "10.10.0.1"};
    run_all(w);
    expect(w, "mtu.not_run", STEP_MTU, SEV_WARNING);
    expect(w, "mtu.sweep_no_reply", STEP_MTU, SEV_WARNING);
}

static void test_large_packets_lost_one_way(void **state)
{
    struct world *w = *state;
    w->r.a_to_b.buckets[0] = (struct reach_bucket){128, 80, 0};
    w->r.a_to_b.buckets[3] = (struct reach_bucket){65535, 20, 20};
    w->r.a_to_b.esp_sent = 100;
    w->r.a_to_b.esp_received = 80;
    w->r.a_to_b.esp_lost = 20;
    run_all(w);
    expect(w, "mtu.large_packets_lost", STEP_MTU, SEV_FAILURE);
}

static void test_mss_clamp_too_high(void **state)
{
    struct world *w = *state;
    w->a.fw.mss_clamp = TRI_YES;
    w->a.fw.mss_value = 1460;
    run_all(w);
    const struct finding *f = expect(w, "mtu.mss_too_high", STEP_MTU, SEV_INFO);
    assert_non_null(strstr(f->title, "1460"));
    assert_null(findings_find(&w->fs, "mtu.mss_clamp_missing"));
}

static void test_esp_overhead_arithmetic_for_aes_gcm(void **state)
{
    struct esp_overhead o;
    esp_overhead_compute(1500, &o);
    /* 20 + 8 + 8 + 8 + 16 = 60; 1440 left, multiple of 4; inner 1438 + 2 trailer, no padding */
    assert_int_equal(o.inner_max, 1438);
    assert_int_equal(o.pad, 0);
    assert_int_equal(o.total, 62);
    assert_int_equal(o.mss, 1398);
    esp_overhead_compute(1420, &o);
    assert_int_equal(o.inner_max, 1358);
    assert_int_equal(o.mss, 1318);
    esp_overhead_compute(1499, &o); /* 1439 left -> 1436 aligned: 3 bytes lost to alignment */
    assert_int_equal(o.inner_max, 1434);
    assert_int_equal(o.total, 65);
    assert_int_equal(esp_outer_size(1438), 1500);
    assert_int_equal(esp_outer_size(1435), 1500);
    assert_int_equal(esp_outer_size(1439), 1504);
    esp_overhead_compute(40, &o);
    assert_int_equal(o.inner_max, 0);
}

static void test_mtu_overhead_finding_shows_the_arithmetic(void **state)
{
    struct world *w = *state;
    run_all(w);
    const struct finding *f = expect(w, "mtu.overhead", STEP_MTU, SEV_OK);
    assert_non_null(strstr(f->title, "overhead 62 bytes"));
    assert_non_null(strstr(f->title, "MSS 1398"));
    bool arith = false;
    for (size_t i = 0; i < f->n_ev; i++)
        arith |= f->ev[i].detail && strstr(f->ev[i].detail, "outer IPv4 20 + UDP 8 + ESP header 8 + IV 8 + ICV 16") != NULL;
    assert_true(arith);
}

static void test_proposals_without_common_ground(void **state)
{
    struct world *w = *state;
    w->b.conn.esp_proposals[0] = "aes128-sha256-modp2048";
    run_all(w);
    const struct finding *f = expect(w, "timers.proposal_mismatch", STEP_TIMERS, SEV_FAILURE);
    assert_non_null(strstr(f->title, "ESP proposals have nothing in common"));
    w->b.conn.esp_proposals[1] = "aes256gcm16-ecp256";
    run_all(w);
    expect(w, "timers.proposal_mismatch", STEP_TIMERS, SEV_INFO);
}

static void test_lifetimes(void **state)
{
    struct world *w = *state;
    w->b.conn.child_rekey_time = 1800;
    run_all(w);
    expect(w, "timers.lifetime_mismatch", STEP_TIMERS, SEV_INFO);
    w->b.conn.child_rekey_time = 7200; /* a's SA dies (3960 s) before b rekeys it */
    run_all(w);
    expect(w, "timers.lifetime_mismatch", STEP_TIMERS, SEV_WARNING);
}

static void test_dpd_aggressive_alone_warns_with_loss_fails(void **state)
{
    struct world *w = *state;
    w->a.conn.dpd_delay = 3;
    run_all(w);
    expect(w, "timers.dpd_aggressive", STEP_TIMERS, SEV_WARNING);

    /* aggressive-dpd + lossy-wan: the loss is principal (step 2), DPD reported as failure */
    w->r.a_to_b.esp_received = 85;
    w->r.a_to_b.esp_lost = 15;
    w->r.b_to_a.esp_received = 90;
    w->r.b_to_a.esp_lost = 10;
    w->r.a_to_b.ike_sa_init = 1;
    run_all(w);
    const struct finding *f = expect(w, "timers.dpd_aggressive", STEP_TIMERS, SEV_FAILURE);
    assert_non_null(strstr(f->title, "DPD every 3 s"));
    assert_non_null(strstr(f->decision, "probability 23.5 %"));
    expect(w, "reach.random_loss", STEP_REACH, SEV_FAILURE);
    expect(w, "timers.sa_churn", STEP_TIMERS, SEV_WARNING);
    assert_string_equal(findings_principal(&w->fs)->id, "reach.random_loss");
    expect_no_other_alarm(w, (const char *[]){"reach.random_loss", "timers.dpd_aggressive", "timers.sa_churn", NULL});
}

static void test_sa_churn_from_logs(void **state)
{
    struct world *w = *state;
    w->a.logs.ike_established = 2;
    w->b.logs.ike_established = 2;
    run_all(w);
    expect(w, "timers.sa_churn", STEP_TIMERS, SEV_FAILURE);
}

/* The lab with sudo refused on gw-b: swanctl could not be asked, so no
 * "no IKE daemon" is claimed; peer.no_sudo names the peer and the diagnosis
 * cannot be made (exit 3). */
static void test_sudo_refused_is_said_and_no_daemon_is_not_claimed(void **state)
{
    struct world *w = *state;
    w->b.sudo = TRI_NO;
    w->b.daemon = NULL;
    memset(&w->b.conn, 0, sizeof w->b.conn);
    w->b.gaps[0] = (struct pf_gap){STEP_TRANSPORT, "swanctl --list-sas --raw", "sudo -n refused"};
    w->b.n_gaps = 1;
    run_all(w);
    const struct finding *f = expect(w, "peer.no_sudo", STEP_TRANSPORT, SEV_FAILURE);
    assert_non_null(strstr(f->title, "gw-b"));
    assert_null(findings_find(&w->fs, "transport.no_daemon"));
    assert_null(findings_find(&w->fs, "transport.no_conn"));
    expect(w, "transport.not_run", STEP_TRANSPORT, SEV_WARNING);
    assert_true(rules_cannot_diagnose(&w->fs));
    /* swanctl answering nothing with sudo working is still "no daemon" */
    w->b.sudo = TRI_YES;
    run_all(w);
    expect(w, "transport.no_daemon", STEP_TRANSPORT, SEV_FAILURE);
}

/* An IKE daemon restarted during the capture: SAs re-established is a warning,
 * and the timers summary does not also say "no SA churn". */
static void test_churn_is_not_denied_by_the_timers_summary(void **state)
{
    struct world *w = *state;
    w->r.a_to_b.ike_sa_init = 1;
    w->a.logs.ike_established = 1;
    run_all(w);
    expect(w, "timers.sa_churn", STEP_TIMERS, SEV_WARNING);
    const struct finding *ok = findings_find(&w->fs, "timers.ok");
    assert_non_null(ok);
    assert_null(strstr(ok->title, "no SA churn"));
    w->r.a_to_b.ike_sa_init = 0;
    w->a.logs.ike_established = 0;
    run_all(w);
    assert_non_null(strstr(findings_find(&w->fs, "timers.ok")->title, "no SA churn"));
}

static void test_gaps_become_not_run_findings(void **state)
{
    struct world *w = *state;
    w->b.gaps[0] = (struct pf_gap){STEP_POLICY, "nft list ruleset", "sudo -n refused"};
    w->b.gaps[1] = (struct pf_gap){STEP_REACH, "conntrack -L", "command not found"};
    w->b.n_gaps = 2;
    run_all(w);
    const struct finding *f = expect(w, "policy.not_run", STEP_POLICY, SEV_WARNING);
    assert_non_null(strstr(f->title, "nft list ruleset"));
    assert_non_null(strstr(f->decision, "sudo -n refused"));
    expect(w, "reach.not_run", STEP_REACH, SEV_WARNING);
}

static void test_every_documented_id_has_a_decision_and_every_step_prose(void **state)
{
    static const char *const ids[] = {
        "peer.unreachable", "peer.no_sudo", "transport.no_daemon", "transport.no_conn", "transport.conn_ambiguous",
        "transport.no_listener", "transport.no_ike_sa", "transport.no_child_sa", "transport.natt",
        "transport.esp_raw_blocked", "transport.ok", "transport.not_run", "reach.not_run", "reach.esp_lost_a_to_b",
        "reach.esp_lost_b_to_a", "reach.udp4500_blocked_a_to_b", "reach.udp4500_blocked_b_to_a", "reach.random_loss",
        "reach.nat_mapping_changed", "reach.keepalive_too_sparse", "reach.keepalive_ok", "reach.no_traffic",
        "reach.ok", "policy.ts_mismatch", "policy.subnet_overlap", "policy.nat_exemption_missing",
        "policy.route_wrong", "policy.ok", "policy.not_run", "mtu.blackhole", "mtu.large_packets_lost",
        "mtu.mss_clamp_missing", "mtu.mss_too_high", "mtu.pmtud_ok", "mtu.sweep_ok", "mtu.sweep_no_reply",
        "mtu.overhead", "mtu.sweep_skipped", "mtu.not_run", "timers.proposal_mismatch", "timers.lifetime_mismatch",
        "timers.dpd_aggressive", "timers.sa_churn", "timers.ok", "timers.not_run", "transport.other_end_needed",
        "reach.other_end_needed", "policy.other_end_needed", "mtu.other_end_needed", "timers.other_end_needed",
        "timers.proposals_not_compared", NULL};
    for (int i = 0; ids[i]; i++) {
        char *d = prose_decision(ids[i]);
        if (!d)
            fail_msg("no decision for %s in assets/playbook.md", ids[i]);
        free(d);
    }
    assert_null(prose_decision("no.such_id"));
    for (int s = STEP_FIRST; s <= STEP_LAST; s++) {
        char *c = prose_step_checks(s), *y = prose_step_why(s);
        assert_non_null(c);
        assert_non_null(y);
        assert_null(strstr(c, "**"));
        free(c);
        free(y);
    }
    char *all = prose_ids();
    assert_non_null(strstr(all, "timers.sa_churn\n"));
    free(all);
    const char *kv[] = {"peer", "gw-b", NULL};
    char *r = prose_render("mtu.mss_too_high", kv);
    assert_string_equal(r, "gw-b clamps the MSS above what fits the tunnel: lower it to {mss}.");
    free(r);
}

/* One end only (a half-bundle): each step judges what this end alone tells,
 * raises no alarm on a healthy end, and says what the other end must supply. */
static void test_one_end_judges_this_end_and_says_what_the_other_must_supply(void **state)
{
    struct world *w = *state;
    w->in.b = NULL;
    w->r = (struct reach_facts){.ran = false, .error = "gw-b is not connected", .a_out = 120, .a_in = 118,
                                .b_in = -1, .b_out = -1};
    run_all(w);
    expect_no_other_alarm(w, (const char *[]){NULL});
    assert_null(findings_principal(&w->fs));
    static const char *const ids[] = {"transport.other_end_needed", "reach.other_end_needed",
                                      "policy.other_end_needed", "mtu.other_end_needed", "timers.other_end_needed"};
    for (int s = STEP_FIRST; s <= STEP_LAST; s++) {
        const struct finding *f = expect(w, ids[s - 1], s, SEV_INFO);
        assert_non_null(strstr(f->decision, "--one-end"));
        assert_non_null(strstr(f->decision, "merge"));
        assert_non_null(strstr(f->decision, "gw-a"));
    }
    expect(w, "transport.ok", STEP_TRANSPORT, SEV_OK);
    const struct finding *r = expect(w, "reach.other_end_needed", STEP_REACH, SEV_INFO);
    bool counters = false;
    for (size_t k = 0; k < r->n_ev; k++)
        counters |= r->ev[k].detail && strstr(r->ev[k].detail, "120 packets out, 118 in");
    assert_true(counters);
    /* nothing is said about the other end it has not seen */
    for (size_t i = 0; i < w->fs.n; i++)
        assert_null(strstr(w->fs.v[i].title, "gw-b"));
}

/* One end's own faults are still found: a SNAT rule catching protected
 * traffic, a missing listener. */
static void test_one_end_still_finds_its_own_faults(void **state)
{
    struct world *w = *state;
    w->in.b = NULL;
    w->a.listen4500 = TRI_NO;
    w->a.fw.nat[0] = (struct pf_nat_rule){PF_NAT_MASQUERADE, "10.10.0.0/16", NULL, NULL, false,
                                          "-A POSTROUTING -s 10.10.0.0/16 -j MASQUERADE"};
    w->a.fw.n_nat = 1;
    w->a.fw.known = true;
    run_all(w);
    expect(w, "transport.no_listener", STEP_TRANSPORT, SEV_FAILURE);
    expect(w, "policy.nat_exemption_missing", STEP_POLICY, SEV_FAILURE);
    assert_string_equal(findings_principal(&w->fs)->id, "transport.no_listener");
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_healthy_pair_raises_no_alarm_and_every_step_says_something),
        T(test_healthy_active_sweep_raises_no_alarm),
        T(test_idle_tunnel_is_info_not_alarm),
        T(test_unreachable_peer_cannot_be_diagnosed),
        T(test_no_sudo_no_daemon_no_conn),
        T(test_missing_listener_on_4500),
        T(test_no_ike_sa),
        T(test_ts_mismatch_gives_no_child_sa_then_both_selector_sets),
        T(test_narrowed_selectors_are_info),
        T(test_raw_esp_blocked_by_firewall),
        T(test_esp_lost_one_way),
        T(test_esp_lost_b_to_a),
        T(test_udp4500_blocked_toward_a),
        T(test_udp4500_blocked_toward_b),
        T(test_only_esp_sent_and_none_arrived_is_esp_loss_not_a_port_block),
        T(test_counters_witness_loss_when_the_window_saw_no_esp),
        T(test_loss_both_ways_is_random_loss),
        T(test_one_lost_packet_at_window_edge_is_not_an_alarm),
        T(test_nat_mapping_change),
        T(test_keepalives_off_behind_nat),
        T(test_keepalive_not_below_udp_timeout),
        T(test_capture_unavailable_is_reported_and_counters_still_judge),
        T(test_snat_without_exemption),
        T(test_nat_rules_that_spare_protected_traffic_are_fine),
        T(test_route_error_and_subnet_overlap),
        T(test_pmtu_blackhole_with_mss),
        T(test_pmtud_working_is_not_a_blackhole),
        T(test_sweep_that_could_not_run_says_so),
        T(test_large_packets_lost_one_way),
        T(test_mss_clamp_too_high),
        T(test_esp_overhead_arithmetic_for_aes_gcm),
        T(test_mtu_overhead_finding_shows_the_arithmetic),
        T(test_proposals_without_common_ground),
        T(test_lifetimes),
        T(test_dpd_aggressive_alone_warns_with_loss_fails),
        T(test_sa_churn_from_logs),
        T(test_gaps_become_not_run_findings),
        T(test_sudo_refused_is_said_and_no_daemon_is_not_claimed),
        T(test_churn_is_not_denied_by_the_timers_summary),
        T(test_every_documented_id_has_a_decision_and_every_step_prose),
        T(test_one_end_judges_this_end_and_says_what_the_other_must_supply),
        T(test_one_end_still_finds_its_own_faults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
