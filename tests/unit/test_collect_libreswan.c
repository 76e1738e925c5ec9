/* Libreswan peers through collect and the rules: real Libreswan 4.10 outputs
 * (tests/fixtures/libreswan/real/, UML guest with real XFRM) into the facts of
 * the five steps, and the findings they lead to. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "playbook/collect.h"
#include "playbook/discover.h"
#include "playbook/finding.h"
#include "playbook/rules.h"
#include "remote/err.h"

static struct collect_side *side_new(const char *name)
{
    struct collect_side *s = calloc(1, sizeof *s);
    assert_non_null(s);
    s->name = name;
    s->f.name = name;
    s->f.connected = true;
    s->f.sudo = TRI_YES;
    s->f.udp_timeout = s->f.udp_timeout_stream = s->f.keepalive_s = s->f.outer_mtu = -1;
    s->f.conntrack_4500_timeout = -1;
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

static void feed(struct collect_side *s, enum probe_kind k, const char *rel)
{
    size_t n;
    char *t = fixture_load(rel, &n);
    collect_parse(s, k, 0, ERR_NONE, t, n, "");
    free(t);
}

static void feed_text(struct collect_side *s, enum probe_kind k, int status, const char *t)
{
    collect_parse(s, k, status, ERR_NONE, t, strlen(t), t);
}

/* A Libreswan gateway as the batch sees it: no swanctl, then Libreswan's
 * status and traffic, ss. */
static struct collect_side *lsw_side(const char *name, const char *scenario, const char *end)
{
    struct collect_side *s = side_new(name);
    feed_text(s, PROBE_SAS, 127, "sh: 1: swanctl: not found");
    feed_text(s, PROBE_CONNS, 127, "sh: 1: swanctl: not found");
    char rel[256];
    snprintf(rel, sizeof rel, "libreswan/real/%s.%s.whack-status.txt", scenario, end);
    feed(s, PROBE_LSW_STATUS, rel);
    snprintf(rel, sizeof rel, "libreswan/real/%s.%s.trafficstatus.txt", scenario, end);
    feed(s, PROBE_LSW_TRAFFIC, rel);
    feed_text(s, PROBE_SWCONF, 1, "cat: /etc/strongswan.conf: No such file or directory");
    s->f.listen500 = s->f.listen4500 = TRI_YES; /* ss -ulnp is not this test's */
    return s;
}

/* What do_discover() does: the pair of connections, then the selection. */
static void discover(struct collect_side *a, struct collect_side *b, const char *want)
{
    struct collect_side *sides[2] = {a, b};
    struct discover_conn dc[2][16];
    struct discover_sa ds[2][16];
    struct discover_side d[2];
    memset(dc, 0, sizeof dc);
    for (int i = 0; i < 2; i++) {
        const struct collect_side *cs = sides[i];
        assert_true(cs->conns.n_conn <= 16 && cs->sas.n_ike <= 16);
        for (size_t k = 0; k < cs->conns.n_conn; k++) {
            dc[i][k].name = cs->conns.conn[k].name;
            for (size_t x = 0; x < cs->conns.conn[k].local_addrs.n && x < DISCOVER_MAX_ADDRS - 1; x++)
                dc[i][k].local_addrs[x] = cs->conns.conn[k].local_addrs.item[x];
            for (size_t x = 0; x < cs->conns.conn[k].remote_addrs.n && x < DISCOVER_MAX_ADDRS - 1; x++)
                dc[i][k].remote_addrs[x] = cs->conns.conn[k].remote_addrs.item[x];
        }
        for (size_t k = 0; k < cs->sas.n_ike; k++)
            ds[i][k] = (struct discover_sa){cs->sas.ike[k].name, cs->sas.ike[k].local_host,
                                            cs->sas.ike[k].remote_host};
        d[i] = (struct discover_side){dc[i], cs->conns.n_conn, ds[i], cs->sas.n_ike};
    }
    struct discover_out o;
    discover_conn(&d[0], &d[1], want, &o);
    assert_int_equal(o.result, DISCOVER_FOUND);
    a->conn_want = o.name_a;
    b->conn_want = o.name_b;
    collect_select_conn(a);
    collect_select_conn(b);
}

static const struct finding *find_id(const struct findings *fs, const char *id)
{
    for (size_t i = 0; i < fs->n; i++)
        if (!strcmp(fs->v[i].id, id))
            return &fs->v[i];
    return NULL;
}

static bool any_failure(const struct findings *fs)
{
    for (size_t i = 0; i < fs->n; i++)
        if (fs->v[i].sev == SEV_FAILURE)
            return true;
    return false;
}

static void test_libreswan_natt_pair_gives_step1_and_step5_facts(void **state)
{
    struct collect_side *w = lsw_side("west", "natt", "west"), *e = lsw_side("east", "natt", "east");
    assert_string_equal(w->f.daemon, "libreswan");
    assert_string_equal(e->f.daemon, "libreswan");
    /* east's instance "west-east"[1] is folded into its connection */
    discover(w, e, "west-east");
    assert_string_equal(w->f.conn.name, "west-east");
    assert_string_equal(e->f.conn.name, "west-east");
    for (int i = 0; i < 2; i++) {
        const struct peer_facts *f = i ? &e->f : &w->f;
        assert_string_equal(f->ike.state, "ESTABLISHED");
        assert_int_equal(f->ike.remote_port, 4500);
        assert_string_equal(f->child.state, "INSTALLED");
        assert_int_equal(f->child.encap, TRI_YES);
        assert_int_equal(f->child.bytes_in, 420); /* from trafficstatus */
        assert_int_equal(f->child.packets_in, -1); /* Libreswan prints no packet counts */
        assert_int_equal(f->conn.dpd_delay, 10);
        assert_int_equal(f->keepalive_s, 20);
        assert_string_equal(f->conn.esp_proposals[0], "AES_GCM_16_256-NONE");
        assert_string_equal(f->child.proposal, "AES_GCM_16_256-NONE");
        assert_int_equal(f->conn.child_life_time, 3600);
        assert_int_equal(f->n_gaps, 0); /* no swanctl, no strongswan.conf: not a gap here */
    }
    /* the two ends name the same SPIs the other way round */
    assert_int_equal(w->f.child.spi_in, 0x166ce816);
    assert_int_equal(w->f.child.spi_out, 0x871fae16);
    assert_int_equal(e->f.child.spi_in, w->f.child.spi_out);
    assert_int_equal(e->f.child.spi_out, w->f.child.spi_in);
    assert_string_equal(e->f.ike.remote_host, "203.0.113.10"); /* west as east sees it: NATed */
    assert_string_equal(w->f.ike.local_host, "192.168.77.2");

    struct findings fs = FINDINGS_INIT;
    struct diag_in in = {.a = &w->f, .b = &e->f};
    assert_int_equal(rules_step(1, &in, &fs), 0);
    const struct finding *natt = find_id(&fs, "transport.natt");
    assert_non_null(natt);
    assert_non_null(strstr(natt->title, "west behind NAT"));
    assert_null(strstr(natt->title, "east behind"));
    assert_non_null(find_id(&fs, "transport.ok"));
    assert_false(any_failure(&fs));
    assert_int_equal(rules_step(5, &in, &fs), 0);
    assert_null(find_id(&fs, "timers.proposal_mismatch"));
    assert_null(find_id(&fs, "timers.not_run"));
    assert_false(rules_cannot_diagnose(&fs));
    findings_free(&fs);
    side_free(w);
    side_free(e);
}

static void test_libreswan_ts_mismatch_is_ike_up_without_child(void **state)
{
    struct collect_side *w = lsw_side("west", "natt", "west"), *e = lsw_side("east", "natt", "east");
    discover(w, e, "ts-bad");
    assert_string_equal(w->f.ike.state, "ESTABLISHED");
    assert_null(w->f.child.state);
    assert_string_equal(w->f.conn.remote_ts[0], "10.22.0.0/16");
    assert_string_equal(e->f.conn.local_ts[0], "10.23.0.0/16");
    struct findings fs = FINDINGS_INIT;
    struct diag_in in = {.a = &w->f, .b = &e->f};
    rules_step(1, &in, &fs);
    const struct finding *f = find_id(&fs, "transport.no_child_sa");
    assert_non_null(f);
    assert_int_equal(f->sev, SEV_FAILURE);
    rules_step(3, &in, &fs);
    assert_non_null(find_id(&fs, "policy.ts_mismatch"));
    findings_free(&fs);
    side_free(w);
    side_free(e);
}

static void test_libreswan_without_nat_is_raw_esp(void **state)
{
    struct collect_side *w = lsw_side("west", "direct", "west"), *e = lsw_side("east", "direct", "east");
    discover(w, e, "west-east");
    assert_int_equal(w->f.ike.remote_port, 500);
    assert_int_equal(w->f.child.encap, TRI_NO);
    assert_int_equal(e->f.child.encap, TRI_NO);
    struct findings fs = FINDINGS_INIT;
    struct diag_in in = {.a = &w->f, .b = &e->f};
    rules_step(1, &in, &fs);
    assert_null(find_id(&fs, "transport.natt"));
    const struct finding *ok = find_id(&fs, "transport.ok");
    assert_non_null(ok);
    assert_non_null(strstr(ok->title, "raw ESP"));
    findings_free(&fs);
    side_free(w);
    side_free(e);
}

static void test_peer_with_neither_daemon_cannot_be_diagnosed(void **state)
{
    struct collect_side *a = side_new("gw-a"), *b = lsw_side("east", "natt", "east");
    feed_text(a, PROBE_SAS, 127, "sh: 1: swanctl: not found");
    feed_text(a, PROBE_CONNS, 127, "sh: 1: swanctl: not found");
    feed_text(a, PROBE_LSW_STATUS, 127, "no Libreswan ipsec");
    feed_text(a, PROBE_LSW_TRAFFIC, 127, "no Libreswan ipsec");
    assert_null(a->f.daemon);
    assert_int_equal(a->f.n_gaps, 0);
    struct findings fs = FINDINGS_INIT;
    struct diag_in in = {.a = &a->f, .b = &b->f};
    rules_step(1, &in, &fs);
    const struct finding *f = find_id(&fs, "transport.no_daemon");
    assert_non_null(f);
    assert_non_null(strstr(f->title, "gw-a"));
    assert_true(rules_cannot_diagnose(&fs)); /* diagnose exits 3 */
    findings_free(&fs);
    side_free(a);
    side_free(b);
}

static void test_libreswan_installed_but_pluto_down_says_so(void **state)
{
    struct collect_side *a = side_new("gw-a");
    feed_text(a, PROBE_SAS, 127, "sh: 1: swanctl: not found");
    feed_text(a, PROBE_LSW_STATUS, 1, "whack: Pluto is not running (no \"/run/pluto/pluto.ctl\")");
    feed_text(a, PROBE_LSW_TRAFFIC, 1, "whack: Pluto is not running (no \"/run/pluto/pluto.ctl\")");
    assert_null(a->f.daemon);
    assert_int_equal(a->f.n_gaps, 1);
    assert_string_equal(a->f.gaps[0].probe, "ipsec whack --status");
    assert_non_null(strstr(a->f.gaps[0].reason, "pluto is not running"));
    struct collect_side *b = side_new("gw-b");
    b->f.daemon = "strongswan";
    struct findings fs = FINDINGS_INIT;
    struct diag_in in = {.a = &a->f, .b = &b->f};
    rules_step(1, &in, &fs);
    assert_non_null(find_id(&fs, "transport.no_daemon"));
    const struct finding *g = find_id(&fs, "transport.not_run");
    assert_non_null(g);
    assert_non_null(strstr(g->title, "pluto is not running"));
    findings_free(&fs);
    side_free(a);
    side_free(b);
}

static void test_strongswan_peer_ignores_the_libreswan_probe(void **state)
{
    struct collect_side *s = side_new("gw-a");
    feed(s, PROBE_SAS, "swanctl/swanctl-list-sas-raw.gw-a.txt");
    feed_text(s, PROBE_LSW_STATUS, 127, "no Libreswan ipsec");
    feed_text(s, PROBE_LSW_TRAFFIC, 127, "no Libreswan ipsec");
    assert_string_equal(s->f.daemon, "strongswan");
    assert_int_equal(s->f.n_gaps, 0);
    side_free(s);
}

static void test_garbled_libreswan_status_is_a_gap_not_facts(void **state)
{
    struct collect_side *s = side_new("gw-a");
    feed_text(s, PROBE_SAS, 127, "sh: 1: swanctl: not found");
    feed_text(s, PROBE_LSW_STATUS, 0, "000 #2: \"x\":4500 STATE_QUICK_I2 (sent QI2); EVENT_SA_REPLACE in 2x3s;\n");
    assert_null(s->f.daemon);
    assert_int_equal(s->f.n_gaps, 1);
    assert_non_null(strstr(s->f.gaps[0].reason, "ipsec status: line 1"));
    side_free(s);
}

/* strongSwan gw-a (the lab's real swanctl output) against Libreswan east of
 * the same topology: step 1 from both daemons' facts, step 5 does not claim
 * a proposal mismatch between two vocabularies. */
static void test_mixed_strongswan_libreswan_pair(void **state)
{
    struct collect_side *a = side_new("gw-a"), *e = lsw_side("east", "natt", "east");
    feed(a, PROBE_SAS, "swanctl/swanctl-list-sas-raw.gw-a.txt");
    feed(a, PROBE_CONNS, "swanctl/swanctl-list-conns-raw.gw-a.txt");
    feed_text(a, PROBE_LSW_STATUS, 127, "no Libreswan ipsec");
    a->f.listen500 = a->f.listen4500 = TRI_YES;
    a->conn_want = "site";
    e->conn_want = "west-east";
    collect_select_conn(a);
    collect_select_conn(e);
    assert_string_equal(a->f.daemon, "strongswan");
    assert_string_equal(e->f.daemon, "libreswan");
    struct findings fs = FINDINGS_INIT;
    struct diag_in in = {.a = &a->f, .b = &e->f};
    rules_step(1, &in, &fs);
    const struct finding *natt = find_id(&fs, "transport.natt");
    assert_non_null(natt);
    assert_non_null(strstr(natt->title, "gw-a behind NAT")); /* strongSwan's own nat-local */
    assert_null(strstr(natt->title, "east")); /* gw-a sees east at east's own address */
    /* swanctl --list-conns --raw prints no proposals: nothing to compare */
    rules_step(5, &in, &fs);
    assert_null(find_id(&fs, "timers.proposal_mismatch"));
    assert_null(find_id(&fs, "timers.proposals_not_compared"));
    /* with strongSwan's words for the same ESP proposal (as --list-conns prints it) */
    a->f.conn.esp_proposals[0] = "AES_GCM_16_256";
    a->f.conn.esp_proposals[1] = NULL;
    rules_step(5, &in, &fs);
    assert_null(find_id(&fs, "timers.proposal_mismatch"));
    const struct finding *nc = find_id(&fs, "timers.proposals_not_compared");
    assert_non_null(nc);
    assert_int_equal(nc->sev, SEV_INFO);
    findings_free(&fs);
    side_free(a);
    side_free(e);
}

/* pluto's own log (logfile=, the same UML run) read by the pluto log probe;
 * charon's journal, empty there, does not replace it: the missing Child SA is
 * put down to TS_UNACCEPTABLE, with the log line */
static void test_libreswan_pluto_log_names_ts_unacceptable(void **state)
{
    struct collect_side *w = lsw_side("west", "natt", "west"), *e = lsw_side("east", "natt", "east");
    feed(w, PROBE_LSW_LOG, "libreswan/real/natt.west.pluto.log");
    feed(e, PROBE_LSW_LOG, "libreswan/real/natt.east.pluto.log");
    feed_text(w, PROBE_LOG, 0, "");
    feed_text(e, PROBE_LOG, 0, "");
    assert_true(w->f.logs.known);
    assert_int_equal(w->f.logs.ts_unacceptable, 1);
    assert_true(w->f.logs.retransmits >= 10);
    assert_true(w->f.logs.child_established >= 2);
    discover(w, e, "ts-bad");
    struct findings fs = FINDINGS_INIT;
    struct diag_in in = {.a = &w->f, .b = &e->f};
    rules_step(1, &in, &fs);
    const struct finding *f = find_id(&fs, "transport.no_child_sa");
    assert_non_null(f);
    assert_non_null(strstr(f->title, "TS_UNACCEPTABLE in the logs"));
    bool line = false;
    for (size_t i = 0; i < f->n_ev; i++)
        if (f->ev[i].detail && strstr(f->ev[i].detail, "<ts-bad> IKE_AUTH response rejected Child SA with TS_UNACCEPTABLE"))
            line = true;
    assert_true(line);
    findings_free(&fs);
    side_free(w);
    side_free(e);
}

/* the netns run: NO_PROPOSAL_CHOSEN, AUTHENTICATION_FAILED and a give-up
 * ("timeout exceeded after 5 retransmits") are counted for the rules */
static void test_libreswan_pluto_log_counts_refusals_and_give_up(void **state)
{
    struct collect_side *w = side_new("west");
    feed(w, PROBE_LSW_LOG, "libreswan/netns/west.pluto.log");
    assert_true(w->f.logs.known);
    assert_true(w->f.logs.no_proposal_chosen >= 1);
    assert_true(w->f.logs.auth_failed >= 1);
    assert_true(w->f.logs.dpd_dead >= 2);   /* noprop and gone gave up */
    assert_int_equal(w->f.n_gaps, 0);
    side_free(w);
    /* a strongSwan peer: the pluto log probe exits 127, no gap, charon's log stays */
    struct collect_side *c = side_new("gw-a");
    feed(c, PROBE_SAS, "swanctl/swanctl-list-sas-raw.gw-a.txt");
    feed(c, PROBE_LOG, "charon/charon-filelog.gw-a.log");
    feed_text(c, PROBE_LSW_LOG, 127, "no Libreswan ipsec");
    assert_true(c->f.logs.known);
    assert_int_equal(c->f.logs.ts_unacceptable, 1);
    assert_int_equal(c->f.n_gaps, 0);
    side_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_libreswan_natt_pair_gives_step1_and_step5_facts),
        cmocka_unit_test(test_libreswan_ts_mismatch_is_ike_up_without_child),
        cmocka_unit_test(test_libreswan_without_nat_is_raw_esp),
        cmocka_unit_test(test_peer_with_neither_daemon_cannot_be_diagnosed),
        cmocka_unit_test(test_libreswan_installed_but_pluto_down_says_so),
        cmocka_unit_test(test_libreswan_pluto_log_names_ts_unacceptable),
        cmocka_unit_test(test_libreswan_pluto_log_counts_refusals_and_give_up),
        cmocka_unit_test(test_strongswan_peer_ignores_the_libreswan_probe),
        cmocka_unit_test(test_garbled_libreswan_status_is_a_gap_not_facts),
        cmocka_unit_test(test_mixed_strongswan_libreswan_pair),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
