/* remote/: SSH peer failures that need no server: a refused connection on
 * loopback is reported as such, quickly, and the peer can be retried. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "remote/err.h"
#include "remote/peer.h"

/* A loopback port with nothing listening: bind, read the port, close. */
static int closed_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t l = sizeof a;
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &l), 0);
    close(s);
    return ntohs(a.sin_port);
}

static void test_connect_refused_is_reported_and_fails_queued_commands(void **state)
{
    setenv("HOME", "/nonexistent-ts-home", 1); /* no user ssh config in the way */
    char spec[64];
    snprintf(spec, sizeof spec, "nobody@127.0.0.1:%d", closed_port());
    struct peer_opts o = {.ssh_config = "/dev/null", .connect_timeout_s = 5};
    struct err e = {0};
    struct peer *p = peer_new(spec, &o, &e);
    assert_non_null(p);
    assert_string_equal(peer_name(p), spec);
    assert_int_equal(peer_state(p), PEER_IDLE);
    struct rcmd_opts ro = {.command = "true"};
    struct rcmd *c = NULL;
    time_t t0 = time(NULL);
    if (peer_connect(p, &e) == 0) {
        c = rcmd_start(p, &ro, &e);
        assert_non_null(c);
        assert_int_equal(rcmd_state(c), RCMD_QUEUED);
        struct peer *ps[] = {p};
        while (peer_state(p) != PEER_FAILED && time(NULL) - t0 < 10)
            assert_int_equal(peers_poll(ps, 1, 500, &e), 0);
    }
    assert_int_equal(peer_state(p), PEER_FAILED);
    assert_int_equal(peer_error(p)->code, ERR_CONNECT);
    assert_non_null(strstr(peer_error(p)->msg, "refused"));
    assert_true(time(NULL) - t0 < 5);
    assert_false(peer_busy(p));
    if (c) {
        assert_int_equal(rcmd_state(c), RCMD_DONE);
        assert_int_equal(rcmd_result(c)->err.code, ERR_CONNECT);
        rcmd_free(c);
    }
    /* a failed peer refuses new commands, and can be retried */
    assert_null(rcmd_start(p, &ro, &e));
    assert_int_equal(e.code, ERR_CONNECT);
    peer_connect(p, NULL);
    struct peer *ps[] = {p};
    while (peer_state(p) != PEER_FAILED && time(NULL) - t0 < 10)
        assert_int_equal(peers_poll(ps, 1, 500, &e), 0);
    assert_int_equal(peer_error(p)->code, ERR_CONNECT);
    peer_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connect_refused_is_reported_and_fails_queued_commands),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
