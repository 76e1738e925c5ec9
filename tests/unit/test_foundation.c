/* err, buf, redact, safe_text: the small shared pieces every layer uses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "playbook/finding.h"
#include "probes/redact.h"
#include "remote/buf.h"
#include "remote/err.h"
#include "tui/safe_text.h"

static void test_err_set_returns_minus_one_and_formats(void **state)
{
    struct err e = {0};
    assert_int_equal(err_set(&e, ERR_PARSE, "line %d", 7), -1);
    assert_int_equal(e.code, ERR_PARSE);
    assert_string_equal(e.msg, "line 7");
    err_wrap(&e, "swanctl");
    assert_string_equal(e.msg, "swanctl: line 7");
    assert_string_equal(err_code_name(ERR_HOSTKEY_CHANGED), "hostkey-changed");
    assert_string_equal(err_code_name(9999), "unknown");
    assert_int_equal(err_set(NULL, ERR_IO, "x"), -1);
}

static void test_buf_grows_and_consumes(void **state)
{
    struct buf b = BUF_INIT;
    for (int i = 0; i < 1000; i++)
        assert_int_equal(buf_printf(&b, "%d,", i % 10), 0);
    assert_int_equal(b.len, 2000);
    assert_int_equal(b.data[b.len], '\0');
    buf_consume(&b, 1998);
    assert_string_equal(b.data, "9,");
    char *s = buf_take(&b);
    assert_string_equal(s, "9,");
    assert_null(b.data);
    free(s);
    s = buf_take(&b);
    assert_string_equal(s, "");
    free(s);
}

static void test_redact_removes_xfrm_keys(void **state)
{
    const char *in = "src 192.168.77.2 dst 198.51.100.20\n"
                     "\tproto esp spi 0xc3b8a9d2 reqid 1 mode tunnel\n"
                     "\taead rfc4106(gcm(aes)) 0x7e3f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f 128\n"
                     "\tenc cbc(aes) 0x00112233445566778899aabbccddeeff\n";
    struct buf out = BUF_INIT;
    assert_int_equal(redact_text(in, strlen(in), NULL, &out), 2);
    assert_null(strstr(out.data, "7e3f9a0b"));
    assert_null(strstr(out.data, "00112233"));
    assert_non_null(strstr(out.data, "aead rfc4106(gcm(aes)) " REDACTED " 128"));
    assert_non_null(strstr(out.data, "spi 0xc3b8a9d2")); /* SPIs are not keys */
    buf_free(&out);
}

static void test_redact_removes_config_secrets_and_known_strings(void **state)
{
    const char *in = "secrets {\n  ike-lab {\n    secret = \"hunter2-lab\"\n  }\n}\n"
                     "198.51.100.20 : PSK \"hunter2-lab\"\n"
                     "log: psk hunter2-lab seen\n";
    const char *secrets[] = {"hunter2-lab", NULL};
    struct buf out = BUF_INIT;
    assert_true(redact_text(in, strlen(in), secrets, &out) >= 3);
    assert_null(strstr(out.data, "hunter2"));
    /* idempotent: redacting the redacted text changes nothing */
    struct buf again = BUF_INIT;
    assert_true(redact_text(out.data, out.len, secrets, &again) >= 0);
    assert_string_equal(again.data, out.data);
    buf_free(&again);
    buf_free(&out);
}

static void test_redact_keeps_plain_text(void **state)
{
    const char *in = "udp UNCONN 0 0 0.0.0.0:4500 0.0.0.0:* users:((\"charon\",pid=1,fd=12))";
    struct buf out = BUF_INIT;
    assert_int_equal(redact_text(in, strlen(in), NULL, &out), 0);
    assert_string_equal(out.data, in);
    buf_free(&out);
}

static void test_safe_text_neutralises_escapes(void **state)
{
    const char in[] = "ok \x1b[2J\x1b]0;pwned\x07 caf\xc3\xa9 \xff\xfe tab\tend\r\n";
    struct buf out = BUF_INIT;
    assert_int_equal(safe_text(in, sizeof in - 1, 1, &out), 0);
    assert_null(strchr(out.data, 0x1b));
    assert_null(strchr(out.data, 0x07));
    assert_null(strchr(out.data, '\r'));
    assert_non_null(strstr(out.data, "\\x1b[2J"));
    assert_non_null(strstr(out.data, "caf\xc3\xa9"));
    assert_non_null(strstr(out.data, "\\xff\\xfe"));
    assert_non_null(strstr(out.data, "tab end"));
    buf_free(&out);
}

static void test_safe_text_rejects_c1_and_overlong(void **state)
{
    const char in[] = "\xc2\x9b" "31m \xc0\xaf \xed\xa0\x80";
    struct buf out = BUF_INIT;
    assert_int_equal(safe_text(in, sizeof in - 1, 0, &out), 0);
    assert_string_equal(out.data, "\\xc2\\x9b31m \\xc0\\xaf \\xed\\xa0\\x80");
    buf_free(&out);
}

static void test_severity_names_round_trip(void **state)
{
    enum severity s;
    assert_int_equal(severity_parse("warning", &s), 0);
    assert_int_equal(s, SEV_WARNING);
    assert_string_equal(severity_name(SEV_FAILURE), "failure");
    assert_int_equal(severity_parse("bad", &s), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_err_set_returns_minus_one_and_formats),
        cmocka_unit_test(test_buf_grows_and_consumes),
        cmocka_unit_test(test_redact_removes_xfrm_keys),
        cmocka_unit_test(test_redact_removes_config_secrets_and_known_strings),
        cmocka_unit_test(test_redact_keeps_plain_text),
        cmocka_unit_test(test_safe_text_neutralises_escapes),
        cmocka_unit_test(test_safe_text_rejects_c1_and_overlong),
        cmocka_unit_test(test_severity_names_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
