/* remote/: the `local` transport (fork/exec) through the same interface as
 * SSH peers: collected and streamed output, exit status, time limits, stop,
 * several commands and peers progressing together in one poll loop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "remote/buf.h"
#include "remote/err.h"
#include "remote/peer.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Runs the loop until c is done or `limit` seconds pass. */
static void run_until_done(struct peer *p, struct rcmd *c, double limit)
{
    double end = now_s() + limit;
    struct peer *peers[] = {p};
    while (rcmd_state(c) != RCMD_DONE) {
        assert_true(now_s() < end);
        assert_int_equal(peers_poll(peers, 1, 200, NULL), 0);
    }
}

static struct peer *local_peer(void)
{
    struct err e = {0};
    struct peer *p = peer_new("local", NULL, &e);
    assert_non_null(p);
    assert_int_equal(peer_connect(p, &e), 0);
    assert_int_equal(peer_state(p), PEER_READY);
    assert_int_equal(peer_kind(p), PEER_LOCAL);
    return p;
}

static void test_local_collects_stdout_and_stderr_apart_with_exit_status(void **state)
{
    struct peer *p = local_peer();
    struct rcmd_opts o = {.command = "echo out1; echo err1 >&2; echo out2; exit 7"};
    struct err e = {0};
    struct rcmd *c = rcmd_start(p, &o, &e);
    assert_non_null(c);
    assert_ptr_equal(rcmd_peer(c), p);
    run_until_done(p, c, 10);
    const struct rcmd_result *r = rcmd_result(c);
    assert_int_equal(r->err.code, ERR_NONE);
    assert_int_equal(r->exit_status, 7);
    assert_string_equal(r->out.data, "out1\nout2\n");
    assert_string_equal(r->err_out.data, "err1\n");
    assert_false(r->timed_out);
    /* wall-clock times for evidence */
    assert_true(r->started.tv_sec > 1700000000);
    assert_true(r->ended.tv_sec >= r->started.tv_sec);
    rcmd_free(c);
    peer_free(p);
}

static void test_local_passes_binary_output_unchanged(void **state)
{
    struct peer *p = local_peer();
    struct rcmd_opts o = {.command = "printf '\\000\\001\\377\\324\\303\\262\\241'"};
    struct rcmd *c = rcmd_start(p, &o, NULL);
    run_until_done(p, c, 10);
    const struct rcmd_result *r = rcmd_result(c);
    assert_int_equal(r->exit_status, 0);
    assert_int_equal(r->out.len, 7);
    assert_memory_equal(r->out.data, "\0\1\377\324\303\262\241", 7);
    rcmd_free(c);
    peer_free(p);
}

static void test_local_time_limit_ends_the_command(void **state)
{
    struct peer *p = local_peer();
    struct rcmd_opts o = {.command = "echo started; sleep 30", .time_limit_s = 1};
    struct rcmd *c = rcmd_start(p, &o, NULL);
    double t0 = now_s();
    run_until_done(p, c, 10);
    double took = now_s() - t0;
    const struct rcmd_result *r = rcmd_result(c);
    assert_true(took >= 0.9 && took < 4.0);
    assert_int_equal(r->err.code, ERR_TIMEOUT);
    assert_true(r->timed_out);
    assert_int_equal(r->exit_status, -1);
    assert_string_equal(r->out.data, "started\n");
    rcmd_free(c);
    peer_free(p);
}

static void test_local_missing_command_is_not_found(void **state)
{
    struct peer *p = local_peer();
    struct rcmd_opts o = {.command = "no-such-tool-tunnelscope --version"};
    struct rcmd *c = rcmd_start(p, &o, NULL);
    run_until_done(p, c, 10);
    const struct rcmd_result *r = rcmd_result(c);
    assert_int_equal(r->exit_status, 127);
    assert_int_equal(r->err.code, ERR_NOT_FOUND);
    assert_non_null(strstr(r->err.msg, "no-such-tool-tunnelscope"));
    rcmd_free(c);
    peer_free(p);
}

struct stream_log {
    struct buf out;
    int chunks;
    double first_at;
    int done_calls;
};

static void log_data(struct rcmd *c, int is_stderr, const char *data, size_t len, void *ud)
{
    struct stream_log *l = ud;
    if (is_stderr)
        return;
    if (!l->chunks++)
        l->first_at = now_s();
    buf_append(&l->out, data, len);
}

static void log_done(struct rcmd *c, void *ud)
{
    struct stream_log *l = ud;
    l->done_calls++;
}

static void test_local_stream_delivers_bytes_as_they_arrive(void **state)
{
    struct peer *p = local_peer();
    struct stream_log l = {BUF_INIT, 0, 0, 0};
    struct rcmd_opts o = {.command = "printf first; sleep 1; printf second",
                          .on_data = log_data, .on_done = log_done, .ud = &l};
    struct rcmd *c = rcmd_start(p, &o, NULL);
    double t0 = now_s();
    run_until_done(p, c, 10);
    double end = now_s();
    assert_true(l.chunks >= 2);
    assert_true(l.first_at - t0 < 0.8);  /* "first" came before the sleep ended */
    assert_true(end - t0 >= 0.9);
    assert_string_equal(l.out.data, "firstsecond");
    assert_int_equal(l.done_calls, 1);
    /* streamed output is not collected */
    assert_int_equal(rcmd_result(c)->out.len, 0);
    buf_free(&l.out);
    rcmd_free(c);
    peer_free(p);
}

static void stop_on_first(struct rcmd *c, int is_stderr, const char *data, size_t len, void *ud)
{
    struct stream_log *l = ud;
    log_data(c, is_stderr, data, len, ud);
    if (l->chunks == 1)
        rcmd_stop(c);
}

/* Alive and not a zombie (an orphan is reaped by whatever PID 1 is, maybe late). */
static int process_alive(int pid)
{
    char path[64], st[512];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(st, 1, sizeof st - 1, f);
    fclose(f);
    st[n] = '\0';
    const char *close = strrchr(st, ')');
    return close && close[1] == ' ' && close[2] != 'Z' && close[2] != 'X';
}

static void test_local_stop_ends_the_process_group(void **state)
{
    struct peer *p = local_peer();
    char pidfile[] = "/tmp/ts-stop-XXXXXX";
    int fd = mkstemp(pidfile);
    assert_true(fd >= 0);
    close(fd);
    char cmd[256];
    /* a child process (sleep) that would outlive a naive kill of the shell */
    snprintf(cmd, sizeof cmd, "sleep 60 & echo $! > %s; echo go; wait", pidfile);
    struct stream_log l = {BUF_INIT, 0, 0, 0};
    struct rcmd_opts o = {.command = cmd, .time_limit_s = 60, .on_data = stop_on_first, .ud = &l};
    struct rcmd *c = rcmd_start(p, &o, NULL);
    double t0 = now_s();
    run_until_done(p, c, 10);
    assert_true(now_s() - t0 < 5.0);
    FILE *f = fopen(pidfile, "r");
    assert_non_null(f);
    int pid = 0;
    assert_int_equal(fscanf(f, "%d", &pid), 1);
    fclose(f);
    unlink(pidfile);
    usleep(200 * 1000);
    assert_true(pid > 1);
    assert_false(process_alive(pid)); /* the sleep is gone */
    assert_false(rcmd_result(c)->timed_out);
    buf_free(&l.out);
    rcmd_free(c);
    peer_free(p);
}

static void test_local_commands_and_peers_run_in_parallel(void **state)
{
    struct err e = {0};
    struct peer *a = peer_new("local", NULL, &e);
    struct peer *b = peer_new("local", NULL, &e);
    assert_non_null(a);
    assert_non_null(b);
    struct peer *peers[] = {a, b};
    struct rcmd *cmds[2];
    struct rcmd_opts o = {.command = "sleep 1; echo done"};
    double t0 = now_s();
    assert_int_equal(peers_run_all(peers, 2, &o, cmds, &e), 0);
    double took = now_s() - t0;
    assert_true(took < 1.8); /* both at once, not 2 s */
    for (int i = 0; i < 2; i++) {
        assert_non_null(cmds[i]);
        assert_int_equal(rcmd_state(cmds[i]), RCMD_DONE);
        assert_string_equal(rcmd_result(cmds[i])->out.data, "done\n");
        rcmd_free(cmds[i]);
    }
    /* many commands on one peer, also at once */
    struct rcmd *many[4];
    t0 = now_s();
    for (int i = 0; i < 4; i++)
        assert_non_null(many[i] = rcmd_start(a, &o, &e));
    for (int i = 0; i < 4; i++)
        run_until_done(a, many[i], 10);
    assert_true(now_s() - t0 < 1.8);
    for (int i = 0; i < 4; i++)
        rcmd_free(many[i]);
    peer_free(a);
    peer_free(b);
}

static void test_local_output_cap_truncates(void **state)
{
    struct peer *p = local_peer();
    struct rcmd_opts o = {.command = "head -c 100000 /dev/zero", .max_output = 1000};
    struct rcmd *c = rcmd_start(p, &o, NULL);
    run_until_done(p, c, 10);
    assert_int_equal(rcmd_result(c)->out.len, 1000);
    assert_true(rcmd_result(c)->truncated);
    rcmd_free(c);
    peer_free(p);
}

static void test_local_peer_free_ends_running_commands(void **state)
{
    struct peer *p = local_peer();
    struct rcmd_opts o = {.command = "sleep 30"};
    struct rcmd *c = rcmd_start(p, &o, NULL);
    assert_int_equal(rcmd_state(c), RCMD_RUNNING);
    assert_true(peer_busy(p));
    peer_free(p);
    assert_int_equal(rcmd_state(c), RCMD_DONE);
    assert_int_equal(rcmd_result(c)->err.code, ERR_DISCONNECTED);
    assert_null(rcmd_peer(c));
    rcmd_free(c); /* after its peer: still fine */
}

static void test_build_line_wraps_in_timeout_and_sudo(void **state)
{
    struct buf b = BUF_INIT;
    struct err e = {0};
    struct rcmd_opts o = {.command = "ip -s xfrm state", .sudo = 1, .time_limit_s = 9};
    assert_int_equal(rcmd_build_line(&o, &b, &e), 0);
    assert_true(!strncmp(b.data, "sudo -n timeout -k 2 9 sh -c ", 29));
    assert_non_null(strstr(b.data, " tunnelscope 'ip -s xfrm state'"));
    buf_reset(&b);
    o.sudo = 0;
    o.time_limit_s = 0;
    assert_int_equal(rcmd_build_line(&o, &b, &e), 0);
    char want[64];
    snprintf(want, sizeof want, "timeout -k 2 %u sh -c ", RCMD_DEFAULT_LIMIT_S);
    assert_true(!strncmp(b.data, want, strlen(want)));
    buf_reset(&b);
    o.command = "";
    assert_int_equal(rcmd_build_line(&o, &b, &e), -1);
    assert_int_equal(e.code, ERR_USAGE);
    buf_free(&b);

    struct peer *p = local_peer();
    struct rcmd_opts bad = {.command = NULL};
    assert_null(rcmd_start(p, &bad, &e));
    assert_int_equal(e.code, ERR_USAGE);
    peer_free(p);
}

static void test_local_command_sees_the_exact_text(void **state)
{
    /* the command text reaches sh unchanged through the wrapper's quoting */
    struct peer *p = local_peer();
    struct rcmd_opts o = {.command = "printf '%s|' \"it's\" '$(x)' `echo bq` \"a;b\""};
    struct rcmd *c = rcmd_start(p, &o, NULL);
    run_until_done(p, c, 10);
    assert_string_equal(rcmd_result(c)->out.data, "it's|$(x)|bq|a;b|");
    assert_non_null(strstr(rcmd_line(c), "tunnelscope"));
    rcmd_free(c);
    peer_free(p);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_local_collects_stdout_and_stderr_apart_with_exit_status),
        cmocka_unit_test(test_local_passes_binary_output_unchanged),
        cmocka_unit_test(test_local_time_limit_ends_the_command),
        cmocka_unit_test(test_local_missing_command_is_not_found),
        cmocka_unit_test(test_local_stream_delivers_bytes_as_they_arrive),
        cmocka_unit_test(test_local_stop_ends_the_process_group),
        cmocka_unit_test(test_local_commands_and_peers_run_in_parallel),
        cmocka_unit_test(test_local_output_cap_truncates),
        cmocka_unit_test(test_local_peer_free_ends_running_commands),
        cmocka_unit_test(test_build_line_wraps_in_timeout_and_sudo),
        cmocka_unit_test(test_local_command_sees_the_exact_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
