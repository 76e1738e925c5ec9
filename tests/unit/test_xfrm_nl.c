/* probes/xfrm_nl: the netlink parse of real XFRM dumps gives the same facts as
 * the text parse of iproute2's output of the same moment
 * (tests/fixtures/xfrm_nl/README.md), and hostile bytes give errors. */
#include "probes/xfrm_nl.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/xfrm.h>

#include "fixture.h"

/* The fixtures were captured in UTC (times are localtime in both sources). */
static int setup_tz(void **state)
{
    setenv("TZ", "UTC", 1);
    tzset();
    return 0;
}

static void load_nl(const char *dir, const char *gw, struct xfrm_fact *f)
{
    char p[256];
    size_t n;
    struct err e = {0};
    memset(f, 0, sizeof *f);
    snprintf(p, sizeof p, "xfrm_nl/%s/%s%snl-states.bin", dir, gw, gw[0] ? "." : "");
    char *b = fixture_load(p, &n);
    if (xfrm_nl_parse_states(b, n, f, &e) != 0)
        fail_msg("%s: %s", p, e.msg);
    free(b);
    snprintf(p, sizeof p, "xfrm_nl/%s/%s%snl-policies.bin", dir, gw, gw[0] ? "." : "");
    b = fixture_load(p, &n);
    if (xfrm_nl_parse_policies(b, n, f, &e) != 0)
        fail_msg("%s: %s", p, e.msg);
    free(b);
}

static void load_text(const char *dir, const char *gw, const char *policy_file,
                      struct xfrm_fact *f)
{
    char p[256];
    size_t n;
    struct err e = {0};
    memset(f, 0, sizeof *f);
    snprintf(p, sizeof p, "xfrm_nl/%s/%s%sip-s-xfrm-state-nokeys.txt", dir, gw, gw[0] ? "." : "");
    char *b = fixture_load(p, &n);
    if (xfrm_parse_states_text(b, n, f, &e) != 0)
        fail_msg("%s: %s", p, e.msg);
    free(b);
    snprintf(p, sizeof p, "xfrm_nl/%s/%s%s%s", dir, gw, gw[0] ? "." : "", policy_file);
    b = fixture_load(p, &n);
    if (xfrm_parse_policies_text(b, n, f, &e) != 0)
        fail_msg("%s: %s", p, e.msg);
    free(b);
}

/* Text and netlink facts compared field by field.  With `subset`, a field the
 * text did not print (unknown, "") is not compared: the non -s policy text
 * leaves out the index, zero template SPIs and "level required". */
#define SAME_U(w, a, b)                                                                     \
    do {                                                                                    \
        if (!(subset && !(a).known) && ((a).known != (b).known || (a).v != (b).v))          \
            fail_msg("%s: %s: text %s%llu, netlink %s%llu", w, #a, (a).known ? "" : "?",     \
                     (unsigned long long)(a).v, (b).known ? "" : "?",                       \
                     (unsigned long long)(b).v);                                            \
    } while (0)
#define SAME_S(w, a, b)                                                                     \
    do {                                                                                    \
        if (!(subset && !(a)[0]) && strcmp(a, b) != 0)                                      \
            fail_msg("%s: %s: text '%s', netlink '%s'", w, #a, a, b);                       \
    } while (0)
#define SAME_I(w, a, b)                                                                     \
    do {                                                                                    \
        if ((a) != (b))                                                                     \
            fail_msg("%s: %s: text %d, netlink %d", w, #a, (int)(a), (int)(b));             \
    } while (0)

static void same_sa(const char *w, const struct xfrm_sa *t, const struct xfrm_sa *n)
{
    const bool subset = false;
    SAME_S(w, t->src, n->src);
    SAME_S(w, t->dst, n->dst);
    SAME_S(w, t->proto, n->proto);
    SAME_U(w, t->spi, n->spi);
    SAME_U(w, t->reqid, n->reqid);
    SAME_S(w, t->mode, n->mode);
    SAME_U(w, t->replay_window, n->replay_window);
    SAME_I(w, t->esn, n->esn);
    SAME_S(w, t->aead, n->aead);
    SAME_S(w, t->enc, n->enc);
    SAME_S(w, t->auth, n->auth);
    SAME_I(w, t->encap, n->encap);
    SAME_S(w, t->encap_type, n->encap_type);
    SAME_U(w, t->encap_sport, n->encap_sport);
    SAME_U(w, t->encap_dport, n->encap_dport);
    SAME_S(w, t->encap_oa, n->encap_oa);
    SAME_U(w, t->seq, n->seq);
    SAME_U(w, t->oseq, n->oseq);
    SAME_U(w, t->seq_hi, n->seq_hi);
    SAME_U(w, t->oseq_hi, n->oseq_hi);
    SAME_U(w, t->esn_replay_window, n->esn_replay_window);
    SAME_S(w, t->sel_src, n->sel_src);
    SAME_S(w, t->sel_dst, n->sel_dst);
    SAME_U(w, t->soft_add_expires, n->soft_add_expires);
    SAME_U(w, t->hard_add_expires, n->hard_add_expires);
    SAME_U(w, t->cur_bytes, n->cur_bytes);
    SAME_U(w, t->cur_packets, n->cur_packets);
    SAME_S(w, t->add_time, n->add_time);
    SAME_S(w, t->use_time, n->use_time);
    SAME_U(w, t->stat_replay_window, n->stat_replay_window);
    SAME_U(w, t->stat_replay, n->stat_replay);
    SAME_U(w, t->stat_failed, n->stat_failed);
}

static void same_policy(const char *w, const struct xfrm_policy *t, const struct xfrm_policy *n,
                        bool subset)
{
    SAME_S(w, t->src, n->src);
    SAME_S(w, t->dst, n->dst);
    if (strcmp(t->upspec, n->upspec) != 0)
        fail_msg("%s: upspec: text '%s', netlink '%s'", w, t->upspec, n->upspec);
    SAME_S(w, t->dir, n->dir);
    SAME_I(w, t->socket, n->socket);
    SAME_S(w, t->action, n->action);
    SAME_U(w, t->priority, n->priority);
    SAME_U(w, t->index, n->index);
    SAME_S(w, t->ptype, n->ptype);
    SAME_I(w, t->n_tmpl, n->n_tmpl);
    SAME_I(w, t->more_tmpl, n->more_tmpl);
    for (size_t k = 0; k < t->n_tmpl; k++) {
        const struct xfrm_tmpl *a = &t->tmpl[k], *b = &n->tmpl[k];
        SAME_S(w, a->src, b->src);
        SAME_S(w, a->dst, b->dst);
        SAME_S(w, a->proto, b->proto);
        SAME_U(w, a->spi, b->spi);
        SAME_U(w, a->reqid, b->reqid);
        SAME_S(w, a->mode, b->mode);
        SAME_S(w, a->level, b->level);
    }
}

static void same_moment(const char *dir, const char *gw)
{
    struct xfrm_fact nl, tx, tx_plain;
    load_nl(dir, gw, &nl);
    load_text(dir, gw, "ip-s-xfrm-policy.txt", &tx);
    load_text(dir, gw, "ip-xfrm-policy.txt", &tx_plain);
    char w[128];
    assert_int_equal(nl.n_sa, tx.n_sa);
    assert_true(nl.n_sa > 0);
    for (size_t i = 0; i < nl.n_sa; i++) {
        snprintf(w, sizeof w, "%s/%s state %zu", dir, gw, i);
        same_sa(w, &tx.sa[i], &nl.sa[i]);
    }
    assert_int_equal(nl.n_pol, tx.n_pol);
    assert_int_equal(nl.n_pol, tx_plain.n_pol);
    assert_true(nl.n_pol > 0);
    for (size_t i = 0; i < nl.n_pol; i++) {
        snprintf(w, sizeof w, "%s/%s policy %zu (-s)", dir, gw, i);
        same_policy(w, &tx.pol[i], &nl.pol[i], false);
        snprintf(w, sizeof w, "%s/%s policy %zu", dir, gw, i);
        same_policy(w, &tx_plain.pol[i], &nl.pol[i], true);
    }
    xfrm_fact_free(&nl);
    xfrm_fact_free(&tx);
    xfrm_fact_free(&tx_plain);
}

static void test_xfrm_nl_equals_text_uml_esn_two_children(void **state)
{
    same_moment("esn-two-children", "gw-a");
    same_moment("esn-two-children", "gw-b");
}

static void test_xfrm_nl_equals_text_uml_rekey(void **state)
{
    same_moment("rekey", "gw-a");
    same_moment("rekey", "gw-b");
}

static void test_xfrm_nl_equals_text_host_policies_and_larval_ipv6(void **state)
{
    same_moment("host-ns", "");
}

static const struct xfrm_sa *sa_by_alg(const struct xfrm_fact *f, const char *src,
                                       const char *field, const char *alg)
{
    for (size_t i = 0; i < f->n_sa; i++) {
        const struct xfrm_sa *s = &f->sa[i];
        const char *v = strcmp(field, "aead") == 0 ? s->aead : s->enc;
        if (strcmp(s->src, src) == 0 && strcmp(v, alg) == 0)
            return s;
    }
    return NULL;
}

static void test_xfrm_nl_reads_esn_natt_and_algorithms(void **state)
{
    struct xfrm_fact f;
    load_nl("esn-two-children", "gw-a", &f);
    assert_int_equal(f.n_sa, 4);
    /* net: aes128gcm16-esn, out of gw-a (behind NAT) */
    const struct xfrm_sa *s = sa_by_alg(&f, "192.168.77.2", "aead", "rfc4106(gcm(aes))");
    assert_non_null(s);
    assert_string_equal(s->dst, "198.51.100.20");
    assert_int_equal(s->esn, TRI_YES);
    assert_true(s->seq_hi.known && s->oseq_hi.known);
    assert_true(s->esn_replay_window.known);
    assert_true(s->oseq.known && s->oseq.v >= 5);
    assert_int_equal(s->encap, TRI_YES);
    assert_string_equal(s->encap_type, "espinudp");
    assert_int_equal(s->encap_sport.v, 4500);
    assert_int_equal(s->encap_dport.v, 4500);
    assert_string_equal(s->mode, "tunnel");
    /* net2: aes128-sha256 without ESN: enc + auth-trunc */
    s = sa_by_alg(&f, "192.168.77.2", "enc", "cbc(aes)");
    assert_non_null(s);
    assert_string_equal(s->auth, "hmac(sha256)");
    assert_int_equal(s->esn, TRI_NO);
    assert_false(s->seq_hi.known);
    assert_true(s->cur_packets.known && s->cur_packets.v >= 3);
    /* policies of the lab's selectors */
    bool out = false;
    for (size_t i = 0; i < f.n_pol; i++)
        if (strcmp(f.pol[i].src, "10.10.0.0/16") == 0 &&
            strcmp(f.pol[i].dst, "10.20.0.0/16") == 0 && strcmp(f.pol[i].dir, "out") == 0) {
            out = true;
            assert_int_equal(f.pol[i].n_tmpl, 1);
            assert_string_equal(f.pol[i].tmpl[0].dst, "198.51.100.20");
            assert_string_equal(f.pol[i].tmpl[0].level, "required");
        }
    assert_true(out);
    xfrm_fact_free(&f);
}

static void test_xfrm_nl_rekey_shows_old_and_new_sa_of_one_child(void **state)
{
    struct xfrm_fact f;
    load_nl("rekey", "gw-a", &f);
    assert_int_equal(f.n_sa, 5);
    /* two inbound SAs of net2 (the rekeyed one kept by delete_rekeyed_delay) */
    size_t in_net2 = 0;
    uint64_t reqid = 0;
    for (size_t i = 0; i < f.n_sa; i++)
        if (strcmp(f.sa[i].dst, "192.168.77.2") == 0 && strcmp(f.sa[i].enc, "cbc(aes)") == 0) {
            if (in_net2++ == 0)
                reqid = f.sa[i].reqid.v;
            else
                assert_int_equal(f.sa[i].reqid.v, reqid);
        }
    assert_int_equal(in_net2, 2);
    xfrm_fact_free(&f);
}

/* ---- hostile input ------------------------------------------------------ */

static char *load_bin(const char *rel, size_t *n)
{
    return fixture_load(rel, n);
}

static void test_xfrm_nl_every_cut_short_dump_is_an_error(void **state)
{
    const char *files[] = {"xfrm_nl/rekey/gw-a.nl-states.bin",
                           "xfrm_nl/rekey/gw-a.nl-policies.bin"};
    for (int k = 0; k < 2; k++) {
        size_t n;
        char *b = load_bin(files[k], &n);
        struct xfrm_fact f = {0};
        struct err e = {0};
        for (size_t len = 0; len < n; len++) {
            int rc = k == 0 ? xfrm_nl_parse_states(b, len, &f, &e)
                            : xfrm_nl_parse_policies(b, len, &f, &e);
            if (rc == 0)
                fail_msg("%s cut at %zu of %zu parsed", files[k], len, n);
            assert_int_equal(f.n_sa + f.n_pol, 0);
            assert_true(e.code == ERR_TRUNCATED || e.code == ERR_PARSE);
        }
        assert_int_equal(k == 0 ? xfrm_nl_parse_states(b, n, &f, &e)
                                : xfrm_nl_parse_policies(b, n, &f, &e),
                         0);
        xfrm_fact_free(&f);
        free(b);
    }
}

/* Offset of the first attribute `type` in any message of buf, or 0. */
static size_t find_attr(const char *buf, size_t n, size_t hdrlen, uint16_t type)
{
    size_t m = 0;
    while (m + sizeof(struct nlmsghdr) <= n) {
        struct nlmsghdr h;
        memcpy(&h, buf + m, sizeof h);
        if (h.nlmsg_len < sizeof h || h.nlmsg_len > n - m)
            return 0;
        size_t off = m + MNL_NLMSG_HDRLEN + MNL_ALIGN(hdrlen);
        while (h.nlmsg_type >= XFRM_MSG_BASE && off + sizeof(struct nlattr) <= m + h.nlmsg_len) {
            struct nlattr a;
            memcpy(&a, buf + off, sizeof a);
            if (a.nla_len < sizeof a)
                return 0;
            if ((a.nla_type & NLA_TYPE_MASK) == type)
                return off;
            off += MNL_ALIGN(a.nla_len);
        }
        m += MNL_ALIGN(h.nlmsg_len);
    }
    return 0;
}

static void expect_state_error(char *b, size_t n, int code, const char *needle)
{
    struct xfrm_fact f = {0};
    struct err e = {0};
    assert_int_equal(xfrm_nl_parse_states(b, n, &f, &e), -1);
    assert_int_equal(f.n_sa, 0);
    assert_int_equal(e.code, code);
    if (!strstr(e.msg, needle))
        fail_msg("error '%s' does not say '%s'", e.msg, needle);
}

static void test_xfrm_nl_attribute_longer_than_its_message_is_truncated(void **state)
{
    size_t n;
    char *b = load_bin("xfrm_nl/esn-two-children/gw-a.nl-states.bin", &n);
    size_t off = find_attr(b, n, sizeof(struct xfrm_usersa_info), XFRMA_ENCAP);
    assert_true(off > 0);
    uint16_t big = 0xfff0;
    memcpy(b + off, &big, sizeof big);
    expect_state_error(b, n, ERR_TRUNCATED, "attribute");
    free(b);
}

static void test_xfrm_nl_short_encap_attribute_is_an_error(void **state)
{
    size_t n;
    char *b = load_bin("xfrm_nl/esn-two-children/gw-a.nl-states.bin", &n);
    size_t off = find_attr(b, n, sizeof(struct xfrm_usersa_info), XFRMA_ENCAP);
    assert_true(off > 0);
    /* XFRMA_ENCAP shortened by 4 bytes, its bytes given to a padding attribute */
    struct nlattr a;
    memcpy(&a, b + off, sizeof a);
    a.nla_len = (uint16_t)(a.nla_len - 4);
    memcpy(b + off, &a, sizeof a);
    struct nlattr pad = {4, XFRMA_PAD};
    memcpy(b + off + a.nla_len, &pad, sizeof pad);
    expect_state_error(b, n, ERR_TRUNCATED, "XFRMA_ENCAP");
    free(b);
}

static void test_xfrm_nl_algorithm_name_without_nul_is_an_error(void **state)
{
    size_t n;
    char *b = load_bin("xfrm_nl/esn-two-children/gw-a.nl-states.bin", &n);
    size_t off = find_attr(b, n, sizeof(struct xfrm_usersa_info), XFRMA_ALG_AEAD);
    assert_true(off > 0);
    memset(b + off + sizeof(struct nlattr), 'A', 64);
    expect_state_error(b, n, ERR_PARSE, "algorithm name");
    free(b);
}

static void test_xfrm_nl_key_length_beyond_the_attribute_is_an_error(void **state)
{
    size_t n;
    char *b = load_bin("xfrm_nl/esn-two-children/gw-a.nl-states.bin", &n);
    size_t off = find_attr(b, n, sizeof(struct xfrm_usersa_info), XFRMA_ALG_AEAD);
    assert_true(off > 0);
    unsigned int bits = 100000;
    memcpy(b + off + sizeof(struct nlattr) + 64, &bits, sizeof bits);
    expect_state_error(b, n, ERR_TRUNCATED, "key of 100000 bits");
    free(b);
}

static void test_xfrm_nl_kernel_error_in_the_dump_is_reported(void **state)
{
    struct {
        struct nlmsghdr h;
        struct nlmsgerr e;
    } m;
    memset(&m, 0, sizeof m);
    m.h.nlmsg_len = sizeof m;
    m.h.nlmsg_type = NLMSG_ERROR;
    m.e.error = -1; /* -EPERM */
    expect_state_error((char *)&m, sizeof m, ERR_SUDO, "Operation not permitted");
}

static void test_xfrm_nl_policy_messages_in_a_state_dump_are_unsupported(void **state)
{
    size_t n;
    char *b = load_bin("xfrm_nl/esn-two-children/gw-a.nl-policies.bin", &n);
    expect_state_error(b, n, ERR_UNSUPPORTED, "not a state");
    free(b);
}

static void test_xfrm_nl_bytes_after_done_are_an_error(void **state)
{
    size_t n;
    char *b = load_bin("xfrm_nl/esn-two-children/gw-a.nl-states.bin", &n);
    char *c = malloc(n + 8);
    memcpy(c, b, n);
    memset(c + n, 0x41, 8);
    expect_state_error(c, n + 8, ERR_PARSE, "after NLMSG_DONE");
    free(c);
    free(b);
}

static void test_xfrm_nl_empty_input_is_truncated(void **state)
{
    expect_state_error((char *)"", 0, ERR_TRUNCATED, "no NLMSG_DONE");
}

/* ---- key material ------------------------------------------------------- */

static void test_xfrm_nl_fixtures_hold_no_key_and_scrubbing_is_stable(void **state)
{
    size_t n;
    char *b = load_bin("xfrm_nl/esn-two-children/gw-a.nl-states.bin", &n);
    char *c = malloc(n);
    memcpy(c, b, n);
    /* every key was overwritten when captured: scrubbing again changes nothing */
    /* two SAs with XFRMA_ALG_AEAD, two with ALG_CRYPT + ALG_AUTH + ALG_AUTH_TRUNC */
    assert_int_equal(xfrm_nl_scrub_keys(c, n), 2 * 1 + 2 * 3);
    assert_memory_equal(b, c, n);
    size_t off = find_attr(b, n, sizeof(struct xfrm_usersa_info), XFRMA_ALG_AEAD);
    assert_true(off > 0);
    const unsigned char *key = (const unsigned char *)b + off + sizeof(struct nlattr) +
                               sizeof(struct xfrm_algo_aead);
    assert_int_equal(key[0], 0xfa);
    assert_int_equal(key[1], 0x4e);
    free(c);
    free(b);
}

static void test_xfrm_nl_scrub_overwrites_a_key_and_keeps_the_name(void **state)
{
    size_t n;
    char *b = load_bin("xfrm_nl/esn-two-children/gw-a.nl-states.bin", &n);
    size_t off = find_attr(b, n, sizeof(struct xfrm_usersa_info), XFRMA_ALG_AEAD);
    unsigned char *key = (unsigned char *)b + off + sizeof(struct nlattr) +
                         sizeof(struct xfrm_algo_aead);
    memcpy(key, "\x01\x02\x03\x04\x05\x06\x07\x08", 8); /* a "real" key */
    assert_true(xfrm_nl_scrub_keys(b, n) > 0);
    assert_int_equal(key[0], 0xfa);
    assert_int_equal(key[7], 0x4e);
    struct xfrm_fact f = {0};
    struct err e = {0};
    assert_int_equal(xfrm_nl_parse_states(b, n, &f, &e), 0);
    assert_non_null(sa_by_alg(&f, "192.168.77.2", "aead", "rfc4106(gcm(aes))"));
    xfrm_fact_free(&f);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xfrm_nl_equals_text_uml_esn_two_children),
        cmocka_unit_test(test_xfrm_nl_equals_text_uml_rekey),
        cmocka_unit_test(test_xfrm_nl_equals_text_host_policies_and_larval_ipv6),
        cmocka_unit_test(test_xfrm_nl_reads_esn_natt_and_algorithms),
        cmocka_unit_test(test_xfrm_nl_rekey_shows_old_and_new_sa_of_one_child),
        cmocka_unit_test(test_xfrm_nl_every_cut_short_dump_is_an_error),
        cmocka_unit_test(test_xfrm_nl_attribute_longer_than_its_message_is_truncated),
        cmocka_unit_test(test_xfrm_nl_short_encap_attribute_is_an_error),
        cmocka_unit_test(test_xfrm_nl_algorithm_name_without_nul_is_an_error),
        cmocka_unit_test(test_xfrm_nl_key_length_beyond_the_attribute_is_an_error),
        cmocka_unit_test(test_xfrm_nl_kernel_error_in_the_dump_is_reported),
        cmocka_unit_test(test_xfrm_nl_policy_messages_in_a_state_dump_are_unsupported),
        cmocka_unit_test(test_xfrm_nl_bytes_after_done_are_an_error),
        cmocka_unit_test(test_xfrm_nl_empty_input_is_truncated),
        cmocka_unit_test(test_xfrm_nl_fixtures_hold_no_key_and_scrubbing_is_stable),
        cmocka_unit_test(test_xfrm_nl_scrub_overwrites_a_key_and_keeps_the_name),
    };
    return cmocka_run_group_tests(tests, setup_tz, NULL);
}
