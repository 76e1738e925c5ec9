/* The JSON form of a correlation result (schema: assets/correlate-json.md). */
#ifndef TS_CORRELATE_JSON_H
#define TS_CORRELATE_JSON_H

#include <jansson.h>

#include "playbook/correlate.h"

/* name_a/name_b: labels of the two ends (may be NULL: "A", "B").  NULL when out of memory. */
json_t *correlate_result_json(const struct correlate_result *r, const char *name_a,
                              const char *name_b);

#endif
