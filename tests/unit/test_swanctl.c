/* strongSwan swanctl parsers, on outputs captured from strongSwan 5.9.8
 * (tests/fixtures/swanctl/README). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "probes/swanctl.h"

static void load_sas(const char *rel, int raw, struct sa_fact *f)
{
    size_t n;
    char *t = fixture_load(rel, &n);
    struct err e = {0};
    int rc = raw ? swanctl_parse_sas_raw(t, n, f, &e) : swanctl_parse_sas_text(t, n, f, &e);
    if (rc != 0)
        fail_msg("%s: %s", rel, e.msg);
    free(t);
}

static void test_swanctl_raw_reports_nat_on_the_natted_gateway(void **state)
{
    struct sa_fact f;
    load_sas("swanctl/swanctl-list-sas-raw.gw-a.txt", 1, &f);
    assert_int_equal(f.source, SA_SRC_SWANCTL_RAW);
    assert_int_equal(f.n_ike, 1);
    const struct ike_sa *ike = &f.ike[0];
    assert_string_equal(ike->name, "site");
    assert_string_equal(ike->state, "ESTABLISHED");
    assert_int_equal(ike->version.v, 2);
    assert_string_equal(ike->local_host, "192.168.77.2");
    assert_int_equal(ike->local_port.v, 4500);
    assert_string_equal(ike->remote_host, "198.51.100.20");
    assert_int_equal(ike->remote_port.v, 4500);
    assert_string_equal(ike->local_id, "gw-a");
    assert_string_equal(ike->remote_id, "gw-b");
    assert_int_equal(ike->initiator, TRI_YES);
    assert_int_equal(ike->nat_local, TRI_YES);
    assert_int_equal(ike->nat_any, TRI_YES);
    assert_int_equal(ike->nat_fake, TRI_NO);
    assert_true(ike->initiator_spi.known);
    assert_true(ike->initiator_spi.v == 0x50f13cc598a2fa4cULL);
    assert_string_equal(ike->proposal, "AES_CBC-256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048");
    assert_int_equal(ike->established.v, 4);
    assert_int_equal(ike->rekey_time.v, 14363);
    assert_false(ike->reauth_time.known);
    sa_fact_free(&f);
}

static void test_swanctl_raw_reads_child_sas_with_counters_and_selectors(void **state)
{
    struct sa_fact f;
    load_sas("swanctl/swanctl-list-sas-raw.gw-a.txt", 1, &f);
    assert_int_equal(f.ike[0].n_child, 2);
    const struct child_sa *c = &f.ike[0].child[0];
    assert_string_equal(c->name, "net");
    assert_int_equal(c->uniqueid.v, 1);
    assert_int_equal(c->reqid.v, 1);
    assert_string_equal(c->state, "INSTALLED");
    assert_string_equal(c->mode, "TUNNEL");
    assert_string_equal(c->protocol, "ESP");
    assert_int_equal(c->encap, TRI_YES);
    assert_int_equal(c->spi_in.v, 0x5b86db5f);
    assert_int_equal(c->spi_out.v, 0xc89904f1);
    assert_string_equal(c->proposal, "AES_GCM_16-128");
    assert_int_equal(c->bytes_in.v, 420);
    assert_int_equal(c->packets_in.v, 5);
    assert_true(c->use_in.known);
    assert_int_equal(c->use_in.v, 0);
    assert_int_equal(c->rekey_time.v, 3394);
    assert_int_equal(c->life_time.v, 3956);
    assert_int_equal(c->install_time.v, 4);
    assert_int_equal(c->local_ts.n, 1);
    assert_string_equal(c->local_ts.item[0], "10.10.0.0/16");
    assert_string_equal(c->remote_ts.item[0], "10.20.0.0/16");
    const struct child_sa *c2 = &f.ike[0].child[1];
    assert_string_equal(c2->name, "net2");
    assert_string_equal(c2->proposal, "AES_CBC-256/HMAC_SHA2_256_128");
    assert_true(c2->packets_in.known);
    assert_int_equal(c2->packets_in.v, 0);
    /* no packet yet: strongSwan prints no use-in, which is unknown, not 0 */
    assert_false(c2->use_in.known);
    sa_fact_free(&f);
}

static void test_swanctl_raw_public_gateway_sees_remote_nat_only(void **state)
{
    struct sa_fact f;
    load_sas("swanctl/swanctl-list-sas-raw.gw-b.txt", 1, &f);
    const struct ike_sa *ike = &f.ike[0];
    assert_int_equal(ike->initiator, TRI_NO);
    assert_int_equal(ike->nat_local, TRI_NO);
    assert_int_equal(ike->nat_remote, TRI_YES);
    assert_string_equal(ike->remote_host, "203.0.113.10");
    assert_string_equal(ike->local_host, "198.51.100.20");
    /* SPIs mirror the other end */
    assert_int_equal(ike->child[0].spi_in.v, 0xc89904f1);
    assert_int_equal(ike->child[0].spi_out.v, 0x5b86db5f);
    sa_fact_free(&f);
}

static void test_swanctl_raw_ike_rekey_in_progress(void **state)
{
    struct sa_fact f;
    load_sas("swanctl/swanctl-list-sas-raw-ikerekeying.gw-a.txt", 1, &f);
    assert_string_equal(f.ike[0].state, "REKEYING");
    assert_string_equal(f.ike[0].tasks_active, "IKE_REKEY");
    assert_false(f.ike[0].established.known);
    sa_fact_free(&f);
}

static void test_swanctl_text_matches_raw(void **state)
{
    struct sa_fact r, t;
    load_sas("swanctl/swanctl-list-sas-raw.gw-a.txt", 1, &r);
    load_sas("swanctl/swanctl-list-sas.gw-a.txt", 0, &t);
    assert_int_equal(t.source, SA_SRC_SWANCTL_TEXT);
    assert_int_equal(t.n_ike, r.n_ike);
    assert_string_equal(t.ike[0].name, r.ike[0].name);
    assert_string_equal(t.ike[0].proposal, r.ike[0].proposal);
    assert_string_equal(t.ike[0].local_host, r.ike[0].local_host);
    assert_int_equal(t.ike[0].local_port.v, 4500);
    assert_int_equal(t.ike[0].initiator, TRI_YES);
    assert_true(t.ike[0].initiator_spi.v == r.ike[0].initiator_spi.v);
    /* the human form does not tell NAT */
    assert_int_equal(t.ike[0].nat_local, TRI_UNKNOWN);
    assert_int_equal(t.ike[0].n_child, 2);
    for (size_t i = 0; i < 2; i++) {
        const struct child_sa *a = &r.ike[0].child[i], *b = &t.ike[0].child[i];
        assert_string_equal(a->name, b->name);
        assert_string_equal(a->mode, b->mode);
        assert_string_equal(a->protocol, b->protocol);
        assert_int_equal(a->encap, b->encap);
        assert_string_equal(a->proposal, b->proposal);
        assert_int_equal(a->spi_in.v, b->spi_in.v);
        assert_int_equal(a->spi_out.v, b->spi_out.v);
        assert_int_equal(a->bytes_in.v, b->bytes_in.v);
        assert_int_equal(a->packets_out.v, b->packets_out.v);
        assert_string_equal(a->local_ts.item[0], b->local_ts.item[0]);
        assert_string_equal(a->remote_ts.item[0], b->remote_ts.item[0]);
    }
    assert_int_equal(t.ike[0].child[0].use_in.v, 1);
    assert_false(t.ike[0].child[1].use_in.known);
    sa_fact_free(&r);
    sa_fact_free(&t);
}

static void test_swanctl_text_detects_esp_in_udp_on_responder(void **state)
{
    struct sa_fact t;
    load_sas("swanctl/swanctl-list-sas.gw-b.txt", 0, &t);
    assert_int_equal(t.ike[0].initiator, TRI_NO);
    assert_string_equal(t.ike[0].remote_host, "203.0.113.10");
    assert_int_equal(t.ike[0].child[0].encap, TRI_YES);
    assert_string_equal(t.ike[0].child[0].mode, "TUNNEL");
    sa_fact_free(&t);
}

static void test_swanctl_text_ike_rekeying_shows_active_task(void **state)
{
    struct sa_fact t;
    load_sas("swanctl/swanctl-list-sas-ikerekeying.gw-a.txt", 0, &t);
    assert_string_equal(t.ike[0].state, "REKEYING");
    assert_string_equal(t.ike[0].tasks_active, "IKE_REKEY");
    sa_fact_free(&t);
}

static void test_swanctl_raw_empty_reply_is_no_sa(void **state)
{
    struct sa_fact f;
    struct err e = {0};
    const char *t = "list-sas reply {}\n";
    assert_int_equal(swanctl_parse_sas_raw(t, strlen(t), &f, &e), 0);
    assert_int_equal(f.n_ike, 0);
    sa_fact_free(&f);
}

static void test_swanctl_raw_truncated_output_is_an_error(void **state)
{
    size_t n;
    char *t = fixture_load("swanctl/swanctl-list-sas-raw.gw-a.txt", &n);
    struct sa_fact f;
    struct err e = {0};
    for (size_t cut = 0; cut < n - 1; cut += 7) {
        err_clear(&e);
        int rc = swanctl_parse_sas_raw(t, cut, &f, &e);
        assert_int_equal(rc, -1);
        assert_true(e.code == ERR_TRUNCATED || e.code == ERR_PARSE || e.code == ERR_UNSUPPORTED);
        assert_int_equal(f.n_ike, 0);
    }
    /* cut exactly before the reply line */
    const char *reply = strstr(t, "list-sas reply");
    assert_int_equal(swanctl_parse_sas_raw(t, (size_t)(reply - t), &f, &e), -1);
    assert_int_equal(e.code, ERR_TRUNCATED);
    free(t);
}

static void test_swanctl_raw_garbled_counter_is_an_error_not_a_number(void **state)
{
    size_t n;
    char *t = fixture_load("swanctl/swanctl-list-sas-raw.gw-a.txt", &n);
    char *p = strstr(t, "bytes-in=420");
    assert_non_null(p);
    p[10] = 'x';
    struct sa_fact f;
    struct err e = {0};
    assert_int_equal(swanctl_parse_sas_raw(t, n, &f, &e), -1);
    assert_int_equal(e.code, ERR_PARSE);
    assert_non_null(strstr(e.msg, "bytes-in"));
    free(t);
}

static void test_swanctl_daemon_not_running_is_unsupported(void **state)
{
    const char *t = "connecting to 'unix:///var/run/charon.vici' failed: No such file or directory\n"
                    "Error: connecting to 'default' URI failed: No such file or directory\n";
    struct sa_fact f;
    struct conn_fact c;
    struct err e = {0};
    assert_int_equal(swanctl_parse_sas_raw(t, strlen(t), &f, &e), -1);
    assert_int_equal(e.code, ERR_UNSUPPORTED);
    assert_non_null(strstr(e.msg, "charon.vici"));
    assert_int_equal(swanctl_parse_sas_text(t, strlen(t), &f, &e), -1);
    assert_int_equal(e.code, ERR_UNSUPPORTED);
    assert_int_equal(swanctl_parse_conns_text(t, strlen(t), &c, &e), -1);
    assert_int_equal(swanctl_parse_conns_raw(t, strlen(t), &c, &e), -1);
}

static void test_swanctl_text_truncated_child_is_an_error(void **state)
{
    size_t n;
    char *t = fixture_load("swanctl/swanctl-list-sas.gw-a.txt", &n);
    const char *cut = strstr(t, "    installed 5s ago, rekeying in 2932s");
    assert_non_null(cut);
    struct sa_fact f;
    struct err e = {0};
    assert_int_equal(swanctl_parse_sas_text(t, (size_t)(cut - t), &f, &e), -1);
    assert_int_equal(e.code, ERR_TRUNCATED);
    free(t);
}

static void load_conns(const char *rel, int raw, struct conn_fact *f)
{
    size_t n;
    char *t = fixture_load(rel, &n);
    struct err e = {0};
    int rc = raw ? swanctl_parse_conns_raw(t, n, f, &e) : swanctl_parse_conns_text(t, n, f, &e);
    if (rc != 0)
        fail_msg("%s: %s", rel, e.msg);
    free(t);
}

static void test_swanctl_conns_raw_and_text_agree(void **state)
{
    struct conn_fact r, t;
    load_conns("swanctl/swanctl-list-conns-raw.gw-a.txt", 1, &r);
    load_conns("swanctl/swanctl-list-conns.gw-a.txt", 0, &t);
    for (int k = 0; k < 2; k++) {
        const struct conn_fact *f = k ? &t : &r;
        assert_int_equal(f->n_conn, 1);
        const struct conn_conf *c = &f->conn[0];
        assert_string_equal(c->name, "site");
        assert_int_equal(c->version.v, 2);
        assert_int_equal(c->local_addrs.n, 1);
        assert_string_equal(c->local_addrs.item[0], "192.168.77.2");
        assert_string_equal(c->remote_addrs.item[0], "198.51.100.20");
        assert_int_equal(c->dpd_delay.v, 30);
        assert_int_equal(c->rekey_time.v, 14400);
        assert_true(c->reauth_time.known);
        assert_int_equal(c->reauth_time.v, 0);
        /* strongSwan 5.9.8 does not list these */
        assert_false(c->dpd_timeout.known);
        assert_false(c->keyingtries.known);
        assert_string_equal(c->proposals, "");
        assert_string_equal(c->local_id, "gw-a");
        assert_string_equal(c->remote_id, "gw-b");
        assert_string_equal(c->local_auth, "pre-shared key");
        assert_int_equal(c->n_child, 3);
        assert_string_equal(c->child[0].name, "net");
        assert_string_equal(c->child[0].mode, "TUNNEL");
        assert_int_equal(c->child[0].rekey_time.v, 3600);
        assert_string_equal(c->child[0].dpd_action, "start");
        assert_string_equal(c->child[0].local_ts.item[0], "10.10.0.0/16");
        assert_string_equal(c->child[0].remote_ts.item[0], "10.20.0.0/16");
        assert_string_equal(c->child[2].name, "net2");
        assert_int_equal(c->child[2].rekey_time.v, 3000);
    }
    conn_fact_free(&r);
    conn_fact_free(&t);
}

static void test_swanctl_conns_responder_accepts_any_peer(void **state)
{
    struct conn_fact r;
    load_conns("swanctl/swanctl-list-conns-raw.gw-b.txt", 1, &r);
    assert_string_equal(r.conn[0].remote_addrs.item[0], "%any");
    assert_int_equal(r.conn[0].n_child, 2);
    conn_fact_free(&r);
}

static void test_swanctl_conns_raw_truncated_is_an_error(void **state)
{
    size_t n;
    char *t = fixture_load("swanctl/swanctl-list-conns-raw.gw-a.txt", &n);
    struct conn_fact f;
    struct err e = {0};
    for (size_t cut = 0; cut < n - 1; cut += 5) {
        assert_int_equal(swanctl_parse_conns_raw(t, cut, &f, &e), -1);
        assert_int_equal(f.n_conn, 0);
    }
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_swanctl_raw_reports_nat_on_the_natted_gateway),
        cmocka_unit_test(test_swanctl_raw_reads_child_sas_with_counters_and_selectors),
        cmocka_unit_test(test_swanctl_raw_public_gateway_sees_remote_nat_only),
        cmocka_unit_test(test_swanctl_raw_ike_rekey_in_progress),
        cmocka_unit_test(test_swanctl_text_matches_raw),
        cmocka_unit_test(test_swanctl_text_detects_esp_in_udp_on_responder),
        cmocka_unit_test(test_swanctl_text_ike_rekeying_shows_active_task),
        cmocka_unit_test(test_swanctl_raw_empty_reply_is_no_sa),
        cmocka_unit_test(test_swanctl_raw_truncated_output_is_an_error),
        cmocka_unit_test(test_swanctl_raw_garbled_counter_is_an_error_not_a_number),
        cmocka_unit_test(test_swanctl_daemon_not_running_is_unsupported),
        cmocka_unit_test(test_swanctl_text_truncated_child_is_an_error),
        cmocka_unit_test(test_swanctl_conns_raw_and_text_agree),
        cmocka_unit_test(test_swanctl_conns_responder_accepts_any_peer),
        cmocka_unit_test(test_swanctl_conns_raw_truncated_is_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
