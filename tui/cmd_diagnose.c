/* tunnelscope diagnose PEER_A PEER_B: the five-step diagnosis, headless.
 * Drives playbook/session.h from one poll() loop (the console drives the
 * same session), shows progress on stderr when it is a terminal, prints the
 * report (text, Markdown or JSON) and exits 0/1/2/3. */
#include "tui/cmds.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "playbook/bundle.h"
#include "playbook/bundle_fs.h"
#include "playbook/bundle_session.h"
#include "playbook/report.h"
#include "playbook/session.h"
#include "remote/peer.h"
#include "tui/exitcodes.h"
#include "tui/peer_args.h"
#include "tui/safe_text.h"

static volatile sig_atomic_t diag_interrupted;

static void on_signal(int sig)
{
    (void)sig;
    diag_interrupted = 1;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: tunnelscope diagnose [OPTIONS] PEER_A PEER_B\n"
            "       tunnelscope diagnose [OPTIONS] --one-end PEER --bundle DIR\n"
            "\n"
            "Logs into both gateways at once and runs the five steps in order:\n"
            "  1 transport (IKE/ESP, NAT-T, listeners)   2 UDP/4500 reachability (two-end capture)\n"
            "  3 selectors, policy, routing, NAT exemption   4 MTU/MSS   5 proposals and timers\n"
            "The principal finding is the first failure in step order.\n"
            "\n"
            "Options:\n"
            "  --conn NAME            the connection to diagnose (default: the one whose\n"
            "                         addresses join the two peers)\n"
            "  --capture-seconds N    length of the two-end capture (default %u)\n"
            "  --active               also send DF pings of growing size through the tunnel\n"
            "                         from a protected address of each gateway (MTU sweep)\n"
            "  --json                 print the result as JSON (assets/diagnose-json.md)\n"
            "  --markdown             print a Markdown report\n"
            "  --pcap-dir DIR         keep both ends' captures there (a.pcap, b.pcap)\n"
            "  --bundle DIR           write the evidence bundle DIR and DIR.tar.gz (pcaps, raw\n"
            "                         outputs, findings, correlation, report.md/.html, manifest)\n"
            "  --secrets FILE         known secrets (a PSK...), one per line: redacted from the\n"
            "                         bundle and scanned for in every file of it\n"
            "  --one-end              one gateway only (nobody holds access to both): its facts\n"
            "                         and capture, each step judged as far as one end allows,\n"
            "                         and what the other site must supply; with --bundle this\n"
            "                         is a half-bundle for `tunnelscope merge`\n"
            "  -F SSH_CONFIG, --known-hosts FILE, --accept-new-hostkey   as for exec\n"
            "  -h, --help             this help\n"
            "\n"
            "A PEER is an ssh config alias, [user@]host[:port], or 'local'.\n"
            "Exit status: 0 nothing wrong, 1 warnings, 2 failures, 3 could not diagnose\n"
            "(cannot connect, host key, no sudo, no IKE daemon, connection ambiguous),\n"
            "64 bad command line.\n",
            DIAG_CAPTURE_DEFAULT);
}

struct progress {
    int tty;
    int last_len;
};

static void show_progress(const struct diag_session *s, void *ud)
{
    struct progress *pr = ud;
    if (!pr->tty)
        return;
    struct diag_progress p;
    diag_progress(s, &p);
    char line[200];
    int n;
    if (p.phase == DIAG_DONE) {
        n = snprintf(line, sizeof line, "done in %.1f s", diag_total_seconds(s));
    } else if (p.capture_left_s >= 0) {
        n = snprintf(line, sizeof line, "step %d/5 %s: capturing on both ends, %d s left", p.step,
                     step_title(p.step), p.capture_left_s);
    } else if (p.sweep_size[0] >= 0 || p.sweep_size[1] >= 0) {
        n = snprintf(line, sizeof line, "step %d/5 %s: DF sweep, size %s %d / %s %d", p.step, step_title(p.step),
                     diag_peer_name(s, 0), p.sweep_size[0], diag_peer_name(s, 1), p.sweep_size[1]);
    } else if (p.step) {
        n = snprintf(line, sizeof line, "step %d/5 %s: %s", p.step, step_title(p.step),
                     p.activity ? p.activity : "");
    } else {
        n = snprintf(line, sizeof line, "%s %s and %s", p.activity ? p.activity : "", diag_peer_name(s, 0),
                     diag_peer_name(s, 1));
    }
    if (n < 0)
        return;
    struct buf b = BUF_INIT;
    safe_text(line, strlen(line), 0, &b);
    fprintf(stderr, "\r%s%*s", b.data ? b.data : "", pr->last_len > (int)b.len ? pr->last_len - (int)b.len : 0, "");
    if (p.phase == DIAG_DONE)
        fputs("\n", stderr);
    pr->last_len = (int)b.len;
    fflush(stderr);
    buf_free(&b);
}

static int parse_uint(const char *s, unsigned max, unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v == 0 || v > max)
        return -1;
    *out = (unsigned)v;
    return 0;
}

static void peer_problem(struct peer *p)
{
    const struct err *e = peer_error(p);
    if (!e || e->code == ERR_NONE)
        return;
    if (e->code == ERR_HOSTKEY_UNKNOWN || e->code == ERR_HOSTKEY_CHANGED) {
        const char *fp = peer_hostkey_fingerprint(p);
        fprintf(stderr, "tunnelscope: %s: %s; host key %s%s\n", peer_name(p), e->msg, fp ? fp : "(unknown)",
                e->code == ERR_HOSTKEY_UNKNOWN ? " (check it, then run again with --accept-new-hostkey)" : "");
    }
}

int cmd_diagnose(int argc, char **argv)
{
    struct peer_opts popts = {0};
    struct diag_opts dopts = {0};
    int json = 0, markdown = 0, one_end = 0;
    const char *names[2] = {NULL, NULL};
    const char *bundle_dir = NULL, *secrets_file = NULL;
    char **secrets = NULL;
    char *pcap_tmp = NULL;
    int npeers = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return TS_EXIT_OK;
        }
        int took = peer_args_take(argc, argv, &i, &popts, "tunnelscope diagnose");
        if (took < 0)
            return TS_EXIT_USAGE;
        if (took)
            continue;
        if (!strcmp(a, "--conn") || !strcmp(a, "--capture-seconds") || !strcmp(a, "--pcap-dir") || !strcmp(a, "--bundle") ||
            !strcmp(a, "--secrets")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "tunnelscope diagnose: %s needs a value\n", a);
                return TS_EXIT_USAGE;
            }
            const char *v = argv[++i];
            if (!strcmp(a, "--conn"))
                dopts.conn = v;
            else if (!strcmp(a, "--pcap-dir"))
                dopts.pcap_dir = v;
            else if (!strcmp(a, "--bundle"))
                bundle_dir = v;
            else if (!strcmp(a, "--secrets"))
                secrets_file = v;
            else if (parse_uint(v, 3600, &dopts.capture_seconds) != 0) {
                fprintf(stderr, "tunnelscope diagnose: --capture-seconds wants 1..3600, not '%s'\n", v);
                return TS_EXIT_USAGE;
            }
            continue;
        }
        if (!strcmp(a, "--one-end")) {
            one_end = 1;
            continue;
        }
        if (!strcmp(a, "--active")) {
            dopts.active = true;
            continue;
        }
        if (!strcmp(a, "--json")) {
            json = 1;
            continue;
        }
        if (!strcmp(a, "--markdown")) {
            markdown = 1;
            continue;
        }
        if (a[0] == '-' && a[1]) {
            fprintf(stderr, "tunnelscope diagnose: unknown option '%s' (try --help)\n", a);
            return TS_EXIT_USAGE;
        }
        if (npeers == 2) {
            fprintf(stderr, "tunnelscope diagnose: two peers, not more (try --help)\n");
            return TS_EXIT_USAGE;
        }
        names[npeers++] = a;
    }
    if (one_end && npeers != 1) {
        fprintf(stderr, "tunnelscope diagnose: --one-end takes one PEER (try --help)\n");
        return TS_EXIT_USAGE;
    }
    if (!one_end && npeers != 2) {
        fprintf(stderr, "tunnelscope diagnose: needs PEER_A PEER_B (try --help)\n");
        return TS_EXIT_USAGE;
    }
    if (json && markdown) {
        fprintf(stderr, "tunnelscope diagnose: --json and --markdown exclude each other\n");
        return TS_EXIT_USAGE;
    }
    if (!one_end && !strcmp(names[0], names[1])) {
        fprintf(stderr, "tunnelscope diagnose: the two peers must differ\n");
        return TS_EXIT_USAGE;
    }
    if (bundle_dir) {
        struct stat st;
        size_t bl = strlen(bundle_dir);
        char *tgz = malloc(bl + 8);
        int exists = !lstat(bundle_dir, &st) || (tgz && (memcpy(tgz, bundle_dir, bl),
                                                         memcpy(tgz + bl, ".tar.gz", 8), !lstat(tgz, &st)));
        free(tgz);
        if (exists) {
            fprintf(stderr, "tunnelscope diagnose: %s (or its .tar.gz) already exists: a bundle never overwrites\n",
                    bundle_dir);
            return TS_EXIT_USAGE;
        }
    }
    popts.interactive = isatty(STDIN_FILENO);
    struct err e = {0};
    struct peer *pa = peer_new(names[0], &popts, &e);
    if (!pa) {
        fprintf(stderr, "tunnelscope diagnose: %s\n", e.msg);
        return TS_EXIT_USAGE;
    }
    struct peer *pb = one_end ? NULL : peer_new(names[1], &popts, &e);
    if (!pb && !one_end) {
        fprintf(stderr, "tunnelscope diagnose: %s\n", e.msg);
        peer_free(pa);
        return TS_EXIT_USAGE;
    }
    if (secrets_file) {
        struct err se = {0};
        if (!(secrets = bundle_secrets_read(secrets_file, &se))) {
            fprintf(stderr, "tunnelscope diagnose: %s\n", se.msg);
            peer_free(pa);
            peer_free(pb);
            return TS_EXIT_USAGE;
        }
    }
    if (bundle_dir && !dopts.pcap_dir) {
        /* the bundle needs both captures: keep them in a private folder until it is written */
        const char *td = getenv("TMPDIR");
        size_t n = strlen(td && *td == '/' ? td : "/tmp") + 32;
        pcap_tmp = malloc(n);
        if (pcap_tmp)
            snprintf(pcap_tmp, n, "%s/tunnelscope-pcap-XXXXXX", td && *td == '/' ? td : "/tmp");
        if (!pcap_tmp || !mkdtemp(pcap_tmp)) {
            fprintf(stderr, "tunnelscope diagnose: cannot make a folder for the captures\n");
            free(pcap_tmp);
            bundle_secrets_free(secrets);
            peer_free(pa);
            peer_free(pb);
            return TS_EXIT_INTERNAL;
        }
        dopts.pcap_dir = pcap_tmp;
    }
    int rc = TS_EXIT_INTERNAL;
    struct diag_session *s = diag_new(pa, pb, &dopts, &e);
    struct pollfd *fds = NULL;
    size_t cap = 64;
    if (!s || !(fds = calloc(cap, sizeof *fds))) {
        fprintf(stderr, "tunnelscope diagnose: %s\n", s ? "out of memory" : e.msg);
        goto out;
    }
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct progress pr = {.tty = !json && isatty(STDERR_FILENO), .last_len = 0};
    diag_on_progress(s, show_progress, &pr);
    if (diag_start(s, &e) != 0) {
        fprintf(stderr, "tunnelscope diagnose: %s\n", e.msg);
        goto out;
    }
    while (!diag_done(s)) {
        if (diag_interrupted) {
            fprintf(stderr, "\ntunnelscope diagnose: interrupted\n");
            rc = TS_EXIT_NODIAG;
            goto out; /* peer_free closes the channels: remote commands end */
        }
        size_t n = diag_pollfds(s, fds, cap);
        int t = diag_timeout_ms(s);
        if (t < 0 || t > 1000)
            t = 1000;
        if (poll(fds, n, t) < 0 && errno != EINTR) {
            fprintf(stderr, "tunnelscope diagnose: poll: %s\n", strerror(errno));
            goto out;
        }
        diag_dispatch(s, fds, n);
        show_progress(s, &pr);
    }
    peer_problem(pa);
    if (pb)
        peer_problem(pb);

    struct report_in r;
    report_from_session(s, &r);
    struct buf out = BUF_INIT, safe = BUF_INIT;
    int ok = json ? report_json_text(&r, &out) : markdown ? report_markdown(&r, &out) : report_text(&r, &out);
    if (ok != 0) {
        fprintf(stderr, "tunnelscope diagnose: out of memory\n");
        buf_free(&out);
        goto out;
    }
    /* JSON escapes control characters itself; text goes through safe_text */
    if (json)
        fwrite(out.data, 1, out.len, stdout);
    else if (safe_text(out.data, out.len, 1, &safe) == 0)
        fwrite(safe.data, 1, safe.len, stdout);
    fflush(stdout);
    buf_free(&out);
    buf_free(&safe);
    rc = diag_exit_status(s);
    if (bundle_dir) {
        if (bundle_write_session(s, bundle_dir, (const char *const *)secrets, &e) != 0) {
            fprintf(stderr, "tunnelscope diagnose: bundle: %s\n", e.msg);
            rc = TS_EXIT_INTERNAL;
        } else if (!json) {
            fprintf(stderr, "evidence bundle: %s and %s.tar.gz\n", bundle_dir, bundle_dir);
        }
    }
out:
    diag_free(s);
    free(fds);
    peer_free(pa);
    peer_free(pb);
    if (pcap_tmp)
        bfs_rmtree(pcap_tmp);
    free(pcap_tmp);
    bundle_secrets_free(secrets);
    return rc;
}
