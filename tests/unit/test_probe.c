/* Probe runner: command specs, classification of outcomes, parsing of saved
 * outputs into a peer's facts, the DF sweep state machine, and a real
 * collection on the `local` peer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "probes/probe.h"

static void test_probe_specs_name_every_probe_and_need_sudo_for_root_tools(void **state)
{
    for (int id = 0; id < PROBE_COUNT; id++) {
        const struct probe_spec *s = probe_spec_get((enum probe_id)id);
        assert_non_null(s);
        assert_int_equal(s->id, id);
        assert_true(s->name && s->name[0]);
        assert_true(s->time_limit_s > 0 && s->time_limit_s <= 30);
    }
    assert_true(probe_spec_get(PROBE_SWANCTL_SAS)->sudo);
    assert_true(probe_spec_get(PROBE_NFT)->sudo);
    assert_false(probe_spec_get(PROBE_XFRM_STAT)->sudo);
    assert_string_equal(probe_spec_get(PROBE_XFRM_STATE)->command, "ip -s xfrm state list nokeys");
    assert_null(probe_spec_get(PROBE_COUNT));
}

static void test_probe_command_quotes_options(void **state)
{
    struct probe_opts o = {.route_to = "10.20.5.10", .route_from = "10.10.0.1",
                           .log_file = "/var/log/charon it's.log", .log_lines = 50};
    struct buf b = BUF_INIT;
    struct err e = {0};
    assert_int_equal(probe_command(PROBE_ROUTE, &o, &b, &e), 0);
    assert_string_equal(b.data, "ip route get 10.20.5.10 from 10.10.0.1");
    buf_reset(&b);
    assert_int_equal(probe_command(PROBE_LOG, &o, &b, &e), 0);
    assert_string_equal(b.data, "tail -n 50 '/var/log/charon it'\\''s.log'");
    buf_reset(&b);
    o.log_file = NULL;
    assert_int_equal(probe_command(PROBE_LOG, &o, &b, &e), 0);
    assert_non_null(strstr(b.data, "journalctl -o short-iso"));
    buf_reset(&b);
    struct probe_opts none = {0};
    assert_int_equal(probe_command(PROBE_ROUTE, &none, &b, &e), -1);
    assert_int_equal(e.code, ERR_USAGE);
    buf_free(&b);
}

static void feed(enum probe_id id, const char *rel, struct peer_facts *f)
{
    size_t n;
    char *t = fixture_load(rel, &n);
    probe_parse(id, t, n, "", 0, f);
    if (f->raw[id].status != PROBE_OK)
        fail_msg("%s: %s", rel, f->raw[id].err.msg);
    free(t);
}

static void test_probe_parse_fills_facts_from_lab_outputs(void **state)
{
    struct peer_facts f;
    memset(&f, 0, sizeof f);
    feed(PROBE_SWANCTL_SAS, "lab/healthy/gw-a.swanctl-list-sas-raw.txt", &f);
    feed(PROBE_SWANCTL_CONNS, "lab/healthy/gw-a.swanctl-list-conns-raw.txt", &f);
    feed(PROBE_XFRM_STATE, "uml/healthy/gw-a.ip-s-xfrm-state-nokeys.txt", &f);
    feed(PROBE_XFRM_POLICY, "uml/healthy/gw-a.ip-xfrm-policy.txt", &f);
    feed(PROBE_XFRM_STAT, "lab/healthy/gw-a.xfrm_stat.txt", &f);
    feed(PROBE_SS_UDP, "lab/healthy/gw-a.ss-ulnp.txt", &f);
    feed(PROBE_NFT, "lab/healthy/gw-a.nft-list-ruleset.txt", &f);
    feed(PROBE_IPTABLES, "lab/healthy/gw-a.iptables-save.txt", &f);
    feed(PROBE_CT_TIMEOUTS, "lab/healthy/gw-a.sysctl-udp-timeouts.txt", &f);
    feed(PROBE_LINKS, "lab/healthy/gw-a.ip-o-link.txt", &f);
    feed(PROBE_LOG, "lab/healthy/gw-a.charon.log", &f);
    feed(PROBE_ROUTE, "lab/healthy/gw-a.ip-route-get.txt", &f);
    assert_int_equal(f.daemon, DAEMON_STRONGSWAN);
    assert_int_equal(f.sas.ike[0].nat_local, TRI_YES);
    assert_true(f.xfrm.n_sa == 2 && f.xfrm.n_pol > 0);
    assert_true(f.log.count[LOG_NAT_LOCAL] >= 1);
    assert_string_equal(f.route.dev, "ipsec0");
    peer_facts_free(&f);
}

static void test_probe_missing_tool_is_said(void **state)
{
    struct peer_facts f;
    memset(&f, 0, sizeof f);
    probe_parse(PROBE_SWANCTL_SAS, "", 0, "sh: 1: swanctl: not found\n", 127, &f);
    assert_int_equal(f.raw[PROBE_SWANCTL_SAS].status, PROBE_TOOL_MISSING);
    assert_int_equal(f.raw[PROBE_SWANCTL_SAS].err.code, ERR_NOT_FOUND);
    assert_int_equal(f.daemon, DAEMON_NONE);
    probe_parse(PROBE_CONNTRACK, "", 0, "bash: conntrack: command not found\n", 127, &f);
    assert_int_equal(f.raw[PROBE_CONNTRACK].status, PROBE_TOOL_MISSING);
    peer_facts_free(&f);
}

static void test_probe_daemon_not_running_is_failed_not_empty(void **state)
{
    struct peer_facts f;
    memset(&f, 0, sizeof f);
    probe_parse(PROBE_SWANCTL_SAS, "", 0,
                "connecting to 'unix:///var/run/charon.vici' failed: No such file or directory\n"
                "Error: connecting to 'default' URI failed: No such file or directory\n",
                1, &f);
    assert_int_equal(f.raw[PROBE_SWANCTL_SAS].status, PROBE_FAILED);
    assert_int_equal(f.daemon, DAEMON_NONE);
    assert_int_equal(f.sas.n_ike, 0);
    assert_non_null(strstr(f.raw[PROBE_SWANCTL_SAS].err.msg, "connecting to"));
    peer_facts_free(&f);
}

static void test_probe_failed_ip_xfrm_dump_is_not_an_empty_table(void **state)
{
    struct peer_facts f;
    memset(&f, 0, sizeof f);
    const char *why = "RTNETLINK answers: Operation not permitted\nDump terminated\n";
    probe_parse(PROBE_XFRM_STATE, "", 0, why, 1, &f);
    probe_parse(PROBE_XFRM_POLICY, "", 0, "Dump terminated\n", 1, &f);
    assert_int_equal(f.raw[PROBE_XFRM_STATE].status, PROBE_SUDO_REFUSED);
    assert_non_null(strstr(f.raw[PROBE_XFRM_STATE].err.msg, "Operation not permitted"));
    assert_int_equal(f.raw[PROBE_XFRM_POLICY].status, PROBE_FAILED);
    /* an empty listing that exited 0 is a real "no state" */
    probe_parse(PROBE_XFRM_STATE, "", 0, "", 0, &f);
    assert_int_equal(f.raw[PROBE_XFRM_STATE].status, PROBE_OK);
    peer_facts_free(&f);
}

/* BusyBox's ip (no -s, no xfrm) answers with its usage text: said as a missing
 * capability of the peer's ip, not as a failed dump nor an empty table */
static void test_probe_busybox_ip_without_xfrm_is_named(void **state)
{
    (void)state;
    struct peer_facts f;
    memset(&f, 0, sizeof f);
    size_t n;
    char *why = fixture_load("busybox/ip-s-xfrm-state.stderr.txt", &n);
    probe_parse(PROBE_XFRM_STATE, "", 0, why, 1, &f);
    assert_int_equal(f.raw[PROBE_XFRM_STATE].status, PROBE_FAILED);
    assert_int_equal(f.raw[PROBE_XFRM_STATE].err.code, ERR_UNSUPPORTED);
    assert_non_null(strstr(f.raw[PROBE_XFRM_STATE].err.msg,
                           "this ip cannot list XFRM states with statistics (`ip -s xfrm state list nokeys` "
                           "not supported: BusyBox v1.35.0"));
    assert_null(strchr(f.raw[PROBE_XFRM_STATE].err.msg, '\n'));
    assert_int_equal(f.xfrm.n_sa, 0);
    free(why);
    why = fixture_load("busybox/ip-xfrm-policy.stderr.txt", &n);
    probe_parse(PROBE_XFRM_POLICY, "", 0, why, 1, &f);
    assert_non_null(strstr(f.raw[PROBE_XFRM_POLICY].err.msg, "this ip cannot list XFRM policies"));
    free(why);
    /* an old iproute2 without -stats says so in one line */
    probe_parse(PROBE_XFRM_STATE, "", 0, "Option \"-stats\" is unknown, try \"ip -help\".\n", 255, &f);
    assert_int_equal(f.raw[PROBE_XFRM_STATE].err.code, ERR_UNSUPPORTED);
    /* a refused dump stays what it was */
    probe_parse(PROBE_XFRM_STATE, "", 0, "RTNETLINK answers: Operation not permitted\n", 1, &f);
    assert_int_equal(f.raw[PROBE_XFRM_STATE].status, PROBE_SUDO_REFUSED);
    peer_facts_free(&f);
}

static void test_probe_sysctl_and_route_read_stderr(void **state)
{
    struct peer_facts f;
    memset(&f, 0, sizeof f);
    probe_parse(PROBE_CT_TIMEOUTS, "", 0,
                "sysctl: cannot stat /proc/sys/net/netfilter/nf_conntrack_udp_timeout: No such "
                "file or directory\n",
                255, &f);
    assert_int_equal(f.raw[PROBE_CT_TIMEOUTS].status, PROBE_OK);
    assert_true(f.ct_timeouts.missing);
    probe_parse(PROBE_ROUTE, "", 0, "RTNETLINK answers: Network is unreachable\n", 2, &f);
    assert_int_equal(f.raw[PROBE_ROUTE].status, PROBE_OK);
    assert_false(f.route.ok);
    probe_parse(PROBE_NFT, "garbage {{{\n", 12, "", 0, &f);
    assert_int_equal(f.raw[PROBE_NFT].status, PROBE_PARSE_ERROR);
    peer_facts_free(&f);
}

/* A simulated path: payloads up to `limit` pass; above it the kernel reports
 * `local_mtu` (0: silently lost, a black hole). */
static unsigned sweep(unsigned limit, unsigned local_mtu, struct df_sweep *s)
{
    df_sweep_init(s, 548, 1472);
    unsigned size, steps = 0;
    while ((size = df_sweep_next(s)) != 0 && steps < 40) {
        struct ping_fact p;
        memset(&p, 0, sizeof p);
        p.transmitted = OPT_U64(1);
        p.received = OPT_U64(size <= limit ? 1 : 0);
        if (size > limit && local_mtu)
            p.local_error_mtu = OPT_U64(local_mtu);
        df_sweep_feed(s, size, &p);
        steps++;
    }
    return steps;
}

static void test_df_sweep_finds_largest_passing_size(void **state)
{
    struct df_sweep s;
    assert_int_equal(sweep(1472, 0, &s), 1);     /* healthy: one probe */
    assert_int_equal(s.best, 1472);
    unsigned steps = sweep(1372, 1400, &s);      /* local error mtu=1400: straight to 1372 */
    assert_int_equal(s.best, 1372);
    assert_int_equal(s.local_mtu.v, 1400);
    assert_true(steps <= 3);
    steps = sweep(1372, 0, &s);                  /* black hole: binary search */
    assert_int_equal(s.best, 1372);
    assert_true(steps <= 12);
    sweep(0, 0, &s);                             /* nothing passes */
    assert_int_equal(s.best, 0);
}

/* A Libreswan peer (real Libreswan 4.10 outputs, tests/fixtures/libreswan/README.md):
 * swanctl is missing there, whack answers; its SAs become the peer's with the
 * exact bytes of trafficstatus, and swanctl's absence is no missing fact. */
static void test_probe_libreswan_peer_gives_its_sas_and_settles_daemon(void **state)
{
    (void)state;
    struct peer_facts f;
    memset(&f, 0, sizeof f);
    probe_parse(PROBE_SWANCTL_SAS, "", 0, "sh: 1: swanctl: not found\n", 127, &f);
    probe_parse(PROBE_SWANCTL_CONNS, "", 0, "sh: 1: swanctl: not found\n", 127, &f);
    feed(PROBE_LSW_STATUS, "libreswan/real/natt.west.whack-status.txt", &f);
    feed(PROBE_LSW_TRAFFIC, "libreswan/real/natt.west.trafficstatus.txt", &f);
    probe_settle_daemon(&f);
    assert_int_equal(f.daemon, DAEMON_LIBRESWAN);
    assert_string_equal(daemon_kind_name(f.daemon), "libreswan");
    assert_int_equal(f.raw[PROBE_SWANCTL_SAS].status, PROBE_OTHER_DAEMON);
    assert_int_equal(f.raw[PROBE_SWANCTL_CONNS].status, PROBE_OTHER_DAEMON);
    assert_non_null(strstr(f.raw[PROBE_SWANCTL_SAS].err.msg, "Libreswan peer"));
    assert_string_equal(f.lsw.version, "4.10");
    const struct child_sa *ch = NULL;
    for (size_t i = 0; i < f.sas.n_ike; i++)
        for (size_t k = 0; k < f.sas.ike[i].n_child; k++)
            if (f.sas.ike[i].child[k].spi_out.known && f.sas.ike[i].child[k].spi_out.v == 0x871fae16)
                ch = &f.sas.ike[i].child[k];
    assert_non_null(ch);
    assert_int_equal(ch->spi_in.v, 0x166ce816);
    assert_true(ch->bytes_in.known);
    assert_int_equal(ch->bytes_in.v, 420);
    assert_int_equal(ch->encap, TRI_YES);
    assert_true(f.conns.n_conn >= 3);
    assert_int_equal(f.lsw.conns.n_conn, 0);   /* moved into conns */
    assert_non_null(f.lsw.x);
    peer_facts_free(&f);
}

/* A strongSwan peer: whack's probe exits 127 there (`ipsec` is strongSwan's) */
static void test_probe_strongswan_peer_marks_whack_other_daemon(void **state)
{
    (void)state;
    struct peer_facts f;
    memset(&f, 0, sizeof f);
    feed(PROBE_SWANCTL_SAS, "lab/healthy/gw-a.swanctl-list-sas-raw.txt", &f);
    probe_parse(PROBE_LSW_STATUS, "", 0, "ipsec: not found (no Libreswan)\n", 127, &f);
    probe_parse(PROBE_LSW_TRAFFIC, "", 0, "ipsec: not found (no Libreswan)\n", 127, &f);
    probe_settle_daemon(&f);
    assert_int_equal(f.daemon, DAEMON_STRONGSWAN);
    assert_int_equal(f.raw[PROBE_LSW_STATUS].status, PROBE_OTHER_DAEMON);
    assert_int_equal(f.raw[PROBE_LSW_TRAFFIC].status, PROBE_OTHER_DAEMON);
    assert_int_equal(f.raw[PROBE_SWANCTL_SAS].status, PROBE_OK);
    assert_true(f.sas.n_ike >= 1);
    peer_facts_free(&f);
}

/* Neither daemon: swanctl missing, Libreswan installed with pluto down */
static void test_probe_no_daemon_when_neither_answers(void **state)
{
    (void)state;
    struct peer_facts f;
    memset(&f, 0, sizeof f);
    probe_parse(PROBE_SWANCTL_SAS, "", 0, "sh: 1: swanctl: not found\n", 127, &f);
    probe_parse(PROBE_LSW_STATUS, "", 0,
                "whack: Pluto is not running (no \"/run/pluto/pluto.ctl\")\n", 1, &f);
    probe_settle_daemon(&f);
    assert_int_equal(f.daemon, DAEMON_NONE);
    assert_int_equal(f.raw[PROBE_LSW_STATUS].status, PROBE_FAILED);
    assert_non_null(strstr(f.raw[PROBE_LSW_STATUS].err.msg, "Pluto is not running"));
    /* sudo refused for both: which daemon runs is not known */
    memset(&f, 0, sizeof f);
    f.raw[PROBE_SWANCTL_SAS].status = PROBE_SUDO_REFUSED;
    f.raw[PROBE_LSW_STATUS].status = PROBE_SUDO_REFUSED;
    probe_settle_daemon(&f);
    assert_int_equal(f.daemon, DAEMON_UNKNOWN);
    peer_facts_free(&f);
}

static void test_probe_collect_on_local_peer_reports_every_probe(void **state)
{
    struct err e = {0};
    struct peer *p = peer_new("local", NULL, &e);
    assert_non_null(p);
    struct probe_opts o = {.no_sudo = 1, .route_to = "127.0.0.1", .route_from = "127.0.0.1"};
    struct peer_facts f;
    assert_int_equal(probe_collect(p, &o, &f, &e), 0);
    assert_string_equal(f.peer, "local");
    for (int id = 0; id < PROBE_COUNT; id++) {
        assert_int_not_equal(f.raw[id].status, PROBE_NOT_RUN);
        assert_non_null(f.raw[id].line);
        assert_true(f.raw[id].ended.tv_sec >= f.raw[id].started.tv_sec);
        if (f.raw[id].status != PROBE_OK)
            assert_true(f.raw[id].err.msg[0] != '\0');
    }
    assert_int_equal(f.raw[PROBE_XFRM_STAT].status, PROBE_OK);
    assert_int_equal(f.raw[PROBE_LINKS].status, PROBE_OK);
    assert_non_null(link_find(&f.links, "lo"));
    assert_int_equal(f.raw[PROBE_ROUTE].status, PROBE_OK);
    assert_string_equal(f.route.dev, "lo");
    assert_int_equal(f.raw[PROBE_SS_UDP].status, PROBE_OK);
    /* this machine's XFRM fact: netlink when root, else the reason is said */
    if (geteuid() == 0 && f.xfrm_nl_err.code != ERR_UNSUPPORTED)
        assert_int_equal(f.xfrm_source, XFRM_SOURCE_NETLINK);
    else
        assert_true(f.xfrm_nl_err.msg[0] != '\0');
    peer_facts_free(&f);
    peer_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_probe_specs_name_every_probe_and_need_sudo_for_root_tools),
        cmocka_unit_test(test_probe_command_quotes_options),
        cmocka_unit_test(test_probe_parse_fills_facts_from_lab_outputs),
        cmocka_unit_test(test_probe_missing_tool_is_said),
        cmocka_unit_test(test_probe_failed_ip_xfrm_dump_is_not_an_empty_table),
        cmocka_unit_test(test_probe_busybox_ip_without_xfrm_is_named),
        cmocka_unit_test(test_probe_daemon_not_running_is_failed_not_empty),
        cmocka_unit_test(test_probe_sysctl_and_route_read_stderr),
        cmocka_unit_test(test_df_sweep_finds_largest_passing_size),
        cmocka_unit_test(test_probe_libreswan_peer_gives_its_sas_and_settles_daemon),
        cmocka_unit_test(test_probe_strongswan_peer_marks_whack_other_daemon),
        cmocka_unit_test(test_probe_no_daemon_when_neither_answers),
        cmocka_unit_test(test_probe_collect_on_local_peer_reports_every_probe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
