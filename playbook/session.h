/* A diagnosis session: the five steps run on two peers, driven from the
 * caller's poll() loop.  `tunnelscope diagnose` and the console drive it the
 * same way:
 *
 *     struct diag_session *s = diag_new(peer_a, peer_b, &opts, &e);
 *     diag_start(s, &e);
 *     while (!diag_done(s)) {
 *         size_t n = diag_pollfds(s, fds, MAX);      (+ the caller's own fds)
 *         poll(fds, n, diag_timeout_ms(s));
 *         diag_dispatch(s, fds, n);                   (always, also on timeout)
 *     }
 *     diag_findings(s), diag_step_status(s, k), diag_step_seconds(s, k) ...
 *
 * Both peers are worked on at once: every probe of a round runs on both
 * peers in parallel (remote/ runs many commands per peer on one poll loop).
 * No threads, no blocking call.  Progress is queryable (diag_progress) and
 * announced through a callback.  Once done, any step can be re-run alone
 * (diag_rerun_step): it collects again what it needs and replaces its
 * findings.  The step logic itself lives in playbook/rules.c (pure). */
#ifndef TS_SESSION_H
#define TS_SESSION_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>

#include "playbook/finding.h"
#include "playbook/peerfacts.h"
#include "remote/err.h"
#include "remote/peer.h"

struct diag_opts {
    const char *conn;          /* --conn NAME; NULL: discover */
    unsigned capture_seconds;  /* 0: DIAG_CAPTURE_DEFAULT */
    bool active;               /* --active: DF ping sweep through the tunnel */
    const char *pcap_dir;      /* keep both ends' pcaps there ("a.pcap", "b.pcap"); NULL: not kept */
};
#define DIAG_CAPTURE_DEFAULT 10u

enum diag_phase { DIAG_IDLE, DIAG_CONNECTING, DIAG_RUNNING, DIAG_DONE };

struct diag_progress {
    enum diag_phase phase;
    int step;                /* the running step, 0 while connecting / none */
    const char *activity;    /* "connecting", "collecting facts", "capturing", "DF sweep", ... */
    int capture_left_s;      /* while capturing: seconds left, else -1 */
    int sweep_size[2];       /* DF sweep: ICMP size being tried on A and B, else -1 */
};

/* A command output kept as evidence (already redacted). */
struct diag_raw {
    int side;             /* 0 = A, 1 = B */
    int step;
    char *what;           /* "swanctl --list-sas --raw" */
    char *line;           /* the exact line sent (with sudo/timeout) */
    char *output;         /* stdout + stderr, redacted */
    int exit_status;      /* -1: none */
    char *error;          /* why it did not run to its end, or NULL */
    int error_code;       /* its remote/err.h code (ERR_NONE when it ran to its end) */
    double started;       /* CLOCK_REALTIME seconds */
    double seconds;       /* how long it took */
    int run;              /* the run it belongs to: 0 the full run, k the k-th step re-run
                             (diag_run_count); offline, a record is used only by its own run */
};

/* ---- offline: the steps on recorded outputs ----
 *
 * What a finished diagnosis recorded, enough to run every step again with no
 * network: the outputs as kept (struct diag_raw, in any order), each end's
 * capture file and capture window, and each peer's connection state.  The
 * same state machine runs: each command it would send is answered with the
 * recorded output of the same probe on the same end (the same parsing, the
 * same DF sweep decisions), each capture is read from its pcap through the
 * same stream decoder, and the same rules judge.  `replay --check` and
 * `merge` use it (playbook/replay.h). */
struct diag_record_peer {
    const char *name;          /* "gw-a"; NULL: no such end */
    bool collected;            /* false: this end was not collected (one end only) */
    bool connected;
    const char *connect_error; /* when not connected */
    const char *pcap;          /* its capture file, or NULL */
    double window_start, window_end; /* CLOCK_REALTIME span of its capture (diag_capture_window), 0: unknown */
};

/* A step re-run after the full run, as recorded: which step, and the
 * capture it took when it was step 2 (pcap NULL: none). */
struct diag_record_run {
    int step;
    const char *pcap[2];
    double window[2][2];
};

struct diag_record {
    struct diag_record_peer peer[2]; /* pcap and window: the full run's capture */
    const struct diag_raw *raws;     /* each answers its own run only (diag_raw.run) */
    size_t n_raws;
    const struct diag_record_run *reruns; /* the steps re-run after the full run, in order */
    size_t n_reruns;
};

struct diag_session;
typedef void (*diag_progress_fn)(const struct diag_session *s, void *ud);

/* The peers are borrowed (the caller frees them after the session); they
 * may be in any state: the session connects them.  b NULL: one end only
 * (`diagnose PEER --one-end`, a half-bundle): the steps judge what A alone
 * tells and say what needs the other end.  0/-1 style: NULL on error. */
struct diag_session *diag_new(struct peer *a, struct peer *b, const struct diag_opts *o, struct err *e);
/* A session on recorded material: diag_start() then runs every step to its
 * end at once (diag_done() is true on return).  The record is read during
 * diag_start() only (everything kept is copied).  NULL on error. */
struct diag_session *diag_new_offline(const struct diag_record *r, const struct diag_opts *o, struct err *e);
void diag_free(struct diag_session *s);
void diag_on_progress(struct diag_session *s, diag_progress_fn fn, void *ud);

/* Runs every step in order.  0 / -1. */
int diag_start(struct diag_session *s, struct err *e);
/* Runs one step again (only when done).  0 / -1. */
int diag_rerun_step(struct diag_session *s, int step, struct err *e);

size_t diag_pollfds(struct diag_session *s, struct pollfd *fds, size_t max);
void diag_dispatch(struct diag_session *s, const struct pollfd *fds, size_t n);
int diag_timeout_ms(const struct diag_session *s);
bool diag_done(const struct diag_session *s);

void diag_progress(const struct diag_session *s, struct diag_progress *out);
const struct findings *diag_findings(const struct diag_session *s);
enum step_status diag_step_status(const struct diag_session *s, int step);
/* Wall time the step took (its probes included), -1 when it has not run. */
double diag_step_seconds(const struct diag_session *s, int step);
/* Connecting to both peers. */
double diag_connect_seconds(const struct diag_session *s);
double diag_total_seconds(const struct diag_session *s);
const struct peer_facts *diag_peer_facts(const struct diag_session *s, int side);
const struct reach_facts *diag_reach_facts(const struct diag_session *s);
const char *diag_peer_name(const struct diag_session *s, int side);
/* The connection used on each side (NULL when none was found). */
const char *diag_conn_name(const struct diag_session *s, int side);
/* 0 nothing wrong, 1 warnings, 2 failures, 3 could not diagnose. */
int diag_exit_status(const struct diag_session *s);
const struct diag_opts *diag_options(const struct diag_session *s);
size_t diag_raw_count(const struct diag_session *s);
const struct diag_raw *diag_raw_get(const struct diag_session *s, size_t i);
/* The recorded outputs the offline session did not use (0 live): a bundle
 * re-run (or exported with more than the steps asked for) says so. */
size_t diag_unused_records(const struct diag_session *s);
/* Where an end's capture is (pcap_dir/a.pcap live, the record's file
 * offline), NULL when there is none. */
const char *diag_pcap_path(const struct diag_session *s, int side);
/* When an end's capture was running (CLOCK_REALTIME of the console, s): from
 * the first byte of its pcap stream (tcpdump writes the file header once it
 * captures) to when it was asked to stop (or seen to end); offline, as
 * recorded.  0 / -1 when it did not run.  The correlation counts a packet as
 * lost only within the receiver's span (playbook/correlate.h). */
int diag_capture_window(const struct diag_session *s, int side, double *start, double *end);
/* The runs of the session: 0 the full run, then each step re-run
 * (diag_rerun_step) in order; offline, the same as recorded. */
size_t diag_run_count(const struct diag_session *s);
/* The step run k re-ran (0: the full run), -1 for no such run. */
int diag_run_step(const struct diag_session *s, size_t k);
/* The capture run k took of an end (its file, its window): 0 / -1 when that
 * run did not capture.  diag_pcap_path / diag_capture_window give the latest. */
int diag_run_capture(const struct diag_session *s, size_t k, int side, const char **pcap, double *start,
                     double *end);
bool diag_is_offline(const struct diag_session *s);
/* One end only (diag_new(a, NULL, ...), or a record whose B was not collected). */
bool diag_one_end(const struct diag_session *s);
/* One end, once done: what the other site must supply (with this end's
 * capture window), for the report and the bundle.  NULL otherwise. */
const char *diag_other_end_note(const struct diag_session *s);
/* The name of the end not collected. */
#define DIAG_OTHER_END "other-end"

#endif
