/* remote/: peer specs and ssh config resolution (libssh's own parser, the one
 * connecting uses), without any network. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "remote/err.h"
#include "remote/peer.h"

static char tmpdir[64];

static int setup_home(void **state)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/ts-spec-XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    char p[128];
    snprintf(p, sizeof p, "%s/.ssh", tmpdir);
    mkdir(p, 0700);
    setenv("HOME", tmpdir, 1);
    unsetenv("TUNNELSCOPE_SSH_CONFIG");
    unsetenv("TUNNELSCOPE_KNOWN_HOSTS");
    return 0;
}

static int teardown_home(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *rel, const char *text)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", tmpdir, rel);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_spec_parses_alias_user_host_port(void **state)
{
    struct peer_spec s;
    struct err e = {0};
    assert_int_equal(peer_spec_parse("gw-a", &s, &e), 0);
    assert_int_equal(s.kind, PEER_SSH);
    assert_string_equal(s.name, "gw-a");
    assert_string_equal(s.host, "gw-a");
    assert_null(s.user);
    assert_int_equal(s.port, 0);
    peer_spec_clear(&s);

    assert_int_equal(peer_spec_parse("admin@192.0.2.7:2222", &s, &e), 0);
    assert_string_equal(s.user, "admin");
    assert_string_equal(s.host, "192.0.2.7");
    assert_int_equal(s.port, 2222);
    assert_string_equal(s.name, "admin@192.0.2.7:2222");
    peer_spec_clear(&s);

    assert_int_equal(peer_spec_parse("local", &s, &e), 0);
    assert_int_equal(s.kind, PEER_LOCAL);
    assert_null(s.host);
    peer_spec_clear(&s);
    peer_spec_clear(&s); /* twice is harmless */
}

static void test_spec_parses_ipv6_with_and_without_port(void **state)
{
    struct peer_spec s;
    struct err e = {0};
    assert_int_equal(peer_spec_parse("root@[2001:db8::1]:22", &s, &e), 0);
    assert_string_equal(s.host, "2001:db8::1");
    assert_string_equal(s.user, "root");
    assert_int_equal(s.port, 22);
    peer_spec_clear(&s);
    assert_int_equal(peer_spec_parse("2001:db8::1", &s, &e), 0);
    assert_string_equal(s.host, "2001:db8::1");
    assert_int_equal(s.port, 0);
    peer_spec_clear(&s);
}

static void test_spec_refuses_garbage(void **state)
{
    const char *bad[] = {
        "", "-oProxyCommand=x", "gw a", "gw;rm", "gw$(x)", "gw`x`", "user@", "@host",
        "host:", "host:0", "host:65536", "host:22x", "a@b@c", "[::1]", "[host]:22", "[::1",
        "u@-oX", "gw\n", "gw'", "gw|x", "host:-1",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct peer_spec s;
        struct err e = {0};
        if (peer_spec_parse(bad[i], &s, &e) != -1)
            fail_msg("accepted bad spec '%s'", bad[i]);
        assert_int_equal(e.code, ERR_USAGE);
        assert_true(e.msg[0] != '\0');
        assert_null(s.name);
    }
    struct peer_spec s;
    assert_int_equal(peer_spec_parse(NULL, &s, NULL), -1);
}

static void test_resolve_applies_explicit_config_file(void **state)
{
    write_file("lab_config", "Host gw-a\n"
                             "    HostName 10.99.0.2\n"
                             "    User root\n"
                             "    Port 2022\n"
                             "    IdentityFile %d/id_lab\n"
                             "    UserKnownHostsFile /tmp/ts-lab-known\n"
                             "Host jumped\n"
                             "    HostName 10.99.0.9\n"
                             "    ProxyCommand nc -q0 %h %p\n"
                             "Host behind\n"
                             "    HostName 10.0.0.5\n"
                             "    ProxyJump jump.example\n");
    char cfg[128];
    snprintf(cfg, sizeof cfg, "%s/lab_config", tmpdir);
    struct peer_opts o = {.ssh_config = cfg};
    struct peer_spec s;
    struct peer_resolved r;
    struct err e = {0};
    assert_int_equal(peer_spec_parse("gw-a", &s, &e), 0);
    assert_int_equal(peer_resolve(&s, &o, &r, &e), 0);
    assert_string_equal(r.host, "10.99.0.2");
    assert_string_equal(r.user, "root");
    assert_int_equal(r.port, 2022);
    char want[160];
    snprintf(want, sizeof want, "%s/.ssh/id_lab", tmpdir);
    assert_string_equal(r.identity, want);
    assert_string_equal(r.known_hosts, "/tmp/ts-lab-known");
    assert_null(r.proxy_command);
    peer_resolved_clear(&r);
    peer_spec_clear(&s);

    assert_int_equal(peer_spec_parse("jumped", &s, &e), 0);
    assert_int_equal(peer_resolve(&s, &o, &r, &e), 0);
    assert_non_null(r.proxy_command);
    assert_non_null(strstr(r.proxy_command, "nc -q0"));
    peer_resolved_clear(&r);
    peer_spec_clear(&s);

    /* libssh 0.10 turns ProxyJump into a ProxyCommand running ssh -W */
    assert_int_equal(peer_spec_parse("behind", &s, &e), 0);
    assert_int_equal(peer_resolve(&s, &o, &r, &e), 0);
    assert_string_equal(r.host, "10.0.0.5");
    assert_non_null(r.proxy_command);
    assert_non_null(strstr(r.proxy_command, "-W"));
    assert_non_null(strstr(r.proxy_command, "jump.example"));
    peer_resolved_clear(&r);
    peer_spec_clear(&s);
}

static void test_resolve_spec_user_and_port_win_over_config(void **state)
{
    write_file("lab_config", "Host gw-b\n    HostName 10.99.0.3\n    User root\n    Port 2022\n");
    char cfg[128];
    snprintf(cfg, sizeof cfg, "%s/lab_config", tmpdir);
    setenv("TUNNELSCOPE_SSH_CONFIG", cfg, 1); /* the environment default */
    struct peer_spec s;
    struct peer_resolved r;
    struct err e = {0};
    assert_int_equal(peer_spec_parse("ops@gw-b:2200", &s, &e), 0);
    assert_int_equal(peer_resolve(&s, NULL, &r, &e), 0);
    assert_string_equal(r.host, "10.99.0.3");
    assert_string_equal(r.user, "ops");
    assert_int_equal(r.port, 2200);
    peer_resolved_clear(&r);
    peer_spec_clear(&s);
    unsetenv("TUNNELSCOPE_SSH_CONFIG");
}

static void test_resolve_reads_home_ssh_config_by_default(void **state)
{
    write_file(".ssh/config", "Host site-b\n    HostName 198.51.100.20\n    User netops\n");
    struct peer_spec s;
    struct peer_resolved r;
    struct err e = {0};
    assert_int_equal(peer_spec_parse("site-b", &s, &e), 0);
    assert_int_equal(peer_resolve(&s, NULL, &r, &e), 0);
    assert_string_equal(r.host, "198.51.100.20");
    assert_string_equal(r.user, "netops");
    assert_int_equal(r.port, 22);
    char want[160];
    snprintf(want, sizeof want, "%s/.ssh/known_hosts", tmpdir);
    assert_string_equal(r.known_hosts, want);
    peer_resolved_clear(&r);
    peer_spec_clear(&s);
}

static void test_resolve_known_hosts_flag_and_env_override_config(void **state)
{
    write_file("lab_config", "Host gw-a\n    UserKnownHostsFile /tmp/from-config\n");
    char cfg[128];
    snprintf(cfg, sizeof cfg, "%s/lab_config", tmpdir);
    struct peer_spec s;
    struct peer_resolved r;
    struct err e = {0};
    assert_int_equal(peer_spec_parse("gw-a", &s, &e), 0);

    setenv("TUNNELSCOPE_KNOWN_HOSTS", "/tmp/from-env", 1);
    struct peer_opts o = {.ssh_config = cfg};
    assert_int_equal(peer_resolve(&s, &o, &r, &e), 0);
    assert_string_equal(r.known_hosts, "/tmp/from-env");
    peer_resolved_clear(&r);

    o.known_hosts = "/tmp/from-flag";
    assert_int_equal(peer_resolve(&s, &o, &r, &e), 0);
    assert_string_equal(r.known_hosts, "/tmp/from-flag");
    peer_resolved_clear(&r);

    unsetenv("TUNNELSCOPE_KNOWN_HOSTS");
    o.known_hosts = NULL;
    assert_int_equal(peer_resolve(&s, &o, &r, &e), 0);
    assert_string_equal(r.known_hosts, "/tmp/from-config");
    peer_resolved_clear(&r);
    peer_spec_clear(&s);
}

static void test_resolve_missing_config_file_is_an_error(void **state)
{
    struct peer_opts o = {.ssh_config = "/nonexistent/ts-config"};
    struct peer_spec s;
    struct peer_resolved r;
    struct err e = {0};
    assert_int_equal(peer_spec_parse("gw-a", &s, &e), 0);
    assert_int_equal(peer_resolve(&s, &o, &r, &e), -1);
    assert_int_equal(e.code, ERR_USAGE);
    assert_non_null(strstr(e.msg, "/nonexistent/ts-config"));
    peer_spec_clear(&s);
    /* peer_new keeps the problem for peer_connect(), which reports it */
    struct peer *p = peer_new("gw-a", &o, &e);
    assert_non_null(p);
    assert_int_equal(peer_connect(p, &e), -1);
    assert_int_equal(peer_state(p), PEER_FAILED);
    assert_int_equal(peer_error(p)->code, ERR_USAGE);
    peer_free(p);
}

static void test_peer_new_refuses_bad_spec(void **state)
{
    struct err e = {0};
    assert_null(peer_new("-F", NULL, &e));
    assert_int_equal(e.code, ERR_USAGE);
    peer_free(NULL);
    assert_string_equal(peer_state_name(PEER_AUTHENTICATING), "authenticating");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_parses_alias_user_host_port),
        cmocka_unit_test(test_spec_parses_ipv6_with_and_without_port),
        cmocka_unit_test(test_spec_refuses_garbage),
        cmocka_unit_test_setup_teardown(test_resolve_applies_explicit_config_file, setup_home, teardown_home),
        cmocka_unit_test_setup_teardown(test_resolve_spec_user_and_port_win_over_config, setup_home, teardown_home),
        cmocka_unit_test_setup_teardown(test_resolve_reads_home_ssh_config_by_default, setup_home, teardown_home),
        cmocka_unit_test_setup_teardown(test_resolve_known_hosts_flag_and_env_override_config, setup_home, teardown_home),
        cmocka_unit_test_setup_teardown(test_resolve_missing_config_file_is_an_error, setup_home, teardown_home),
        cmocka_unit_test(test_peer_new_refuses_bad_spec),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
