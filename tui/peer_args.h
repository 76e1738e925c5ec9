/* The SSH options every command that reaches peers shares: -F SSH_CONFIG,
 * --known-hosts FILE, --accept-new-hostkey.  One parser, so that console,
 * exec and diagnose accept and reject them the same way. */
#ifndef TS_PEER_ARGS_H
#define TS_PEER_ARGS_H

#include "remote/peer.h"

/* Looks at argv[*i].  1: it was a peer option (its value, if any, consumed:
 * *i moved past it); 0: not a peer option (nothing changed); -1: the option
 * lacks its value (message printed on stderr, prefixed with `prog`). */
int peer_args_take(int argc, char **argv, int *i, struct peer_opts *o, const char *prog);

/* 1 when `a` is a peer option that takes a value (to skip it in a second pass). */
int peer_args_has_value(const char *a);

#endif
