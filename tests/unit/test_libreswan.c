/* Libreswan `ipsec trafficstatus` and `ipsec status` (tests/fixtures/libreswan/README.md). */
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
    assert_string_equal(f.ike[0].name, "ikev2-cp[27]");
    assert_string_equal(f.ike[0].remote_host, "5.149.159.35");
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

static const struct ike_sa *ike_named(const struct sa_fact *f, const char *name)
{
    for (size_t i = 0; i < f->n_ike; i++)
        if (!strcmp(f->ike[i].name, name))
            return &f->ike[i];
    return NULL;
}

static const struct conn_conf *conn_named(const struct conn_fact *f, const char *name)
{
    for (size_t i = 0; i < f->n_conn; i++)
        if (!strcmp(f->conn[i].name, name))
            return &f->conn[i];
    return NULL;
}

/* Real Libreswan 4.10 (host netns): IKE SA up, the IPsec SA failed. */
static void test_status_410_ike_sa_without_child(void **state)
{
    size_t n;
    char *t = fixture_load("libreswan/status-4.10-ikeonly-west.txt", &n);
    struct libreswan_status s;
    struct err e = {0};
    assert_int_equal(libreswan_parse_status(t, n, &s, &e), 0);
    assert_string_equal(s.version, "4.10");
    assert_int_equal(s.nat_traversal, TRI_YES);
    assert_int_equal(s.keepalive.v, 20);
    assert_int_equal(s.listen500, TRI_YES);
    assert_int_equal(s.listen4500, TRI_YES);
    assert_int_equal(s.conns.n_conn, 1);
    const struct conn_conf *c = &s.conns.conn[0];
    assert_string_equal(c->name, "west-east");
    assert_int_equal(c->version.v, 2);
    assert_string_equal(c->local_addrs.item[0], "192.168.1.10");
    assert_string_equal(c->remote_addrs.item[0], "203.0.113.2");
    assert_string_equal(c->local_id, "@west");
    assert_string_equal(c->remote_id, "@east");
    assert_string_equal(c->proposals, "AES_CBC_256-HMAC_SHA2_256-MODP2048");
    assert_int_equal(c->dpd_delay.v, 10);
    assert_true(c->dpd_timeout.known && c->dpd_timeout.v == 0); /* IKEv2 liveness: no timeout */
    assert_int_equal(c->rekey_time.v, 28800 - 540);
    assert_int_equal(c->encap_forced, TRI_NO);
    assert_int_equal(c->n_child, 1);
    assert_string_equal(c->child[0].local_ts.item[0], "10.1.0.0/24");
    assert_string_equal(c->child[0].remote_ts.item[0], "10.2.0.0/24");
    assert_string_equal(c->child[0].esp_proposals, "AES_GCM_16_256-NONE");
    assert_string_equal(c->child[0].mode, "TUNNEL");
    assert_string_equal(c->child[0].dpd_action, "restart");
    assert_int_equal(c->child[0].life_time.v, 3600);
    assert_int_equal(c->child[0].rekey_time.v, 3600 - 540);
    assert_int_equal(s.x[0].keepalive.v, 20);
    assert_int_equal(s.sas.n_ike, 1);
    const struct ike_sa *ike = &s.sas.ike[0];
    assert_int_equal(ike->uniqueid.v, 5);
    assert_string_equal(ike->state, "ESTABLISHED");
    assert_int_equal(ike->version.v, 2);
    assert_int_equal(ike->remote_port.v, 4500);
    assert_int_equal(ike->nat_any, TRI_YES); /* floated to 4500 */
    assert_int_equal(ike->nat_local, TRI_UNKNOWN);
    assert_string_equal(ike->local_host, "192.168.1.10");
    assert_string_equal(ike->remote_host, "203.0.113.2");
    assert_string_equal(ike->proposal, "AES_CBC_256-HMAC_SHA2_256-MODP2048");
    assert_int_equal(ike->rekey_time.v, 27722);
    assert_int_equal(ike->n_child, 0);
    libreswan_status_free(&s);
    free(t);
}

/* The responder's side: a template and its instance "west-east"[1]. */
static void test_status_410_responder_instance_keyed_like_whack(void **state)
{
    size_t n;
    char *t = fixture_load("libreswan/status-4.10-ikeonly-east.txt", &n);
    struct libreswan_status s;
    struct err e = {0};
    assert_int_equal(libreswan_parse_status(t, n, &s, &e), 0);
    assert_int_equal(s.conns.n_conn, 2);
    const struct conn_conf *tmpl = conn_named(&s.conns, "west-east");
    const struct conn_conf *inst = conn_named(&s.conns, "west-east[1]");
    assert_non_null(tmpl);
    assert_non_null(inst);
    assert_string_equal(tmpl->remote_addrs.item[0], "%any");
    assert_string_equal(inst->remote_addrs.item[0], "203.0.113.1");
    assert_string_equal(inst->child[0].dpd_action, "clear");
    const struct ike_sa *ike = ike_named(&s.sas, "west-east[1]");
    assert_non_null(ike);
    assert_string_equal(ike->remote_host, "203.0.113.1");
    assert_int_equal(ike->remote_port.v, 4500);
    assert_string_equal(ike->state, "ESTABLISHED");
    libreswan_status_free(&s);
    free(t);
}

/* Reconstructed 3.x form: IKEv1 NAT-T, 3.x IKEv2 states, an instance. */
static void test_status_3x_ikev1_and_ikev2_states_with_children(void **state)
{
    size_t n;
    char *t = fixture_load("libreswan/status-3x-reconstructed.txt", &n);
    struct libreswan_status s;
    struct err e = {0};
    assert_int_equal(libreswan_parse_status(t, n, &s, &e), 0);
    assert_string_equal(s.version, "3.29");
    assert_int_equal(s.listen4500, TRI_YES); /* "eth0/eth0 192.168.10.2@4500" */
    const struct conn_conf *hq = conn_named(&s.conns, "branch-hq");
    assert_non_null(hq);
    assert_int_equal(hq->version.v, 1);
    assert_int_equal(hq->dpd_delay.v, 30);
    assert_int_equal(hq->dpd_timeout.v, 120);
    assert_string_equal(hq->child[0].dpd_action, "restart");
    const struct conn_conf *dc = conn_named(&s.conns, "branch-dc");
    assert_int_equal(dc->version.v, 2);
    assert_int_equal(dc->encap_forced, TRI_YES);
    assert_int_equal(dc->dpd_delay.v, 0);

    const struct ike_sa *v1 = ike_named(&s.sas, "branch-hq");
    assert_non_null(v1);
    assert_int_equal(v1->uniqueid.v, 5);
    assert_int_equal(v1->version.v, 1);
    assert_string_equal(v1->state, "ESTABLISHED");
    assert_int_equal(v1->n_child, 1); /* listed before its ISAKMP SA */
    const struct child_sa *c = &v1->child[0];
    assert_int_equal(c->uniqueid.v, 6);
    assert_int_equal(c->ike_uniqueid.v, 5);
    assert_string_equal(c->state, "INSTALLED");
    assert_int_equal(c->encap, TRI_YES);
    assert_int_equal(c->spi_out.v, 0xc1a2b3c4);
    assert_int_equal(c->spi_in.v, 0x5e6f7081);
    assert_int_equal(c->bytes_in.v, 4200);
    assert_int_equal(c->bytes_out.v, 3864); /* "3864B!" */
    assert_string_equal(c->mode, "TUNNEL");
    assert_string_equal(c->proposal, "AES_CBC_256-HMAC_SHA2_256_128");
    assert_string_equal(c->local_ts.item[0], "10.30.0.0/16");
    assert_string_equal(c->remote_ts.item[0], "10.40.0.0/16");
    assert_int_equal(c->rekey_time.v, 2871); /* EVENT_SA_REPLACE */

    const struct ike_sa *v2 = ike_named(&s.sas, "branch-dc");
    assert_int_equal(v2->version.v, 2);
    assert_int_equal(v2->rekey_time.v, 85611); /* EVENT_v2_SA_REPLACE_IF_USED_IKE */
    assert_string_equal(v2->child[0].state, "INSTALLED"); /* STATE_V2_IPSEC_I */

    const struct ike_sa *rw = ike_named(&s.sas, "rw[1]");
    assert_non_null(rw);
    assert_string_equal(rw->remote_host, "198.51.100.99");
    assert_string_equal(rw->child[0].remote_ts.item[0], "198.51.100.99/32"); /* host-to-host side */
    assert_false(rw->child[0].bytes_in.known); /* "12KB" is not exact */
    libreswan_status_free(&s);
    free(t);
}

static void test_status_rejects_truncated_garbled_and_foreign_text(void **state)
{
    size_t n;
    char *t = fixture_load("libreswan/status-3x-reconstructed.txt", &n);
    struct libreswan_status s;
    struct err e = {0};
    /* cut inside the state list: the cut line does not parse */
    const char *cut = strstr(t, "#6: \"branch-hq\" esp.");
    assert_non_null(cut);
    assert_int_equal(libreswan_parse_status(t, (size_t)(cut - t) + 20, &s, &e), -1);
    assert_int_equal(e.code, ERR_PARSE);
    assert_int_equal(s.sas.n_ike, 0);
    assert_int_equal(s.conns.n_conn, 0);
    assert_non_null(strstr(e.msg, "line"));
    const char *g = "000 #2: \"x\":4500 STATE_QUICK_I2 (sent QI2); EVENT_SA_REPLACE in 28x3s;\n";
    assert_int_equal(libreswan_parse_status(g, strlen(g), &s, &e), -1);
    const char *spi = "000 #2: \"x\" esp.zz@1.2.3.4 Traffic: ESPin=0B\n";
    assert_int_equal(libreswan_parse_status(spi, strlen(spi), &s, &e), -1);
    const char *topo = "000 \"x\": 10.0.0.0/8===1.2.3.4; erouted\n";
    assert_int_equal(libreswan_parse_status(topo, strlen(topo), &s, &e), -1);
    const char *quote = "000 \"unterminated: 1.2.3.4...5.6.7.8\n";
    assert_int_equal(libreswan_parse_status(quote, strlen(quote), &s, &e), -1);
    const char *swan = "Security Associations (1 up, 0 connecting):\n  lab[1]: ESTABLISHED 5 minutes ago\n";
    assert_int_equal(libreswan_parse_status(swan, strlen(swan), &s, &e), -1);
    assert_int_equal(e.code, ERR_UNSUPPORTED);
    const char *sh = "sh: 1: ipsec: not found\n";
    assert_int_equal(libreswan_parse_status(sh, strlen(sh), &s, &e), -1);
    assert_int_equal(e.code, ERR_UNSUPPORTED);
    assert_int_equal(libreswan_parse_status("", 0, &s, &e), 0);
    assert_int_equal(s.conns.n_conn, 0);
    libreswan_status_free(&s);
    libreswan_status_free(NULL);
    free(t);
}

static void test_merge_traffic_puts_exact_bytes_on_the_status_children(void **state)
{
    const char *st = "000 \"a\": 10.1.0.0/16===192.0.2.1[@a]...198.51.100.2[@b]===10.2.0.0/16; erouted; eroute owner: #2\n"
                     "000 #1: \"a\":500 STATE_V2_ESTABLISHED_IKE_SA (established IKE SA); REKEY in 100s; newest; idle;\n"
                     "000 #2: \"a\":500 STATE_V2_ESTABLISHED_CHILD_SA (established Child SA); REKEY in 50s; newest; eroute owner; IKE SA #1; idle;\n"
                     "000 #2: \"a\" esp.1@198.51.100.2 esp.2@192.0.2.1 Traffic: ESPin=9KB ESPout=4KB ESPmax=2^63B\n";
    const char *ts = "006 #2: \"a\", type=ESP, add_time=1, inBytes=9300, outBytes=4100, maxBytes=2^63B, id='@b'\n";
    struct libreswan_status s;
    struct sa_fact tf;
    struct err e = {0};
    assert_int_equal(libreswan_parse_status(st, strlen(st), &s, &e), 0);
    assert_int_equal(libreswan_parse_trafficstatus(ts, strlen(ts), &tf, &e), 0);
    assert_false(s.sas.ike[0].child[0].bytes_in.known);
    assert_int_equal(s.sas.ike[0].child[0].encap, TRI_NO); /* port 500: raw ESP */
    assert_int_equal(libreswan_merge_traffic(&s.sas, &tf), 1);
    assert_int_equal(s.sas.ike[0].child[0].bytes_in.v, 9300);
    assert_int_equal(s.sas.ike[0].child[0].bytes_out.v, 4100);
    sa_fact_free(&tf);
    libreswan_status_free(&s);
}

/* Real Libreswan 4.10 in the UML guest: IKEv1 children ("ISAKMP SA #N"),
 * LIVENESS events, replaced IKE SAs still listed, quick mode in progress. */
static void test_status_410_real_xfrm_ikev1_and_ikev2_children(void **state)
{
    size_t n;
    char *t = fixture_load("libreswan/real/natt.east.whack-status.txt", &n);
    struct libreswan_status s;
    struct err e = {0};
    assert_int_equal(libreswan_parse_status(t, n, &s, &e), 0);
    int v1 = -1, v2_children = 0;
    for (size_t i = 0; i < s.sas.n_ike; i++) {
        if (!strcmp(s.sas.ike[i].name, "west-east-v1[1]"))
            v1 = (int)i;
        if (!strcmp(s.sas.ike[i].name, "west-east[1]"))
            v2_children += (int)s.sas.ike[i].n_child;
    }
    assert_true(v1 >= 0);
    const struct ike_sa *ike = &s.sas.ike[v1];
    assert_int_equal(ike->version.v, 1);
    assert_int_equal(ike->n_child, 1);
    assert_int_equal(ike->child[0].ike_uniqueid.v, 1);
    assert_int_equal(ike->child[0].spi_in.v, 0xc1f2b782);
    assert_string_equal(ike->child[0].proposal, "AES_CBC_256-HMAC_SHA2_256_128");
    assert_int_equal(v2_children, 2); /* #4 under IKE #2, #8 under IKE #6 */
    libreswan_status_free(&s);
    free(t);
    t = fixture_load("libreswan/real/direct.east.whack-status.txt", &n);
    assert_int_equal(libreswan_parse_status(t, n, &s, &e), 0);
    const struct ike_sa *d = NULL;
    for (size_t i = 0; i < s.sas.n_ike; i++)
        if (!strcmp(s.sas.ike[i].name, "west-east-v1[1]"))
            d = &s.sas.ike[i];
    assert_non_null(d);
    assert_string_equal(d->child[0].state, "INSTALLING"); /* STATE_QUICK_R1 */
    assert_int_equal(d->child[0].encap, TRI_NO);
    libreswan_status_free(&s);
    free(t);
}

/* Real pluto 4.10 in two netns (tests/fixtures/libreswan/README.md): IKE SAs
 * still in IKE_SA_INIT list "#16: pending CHILD SA for \"gone\"" under them */
static void test_status_410_pending_child_lines_of_connecting_ike_sas(void **state)
{
    size_t n;
    char *t = fixture_load("libreswan/netns/west.whack-status.txt", &n);
    assert_non_null(strstr(t, "pending CHILD SA for \"gone\""));
    struct libreswan_status s;
    struct err e = {0};
    if (libreswan_parse_status(t, n, &s, &e) != 0)
        fail_msg("%s", e.msg);
    const struct ike_sa *good = NULL, *gone = NULL;
    for (size_t i = 0; i < s.sas.n_ike; i++) {
        if (!strcmp(s.sas.ike[i].name, "good"))
            good = &s.sas.ike[i];
        if (!strcmp(s.sas.ike[i].name, "gone"))
            gone = &s.sas.ike[i];
    }
    assert_non_null(good);
    assert_string_equal(good->state, "ESTABLISHED");
    assert_int_equal(good->n_child, 0);   /* no esp4 on that host: no Child SA */
    assert_non_null(gone);
    assert_string_equal(gone->state, "CONNECTING");
    assert_int_equal(gone->n_child, 0);
    assert_string_equal(s.version, "4.10");
    libreswan_status_free(&s);
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trafficstatus_3x_with_006_prefix),
        cmocka_unit_test(test_trafficstatus_4x_instances_and_subnet_pairs),
        cmocka_unit_test(test_status_410_ike_sa_without_child),
        cmocka_unit_test(test_status_410_responder_instance_keyed_like_whack),
        cmocka_unit_test(test_status_3x_ikev1_and_ikev2_states_with_children),
        cmocka_unit_test(test_status_rejects_truncated_garbled_and_foreign_text),
        cmocka_unit_test(test_merge_traffic_puts_exact_bytes_on_the_status_children),
        cmocka_unit_test(test_status_410_real_xfrm_ikev1_and_ikev2_children),
        cmocka_unit_test(test_status_410_pending_child_lines_of_connecting_ike_sas),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
