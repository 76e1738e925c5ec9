/* nft / iptables-save parsers on real nftables 1.0.6 / iptables 1.8.9 output
 * (tests/fixtures/{nft,iptables}/README.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "probes/firewall.h"

static long find_rule(const struct fw_fact *f, const char *chain, enum fw_verdict v)
{
    for (size_t i = 0; i < f->n_rule; i++)
        if (!strcmp(f->rule[i].chain, chain) && f->rule[i].verdict == v)
            return (long)i;
    return -1;
}

static void load(const char *rel, int nft, struct fw_fact *f)
{
    size_t n;
    char *t = fixture_load(rel, &n);
    struct err e = {0};
    int rc = nft ? nft_parse_ruleset(t, n, f, &e) : iptables_parse_save(t, n, f, &e);
    if (rc != 0)
        fail_msg("%s: %s", rel, e.msg);
    free(t);
}

static void test_nft_input_accepts_ike_natt_and_esp(void **state)
{
    struct fw_fact f;
    load("nft/ruleset.gw-b.txt", 1, &f);
    assert_int_equal(f.source, FW_SRC_NFT);
    assert_int_equal(f.n_chain, 3);
    assert_string_equal(f.chain[0].hook, "input");
    assert_string_equal(f.chain[0].policy, "accept");
    const struct fw_rule *r = &f.rule[0];
    assert_string_equal(r->chain, "input");
    assert_int_equal(r->match & (FW_M_UDP500 | FW_M_UDP4500), FW_M_UDP500 | FW_M_UDP4500);
    assert_int_equal(r->verdict, FW_ACCEPT);
    assert_true(f.rule[1].match & FW_M_ESP);
    assert_int_equal(f.rule[1].verdict, FW_ACCEPT);
    /* the comment "never reached" does not hide the drop */
    assert_true(f.rule[2].match & FW_M_UDP4500);
    assert_false(f.rule[2].match & FW_M_UDP500);
    assert_int_equal(f.rule[2].verdict, FW_DROP);
    assert_int_equal(f.rule[2].pos, 2);
    fw_fact_free(&f);
}

static void test_nft_masquerade_has_exemption_before_it(void **state)
{
    struct fw_fact f;
    load("nft/ruleset.gw-b.txt", 1, &f);
    long m = find_rule(&f, "postrouting", FW_MASQUERADE);
    assert_true(m >= 0);
    assert_string_equal(f.rule[m].oif, "wan");
    assert_string_equal(f.rule[m].hook, "postrouting");
    long x = fw_nat_exemption_before(&f, (size_t)m, "10.20.0.0/16", "10.10.0.0/16");
    assert_true(x >= 0);
    assert_string_equal(f.rule[x].saddr, "10.20.0.0/16");
    assert_string_equal(f.rule[x].daddr, "10.10.0.0/16");
    /* other subnets: still exempted by "rt ipsec exists accept" */
    x = fw_nat_exemption_before(&f, (size_t)m, "10.99.0.0/16", "10.98.0.0/16");
    assert_true(x >= 0);
    assert_true(f.rule[x].match & FW_M_IPSEC_IN_POLICY);
    long mss = -1;
    for (size_t i = 0; i < f.n_rule; i++)
        if (f.rule[i].mss_clamp_pmtu)
            mss = (long)i;
    assert_true(mss >= 0);
    assert_true(f.rule[mss].match & FW_M_TCP_SYN);
    fw_fact_free(&f);
}

static void test_nft_plain_masquerade_has_no_exemption(void **state)
{
    struct fw_fact f;
    load("nft/ruleset.nat.txt", 1, &f);
    long m = find_rule(&f, "post", FW_MASQUERADE);
    assert_true(m >= 0);
    assert_int_equal(fw_nat_exemption_before(&f, (size_t)m, "10.10.0.0/16", "10.20.0.0/16"), -1);
    fw_fact_free(&f);
}

static void test_nft_iptables_nft_policy_match_counts_as_exemption(void **state)
{
    struct fw_fact f;
    load("nft/ruleset.gw-a-iptables-nft.txt", 1, &f);
    long m = find_rule(&f, "POSTROUTING", FW_MASQUERADE);
    assert_true(m >= 0);
    assert_true(fw_nat_exemption_before(&f, (size_t)m, "10.10.0.0/16", "10.20.0.0/16") >= 0);
    assert_true(f.rule[0].match & FW_M_UDP4500);
    fw_fact_free(&f);
}

static void test_nft_truncated_ruleset_is_an_error(void **state)
{
    size_t n;
    char *t = fixture_load("nft/ruleset.gw-b.txt", &n);
    struct fw_fact f;
    struct err e = {0};
    const char *cut = strstr(t, "table ip nat");
    assert_int_equal(nft_parse_ruleset(t, (size_t)(cut - t) - 3, &f, &e), -1);
    assert_int_equal(e.code, ERR_TRUNCATED);
    assert_int_equal(f.n_rule, 0);
    assert_int_equal(nft_parse_ruleset("", 0, &f, &e), 0);
    assert_int_equal(f.n_rule, 0);
    const char *x = "Error: Could not process rule: Operation not permitted\n";
    assert_int_equal(nft_parse_ruleset(x, strlen(x), &f, &e), -1);
    assert_int_equal(e.code, ERR_UNSUPPORTED);
    free(t);
}

static void test_iptables_save_classifies_rules(void **state)
{
    struct fw_fact f;
    load("iptables/iptables-save.gw-a.txt", 0, &f);
    assert_int_equal(f.source, FW_SRC_IPTABLES);
    long a = find_rule(&f, "INPUT", FW_ACCEPT);
    assert_true(a >= 0);
    assert_int_equal(f.rule[a].match & (FW_M_UDP500 | FW_M_UDP4500), FW_M_UDP500 | FW_M_UDP4500);
    assert_string_equal(f.rule[a].hook, "input");
    assert_true(f.rule[a + 1].match & FW_M_ESP);
    long m = find_rule(&f, "POSTROUTING", FW_MASQUERADE);
    assert_true(m >= 0);
    assert_string_equal(f.rule[m].table, "nat");
    assert_string_equal(f.rule[m].oif, "wan");
    long x = fw_nat_exemption_before(&f, (size_t)m, "10.10.0.0/16", "10.20.0.0/16");
    assert_true(x >= 0);
    assert_true(f.rule[x].match & FW_M_IPSEC_IN_POLICY);
    assert_string_equal(f.rule[x].saddr, "10.10.0.0/16");
    long t = -1;
    for (size_t i = 0; i < f.n_rule; i++)
        if (f.rule[i].mss_clamp_pmtu)
            t = (long)i;
    assert_true(t >= 0);
    assert_string_equal(f.rule[t].table, "mangle");
    assert_string_equal(f.rule[t].target, "TCPMSS");
    assert_true(f.rule[t].match & FW_M_TCP_SYN);
    fw_fact_free(&f);
}

static void test_iptables_masquerade_without_exemption(void **state)
{
    size_t n;
    char *t = fixture_load("iptables/iptables-save.gw-a.txt", &n);
    char *ex = strstr(t, "-A POSTROUTING -s 10.10.0.0/16");
    char *end = strchr(ex, '\n');
    memmove(ex, end + 1, strlen(end + 1) + 1);
    struct fw_fact f;
    struct err e = {0};
    assert_int_equal(iptables_parse_save(t, strlen(t), &f, &e), 0);
    long m = find_rule(&f, "POSTROUTING", FW_MASQUERADE);
    assert_int_equal(f.rule[m].pos, 0);
    assert_int_equal(fw_nat_exemption_before(&f, (size_t)m, "10.10.0.0/16", "10.20.0.0/16"), -1);
    fw_fact_free(&f);
    free(t);
}

static void test_iptables_empty_and_truncated(void **state)
{
    struct fw_fact f;
    load("iptables/iptables-save.gw-b-empty.txt", 0, &f);
    assert_int_equal(f.n_rule, 0);
    fw_fact_free(&f);
    size_t n;
    char *t = fixture_load("iptables/iptables-save.gw-a.txt", &n);
    const char *last = strstr(t, "*nat");
    struct err e = {0};
    assert_int_equal(iptables_parse_save(t, (size_t)(last - t) + 60, &f, &e), -1);
    assert_int_equal(e.code, ERR_TRUNCATED);
    const char *x = "iptables-save v1.8.9 (nf_tables): Could not fetch rule set generation id: "
                    "Permission denied (you must be root)\n";
    assert_int_equal(iptables_parse_save(x, strlen(x), &f, &e), -1);
    assert_int_equal(e.code, ERR_UNSUPPORTED);
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nft_input_accepts_ike_natt_and_esp),
        cmocka_unit_test(test_nft_masquerade_has_exemption_before_it),
        cmocka_unit_test(test_nft_plain_masquerade_has_no_exemption),
        cmocka_unit_test(test_nft_iptables_nft_policy_match_counts_as_exemption),
        cmocka_unit_test(test_nft_truncated_ruleset_is_an_error),
        cmocka_unit_test(test_iptables_save_classifies_rules),
        cmocka_unit_test(test_iptables_masquerade_without_exemption),
        cmocka_unit_test(test_iptables_empty_and_truncated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
