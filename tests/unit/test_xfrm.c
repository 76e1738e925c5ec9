/* XFRM text parsers: `ip -s xfrm state list nokeys`, `ip [-s] xfrm policy`,
 * /proc/net/xfrm_stat (tests/fixtures/iproute2/README.md says which fixtures
 * are captured and which are reconstructed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "probes/redact.h"
#include "probes/xfrm.h"

static void load_states(const char *rel, struct xfrm_fact *f)
{
    size_t n;
    char *t = fixture_load(rel, &n);
    struct err e = {0};
    memset(f, 0, sizeof *f);
    if (xfrm_parse_states_text(t, n, f, &e) != 0)
        fail_msg("%s: %s", rel, e.msg);
    free(t);
}

static void load_policies(const char *rel, struct xfrm_fact *f)
{
    size_t n;
    char *t = fixture_load(rel, &n);
    struct err e = {0};
    memset(f, 0, sizeof *f);
    if (xfrm_parse_policies_text(t, n, f, &e) != 0)
        fail_msg("%s: %s", rel, e.msg);
    free(t);
}

/* Real (UML, Linux 6.1): gw-b after netem duplicated and corrupted packets toward
 * it; two CHILD_SAs (aes128gcm16-esn, aes128-sha256), one rekeyed. */
static void test_xfrm_state_reads_esp_in_udp_and_counters(void **state)
{
    struct xfrm_fact f;
    load_states("xfrm_nl/impaired/gw-b.ip-s-xfrm-state-nokeys.txt", &f);
    assert_int_equal(f.n_sa, 5);
    const struct xfrm_sa *s = &f.sa[0];
    assert_string_equal(s->src, "198.51.100.20");
    assert_string_equal(s->dst, "203.0.113.10");
    assert_string_equal(s->proto, "esp");
    assert_int_equal(s->spi.v, 0xcd64f82a);
    assert_int_equal(s->reqid.v, 2);
    assert_string_equal(s->mode, "tunnel");
    assert_int_equal(s->encap, TRI_YES);
    assert_string_equal(s->encap_type, "espinudp");
    assert_int_equal(s->encap_sport.v, 4500);
    assert_int_equal(s->encap_dport.v, 4500);
    assert_string_equal(s->encap_oa, "0.0.0.0");
    assert_string_equal(s->aead, "");
    assert_string_equal(s->enc, "cbc(aes)");
    assert_string_equal(s->auth, "hmac(sha256)");
    assert_int_equal(s->esn, TRI_NO);
    assert_int_equal(s->oseq.v, 0x1f);
    assert_int_equal(s->seq.v, 0);
    assert_false(s->seq_hi.known);
    assert_int_equal(s->cur_bytes.v, 2604);
    assert_int_equal(s->cur_packets.v, 31);
    assert_int_equal(s->hard_add_expires.v, 3960);
    assert_int_equal(s->soft_add_expires.v, 3434);
    assert_string_equal(s->add_time, "2026-12-05 13:04:32");
    assert_string_equal(s->use_time, "2026-12-05 13:04:44");
    /* the inbound SA behind netem: duplicates are replays, corrupted ones failed */
    assert_int_equal(f.sa[1].seq.v, 0x20);
    assert_int_equal(f.sa[1].stat_replay.v, 8);
    assert_int_equal(f.sa[1].stat_failed.v, 1);
    /* ESN: "anti-replay esn context" */
    s = &f.sa[4];
    assert_string_equal(s->aead, "rfc4106(gcm(aes))");
    assert_int_equal(s->esn, TRI_YES);
    assert_int_equal(s->seq.v, 0x19);
    assert_true(s->seq_hi.known && s->seq_hi.v == 0);
    assert_true(s->oseq_hi.known && s->oseq_hi.v == 0);
    assert_int_equal(s->esn_replay_window.v, 32);
    assert_int_equal(s->stat_replay.v, 3);
    assert_int_equal(s->stat_failed.v, 1);
    xfrm_fact_free(&f);
}

static void test_xfrm_state_esn_ipv6_64bit_counters(void **state)
{
    struct xfrm_fact f;
    load_states("iproute2/ip-s-xfrm-state.esn-ipv6.reconstructed.txt", &f);
    assert_int_equal(f.n_sa, 2);
    assert_string_equal(f.sa[0].src, "2001:db8:a::2");
    assert_int_equal(f.sa[0].esn, TRI_YES);
    assert_int_equal(f.sa[0].encap, TRI_NO);
    assert_int_equal(f.sa[0].oseq_hi.v, 1);
    assert_int_equal(f.sa[0].oseq.v, 0x18);
    assert_int_equal(f.sa[1].seq_hi.v, 1);
    assert_int_equal(f.sa[1].seq.v, 0x1d);
    assert_int_equal(f.sa[1].esn_replay_window.v, 128);
    assert_true(f.sa[0].cur_bytes.v == 6442451200ULL);
    assert_true(f.sa[0].cur_packets.v == 4294967320ULL);
    xfrm_fact_free(&f);
}

/* Real (UML): gw-a during a rekey of CHILD_SA net2 (reqid 2): the old inbound SA
 * is still installed (charon.delete_rekeyed_delay) next to the new pair. */
static void test_xfrm_state_rekey_shows_old_and_new_sa_of_one_reqid(void **state)
{
    struct xfrm_fact f;
    load_states("xfrm_nl/rekey/gw-a.ip-s-xfrm-state-nokeys.txt", &f);
    assert_int_equal(f.n_sa, 5);
    size_t in2 = 0, out2 = 0;
    const struct xfrm_sa *in[2] = {NULL, NULL};
    for (size_t i = 0; i < f.n_sa; i++) {
        if (f.sa[i].reqid.v != 2)
            continue;
        if (strcmp(f.sa[i].dst, "192.168.77.2") == 0) {
            if (in2 < 2)
                in[in2] = &f.sa[i];
            in2++;
        } else {
            out2++;
        }
    }
    assert_int_equal(in2, 2);
    assert_int_equal(out2, 1);
    /* the kernel lists the newer SA first: 2 packets since the rekey, the old one 3
     * from before, added earlier */
    assert_int_equal(in[0]->cur_packets.v, 2);
    assert_int_equal(in[1]->cur_packets.v, 3);
    assert_true(strcmp(in[1]->add_time, in[0]->add_time) < 0);
    assert_int_not_equal(in[0]->spi.v, in[1]->spi.v);
    xfrm_fact_free(&f);
}

static void test_xfrm_state_real_larval_without_stats(void **state)
{
    struct xfrm_fact f;
    load_states("iproute2/ip-xfrm-state-larval.ns.txt", &f);
    assert_int_equal(f.n_sa, 2);
    assert_string_equal(f.sa[1].src, "192.168.77.2");
    assert_string_equal(f.sa[1].sel_src, "192.168.77.2/32");
    /* without -s there are no counters: unknown, not 0 */
    assert_false(f.sa[1].cur_bytes.known);
    assert_false(f.sa[1].stat_failed.known);
    assert_true(f.sa[1].oseq.known);
    xfrm_fact_free(&f);
    load_states("iproute2/ip-s-xfrm-state-larval.ns.txt", &f);
    assert_int_equal(f.n_sa, 2);
    assert_string_equal(f.sa[0].src, "2001:db8::2");
    assert_true(f.sa[0].cur_bytes.known);
    assert_int_equal(f.sa[0].cur_bytes.v, 0);
    assert_int_equal(f.sa[0].hard_add_expires.v, 30);
    xfrm_fact_free(&f);
}

static void test_xfrm_state_empty_output_is_no_state(void **state)
{
    struct xfrm_fact f;
    load_states("iproute2/ip-s-xfrm-state.gw-a.txt", &f);
    assert_int_equal(f.n_sa, 0);
    xfrm_fact_free(&f);
}

static void test_xfrm_state_never_keeps_key_material(void **state)
{
    const char *in = "src 192.0.2.1 dst 192.0.2.2\n"
                     "\tproto esp spi 0x00000101 reqid 1 mode tunnel\n"
                     "\treplay-window 32 flag af-unspec\n"
                     "\tauth-trunc hmac(sha1) 0x7349e75f2099d135e2afbe1c1822e914bc6fa367 96\n"
                     "\tenc cbc(aes) 0xc6847b37afef24fc618a09e4cd8a86e0\n";
    struct xfrm_fact f = {0};
    struct err e = {0};
    assert_int_equal(xfrm_parse_states_text(in, strlen(in), &f, &e), 0);
    const unsigned char *b = (const unsigned char *)&f.sa[0];
    const char *keys[] = {"7349e75f", "c6847b37"};
    for (size_t k = 0; k < 2; k++)
        for (size_t i = 0; i + 8 <= sizeof f.sa[0]; i++)
            assert_false(memcmp(b + i, keys[k], 8) == 0);
    assert_string_equal(f.sa[0].enc, "cbc(aes)");
    assert_string_equal(f.sa[0].auth, "hmac(sha1)");
    xfrm_fact_free(&f);
}

static void test_xfrm_state_truncated_or_garbled_is_an_error(void **state)
{
    size_t n;
    char *t = fixture_load("xfrm_nl/impaired/gw-b.ip-s-xfrm-state-nokeys.txt", &n);
    struct xfrm_fact f = {0};
    struct err e = {0};
    /* cut right after a head line */
    const char *second = strstr(t + 1, "\nsrc ");
    assert_int_equal(xfrm_parse_states_text(t, (size_t)(second - t) + 30, &f, &e), -1);
    assert_int_equal(e.code, ERR_TRUNCATED);
    assert_int_equal(f.n_sa, 0);
    char *c = strstr(t, "2604(bytes)");
    assert_non_null(c);
    c[1] = 'Z';
    assert_int_equal(xfrm_parse_states_text(t, n, &f, &e), -1);
    assert_int_equal(e.code, ERR_PARSE);
    const char *err = "Error: Permission denied\n";
    assert_int_equal(xfrm_parse_states_text(err, strlen(err), &f, &e), -1);
    assert_int_equal(e.code, ERR_UNSUPPORTED);
    free(t);
}

static void test_xfrm_policy_reads_selectors_dirs_and_templates(void **state)
{
    struct xfrm_fact f;
    load_policies("iproute2/ip-xfrm-policy.ns.txt", &f);
    assert_int_equal(f.n_pol, 7);
    const struct xfrm_policy *out = NULL, *blk = NULL, *icmp = NULL;
    for (size_t i = 0; i < f.n_pol; i++) {
        if (!strcmp(f.pol[i].src, "10.10.0.0/16") && !strcmp(f.pol[i].dir, "out"))
            out = &f.pol[i];
        if (!strcmp(f.pol[i].action, "block"))
            blk = &f.pol[i];
        if (strstr(f.pol[i].upspec, "icmp"))
            icmp = &f.pol[i];
    }
    assert_non_null(out);
    assert_string_equal(out->dst, "10.20.0.0/16");
    assert_int_equal(out->priority.v, 375423);
    assert_string_equal(out->ptype, "main");
    assert_int_equal(out->n_tmpl, 1);
    assert_string_equal(out->tmpl[0].src, "192.168.77.2");
    assert_string_equal(out->tmpl[0].dst, "198.51.100.20");
    assert_string_equal(out->tmpl[0].proto, "esp");
    assert_int_equal(out->tmpl[0].spi.v, 0xc89904f1);
    assert_int_equal(out->tmpl[0].reqid.v, 1);
    assert_string_equal(out->tmpl[0].mode, "tunnel");
    assert_non_null(blk);
    assert_string_equal(blk->upspec, "proto udp dport 53");
    assert_int_equal(blk->n_tmpl, 0);
    assert_non_null(icmp);
    assert_string_equal(icmp->action, "allow");
    xfrm_fact_free(&f);
}

static void test_xfrm_policy_stats_form_matches_plain_form(void **state)
{
    struct xfrm_fact a, b;
    load_policies("iproute2/ip-xfrm-policy.ns.txt", &a);
    load_policies("iproute2/ip-s-xfrm-policy.ns.txt", &b);
    assert_int_equal(a.n_pol, b.n_pol);
    for (size_t i = 0; i < a.n_pol; i++) {
        assert_string_equal(a.pol[i].src, b.pol[i].src);
        assert_string_equal(a.pol[i].upspec, b.pol[i].upspec);
        assert_string_equal(a.pol[i].dir, b.pol[i].dir);
        assert_string_equal(a.pol[i].action, b.pol[i].action);
        assert_int_equal(a.pol[i].n_tmpl, b.pol[i].n_tmpl);
        if (a.pol[i].n_tmpl)
            assert_int_equal(a.pol[i].tmpl[0].reqid.v, b.pol[i].tmpl[0].reqid.v);
        assert_false(a.pol[i].index.known);
        assert_true(b.pol[i].index.known);
    }
    xfrm_fact_free(&a);
    xfrm_fact_free(&b);
}

static void test_xfrm_policy_truncated_template_is_an_error(void **state)
{
    size_t n;
    char *t = fixture_load("iproute2/ip-xfrm-policy.ns.txt", &n);
    const char *cut = strstr(t, "\ttmpl src 198.51.100.20");
    struct xfrm_fact f = {0};
    struct err e = {0};
    assert_int_equal(xfrm_parse_policies_text(t, (size_t)(strchr(cut, '\n') - t) + 1, &f, &e), -1);
    assert_int_equal(e.code, ERR_TRUNCATED);
    free(t);
}

static void test_xfrm_stat_reads_counters_and_unknown_names(void **state)
{
    size_t n;
    char *t = fixture_load("iproute2/xfrm_stat.gw-a.txt", &n);
    struct xfrm_stat_fact s;
    struct err e = {0};
    assert_int_equal(xfrm_parse_stat(t, n, &s, &e), 0);
    assert_true(s.n >= 28);
    struct opt_u64 v = xfrm_stat_get(&s, "XfrmInNoStates");
    assert_true(v.known);
    assert_int_equal(v.v, 0);
    assert_true(xfrm_stat_get(&s, "XfrmOutPolBlock").known);
    assert_false(xfrm_stat_get(&s, "XfrmNotACounter").known);
    assert_int_equal(xfrm_parse_stat("", 0, &s, &e), -1);
    assert_int_equal(e.code, ERR_TRUNCATED);
    const char *bad = "cat: /proc/net/xfrm_stat: No such file or directory\n";
    assert_int_equal(xfrm_parse_stat(bad, strlen(bad), &s, &e), -1);
    assert_int_equal(e.code, ERR_UNSUPPORTED);
    const char *g = "XfrmInNoStates 12\nXfrmInTmplMismatch x3\n";
    assert_int_equal(xfrm_parse_stat(g, strlen(g), &s, &e), -1);
    assert_int_equal(e.code, ERR_PARSE);
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xfrm_state_reads_esp_in_udp_and_counters),
        cmocka_unit_test(test_xfrm_state_esn_ipv6_64bit_counters),
        cmocka_unit_test(test_xfrm_state_rekey_shows_old_and_new_sa_of_one_reqid),
        cmocka_unit_test(test_xfrm_state_real_larval_without_stats),
        cmocka_unit_test(test_xfrm_state_empty_output_is_no_state),
        cmocka_unit_test(test_xfrm_state_never_keeps_key_material),
        cmocka_unit_test(test_xfrm_state_truncated_or_garbled_is_an_error),
        cmocka_unit_test(test_xfrm_policy_reads_selectors_dirs_and_templates),
        cmocka_unit_test(test_xfrm_policy_stats_form_matches_plain_form),
        cmocka_unit_test(test_xfrm_policy_truncated_template_is_an_error),
        cmocka_unit_test(test_xfrm_stat_reads_counters_and_unknown_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
