/* The one place where arguments become part of a remote command line.
 *
 * Anything that goes into a command run on a peer (an interface name, a
 * subnet, a capture filter, a file name) passes through shquote_append() or
 * shquote_argv(): the result is read by a POSIX shell (sh -c, dash, bash,
 * busybox ash) as exactly that one word, whatever bytes it holds (quotes, ';',
 * '$()', backticks, newlines, globs, non-ASCII).  NUL cannot be part of an
 * argument on any Unix, so it is refused rather than silently cut. */
#ifndef TS_SHQUOTE_H
#define TS_SHQUOTE_H

#include <stddef.h>

#include "remote/buf.h"
#include "remote/err.h"

/* Appends one shell word that stands for s[0..len).  Words made only of
 * [A-Za-z0-9_@%+=:,./-] (and not empty) are appended as they are, so that
 * command lines kept as evidence stay readable; anything else is wrapped in
 * single quotes, each ' written as '\''.  The empty string becomes ''.
 * Returns 0, or -1 with ERR_USAGE when s holds a NUL byte (ERR_INTERNAL on
 * out of memory). */
int shquote_append(struct buf *out, const char *s, size_t len, struct err *e);

/* Appends argv[0..argc) as quoted words separated by one space.  0 / -1. */
int shquote_argv(struct buf *out, int argc, const char *const *argv, struct err *e);

/* 1 when s[0..len) would be appended unquoted (see above), else 0. */
int shquote_is_plain(const char *s, size_t len);

#endif
