/* Several probes in one remote command.  A gateway's sshd allows a handful of
 * sessions per connection (MaxSessions 10) and every session costs a fork,
 * a shell and a sudo on the gateway: the baseline probes of a step run as one
 * script, each command's output framed by markers that carry a per-session
 * nonce (so that output cannot forge them) and its exit status:
 *
 *     @@tunnelscope:NONCE:ID:begin
 *     ...the command's stdout and stderr...
 *     @@tunnelscope:NONCE:ID:end:STATUS
 */
#ifndef TS_BATCH_H
#define TS_BATCH_H

#include <stddef.h>

#include "remote/buf.h"

/* Appends the script for commands cmds[0..n) with ids ids[0..n) (small
 * integers).  The commands are shell text, put in as they are.  0 / -1. */
int batch_build(struct buf *out, const char *nonce, const int *ids, const char *const *cmds, size_t n);

/* Finds the output of id in text.  Returns 1 and sets *start, *len, *status
 * when both markers are there; 0 when the section began but never ended
 * (start and length: what arrived, *status -1); -1 when it never began.  The
 * newline the script adds before the end marker is not part of the output. */
int batch_section(const char *text, size_t len, const char *nonce, int id, size_t *start, size_t *out_len,
                  int *status);

#endif
