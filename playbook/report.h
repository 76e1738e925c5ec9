/* The diagnosis as a report: human text (with the time each step took),
 * Markdown (fit for an ISP escalation or a postmortem), and JSON (schema in
 * assets/diagnose-json.md).  Pure: built from a struct report_in, which a
 * test writes as a literal or report_from_session() fills. */
#ifndef TS_REPORT_H
#define TS_REPORT_H

#include <jansson.h>
#include <stdbool.h>

#include "playbook/finding.h"
#include "playbook/peerfacts.h"
#include "remote/buf.h"

struct diag_session;

struct report_in {
    const char *peer[2];
    const char *conn[2];
    const struct findings *fs;
    enum step_status status[STEP_COUNT + 1]; /* [1..5] */
    double step_seconds[STEP_COUNT + 1];      /* -1: not run */
    double connect_seconds, total_seconds;
    int exit_status;                          /* 0..3 */
    const struct peer_facts *facts[2];        /* may be NULL */
    const struct reach_facts *reach;          /* may be NULL */
    unsigned capture_seconds;
    bool active;
    const char *other_end; /* one end only (a half-bundle): what the other site must supply; NULL: both ends */
};

void report_from_session(const struct diag_session *s, struct report_in *out);

/* "ok", "warning", "failure", "cannot_diagnose" from the exit status. */
const char *report_result_name(int exit_status);

/* Human text report.  Strings from the peers are not made terminal-safe here
 * (the front end does that).  0 / -1. */
int report_text(const struct report_in *r, struct buf *out);
int report_markdown(const struct report_in *r, struct buf *out);
/* New reference, NULL on out of memory. */
json_t *report_json(const struct report_in *r);
/* JSON text (indented, ending in a newline).  0 / -1. */
int report_json_text(const struct report_in *r, struct buf *out);

#endif
