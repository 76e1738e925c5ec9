#include "playbook/session.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "playbook/batch.h"
#include "playbook/cidr.h"
#include "playbook/collect.h"
#include "playbook/discover.h"
#include "playbook/prose.h"
#include "playbook/reach.h"
#include "playbook/rules.h"
#include "probes/capture.h"
#include "probes/redact.h"
#include "remote/shquote.h"

/* What the engine is doing: a step is a sequence of rounds; a round is a set
 * of commands on both peers at once; the next round starts when the last
 * command of the round is done. */
enum stage {
    ST_IDLE,
    ST_CONNECT,
    ST_COLLECT,     /* step 1: baseline probes on both peers */
    ST_DISCOVER,    /* step 1: pick the connection; then the rules of step 1 */
    ST_CAP_PREP,    /* step 2: route to the other gateway, counters before */
    ST_CAPTURE,     /* step 2: both captures streaming */
    ST_CAP_AFTER,   /* step 2: counters after, new log lines */
    ST_POLICY,      /* step 3: firewall (on re-run), route to the remote subnet */
    ST_SWEEP,       /* step 4: DF pings */
    ST_TIMERS,      /* step 5: connections and log again (on re-run) */
    ST_DONE,
};

struct job {
    struct diag_session *s;
    int side;
    enum probe_kind kind;
    int step;
    struct rcmd *cmd;
    char *command; /* while queued */
    unsigned limit;
    bool sudo;
    enum probe_kind parts[12]; /* PROBE_BATCH: the probes inside */
    char *part_cmd[12];        /* and the command line of each (kept as evidence) */
    size_t n_parts;
    bool recorded;             /* offline: answered from the record */
    int ping_size;
    bool done;
    bool bg; /* in the background of its round: the round may end before it (see advance) */
};

/* sshd allows 10 sessions (channels) per connection by default
 * (MaxSessions): keep below it, the capture included. */
#define MAX_INFLIGHT 6

struct sweep {
    bool running, finished;
    const char *from, *to;
    int lo, hi, cur; /* lo passes, hi fails (or untested above) */
    int tries;
};

struct capside {
    struct rcmd *cmd;
    struct capture_stream *stream;
    struct capture_writer *writer;
    void *ctx; /* struct cap_ctx, freed with the capture */
    char iface[64];
    bool header, ended, failed;
    char error[400];
    uint64_t events;
};

struct diag_session {
    struct peer *peer[2];
    struct diag_opts opts;
    char *conn_opt, *pcap_dir;
    struct collect_side side[2];
    struct findings fs;
    struct reach_facts reach;
    bool have_reach;
    struct reach_acc *acc;
    struct capside cap[2];
    struct sweep sw[2];

    enum stage stage;
    bool rerun;      /* one step only */
    int rerun_step;
    int step;        /* running step */
    const char *activity;
    struct job **jobs;
    size_t n_jobs, cap_jobs;
    size_t pending;
    size_t pending_bg; /* of which background jobs */
    bool step1_due;    /* step 1 is judged once its background probes are in */
    bool next_bg;      /* the job started next runs in the background */
    size_t npfd[2];  /* how many pollfds each peer got last time */

    double t_start, t_connect_end, step_t0[STEP_COUNT + 1], step_sec[STEP_COUNT + 1];
    double t_end;
    double cap_deadline, cap_started, cap_hard_deadline;
    enum step_status status[STEP_COUNT + 1];
    bool nodiag;
    int log_offset[2]; /* bytes of the log at the start, -1 unknown */

    struct diag_raw *raw;
    size_t n_raw, cap_raw;

    char nonce[20]; /* batch markers (playbook/batch.h) */
    const char *link_text[2]; /* `ip -o link` output (in the side's pool) */

    double cap_win[2][2]; /* each end's capture window, CLOCK_REALTIME; 0: none */

    bool one_end; /* only side A is collected (diag_new(a, NULL, ...)): a half-bundle */
    const char *other_note; /* one end: what the other site must supply (in side A's pool) */

    /* offline (diag_new_offline): the record answers instead of the peers */
    bool offline;
    char *off_name[2], *off_error[2];
    char *pcap_path[2]; /* each end's capture file, the latest run's (live: in pcap_dir) */
    bool off_connected[2];
    const struct diag_record_run *rec_reruns; /* during diag_start only */
    size_t n_rec_reruns;

    /* the runs: the first, full one, then each one-step re-run in order */
    struct srun {
        int step;            /* 0: the full run */
        bool captured[2];
        char *pcap[2];
        double win[2][2];
    } *runs;
    size_t n_runs;
    const struct diag_raw *rec; /* during diag_start only */
    size_t n_rec;
    bool *rec_used;
    size_t rec_unused;

    diag_progress_fn on_progress;
    void *ud;
};

static double now_mono(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double now_real(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double ts_sec(const struct timespec *t)
{
    return (double)t->tv_sec + (double)t->tv_nsec / 1e9;
}

static void notify(struct diag_session *s)
{
    if (s->on_progress)
        s->on_progress(s, s->ud);
}

/* ---- evidence ------------------------------------------------------------- */

static void raw_add(struct diag_session *s, int side, int step, const char *what, const char *line,
                    const char *out, size_t out_len, const char *errt, size_t err_len, int status,
                    int error_code, const char *error, double started, double seconds)
{
    if (s->n_raw == s->cap_raw) {
        size_t cap = s->cap_raw ? s->cap_raw * 2 : 32;
        struct diag_raw *v = realloc(s->raw, cap * sizeof *v);
        if (!v)
            return;
        s->raw = v;
        s->cap_raw = cap;
    }
    struct buf all = BUF_INIT, red = BUF_INIT;
    if (out_len)
        buf_append(&all, out, out_len);
    if (err_len) {
        buf_puts(&all, all.len ? "\n--- stderr ---\n" : "--- stderr ---\n");
        buf_append(&all, errt, err_len);
    }
    if (redact_text(all.data ? all.data : "", all.len, NULL, &red) < 0)
        buf_reset(&red);
    struct diag_raw *d = &s->raw[s->n_raw++];
    d->run = s->n_runs ? (int)s->n_runs - 1 : 0;
    d->side = side;
    d->step = step;
    d->what = strdup(what);
    d->line = strdup(line ? line : "");
    d->output = buf_take(&red);
    d->exit_status = status;
    d->error = error ? strdup(error) : NULL;
    d->error_code = error_code;
    d->started = started;
    d->seconds = seconds < 0 || seconds > 1e6 ? 0 : seconds;
    buf_free(&all);
}

#define TOO_LARGE_MSG "more than 4 MiB of output: too large, not parsed"

/* A result's error: past max_output the text is cut, and a cut listing must
 * not be parsed as if it were whole (it would undercount). */
static int result_code(const struct rcmd_result *r, const char **msg)
{
    if (r->truncated && r->err.code == ERR_NONE) {
        *msg = TOO_LARGE_MSG;
        return ERR_TRUNCATED;
    }
    *msg = r->err.msg;
    return r->err.code;
}

static void raw_keep(struct diag_session *s, const struct job *j, const struct rcmd_result *r, const char *what)
{
    const char *msg;
    int code = result_code(r, &msg);
    raw_add(s, j->side, j->step, what, rcmd_line(j->cmd), r->out.data, r->out.len, r->err_out.data,
            r->err_out.len, r->exit_status, code, code != ERR_NONE ? msg : NULL, ts_sec(&r->started),
            ts_sec(&r->ended) - ts_sec(&r->started));
}

/* ---- jobs ---------------------------------------------------------------- */

static void job_done_cb(struct rcmd *c, void *ud)
{
    struct job *j = ud;
    (void)c;
    if (!j->done) {
        j->done = true;
        if (j->s->pending)
            j->s->pending--;
        if (j->bg && j->s->pending_bg)
            j->s->pending_bg--;
    }
}

static void job_free(struct job *j)
{
    if (!j)
        return;
    rcmd_free(j->cmd);
    free(j->command);
    for (size_t k = 0; k < j->n_parts; k++)
        free(j->part_cmd[k]);
    free(j);
}

static void job_fail(struct diag_session *s, struct job *j, const char *why)
{
    const struct probe_spec *ps = collect_probe(j->kind);
    collect_gap(&s->side[j->side], ps->step, ps->what, why);
    if (j->kind == PROBE_PING) {
        s->side[j->side].f.sweep.error = strpool_printf(&s->side[j->side].pool, "ping: %s", why);
        s->sw[j->side].finished = true;
    }
}

/* Starts a queued job on its peer.  false when it could not start (then it
 * is recorded as a gap and freed by the caller). */
static bool job_launch(struct diag_session *s, struct job *j)
{
    const struct probe_spec *ps = collect_probe(j->kind);
    (void)ps;
    struct rcmd_opts o = {.command = j->command,
                          .sudo = j->sudo,
                          .time_limit_s = j->limit,
                          .on_done = job_done_cb,
                          .ud = j,
                          .max_output = 4u << 20};
    struct err e = {0};
    j->cmd = rcmd_start(s->peer[j->side], &o, &e);
    free(j->command);
    j->command = NULL;
    if (!j->cmd) {
        job_fail(s, j, e.msg[0] ? e.msg : "could not start");
        return false;
    }
    return true;
}

static size_t inflight(const struct diag_session *s, int side)
{
    size_t n = s->cap[side].cmd ? 1 : 0;
    for (size_t i = 0; i < s->n_jobs; i++)
        if (s->jobs[i]->side == side && s->jobs[i]->cmd && !s->jobs[i]->done)
            n++;
    return n;
}

/* Launches queued jobs while there is room on their peer. */
static void jobs_pump(struct diag_session *s)
{
    for (size_t i = 0; i < s->n_jobs; i++) {
        struct job *j = s->jobs[i];
        if (j->recorded || j->cmd || j->done || inflight(s, j->side) >= MAX_INFLIGHT)
            continue;
        if (!job_launch(s, j)) {
            j->done = true;
            if (s->pending)
                s->pending--;
            if (j->bg && s->pending_bg)
                s->pending_bg--;
        }
    }
}

static int job_start(struct diag_session *s, int side, enum probe_kind k, const char *command, unsigned limit,
                     int ping_size)
{
    const struct probe_spec *ps = collect_probe(k);
    if (!s->offline && (peer_state(s->peer[side]) == PEER_FAILED || peer_state(s->peer[side]) == PEER_CLOSED))
        return 0;
    if (s->offline && !s->off_connected[side])
        return 0;
    if (s->n_jobs == s->cap_jobs) {
        size_t cap = s->cap_jobs ? s->cap_jobs * 2 : 32;
        struct job **v = realloc(s->jobs, cap * sizeof *v);
        if (!v)
            return -1;
        s->jobs = v;
        s->cap_jobs = cap;
    }
    struct job *j = calloc(1, sizeof *j);
    if (!j)
        return -1;
    j->s = s;
    j->side = side;
    j->kind = k;
    j->step = s->step;
    j->ping_size = ping_size;
    j->limit = limit ? limit : 15;
    j->sudo = ps->sudo;
    j->command = strdup(command ? command : ps->command);
    if (!j->command) {
        free(j);
        return -1;
    }
    j->recorded = s->offline;
    j->bg = s->next_bg;
    s->pending++;
    if (j->bg)
        s->pending_bg++;
    s->jobs[s->n_jobs++] = j;
    if (!s->offline)
        jobs_pump(s);
    return 0;
}

static void handle_one(struct diag_session *s, int side, enum probe_kind kind, int ping_size, int status,
                       int err_code, const char *err_msg, const char *out, size_t out_len, const char *errt)
{
    struct collect_side *cs = &s->side[side];
    switch (kind) {
    case PROBE_ROUTE_PEER: {
        char ifn[64] = "";
        struct err e = {0};
        if (err_code == ERR_NONE && status == 0 &&
            capture_route_iface(out, out_len, ifn, sizeof ifn, &e) == 0)
            snprintf(s->cap[side].iface, sizeof s->cap[side].iface, "%s", ifn);
        break;
    }
    case PROBE_LOG_SIZE: {
        char *end = NULL;
        long v = err_code == ERR_NONE && status == 0 ? strtol(out, &end, 10) : -1;
        s->log_offset[side] = end && end != out && v >= 0 && v < 0x7fffffff ? (int)v : -1;
        break;
    }
    case PROBE_LINK: /* read once the route to the peer named the interface */
        s->link_text[side] = err_code == ERR_NONE ? strpool_dup(&cs->pool, out, out_len) : NULL;
        break;
    case PROBE_PING: {
        struct sweep *w = &s->sw[side];
        struct pf_sweep *f = &cs->f.sweep;
        if (err_code != ERR_NONE) {
            f->error = strpool_printf(&cs->pool, "ping: %s", err_msg);
            w->finished = true;
            break;
        }
        int mtu;
        /* ping says "local error: message too long" on stdout or stderr */
        struct buf both = BUF_INIT;
        buf_append(&both, out, out_len);
        buf_puts(&both, "\n");
        buf_puts(&both, errt);
        int res = collect_ping_result(status, both.data, both.len, &mtu);
        buf_free(&both);
        if (status == 2 && !out_len && strstr(errt, "ping")) {
            f->error = strpool_printf(&cs->pool, "%.*s", (int)strcspn(errt, "\n"), errt);
            w->finished = true;
            break;
        }
        if (res == 3)
            f->local_mtu = mtu;
        if (res == 2)
            f->frag_needed_mtu = mtu;
        if (ping_size == 56) {
            f->small_ok = res == 1;
            if (!f->small_ok)
                w->finished = true;
            else
                w->lo = 56;
        } else if (res == 1) {
            w->lo = ping_size;
        } else {
            w->hi = ping_size;
            if (f->first_fail < 0 || ping_size <= f->first_fail) {
                f->first_fail = ping_size;
                f->fail_silent = res == 0;
            }
        }
        f->largest_ok = w->lo > 56 || f->small_ok ? w->lo : -1;
        break;
    }
    default:
        collect_parse(cs, kind, status, err_code, out, out_len, errt);
        break;
    }
}

static const char *batch_nonce(const struct diag_session *s)
{
    return s->nonce;
}

static void batch_harvest(struct diag_session *s, struct job *j, const struct rcmd_result *r)
{
    const char *text = r->out.data ? r->out.data : "";
    for (size_t k = 0; k < j->n_parts; k++) {
        const struct probe_spec *ps = collect_probe(j->parts[k]);
        size_t st, ln;
        int status;
        int found = batch_section(text, r->out.len, batch_nonce(s), (int)j->parts[k], &st, &ln, &status);
        const char *msg;
        int code = result_code(r, &msg);
        if (found < 1 && code == ERR_NONE) {
            code = ERR_TRUNCATED;
            msg = found ? "output cut short" : "no output";
        }
        if (found == 1)
            code = ERR_NONE;
        raw_add(s, j->side, j->step, ps->what, j->part_cmd[k] ? j->part_cmd[k] : ps->command,
                found >= 0 ? text + st : "", found >= 0 ? ln : 0, NULL, 0, status, code,
                code != ERR_NONE ? msg : NULL, ts_sec(&r->started), ts_sec(&r->ended) - ts_sec(&r->started));
        char *part = strndup(found >= 0 ? text + st : "", found >= 0 ? ln : 0);
        if (!part)
            continue;
        /* in a batch stderr is folded into the section: give it as errtext too */
        handle_one(s, j->side, j->parts[k], 0, status, code, msg, part, strlen(part), part);
        free(part);
    }
    if (r->err.code == ERR_SUDO)
        s->side[j->side].f.sudo = TRI_NO;
    else if (j->sudo && r->err.code == ERR_NONE)
        s->side[j->side].f.sudo = TRI_YES;
    if (r->err_out.len)
        raw_add(s, j->side, j->step, "probes (stderr)", rcmd_line(j->cmd), NULL, 0, r->err_out.data, r->err_out.len,
                r->exit_status, ERR_NONE, NULL, ts_sec(&r->started), ts_sec(&r->ended) - ts_sec(&r->started));
}

/* A batch of probes on one peer; cmd_override[k] (may be NULL) replaces the
 * probe's own command. */
static int batch_start_cmds(struct diag_session *s, int side, bool sudo, const enum probe_kind *kinds,
                            const char *const *cmd_override, size_t n, unsigned limit)
{
    const char *cmds[12];
    int ids[12];
    if (n > 12)
        n = 12;
    for (size_t k = 0; k < n; k++) {
        cmds[k] = cmd_override && cmd_override[k] ? cmd_override[k] : collect_probe(kinds[k])->command;
        ids[k] = (int)kinds[k];
    }
    struct buf b = BUF_INIT;
    if (batch_build(&b, batch_nonce(s), ids, cmds, n) != 0) {
        buf_free(&b);
        return -1;
    }
    size_t before = s->n_jobs;
    int rc = job_start(s, side, PROBE_BATCH, b.data, limit, 0);
    buf_free(&b);
    if (rc == 0 && s->n_jobs > before) {
        struct job *j = s->jobs[s->n_jobs - 1];
        j->sudo = sudo;
        memcpy(j->parts, kinds, n * sizeof *kinds);
        j->n_parts = n;
        for (size_t k = 0; k < n; k++)
            j->part_cmd[k] = cmd_override && cmd_override[k] ? strdup(cmd_override[k]) : NULL;
    }
    return rc;
}

static int batch_start(struct diag_session *s, int side, bool sudo, const enum probe_kind *kinds, size_t n,
                       unsigned limit)
{
    return batch_start_cmds(s, side, sudo, kinds, NULL, n, limit);
}

/* ---- offline: the record answers ------------------------------------------ */

/* The first unused recorded output of this end for this probe whose command
 * line contains want; one recorded without a command line (older bundles)
 * when none does.  NULL when the record has none. */
static const struct diag_raw *rec_take(struct diag_session *s, int side, const char *what, const char *want)
{
    size_t pick = (size_t)-1;
    for (size_t i = 0; i < s->n_rec; i++) {
        const struct diag_raw *d = &s->rec[i];
        if (s->rec_used[i] || d->side != side || !d->what || strcmp(d->what, what) ||
            d->run != (s->n_runs ? (int)s->n_runs - 1 : 0))
            continue;
        bool no_line = !d->line || !*d->line;
        if (!want || !*want || (!no_line && strstr(d->line, want))) {
            pick = i;
            break;
        }
        if (no_line && pick == (size_t)-1)
            pick = i;
    }
    if (pick == (size_t)-1)
        return NULL;
    s->rec_used[pick] = true;
    return &s->rec[pick];
}

/* Keeps a recorded output as this session's evidence, as it was. */
static void rec_keep(struct diag_session *s, const struct diag_raw *d, int step)
{
    const char *o = d->output ? d->output : "";
    size_t n = s->n_raw;
    raw_add(s, d->side, step, d->what, d->line, o, strlen(o), NULL, 0, d->exit_status, d->error_code, d->error,
            d->started, d->seconds);
    if (s->n_raw > n)
        s->raw[n].run = d->run;
}

/* A kept output is stdout, then "--- stderr ---" and stderr (raw_add). */
static void split_stderr(const char *o, size_t *out_len, const char **errt)
{
    static const char mark[] = "--- stderr ---\n";
    const char *m = strstr(o, "\n--- stderr ---\n");
    if (!strncmp(o, mark, sizeof mark - 1)) {
        *out_len = 0;
        *errt = o + sizeof mark - 1;
    } else if (m) {
        *out_len = (size_t)(m - o);
        *errt = m + sizeof mark;
    } else {
        *out_len = strlen(o);
        *errt = "";
    }
}

static void batch_harvest_recorded(struct diag_session *s, struct job *j)
{
    int run_code = ERR_NONE;
    const struct diag_raw *last = NULL;
    for (size_t k = 0; k < j->n_parts; k++) {
        const struct probe_spec *ps = collect_probe(j->parts[k]);
        const struct diag_raw *d = rec_take(s, j->side, ps->what, j->part_cmd[k] ? j->part_cmd[k] : ps->command);
        if (!d)
            continue;
        last = d;
        rec_keep(s, d, j->step);
        const char *o = d->output ? d->output : "";
        /* in a batch stderr is folded into the section: given as errtext too (as live) */
        handle_one(s, j->side, j->parts[k], 0, d->exit_status, d->error_code, d->error ? d->error : "", o,
                   strlen(o), o);
        /* a section that is missing says "truncated"; any other error is the whole command's */
        if (d->error_code != ERR_NONE && d->error_code != ERR_TRUNCATED && run_code == ERR_NONE)
            run_code = d->error_code;
    }
    if (!last)
        return; /* the record has none of it: the command never ran */
    if (run_code == ERR_SUDO)
        s->side[j->side].f.sudo = TRI_NO;
    else if (j->sudo && run_code == ERR_NONE)
        s->side[j->side].f.sudo = TRI_YES;
    /* the batch's own stderr, kept beside its sections */
    for (size_t i = 0; i < s->n_rec; i++) {
        const struct diag_raw *d = &s->rec[i];
        if (!s->rec_used[i] && d->side == j->side && d->what && !strcmp(d->what, "probes (stderr)") &&
            d->started == last->started && d->run == last->run) {
            s->rec_used[i] = true;
            rec_keep(s, d, j->step);
            break;
        }
    }
}

static void one_harvest_recorded(struct diag_session *s, struct job *j)
{
    const struct probe_spec *ps = collect_probe(j->kind);
    const struct diag_raw *d = rec_take(s, j->side, ps->what, j->command);
    if (!d) {
        if (j->kind == PROBE_PING) /* the recorded sweep went another way: stop here */
            s->sw[j->side].finished = true;
        return;
    }
    rec_keep(s, d, j->step);
    const char *o = d->output ? d->output : "", *errt;
    size_t ol;
    split_stderr(o, &ol, &errt);
    char *out = strndup(o, ol);
    if (!out)
        return;
    handle_one(s, j->side, j->kind, j->ping_size, d->exit_status, d->error_code, d->error ? d->error : "", out, ol,
               errt);
    free(out);
    if (j->sudo && d->error_code == ERR_SUDO)
        s->side[j->side].f.sudo = TRI_NO;
}

/* Offline, every command "ends" as soon as it is asked for. */
static void offline_complete(struct diag_session *s)
{
    for (size_t i = 0; i < s->n_jobs; i++) {
        struct job *j = s->jobs[i];
        if (j->recorded && !j->done) {
            j->done = true;
            if (s->pending)
                s->pending--;
            if (j->bg && s->pending_bg)
                s->pending_bg--;
        }
    }
}

/* Parses and frees the finished jobs of the round. */
static void jobs_harvest(struct diag_session *s)
{
    size_t keep = 0;
    for (size_t i = 0; i < s->n_jobs; i++) {
        struct job *j = s->jobs[i];
        if (!j->done) {
            s->jobs[keep++] = j;
            continue;
        }
        if (j->recorded) {
            if (j->kind == PROBE_BATCH)
                batch_harvest_recorded(s, j);
            else
                one_harvest_recorded(s, j);
            job_free(j);
            continue;
        }
        if (!j->cmd) { /* never started: already recorded as a gap */
            job_free(j);
            continue;
        }
        const struct rcmd_result *r = rcmd_result(j->cmd);
        if (j->kind == PROBE_BATCH) {
            batch_harvest(s, j, r);
        } else {
            raw_keep(s, j, r, collect_probe(j->kind)->what);
            const char *msg;
            int code = result_code(r, &msg);
            handle_one(s, j->side, j->kind, j->ping_size, r->exit_status, code, msg,
                       r->out.data ? r->out.data : "", r->out.len, r->err_out.data ? r->err_out.data : "");
        }
        if (j->sudo && r->err.code == ERR_SUDO)
            s->side[j->side].f.sudo = TRI_NO;
        job_free(j);
    }
    s->n_jobs = keep;
    jobs_pump(s);
}

/* ---- steps ------------------------------------------------------------------ */

static void step_begin(struct diag_session *s, int step, const char *activity)
{
    if (s->step != step) {
        s->step = step;
        s->step_t0[step] = now_mono();
        s->status[step] = STEP_RUNNING;
    }
    s->activity = activity;
    notify(s);
}

/* Removes the findings of a step (before it is judged again). */
static void findings_drop_step(struct findings *fs, int step)
{
    struct findings keep = FINDINGS_INIT;
    for (size_t i = 0; i < fs->n; i++) {
        const struct finding *f = &fs->v[i];
        if (f->step == step)
            continue;
        struct finding *n = findings_add(&keep, f->id, f->step, f->sev, f->decision, "%s", f->title);
        for (size_t k = 0; n && k < f->n_ev; k++)
            finding_add_evidence(n, f->ev[k].peer, f->ev[k].source, f->ev[k].detail ? "%s" : NULL, f->ev[k].detail);
    }
    findings_free(fs);
    *fs = keep;
}

static void step_judge(struct diag_session *s, int step)
{
    findings_drop_step(&s->fs, step);
    struct diag_in in = {.a = &s->side[0].f,
                         .b = s->one_end ? NULL : &s->side[1].f,
                         .reach = s->have_reach ? &s->reach : NULL,
                         .active = s->opts.active};
    rules_step(step, &in, &s->fs);
    /* a step that produced only "could not run" (or, on one end, "needs the
     * other end") findings was skipped */
    bool only_gaps = true, any = false;
    for (size_t i = 0; i < s->fs.n; i++) {
        if (s->fs.v[i].step != step)
            continue;
        any = true;
        const char *dot = strrchr(s->fs.v[i].id, '.');
        if (!dot || (strcmp(dot, ".not_run") && strcmp(dot, ".other_end_needed")))
            only_gaps = false;
    }
    s->status[step] = any && only_gaps ? STEP_SKIPPED : findings_step_status(&s->fs, step);
    s->step_sec[step] = now_mono() - s->step_t0[step];
    if (rules_cannot_diagnose(&s->fs))
        s->nodiag = true;
    notify(s);
}

static bool side_ok(const struct diag_session *s, int i)
{
    if (s->offline)
        return s->off_connected[i];
    return s->peer[i] && peer_state(s->peer[i]) == PEER_READY;
}

/* What the capture waits for (the SAs and connections: discovery, the
 * counters before, the log's size) is one batch; the rest of step 1's facts
 * come in the background while step 2 prepares and captures. */
static void start_collect(struct diag_session *s)
{
    static const enum probe_kind first[] = {PROBE_SAS, PROBE_CONNS, PROBE_LOG_SIZE, PROBE_LSW_STATUS,
                                            PROBE_LSW_TRAFFIC};
    static const enum probe_kind as_root[] = {PROBE_SS, PROBE_NFT, PROBE_IPT, PROBE_LOG, PROBE_LSW_LOG};
    static const enum probe_kind as_user[] = {PROBE_SWCONF, PROBE_SYSCTL};
    for (int i = 0; i < 2; i++) {
        if (!side_ok(s, i))
            continue;
        struct collect_side *cs = &s->side[i];
        cs->f.n_gaps = 0;
        memset(&cs->f.fw, 0, sizeof cs->f.fw);
        cs->f.fw.mss_value = -1;
        batch_start(s, i, true, first, sizeof first / sizeof first[0], 20);
        s->next_bg = true;
        batch_start(s, i, true, as_root, sizeof as_root / sizeof as_root[0], 20);
        batch_start(s, i, false, as_user, sizeof as_user / sizeof as_user[0], 10);
        s->next_bg = false;
    }
    s->step1_due = true;
}

/* The nft and iptables outputs both arrive; when nft lists nothing useful and
 * iptables-save does, iptables wins (iptables-legacy), and the other way. */
static void fw_gaps_settle(struct collect_side *cs)
{
    int w = 0;
    for (int i = 0; i < cs->f.n_gaps; i++) {
        const struct pf_gap *g = &cs->f.gaps[i];
        bool fw_gap = !strcmp(g->probe, "nft list ruleset") || !strcmp(g->probe, "iptables-save");
        if (fw_gap && cs->f.fw.known && strcmp(g->reason, "sudo -n refused"))
            continue; /* the other tool answered */
        cs->f.gaps[w++] = *g;
    }
    cs->f.n_gaps = w;
}

/* One end only: the connection is the one asked for, else the one with an
 * IKE SA, else the only one configured; several: ambiguous. */
static void discover_one_end(struct diag_session *s)
{
    struct collect_side *cs = &s->side[0];
    size_t nc = cs->have_conns ? cs->conns.n_conn : 0, ns = cs->have_sas ? cs->sas.n_ike : 0;
    const char *pick = NULL;
    struct buf cand = BUF_INIT;
    int n_cand = 0;
    for (size_t k = 0; k < nc; k++) {
        const char *name = cs->conns.conn[k].name;
        if (s->conn_opt) {
            if (!strcmp(name, s->conn_opt))
                pick = name;
            continue;
        }
        bool has_sa = false;
        for (size_t i = 0; i < ns; i++)
            has_sa |= !strcmp(cs->sas.ike[i].name, name);
        if (has_sa || nc == 1) {
            buf_printf(&cand, "%s%s", n_cand ? ", " : "", name);
            n_cand++;
            pick = name;
        }
    }
    if (n_cand > 1) {
        struct finding *f = findings_add(&s->fs, "transport.conn_ambiguous", STEP_TRANSPORT, SEV_FAILURE, NULL,
                                         "several connections on %s could be the tunnel: %s; choose one with --conn",
                                         diag_peer_name(s, 0), cand.data ? cand.data : "");
        if (f) {
            free(f->decision);
            f->decision = prose_render("transport.conn_ambiguous", NULL);
        }
        s->nodiag = true;
        pick = NULL;
    }
    buf_free(&cand);
    if (pick)
        cs->conn_want = strpool_dup(&cs->pool, pick, strlen(pick));
    collect_select_conn(cs);
    cs->peer_ike_addr = cs->f.ike.remote_host;
}

static void do_discover(struct diag_session *s)
{
    if (s->one_end) {
        discover_one_end(s);
        return;
    }
    struct discover_conn *dc[2] = {NULL, NULL};
    struct discover_sa *ds[2] = {NULL, NULL};
    struct discover_side side[2] = {{0}};
    for (int i = 0; i < 2; i++) {
        const struct collect_side *cs = &s->side[i];
        size_t nc = cs->have_conns ? cs->conns.n_conn : 0, ns = cs->have_sas ? cs->sas.n_ike : 0;
        dc[i] = calloc(nc + 1, sizeof *dc[i]);
        ds[i] = calloc(ns + 1, sizeof *ds[i]);
        if (!dc[i] || !ds[i])
            goto out;
        for (size_t k = 0; k < nc; k++) {
            const struct conn_conf *c = &cs->conns.conn[k];
            dc[i][k].name = c->name;
            for (size_t a = 0; a < c->local_addrs.n && a < DISCOVER_MAX_ADDRS - 1; a++)
                dc[i][k].local_addrs[a] = c->local_addrs.item[a];
            for (size_t a = 0; a < c->remote_addrs.n && a < DISCOVER_MAX_ADDRS - 1; a++)
                dc[i][k].remote_addrs[a] = c->remote_addrs.item[a];
        }
        for (size_t k = 0; k < ns; k++)
            ds[i][k] = (struct discover_sa){cs->sas.ike[k].name, cs->sas.ike[k].local_host,
                                            cs->sas.ike[k].remote_host};
        side[i] = (struct discover_side){dc[i], nc, ds[i], ns};
    }
    struct discover_out d;
    discover_conn(&side[0], &side[1], s->conn_opt, &d);
    if (d.result == DISCOVER_FOUND) {
        s->side[0].conn_want = strpool_dup(&s->side[0].pool, d.name_a, strlen(d.name_a));
        s->side[1].conn_want = strpool_dup(&s->side[1].pool, d.name_b, strlen(d.name_b));
    } else if (d.result == DISCOVER_AMBIGUOUS) {
        struct buf b = BUF_INIT;
        for (size_t k = 0; k < d.n_cand; k++)
            buf_printf(&b, "%s%s (%s) / %s (%s)", k ? ", " : "", d.cand_a[k], diag_peer_name(s, 0), d.cand_b[k],
                       diag_peer_name(s, 1));
        struct finding *f = findings_add(&s->fs, "transport.conn_ambiguous", STEP_TRANSPORT, SEV_FAILURE, NULL,
                                         "several connections join the two peers: %s; choose one with --conn",
                                         b.data ? b.data : "");
        if (f) {
            free(f->decision);
            f->decision = prose_render("transport.conn_ambiguous", NULL);
        }
        buf_free(&b);
        s->nodiag = true;
    } else {
        /* No pair: the name given may exist on one side only, and when one
         * end's list could not be read (sudo refused, swanctl missing, not
         * connected) the other end is still diagnosed with its connection. */
        for (int i = 0; i < 2; i++) {
            if (!s->conn_opt && s->side[1 - i].have_conns)
                continue; /* both lists read and none joins them: a real finding */
            const char *n = discover_alone(&side[i], s->conn_opt);
            if (n)
                s->side[i].conn_want = strpool_dup(&s->side[i].pool, n, strlen(n));
        }
    }
out:
    for (int i = 0; i < 2; i++) {
        free(dc[i]);
        free(ds[i]);
        collect_select_conn(&s->side[i]);
        s->side[i].peer_ike_addr = s->side[i].f.ike.remote_host;
    }
}

/* ---- capture -------------------------------------------------------------- */

struct cap_ctx {
    struct diag_session *s;
    int side;
};

/* The pcap file of an end, opened once the stream's header is known (from the
 * first record's callback: the header and the first records often arrive in
 * one read, and every record must reach the file). */
static void cap_open_writer(struct diag_session *s, int side)
{
    struct capside *c = &s->cap[side];
    int lt, ns;
    uint32_t snap;
    if (c->writer || !s->pcap_dir || !c->stream || capture_stream_header(c->stream, &lt, &snap, &ns) != 0)
        return;
    c->header = true;
    struct err e = {0};
    char path[4096];
    size_t run = s->n_runs ? s->n_runs - 1 : 0;
    if (run)
        snprintf(path, sizeof path, "%s/%s.run%zu.pcap", s->pcap_dir, side ? "b" : "a", run);
    else
        snprintf(path, sizeof path, "%s/%s.pcap", s->pcap_dir, side ? "b" : "a");
    c->writer = capture_writer_open(path, lt, snap, ns, &e);
    char *p = c->writer ? strdup(path) : NULL;
    if (p) { /* the latest capture is the one the reach findings come from */
        free(s->pcap_path[side]);
        s->pcap_path[side] = p;
    }
}

static int cap_event2(void *ctx, const struct capture_record *rec, const struct capture_event *ev, struct err *e)
{
    struct cap_ctx *cc = ctx;
    struct diag_session *s = cc->s;
    struct capside *c = &s->cap[cc->side];
    c->events++;
    if (!c->writer)
        cap_open_writer(s, cc->side);
    if (c->writer)
        capture_writer_write(c->writer, rec, e);
    if (s->acc)
        reach_acc_add(s->acc, cc->side, ev);
    return 0;
}

static void cap_data(struct rcmd *cmd, int is_stderr, const char *data, size_t len, void *ud)
{
    struct cap_ctx *cc = ud;
    struct capside *c = &cc->s->cap[cc->side];
    (void)cmd;
    if (is_stderr || c->failed)
        return;
    if (!cc->s->offline && cc->s->cap_win[cc->side][0] <= 0 && len) {
        /* The capture's start: when the first byte of its pcap stream arrives.
         * tcpdump writes the 24-byte file header (pcap_dump_open, flushed at
         * once by -U) after its capture handle is active and the filter set,
         * before any packet (tcpdump 4.99: the header comes with "listening
         * on", packets or not), so it was capturing by then, up to one network
         * delay earlier.  Not the time the command was sent (ssh, sudo and
         * tcpdump's own start take 0.1 s or more before it captures) nor its
         * first packet (an end whose UDP/4500 is blocked may get none): a
         * packet the other end sent before this moment is not counted lost. */
        cc->s->cap_win[cc->side][0] = now_real();
        if (cc->s->acc) {
            struct correlate_span sp = correlate_span_of_seconds(cc->s->cap_win[cc->side][0], 0);
            reach_acc_declare_span(cc->s->acc, cc->side, sp.start_ns, 0);
        }
    }
    struct err e = {0};
    if (capture_stream_feed(c->stream, data, len, &e) != 0) {
        c->failed = true;
        snprintf(c->error, sizeof c->error, "capture stream: %s", e.msg);
        return;
    }
    if (!c->header) {
        int lt, ns;
        uint32_t snap;
        if (capture_stream_header(c->stream, &lt, &snap, &ns) == 0) {
            c->header = true;
            cap_open_writer(cc->s, cc->side);
        }
    }
}

static void cap_done(struct rcmd *cmd, void *ud)
{
    struct cap_ctx *cc = ud;
    struct capside *c = &cc->s->cap[cc->side];
    (void)cmd;
    c->ended = true;
    /* Ended before we stopped it (tcpdump failed, or the peer's timeout): it
     * captured until this moment at the latest. */
    double *w = cc->s->cap_win[cc->side];
    if (!cc->s->offline && w[0] > 0 && w[1] <= 0)
        w[1] = now_real();
    if (cc->s->pending)
        cc->s->pending--;
}

static struct cap_ctx cap_ctx_of(struct diag_session *s, int side)
{
    return (struct cap_ctx){s, side};
}

/* Offline: the end's recorded capture file through the same stream decoder
 * (and so the same events, in the same order) as live. */
static void cap_read_recorded(struct diag_session *s, int side)
{
    struct capside *c = &s->cap[side];
    struct cap_ctx *cc = malloc(sizeof *cc);
    if (!cc) {
        c->failed = true;
        snprintf(c->error, sizeof c->error, "out of memory");
        return;
    }
    *cc = cap_ctx_of(s, side);
    c->ctx = cc;
    c->ended = true;
    if (!s->pcap_path[side])
        return; /* no capture recorded: cap_finish says why, as live */
    c->stream = capture_stream_new(cap_event2, cc);
    FILE *f = c->stream ? fopen(s->pcap_path[side], "rb") : NULL;
    if (!f) {
        c->failed = true;
        snprintf(c->error, sizeof c->error, "capture of %s: cannot read %s", diag_peer_name(s, side),
                 s->pcap_path[side]);
        return;
    }
    char chunk[65536];
    size_t n;
    while (!c->failed && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        cap_data(NULL, 0, chunk, n, cc);
    fclose(f);
}

static void cap_start(struct diag_session *s)
{
    s->have_reach = false;
    reach_acc_free(s->acc);
    const char *local[2] = {s->side[0].f.ike.local_host, s->side[1].f.ike.local_host};
    s->acc = reach_acc_new(local[0], local[1]);
    if (!s->offline)
        memset(s->cap_win, 0, sizeof s->cap_win);
    for (int i = 0; i < 2; i++) {
        struct capside *c = &s->cap[i];
        c->header = c->ended = c->failed = false;
        c->error[0] = '\0';
        c->events = 0;
        if (!side_ok(s, i)) {
            c->failed = true;
            snprintf(c->error, sizeof c->error, "%s is not connected", diag_peer_name(s, i));
            continue;
        }
        if (!c->iface[0]) {
            c->failed = true;
            snprintf(c->error, sizeof c->error, "no route from %s to the other gateway: capture interface unknown",
                     diag_peer_name(s, i));
            continue;
        }
        if (s->offline) {
            cap_read_recorded(s, i);
            continue;
        }
        struct capture_cmd_opts co = {.iface = c->iface, .snaplen = 0,
                                      .seconds = s->opts.capture_seconds + 3, .sudo = 0};
        char *line = NULL;
        struct err e = {0};
        if (capture_cmd_build(&co, &line, &e) != 0) {
            c->failed = true;
            snprintf(c->error, sizeof c->error, "%s", e.msg);
            continue;
        }
        c->stream = capture_stream_new(cap_event2, NULL);
        struct cap_ctx *cc = malloc(sizeof *cc);
        if (!c->stream || !cc) {
            free(cc);
            free(line);
            c->failed = true;
            snprintf(c->error, sizeof c->error, "out of memory");
            continue;
        }
        *cc = cap_ctx_of(s, i);
        c->ctx = cc;
        capture_stream_free(c->stream);
        c->stream = capture_stream_new(cap_event2, cc);
        struct rcmd_opts o = {.command = line, .sudo = 1, .time_limit_s = s->opts.capture_seconds + 8,
                              .on_data = cap_data, .on_done = cap_done, .ud = cc};
        s->pending++;
        c->cmd = rcmd_start(s->peer[i], &o, &e);
        free(line);
        if (!c->cmd) {
            s->pending--;
            c->failed = true;
            snprintf(c->error, sizeof c->error, "%s", e.msg);
            capture_stream_free(c->stream);
            c->stream = NULL;
            free(cc);
            c->ctx = NULL;
            continue;
        }
    }
    s->cap_started = now_mono();
    s->cap_deadline = 0;
    s->cap_hard_deadline = s->cap_started + s->opts.capture_seconds + 4.0;
}

/* Both streams delivered their pcap header: the window starts. */
static void cap_tick(struct diag_session *s)
{
    double t = now_mono();
    if (!s->cap_deadline) {
        bool ready = true;
        for (int i = 0; i < 2; i++)
            if (s->cap[i].cmd && !s->cap[i].header && !s->cap[i].ended)
                ready = false;
        if (ready || t - s->cap_started > 3.0)
            s->cap_deadline = t + s->opts.capture_seconds;
    }
    if ((s->cap_deadline && t >= s->cap_deadline) || t >= s->cap_hard_deadline)
        for (int i = 0; i < 2; i++)
            if (s->cap[i].cmd && !s->cap[i].ended && rcmd_state(s->cap[i].cmd) != RCMD_DONE) {
                /* The capture's end: when we ask it to stop.  tcpdump goes on
                 * capturing until the signal reaches it, so this is no later
                 * than its real end (packets captured after it still come). */
                if (s->cap_win[i][0] > 0 && s->cap_win[i][1] <= 0)
                    s->cap_win[i][1] = now_real();
                rcmd_stop(s->cap[i].cmd);
            }
}

static void cap_finish(struct diag_session *s)
{
    const char *why = NULL;
    char buf[420];
    for (int i = 0; i < 2 && !s->offline; i++)
        if (s->cap_win[i][0] > 0 && s->cap_win[i][1] <= 0)
            s->cap_win[i][1] = now_real(); /* neither stopped nor seen to end */
    for (int i = 0; i < 2; i++) {
        struct capside *c = &s->cap[i];
        if (s->offline && c->ctx) {
            /* the capture command as recorded: its exit, its stderr */
            const struct diag_raw *d = rec_take(s, i, "tcpdump (capture)", NULL);
            if (!c->failed && !c->header) {
                c->failed = true;
                const char *et = "";
                size_t ol;
                if (d && d->output)
                    split_stderr(d->output, &ol, &et);
                snprintf(c->error, sizeof c->error, "tcpdump on %s produced no capture: %s%.*s",
                         diag_peer_name(s, i), d && d->error_code == ERR_SUDO ? "sudo -n refused " : "",
                         (int)strcspn(et, "\n"), et);
            }
            if (d)
                rec_keep(s, d, STEP_REACH);
        } else if (c->cmd) {
            const struct rcmd_result *r = rcmd_result(c->cmd);
            if (!c->failed && !c->header) {
                c->failed = true;
                const char *et = r->err_out.data ? r->err_out.data : "";
                snprintf(c->error, sizeof c->error, "tcpdump on %s produced no capture: %s%.*s",
                         diag_peer_name(s, i), r->err.code == ERR_SUDO ? "sudo -n refused " : "",
                         (int)strcspn(et, "\n"), et);
            }
            struct job jj = {.s = s, .side = i, .kind = PROBE_SAS, .step = STEP_REACH, .cmd = c->cmd};
            raw_keep(s, &jj, r, "tcpdump (capture)");
            /* the pcap bytes are not kept as text evidence (its stderr is) */
            struct buf t = BUF_INIT;
            buf_puts(&t, "(pcap stream)");
            if (r->err_out.len) {
                buf_puts(&t, "\n--- stderr ---\n");
                buf_append(&t, r->err_out.data, r->err_out.len);
            }
            struct buf red = BUF_INIT;
            if (redact_text(t.data ? t.data : "", t.len, NULL, &red) < 0)
                buf_reset(&red);
            free(s->raw[s->n_raw - 1].output);
            s->raw[s->n_raw - 1].output = buf_take(&red);
            buf_free(&t);
            rcmd_free(c->cmd);
            c->cmd = NULL;
        }
        if (c->stream) {
            struct err e = {0};
            capture_stream_finish(c->stream, &e);
            capture_stream_free(c->stream);
            c->stream = NULL;
        }
        if (c->writer) {
            struct err e = {0};
            capture_writer_flush(c->writer, &e);
            capture_writer_free(c->writer);
            c->writer = NULL;
        }
        free(c->ctx);
        c->ctx = NULL;
        if (c->failed && !why) {
            snprintf(buf, sizeof buf, "%s", c->error);
            why = buf;
        }
    }
    /* this run's capture of each end, for the bundle */
    struct srun *run = s->n_runs ? &s->runs[s->n_runs - 1] : NULL;
    for (int i = 0; run && i < 2; i++) {
        free(run->pcap[i]);
        run->pcap[i] = s->pcap_path[i] ? strdup(s->pcap_path[i]) : NULL;
        run->captured[i] = run->pcap[i] != NULL;
        run->win[i][0] = s->cap_win[i][0];
        run->win[i][1] = s->cap_win[i][1];
    }
    /* each end's capture span, live as measured, offline as recorded: the
     * correlation counts loss within them (playbook/correlate.h) */
    for (int i = 0; i < 2; i++)
        if (s->acc && s->cap_win[i][0] > 0 && s->cap_win[i][1] >= s->cap_win[i][0]) {
            struct correlate_span sp = correlate_span_of_seconds(s->cap_win[i][0], s->cap_win[i][1]);
            reach_acc_declare_span(s->acc, i, sp.start_ns, sp.end_ns);
        }
    memset(&s->reach, 0, sizeof s->reach);
    if (why) {
        s->reach.ran = false;
        s->reach.error = strpool_dup(&s->side[0].pool, why, strlen(why));
    } else {
        struct err e = {0};
        if (reach_acc_finish(s->acc, &s->reach, &s->side[0].pool, &e) != 0) {
            s->reach.ran = false;
            s->reach.error = strpool_dup(&s->side[0].pool, e.msg, strlen(e.msg));
        }
    }
    reach_acc_free(s->acc);
    s->acc = NULL;
    s->have_reach = true;
}

/* ---- sweep --------------------------------------------------------------- */

static void sweep_next(struct diag_session *s)
{
    for (int i = 0; i < 2; i++) {
        struct sweep *w = &s->sw[i];
        struct collect_side *cs = &s->side[i];
        if (!w->running || w->finished || !side_ok(s, i))
            continue;
        int size;
        if (!cs->f.sweep.small_ok && w->lo < 56)
            size = 56;
        else if (w->hi <= w->lo + 1)
            size = -1;
        else
            size = (w->lo + w->hi) / 2;
        if (w->tries == 1 && cs->f.sweep.small_ok)
            size = w->hi - 1; /* the largest first: a healthy path finishes in one more ping */
        if (size < 0 || w->tries > 16) {
            w->finished = true;
            continue;
        }
        w->cur = size;
        w->tries++;
        struct buf b = BUF_INIT;
        const char *argv[] = {"ping", "-n", "-M", "do", "-c", "1", "-W", "1", "-s", NULL, "-I", w->from, w->to};
        char sz[16];
        snprintf(sz, sizeof sz, "%d", size);
        argv[9] = sz;
        struct err e = {0};
        if (shquote_argv(&b, 13, argv, &e) == 0)
            job_start(s, i, PROBE_PING, b.data, 5, size);
        buf_free(&b);
    }
}

static void sweep_begin(struct diag_session *s)
{
    for (int i = 0; i < 2; i++) {
        struct collect_side *cs = &s->side[i];
        struct sweep *w = &s->sw[i];
        memset(w, 0, sizeof *w);
        cs->f.sweep = (struct pf_sweep){.largest_ok = -1, .first_fail = -1, .local_mtu = -1, .frag_needed_mtu = -1};
        if (!side_ok(s, i))
            continue;
        cs->f.sweep.ran = true;
        const char *from = collect_local_protected(cs);
        const char *to = collect_remote_host(cs);
        if (!from || !to) {
            cs->f.sweep.error = !to ? "no remote protected subnet to ping"
                                    : "no address of this gateway inside its local selectors (ip route get src)";
            continue;
        }
        cs->f.sweep.from = from;
        cs->f.sweep.to = to;
        w->from = from;
        w->to = to;
        w->running = true;
        w->lo = 0;
        w->hi = 1473; /* 1472 + 28 = 1500 */
    }
    sweep_next(s);
}

/* ---- one end ------------------------------------------------------------- */

static void utc_hms(double t, char *out, size_t n)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (t <= 0 || !gmtime_r(&tt, &tm) || !strftime(out, n, "%Y-%m-%d %H:%M:%S", &tm))
        snprintf(out, n, "(unknown)");
}

static void other_note_make(struct diag_session *s)
{
    char t0[40], t1[40];
    utc_hms(s->cap_win[0][0], t0, sizeof t0);
    utc_hms(s->cap_win[0][1], t1, sizeof t1);
    const struct peer_facts *f = &s->side[0].f;
    s->other_note = strpool_printf(
        &s->side[0].pool,
        "Only %s's end was collected (a half-bundle). For the both-ends answer the site of the other gateway%s%s%s "
        "must supply its own half-bundle: `tunnelscope diagnose ITS-GATEWAY --one-end --bundle DIR` run over the "
        "same minutes (this end's capture ran from %s to %s UTC; the two captures must overlap), which holds that "
        "gateway's SA states, configuration, firewall, routes and its capture of UDP/500, UDP/4500 and ESP. "
        "`tunnelscope merge THIS-BUNDLE ITS-BUNDLE --bundle OUT` then runs the whole playbook on both ends, "
        "correlation included.",
        diag_peer_name(s, 0), f->ike.remote_host ? " (" : "", f->ike.remote_host ? f->ike.remote_host : "",
        f->ike.remote_host ? ")" : "", t0, t1);
}

/* ---- the state machine ------------------------------------------------------ */

static void advance(struct diag_session *s);
static enum stage after(const struct diag_session *s, enum stage st);

static void enter(struct diag_session *s, enum stage st)
{
    s->stage = st;
    switch (st) {
    case ST_CONNECT:
        s->activity = "connecting";
        for (int i = 0; i < 2 && !s->offline; i++) {
            struct err e = {0};
            if (!s->peer[i])
                continue;
            enum peer_state ps = peer_state(s->peer[i]);
            if (ps != PEER_READY && ps != PEER_CONNECTING && ps != PEER_AUTHENTICATING)
                peer_connect(s->peer[i], &e);
        }
        notify(s);
        break;
    case ST_COLLECT:
        step_begin(s, STEP_TRANSPORT, "collecting facts");
        for (int i = 0; i < 2; i++) {
            struct collect_side *cs = &s->side[i];
            cs->f.connected = side_ok(s, i);
            if (!cs->f.connected) {
                const struct err *pe = s->peer[i] ? peer_error(s->peer[i]) : NULL;
                const char *why = s->offline ? s->off_error[i] : pe && pe->msg[0] ? pe->msg : NULL;
                cs->f.connect_error = strpool_printf(&cs->pool, "%s", why ? why : "not connected");
            }
        }
        start_collect(s);
        break;
    case ST_DISCOVER:
        do_discover(s);
        /* whether the diagnosis can go on is known from the SAs, the
         * connections and sudo alone: step 1 itself is judged when all its
         * facts are in (advance) */
        {
            struct findings tmp = FINDINGS_INIT;
            struct diag_in in = {.a = &s->side[0].f,
                                 .b = s->one_end ? NULL : &s->side[1].f,
                                 .active = s->opts.active};
            rules_step(STEP_TRANSPORT, &in, &tmp);
            if (rules_cannot_diagnose(&tmp))
                s->nodiag = true;
            findings_free(&tmp);
        }
        break;
    case ST_CAP_PREP:
        step_begin(s, STEP_REACH, "preparing the capture");
        for (int i = 0; i < 2; i++) {
            if (!side_ok(s, i))
                continue;
            /* one command: the route to the other gateway (capture interface),
             * the interface MTUs, the route to the remote protected subnet (step 3) */
            struct collect_side *cs = &s->side[i];
            s->cap[i].iface[0] = '\0';
            enum probe_kind kinds[3];
            const char *cmds[3];
            size_t n = 0;
            /* the other gateway as this one reaches it: its IKE SA, else its
             * configured remote address, else the other side's own address */
            const struct collect_side *os = &s->side[1 - i];
            const char *peer_addr = cs->f.ike.remote_host;
            const char *cands[] = {cs->f.conn.remote_addrs[0], os->f.ike.local_host, os->f.conn.local_addrs[0]};
            for (size_t c = 0; !peer_addr && c < sizeof cands / sizeof cands[0]; c++) {
                struct cidr probe;
                if (cands[c] && !cidr_parse(cands[c], &probe) && probe.len == (probe.family == 4 ? 32 : 128))
                    peer_addr = cands[c];
            }
            char *rcmd = NULL;
            struct err e = {0};
            if (peer_addr && capture_route_cmd(peer_addr, &rcmd, &e) == 0) {
                kinds[n] = PROBE_ROUTE_PEER;
                cmds[n++] = rcmd;
            }
            kinds[n] = PROBE_LINK;
            cmds[n++] = NULL;
            memset(&cs->f.route, 0, sizeof cs->f.route);
            const char *host = collect_remote_host(cs);
            char tcmd[96];
            if (host) {
                cs->f.route.dst = host;
                snprintf(tcmd, sizeof tcmd, "ip route get %s", host);
                kinds[n] = PROBE_ROUTE_TS;
                cmds[n++] = tcmd;
            }
            batch_start_cmds(s, i, false, kinds, cmds, n, 10);
            free(rcmd);
        }
        break;
    case ST_CAPTURE:
        s->activity = "capturing";
        cap_start(s);
        notify(s);
        break;
    case ST_CAP_AFTER:
        s->activity = "reading counters";
        for (int i = 0; i < 2; i++) {
            if (!side_ok(s, i))
                continue;
            enum probe_kind kinds[2] = {PROBE_SAS_AFTER, PROBE_LOG_NEW};
            char cmd[128];
            snprintf(cmd, sizeof cmd, "tail -c +%d /var/log/charon.log", s->log_offset[i] + 1);
            const char *cmds[2] = {NULL, cmd};
            batch_start_cmds(s, i, true, kinds, cmds, s->log_offset[i] >= 0 ? 2 : 1, 15);
        }
        notify(s);
        break;
    case ST_POLICY:
        step_begin(s, STEP_POLICY, "checking selectors, routes, NAT rules");
        for (int i = 0; i < 2; i++) {
            if (!side_ok(s, i))
                continue;
            struct collect_side *cs = &s->side[i];
            if (s->rerun) {
                memset(&cs->f.fw, 0, sizeof cs->f.fw);
                cs->f.fw.mss_value = -1;
                job_start(s, i, PROBE_NFT, NULL, 15, 0);
                job_start(s, i, PROBE_IPT, NULL, 15, 0);
            }
            if (!s->rerun)
                continue; /* the route was read before the capture */
            memset(&cs->f.route, 0, sizeof cs->f.route);
            const char *host = collect_remote_host(cs);
            if (host) {
                cs->f.route.dst = host;
                char cmd[96];
                snprintf(cmd, sizeof cmd, "ip route get %s", host);
                job_start(s, i, PROBE_ROUTE_TS, cmd, 10, 0);
            }
        }
        break;
    case ST_SWEEP:
        step_begin(s, STEP_MTU, s->opts.active ? "DF sweep" : "MTU arithmetic");
        if (s->opts.active)
            sweep_begin(s);
        break;
    case ST_TIMERS:
        step_begin(s, STEP_TIMERS, "comparing proposals and timers");
        if (s->rerun)
            for (int i = 0; i < 2; i++)
                if (side_ok(s, i))
                    job_start(s, i, PROBE_CONNS, NULL, 15, 0);
        break;
    case ST_DONE:
        if (s->one_end)
            other_note_make(s);
        s->activity = "done";
        s->step = 0;
        s->t_end = now_mono();
        notify(s);
        break;
    case ST_IDLE:
        break;
    }
}

/* The next stage after st, for a full run (or the end of a one-step re-run). */
static enum stage after(const struct diag_session *s, enum stage st)
{
    switch (st) {
    case ST_CONNECT:
        return ST_COLLECT;
    case ST_COLLECT:
        return ST_DISCOVER;
    case ST_DISCOVER:
        if (s->rerun)
            return ST_DONE;
        return s->nodiag ? ST_DONE : ST_CAP_PREP;
    case ST_CAP_PREP:
        return ST_CAPTURE;
    case ST_CAPTURE:
        return ST_CAP_AFTER;
    case ST_CAP_AFTER:
        return s->rerun ? ST_DONE : ST_POLICY;
    case ST_POLICY:
        return s->rerun ? ST_DONE : ST_SWEEP;
    case ST_SWEEP:
        return s->rerun ? ST_DONE : ST_TIMERS;
    case ST_TIMERS:
    default:
        return ST_DONE;
    }
}

/* A round ended: judge what it finished. */
static void round_end(struct diag_session *s)
{
    switch (s->stage) {
    case ST_CONNECT:
        s->t_connect_end = now_mono();
        break;
    case ST_CAP_PREP:
        for (int i = 0; i < 2; i++)
            if (s->link_text[i] && s->cap[i].iface[0])
                collect_link_mtu(&s->side[i], s->link_text[i], strlen(s->link_text[i]), s->cap[i].iface);
        break;
    case ST_CAPTURE:
        cap_finish(s);
        break;
    case ST_CAP_AFTER:
        for (int i = 0; i < 2; i++)
            collect_select_conn(&s->side[i]);
        {
            int64_t ain, aout, bin, bout;
            collect_deltas(&s->side[0], &ain, &aout);
            collect_deltas(&s->side[1], &bin, &bout);
            s->reach.a_in = ain;
            s->reach.a_out = aout;
            s->reach.b_in = bin;
            s->reach.b_out = bout;
        }
        step_judge(s, STEP_REACH);
        break;
    case ST_POLICY:
        for (int i = 0; i < 2; i++)
            fw_gaps_settle(&s->side[i]);
        step_judge(s, STEP_POLICY);
        break;
    case ST_SWEEP:
        step_judge(s, STEP_MTU);
        break;
    case ST_TIMERS:
        if (s->rerun)
            for (int i = 0; i < 2; i++)
                collect_select_conn(&s->side[i]);
        step_judge(s, STEP_TIMERS);
        break;
    default:
        break;
    }
}

static bool connect_settled(const struct diag_session *s)
{
    for (int i = 0; i < 2 && !s->offline; i++) {
        if (!s->peer[i])
            continue;
        enum peer_state ps = peer_state(s->peer[i]);
        if (ps == PEER_CONNECTING || ps == PEER_AUTHENTICATING || ps == PEER_IDLE)
            return false;
    }
    return true;
}

/* The round of the stage is over: its own jobs are done.  Background jobs
 * (step 1's facts) may still run while step 2 prepares and captures; every
 * other stage waits for them. */
static bool round_busy(const struct diag_session *s)
{
    bool bg_ok = s->stage == ST_COLLECT || s->stage == ST_CAP_PREP || s->stage == ST_CAPTURE ||
                 (s->stage == ST_DISCOVER && after(s, ST_DISCOVER) != ST_DONE);
    return (bg_ok ? s->pending - s->pending_bg : s->pending) > 0;
}

static void advance(struct diag_session *s)
{
    for (int guard = 0; guard < 64; guard++) {
        if (s->offline)
            offline_complete(s);
        jobs_harvest(s);
        if (s->step1_due && !s->pending_bg && s->stage != ST_COLLECT) {
            s->step1_due = false;
            for (int i = 0; i < 2; i++)
                fw_gaps_settle(&s->side[i]);
            step_judge(s, STEP_TRANSPORT);
        }
        if (s->stage == ST_DONE || s->stage == ST_IDLE)
            return;
        if (s->stage == ST_CONNECT && !connect_settled(s))
            return;
        if (s->stage == ST_CAPTURE) {
            if (!s->offline)
                cap_tick(s);
            if (round_busy(s))
                return;
        }
        if (s->stage == ST_SWEEP && s->opts.active && !s->pending) {
            sweep_next(s);
            if (s->pending)
                return;
        }
        if (round_busy(s))
            return;
        round_end(s);
        enter(s, after(s, s->stage));
    }
}

/* ---- public ----------------------------------------------------------------- */

static struct diag_session *session_alloc(const char *name_a, const char *name_b, const struct diag_opts *o,
                                          struct err *e)
{
    struct diag_session *s = calloc(1, sizeof *s);
    if (!s) {
        err_set(e, ERR_INTERNAL, "out of memory");
        return NULL;
    }
    const char *names[2] = {name_a, name_b};
    if (o)
        s->opts = *o;
    if (!s->opts.capture_seconds)
        s->opts.capture_seconds = DIAG_CAPTURE_DEFAULT;
    s->conn_opt = s->opts.conn ? strdup(s->opts.conn) : NULL;
    s->pcap_dir = s->opts.pcap_dir ? strdup(s->opts.pcap_dir) : NULL;
    s->opts.conn = s->conn_opt;
    s->opts.pcap_dir = s->pcap_dir;
    for (int i = 0; i < 2; i++) {
        struct collect_side *cs = &s->side[i];
        cs->name = names[i];
        cs->f.name = cs->name;
        cs->f.udp_timeout = cs->f.udp_timeout_stream = cs->f.conntrack_4500_timeout = -1;
        cs->f.keepalive_s = -1;
        cs->f.outer_mtu = -1;
        cs->f.fw.mss_value = -1;
        cs->f.sweep = (struct pf_sweep){.largest_ok = -1, .first_fail = -1, .local_mtu = -1, .frag_needed_mtu = -1};
        s->log_offset[i] = -1;
    }
    for (int k = 0; k <= STEP_COUNT; k++)
        s->step_sec[k] = -1;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(s->nonce, sizeof s->nonce, "%08lx%06lx", (unsigned long)(ts.tv_nsec ^ (long)getpid()) & 0xffffffffUL,
             (unsigned long)ts.tv_sec & 0xffffffUL);
    return s;
}

struct diag_session *diag_new(struct peer *a, struct peer *b, const struct diag_opts *o, struct err *e)
{
    struct diag_session *s = session_alloc(peer_name(a), b ? peer_name(b) : DIAG_OTHER_END, o, e);
    if (!s)
        return NULL;
    s->one_end = !b;
    s->peer[0] = a;
    s->peer[1] = b;
    for (int i = 0; s->pcap_dir && i < 2; i++) {
        size_t n = strlen(s->pcap_dir) + 8;
        if ((s->pcap_path[i] = malloc(n)))
            snprintf(s->pcap_path[i], n, "%s/%s.pcap", s->pcap_dir, i ? "b" : "a");
    }
    return s;
}

struct diag_session *diag_new_offline(const struct diag_record *r, const struct diag_opts *o, struct err *e)
{
    char *names[2] = {NULL, NULL};
    for (int i = 0; i < 2; i++)
        if (!(names[i] = strdup(r->peer[i].name ? r->peer[i].name : i ? "B" : "A"))) {
            free(names[0]);
            err_set(e, ERR_INTERNAL, "out of memory");
            return NULL;
        }
    struct diag_opts oo = o ? *o : (struct diag_opts){0};
    oo.pcap_dir = NULL; /* nothing is captured again */
    struct diag_session *s = session_alloc(names[0], names[1], &oo, e);
    bool *used = calloc(r->n_raws ? r->n_raws : 1, sizeof *used);
    if (!s || !used) {
        free(names[0]);
        free(names[1]);
        free(used);
        diag_free(s);
        if (s)
            err_set(e, ERR_INTERNAL, "out of memory");
        return NULL;
    }
    s->offline = true;
    s->one_end = r->peer[0].collected && !r->peer[1].collected;
    s->rec = r->raws;
    s->n_rec = r->n_raws;
    s->rec_reruns = r->reruns;
    s->n_rec_reruns = r->n_reruns;
    s->rec_used = used;
    for (int i = 0; i < 2; i++) {
        const struct diag_record_peer *p = &r->peer[i];
        s->off_name[i] = names[i];
        s->off_connected[i] = p->collected && p->connected;
        s->off_error[i] = p->connect_error ? strdup(p->connect_error) : NULL;
        s->pcap_path[i] = p->pcap ? strdup(p->pcap) : NULL;
        s->cap_win[i][0] = p->window_start;
        s->cap_win[i][1] = p->window_end;
    }
    return s;
}

static void runs_free(struct diag_session *s)
{
    for (size_t k = 0; k < s->n_runs; k++)
        for (int i = 0; i < 2; i++)
            free(s->runs[k].pcap[i]);
    free(s->runs);
    s->runs = NULL;
    s->n_runs = 0;
}

void diag_free(struct diag_session *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_jobs; i++)
        job_free(s->jobs[i]);
    free(s->jobs);
    for (int i = 0; i < 2; i++) {
        struct capside *c = &s->cap[i];
        rcmd_free(c->cmd);
        capture_stream_free(c->stream);
        capture_writer_free(c->writer);
        free(c->ctx);
        sa_fact_free(&s->side[i].sas);
        sa_fact_free(&s->side[i].sas_before);
        conn_fact_free(&s->side[i].conns);
        strpool_free(&s->side[i].pool);
    }
    reach_acc_free(s->acc);
    for (size_t i = 0; i < s->n_raw; i++) {
        free(s->raw[i].what);
        free(s->raw[i].line);
        free(s->raw[i].output);
        free(s->raw[i].error);
    }
    free(s->raw);
    for (int i = 0; i < 2; i++) {
        free(s->off_name[i]);
        free(s->off_error[i]);
        free(s->pcap_path[i]);
    }
    free(s->rec_used);
    runs_free(s);
    findings_free(&s->fs);
    free(s->conn_opt);
    free(s->pcap_dir);
    free(s);
}

void diag_on_progress(struct diag_session *s, diag_progress_fn fn, void *ud)
{
    s->on_progress = fn;
    s->ud = ud;
}


/* A new run (0: the full one) begins: its outputs and capture are told apart. */
static int run_push(struct diag_session *s, int step, struct err *e)
{
    struct srun *v = realloc(s->runs, (s->n_runs + 1) * sizeof *v);
    if (!v)
        return err_set(e, ERR_INTERNAL, "out of memory");
    s->runs = v;
    v[s->n_runs++] = (struct srun){.step = step};
    return 0;
}

static void rerun_enter(struct diag_session *s, int step)
{
    s->rerun = true;
    s->rerun_step = step;
    s->step = 0;
    static const enum stage first[] = {ST_DONE, ST_COLLECT, ST_CAP_PREP, ST_POLICY, ST_SWEEP, ST_TIMERS};
    enter(s, first[step]);
    advance(s);
}

int diag_start(struct diag_session *s, struct err *e)
{
    if (s->stage != ST_IDLE && s->stage != ST_DONE)
        return err_set(e, ERR_USAGE, "a diagnosis is already running");
    runs_free(s);
    if (run_push(s, 0, e))
        return -1;
    findings_free(&s->fs);
    s->rerun = false;
    s->nodiag = false;
    for (int k = 0; k <= STEP_COUNT; k++) {
        s->status[k] = STEP_PENDING;
        s->step_sec[k] = -1;
    }
    s->t_start = now_mono();
    s->step = 0;
    enter(s, ST_CONNECT);
    advance(s);
    if (s->offline) {
        /* every command answers at once: run the rounds to the end */
        for (int guard = 0; !diag_done(s) && guard < 100000; guard++)
            advance(s);
        /* then each step re-run, in order, on the outputs (and capture) of that run */
        for (size_t k = 0; k < s->n_rec_reruns && diag_done(s); k++) {
            const struct diag_record_run *rr = &s->rec_reruns[k];
            if (rr->step < STEP_FIRST || rr->step > STEP_LAST || run_push(s, rr->step, e))
                break;
            for (int i = 0; i < 2; i++)
                if (rr->pcap[i]) {
                    char *p = strdup(rr->pcap[i]);
                    if (!p)
                        return err_set(e, ERR_INTERNAL, "out of memory");
                    free(s->pcap_path[i]);
                    s->pcap_path[i] = p;
                    s->cap_win[i][0] = rr->window[i][0];
                    s->cap_win[i][1] = rr->window[i][1];
                }
            rerun_enter(s, rr->step);
            for (int guard = 0; !diag_done(s) && guard < 100000; guard++)
                advance(s);
        }
        s->rec_reruns = NULL;
        s->n_rec_reruns = 0;
        /* what the steps did not ask for stays evidence, after the rest */
        s->rec_unused = 0;
        for (size_t i = 0; i < s->n_rec; i++)
            if (!s->rec_used[i]) {
                s->rec_unused++;
                rec_keep(s, &s->rec[i], s->rec[i].step);
            }
        s->rec = NULL;
        s->n_rec = 0;
        if (!diag_done(s))
            return err_set(e, ERR_INTERNAL, "the steps did not come to an end on the recorded outputs");
    }
    return 0;
}

int diag_rerun_step(struct diag_session *s, int step, struct err *e)
{
    if (s->stage != ST_DONE)
        return err_set(e, ERR_USAGE, "the diagnosis is still running");
    if (step < STEP_FIRST || step > STEP_LAST)
        return err_set(e, ERR_USAGE, "no step %d", step);
    if (s->offline)
        return err_set(e, ERR_USAGE, "a recorded diagnosis has no peer to run a step on again");
    if (run_push(s, step, e))
        return -1;
    rerun_enter(s, step);
    return 0;
}

size_t diag_pollfds(struct diag_session *s, struct pollfd *fds, size_t max)
{
    size_t n = 0;
    for (int i = 0; i < 2; i++) {
        if (!s->peer[i]) {
            s->npfd[i] = 0;
            continue;
        }
        size_t need = peer_pollfds(s->peer[i], fds + n, max - n);
        s->npfd[i] = need <= max - n ? need : max - n;
        n += s->npfd[i];
    }
    return n;
}

void diag_dispatch(struct diag_session *s, const struct pollfd *fds, size_t n)
{
    size_t off = 0;
    for (int i = 0; i < 2; i++) {
        size_t k = s->npfd[i];
        if (off + k > n)
            k = off < n ? n - off : 0;
        if (s->peer[i])
            peer_dispatch(s->peer[i], fds + off, k);
        off += k;
    }
    advance(s);
}

int diag_timeout_ms(const struct diag_session *s)
{
    int t = -1;
    for (int i = 0; i < 2; i++) {
        int p = s->peer[i] ? peer_timeout_ms(s->peer[i]) : -1;
        if (p >= 0 && (t < 0 || p < t))
            t = p;
    }
    if (s->stage == ST_CAPTURE) {
        /* a tick a second for the countdown, and the end of the window */
        double now = now_mono();
        double until = s->cap_deadline ? s->cap_deadline - now : 0.25;
        double frac = until - floor(until);
        int ms = (int)((until > 0 ? (frac > 0.01 ? frac : 1.0) : 0.0) * 1000.0) + 1;
        if (t < 0 || ms < t)
            t = ms;
    }
    if (s->stage == ST_CONNECT && t < 0)
        t = 100;
    return t;
}

bool diag_done(const struct diag_session *s)
{
    return s->stage == ST_DONE;
}

void diag_progress(const struct diag_session *s, struct diag_progress *out)
{
    memset(out, 0, sizeof *out);
    out->phase = s->stage == ST_IDLE ? DIAG_IDLE
                 : s->stage == ST_CONNECT ? DIAG_CONNECTING
                 : s->stage == ST_DONE    ? DIAG_DONE
                                          : DIAG_RUNNING;
    out->step = s->step;
    out->activity = s->activity;
    out->capture_left_s = -1;
    out->sweep_size[0] = out->sweep_size[1] = -1;
    if (s->stage == ST_CAPTURE) {
        double left = s->cap_deadline ? s->cap_deadline - now_mono() : s->opts.capture_seconds;
        out->capture_left_s = left > 0 ? (int)ceil(left) : 0;
    }
    if (s->stage == ST_SWEEP)
        for (int i = 0; i < 2; i++)
            if (s->sw[i].running && !s->sw[i].finished)
                out->sweep_size[i] = s->sw[i].cur;
}

const struct findings *diag_findings(const struct diag_session *s)
{
    return &s->fs;
}

enum step_status diag_step_status(const struct diag_session *s, int step)
{
    return step >= STEP_FIRST && step <= STEP_LAST ? s->status[step] : STEP_PENDING;
}

double diag_step_seconds(const struct diag_session *s, int step)
{
    return step >= STEP_FIRST && step <= STEP_LAST ? s->step_sec[step] : -1;
}

double diag_connect_seconds(const struct diag_session *s)
{
    return s->t_connect_end > 0 ? s->t_connect_end - s->t_start : -1;
}

double diag_total_seconds(const struct diag_session *s)
{
    return (s->t_end > 0 ? s->t_end : now_mono()) - s->t_start;
}

const struct peer_facts *diag_peer_facts(const struct diag_session *s, int side)
{
    return &s->side[side ? 1 : 0].f;
}

const struct reach_facts *diag_reach_facts(const struct diag_session *s)
{
    return s->have_reach ? &s->reach : NULL;
}

const char *diag_peer_name(const struct diag_session *s, int side)
{
    return s->side[side ? 1 : 0].name;
}

const char *diag_conn_name(const struct diag_session *s, int side)
{
    return s->side[side ? 1 : 0].f.conn.name;
}

int diag_exit_status(const struct diag_session *s)
{
    if (s->nodiag || rules_cannot_diagnose(&s->fs))
        return 3;
    return findings_exit_status(&s->fs);
}

size_t diag_raw_count(const struct diag_session *s)
{
    return s->n_raw;
}

const struct diag_raw *diag_raw_get(const struct diag_session *s, size_t i)
{
    return i < s->n_raw ? &s->raw[i] : NULL;
}

const struct diag_opts *diag_options(const struct diag_session *s)
{
    return &s->opts;
}

size_t diag_unused_records(const struct diag_session *s)
{
    return s->rec_unused;
}

const char *diag_pcap_path(const struct diag_session *s, int side)
{
    const char *p = s->pcap_path[side ? 1 : 0];
    return p && (s->offline || !access(p, R_OK)) ? p : NULL;
}

int diag_capture_window(const struct diag_session *s, int side, double *start, double *end)
{
    side = side ? 1 : 0;
    if (s->cap_win[side][0] <= 0 || s->cap_win[side][1] <= s->cap_win[side][0])
        return -1;
    *start = s->cap_win[side][0];
    *end = s->cap_win[side][1];
    return 0;
}

size_t diag_run_count(const struct diag_session *s)
{
    return s->n_runs;
}

int diag_run_step(const struct diag_session *s, size_t k)
{
    return k < s->n_runs ? s->runs[k].step : -1;
}

int diag_run_capture(const struct diag_session *s, size_t k, int side, const char **pcap, double *start,
                     double *end)
{
    side = side ? 1 : 0;
    if (k >= s->n_runs || !s->runs[k].captured[side])
        return -1;
    const struct srun *r = &s->runs[k];
    if (!r->pcap[side] || (!s->offline && access(r->pcap[side], R_OK)))
        return -1;
    *pcap = r->pcap[side];
    *start = r->win[side][0];
    *end = r->win[side][1];
    return 0;
}

bool diag_is_offline(const struct diag_session *s)
{
    return s->offline;
}

bool diag_one_end(const struct diag_session *s)
{
    return s->one_end;
}

const char *diag_other_end_note(const struct diag_session *s)
{
    return s->one_end ? s->other_note : NULL;
}
