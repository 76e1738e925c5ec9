/* Hostile strings never reach a remote shell unquoted (issue 9): every builder
 * of a remote command line either refuses them or quotes them so that sh reads
 * them back as one plain word.  Checked by running the built line with the
 * local /bin/sh: a marker file must never appear. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "probes/capture.h"
#include "remote/peer.h"
#include "remote/shquote.h"

static char marker[64];
static const char *hostile[8];

static int setup(void **state)
{
    (void)state;
    snprintf(marker, sizeof marker, "/tmp/ts-relinj-%ld", (long)getpid());
    static char b[8][160];
    const char *pre[] = {"x;touch ", "$(touch ", "`touch ", "x\ntouch ",
                         "x|touch ", "x&&touch ", "x' ; touch ", "-oProxyCommand=touch "};
    const char *post[] = {"", ")", "`", "", "", "", " ; '", ""};
    for (int i = 0; i < 8; i++) {
        snprintf(b[i], sizeof b[i], "%s%s%s", pre[i], marker, post[i]);
        hostile[i] = b[i];
    }
    unlink(marker);
    return 0;
}

static void test_capture_builders_refuse_hostile_interfaces_and_addresses(void **state)
{
    (void)state;
    for (int i = 0; i < 8; i++) {
        struct err e = {0};
        char *out = NULL;
        struct capture_cmd_opts o = {.iface = hostile[i], .seconds = 5, .sudo = 1};
        assert_int_equal(capture_cmd_build(&o, &out, &e), -1);
        assert_null(out);
        assert_int_equal(capture_route_cmd(hostile[i], &out, &e), -1);
        assert_null(out);
        /* an `ip route get` answer naming a hostile device is refused too */
        char text[256], ifname[32];
        snprintf(text, sizeof text, "198.51.100.20 via 192.0.2.1 dev %s src 192.0.2.10\n",
                 hostile[i]);
        if (capture_route_iface(text, strlen(text), ifname, sizeof ifname, &e) == 0) {
            /* only the word up to the newline was taken ("x"): an inert name */
            assert_null(strpbrk(ifname, ";|&$`'\n ()-="));
            o.iface = ifname;
            assert_int_equal(capture_cmd_build(&o, &out, &e), 0);
            assert_null(strstr(out, "touch"));
            free(out);
            out = NULL;
        }
    }
}

static void test_peer_specs_refuse_hostile_names(void **state)
{
    (void)state;
    for (int i = 0; i < 8; i++) {
        struct peer_spec s;
        struct err e = {0};
        int r = peer_spec_parse(hostile[i], &s, &e);
        if (r == 0) {
            /* accepted only as an inert host name: no shell metacharacter in it */
            assert_null(strpbrk(s.host ? s.host : "", ";|&$`'\n "));
            peer_spec_clear(&s);
        }
    }
}

static void test_quoted_words_run_by_sh_stay_data(void **state)
{
    (void)state;
    for (int i = 0; i < 8; i++) {
        struct buf line = BUF_INIT;
        struct err e = {0};
        assert_int_equal(buf_puts(&line, "printf '%s' "), 0);
        assert_int_equal(shquote_append(&line, hostile[i], strlen(hostile[i]), &e), 0);
        assert_int_equal(buf_puts(&line, " >/dev/null"), 0);
        assert_int_equal(system(line.data), 0);
        buf_free(&line);
        /* the command line the peer gets (sudo, timeout, watcher) */
        struct rcmd_opts o = {.command = hostile[i], .sudo = 0, .time_limit_s = 5};
        struct buf rl = BUF_INIT;
        assert_int_equal(rcmd_build_line(&o, &rl, &e), 0);
        assert_non_null(strstr(rl.data, "timeout -k 2 5 sh -c "));
        buf_free(&rl);
    }
    assert_int_not_equal(access(marker, F_OK), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_capture_builders_refuse_hostile_interfaces_and_addresses),
        cmocka_unit_test(test_peer_specs_refuse_hostile_names),
        cmocka_unit_test(test_quoted_words_run_by_sh_stay_data),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
