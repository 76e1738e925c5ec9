/* Findings: what each of the five diagnosis steps concludes (shared/DESIGN.md).
 *
 * A finding has a stable id shared by the JSON, the console and the docs
 * ("reach.esp_lost_a_to_b"), the step it belongs to, a severity, a one-line
 * title, the evidence it rests on (which command on which peer, which packets)
 * and a decision: what to do next, in an engineer's words.  Value records: a
 * test can build them as literals; findings_add() copies every string. */
#ifndef TS_FINDING_H
#define TS_FINDING_H

#include <stddef.h>

enum severity { SEV_OK = 0, SEV_INFO, SEV_WARNING, SEV_FAILURE };

const char *severity_name(enum severity s);            /* "ok", "info", "warning", "failure" */
int severity_parse(const char *s, enum severity *out); /* 0 / -1 */

/* The five steps, always run in this order. */
enum step_id {
    STEP_TRANSPORT = 1, /* IKE/ESP transport, NAT-T, listeners */
    STEP_REACH = 2,     /* bidirectional UDP/4500 reachability (captures) */
    STEP_POLICY = 3,    /* selectors, policy, routing, NAT exemption */
    STEP_MTU = 4,       /* MTU / MSS / fragmentation */
    STEP_TIMERS = 5,    /* proposals, lifetimes, DPD, keepalives */
};
#define STEP_FIRST STEP_TRANSPORT
#define STEP_LAST STEP_TIMERS
#define STEP_COUNT 5

const char *step_name(int step);  /* "transport", "reachability", "policy", "mtu", "timers" */
const char *step_title(int step); /* "Transport", "UDP/4500 reachability", ... */

enum step_status {
    STEP_PENDING = 0,
    STEP_RUNNING,
    STEP_OK,
    STEP_INFO,
    STEP_WARNING,
    STEP_FAILED,
    STEP_SKIPPED, /* could not run: says why in a finding */
};
const char *step_status_name(enum step_status s); /* "pending", "running", "ok", ... */

struct evidence {
    char *peer;   /* peer name ("gw-a"), or NULL when it rests on both / the correlation */
    char *source; /* the command as run, or "capture A+B", or a file in the bundle */
    char *detail; /* the lines or packets that show it (already redacted, may be NULL) */
};

struct finding {
    char *id;
    int step;
    enum severity sev;
    char *title;
    char *decision;
    struct evidence *ev;
    size_t n_ev;
};

struct findings {
    struct finding *v;
    size_t n;
    size_t cap;
};

#define FINDINGS_INIT {NULL, 0, 0}

/* Adds a finding (strings copied; title is a printf format).  Returns the new
 * finding (valid until the next add) or NULL when out of memory. */
struct finding *findings_add(struct findings *fs, const char *id, int step, enum severity sev,
                             const char *decision, const char *title_fmt, ...)
    __attribute__((format(printf, 6, 7)));
/* Adds evidence to f; detail is a printf format and may be NULL. 0 / -1. */
int finding_add_evidence(struct finding *f, const char *peer, const char *source,
                         const char *detail_fmt, ...) __attribute__((format(printf, 4, 5)));

/* The finding with this id, or NULL. */
const struct finding *findings_find(const struct findings *fs, const char *id);
/* The principal finding: the first failure in step order (then the order they
 * were added); when there is no failure, the first warning; else NULL. */
const struct finding *findings_principal(const struct findings *fs);
/* Worst severity among the findings of a step (SEV_OK when it has none). */
enum severity findings_step_worst(const struct findings *fs, int step);
/* Step status from the findings: ok / info / warning / failed. */
enum step_status findings_step_status(const struct findings *fs, int step);
/* Exit status of `diagnose`: 0 nothing wrong, 1 warnings, 2 failures. */
int findings_exit_status(const struct findings *fs);

void findings_free(struct findings *fs);

#endif
