/* findings.json: the findings of a diagnosis as JSON (schema
 * "tunnelscope.findings/1"), the form `diagnose --json` prints and the
 * evidence bundle keeps, and the way back to struct findings for `replay`.
 *
 * {"schema": "tunnelscope.findings/1",
 *  "peers": ["gw-a", "gw-b"],          (null for an end that was not collected)
 *  "exit_status": 0..3,
 *  "principal": "reach.esp_lost_a_to_b" | null,
 *  "steps": [{"step": 1, "name": "transport", "title": "Transport", "status": "ok"}, ...],
 *  "findings": [{"id", "step", "severity", "title", "decision" | null,
 *                "evidence": [{"peer" | null, "source" | null, "detail" | null}]}]} */
#ifndef TS_FINDING_JSON_H
#define TS_FINDING_JSON_H

#include <jansson.h>

#include "playbook/finding.h"
#include "remote/err.h"

#define FINDINGS_SCHEMA "tunnelscope.findings/1"
/* `diagnose --json` (playbook/report.h): the findings are under steps[].findings[]. */
#define FINDINGS_DIAGNOSE_SCHEMA "tunnelscope.diagnose/1"

/* peer_a / peer_b may be NULL.  exit_status < 0: findings_exit_status().  NULL on ENOMEM. */
json_t *findings_to_json(const struct findings *fs, const char *peer_a, const char *peer_b,
                         int exit_status);
/* Reads the findings back from either schema (the rest is derived).  Strict: a wrong type
 * or an unknown severity is an error naming the finding.  0 / -1. */
int findings_from_json(const json_t *doc, struct findings *out, struct err *e);
/* 1 when both lists hold the same findings (id, step, severity, title,
 * decision, evidence) in the same order, step by step; else 0 and why in e (the first
 * difference, naming the finding). */
int findings_equal(const struct findings *x, const struct findings *y, struct err *e);

#endif
