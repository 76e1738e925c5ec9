/* shquote: every argument that goes into a remote command line passes through
 * it.  The round-trip tests hand the quoted word to real shells (dash as
 * /bin/sh, and bash) and check they hand back exactly the original bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "remote/buf.h"
#include "remote/err.h"
#include "remote/shquote.h"

/* Runs `SHELL -c "printf %s WORD"` and returns what it printed. */
static char *shell_echo(const char *shell, const char *word, size_t *outlen)
{
    struct buf cmd = BUF_INIT;
    buf_puts(&cmd, "printf %s ");
    buf_puts(&cmd, word);
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(pfd[1], 1);
        close(pfd[0]);
        close(pfd[1]);
        execl(shell, shell, "-c", cmd.data, (char *)NULL);
        _exit(127);
    }
    close(pfd[1]);
    struct buf out = BUF_INIT;
    char tmp[512];
    ssize_t r;
    while ((r = read(pfd[0], tmp, sizeof tmp)) > 0)
        buf_append(&out, tmp, (size_t)r);
    close(pfd[0]);
    int st;
    waitpid(pid, &st, 0);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    buf_free(&cmd);
    *outlen = out.len;
    return buf_take(&out);
}

static void round_trip(const char *s)
{
    struct buf q = BUF_INIT;
    struct err e = {0};
    assert_int_equal(shquote_append(&q, s, strlen(s), &e), 0);
    const char *shells[] = {"/bin/sh", "/bin/bash"};
    for (size_t i = 0; i < 2; i++) {
        if (access(shells[i], X_OK) != 0)
            continue;
        size_t n;
        char *got = shell_echo(shells[i], q.data, &n);
        assert_int_equal(n, strlen(s));
        assert_memory_equal(got, s, n);
        free(got);
    }
    buf_free(&q);
}

static void test_shquote_plain_words_stay_readable(void **state)
{
    struct buf q = BUF_INIT;
    struct err e = {0};
    const char *w = "eth0";
    assert_int_equal(shquote_append(&q, w, strlen(w), &e), 0);
    assert_string_equal(q.data, "eth0");
    buf_reset(&q);
    w = "10.0.0.0/24";
    assert_int_equal(shquote_append(&q, w, strlen(w), &e), 0);
    assert_string_equal(q.data, "10.0.0.0/24");
    assert_true(shquote_is_plain("user@host:22,x=y+z%-_", 21));
    buf_free(&q);
}

static void test_shquote_empty_string_is_an_empty_word(void **state)
{
    struct buf q = BUF_INIT;
    assert_int_equal(shquote_append(&q, "", 0, NULL), 0);
    assert_string_equal(q.data, "''");
    buf_free(&q);
    round_trip("");
}

static void test_shquote_single_quotes_are_escaped(void **state)
{
    struct buf q = BUF_INIT;
    assert_int_equal(shquote_append(&q, "it's", 4, NULL), 0);
    assert_string_equal(q.data, "'it'\\''s'");
    buf_free(&q);
    round_trip("it's");
    round_trip("'");
    round_trip("''''");
    round_trip("\"double\" and 'single'");
}

static void test_shquote_metacharacters_are_inert(void **state)
{
    round_trip("a; rm -rf /tmp/never-there");
    round_trip("$(touch /tmp/shquote-pwned)");
    round_trip("`id`");
    round_trip("${HOME} $HOME $1 $$ $?");
    round_trip("a && b || c | d > e < f & g");
    round_trip("* ? [a-z] ~ ~root {a,b} #comment");
    round_trip("\\ \\\\ \\n");
    round_trip("-n");
    round_trip("udp port 4500 or ip proto 50");
    assert_int_equal(access("/tmp/shquote-pwned", F_OK), -1);
}

static void test_shquote_newlines_and_controls_survive(void **state)
{
    round_trip("line1\nline2\n");
    round_trip("tab\there\rcr\x1b[31mred\x7f");
}

static void test_shquote_non_ascii_survives(void **state)
{
    round_trip("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x92");
    round_trip("\xff\xfe not utf-8 \x80");
}

static void test_shquote_refuses_nul(void **state)
{
    struct buf q = BUF_INIT;
    struct err e = {0};
    assert_int_equal(shquote_append(&q, "a\0b", 3, &e), -1);
    assert_int_equal(e.code, ERR_USAGE);
    assert_non_null(strstr(e.msg, "NUL"));
    assert_int_equal(q.len, 0);
    buf_free(&q);
}

static void test_shquote_argv_joins_words(void **state)
{
    struct buf q = BUF_INIT;
    struct err e = {0};
    const char *argv[] = {"ip", "-s", "xfrm state", "it's"};
    assert_int_equal(shquote_argv(&q, 4, argv, &e), 0);
    assert_string_equal(q.data, "ip -s 'xfrm state' 'it'\\''s'");
    buf_free(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shquote_plain_words_stay_readable),
        cmocka_unit_test(test_shquote_empty_string_is_an_empty_word),
        cmocka_unit_test(test_shquote_single_quotes_are_escaped),
        cmocka_unit_test(test_shquote_metacharacters_are_inert),
        cmocka_unit_test(test_shquote_newlines_and_controls_survive),
        cmocka_unit_test(test_shquote_non_ascii_survives),
        cmocka_unit_test(test_shquote_refuses_nul),
        cmocka_unit_test(test_shquote_argv_joins_words),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
