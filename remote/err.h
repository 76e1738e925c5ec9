/* Error reporting shared by every layer: functions return 0 / -1 and put the
 * detail into an error buffer that the caller owns (shared/STYLE.md). */
#ifndef TS_ERR_H
#define TS_ERR_H

#include <stddef.h>

enum err_code {
    ERR_NONE = 0,
    ERR_INTERNAL,     /* a bug or out of memory */
    ERR_USAGE,        /* bad arguments from the user */
    ERR_IO,           /* local file or system call */
    ERR_PARSE,        /* outside input that could not be parsed */
    ERR_TRUNCATED,    /* outside input that ended early */
    ERR_UNSUPPORTED,  /* input of a kind we do not understand */
    ERR_CONNECT,      /* host unreachable, refused, DNS */
    ERR_TIMEOUT,
    ERR_AUTH,         /* authentication failed */
    ERR_HOSTKEY_UNKNOWN,
    ERR_HOSTKEY_CHANGED,
    ERR_SUDO,         /* sudo -n refused */
    ERR_NOT_FOUND,    /* a tool missing on the peer, a file missing */
    ERR_DISCONNECTED,
};

struct err {
    int code;
    char msg[256];
};

/* Sets e (when not NULL) and returns -1, so that `return err_set(...)` reads well. */
int err_set(struct err *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prepends context: "what: " + the existing message. Returns -1. */
int err_wrap(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void err_clear(struct err *e);
const char *err_code_name(int code);

#endif
