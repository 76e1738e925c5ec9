/* The console's `e`: the evidence bundle of what the console holds, written
 * by the same writer as `diagnose --bundle` (playbook/bundle_session.h), so
 * that `verify` and `replay --check` work on it as on any other bundle:
 * session.json, findings.json in the diagnose format, every raw output with
 * its peer, command, start/end and exit status; the console's capture of
 * each end as the main pcaps with its declared span, the diagnosis's own
 * captures beside them (replay reads those). */
#ifndef TS_CONSOLE_EXPORT_H
#define TS_CONSOLE_EXPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "playbook/bundle.h"
#include "playbook/finding.h"
#include "remote/err.h"

struct diag_session;

struct console_export_in {
    const struct diag_session *diag; /* NULL: the diagnosis never started */
    const char *peer[2];
    bool collected[2];               /* the end was connected at some point */
    const char *pcap[2];             /* the console's capture of each end, NULL: none */
    double window[2][2];             /* its declared span, CLOCK_REALTIME s (first byte of the
                                        pcap stream, stop or now); 0: unknown */
    const struct bundle_raw *raws;   /* the console's own command outputs */
    size_t n_raws;
    const struct findings *findings; /* on screen (used when there is no finished diagnosis) */
    const char *conn;                /* for the folder's name, NULL: "tunnel" */
};

/* Writes DIR (and DIR.tar.gz) in the current folder, DIR named after the
 * connection and the time: tunnelscope-CONN-YYYYMMDDTHHMMSSZ.  *recomputable
 * says whether a finished diagnosis is in it (replay --check can recompute
 * its findings).  0 / -1. */
int console_export(const struct console_export_in *in, char *dir, size_t dir_size, bool *recomputable,
                   struct err *e);

/* The same in a child process (fork; no thread), so that the console goes on
 * drawing and reading both captures while the bundle is written (seconds for
 * big captures: tests/bench/bundle_export.c).  The captures are taken as they
 * are now: the child copies the first bytes of each (their size at the call,
 * after the caller flushed them) before the console appends more.  NULL on
 * error (in e). */
struct console_export_job;
struct console_export_job *console_export_start(const struct console_export_in *in, struct err *e);
/* 1 when the export has ended (its message, "evidence bundle written: ..."
 * or "export failed: ...", in msg; the job is freed), 0 while it runs. */
int console_export_poll(struct console_export_job *j, char *msg, size_t size);
/* Waits for the export to end (at quit), then as console_export_poll. */
void console_export_finish(struct console_export_job *j, char *msg, size_t size);

#endif
