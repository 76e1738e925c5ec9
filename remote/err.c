#include "remote/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int err_set(struct err *e, int code, const char *fmt, ...)
{
    if (!e)
        return -1;
    e->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return -1;
}

int err_wrap(struct err *e, const char *fmt, ...)
{
    if (!e)
        return -1;
    char prefix[sizeof e->msg];
    char old[sizeof e->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, e->msg, sizeof old);
    size_t n = strlen(prefix);
    if (n > sizeof e->msg - 3)
        n = sizeof e->msg - 3;
    memcpy(e->msg, prefix, n);
    memcpy(e->msg + n, ": ", 2);
    size_t room = sizeof e->msg - n - 3;
    size_t ol = strnlen(old, room);
    memcpy(e->msg + n + 2, old, ol);
    e->msg[n + 2 + ol] = '\0';
    return -1;
}

void err_clear(struct err *e)
{
    if (!e)
        return;
    e->code = ERR_NONE;
    e->msg[0] = '\0';
}

const char *err_code_name(int code)
{
    static const char *const names[] = {
        [ERR_NONE] = "none",
        [ERR_INTERNAL] = "internal",
        [ERR_USAGE] = "usage",
        [ERR_IO] = "io",
        [ERR_PARSE] = "parse",
        [ERR_TRUNCATED] = "truncated",
        [ERR_UNSUPPORTED] = "unsupported",
        [ERR_CONNECT] = "connect",
        [ERR_TIMEOUT] = "timeout",
        [ERR_AUTH] = "auth",
        [ERR_HOSTKEY_UNKNOWN] = "hostkey-unknown",
        [ERR_HOSTKEY_CHANGED] = "hostkey-changed",
        [ERR_SUDO] = "sudo",
        [ERR_NOT_FOUND] = "not-found",
        [ERR_DISCONNECTED] = "disconnected",
    };
    if (code < 0 || (size_t)code >= sizeof names / sizeof names[0] || !names[code])
        return "unknown";
    return names[code];
}
