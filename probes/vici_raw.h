/* The vici "raw" dump that `swanctl ... --raw` prints: one message per line,
 *   list-sa event {site {uniqueid=1 state=ESTABLISHED child-sas {net-1 {...}}}}
 *   list-sas reply {}
 * parsed into a small tree.  Used by probes/swanctl.c; not a fact itself.
 *
 * The raw form does not quote values and a value may hold spaces ("class=pre-
 * shared key"): a value ends at '}' or at a space followed by a lowercase key
 * and '=' (vici keys are lowercase) or by a name and " {".  A value holding
 * such a sequence, or a '}', would be cut there: strongSwan's own values
 * (addresses, states, algorithms, DNs with uppercase attributes) never do. */
#ifndef TS_VICI_RAW_H
#define TS_VICI_RAW_H

#include <stddef.h>

#include "remote/err.h"

enum vici_type {
    VICI_SECTION,
    VICI_KV,
    VICI_LIST,
};

struct vici_node {
    enum vici_type type;
    char *name;
    char *value;              /* VICI_KV */
    size_t n;                 /* children (VICI_SECTION) or items (VICI_LIST) */
    struct vici_node *kid;    /* VICI_SECTION */
    char **item;              /* VICI_LIST */
};

struct vici_msg {
    char *label;              /* "list-sa event", "list-sas reply" */
    struct vici_node root;    /* a VICI_SECTION without name */
};

/* Parses every message of text[0..len).  *msgs is allocated (free with
 * vici_msgs_free).  Errors: ERR_UNSUPPORTED for a line that is no vici dump
 * (such as swanctl's "connecting to ... failed"), ERR_PARSE for a garbled one,
 * ERR_TRUNCATED for a message that does not close. */
int vici_raw_parse(const char *text, size_t len, struct vici_msg **msgs, size_t *n,
                   struct err *e);
void vici_msgs_free(struct vici_msg *msgs, size_t n);

/* Child named `name` of a section (any type), or NULL. */
const struct vici_node *vici_find(const struct vici_node *sec, const char *name);
/* Value of key `name` in a section, or NULL when absent or not a key/value. */
const char *vici_get(const struct vici_node *sec, const char *name);

#endif
