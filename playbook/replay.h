/* Replaying a bundle: what the live path computed, recomputed from the
 * bundle's own raw material with no network, and compared with what the
 * bundle saved.  `tunnelscope replay --check / --json` and the console's
 * replay mode use it.
 *
 * Recomputed today: the two-end correlation (correlation.json) from both
 * pcaps, with the same options the export used (the local addresses it gave).
 * The findings are compared when a recomputation of them is given
 * (replay_compare_findings). */
#ifndef TS_REPLAY_H
#define TS_REPLAY_H

#include <stdbool.h>

#include <jansson.h>

#include "playbook/bundle.h"
#include "playbook/correlate.h"
#include "playbook/finding.h"
#include "remote/err.h"

struct replay_check {
    bool correlation_checked; /* both pcaps and a saved correlation.json */
    bool correlation_equal;
    char correlation_diff[256]; /* the first difference, "" when equal */
    bool findings_checked;
    bool findings_equal;
    char findings_diff[256];
    json_t *correlation;        /* the recomputed correlation (owned), NULL when not checked */
};

/* The correlation of both pcaps of a bundle, computed as the export did:
 * names from the peers, local addresses given when the export gave them.
 * 0 / -1 (ERR_NOT_FOUND when an end's capture is missing). */
int replay_correlate(const struct bundle *b, struct correlate_result **out, struct err *e);
/* The same, as JSON (tunnelscope.correlate/1).  NULL on error. */
json_t *replay_correlation_json(const struct bundle *b, struct err *e);
/* Options of a correlation that gives these local addresses (NULL: learn). */
void replay_correlate_opts(const char *local_a, const char *local_b, struct correlate_opts *o);

/* Recomputes the findings from the bundle's raw outputs and the recomputed
 * correlation (may be NULL), through the playbook's own step rules.
 * 0 done; 1 not possible for this bundle (why in e); -1 error. */
int replay_recompute_findings(const struct bundle *b, const json_t *correlation,
                              struct findings *out, struct err *e);

/* Recomputes the correlation and compares it with the saved one. 0 / -1. */
int replay_check_run(const struct bundle *b, struct replay_check *c, struct err *e);
/* Compares recomputed findings with the saved ones (fills findings_*). */
void replay_compare_findings(const struct bundle *b, const struct findings *recomputed,
                             struct replay_check *c);
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
