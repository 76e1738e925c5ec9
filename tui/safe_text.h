/* Remote output must never reach the terminal raw: a hostile peer could drive it
 * with escape sequences.  safe_text() makes any byte string printable. */
#ifndef TS_SAFE_TEXT_H
#define TS_SAFE_TEXT_H

#include <stddef.h>

#include "remote/buf.h"

/* Appends to out a copy of in[0..len) in which every C0/C1 control character
 * (ESC, CSI, BEL, CR, ... but not TAB, which becomes a space, nor '\n' when
 * keep_newlines) and every byte that is not part of valid UTF-8 is shown as
 * "\xNN".  Returns 0 / -1 (ENOMEM). */
int safe_text(const char *in, size_t len, int keep_newlines, struct buf *out);

#endif
