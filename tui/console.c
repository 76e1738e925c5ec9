#include "tui/console.h"

#include <curses.h>
#include <dirent.h>
#include <errno.h>
#include <langinfo.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "playbook/bundle.h"
#include "playbook/correlate.h"
#include "probes/capture.h"
#include "probes/ipsec_sa.h"
#include "probes/swanctl.h"
#include "remote/buf.h"
#include "remote/err.h"
#include "tui/console_export.h"
#include "tui/draw.h"
#include "tui/exitcodes.h"
#include "tui/model.h"
#include "tui/timeline.h"
#include "tui/ui.h"
#include "tui/view.h"

#if __has_include("playbook/session.h")
#include "playbook/session.h"
#define CONSOLE_HAVE_SESSION 1
#else
#define CONSOLE_HAVE_SESSION 0
#endif

#define FRAME_MS 100            /* at most 10 redraws a second */
#define BATCH_MS 20             /* a busy capture stream is read at most every 20 ms */
#define SAS_EVERY_MS 3000       /* SA counters refreshed this often */
#define GRACE_NS 500000000LL    /* a packet not seen at the other end ~1 s later is lost */
#define CAPTURE_LIMIT_DEFAULT 600u
#define RECONNECT_MS 5000       /* a peer that dropped is tried again this often */
#define MAX_FDS 64
#define MESSAGE_FRESH_MS 10000  /* a new message may push keys off the status line this long */

static const char *const sas_command = "swanctl --list-sas --raw";

struct side {
    int idx;
    struct console *con;
    struct peer *peer;
    int was_ready;
    int ready;              /* READY at the last check */
    int64_t reconnect_ms;   /* dropped: when to try again (0: not scheduled) */
    int64_t alive_ns;       /* realtime of the last sign of life of the link (capture data, SA query) */
    int hostkey_answered;   /* the user said no: stop asking */
    char error[320];
    /* SA counters */
    struct rcmd *sas_cmd;
    int64_t sas_next_ms;
    struct sa_fact sas;
    int have_sas;
    int sas_tried;          /* the SA query ran once (whatever came of it) */
    char daemon[32];
    char ike_state[32], child_state[32];
    char local[FACT_ADDR_MAX], remote[FACT_ADDR_MAX];
    enum tri nat_local;
    enum tri encap;
    /* capture */
    struct rcmd *route_cmd;
    struct rcmd *cap_cmd;
    struct capture_stream *stream;
    struct capture_writer *writer; /* this end's pcap, kept for the bundle */
    char pcap_path[300];
    uint64_t pcap_records;
    int64_t cap_first_ns;   /* the first byte of its pcap stream (the declared span's start) */
    int64_t cap_end_ns;     /* when it stopped (0: running) */
    char iface[32];
    int cap_state;          /* enum model_capture */
    int want_capture;
};

struct console {
    const struct console_opts *o;
    struct side side[2];
    struct timeline *tl;
    struct model m;
    struct ui_state ui;
    int dirty;
    int key_dirty;          /* a key changed the screen: drawn at once, not at the frame rate */
    int streaming;          /* the last poll() found the peers' sockets readable */
    int64_t t0_ms, last_draw_ms, cap_start_ms;
    char message[320];
    int64_t message_ms;     /* when it was said */
    char conn[FACT_NAME_MAX];
    struct findings none;
    char workdir[256];      /* the pcaps while the console runs (removed at exit) */
    char diagdir[300];      /* the diagnosis's own pcaps (workdir/diag) */
    struct console_export_job *export_job; /* `e` writing in a child process, NULL: none */
    struct bundle_raw *raws; /* outputs of the console's own commands, for the bundle */
    size_t n_raws;
#if CONSOLE_HAVE_SESSION
    struct diag_session *diag;
    int diag_active;        /* the next session runs the MTU sweep */
#endif
    int diag_started;
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t real_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void say(struct console *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct console *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->message, sizeof c->message, fmt, ap);
    va_end(ap);
    c->message_ms = mono_ms();
    c->dirty = 1;
}

/* ---- evidence: the console's own command outputs -------------------------- */

static char *dup_or_null(const char *p, size_t n)
{
    if (!p)
        return NULL;
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, p, n);
        d[n] = '\0';
    }
    return d;
}

static void raw_clear(struct bundle_raw *r)
{
    free((char *)r->what);
    free((char *)r->command);
    free((char *)r->output);
    free((char *)r->error);
    memset(r, 0, sizeof *r);
}

/* Keeps what a command printed.  `replace`: the previous output of the same
 * `what` on that side is dropped (the SA counters are polled every few s). */
static void raw_keep(struct console *c, int side, int step, const char *what, struct rcmd *cmd, int replace)
{
    const struct rcmd_result *r = rcmd_result(cmd);
    struct bundle_raw *slot = NULL;
    if (replace)
        for (size_t i = 0; i < c->n_raws; i++)
            if (c->raws[i].side == side && !strcmp(c->raws[i].what, what)) {
                slot = &c->raws[i];
                raw_clear(slot);
                break;
            }
    if (!slot) {
        struct bundle_raw *v = realloc(c->raws, (c->n_raws + 1) * sizeof *v);
        if (!v)
            return;
        c->raws = v;
        slot = &v[c->n_raws++];
        memset(slot, 0, sizeof *slot);
    }
    struct buf out = BUF_INIT;
    buf_append(&out, r->out.data ? r->out.data : "", r->out.len);
    buf_append(&out, r->err_out.data ? r->err_out.data : "", r->err_out.len);
    slot->side = side;
    slot->step = step;
    slot->what = dup_or_null(what, strlen(what));
    slot->command = dup_or_null(rcmd_line(cmd), strlen(rcmd_line(cmd) ? rcmd_line(cmd) : ""));
    slot->output_len = out.len;
    slot->output = buf_take(&out);
    slot->exit_status = r->exit_status;
    slot->error = r->err.code != ERR_NONE ? dup_or_null(r->err.msg, strlen(r->err.msg)) : NULL;
    slot->started = (double)r->started.tv_sec + (double)r->started.tv_nsec / 1e9;
    slot->ended = (double)r->ended.tv_sec + (double)r->ended.tv_nsec / 1e9;
}

/* ---- SA counters ---------------------------------------------------------- */

static void copy(char *dst, size_t n, const char *s)
{
    snprintf(dst, n, "%s", s ? s : "");
}

/* Picks the IKE SA of --conn (or the first with an installed CHILD SA). */
static void sas_pick(struct console *c, struct side *s)
{
    const struct ike_sa *best = NULL;
    const struct child_sa *child = NULL;
    for (size_t i = 0; i < s->sas.n_ike; i++) {
        const struct ike_sa *ike = &s->sas.ike[i];
        if (c->o->conn && strcmp(ike->name, c->o->conn))
            continue;
        const struct child_sa *ch = NULL;
        for (size_t k = 0; k < ike->n_child; k++)
            if (!strcmp(ike->child[k].state, "INSTALLED")) {
                ch = &ike->child[k];
                break;
            }
        if (!best || (ch && !child)) {
            best = ike;
            child = ch ? ch : (ike->n_child ? &ike->child[0] : NULL);
        }
    }
    struct model_end *e = &c->m.end[s->idx];
    e->n_sa = 0;
    s->ike_state[0] = s->child_state[0] = '\0';
    if (!best)
        return;
    copy(s->ike_state, sizeof s->ike_state, best->state);
    copy(s->local, sizeof s->local, best->local_host);
    copy(s->remote, sizeof s->remote, best->remote_host);
    s->nat_local = best->nat_local;
    if (!c->conn[0] || c->o->conn)
        copy(c->conn, sizeof c->conn, best->name);
    if (!child)
        return;
    copy(s->child_state, sizeof s->child_state, child->state);
    s->encap = child->encap;
    if (child->spi_out.known) {
        e->sa[e->n_sa++] = (struct model_sa){(uint32_t)child->spi_out.v, 1,
                                             child->bytes_out.known ? (int64_t)child->bytes_out.v : -1,
                                             child->packets_out.known ? (int64_t)child->packets_out.v : -1};
        timeline_set_spi_dir(c->tl, (uint32_t)child->spi_out.v, s->idx == 0 ? TL_AB : TL_BA);
    }
    if (child->spi_in.known) {
        e->sa[e->n_sa++] = (struct model_sa){(uint32_t)child->spi_in.v, 0,
                                             child->bytes_in.known ? (int64_t)child->bytes_in.v : -1,
                                             child->packets_in.known ? (int64_t)child->packets_in.v : -1};
        timeline_set_spi_dir(c->tl, (uint32_t)child->spi_in.v, s->idx == 0 ? TL_BA : TL_AB);
    }
    struct capture_addr a;
    if (capture_addr_parse(s->local, &a) == 0)
        timeline_set_local(c->tl, s->idx, &a);
}

static void capture_begin(struct console *c, struct side *s);

static void sas_done(struct rcmd *cmd, void *ud)
{
    struct side *s = ud;
    struct console *c = s->con;
    const struct rcmd_result *r = rcmd_result(cmd);
    raw_keep(c, s->idx, 0, sas_command, cmd, 1);
    if (r->err.code == ERR_NONE)
        s->alive_ns = real_ns(); /* a round trip over the link */
    if (r->err.code == ERR_NONE && r->exit_status == 0) {
        struct sa_fact f = {0};
        struct err e = {0};
        if (swanctl_parse_sas_raw(r->out.data ? r->out.data : "", r->out.len, &f, &e) == 0) {
            sa_fact_free(&s->sas);
            s->sas = f;
            s->have_sas = 1;
            copy(s->daemon, sizeof s->daemon, "strongswan");
            sas_pick(c, s);
        } else {
            sa_fact_free(&f);
        }
    } else if (!s->have_sas) {
        /* sudo refused: swanctl could not be asked, which says nothing of the
         * daemon (not "no IKE daemon found") */
        copy(s->daemon, sizeof s->daemon, r->err.code == ERR_SUDO ? "sudo refused" : "");
    }
    s->sas_cmd = NULL;
    s->sas_tried = 1;
    rcmd_free(cmd);
    c->dirty = 1;
    if (s->want_capture && s->cap_state == MC_OFF)
        capture_begin(c, s);
}

static void sas_poll(struct console *c, struct side *s, int64_t now)
{
    if (s->sas_cmd || now < s->sas_next_ms || peer_state(s->peer) != PEER_READY)
        return;
    s->sas_next_ms = now + SAS_EVERY_MS;
    struct rcmd_opts o = {.command = sas_command, .sudo = 1, .time_limit_s = 10, .on_done = sas_done, .ud = s};
    s->sas_cmd = rcmd_start(s->peer, &o, NULL);
}

/* ---- the capture ---------------------------------------------------------- */

/* Opens this end's pcap once its stream's file header is read: an end that
 * captures nothing (everything toward it dropped) still has its pcap, empty,
 * which is the evidence. */
static void writer_open(struct side *s)
{
    if (s->writer || !s->pcap_path[0] || s->pcap_records || !s->stream)
        return;
    int lt = 0, nsec = 0;
    uint32_t snap = 0;
    if (capture_stream_header(s->stream, &lt, &snap, &nsec) == 0)
        s->writer = capture_writer_open(s->pcap_path, lt, snap, nsec, NULL);
}

static int on_packet(void *ctx, const struct capture_record *rec, const struct capture_event *ev,
                     struct err *e)
{
    struct side *s = ctx;
    if (timeline_add(s->con->tl, s->idx, ev) != 0)
        return err_set(e, ERR_INTERNAL, "out of memory");
    writer_open(s);
    if (s->writer && capture_writer_write(s->writer, rec, NULL) == 0)
        s->pcap_records++;
    s->con->dirty = 1;
    return 0;
}

/* end_ns: when this end's capture is known to have been alive last; 0: now. */
static void capture_ended(struct console *c, struct side *s, const char *why, int64_t end_ns)
{
    if (s->cap_state == MC_OFF || s->cap_state == MC_STOPPED)
        return;
    s->cap_state = MC_STOPPED;
    s->cap_end_ns = end_ns ? end_ns : real_ns();
    timeline_set_span(c->tl, s->idx, timeline_start(c->tl) ? timeline_start(c->tl) : real_ns(), real_ns());
    if (end_ns)
        timeline_end_span(c->tl, s->idx, end_ns);
    if (why)
        say(c, "%s: capture ended: %s", peer_name(s->peer), why);
    c->dirty = 1;
}

static void cap_data(struct rcmd *cmd, int is_stderr, const char *data, size_t len, void *ud)
{
    struct side *s = ud;
    if (is_stderr)
        return; /* tcpdump's chatter; kept in the result's first 4 KiB */
    s->alive_ns = real_ns();
    timeline_heard(s->con->tl, s->idx, s->alive_ns);
    if (!s->cap_first_ns)
        s->cap_first_ns = s->alive_ns;
    s->cap_end_ns = 0;
    if (s->cap_state == MC_STARTING) {
        s->cap_state = MC_RUNNING;
        timeline_set_span(s->con->tl, s->idx, real_ns(), 0);
    }
    struct err e = {0};
    if (capture_stream_feed(s->stream, data, len, &e) != 0) {
        say(s->con, "%s: capture stream: %s", peer_name(s->peer), e.msg);
        rcmd_stop(cmd);
        return;
    }
    writer_open(s);
}

static void cap_done(struct rcmd *cmd, void *ud)
{
    struct side *s = ud;
    const struct rcmd_result *r = rcmd_result(cmd);
    char why[300];
    why[0] = '\0';
    raw_keep(s->con, s->idx, STEP_REACH, "tcpdump (the console's capture; packets in the pcap)", cmd, 0);
    if (s->writer)
        capture_writer_flush(s->writer, NULL);
    if (r->err.code != ERR_NONE && r->err.code != ERR_DISCONNECTED)
        snprintf(why, sizeof why, "%s", r->err.msg);
    else if (r->exit_status > 0 && r->exit_status != 124 && r->err_out.len)
        snprintf(why, sizeof why, "%.200s", r->err_out.data);
    capture_ended(s->con, s, why[0] ? why : NULL,
                  r->err.code == ERR_DISCONNECTED && s->alive_ns ? s->alive_ns : 0);
    s->cap_cmd = NULL;
    rcmd_free(cmd);
}

static void cap_start_cmd(struct console *c, struct side *s)
{
    struct capture_cmd_opts co = {.iface = s->iface[0] ? s->iface : "any",
                                  .snaplen = 0,
                                  .seconds = c->o->capture_limit_s ? c->o->capture_limit_s
                                                                   : CAPTURE_LIMIT_DEFAULT,
                                  .sudo = 0};
    char *line = NULL;
    struct err e = {0};
    if (capture_cmd_build(&co, &line, &e) != 0) {
        say(c, "%s: %s", peer_name(s->peer), e.msg);
        s->cap_state = MC_STOPPED;
        return;
    }
    capture_stream_free(s->stream);
    s->stream = capture_stream_new(on_packet, s);
    struct rcmd_opts o = {.command = line, .sudo = 1, .time_limit_s = co.seconds + 10,
                          .on_data = cap_data, .on_done = cap_done, .ud = s};
    s->cap_cmd = s->stream ? rcmd_start(s->peer, &o, &e) : NULL;
    free(line);
    if (!s->cap_cmd) {
        say(c, "%s: cannot start the capture: %s", peer_name(s->peer), e.msg[0] ? e.msg : "out of memory");
        s->cap_state = MC_STOPPED;
    }
}

static void route_done(struct rcmd *cmd, void *ud)
{
    struct side *s = ud;
    const struct rcmd_result *r = rcmd_result(cmd);
    struct err e = {0};
    raw_keep(s->con, s->idx, STEP_REACH, "ip route get (capture interface)", cmd, 0);
    if (r->err.code != ERR_NONE || r->exit_status != 0 ||
        capture_route_iface(r->out.data ? r->out.data : "", r->out.len, s->iface, sizeof s->iface, &e) != 0)
        s->iface[0] = '\0'; /* capture on every interface instead */
    s->route_cmd = NULL;
    rcmd_free(cmd);
    if (s->cap_state == MC_STARTING)
        cap_start_cmd(s->con, s);
}

/* Starts this end's capture: the interface toward the other gateway, then tcpdump. */
static void capture_begin(struct console *c, struct side *s)
{
    if (s->cap_cmd || s->route_cmd || peer_state(s->peer) != PEER_READY)
        return;
    s->cap_state = MC_STARTING;
    c->dirty = 1;
    char *cmd = NULL;
    if (s->iface[0] || !s->remote[0] || capture_route_cmd(s->remote, &cmd, NULL) != 0) {
        cap_start_cmd(c, s);
        return;
    }
    struct rcmd_opts o = {.command = cmd, .time_limit_s = 10, .on_done = route_done, .ud = s};
    s->route_cmd = rcmd_start(s->peer, &o, NULL);
    free(cmd);
    if (!s->route_cmd)
        cap_start_cmd(c, s);
}

static void capture_start_both(struct console *c)
{
    if (!c->cap_start_ms)
        c->cap_start_ms = mono_ms();
    for (int i = 0; i < 2; i++) {
        struct side *s = &c->side[i];
        s->want_capture = 1;
        if (s->cap_state == MC_STOPPED)
            s->cap_state = MC_OFF;
        if (s->sas_tried)
            capture_begin(c, s);
    }
}

static void capture_stop_both(struct console *c)
{
    for (int i = 0; i < 2; i++) {
        struct side *s = &c->side[i];
        s->want_capture = 0;
        if (s->cap_cmd)
            rcmd_stop(s->cap_cmd);
        if (s->route_cmd) {
            rcmd_free(s->route_cmd);
            s->route_cmd = NULL;
        }
        capture_ended(c, s, NULL, 0);
    }
}

/* ---- peers and the host key question ------------------------------------- */

/* A peer that was ready and dropped (link cut, gateway rebooting) is tried
 * again every RECONNECT_MS while the other end goes on; once it is back, its
 * capture starts again if one was wanted (the pcap of this end goes on in the
 * same file: what came before the cut is kept). */
static void peers_check(struct console *c, int64_t now)
{
    for (int i = 0; i < 2; i++) {
        struct side *s = &c->side[i];
        enum peer_state st = peer_state(s->peer);
        if (st == PEER_READY && !s->ready) {
            if (s->was_ready) {
                say(c, "%s: reconnected%s", peer_name(s->peer),
                    s->want_capture ? "; its capture starts again" : "");
                if (s->want_capture && s->cap_state == MC_STOPPED)
                    s->cap_state = MC_OFF; /* the loop starts it */
            }
            s->was_ready = 1;
            s->ready = 1;
            s->reconnect_ms = 0;
            s->error[0] = '\0';
            s->sas_next_ms = 0;
            c->dirty = 1;
        } else if (st != PEER_READY && s->ready) {
            s->ready = 0;
            c->dirty = 1;
        }
        if (st == PEER_FAILED) {
            const struct err *pe = peer_error(s->peer);
            int retry = s->was_ready && pe->code != ERR_HOSTKEY_UNKNOWN && pe->code != ERR_HOSTKEY_CHANGED &&
                        pe->code != ERR_AUTH;
            char why[sizeof s->error];
            snprintf(why, sizeof why, "%.250s%s", pe->msg, retry ? "; reconnecting every 5 s" : "");
            if (strcmp(s->error, why)) {
                copy(s->error, sizeof s->error, why);
                c->dirty = 1;
            }
            if (s->cap_state == MC_RUNNING || s->cap_state == MC_STARTING)
                capture_ended(c, s, NULL, s->alive_ns); /* the link died silently after its last sign of life */
            if (retry) {
                if (!s->reconnect_ms) {
                    s->reconnect_ms = now + RECONNECT_MS;
                } else if (now >= s->reconnect_ms) {
                    s->reconnect_ms = now + RECONNECT_MS;
                    peer_connect(s->peer, NULL);
                    c->dirty = 1;
                }
            }
        }
    }
}

static int hostkey_question(const struct side *s)
{
    if (peer_state(s->peer) != PEER_FAILED || s->hostkey_answered)
        return 0;
    int code = peer_error(s->peer)->code;
    return code == ERR_HOSTKEY_UNKNOWN || code == ERR_HOSTKEY_CHANGED;
}

/* Both peers connected, or failed for good (host keys answered). */
static int peers_settled(const struct console *c)
{
    for (int i = 0; i < 2; i++) {
        const struct side *s = &c->side[i];
        enum peer_state st = peer_state(s->peer);
        if (st == PEER_CONNECTING || st == PEER_AUTHENTICATING || st == PEER_IDLE || hostkey_question(s))
            return 0;
    }
    return 1;
}

/* ---- the diagnosis -------------------------------------------------------- */

#if CONSOLE_HAVE_SESSION
static void diag_progress_cb(const struct diag_session *d, void *ud)
{
    struct console *c = ud;
    c->dirty = 1;
}
#endif

static void diagnosis_start(struct console *c)
{
#if CONSOLE_HAVE_SESSION
    struct err e = {0};
    diag_free(c->diag);
    struct diag_opts o = {.conn = c->o->conn, .active = c->diag_active != 0,
                          .pcap_dir = c->diagdir[0] ? c->diagdir : NULL}; /* kept for the bundle */
    c->diag = diag_new(c->side[0].peer, c->side[1].peer, &o, &e);
    if (!c->diag || diag_start(c->diag, &e) != 0) {
        say(c, "cannot start the diagnosis: %s", e.msg);
        return;
    }
    diag_on_progress(c->diag, diag_progress_cb, c);
    c->diag_started = 1;
#else
    c->diag_started = 1;
#endif
}

/* ---- the model ------------------------------------------------------------ */

static void model_update(struct console *c)
{
    struct model *m = &c->m;
    int64_t now = mono_ms();
    m->now_ns = real_ns();
    m->elapsed_s = (double)(now - c->t0_ms) / 1000.0;
    m->conn = c->conn[0] ? c->conn : NULL;
    m->tl = c->tl;
    m->hostkey.pending = 0;
    int cap_any = MC_OFF;
    for (int i = 0; i < 2; i++) {
        struct side *s = &c->side[i];
        struct model_end *e = &m->end[i];
        e->name = peer_name(s->peer);
        e->error = s->error[0] ? s->error : NULL;
        switch (peer_state(s->peer)) {
        case PEER_READY: e->link = ML_READY; break;
        case PEER_FAILED:
        case PEER_CLOSED: e->link = s->was_ready ? ML_DISCONNECTED : ML_FAILED; break;
        default: e->link = s->was_ready ? ML_DISCONNECTED : ML_CONNECTING; break; /* reconnecting */
        }
        if (hostkey_question(s)) {
            e->link = ML_HOSTKEY;
            if (!m->hostkey.pending) {
                m->hostkey.pending = 1;
                m->hostkey.side = i;
                m->hostkey.fingerprint = peer_hostkey_fingerprint(s->peer);
                m->hostkey.known_hosts = peer_known_hosts(s->peer);
                m->hostkey.changed = peer_error(s->peer)->code == ERR_HOSTKEY_CHANGED;
            }
        }
        /* before the first SA listing has answered nothing is known */
        e->daemon = s->daemon[0] ? s->daemon : s->sas_tried ? "no IKE daemon found" : NULL;
        e->ike_state = s->ike_state[0] ? s->ike_state : NULL;
        e->child_state = s->child_state[0] ? s->child_state : NULL;
        e->behind_nat = s->nat_local;
        e->capture = s->cap_state;
        if (s->cap_state > cap_any && s->cap_state != MC_STOPPED)
            cap_any = s->cap_state;
        else if (s->cap_state == MC_STOPPED && cap_any == MC_OFF)
            cap_any = MC_STOPPED;
    }
    if (cap_any == MC_RUNNING && c->ui.paused)
        cap_any = MC_PAUSED;
    m->capture = cap_any;
    m->capture_s = c->cap_start_ms ? (double)(now - c->cap_start_ms) / 1000.0 : 0;
    m->transport = c->side[0].encap == TRI_YES || c->side[1].encap == TRI_YES ? MT_UDP4500
                   : c->side[0].encap == TRI_NO || c->side[1].encap == TRI_NO ? MT_RAW_ESP
                                                                              : MT_UNKNOWN;
    m->message = c->message[0] ? c->message : NULL;
    m->message_fresh = m->message && now - c->message_ms < MESSAGE_FRESH_MS;
    m->export_unavailable = c->workdir[0] ? NULL : "no folder for the captures (TMPDIR)";
    m->findings = &c->none;
    m->running_step = 0;
    m->activity = NULL;
    for (int k = STEP_FIRST; k <= STEP_LAST; k++)
        m->step[k] = STEP_PENDING;
#if CONSOLE_HAVE_SESSION
    if (c->diag) {
        struct diag_progress p;
        diag_progress(c->diag, &p);
        for (int k = STEP_FIRST; k <= STEP_LAST; k++)
            m->step[k] = diag_step_status(c->diag, k);
        m->running_step = p.phase == DIAG_RUNNING ? p.step : 0;
        m->activity = p.activity;
        m->findings = diag_findings(c->diag);
        if (!m->conn)
            m->conn = diag_conn_name(c->diag, 0);
        for (int i = 0; i < 2; i++) {
            const struct peer_facts *pf = diag_peer_facts(c->diag, i);
            if (pf && pf->daemon && !c->side[i].daemon[0])
                m->end[i].daemon = pf->daemon;
        }
    }
#else
    if (c->diag_started)
        m->activity = "the diagnosis engine is not built into this version";
#endif
}

/* ---- the evidence bundle -------------------------------------------------- */

/* Writes the bundle of everything seen so far into the current folder
 * (tui/console_export.c: the same contents as diagnose --bundle). */
static void export_bundle(struct console *c)
{
    struct err e = {0};
    /* the console's own outputs, and each capture still running (its command, so far) */
    struct bundle_raw *raws = calloc(c->n_raws + 2, sizeof *raws);
    if (!raws) {
        say(c, "export failed: out of memory");
        return;
    }
    if (c->n_raws)
        memcpy(raws, c->raws, c->n_raws * sizeof *raws);
    struct console_export_in in = {.raws = raws, .n_raws = c->n_raws, .findings = c->m.findings,
                                   .conn = c->conn[0] ? c->conn : NULL};
    static const char running[] = "(still capturing when the bundle was written: the packets so far are in the pcap)";
#if CONSOLE_HAVE_SESSION
    in.diag = c->diag;
#endif
    int64_t now = real_ns();
    for (int i = 0; i < 2; i++) {
        struct side *s = &c->side[i];
        if (s->writer)
            capture_writer_flush(s->writer, NULL);
        in.peer[i] = peer_name(s->peer);
        in.collected[i] = s->was_ready != 0;
        in.pcap[i] = s->writer || s->pcap_records ? s->pcap_path : NULL;
        if (s->cap_first_ns) {
            in.window[i][0] = (double)s->cap_first_ns / 1e9;
            in.window[i][1] = (double)(s->cap_end_ns ? s->cap_end_ns : now) / 1e9;
        }
        if (s->cap_cmd && s->cap_first_ns)
            raws[in.n_raws++] = (struct bundle_raw){
                .side = i, .step = STEP_REACH, .what = "tcpdump (the console's capture; packets in the pcap)",
                .command = rcmd_line(s->cap_cmd), .output = running, .output_len = sizeof running - 1,
                .exit_status = -1, .error = "still running", .started = in.window[i][0], .ended = in.window[i][1]};
    }
    /* written by a child process: the console goes on meanwhile (export_check) */
    c->export_job = console_export_start(&in, &e);
    if (!c->export_job)
        say(c, "export failed: %s", e.msg);
    else
        say(c, "writing the evidence bundle...");
    free(raws);
}

/* The export has ended: its message. */
static void export_check(struct console *c, int wait)
{
    char msg[sizeof c->message];
    if (!c->export_job)
        return;
    if (wait)
        console_export_finish(c->export_job, msg, sizeof msg);
    else if (!console_export_poll(c->export_job, msg, sizeof msg))
        return;
    c->export_job = NULL;
    say(c, "%s", msg);
}

static void workdir_make(struct console *c)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(c->workdir, sizeof c->workdir, "%s/tunnelscope-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (!mkdtemp(c->workdir)) {
        c->workdir[0] = '\0';
        return;
    }
    for (int i = 0; i < 2; i++)
        snprintf(c->side[i].pcap_path, sizeof c->side[i].pcap_path, "%s/%s.pcap", c->workdir, i ? "b" : "a");
    snprintf(c->diagdir, sizeof c->diagdir, "%s/diag", c->workdir);
    if (mkdir(c->diagdir, 0700))
        c->diagdir[0] = '\0';
}

static void workdir_remove(struct console *c)
{
    if (!c->workdir[0])
        return;
    for (int i = 0; i < 2; i++) {
        capture_writer_free(c->side[i].writer);
        c->side[i].writer = NULL;
        if (c->side[i].pcap_path[0])
            unlink(c->side[i].pcap_path);
    }
    DIR *d = c->diagdir[0] ? opendir(c->diagdir) : NULL;
    for (struct dirent *de; d && (de = readdir(d));)
        if (de->d_name[0] != '.')
            unlinkat(dirfd(d), de->d_name, 0);
    if (d)
        closedir(d);
    if (c->diagdir[0])
        rmdir(c->diagdir);
    rmdir(c->workdir);
}

/* ---- actions -------------------------------------------------------------- */

static void hostkey_answer(struct console *c, int accept)
{
    for (int i = 0; i < 2; i++) {
        struct side *s = &c->side[i];
        if (!hostkey_question(s))
            continue;
        if (!accept || peer_error(s->peer)->code == ERR_HOSTKEY_CHANGED) {
            s->hostkey_answered = 1;
            say(c, "%s: host key refused; %s stays disconnected", peer_name(s->peer), peer_name(s->peer));
            return;
        }
        struct err e = {0};
        const char *fp = peer_hostkey_fingerprint(s->peer);
        if (!fp || peer_trust_hostkey(s->peer, fp, &e) != 0 || peer_connect(s->peer, &e) != 0) {
            s->hostkey_answered = 1;
            say(c, "%s: %s", peer_name(s->peer), e.msg[0] ? e.msg : "no fingerprint to trust");
            return;
        }
        say(c, "%s: host key trusted, connecting", peer_name(s->peer));
        return;
    }
}

static void do_action(struct console *c, int action)
{
    struct err e = {0};
    switch (action) {
    case ACT_CAPTURE_TOGGLE:
        if (c->m.capture == MC_RUNNING || c->m.capture == MC_STARTING || c->m.capture == MC_PAUSED) {
            capture_stop_both(c);
            say(c, "capture stopped on both ends");
        } else {
            capture_start_both(c);
            say(c, "capture starting on both ends");
        }
        break;
    case ACT_RERUN:
#if CONSOLE_HAVE_SESSION
        if (!c->diag)
            say(c, "the diagnosis has not started yet");
        else if (diag_rerun_step(c->diag, c->ui.step_sel, &e) != 0)
            say(c, "step %d: %s", c->ui.step_sel, e.msg);
        else
            say(c, "re-running step %d", c->ui.step_sel);
#else
        say(c, "re-run unavailable: the diagnosis engine is not built into this version");
#endif
        break;
    case ACT_SWEEP:
#if CONSOLE_HAVE_SESSION
        if (c->diag && !diag_done(c->diag)) {
            say(c, "the diagnosis is still running: try the sweep when it is done");
            break;
        }
        c->diag_active = 1;
        diagnosis_start(c);
        say(c, "diagnosis running again with the active MTU sweep");
#else
        say(c, "MTU sweep unavailable: the diagnosis engine is not built into this version");
#endif
        break;
    case ACT_EXPORT:
        if (c->m.export_unavailable)
            say(c, "export unavailable: %s", c->m.export_unavailable);
        else if (c->export_job)
            say(c, "the evidence bundle is still being written");
        else
            export_bundle(c);
        break;
    case ACT_HOSTKEY_ACCEPT:
    case ACT_HOSTKEY_REJECT:
        hostkey_answer(c, action == ACT_HOSTKEY_ACCEPT);
        break;
    }
    (void)e;
}

/* ---- terminal --------------------------------------------------------------- */

static void draw(struct console *c)
{
    model_update(c);
    ui_follow_diagnosis(&c->ui, &c->m);
    int rows, cols;
    getmaxyx(stdscr, rows, cols);
    struct view v = view_build(&c->m, &c->ui, rows, cols);
    view_feedback(&v, &c->ui);
    draw_view(stdscr, &v);
    view_free(&v);
    wnoutrefresh(stdscr);
    doupdate();
    c->dirty = 0;
    c->key_dirty = 0;
    c->last_draw_ms = mono_ms();
}

/* Reads every key waiting.  Returns 1 when the user quits. */
static int keys(struct console *c)
{
    int ch;
    while ((ch = getch()) != ERR) {
        if (ch == KEY_RESIZE) {
            /* curses has resized its screens: paint everything again */
            clearok(curscr, TRUE);
            c->key_dirty = 1;
            continue;
        }
        model_update(c);
        int r = tui_handle_key(&c->ui, &c->m, ch);
        if (r & TUI_QUIT)
            return 1;
        if (r & TUI_ACTION) {
            int a = c->ui.action;
            c->ui.action = ACT_NONE;
            do_action(c, a);
        }
        if (r & TUI_REDRAW)
            c->key_dirty = 1;
    }
    return 0;
}

static volatile sig_atomic_t console_stop;

static void on_signal(int sig)
{
    (void)sig;
    console_stop = 1;
}

static size_t gather(struct console *c, struct pollfd *fds, size_t max, size_t *npeer)
{
    size_t n = 0;
#if CONSOLE_HAVE_SESSION
    if (c->diag) {
        n = diag_pollfds(c->diag, fds, max);
        npeer[0] = n;
        npeer[1] = 0;
        return n;
    }
#endif
    for (int i = 0; i < 2; i++) {
        size_t need = peer_pollfds(c->side[i].peer, fds + n, max - n);
        npeer[i] = need <= max - n ? need : max - n;
        n += npeer[i];
    }
    return n;
}

static void dispatch(struct console *c, const struct pollfd *fds, const size_t *npeer)
{
#if CONSOLE_HAVE_SESSION
    if (c->diag) {
        diag_dispatch(c->diag, fds, npeer[0]);
        return;
    }
#endif
    peer_dispatch(c->side[0].peer, fds, npeer[0]);
    peer_dispatch(c->side[1].peer, fds + npeer[0], npeer[1]);
}

static int wait_ms(struct console *c, int64_t now)
{
    int t = 1000 - (int)((now - c->t0_ms) % 1000); /* the clock in the header */
#if CONSOLE_HAVE_SESSION
    if (c->diag) {
        int d = diag_timeout_ms(c->diag);
        if (d >= 0 && d < t)
            t = d;
    }
#endif
    for (int i = 0; i < 2; i++) {
        int p = peer_timeout_ms(c->side[i].peer);
        if (p >= 0 && p < t)
            t = p;
        if (c->side[i].cap_state == MC_RUNNING && t > 250)
            t = 250; /* settle rows as lost on time */
    }
    if (c->dirty) {
        int d = (int)(c->last_draw_ms + FRAME_MS - now);
        if (d < 0)
            d = 0;
        if (d < t)
            t = d;
    }
    return t < 0 ? 0 : t;
}

/* Stops every remote process and waits (bounded) for the peers to confirm. */
static void shutdown_remote(struct console *c)
{
    capture_stop_both(c);
    for (int i = 0; i < 2; i++) {
        struct side *s = &c->side[i];
        if (s->sas_cmd)
            rcmd_stop(s->sas_cmd);
    }
    int64_t until = mono_ms() + 3000;
    while (mono_ms() < until) {
        int busy = 0;
        for (int i = 0; i < 2; i++)
            busy |= c->side[i].cap_cmd != NULL || c->side[i].sas_cmd != NULL;
        if (!busy)
            break;
        struct pollfd fds[MAX_FDS];
        size_t np[2];
        size_t n = gather(c, fds, MAX_FDS, np);
        poll(fds, (nfds_t)n, 100);
        dispatch(c, fds, np);
    }
}

int console_run(const struct console_opts *o)
{
    struct console *c = calloc(1, sizeof *c);
    if (!c)
        return TS_EXIT_INTERNAL;
    c->o = o;
    int rc = TS_EXIT_OK;
    struct err e = {0};
    c->tl = timeline_new(0);
    if (!c->tl) {
        free(c);
        return TS_EXIT_INTERNAL;
    }
    for (int i = 0; i < 2; i++) {
        c->side[i].idx = i;
        c->side[i].con = c;
        c->side[i].peer = peer_new(o->peer[i], &o->popts, &e);
        if (!c->side[i].peer) {
            fprintf(stderr, "tunnelscope: %s\n", e.msg);
            rc = TS_EXIT_USAGE;
            goto out;
        }
    }
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        fprintf(stderr, "tunnelscope: the console needs a terminal (try 'tunnelscope diagnose')\n");
        rc = TS_EXIT_USAGE;
        goto out;
    }
    setlocale(LC_ALL, "");
    const char *cs = nl_langinfo(CODESET);
    int ascii = !(cs && (!strcmp(cs, "UTF-8") || !strcmp(cs, "utf8")));
    ui_init(&c->ui, ascii);
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (!initscr()) {
        rc = TS_EXIT_INTERNAL;
        goto out;
    }
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    nodelay(stdscr, TRUE);
    set_escdelay(25);
    curs_set(0);
    draw_init();
    c->t0_ms = mono_ms();
    workdir_make(c);
    for (int i = 0; i < 2; i++)
        peer_connect(c->side[i].peer, NULL);
    if (!o->no_capture)
        capture_start_both(c);
    c->dirty = 1;

    while (!console_stop) {
        int64_t now = mono_ms();
        peers_check(c, now);
        if (!c->diag_started && !o->no_diagnose && peers_settled(c))
            diagnosis_start(c);
        for (int i = 0; i < 2; i++) {
            sas_poll(c, &c->side[i], now);
            struct side *s = &c->side[i];
            if (s->want_capture && s->cap_state == MC_OFF && !s->cap_cmd && !s->route_cmd &&
                peer_state(s->peer) == PEER_READY && s->sas_tried)
                capture_begin(c, s);
        }
        if (timeline_settle(c->tl, real_ns(), GRACE_NS))
            c->dirty = 1;
        export_check(c, 0);
        if (c->key_dirty || (c->dirty && now - c->last_draw_ms >= FRAME_MS))
            draw(c);

        struct pollfd fds[MAX_FDS];
        size_t np[2];
        size_t n = gather(c, fds, MAX_FDS - 1, np);
        fds[n] = (struct pollfd){.fd = STDIN_FILENO, .events = POLLIN};
        int w = wait_ms(c, mono_ms());
        if (c->streaming && w > 0) {
            /* Data came in on the last round: while a capture streams, waking
             * for every few packets costs more CPU than handling them.  Wait
             * for a key only (it is handled at once), then take everything
             * that arrived on the peers' sockets meanwhile in one round. */
            struct pollfd kf = {.fd = STDIN_FILENO, .events = POLLIN};
            poll(&kf, 1, w < BATCH_MS ? w : BATCH_MS);
            w = 0;
        }
        int pr = poll(fds, (nfds_t)n + 1, w);
        c->streaming = 0;
        for (size_t k = 0; pr > 0 && k < n; k++)
            if (fds[k].revents & POLLIN)
                c->streaming = 1;
        if (pr < 0 && errno != EINTR) {
            rc = TS_EXIT_INTERNAL;
            break;
        }
        dispatch(c, fds, np);
        if (pr < 0)
            memset(&fds[n], 0, sizeof fds[n]);
        /* the terminal: always try (a resize arrives as a signal, not input) */
        if (keys(c))
            break;
        if (c->key_dirty)
            draw(c);
        if (((now - c->t0_ms) / 1000) != ((mono_ms() - c->t0_ms) / 1000))
            c->dirty = 1;
    }
    shutdown_remote(c);
    export_check(c, 1); /* a bundle being written is finished before its captures go */
    endwin();
out:
#if CONSOLE_HAVE_SESSION
    diag_free(c->diag);
#endif
    for (int i = 0; i < 2; i++) {
        struct side *s = &c->side[i];
        rcmd_free(s->cap_cmd);
        rcmd_free(s->route_cmd);
        rcmd_free(s->sas_cmd);
        capture_stream_free(s->stream);
        sa_fact_free(&s->sas);
        peer_free(s->peer);
    }
    workdir_remove(c);
    for (size_t i = 0; i < c->n_raws; i++)
        raw_clear(&c->raws[i]);
    free(c->raws);
    timeline_free(c->tl);
    free(c);
    return rc;
}
