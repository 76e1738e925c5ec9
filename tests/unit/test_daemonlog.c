/* Daemon log events from real charon filelogs (tests/fixtures/charon/README.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "probes/daemonlog.h"

static void load(const char *rel, struct log_fact *f)
{
    size_t n;
    char *t = fixture_load(rel, &n);
    struct err e = {0};
    if (daemonlog_parse(t, n, f, &e) != 0)
        fail_msg("%s: %s", rel, e.msg);
    free(t);
}

/* The events of kind k (of connection conn, NULL any): the first, and how many. */
static const struct log_event *first_of(const struct log_fact *f, enum log_kind k, const char *conn,
                                        size_t *count)
{
    const struct log_event *found = NULL;
    size_t n = 0;
    for (size_t i = 0; i < f->n; i++) {
        if (f->ev[i].kind != k || (conn && strcmp(f->ev[i].conn, conn)))
            continue;
        if (!found)
            found = &f->ev[i];
        n++;
    }
    if (count)
        *count = n;
    return found;
}

static const struct log_event *first(const struct log_fact *f, enum log_kind k)
{
    return first_of(f, k, NULL, NULL);
}

static size_t count_conn(const struct log_fact *f, enum log_kind k, const char *conn)
{
    size_t n;
    first_of(f, k, conn, &n);
    return n;
}

static void test_log_filelog_nat_detection_on_natted_side(void **state)
{
    struct log_fact f;
    load("charon/charon-filelog.gw-a.log", &f);
    const struct log_event *ev = first(&f, LOG_NAT_LOCAL);
    assert_non_null(ev);
    assert_string_equal(ev->time, "Dec  5 09:30:37");
    assert_int_equal(ev->tod.v, 9 * 3600 + 30 * 60 + 37);
    assert_string_equal(ev->conn, "site");
    assert_int_equal(ev->ike_id.v, 1);
    assert_string_equal(ev->msg, "local host is behind NAT, sending keep alives");
    assert_int_equal(f.count[LOG_IKE_ESTABLISHED], 1);
    assert_true(f.count[LOG_CHILD_ESTABLISHED] >= 2);
    log_fact_free(&f);
}

static void test_log_filelog_ts_unacceptable_and_retransmits(void **state)
{
    struct log_fact f;
    load("charon/charon-filelog.gw-a.log", &f);
    assert_int_equal(f.count[LOG_TS_UNACCEPTABLE], 1);
    const struct log_event *r = first(&f, LOG_RETRANSMIT);
    assert_non_null(r);
    assert_int_equal(r->n.v, 1);
    assert_int_equal(r->msgid.v, 7);
    assert_true(f.count[LOG_RETRANSMIT] >= 2);
    assert_true(f.count[LOG_REKEY] >= 1);
    assert_true(f.count[LOG_DELETE] >= 1);
    assert_true(f.other > 0);
    log_fact_free(&f);
}

static void test_log_responder_sees_remote_nat(void **state)
{
    struct log_fact f;
    load("charon/charon-filelog.gw-b.log", &f);
    assert_int_equal(f.count[LOG_NAT_LOCAL], 0);
    assert_true(f.count[LOG_NAT_REMOTE] >= 1);
    log_fact_free(&f);
}

static void test_log_journal_short_iso_gives_same_events(void **state)
{
    struct log_fact a, j;
    load("charon/charon-filelog.gw-a.log", &a);
    load("charon/journal-short-iso.gw-a.reconstructed.txt", &j);
    const struct log_event *ev = first(&j, LOG_NAT_LOCAL);
    assert_non_null(ev);
    assert_string_equal(ev->time, "2026-12-05T09:30:37+0000");
    assert_string_equal(ev->daemon, "charon-systemd");
    assert_int_equal(ev->tod.v, 9 * 3600 + 30 * 60 + 37);
    for (int k = 0; k < LOG_KIND_COUNT; k++)
        assert_int_equal(a.count[k], j.count[k]);
    log_fact_free(&a);
    log_fact_free(&j);
}

static void test_log_syslog_without_host_and_empty_journal(void **state)
{
    const char *t = "Jun 20 14:29:47 charon[2428]: 02[IKE] <PEER|1> retransmit 3 of request with "
                    "message ID 0\n";
    struct log_fact f;
    struct err e = {0};
    assert_int_equal(daemonlog_parse(t, strlen(t), &f, &e), 0);
    assert_int_equal(f.n, 1);
    assert_int_equal(f.ev[0].kind, LOG_RETRANSMIT);
    assert_int_equal(f.ev[0].n.v, 3);
    assert_string_equal(f.ev[0].conn, "PEER");
    log_fact_free(&f);
    const char *none = "-- No entries --\n";
    assert_int_equal(daemonlog_parse(none, strlen(none), &f, &e), 0);
    assert_int_equal(f.n, 0);
    assert_int_equal(daemonlog_parse("", 0, &f, &e), 0);
}

static void test_log_unknown_text_is_unsupported(void **state)
{
    const char *t = "total 0\ndrwxr-xr-x 2 root root 40 Dec  5 09:00 .\n";
    struct log_fact f;
    struct err e = {0};
    assert_int_equal(daemonlog_parse(t, strlen(t), &f, &e), -1);
    assert_int_equal(e.code, ERR_UNSUPPORTED);
    assert_int_equal(f.n, 0);
}

/* pluto's own log file (logfile=, Libreswan 4.10, tests/fixtures/libreswan/README.md):
 * the initiator of the five netns connections names each outcome */
static void test_log_pluto_logfile_initiator_names_each_failure(void **state)
{
    struct log_fact f;
    load("libreswan/netns/west.pluto.log", &f);
    const struct log_event *ev = first(&f, LOG_NO_PROPOSAL);
    assert_non_null(ev);
    assert_string_equal(ev->time, "Dec  5 15:58:14.912814");
    assert_int_equal(ev->tod.v, 15 * 3600 + 58 * 60 + 14);
    assert_string_equal(ev->daemon, "pluto");
    assert_string_equal(ev->conn, "noprop");
    assert_int_equal(ev->ike_id.v, 3);
    assert_non_null(strstr(ev->msg, "NO_PROPOSAL_CHOSEN"));
    assert_true(count_conn(&f, LOG_AUTH_FAILED, "badauth") >= 1);
    assert_true(count_conn(&f, LOG_TS_UNACCEPTABLE, "ts-bad") >= 1);
    assert_true(count_conn(&f, LOG_IKE_ESTABLISHED, "good") == 1);
    assert_true(count_conn(&f, LOG_RETRANSMIT, "gone") >= 5);
    const struct log_event *g = first_of(&f, LOG_GIVE_UP, "gone", NULL);
    assert_non_null(g);
    assert_int_equal(g->n.v, 5);
    assert_int_equal(f.count[LOG_DPD], 0);
    log_fact_free(&f);
}

/* the responder's side of the same run: its own words for each refusal */
static void test_log_pluto_logfile_responder_refusals(void **state)
{
    struct log_fact f;
    load("libreswan/netns/east.pluto.log", &f);
    assert_true(count_conn(&f, LOG_NO_PROPOSAL, "noprop") >= 1);
    assert_true(count_conn(&f, LOG_AUTH_FAILED, "badauth") >= 1);
    const struct log_event *ts = first(&f, LOG_TS_UNACCEPTABLE);
    assert_non_null(ts);
    assert_string_equal(ts->conn, "ts-bad");
    assert_string_equal(ts->msg, "No IKEv2 connection found with compatible Traffic Selectors");
    assert_true(f.count[LOG_IKE_ESTABLISHED] >= 2);
    assert_int_equal(f.count[LOG_GIVE_UP], 0);
    log_fact_free(&f);
}

/* the UML run (real ESP SAs): "established" lines end in "DPD=active}" and are
 * no DPD; an instance's conn ("west-east"[1] 203.0.113.10 #4:) is its name */
static void test_log_pluto_established_lines_are_not_dpd(void **state)
{
    struct log_fact w, e;
    load("libreswan/real/natt.west.pluto.log", &w);
    load("libreswan/real/natt.east.pluto.log", &e);
    assert_int_equal(w.count[LOG_DPD], 0);
    assert_int_equal(e.count[LOG_DPD], 0);
    assert_true(count_conn(&w, LOG_CHILD_ESTABLISHED, "west-east") >= 1);
    assert_true(count_conn(&w, LOG_CHILD_ESTABLISHED, "west-east-v1") >= 1);
    assert_true(count_conn(&w, LOG_IKE_ESTABLISHED, "west-east-v1") >= 1);  /* IKEv1 */
    assert_true(count_conn(&e, LOG_CHILD_ESTABLISHED, "west-east") >= 1);
    assert_true(count_conn(&w, LOG_TS_UNACCEPTABLE, "ts-bad") == 1);
    assert_true(w.count[LOG_RETRANSMIT] >= 10);
    log_fact_free(&w);
    log_fact_free(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_filelog_nat_detection_on_natted_side),
        cmocka_unit_test(test_log_filelog_ts_unacceptable_and_retransmits),
        cmocka_unit_test(test_log_responder_sees_remote_nat),
        cmocka_unit_test(test_log_journal_short_iso_gives_same_events),
        cmocka_unit_test(test_log_syslog_without_host_and_empty_journal),
        cmocka_unit_test(test_log_unknown_text_is_unsupported),
        cmocka_unit_test(test_log_pluto_logfile_initiator_names_each_failure),
        cmocka_unit_test(test_log_pluto_logfile_responder_refusals),
        cmocka_unit_test(test_log_pluto_established_lines_are_not_dpd),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
