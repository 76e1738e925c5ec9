/* Step 2's evidence: both ends' capture events, correlated
 * (playbook/correlate.h), condensed into the struct reach_facts that the
 * rules read.  reach_from_result() is pure: a test feeds it a literal
 * correlation result. */
#ifndef TS_REACH_H
#define TS_REACH_H

#include "playbook/collect.h"
#include "playbook/correlate.h"
#include "playbook/peerfacts.h"
#include "probes/capture.h"
#include "remote/err.h"

struct reach_acc;

/* local_a / local_b: each gateway's own outer address (its IKE local host),
 * NULL to let the correlation learn it. */
struct reach_acc *reach_acc_new(const char *local_a, const char *local_b);
void reach_acc_add(struct reach_acc *a, int side, const struct capture_event *ev);
/* When an end's capture was running (that end's clock, ns; end 0 while it
 * runs): see correlate_declare_span(). */
void reach_acc_declare_span(struct reach_acc *a, int side, int64_t start_ns, int64_t end_ns);
/* Correlates and fills out (strings in pool).  0 / -1. */
int reach_acc_finish(struct reach_acc *a, struct reach_facts *out, struct strpool *pool, struct err *e);
void reach_acc_free(struct reach_acc *a);

/* ike_sa_init[2]: IKE_SA_INIT requests sent A->B and B->A (counted by the
 * accumulator; the correlation does not tell exchange types). */
void reach_from_result(const struct correlate_result *r, const long ike_sa_init[2], struct reach_facts *out,
                       struct strpool *pool);

#endif
