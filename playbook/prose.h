/* The playbook's prose: what each step checks, why, and each finding's
 * decision.  It lives in assets/playbook.md (compiled in at build time) so that
 * the words are reviewed as a document, not hunted through code.
 *
 * Format of assets/playbook.md (only these lines are structure, the rest is text):
 *   "## N. Title"            starts step N;  "**Checks.** ..." and "**Why.** ..." paragraphs describe it
 *   "### finding.id"         starts a finding; the text up to the next heading is its decision,
 *                            where {name} is replaced by the value a rule passes (prose_render). */
#ifndef TS_PROSE_H
#define TS_PROSE_H

/* Text of the step's "Checks." / "Why." paragraphs, malloc'd; NULL when absent. */
char *prose_step_checks(int step);
char *prose_step_why(int step);
/* Decision template of a finding id, malloc'd; NULL when the asset has none. */
char *prose_decision(const char *id);
/* The decision with {name} replaced from kv (name, value, name, value, ..., NULL;
 * kv may be NULL).  Unknown names are kept as written.  Returns malloc'd text,
 * NULL when the id has no decision or out of memory. */
char *prose_render(const char *id, const char *const *kv);
/* Every finding id the asset documents, in document order, one per line (malloc'd). */
char *prose_ids(void);

#endif
