/* Peers and commands: the state machines shared by both transports, the SSH
 * transport (libssh, non-blocking, one channel per command) and the poll-loop
 * helpers.  The local transport lives in peer_local.c. */
#include "remote/peer.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libssh/callbacks.h>
#include <libssh/libssh.h>

#include "remote/peer_impl.h"
#include "remote/shquote.h"

#define CONNECT_TIMEOUT_DEFAULT_S 15
#define LIMIT_GRACE_MS 5000     /* our own deadline past the peer's timeout(1) */
#define STOP_GRACE_MS 3000      /* after a stop, wait this long for the channel to close */
#define DRAIN_MAX 256           /* dopoll rounds per dispatch, a bound against livelock */
#define MAX_OUTPUT_DEFAULT ((size_t)64 << 20)
#define STREAM_ERR_KEEP 4096

/* ---- small helpers ------------------------------------------------------ */

int64_t peer_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Debug log, only when asked: $TUNNELSCOPE_DEBUG names a file that gets one
 * line per event (opened and closed each time: no global state). */
static void dbg(const char *who, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void dbg(const char *who, const char *fmt, ...)
{
    const char *path = getenv("TUNNELSCOPE_DEBUG");
    if (!path || !*path)
        return;
    /* owner-only, never through a symlink planted at that path */
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    FILE *f = fd >= 0 ? fdopen(fd, "a") : NULL;
    if (!f) {
        if (fd >= 0)
            close(fd);
        return;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    fprintf(f, "%lld.%06ld %s: ", (long long)ts.tv_sec, ts.tv_nsec / 1000, who ? who : "-");
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fputc('\n', f);
    fclose(f);
}

static char *xstrdup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* ---- peer specs --------------------------------------------------------- */

static int spec_bad_char(const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c <= ' ' || c == 0x7f || c == '\'' || c == '"' || c == '\\' || c == '`' || c == '$' ||
            c == ';' || c == '|' || c == '&' || c == '<' || c == '>')
            return 1;
    }
    return 0;
}

static int parse_port(const char *s, int *port)
{
    if (!*s || strlen(s) > 5)
        return -1;
    int v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (*s - '0');
    }
    if (v < 1 || v > 65535)
        return -1;
    *port = v;
    return 0;
}

int peer_spec_parse(const char *text, struct peer_spec *out, struct err *e)
{
    memset(out, 0, sizeof *out);
    if (!text || !*text)
        return err_set(e, ERR_USAGE, "empty peer name");
    if (strlen(text) > 255)
        return err_set(e, ERR_USAGE, "peer name too long");
    if (text[0] == '-')
        return err_set(e, ERR_USAGE, "peer '%s' starts with '-' (an option?)", text);
    if (spec_bad_char(text))
        return err_set(e, ERR_USAGE, "peer '%s' holds a space, quote or shell character", text);
    out->name = strdup(text);
    if (!out->name)
        return err_set(e, ERR_INTERNAL, "out of memory");
    if (!strcmp(text, "local")) {
        out->kind = PEER_LOCAL;
        return 0;
    }
    out->kind = PEER_SSH;
    char *tmp = strdup(text);
    if (!tmp) {
        peer_spec_clear(out);
        return err_set(e, ERR_INTERNAL, "out of memory");
    }
    char *host = tmp;
    char *at = strrchr(tmp, '@');
    if (at) {
        *at = '\0';
        if (!*tmp || strchr(tmp, '@') || strchr(tmp, ':') || strchr(tmp, '[')) {
            err_set(e, ERR_USAGE, "peer '%s': bad user name", text);
            goto fail;
        }
        out->user = strdup(tmp);
        host = at + 1;
    }
    char *portstr = NULL;
    if (host[0] == '[') {
        char *close = strchr(host, ']');
        if (!close || close == host + 1) {
            err_set(e, ERR_USAGE, "peer '%s': unbalanced '[' in the address", text);
            goto fail;
        }
        *close = '\0';
        if (close[1] == ':')
            portstr = close + 2;
        else if (close[1] != '\0') {
            err_set(e, ERR_USAGE, "peer '%s': garbage after ']'", text);
            goto fail;
        } else {
            err_set(e, ERR_USAGE, "peer '%s': '[address]' needs ':port' (or drop the brackets)", text);
            goto fail;
        }
        host++;
        if (strchr(host, '[')) {
            err_set(e, ERR_USAGE, "peer '%s': unexpected bracket", text);
            goto fail;
        }
        if (!strchr(host, ':')) {
            err_set(e, ERR_USAGE, "peer '%s': brackets are for IPv6 addresses", text);
            goto fail;
        }
    } else {
        char *colon = strchr(host, ':');
        if (colon && strchr(colon + 1, ':')) {
            /* a bare IPv6 address: no port possible */
        } else if (colon) {
            *colon = '\0';
            portstr = colon + 1;
        }
        if (strchr(host, '[') || strchr(host, ']')) {
            err_set(e, ERR_USAGE, "peer '%s': unexpected bracket", text);
            goto fail;
        }
    }
    if (!*host) {
        err_set(e, ERR_USAGE, "peer '%s': no host", text);
        goto fail;
    }
    if (host[0] == '-') {
        err_set(e, ERR_USAGE, "peer '%s': host starts with '-'", text);
        goto fail;
    }
    if (portstr && parse_port(portstr, &out->port) != 0) {
        err_set(e, ERR_USAGE, "peer '%s': port must be 1..65535", text);
        goto fail;
    }
    out->host = strdup(host);
    if (!out->host || (at && !out->user)) {
        err_set(e, ERR_INTERNAL, "out of memory");
        goto fail;
    }
    free(tmp);
    return 0;
fail:
    free(tmp);
    peer_spec_clear(out);
    return -1;
}

void peer_spec_clear(struct peer_spec *s)
{
    if (!s)
        return;
    free(s->name);
    free(s->user);
    free(s->host);
    memset(s, 0, sizeof *s);
}

/* ---- ssh options -------------------------------------------------------- */

static const char *opt_ssh_config(const struct peer_opts *o)
{
    if (o && o->ssh_config)
        return o->ssh_config;
    const char *env = getenv("TUNNELSCOPE_SSH_CONFIG");
    return env && *env ? env : NULL;
}

static const char *opt_known_hosts(const struct peer_opts *o)
{
    if (o && o->known_hosts)
        return o->known_hosts;
    const char *env = getenv("TUNNELSCOPE_KNOWN_HOSTS");
    return env && *env ? env : NULL;
}

/* "%d/known_hosts" and "~/x" as libssh would expand them, for display and for
 * our own checks.  Returns a new string. */
static char *expand_path(const char *p, const char *sshdir)
{
    struct buf b = BUF_INIT;
    const char *home = getenv("HOME");
    if (p[0] == '~' && p[1] == '/' && home) {
        buf_puts(&b, home);
        p++;
    }
    for (; *p; p++) {
        if (p[0] == '%' && p[1] == 'd') {
            buf_puts(&b, sshdir);
            p++;
        } else {
            buf_append(&b, p, 1);
        }
    }
    return buf_take(&b);
}

/* The user and port the peer spec names (user@host:port).  0 / -1. */
static int spec_user_port_apply(ssh_session s, const struct peer_spec *spec)
{
    if (spec->user && ssh_options_set(s, SSH_OPTIONS_USER, spec->user) < 0)
        return -1;
    if (spec->port) {
        unsigned int port = (unsigned int)spec->port;
        if (ssh_options_set(s, SSH_OPTIONS_PORT, &port) < 0)
            return -1;
    }
    return 0;
}

/* Makes a libssh session for spec with the ssh config applied.  The session is
 * blocking-agnostic (the caller sets non-blocking).  NULL on error. */
static ssh_session session_setup(const struct peer_spec *spec, const struct peer_opts *o,
                                 char **sshdir_out, struct err *e)
{
    ssh_session s = ssh_new();
    if (!s) {
        err_set(e, ERR_INTERNAL, "out of memory");
        return NULL;
    }
    /* libssh finds ~/.ssh through the password database; honour $HOME like
     * the rest of tunnelscope does (the lab and the tests rely on it). */
    struct buf sshdir = BUF_INIT;
    const char *home = getenv("HOME");
    if (home && *home)
        buf_printf(&sshdir, "%s/.ssh", home);
    if (sshdir.data && ssh_options_set(s, SSH_OPTIONS_SSH_DIR, sshdir.data) < 0)
        goto opt_fail;
    if (ssh_options_set(s, SSH_OPTIONS_HOST, spec->host) < 0)
        goto opt_fail;
    /* Set before the config too, so that `Match user` and `%r` see it. */
    if (spec_user_port_apply(s, spec) < 0)
        goto opt_fail;
    const char *cfg = opt_ssh_config(o);
    if (cfg) {
        if (access(cfg, R_OK) != 0) {
            err_set(e, ERR_USAGE, "cannot read ssh config %s: %s", cfg, strerror(errno));
            goto fail;
        }
        if (ssh_options_parse_config(s, cfg) < 0) {
            err_set(e, ERR_PARSE, "ssh config %s: %s", cfg, ssh_get_error(s));
            goto fail;
        }
    } else if (ssh_options_parse_config(s, NULL) < 0) {
        err_set(e, ERR_PARSE, "ssh config: %s", ssh_get_error(s));
        goto fail;
    }
    /* What the spec says wins over the config, as with ssh(1); libssh 0.10
     * lets a config Port override an earlier SSH_OPTIONS_PORT. */
    if (spec_user_port_apply(s, spec) < 0)
        goto opt_fail;
    const char *kh = opt_known_hosts(o);
    if (kh && ssh_options_set(s, SSH_OPTIONS_KNOWNHOSTS, kh) < 0)
        goto opt_fail;
    if (sshdir_out) {
        if (!sshdir.data) {
            char *d = NULL;
            if (ssh_options_get(s, SSH_OPTIONS_SSH_DIR, &d) == SSH_OK && d) {
                buf_puts(&sshdir, d);
                ssh_string_free_char(d);
            }
        }
        *sshdir_out = buf_take(&sshdir);
    } else {
        buf_free(&sshdir);
    }
    return s;
opt_fail:
    err_set(e, ERR_USAGE, "peer %s: %s", spec->name, ssh_get_error(s));
fail:
    buf_free(&sshdir);
    ssh_free(s);
    return NULL;
}

static char *opt_get(ssh_session s, enum ssh_options_e which)
{
    char *v = NULL;
    if (ssh_options_get(s, which, &v) != SSH_OK || !v)
        return NULL;
    char *r = strdup(v);
    ssh_string_free_char(v);
    return r;
}

static char *known_hosts_of(ssh_session s, const char *sshdir)
{
    char *raw = opt_get(s, SSH_OPTIONS_KNOWNHOSTS);
    char *r = expand_path(raw ? raw : "%d/known_hosts", sshdir ? sshdir : "");
    free(raw);
    return r;
}

int peer_resolve(const struct peer_spec *spec, const struct peer_opts *opts,
                 struct peer_resolved *out, struct err *e)
{
    memset(out, 0, sizeof *out);
    if (spec->kind == PEER_LOCAL)
        return 0;
    char *sshdir = NULL;
    ssh_session s = session_setup(spec, opts, &sshdir, e);
    if (!s)
        return -1;
    out->host = opt_get(s, SSH_OPTIONS_HOST);
    out->user = opt_get(s, SSH_OPTIONS_USER);
    unsigned int port = 22;
    if (ssh_options_get_port(s, &port) < 0)
        port = 22;
    out->port = (int)port;
    char *id = opt_get(s, SSH_OPTIONS_IDENTITY);
    if (id) {
        out->identity = expand_path(id, sshdir ? sshdir : "");
        free(id);
    }
    out->known_hosts = known_hosts_of(s, sshdir);
    out->proxy_command = opt_get(s, SSH_OPTIONS_PROXYCOMMAND);
    free(sshdir);
    ssh_free(s);
    return 0;
}

void peer_resolved_clear(struct peer_resolved *r)
{
    if (!r)
        return;
    free(r->host);
    free(r->user);
    free(r->identity);
    free(r->known_hosts);
    free(r->proxy_command);
    memset(r, 0, sizeof *r);
}

/* ---- command lines ------------------------------------------------------ */

/* Runs as `sh -c WATCH tunnelscope CMD` under timeout(1): CMD in the
 * background, stdin (the channel's, or the local pipe) watched on fd 3.  When
 * it reaches EOF (rcmd_stop(), the channel closed, the console killed and its
 * connection gone) the whole process group, timeout(1) included, is sent
 * SIGTERM.  This does not depend on SSH "signal" requests, which many sshd
 * refuse. */
static const char WATCH_SCRIPT[] =
    "exec 3<&0 </dev/null; "
    "sh -c \"$1\" 3<&- & c=$!; "
    "(read -r x <&3; kill -TERM 0) & w=$!; "
    "wait $c; s=$?; kill $w 2>/dev/null; exit $s";

int rcmd_build_line(const struct rcmd_opts *o, struct buf *out, struct err *e)
{
    if (!o->command || !*o->command)
        return err_set(e, ERR_USAGE, "empty command");
    unsigned limit = o->time_limit_s ? o->time_limit_s : RCMD_DEFAULT_LIMIT_S;
    if (limit > 7u * 24 * 3600)
        return err_set(e, ERR_USAGE, "time limit %u s is too long", limit);
    if (o->sudo && buf_puts(out, "sudo -n ") != 0)
        return err_set(e, ERR_INTERNAL, "out of memory");
    if (buf_printf(out, "timeout -k 2 %u sh -c ", limit) != 0)
        return err_set(e, ERR_INTERNAL, "out of memory");
    if (shquote_append(out, WATCH_SCRIPT, strlen(WATCH_SCRIPT), e) != 0 ||
        buf_puts(out, " tunnelscope ") != 0)
        return err_set(e, ERR_INTERNAL, "out of memory");
    return shquote_append(out, o->command, strlen(o->command), e);
}

/* ---- peers: common ------------------------------------------------------ */

struct peer *peer_new(const char *spec, const struct peer_opts *opts, struct err *e)
{
    struct peer *p = calloc(1, sizeof *p);
    if (!p) {
        err_set(e, ERR_INTERNAL, "out of memory");
        return NULL;
    }
    if (peer_spec_parse(spec, &p->spec, e) != 0) {
        free(p);
        return NULL;
    }
    if (opts)
        p->opts = *opts;
    p->opts.ssh_config = NULL;
    p->opts.known_hosts = NULL;
    const char *cfg = opt_ssh_config(opts);
    const char *kh = opt_known_hosts(opts);
    p->ssh_config = xstrdup_or_null(cfg);
    p->known_hosts_opt = xstrdup_or_null(kh);
    if ((cfg && !p->ssh_config) || (kh && !p->known_hosts_opt)) {
        peer_free(p);
        err_set(e, ERR_INTERNAL, "out of memory");
        return NULL;
    }
    p->opts.ssh_config = p->ssh_config;
    p->opts.known_hosts = p->known_hosts_opt;
    if (p->opts.connect_timeout_s <= 0)
        p->opts.connect_timeout_s = CONNECT_TIMEOUT_DEFAULT_S;
    p->state = PEER_IDLE;
    return p;
}

const char *peer_name(const struct peer *p) { return p->spec.name; }
enum peer_kind peer_kind(const struct peer *p) { return p->spec.kind; }
enum peer_state peer_state(const struct peer *p) { return p->state; }
const struct err *peer_error(const struct peer *p) { return &p->err; }
const char *peer_hostkey_fingerprint(const struct peer *p) { return p->fingerprint; }
const char *peer_known_hosts(const struct peer *p) { return p->known_hosts_file; }

int peer_trust_hostkey(struct peer *p, const char *fingerprint, struct err *e)
{
    if (!fingerprint || strncmp(fingerprint, "SHA256:", 7) != 0)
        return err_set(e, ERR_USAGE, "not a SHA256 fingerprint");
    char *fp = strdup(fingerprint);
    if (!fp)
        return err_set(e, ERR_INTERNAL, "out of memory");
    free(p->trusted_fp);
    p->trusted_fp = fp;
    return 0;
}

const char *peer_state_name(enum peer_state s)
{
    switch (s) {
    case PEER_IDLE: return "idle";
    case PEER_CONNECTING: return "connecting";
    case PEER_AUTHENTICATING: return "authenticating";
    case PEER_READY: return "ready";
    case PEER_CLOSED: return "closed";
    case PEER_FAILED: return "failed";
    }
    return "unknown";
}

static void cmd_unlink(struct rcmd *c)
{
    struct peer *p = c->peer;
    if (!p)
        return;
    for (struct rcmd **pp = &p->cmds; *pp; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    }
    c->next = NULL;
    c->peer = NULL;
}

static int contains(const char *hay, const char *needle)
{
    return hay && strstr(hay, needle) != NULL;
}

/* Reads what the end of a command means: sudo refused, tool missing, time
 * limit reached. */
static void classify_end(struct rcmd *c)
{
    struct rcmd_result *r = &c->res;
    if (r->err.code != ERR_NONE)
        return;
    const char *se = r->err_out.data ? r->err_out.data : "";
    unsigned limit = c->limit_s;
    int64_t elapsed_ms = c->end_mono - c->start_mono;
    if ((r->exit_status == 124 || r->exit_status == 137) &&
        elapsed_ms + 1000 >= (int64_t)limit * 1000) {
        r->timed_out = 1;
        r->exit_status = -1;
        err_set(&r->err, ERR_TIMEOUT, "time limit of %u s reached on %s", limit,
                c->peer_name);
        return;
    }
    /* sudo's own refusals (1.9 prints "root is not in the sudoers file."
     * without its "sudo: " prefix), on the first line of stderr */
    char first[256];
    snprintf(first, sizeof first, "%.*s", (int)strcspn(se, "\n"), se);
    if (c->sudo && r->exit_status == 1 &&
        (contains(first, "password is required") || contains(first, "not in the sudoers") ||
         contains(first, "not allowed to") || contains(first, "may not run sudo") ||
         contains(first, "terminal is required") || contains(first, "no tty present") ||
         contains(first, "Sorry, user"))) {
        size_t n = strcspn(se, "\n");
        err_set(&r->err, ERR_SUDO, "sudo refused on %s: %.*s", c->peer_name, (int)(n > 180 ? 180 : n),
                se);
        return;
    }
    if (r->exit_status == 127) {
        size_t n = strcspn(se, "\n");
        err_set(&r->err, ERR_NOT_FOUND, "command not found on %s: %.*s", c->peer_name,
                (int)(n > 180 ? 180 : n), se);
    }
}

void peer_cmd_finish(struct rcmd *c, int code, const char *msg)
{
    if (c->state == RCMD_DONE)
        return;
    c->state = RCMD_DONE;
    clock_gettime(CLOCK_REALTIME, &c->res.ended);
    c->end_mono = peer_now_ms();
    if (!c->res.started.tv_sec)
        c->res.started = c->res.ended;
    if (!c->start_mono)
        c->start_mono = c->end_mono;
    if (code != ERR_NONE) {
        if (c->res.err.code == ERR_NONE)
            err_set(&c->res.err, code, "%s", msg);
        if (code == ERR_TIMEOUT)
            c->res.timed_out = 1;
    } else {
        classify_end(c);
    }
    if (c->o.on_done)
        c->o.on_done(c, c->o.ud);
}

/* Delivers output to the stream callback or the collecting buffers. */
void peer_cmd_output(struct rcmd *c, int is_stderr, const char *data, size_t len)
{
    if (c->state == RCMD_DONE || len == 0)
        return;
    struct buf *b = is_stderr ? &c->res.err_out : &c->res.out;
    if (c->o.on_data) {
        if (is_stderr && c->res.err_out.len < STREAM_ERR_KEEP) {
            size_t room = STREAM_ERR_KEEP - c->res.err_out.len;
            buf_append(&c->res.err_out, data, len < room ? len : room);
        }
        c->o.on_data(c, is_stderr, data, len, c->o.ud);
        return;
    }
    size_t max = c->o.max_output ? c->o.max_output : MAX_OUTPUT_DEFAULT;
    if (b->len >= max) {
        c->res.truncated = 1;
        return;
    }
    size_t room = max - b->len;
    if (len > room) {
        len = room;
        c->res.truncated = 1;
    }
    if (buf_append(b, data, len) != 0)
        c->res.truncated = 1;
}

/* Every command not yet done ends with code/msg. */
void peer_fail_cmds(struct peer *p, int code, const char *msg)
{
    struct rcmd *c = p->cmds;
    while (c) {
        struct rcmd *next = c->next;
        if (c->state != RCMD_DONE) {
            if (p->spec.kind == PEER_SSH)
                peer_ssh_release(c, 1);
            else
                peer_local_release(c);
            peer_cmd_finish(c, code, msg);
        }
        c = next;
    }
}

static void peer_set_failed(struct peer *p, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void peer_set_failed(struct peer *p, int code, const char *fmt, ...)
{
    char msg[sizeof p->err.msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    err_set(&p->err, code, "%s", msg);
    dbg(p->spec.name, "failed: %s", msg);
    p->state = PEER_FAILED;
    peer_fail_cmds(p, code, msg); /* releases the channels before the session goes */
    peer_ssh_teardown(p, 0);
}

void peer_close(struct peer *p)
{
    if (!p)
        return;
    if (p->spec.kind == PEER_LOCAL) {
        peer_fail_cmds(p, ERR_DISCONNECTED, "peer closed");
    } else {
        peer_fail_cmds(p, ERR_DISCONNECTED, "peer closed");
        peer_ssh_teardown(p, 1);
    }
    p->state = PEER_CLOSED;
}

void peer_free(struct peer *p)
{
    if (!p)
        return;
    peer_close(p);
    while (p->cmds)
        cmd_unlink(p->cmds);
    peer_spec_clear(&p->spec);
    free(p->ssh_config);
    free(p->known_hosts_opt);
    free(p->fingerprint);
    free(p->trusted_fp);
    free(p->known_hosts_file);
    free(p);
}

int peer_busy(const struct peer *p)
{
    if (p->state == PEER_CONNECTING || p->state == PEER_AUTHENTICATING)
        return 1;
    for (const struct rcmd *c = p->cmds; c; c = c->next)
        if (c->state != RCMD_DONE)
            return 1;
    return 0;
}

/* ---- SSH transport ------------------------------------------------------ */

static int auth_prompt(const char *prompt, char *buf, size_t len, int echo, int verify,
                       void *userdata)
{
    struct peer *p = userdata;
    if (!p->opts.interactive || !isatty(STDIN_FILENO))
        return -1;
    char full[256];
    snprintf(full, sizeof full, "%s: %s", p->spec.name, prompt);
    return ssh_getpass(full, buf, len, echo, verify);
}

void peer_ssh_teardown(struct peer *p, int polite)
{
    if (p->event) {
        if (p->s)
            ssh_event_remove_session(p->event, p->s);
        ssh_event_free(p->event);
        p->event = NULL;
    }
    if (p->s) {
        if (polite && ssh_is_connected(p->s))
            ssh_disconnect(p->s);
        ssh_free(p->s);
        p->s = NULL;
    }
}

static int ssh_start_connect(struct peer *p, struct err *e)
{
    char *sshdir = NULL;
    p->s = session_setup(&p->spec, &p->opts, &sshdir, e);
    if (!p->s)
        return -1;
    free(p->known_hosts_file);
    p->known_hosts_file = known_hosts_of(p->s, sshdir);
    free(sshdir);
    /* libssh reads the config again at connect time unless told not to; it
     * was read above (and -F must replace it, as with ssh -F). */
    int off = 0;
    ssh_options_set(p->s, SSH_OPTIONS_PROCESS_CONFIG, &off);
    ssh_callbacks_init(&p->scb);
    p->scb.userdata = p;
    p->scb.auth_function = auth_prompt;
    ssh_set_callbacks(p->s, &p->scb);
    ssh_set_blocking(p->s, 0);
    p->auth_stage = 0;
    p->deadline = peer_now_ms() + (int64_t)p->opts.connect_timeout_s * 1000;
    p->state = PEER_CONNECTING;
    return 0;
}

static void fail_from_connect_error(struct peer *p)
{
    const char *m = ssh_get_error(p->s);
    char host[128];
    snprintf(host, sizeof host, "%s", p->spec.host);
    if (contains(m, "refused"))
        peer_set_failed(p, ERR_CONNECT, "%s: connection refused (%s)", p->spec.name, m);
    else if (contains(m, "resolve") || contains(m, "Name or service"))
        peer_set_failed(p, ERR_CONNECT, "%s: cannot resolve host name (%s)", p->spec.name, m);
    else if (contains(m, "unreachable") || contains(m, "No route"))
        peer_set_failed(p, ERR_CONNECT, "%s: host unreachable (%s)", p->spec.name, m);
    else if (contains(m, "imeout") || contains(m, "timed out"))
        peer_set_failed(p, ERR_TIMEOUT, "%s: timed out connecting (%s)", p->spec.name, m);
    else
        peer_set_failed(p, ERR_CONNECT, "%s: cannot connect: %s", p->spec.name, m);
}

/* 1 when known_hosts file `path` has a "@revoked" line for this key (any
 * host pattern, as OpenSSH reads it), 0 when not or unreadable.  libssh 0.10
 * does not read markers: without this a revoked key would look unknown and
 * --accept-new-hostkey would take it. */
static int hostkey_revoked_in(const char *path, const char *b64)
{
    FILE *f = path ? fopen(path, "re") : NULL;
    if (!f)
        return 0;
    char *line = NULL;
    size_t cap = 0;
    int hit = 0;
    while (!hit && getline(&line, &cap, f) > 0) {
        char *save = NULL;
        char *marker = strtok_r(line, " \t\r\n", &save);
        if (!marker || strcmp(marker, "@revoked"))
            continue;
        char *hosts = strtok_r(NULL, " \t\r\n", &save);
        char *type = hosts ? strtok_r(NULL, " \t\r\n", &save) : NULL;
        char *key = type ? strtok_r(NULL, " \t\r\n", &save) : NULL;
        hit = key && !strcmp(key, b64);
    }
    free(line);
    fclose(f);
    return hit;
}

static int hostkey_revoked(struct peer *p, ssh_key key)
{
    char *b64 = NULL;
    if (ssh_pki_export_pubkey_base64(key, &b64) != SSH_OK || !b64)
        return 0;
    int r = hostkey_revoked_in(p->known_hosts_file, b64);
    char *global = opt_get(p->s, SSH_OPTIONS_GLOBAL_KNOWNHOSTS);
    if (!r && global)
        r = hostkey_revoked_in(global, b64);
    free(global);
    ssh_string_free_char(b64);
    return r;
}

/* 0 when the host key is known and matches (or was accepted), else -1 with
 * the peer FAILED. */
static int ssh_check_hostkey(struct peer *p)
{
    ssh_key key = NULL;
    if (ssh_get_server_publickey(p->s, &key) != SSH_OK || !key) {
        peer_set_failed(p, ERR_CONNECT, "%s: no host key from the server", p->spec.name);
        return -1;
    }
    unsigned char *hash = NULL;
    size_t hlen = 0;
    char *fp = NULL;
    if (ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash, &hlen) == 0) {
        fp = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, hlen);
        ssh_clean_pubkey_hash(&hash);
    }
    const char *ktype = ssh_key_type_to_char(ssh_key_type(key));
    free(p->fingerprint);
    p->fingerprint = fp ? strdup(fp) : NULL;
    char desc[200];
    snprintf(desc, sizeof desc, "%s key %s", ktype ? ktype : "?", fp ? fp : "(no fingerprint)");
    if (fp)
        ssh_string_free_char(fp);
    int revoked = hostkey_revoked(p, key);
    ssh_key_free(key);
    if (revoked) {
        peer_set_failed(p, ERR_HOSTKEY_CHANGED,
                        "%s: HOST KEY REVOKED: the server offers %s, marked @revoked in the known "
                        "hosts; refused", p->spec.name, desc);
        return -1;
    }

    enum ssh_known_hosts_e k = ssh_session_is_known_server(p->s);
    switch (k) {
    case SSH_KNOWN_HOSTS_OK:
        return 0;
    case SSH_KNOWN_HOSTS_CHANGED:
        peer_set_failed(p, ERR_HOSTKEY_CHANGED,
                        "%s: HOST KEY CHANGED: the server offers %s, which differs from %s; "
                        "someone may be intercepting, refused", p->spec.name, desc,
                        p->known_hosts_file);
        return -1;
    case SSH_KNOWN_HOSTS_OTHER:
        peer_set_failed(p, ERR_HOSTKEY_CHANGED,
                        "%s: HOST KEY CHANGED: %s has a key of another type for this host, the "
                        "server offers %s; refused", p->spec.name, p->known_hosts_file, desc);
        return -1;
    case SSH_KNOWN_HOSTS_NOT_FOUND:
    case SSH_KNOWN_HOSTS_UNKNOWN:
        if (p->opts.accept_new_hostkey ||
            (p->trusted_fp && p->fingerprint && !strcmp(p->trusted_fp, p->fingerprint))) {
            if (ssh_session_update_known_hosts(p->s) != SSH_OK) {
                peer_set_failed(p, ERR_IO, "%s: cannot write %s: %s", p->spec.name,
                                p->known_hosts_file, ssh_get_error(p->s));
                return -1;
            }
            return 0;
        }
        peer_set_failed(p, ERR_HOSTKEY_UNKNOWN, "%s: unknown host key, %s (not in %s)",
                        p->spec.name, desc, p->known_hosts_file);
        return -1;
    case SSH_KNOWN_HOSTS_ERROR:
    default:
        peer_set_failed(p, ERR_IO, "%s: cannot check the host key against %s: %s", p->spec.name,
                        p->known_hosts_file, ssh_get_error(p->s));
        return -1;
    }
}

static void methods_text(int m, char *out, size_t n)
{
    out[0] = '\0';
    struct { int bit; const char *name; } names[] = {
        {SSH_AUTH_METHOD_PUBLICKEY, "publickey"},
        {SSH_AUTH_METHOD_PASSWORD, "password"},
        {SSH_AUTH_METHOD_INTERACTIVE, "keyboard-interactive"},
        {SSH_AUTH_METHOD_HOSTBASED, "hostbased"},
        {SSH_AUTH_METHOD_GSSAPI_MIC, "gssapi-with-mic"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (!(m & names[i].bit))
            continue;
        size_t l = strlen(out);
        snprintf(out + l, n - l, "%s%s", l ? ", " : "", names[i].name);
    }
    if (!out[0])
        snprintf(out, n, "none");
}

/* A link that dies silently (no FIN, no RST: a gateway powered off, a
 * firewall dropping) would keep a READY peer "connected" for as long as TCP
 * retransmits (many minutes).  TCP keepalives and a user timeout make the
 * kernel give up after about KEEPALIVE_IDLE_S + KEEPALIVE_INTVL_S *
 * KEEPALIVE_CNT seconds; the socket error then reaches libssh and the peer
 * goes to FAILED/ERR_DISCONNECTED.  Does nothing on a ProxyCommand's socket. */
#define KEEPALIVE_IDLE_S 10
#define KEEPALIVE_INTVL_S 5
#define KEEPALIVE_CNT 3

static void tcp_keepalive(socket_t fd)
{
    int on = 1, idle = KEEPALIVE_IDLE_S, intvl = KEEPALIVE_INTVL_S, cnt = KEEPALIVE_CNT;
    unsigned int user_timeout_ms = (KEEPALIVE_IDLE_S + KEEPALIVE_INTVL_S * KEEPALIVE_CNT) * 1000u;
    if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on) != 0)
        return; /* not a socket we can tune */
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
    setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout_ms, sizeof user_timeout_ms);
}

static void ssh_become_ready(struct peer *p)
{
    tcp_keepalive(ssh_get_fd(p->s));
    p->event = ssh_event_new();
    if (!p->event || ssh_event_add_session(p->event, p->s) != SSH_OK) {
        peer_set_failed(p, ERR_INTERNAL, "%s: cannot watch the session", p->spec.name);
        return;
    }
    p->state = PEER_READY;
    err_clear(&p->err);
    dbg(p->spec.name, "ready");
}

static void ssh_auth_step(struct peer *p)
{
    int rc;
    if (p->auth_stage == 0) {
        rc = ssh_userauth_none(p->s, NULL);
        if (rc == SSH_AUTH_AGAIN)
            return;
        if (rc == SSH_AUTH_SUCCESS) {
            ssh_become_ready(p);
            return;
        }
        if (rc == SSH_AUTH_ERROR) {
            peer_set_failed(p, ERR_AUTH, "%s: authentication failed: %s", p->spec.name,
                            ssh_get_error(p->s));
            return;
        }
        p->methods = ssh_userauth_list(p->s, NULL);
        if (!(p->methods & SSH_AUTH_METHOD_PUBLICKEY)) {
            char m[128];
            methods_text(p->methods, m, sizeof m);
            peer_set_failed(p, ERR_AUTH,
                            "%s: authentication failed: the server offers %s, tunnelscope "
                            "uses keys (agent or key files)", p->spec.name, m);
            return;
        }
        p->auth_stage = 1;
    }
    if (p->auth_stage == 1) {
        rc = ssh_userauth_publickey_auto(p->s, NULL, NULL);
        if (rc == SSH_AUTH_AGAIN)
            return;
        if (rc == SSH_AUTH_SUCCESS) {
            ssh_become_ready(p);
            return;
        }
        char m[128];
        methods_text(p->methods, m, sizeof m);
        char *user = opt_get(p->s, SSH_OPTIONS_USER);
        if (rc == SSH_AUTH_PARTIAL)
            peer_set_failed(p, ERR_AUTH,
                            "%s: authentication incomplete: the key was accepted but the server "
                            "wants more (offers %s)", p->spec.name, m);
        else if (rc == SSH_AUTH_ERROR)
            peer_set_failed(p, ERR_AUTH, "%s: authentication failed for user %s: %s (server offers %s)",
                            p->spec.name, user ? user : "?", ssh_get_error(p->s), m);
        else
            peer_set_failed(p, ERR_AUTH,
                            "%s: authentication failed for user %s: no key from the agent or "
                            "the key files was accepted (server offers %s)",
                            p->spec.name, user ? user : "?", m);
        free(user);
    }
}

/* Connect / host key / auth, as far as it goes without blocking. */
static void ssh_handshake_step(struct peer *p)
{
    if (p->state == PEER_CONNECTING) {
        int rc = ssh_connect(p->s);
        if (rc == SSH_AGAIN)
            return;
        if (rc != SSH_OK) {
            fail_from_connect_error(p);
            return;
        }
        if (ssh_check_hostkey(p) != 0)
            return;
        dbg(p->spec.name, "host key ok, authenticating");
        p->state = PEER_AUTHENTICATING;
    }
    if (p->state == PEER_AUTHENTICATING)
        ssh_auth_step(p);
}

/* ---- SSH channels ------------------------------------------------------- */

static int ch_data(ssh_session s, ssh_channel ch, void *data, uint32_t len, int is_stderr,
                   void *ud)
{
    struct rcmd *c = ud;
    dbg(c->peer_name, "data %u bytes%s", len, is_stderr ? " (stderr)" : "");
    peer_cmd_output(c, is_stderr, data, len);
    return (int)len;
}

static void ch_exit_status(ssh_session s, ssh_channel ch, int status, void *ud)
{
    struct rcmd *c = ud;
    c->res.exit_status = status;
    c->got_exit = 1;
    dbg(c->peer_name, "exit-status %d", status);
}

static void ch_exit_signal(ssh_session s, ssh_channel ch, const char *sig, int core,
                           const char *errmsg, const char *lang, void *ud)
{
    struct rcmd *c = ud;
    snprintf(c->res.exit_signal, sizeof c->res.exit_signal, "%s", sig ? sig : "?");
    c->res.exit_status = -1;
    c->got_exit = 1;
}

static void ch_eof(ssh_session s, ssh_channel ch, void *ud)
{
    struct rcmd *c = ud;
    c->got_eof = 1;
    dbg(c->peer_name, "eof");
}

static void ch_close(ssh_session s, ssh_channel ch, void *ud)
{
    struct rcmd *c = ud;
    c->got_close = 1;
    dbg(c->peer_name, "close");
}

/* Lets go of the channel; with ask_end, tells the remote process to end
 * first (signal, EOF).  Callbacks are removed so nothing reaches c after. */
void peer_ssh_release(struct rcmd *c, int ask_end)
{
    if (!c->ch)
        return;
    ssh_remove_channel_callbacks(c->ch, &c->cb);
    if (ask_end && c->peer && c->peer->s && ssh_is_connected(c->peer->s) &&
        ssh_channel_is_open(c->ch))
        ssh_channel_send_eof(c->ch); /* the watcher ends the process group */
    ssh_channel_free(c->ch); /* closes it when still open */
    c->ch = NULL;
}

static void ssh_cmd_begin(struct peer *p, struct rcmd *c)
{
    c->ch = ssh_channel_new(p->s);
    if (!c->ch) {
        peer_cmd_finish(c, ERR_INTERNAL, "cannot make a channel");
        return;
    }
    ssh_callbacks_init(&c->cb);
    c->cb.userdata = c;
    c->cb.channel_data_function = ch_data;
    c->cb.channel_exit_status_function = ch_exit_status;
    c->cb.channel_exit_signal_function = ch_exit_signal;
    c->cb.channel_eof_function = ch_eof;
    c->cb.channel_close_function = ch_close;
    ssh_set_channel_callbacks(c->ch, &c->cb);
    c->state = RCMD_STARTING;
}

static void ssh_cmd_step(struct peer *p, struct rcmd *c, int64_t now)
{
    if (c->state == RCMD_STARTING) {
        if (!c->opened) {
            int rc = ssh_channel_open_session(c->ch);
            if (rc == SSH_AGAIN)
                return;
            if (rc != SSH_OK) {
                char msg[200];
                snprintf(msg, sizeof msg, "%s: cannot open a channel: %s", p->spec.name,
                         ssh_get_error(p->s));
                peer_ssh_release(c, 0);
                peer_cmd_finish(c, ERR_CONNECT, msg);
                return;
            }
            c->opened = 1;
        }
        if (!c->res.started.tv_sec) {
            clock_gettime(CLOCK_REALTIME, &c->res.started);
            c->start_mono = now;
            c->deadline = now + (int64_t)c->limit_s * 1000 + LIMIT_GRACE_MS;
        }
        int rc = ssh_channel_request_exec(c->ch, c->line);
        if (rc == SSH_AGAIN)
            return;
        if (rc != SSH_OK) {
            char msg[200];
            snprintf(msg, sizeof msg, "%s: exec request refused: %s", p->spec.name,
                     ssh_get_error(p->s));
            peer_ssh_release(c, 0);
            peer_cmd_finish(c, ERR_CONNECT, msg);
            return;
        }
        c->state = RCMD_RUNNING;
        dbg(p->spec.name, "running: %s", c->command);
    }
    if (c->state != RCMD_RUNNING)
        return;
    if (c->stop_requested && !c->stop_sent) {
        c->stop_sent = 1;
        c->stop_deadline = now + STOP_GRACE_MS;
        ssh_channel_send_eof(c->ch); /* the watcher ends the process group */
    }
    if (c->got_close || (c->got_eof && c->got_exit)) {
        peer_ssh_release(c, 0);
        peer_cmd_finish(c, ERR_NONE, "");
        return;
    }
    if (c->stop_sent && now >= c->stop_deadline) {
        peer_ssh_release(c, 0);
        if (c->stopped_for_limit) {
            char msg[200];
            snprintf(msg, sizeof msg,
                     "time limit of %u s reached on %s (the peer did not end it: link down or "
                     "too slow?)", c->limit_s, c->peer_name);
            peer_cmd_finish(c, ERR_TIMEOUT, msg);
        } else
            peer_cmd_finish(c, ERR_NONE, "");
        return;
    }
    if (!c->stop_sent && now >= c->deadline) {
        c->stop_requested = 1;
        c->stopped_for_limit = 1;
        c->res.timed_out = 1;
        c->stop_sent = 1;
        c->stop_deadline = now + STOP_GRACE_MS;
        ssh_channel_send_eof(c->ch);
    }
}

static void ssh_dispatch(struct peer *p, const struct pollfd *fds, size_t n)
{
    int64_t now = peer_now_ms();
    if (p->state == PEER_CONNECTING || p->state == PEER_AUTHENTICATING) {
        ssh_handshake_step(p);
        if ((p->state == PEER_CONNECTING || p->state == PEER_AUTHENTICATING) &&
            peer_now_ms() >= p->deadline) {
            peer_set_failed(p, ERR_TIMEOUT, "%s: timed out %s after %d s", p->spec.name,
                            p->state == PEER_CONNECTING ? "connecting" : "authenticating",
                            p->opts.connect_timeout_s);
            return;
        }
        if (p->state != PEER_READY)
            return;
    }
    if (p->state != PEER_READY)
        return;
    /* Drain: read and handle every packet available, running the channel
     * callbacks, until libssh has nothing more without waiting. */
    int rc = SSH_OK, rounds = 0;
    for (; rounds < DRAIN_MAX; rounds++) {
        rc = ssh_event_dopoll(p->event, 0);
        if (rc != SSH_OK)
            break;
    }
    dbg(p->spec.name, "dispatch revents=%#x events=%#x drained %d rounds rc=%d", n ? fds[0].revents : 0,
        n ? fds[0].events : 0, rounds, rc);
    int status = ssh_get_status(p->s);
    if (rc == SSH_ERROR || (status & (SSH_CLOSED | SSH_CLOSED_ERROR)) || !ssh_is_connected(p->s)) {
        peer_set_failed(p, ERR_DISCONNECTED, "%s: connection lost (%s)", p->spec.name,
                        ssh_get_error(p->s)[0] ? ssh_get_error(p->s) : "closed by the peer");
        return;
    }
    now = peer_now_ms();
    struct rcmd *c = p->cmds;
    while (c) {
        struct rcmd *next = c->next;
        if (c->state == RCMD_QUEUED)
            ssh_cmd_begin(p, c);
        if (c->state == RCMD_STARTING || c->state == RCMD_RUNNING)
            ssh_cmd_step(p, c, now);
        c = next;
        if (p->state != PEER_READY)
            return;
    }
}

/* ---- peers: loop integration -------------------------------------------- */

int peer_connect(struct peer *p, struct err *e)
{
    switch (p->state) {
    case PEER_CONNECTING:
    case PEER_AUTHENTICATING:
    case PEER_READY:
        return 0;
    default:
        break;
    }
    err_clear(&p->err);
    if (p->spec.kind == PEER_LOCAL) {
        p->state = PEER_READY;
        return 0;
    }
    peer_ssh_teardown(p, 0);
    struct err e2 = {0};
    if (ssh_start_connect(p, &e2) != 0) {
        p->err = e2;
        p->state = PEER_FAILED;
        peer_fail_cmds(p, e2.code, e2.msg);
        if (e)
            *e = e2;
        return -1;
    }
    dbg(p->spec.name, "connecting");
    ssh_handshake_step(p); /* starts the TCP connect */
    if (p->state == PEER_FAILED) {
        if (e)
            *e = p->err;
        return -1;
    }
    return 0;
}

size_t peer_pollfds(struct peer *p, struct pollfd *fds, size_t max)
{
    if (p->spec.kind == PEER_LOCAL)
        return peer_local_pollfds(p, fds, max);
    if (!p->s || (p->state != PEER_CONNECTING && p->state != PEER_AUTHENTICATING &&
                  p->state != PEER_READY))
        return 0;
    socket_t fd = ssh_get_fd(p->s);
    if (fd < 0)
        return 0;
    if (max >= 1) {
        fds[0].fd = fd;
        fds[0].events = POLLIN;
        if (ssh_get_poll_flags(p->s) & SSH_WRITE_PENDING)
            fds[0].events |= POLLOUT;
        fds[0].revents = 0;
    }
    return 1;
}

void peer_dispatch(struct peer *p, const struct pollfd *fds, size_t n)
{
    if (p->spec.kind == PEER_LOCAL)
        peer_local_dispatch(p, fds, n);
    else
        ssh_dispatch(p, fds, n);
}

static int min_timeout(int a, int64_t ms)
{
    if (ms < 0)
        ms = 0;
    if (ms > INT32_MAX)
        ms = INT32_MAX;
    if (a < 0 || ms < a)
        return (int)ms;
    return a;
}

int peer_timeout_ms(const struct peer *p)
{
    if (p->spec.kind == PEER_LOCAL)
        return peer_local_timeout_ms(p);
    int64_t now = peer_now_ms();
    int t = -1;
    if (p->state == PEER_CONNECTING || p->state == PEER_AUTHENTICATING) {
        t = min_timeout(t, p->deadline - now);
        /* libssh may have buffered input it has not looked at yet */
        t = min_timeout(t, 100);
        return t;
    }
    if (p->state != PEER_READY)
        return -1;
    for (const struct rcmd *c = p->cmds; c; c = c->next) {
        if (c->state == RCMD_QUEUED || (c->stop_requested && !c->stop_sent))
            return 0;
        if (c->state == RCMD_STARTING)
            t = min_timeout(t, 100);
        if (c->state == RCMD_RUNNING) {
            t = min_timeout(t, (c->stop_sent ? c->stop_deadline : c->deadline) - now);
            if (c->got_close || (c->got_eof && c->got_exit))
                return 0;
        }
    }
    return t;
}

/* ---- commands ----------------------------------------------------------- */

struct rcmd *rcmd_start(struct peer *p, const struct rcmd_opts *o, struct err *e)
{
    if (p->state == PEER_FAILED || p->state == PEER_CLOSED) {
        err_set(e, p->err.code ? p->err.code : ERR_DISCONNECTED, "%s: %s", p->spec.name,
                p->err.msg[0] ? p->err.msg : "not connected");
        return NULL;
    }
    struct buf line = BUF_INIT;
    if (rcmd_build_line(o, &line, e) != 0) {
        buf_free(&line);
        return NULL;
    }
    struct rcmd *c = calloc(1, sizeof *c);
    if (!c) {
        buf_free(&line);
        err_set(e, ERR_INTERNAL, "out of memory");
        return NULL;
    }
    c->o = *o;
    c->command = strdup(o->command);
    c->peer_name = strdup(p->spec.name);
    c->line = buf_take(&line);
    if (!c->command || !c->peer_name || !c->line) {
        free(c->command);
        free(c->peer_name);
        free(c->line);
        free(c);
        err_set(e, ERR_INTERNAL, "out of memory");
        return NULL;
    }
    c->o.command = c->command;
    c->limit_s = o->time_limit_s ? o->time_limit_s : RCMD_DEFAULT_LIMIT_S;
    c->sudo = o->sudo;
    c->res.exit_status = -1;
    c->fd_out = c->fd_err = c->fd_in = -1;
    c->state = RCMD_QUEUED;
    c->peer = p;
    /* append: commands start in the order they were asked for */
    struct rcmd **pp = &p->cmds;
    while (*pp)
        pp = &(*pp)->next;
    *pp = c;
    if (p->spec.kind == PEER_LOCAL && p->state == PEER_READY)
        peer_local_begin(p, c);
    return c;
}

enum rcmd_state rcmd_state(const struct rcmd *c) { return c->state; }
const struct rcmd_result *rcmd_result(const struct rcmd *c) { return &c->res; }
const char *rcmd_line(const struct rcmd *c) { return c->line; }
struct peer *rcmd_peer(const struct rcmd *c) { return c->peer; }

void rcmd_stop(struct rcmd *c)
{
    if (!c || c->state == RCMD_DONE)
        return;
    c->stop_requested = 1;
    if (c->peer && c->peer->spec.kind == PEER_LOCAL)
        peer_local_stop(c);
}

void rcmd_free(struct rcmd *c)
{
    if (!c)
        return;
    if (c->peer) {
        if (c->peer->spec.kind == PEER_LOCAL)
            peer_local_release(c);
        else
            peer_ssh_release(c, c->state != RCMD_DONE);
        cmd_unlink(c);
    }
    buf_free(&c->res.out);
    buf_free(&c->res.err_out);
    free(c->command);
    free(c->peer_name);
    free(c->line);
    free(c);
}

/* ---- loop helpers ------------------------------------------------------- */

int peers_poll(struct peer *const *peers, size_t n, int max_wait_ms, struct err *e)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += peer_pollfds(peers[i], NULL, 0);
    struct pollfd *fds = calloc(total ? total : 1, sizeof *fds);
    size_t *count = calloc(n ? n : 1, sizeof *count);
    if (!fds || !count) {
        free(fds);
        free(count);
        return err_set(e, ERR_INTERNAL, "out of memory");
    }
    size_t used = 0;
    int wait = max_wait_ms;
    for (size_t i = 0; i < n; i++) {
        count[i] = peer_pollfds(peers[i], fds + used, total - used);
        if (count[i] > total - used)
            count[i] = total - used;
        used += count[i];
        int t = peer_timeout_ms(peers[i]);
        if (t >= 0 && (wait < 0 || t < wait))
            wait = t;
    }
    int r = poll(fds, used, wait);
    if (r < 0 && errno != EINTR) {
        int saved = errno;
        free(fds);
        free(count);
        return err_set(e, ERR_IO, "poll: %s", strerror(saved));
    }
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        peer_dispatch(peers[i], fds + off, count[i]);
        off += count[i];
    }
    free(fds);
    free(count);
    return 0;
}

int peers_run_all(struct peer *const *peers, size_t n, const struct rcmd_opts *o,
                  struct rcmd **cmds, struct err *e)
{
    for (size_t i = 0; i < n; i++) {
        cmds[i] = NULL;
        enum peer_state st = peer_state(peers[i]);
        if (st == PEER_IDLE || st == PEER_CLOSED || st == PEER_FAILED)
            peer_connect(peers[i], NULL);
        if (peer_state(peers[i]) != PEER_FAILED)
            cmds[i] = rcmd_start(peers[i], o, NULL);
    }
    for (;;) {
        int pending = 0;
        for (size_t i = 0; i < n; i++)
            if (cmds[i] && rcmd_state(cmds[i]) != RCMD_DONE)
                pending = 1;
        if (!pending)
            return 0;
        if (peers_poll(peers, n, 1000, e) != 0)
            return -1;
    }
}
