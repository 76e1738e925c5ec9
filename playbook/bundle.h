/* The evidence bundle (issue 8): what leaves an incident, attached to the ISP
 * ticket or the postmortem.  A folder and a .tar.gz of it:
 *
 *   DIR/manifest.json      every other file with its SHA-256 and size, the tool
 *                          version, the peers, the time span (schema tunnelscope.bundle/1)
 *   DIR/findings.json      the diagnosis (playbook/finding_json.h)
 *   DIR/correlation.json   the two-end capture correlation (tunnelscope.correlate/1), when run
 *   DIR/report.md          for someone outside the team (playbook/report.h)
 *   DIR/report.html        the same, with per-direction timelines in inline SVG
 *   DIR/raw/index.json     one entry per command output: peer, step, what, the exact
 *                          command line, start/end time, exit status, file
 *   DIR/raw/<peer>/NNN-<what>.txt   the outputs as received, key material redacted
 *   DIR/pcap/<peer>.pcap   each end's capture as taken
 *   DIR/session.json       what else the steps read (options, connection states, capture
 *                          windows): with the raw outputs and pcaps, enough to run them again.
 *                          peers[].capture_window {start_s, end_s}: when that end's tcpdump
 *                          was capturing (console's CLOCK_REALTIME; playbook/session.h
 *                          diag_capture_window), the span correlation.json counts loss in
 *   DIR.tar.gz             the folder, packed (libarchive)
 *
 * Files are created owner-only (0600 in 0700 folders) with O_EXCL and without
 * following symlinks, in a fresh mkdtemp() folder beside DIR that is renamed
 * to DIR only when complete: a failed export leaves nothing behind.  Every
 * text is redacted (probes/redact.h) before it is written, and every written
 * file is scanned again before the rename: a file still holding key material
 * (or one of the known secrets given) makes the whole export fail. */
#ifndef TS_BUNDLE_H
#define TS_BUNDLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "playbook/finding.h"
#include "remote/err.h"

#define BUNDLE_SCHEMA "tunnelscope.bundle/1"

/* One command output kept as evidence. */
struct bundle_raw {
    int side;            /* 0 = A, 1 = B */
    int step;            /* the step it was collected for (0: none) */
    const char *what;    /* "swanctl --list-sas --raw": what was asked */
    const char *command; /* the exact line sent to the peer (with sudo/timeout) */
    const char *output;  /* stdout + stderr as received */
    size_t output_len;
    int exit_status;     /* -1: none (did not run to its end) */
    const char *error;   /* why it did not run to its end, or NULL */
    double started, ended; /* CLOCK_REALTIME seconds */
    const char *error_code; /* the error's kind (err_code_name(): "sudo", "timeout"...), NULL: none */
    const char *origin;  /* NULL: the diagnosis's (the five steps read it); "console": the console's
                            own commands (SA counters, its capture), evidence the steps did not read */
    int run;             /* the diagnosis run it belongs to (0 the full run, k the k-th step re-run) */
    bool superseded;     /* a later re-run of its step replaced what it gave (kept, labelled) */
};

/* A capture kept beside the two main ones (pcap/<role>/<peer>.pcap): the
 * diagnosis's own capture when the main ones are the console's, a re-run's. */
struct bundle_pcap {
    int side;
    const char *role;    /* "diagnosis", "diagnosis-run1": a plain folder name */
    const char *path;
};

struct bundle_peer {
    const char *name;    /* "gw-a"; NULL: no such end */
    bool collected;      /* false: this end is missing (a half-bundle) */
};

struct bundle_input {
    struct bundle_peer peer[2];
    const struct bundle_raw *raws;
    size_t n_raws;
    const char *pcap[2];        /* path of each end's capture file, or NULL */
    const struct bundle_pcap *more_pcaps; /* further captures, listed in pcap/index.json with their role */
    size_t n_more_pcaps;
    const struct findings *findings;
    const char *findings_json;  /* `diagnose --json` text (tunnelscope.diagnose/1) to keep as
                                   findings.json; NULL: written from findings (tunnelscope.findings/1) */
    int exit_status;            /* -1: from the findings */
    const char *correlation_json; /* tunnelscope.correlate/1 text, or NULL */
    const char *const *secrets; /* known secrets (the PSK...): redacted and scanned for; NULL-terminated, may be NULL */
    const char *note;           /* free text for the report (e.g. what the other end must supply), or NULL */
    const char *session_json;   /* what the steps read besides the outputs and pcaps (options, each
                                   end's connection state and capture window), kept as session.json
                                   so that `replay` can run them again (tunnelscope.session/1), or NULL */
};

/* Writes DIR and DIR.tar.gz (neither may exist).  0 / -1 (nothing left behind on failure). */
int bundle_write(const struct bundle_input *in, const char *dir, struct err *e);

/* Checks a bundle (folder or .tar.gz): the manifest's files exist, are regular
 * files, have the listed size and SHA-256, and no other file is present.
 * -1 with the first offending file named in e. */
int bundle_verify(const char *path, struct err *e);

/* Counts key material in a bundle (folder or .tar.gz): every file scanned
 * with probes/redact.h rules and the given secrets.  Returns the number of
 * hits (0: clean), -1 on error; the first file with a hit is named in e. */
int bundle_scan_secrets(const char *path, const char *const *secrets, struct err *e);

/* ---- reading a bundle back (replay, merge, verify) ---- */

struct bundle;

/* Opens a folder or a .tar.gz (unpacked into a private temporary folder that
 * bundle_free() removes), verifies it, and loads manifest, findings,
 * correlation and raw outputs.  NULL on error. */
struct bundle *bundle_open(const char *path, struct err *e);
void bundle_free(struct bundle *b);

const char *bundle_root(const struct bundle *b);          /* the folder read */
const json_t *bundle_manifest(const struct bundle *b);
const json_t *bundle_findings_json(const struct bundle *b);
const json_t *bundle_correlation_json(const struct bundle *b); /* NULL when absent */
const json_t *bundle_session_json(const struct bundle *b);     /* NULL when absent (older bundles) */
/* The saved findings (parsed from findings.json). */
const struct findings *bundle_findings(const struct bundle *b);
const char *bundle_peer_name(const struct bundle *b, int side);  /* NULL: none */
bool bundle_peer_collected(const struct bundle *b, int side);
size_t bundle_raw_count(const struct bundle *b);
const struct bundle_raw *bundle_raw_get(const struct bundle *b, size_t i);
/* Full path of an end's pcap inside the bundle, NULL when none. */
const char *bundle_pcap_path(const struct bundle *b, int side);
/* Full path of an end's further capture of that role (struct bundle_pcap),
 * NULL when none.  Valid until bundle_free(). */
const char *bundle_pcap_role_path(const struct bundle *b, int side, const char *role);
const char *bundle_note(const struct bundle *b);

/* The input that writes the same bundle again (raws, pcaps, findings,
 * correlation and peers point into b).  For merge and for re-exporting. */
void bundle_as_input(const struct bundle *b, struct bundle_input *in);

/* Known secrets from a file: one per line (blank lines and lines starting
 * with '#' skipped).  NULL-terminated list, NULL on error.  Free with
 * bundle_secrets_free(). */
char **bundle_secrets_read(const char *path, struct err *e);
void bundle_secrets_free(char **v);

/* Lowest-level helpers, exposed for the tests. */
int bundle_sha256_file(const char *path, char hex[65], uint64_t *size, struct err *e);

#endif
