/* Findings: what each diagnosis step concludes (shared/DESIGN.md). */
#ifndef TS_FINDING_H
#define TS_FINDING_H

#include <stddef.h>

enum severity { SEV_OK = 0, SEV_INFO, SEV_WARNING, SEV_FAILURE };

const char *severity_name(enum severity s);          /* "ok", "info", "warning", "failure" */
int severity_parse(const char *s, enum severity *out); /* 0 / -1 */

#endif
