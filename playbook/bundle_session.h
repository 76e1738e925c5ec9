/* The evidence bundle of a finished diagnosis (`diagnose --bundle DIR`, the
 * console's `e`): everything the session kept (raw outputs with command,
 * times and exit status, both ends' pcaps from its pcap_dir, the diagnose
 * JSON) plus the two captures correlated, handed to bundle_write(). */
#ifndef TS_BUNDLE_SESSION_H
#define TS_BUNDLE_SESSION_H

#include "playbook/session.h"
#include "remote/err.h"

#include <jansson.h>

/* secrets: known secrets to redact and scan for (NULL-terminated, may be NULL).  0 / -1. */
int bundle_write_session(const struct diag_session *s, const char *dir,
                         const char *const *secrets, struct err *e);
/* The same with a note for the report and the manifest (may be NULL). */
int bundle_write_session_note(const struct diag_session *s, const char *dir, const char *const *secrets,
                              const char *note, struct err *e);
/* What the steps read besides the outputs and pcaps, as session.json
 * (tunnelscope.session/1): the options, each end's name, whether it was
 * collected and connected (and why not), its capture window.  NULL on ENOMEM. */
json_t *bundle_session_record(const struct diag_session *s);

#endif
