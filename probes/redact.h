/* Second guard against key material in evidence: raw outputs are collected
 * without keys (`ip xfrm state ... nokeys`, swanctl never prints them), and are
 * then scanned by redact_text() before they are kept anywhere. */
#ifndef TS_REDACT_H
#define TS_REDACT_H

#include <stddef.h>

#include "remote/buf.h"

#define REDACTED "[REDACTED]"

/* Copies in[0..len) to out, replacing:
 *  - the key of iproute2 `enc|auth|auth-trunc|aead|comp NAME 0xHEX ...` lines,
 *  - values of `secret|psk|key|private_key|passphrase = ...` config lines
 *    (swanctl.conf, ipsec.secrets `: PSK "..."`),
 *  - every occurrence of each string in `secrets` (NULL-terminated list, may be
 *    NULL): known secrets such as the lab's PSK.
 * Returns the number of replacements, or -1 when out of memory. */
int redact_text(const char *in, size_t len, const char *const *secrets, struct buf *out);

/* Counts what redact_text() would replace, without copying. */
int redact_scan(const char *in, size_t len, const char *const *secrets);

#endif
