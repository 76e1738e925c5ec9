/* tunnelscope exec PEER... -- CMD...: runs one command on every peer at once
 * through remote/ (the console's code path) and prints each output line
 * prefixed with its peer's name, made terminal-safe. */
#include "tui/cmds.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "remote/buf.h"
#include "remote/err.h"
#include "remote/peer.h"
#include "remote/shquote.h"
#include "tui/exitcodes.h"
#include "tui/peer_args.h"
#include "probes/redact.h"
#include "tui/safe_text.h"

#define LINE_MAX_BYTES 4096

static volatile sig_atomic_t exec_interrupted;

static void on_signal(int sig)
{
    (void)sig;
    exec_interrupted = 1;
}

struct exec_peer {
    struct peer *peer;
    struct rcmd *cmd;
    struct buf pending[2]; /* partial lines: stdout, stderr */
    int width;
    FILE *save;            /* --save: raw stdout of this peer */
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: tunnelscope exec [OPTIONS] PEER... -- COMMAND [ARG...]\n"
            "\n"
            "Runs COMMAND on every PEER at once and prints each output line prefixed\n"
            "with the peer's name: 'gw-a| ' for standard output, 'gw-a|! ' for standard\n"
            "error.  Control characters and invalid UTF-8 are shown as \\xNN.\n"
            "Several words after -- are passed as they are (each one quoted); a single\n"
            "word is shell text for the peer's sh (pipes, redirections).\n"
            "The command runs under timeout(1) on the peer.\n"
            "\n"
            "A PEER is an ssh config alias, [user@]host[:port], or 'local' (this machine).\n"
            "\n"
            "Options:\n"
            "  -F SSH_CONFIG          ssh config file (default: $TUNNELSCOPE_SSH_CONFIG,\n"
            "                         else ~/.ssh/config)\n"
            "  --known-hosts FILE     known_hosts file (default: $TUNNELSCOPE_KNOWN_HOSTS,\n"
            "                         else the config's UserKnownHostsFile, ~/.ssh/known_hosts)\n"
            "  --accept-new-hostkey   accept and record a host key seen for the first time\n"
            "                         (a changed key is always refused)\n"
            "  --sudo                 run the command as root through sudo -n\n"
            "  --timeout SECONDS      time limit of the command (default %u)\n"
            "  --save DIR             write each peer's standard output, byte for byte, to\n"
            "                         DIR/PEER.out instead of printing it (captures)\n"
            "  -h, --help             this help\n"
            "\n"
            "Exit status: 0 every command exited 0; 1 a command failed or timed out;\n"
            "3 a peer could not be reached (connection, host key, authentication) or\n"
            "sudo was refused; 64 bad command line.\n",
            RCMD_DEFAULT_LIMIT_S);
}

static void emit(struct exec_peer *ep, int is_stderr, const char *line, size_t len)
{
    struct buf out = BUF_INIT;
    struct buf red = BUF_INIT;
    buf_printf(&out, "%-*s|%s ", ep->width, peer_name(ep->peer), is_stderr ? "!" : "");
    /* key material (ip xfrm keys, secret = ... lines) never reaches the terminal */
    if (redact_text(line, len, NULL, &red) > 0)
        safe_text(red.data, red.len, 0, &out);
    else
        safe_text(line, len, 0, &out);
    buf_puts(&out, "\n");
    fwrite(out.data, 1, out.len, stdout);
    buf_free(&out);
    buf_free(&red);
}

static void flush_lines(struct exec_peer *ep, int is_stderr, int all)
{
    struct buf *b = &ep->pending[is_stderr];
    for (;;) {
        char *nl = b->len ? memchr(b->data, '\n', b->len) : NULL;
        if (nl) {
            emit(ep, is_stderr, b->data, (size_t)(nl - b->data));
            buf_consume(b, (size_t)(nl - b->data) + 1);
            continue;
        }
        if (b->len >= LINE_MAX_BYTES || (all && b->len)) {
            size_t n = b->len < LINE_MAX_BYTES ? b->len : LINE_MAX_BYTES;
            emit(ep, is_stderr, b->data, n);
            buf_consume(b, n);
            continue;
        }
        break;
    }
}

static void on_data(struct rcmd *c, int is_stderr, const char *data, size_t len, void *ud)
{
    struct exec_peer *ep = ud;
    if (!is_stderr && ep->save) {
        fwrite(data, 1, len, ep->save);
        fflush(ep->save);
        return;
    }
    buf_append(&ep->pending[is_stderr ? 1 : 0], data, len);
    flush_lines(ep, is_stderr ? 1 : 0, 0);
    if (fflush(stdout) != 0 || ferror(stdout))
        exec_interrupted = 1; /* nobody reads us any more (| head): stop the commands */
}

static int worse(int a, int b)
{
    /* order of badness: 0 < 1 < 3 */
    return b > a ? b : a;
}

static int report_peer_failure(struct exec_peer *ep)
{
    const struct err *e = peer_error(ep->peer);
    fprintf(stderr, "tunnelscope: %s\n", e->msg[0] ? e->msg : "cannot connect");
    if (e->code == ERR_HOSTKEY_UNKNOWN) {
        const char *fp = peer_hostkey_fingerprint(ep->peer);
        fprintf(stderr,
                "tunnelscope: %s: the host key fingerprint is %s\n"
                "tunnelscope: check it against the gateway (ssh-keygen -lf on its host key), then\n"
                "tunnelscope: run again with --accept-new-hostkey to add it to %s\n",
                peer_name(ep->peer), fp ? fp : "(unknown)",
                peer_known_hosts(ep->peer) ? peer_known_hosts(ep->peer) : "known_hosts");
    } else if (e->code == ERR_HOSTKEY_CHANGED) {
        const char *fp = peer_hostkey_fingerprint(ep->peer);
        fprintf(stderr,
                "tunnelscope: %s: the server now presents %s.  If the gateway was really\n"
                "tunnelscope: reinstalled, remove the old line from %s (ssh-keygen -R) by hand.\n",
                peer_name(ep->peer), fp ? fp : "(unknown)",
                peer_known_hosts(ep->peer) ? peer_known_hosts(ep->peer) : "known_hosts");
    }
    return TS_EXIT_NODIAG;
}

static int report_result(struct exec_peer *ep)
{
    const struct rcmd_result *r = rcmd_result(ep->cmd);
    const char *name = peer_name(ep->peer);
    /* the peer could not be reached at all (also a connect timeout) */
    if (r->err.code != ERR_NONE && peer_state(ep->peer) == PEER_FAILED &&
        peer_error(ep->peer)->code == r->err.code && r->err.code != ERR_DISCONNECTED)
        return report_peer_failure(ep);
    switch (r->err.code) {
    case ERR_NONE:
        break;
    case ERR_SUDO:
        fprintf(stderr, "tunnelscope: %s\n", r->err.msg);
        return TS_EXIT_NODIAG;
    case ERR_CONNECT:
    case ERR_AUTH:
    case ERR_HOSTKEY_UNKNOWN:
    case ERR_HOSTKEY_CHANGED:
        return report_peer_failure(ep);
    case ERR_DISCONNECTED:
        fprintf(stderr, "tunnelscope: %s\n", r->err.msg);
        return exec_interrupted ? TS_EXIT_WARNING : TS_EXIT_NODIAG;
    default:
        fprintf(stderr, "tunnelscope: %s\n", r->err.msg);
        return TS_EXIT_WARNING;
    }
    if (r->exit_signal[0]) {
        fprintf(stderr, "tunnelscope: %s: killed by SIG%s\n", name, r->exit_signal);
        return TS_EXIT_WARNING;
    }
    if (r->exit_status != 0) {
        fprintf(stderr, "tunnelscope: %s: exit status %d\n", name, r->exit_status);
        return TS_EXIT_WARNING;
    }
    return TS_EXIT_OK;
}

static int parse_seconds(const char *s, unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v == 0 || v > 7ul * 24 * 3600)
        return -1;
    *out = (unsigned)v;
    return 0;
}

int cmd_exec(int argc, char **argv)
{
    struct peer_opts popts = {0};
    struct rcmd_opts ropts = {0};
    int first_peer = -1, dashdash = -1;
    const char *save_dir = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--")) {
            dashdash = i;
            break;
        }
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return TS_EXIT_OK;
        }
        int took = peer_args_take(argc, argv, &i, &popts, "tunnelscope exec");
        if (took < 0)
            return TS_EXIT_USAGE;
        if (took)
            continue;
        if (!strcmp(a, "--timeout") || !strcmp(a, "--save")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "tunnelscope exec: %s needs a value\n", a);
                return TS_EXIT_USAGE;
            }
            const char *v = argv[++i];
            if (!strcmp(a, "--save"))
                save_dir = v;
            else if (parse_seconds(v, &ropts.time_limit_s) != 0) {
                fprintf(stderr, "tunnelscope exec: --timeout wants whole seconds (1..604800), not '%s'\n", v);
                return TS_EXIT_USAGE;
            }
            continue;
        }
        if (!strcmp(a, "--sudo")) {
            ropts.sudo = 1;
            continue;
        }
        if (a[0] == '-') {
            fprintf(stderr, "tunnelscope exec: unknown option '%s' (try --help)\n", a);
            return TS_EXIT_USAGE;
        }
        if (first_peer < 0)
            first_peer = i;
    }
    if (first_peer < 0 || dashdash < 0 || dashdash + 1 >= argc) {
        fprintf(stderr, "tunnelscope exec: needs PEER... -- COMMAND (try --help)\n");
        return TS_EXIT_USAGE;
    }
    /* peers are every non-option word before -- (options may come between) */
    size_t npeers = 0;
    struct exec_peer *eps = calloc((size_t)argc, sizeof *eps);
    struct peer **peers = calloc((size_t)argc, sizeof *peers);
    struct buf command = BUF_INIT;
    int rc = TS_EXIT_OK;
    struct err e = {0};
    if (!eps || !peers) {
        fprintf(stderr, "tunnelscope exec: out of memory\n");
        rc = TS_EXIT_INTERNAL;
        goto out;
    }
    popts.interactive = isatty(STDIN_FILENO);
    int width = 0;
    for (int i = first_peer; i < dashdash; i++) {
        const char *a = argv[i];
        if (a[0] == '-') {
            if (peer_args_has_value(a) || !strcmp(a, "--timeout") || !strcmp(a, "--save"))
                i++;
            continue;
        }
        for (size_t k = 0; k < npeers; k++) {
            if (!strcmp(peer_name(eps[k].peer), a)) {
                fprintf(stderr, "tunnelscope exec: peer '%s' named twice\n", a);
                rc = TS_EXIT_USAGE;
                goto out;
            }
        }
        struct peer *p = peer_new(a, &popts, &e);
        if (!p) {
            fprintf(stderr, "tunnelscope exec: %s\n", e.msg);
            rc = TS_EXIT_USAGE;
            goto out;
        }
        eps[npeers].peer = p;
        peers[npeers] = p;
        if (save_dir) {
            struct buf path = BUF_INIT;
            buf_printf(&path, "%s/", save_dir);
            for (const char *q = a; *q; q++)
                buf_append(&path, *q == '/' ? "_" : q, 1);
            buf_puts(&path, ".out");
            /* captures are the user's only: owner-only, never through a symlink */
            int sfd = open(path.data, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
            eps[npeers].save = sfd >= 0 ? fdopen(sfd, "wb") : NULL;
            if (sfd >= 0 && !eps[npeers].save)
                close(sfd);
            if (!eps[npeers].save) {
                fprintf(stderr, "tunnelscope exec: cannot write %s: %s\n", path.data, strerror(errno));
                buf_free(&path);
                npeers++;
                rc = TS_EXIT_USAGE;
                goto out;
            }
            buf_free(&path);
        }
        int w = (int)strlen(a);
        if (w > width)
            width = w;
        npeers++;
    }
    int nwords = argc - dashdash - 1;
    if (nwords == 1) {
        buf_puts(&command, argv[dashdash + 1]);
    } else if (shquote_argv(&command, nwords, (const char *const *)argv + dashdash + 1, &e) != 0) {
        fprintf(stderr, "tunnelscope exec: %s\n", e.msg);
        rc = TS_EXIT_USAGE;
        goto out;
    }
    if (!command.data || !command.data[0]) {
        fprintf(stderr, "tunnelscope exec: empty command\n");
        rc = TS_EXIT_USAGE;
        goto out;
    }
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    ropts.command = command.data;
    ropts.on_data = on_data;
    for (size_t i = 0; i < npeers; i++) {
        eps[i].width = width;
        peer_connect(eps[i].peer, NULL);
        struct rcmd_opts o = ropts;
        o.ud = &eps[i];
        if (peer_state(eps[i].peer) != PEER_FAILED)
            eps[i].cmd = rcmd_start(eps[i].peer, &o, NULL);
    }
    int stopping = 0;
    for (;;) {
        int pending = 0;
        for (size_t i = 0; i < npeers; i++)
            if (eps[i].cmd && rcmd_state(eps[i].cmd) != RCMD_DONE)
                pending = 1;
        if (!pending)
            break;
        if (exec_interrupted && !stopping) {
            stopping = 1;
            fprintf(stderr, "tunnelscope exec: interrupted, stopping the commands\n");
            for (size_t i = 0; i < npeers; i++)
                rcmd_stop(eps[i].cmd);
        }
        if (peers_poll(peers, npeers, 1000, &e) != 0) {
            fprintf(stderr, "tunnelscope exec: %s\n", e.msg);
            rc = TS_EXIT_INTERNAL;
            goto out;
        }
    }
    for (size_t i = 0; i < npeers; i++) {
        flush_lines(&eps[i], 0, 1);
        flush_lines(&eps[i], 1, 1);
    }
    fflush(stdout);
    for (size_t i = 0; i < npeers; i++) {
        int r = eps[i].cmd ? report_result(&eps[i]) : report_peer_failure(&eps[i]);
        rc = worse(rc, r);
    }
out:
    if (eps) {
        for (size_t i = 0; i < npeers; i++) {
            rcmd_free(eps[i].cmd);
            peer_free(eps[i].peer);
            buf_free(&eps[i].pending[0]);
            buf_free(&eps[i].pending[1]);
            if (eps[i].save)
                fclose(eps[i].save);
        }
    }
    free(eps);
    free(peers);
    buf_free(&command);
    return rc;
}
