/* Fuzz target: ssh config resolution of a peer spec (remote/; fuzz_remote_spec does
 * the spec grammar and quoting alone).  The first line
 * of the input is a peer spec as typed on the command line ("gw-a",
 * "root@[2001:db8::1]:2222", ...); the rest is an ssh config file (-F) that
 * peer_resolve() applies to it with libssh's own parser, the same path
 * connecting takes.  Nothing is connected.  Invariants: no crash, no leak; a
 * refused spec leaves nothing allocated; an accepted spec has a name, and an
 * ssh one a host that is not empty, has no space or control character and
 * does not start with '-' (it would read as an option); a port is 1..65535.
 * Inputs that could make libssh run a program or read other files (Match exec,
 * Include) are skipped: the target only parses. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "remote/peer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *home;

static void check_spec(const struct peer_spec *s)
{
    if (!s->name)
        abort();
    if (s->port < 0 || s->port > 65535)
        abort();
    if (s->kind == PEER_SSH) {
        if (!s->host || !s->host[0] || s->host[0] == '-')
            abort();
        for (const char *p = s->host; *p; p++)
            if ((unsigned char)*p <= ' ' || *p == 0x7f)
                abort();
    }
}

/* The private HOME made for the run is removed when the process exits. */
static void remove_home(void)
{
    if (!home)
        return;
    char path[512];
    snprintf(path, sizeof path, "%s/config", home);
    unlink(path);
    rmdir(home);
    free(home);
    home = NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 16384 || memchr(data, '\0', size))
        return 0;
    if (!home) {
        char tmpl[] = "/tmp/fuzz_ssh_config.XXXXXX";
        if (!mkdtemp(tmpl))
            abort();
        home = strdup(tmpl);
        if (!home)
            abort();
        atexit(remove_home);
        setenv("HOME", home, 1);
        unsetenv("TUNNELSCOPE_SSH_CONFIG");
        unsetenv("TUNNELSCOPE_KNOWN_HOSTS");
    }
    const char *nl = memchr(data, '\n', size);
    size_t speclen = nl ? (size_t)(nl - (const char *)data) : size;
    char *spec = strndup((const char *)data, speclen);
    if (!spec)
        return 0;
    struct err e = {0};
    struct peer_spec s;
    memset(&s, 0x5a, sizeof s);
    if (peer_spec_parse(spec, &s, &e) != 0) {
        if (!e.msg[0])
            abort();
        free(spec);
        return 0;
    }
    check_spec(&s);
    size_t cfglen = nl ? size - speclen - 1 : 0;
    char *cfg = strndup(nl ? nl + 1 : "", cfglen);
    if (cfg && s.kind == PEER_SSH && !strcasestr(cfg, "exec") && !strcasestr(cfg, "include")) {
        char path[512];
        snprintf(path, sizeof path, "%s/config", home);
        FILE *f = fopen(path, "w");
        if (!f)
            abort();
        fwrite(cfg, 1, cfglen, f);
        fclose(f);
        struct peer_opts o = {.ssh_config = path};
        struct peer_resolved r;
        if (peer_resolve(&s, &o, &r, &e) == 0) {
            if (r.port < 0 || r.port > 65535 || !r.known_hosts)
                abort();
            peer_resolved_clear(&r);
        } else if (!e.msg[0]) {
            abort();
        }
    }
    free(cfg);
    peer_spec_clear(&s);
    free(spec);
    return 0;
}
