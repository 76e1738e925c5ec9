#include "tui/console_export.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "playbook/bundle_session.h"
#include "playbook/correlate.h"
#include "playbook/correlate_json.h"
#include "playbook/replay.h"
#include "playbook/session.h"

static void name_safe(char *out, size_t n, const char *in)
{
    size_t o = 0;
    for (; in && *in && o + 1 < n; in++)
        out[o++] = ((*in >= 'a' && *in <= 'z') || (*in >= 'A' && *in <= 'Z') || (*in >= '0' && *in <= '9') ||
                    *in == '-' || *in == '_' || *in == '.') ? *in : '_';
    out[o] = '\0';
}

/* No finished diagnosis: the captures, the console's outputs and what is on
 * screen; session.json keeps the declared spans (replay's correlation). */
static int export_plain(const struct console_export_in *x, const char *dir, struct err *e)
{
    struct bundle_input in = {0};
    for (int i = 0; i < 2; i++) {
        in.peer[i].name = x->peer[i];
        in.peer[i].collected = x->collected[i];
        in.pcap[i] = x->pcap[i];
    }
    struct bundle_raw *raws = calloc(x->n_raws ? x->n_raws : 1, sizeof *raws);
    if (!raws)
        return err_set(e, ERR_INTERNAL, "out of memory");
    for (size_t i = 0; i < x->n_raws; i++) {
        raws[i] = x->raws[i];
        raws[i].origin = "console";
    }
    in.raws = raws;
    in.n_raws = x->n_raws;
    in.findings = x->findings;
    in.exit_status = -1;
    struct correlate_opts co;
    replay_correlate_opts(NULL, NULL, &co);
    json_t *peers = json_array();
    for (int i = 0; peers && i < 2; i++) {
        bool w = x->window[i][0] > 0 && x->window[i][1] > x->window[i][0];
        if (w)
            co.span[i] = correlate_span_of_seconds(x->window[i][0], x->window[i][1]);
        json_array_append_new(peers, json_pack("{s:s, s:s, s:b, s:b, s:o, s:o}", "side", i ? "b" : "a", "name",
                                               x->peer[i] ? x->peer[i] : "", "collected", x->collected[i],
                                               "connected", x->collected[i], "connect_error", json_null(),
                                               "capture_window",
                                               w ? json_pack("{s:f, s:f}", "start_s", x->window[i][0], "end_s",
                                                             x->window[i][1])
                                                 : json_null()));
    }
    json_t *sj = peers ? json_pack("{s:s, s:o}", "schema", "tunnelscope.session/1", "peers", peers) : NULL;
    char *session = sj ? json_dumps(sj, JSON_PRESERVE_ORDER) : NULL;
    json_decref(sj);
    in.session_json = session;
    char *corr = NULL;
    if (in.pcap[0] && in.pcap[1]) {
        struct correlate_result *res = NULL;
        if (correlate_files(in.pcap[0], in.pcap[1], &co, &res, e) == 0) {
            json_t *j = correlate_result_json(res, in.peer[0].name, in.peer[1].name);
            corr = j ? json_dumps(j, JSON_PRESERVE_ORDER) : NULL;
            json_decref(j);
        }
        correlate_result_free(res);
    }
    in.correlation_json = corr;
    in.note = "Exported from the tunnelscope console before its diagnosis finished: the findings are those "
              "on screen and cannot be recomputed from the bundle.";
    int r = session ? bundle_write(&in, dir, e) : err_set(e, ERR_INTERNAL, "out of memory");
    free(session);
    free(corr);
    free(raws);
    return r;
}

int console_export(const struct console_export_in *x, char *dir, size_t dir_size, bool *recomputable,
                   struct err *e)
{
    char conn[64], stamp[32];
    name_safe(conn, sizeof conn, x->conn && *x->conn ? x->conn : "tunnel");
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    snprintf(dir, dir_size, "tunnelscope-%s-%s", conn, stamp);
    *recomputable = x->diag && diag_done(x->diag);
    if (!*recomputable)
        return export_plain(x, dir, e);
    struct bundle_session_extra ex = {
        .raws = x->raws,
        .n_raws = x->n_raws,
        .note = "Exported from the tunnelscope console: pcap/ holds each end's capture as the console took it "
                "(correlation.json), pcap/diagnosis* the captures the five steps judged.",
    };
    for (int i = 0; i < 2; i++) {
        ex.pcap[i] = x->pcap[i];
        ex.window[i][0] = x->window[i][0];
        ex.window[i][1] = x->window[i][1];
    }
    return bundle_write_session_ex(x->diag, &ex, dir, NULL, e);
}

/* ---- in a child process ---- */

struct console_export_job {
    pid_t pid;
    int fd; /* the child's message */
};

/* Copies the first len bytes of src to a new file dst (0600).  0 / -1. */
static int copy_prefix(const char *src, const char *dst, off_t len)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    int out = in < 0 ? -1 : open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    int r = in < 0 || out < 0 ? -1 : 0;
    char b[1 << 16];
    while (!r && len > 0) {
        ssize_t n = read(in, b, len < (off_t)sizeof b ? (size_t)len : sizeof b);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            r = -1;
            break;
        }
        for (ssize_t w = 0; w < n && !r;) {
            ssize_t k = write(out, b + w, (size_t)(n - w));
            if (k < 0 && errno != EINTR)
                r = -1;
            else if (k > 0)
                w += k;
        }
        len -= n;
    }
    if (in >= 0)
        close(in);
    if (out >= 0 && close(out))
        r = -1;
    return r;
}

static void child_run(const struct console_export_in *in0, const off_t size[2], int fd)
{
    struct console_export_in in = *in0;
    char snap[2][4200], msg[600];
    struct err e = {0};
    char dir[200];
    bool full = false;
    int r = 0;
    for (int i = 0; i < 2; i++) {
        snap[i][0] = '\0';
        if (!in.pcap[i])
            continue;
        snprintf(snap[i], sizeof snap[i], "%s.export-%ld", in.pcap[i], (long)getpid());
        if (copy_prefix(in.pcap[i], snap[i], size[i])) {
            r = err_set(&e, ERR_IO, "%s: cannot copy the capture: %s", in.pcap[i], strerror(errno));
            break;
        }
        in.pcap[i] = snap[i];
    }
    if (!r)
        r = console_export(&in, dir, sizeof dir, &full, &e);
    for (int i = 0; i < 2; i++)
        if (snap[i][0])
            unlink(snap[i]);
    if (r)
        snprintf(msg, sizeof msg, "export failed: %s", e.msg);
    else
        snprintf(msg, sizeof msg, "evidence bundle written: %s (and %s.tar.gz)%s", dir, dir,
                 full ? "" : "; the diagnosis had not finished: its findings cannot be recomputed");
    size_t n = strlen(msg);
    while (n && write(fd, msg, n) < 0 && errno == EINTR)
        ;
    _exit(r ? 1 : 0);
}

struct console_export_job *console_export_start(const struct console_export_in *in, struct err *e)
{
    off_t size[2] = {0, 0};
    for (int i = 0; i < 2; i++) {
        struct stat st;
        if (in->pcap[i] && stat(in->pcap[i], &st) == 0)
            size[i] = st.st_size;
    }
    struct console_export_job *j = calloc(1, sizeof *j);
    int p[2];
    if (!j || pipe(p)) {
        free(j);
        err_set(e, ERR_INTERNAL, "cannot start the export: %s", strerror(errno));
        return NULL;
    }
    fflush(NULL);
    j->pid = fork();
    if (j->pid < 0) {
        err_set(e, ERR_INTERNAL, "cannot start the export: %s", strerror(errno));
        close(p[0]);
        close(p[1]);
        free(j);
        return NULL;
    }
    if (j->pid == 0) {
        close(p[0]);
        /* the child neither reads the terminal nor is stopped by the console's keys */
        signal(SIGINT, SIG_IGN);
        signal(SIGHUP, SIG_IGN);
        child_run(in, size, p[1]);
    }
    close(p[1]);
    j->fd = p[0];
    fcntl(j->fd, F_SETFD, FD_CLOEXEC);
    return j;
}

static void job_end(struct console_export_job *j, int status, char *msg, size_t size)
{
    ssize_t n = 0;
    if (size) {
        do
            n = read(j->fd, msg, size - 1);
        while (n < 0 && errno == EINTR);
        msg[n > 0 ? (size_t)n : 0] = '\0';
        if (n <= 0)
            snprintf(msg, size, "export failed: the export process ended (status %d) without a word", status);
    }
    close(j->fd);
    free(j);
}

int console_export_poll(struct console_export_job *j, char *msg, size_t size)
{
    int st = 0;
    pid_t r = waitpid(j->pid, &st, WNOHANG);
    if (r == 0 || (r < 0 && errno == EINTR))
        return 0;
    job_end(j, r > 0 ? st : -1, msg, size);
    return 1;
}

void console_export_finish(struct console_export_job *j, char *msg, size_t size)
{
    int st = 0;
    pid_t r;
    do
        r = waitpid(j->pid, &st, 0);
    while (r < 0 && errno == EINTR);
    job_end(j, r > 0 ? st : -1, msg, size);
}
