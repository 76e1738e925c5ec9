/* The evidence bundle of a finished diagnosis (`diagnose --bundle DIR`, the
 * console's `e`, merge): everything the session kept (raw outputs with
 * command, times and exit status, both ends' pcaps from its pcap_dir, the
 * diagnose JSON) plus the two captures correlated, handed to bundle_write().
 * One writer for all of them: `replay --check` recomputes the findings of
 * any of their bundles. */
#ifndef TS_BUNDLE_SESSION_H
#define TS_BUNDLE_SESSION_H

#include "playbook/bundle.h"
#include "playbook/session.h"
#include "remote/err.h"

#include <jansson.h>

/* secrets: known secrets to redact and scan for (NULL-terminated, may be NULL).  0 / -1. */
int bundle_write_session(const struct diag_session *s, const char *dir,
                         const char *const *secrets, struct err *e);
/* The same with a note for the report and the manifest (may be NULL). */
int bundle_write_session_note(const struct diag_session *s, const char *dir, const char *const *secrets,
                              const char *note, struct err *e);

/* What the console adds to its diagnosis's bundle: its own capture of each
 * end (the one on screen, running since the console started) becomes the
 * bundle's main pcap/<peer>.pcap, correlated with its declared span; the
 * diagnosis's own captures go to pcap/diagnosis*, where replay reads them. */
struct bundle_session_extra {
    const char *pcap[2];           /* each end's capture file, NULL: none */
    double window[2][2];           /* its declared span, CLOCK_REALTIME s: the first byte of the pcap
                                      stream to the stop (or the export); 0: unknown */
    const struct bundle_raw *raws; /* the console's own outputs (origin "console") */
    size_t n_raws;
    const char *note;              /* NULL: the session's */
};
int bundle_write_session_ex(const struct diag_session *s, const struct bundle_session_extra *x,
                            const char *dir, const char *const *secrets, struct err *e);

/* What the steps read besides the outputs and pcaps, as session.json
 * (tunnelscope.session/1): the options, each end's name, whether it was
 * collected and connected (and why not), its capture window; "runs" when the
 * diagnosis ran more than once (step re-runs) or its captures are not the
 * main ones: each run's step and capture (role in pcap/index.json, window).
 * NULL on ENOMEM. */
json_t *bundle_session_record(const struct diag_session *s);

#endif
