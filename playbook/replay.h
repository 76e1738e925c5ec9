/* Replaying a bundle: what the live path computed, recomputed from the
 * bundle's own raw material with no network, and compared with what the
 * bundle saved.  `tunnelscope replay --check / --json`, `merge` and the
 * console's replay mode use it.
 *
 * Recomputed: the two-end correlation (correlation.json) from both pcaps,
 * with the same options the export used (the local addresses it gave); and
 * the findings: the diagnosis session runs again offline
 * (diag_new_offline): every recorded output through the same parsing, each
 * end's pcap through the same capture decoder and correlation, the same step
 * rules.  The diagnose JSON it gives is compared with findings.json, all but
 * the timings (which say how long the live run took). */
#ifndef TS_REPLAY_H
#define TS_REPLAY_H

#include <stdbool.h>

#include <jansson.h>

#include "playbook/bundle.h"
#include "playbook/correlate.h"
#include "playbook/finding.h"
#include "playbook/session.h"
#include "remote/err.h"

struct replay_check {
    bool correlation_checked; /* both pcaps and a saved correlation.json */
    bool correlation_equal;
    char correlation_diff[256]; /* the first difference, "" when equal */
    bool findings_checked;
    bool findings_equal;
    char findings_diff[256];    /* "steps[1].findings[0].title: \"76 of 76...\" vs ..." */
    char findings_why[256];     /* when not checked: why */
    size_t unused_records;      /* recorded outputs the steps did not ask for */
    json_t *correlation;        /* the recomputed correlation (owned), NULL when not checked */
    json_t *findings;           /* the recomputed diagnose JSON (owned), NULL when not checked */
};

/* The correlation of both pcaps of a bundle, computed as the export did:
 * names from the peers, local addresses given when the export gave them.
 * 0 / -1 (ERR_NOT_FOUND when an end's capture is missing). */
int replay_correlate(const struct bundle *b, struct correlate_result **out, struct err *e);
/* The same, as JSON (tunnelscope.correlate/1).  NULL on error. */
json_t *replay_correlation_json(const struct bundle *b, struct err *e);
/* Each end's capture span as the bundle recorded it (session.json's
 * capture_window; none in older bundles: the spans come from the packets). */
void replay_capture_spans(const struct bundle *b, struct correlate_opts *o);
/* Options of a correlation that gives these local addresses (NULL: learn). */
void replay_correlate_opts(const char *local_a, const char *local_b, struct correlate_opts *o);

struct diag_session;
struct diag_record;

/* The record of a bundle (its raw outputs, pcaps, session.json) for the
 * offline session; what it points to lives in b and in *raws, which the
 * caller frees with replay_record_free().  0 / -1. */
int replay_record(const struct bundle *b, struct diag_record *r, struct err *e);
void replay_record_free(struct diag_record *r);
/* The options the bundle's diagnosis ran with (session.json; an older bundle
 * without it: what its outputs and findings.json show). */
void replay_options(const struct bundle *b, struct diag_opts *o);

/* Runs the five steps again on the bundle's recorded material (the offline
 * diagnosis session): *out is the finished session (diag_free()).
 * 0 done; 1 not possible for this bundle (why in e); -1 error. */
int replay_session(const struct bundle *b, struct diag_session **out, struct err *e);
/* The findings recomputed that way (a copy in out). 0 / 1 / -1 as above. */
int replay_recompute_findings(const struct bundle *b, struct findings *out, struct err *e);
/* A diagnose JSON document without what says how long the run took
 * ("timings", each step's "seconds", "version"): what replay compares.  New reference. */
json_t *replay_comparable(const json_t *diagnose_doc);

/* Recomputes the correlation and the findings and compares each with the
 * saved one.  0 / -1 (error; a bundle on which nothing can be recomputed is
 * not an error: see the *_checked flags). */
int replay_check_run(const struct bundle *b, struct replay_check *c, struct err *e);
/* True when everything checked is equal and something was checked. */
bool replay_check_ok(const struct replay_check *c);
void replay_check_free(struct replay_check *c);

/* {"bundle": path, "peers": [...], "complete": bool, "findings": the saved
 * findings.json, "check": {...}}.  NULL on ENOMEM. */
json_t *replay_check_json(const struct bundle *b, const struct replay_check *c);

/* 1 when two JSON documents are equal, else 0 and the path of the first
 * difference in diff ("directions[0].lost: 1193 vs 1192"). */
int replay_json_diff(const json_t *x, const json_t *y, char *diff, size_t size);

#endif
