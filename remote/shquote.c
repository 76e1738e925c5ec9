#include "remote/shquote.h"

#include <string.h>

int shquote_is_plain(const char *s, size_t len)
{
    if (len == 0)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
            continue;
        if (!strchr("_@%+=:,./-", c) || c == '\0')
            return 0;
    }
    return 1;
}

int shquote_append(struct buf *out, const char *s, size_t len, struct err *e)
{
    if (memchr(s, '\0', len))
        return err_set(e, ERR_USAGE, "argument holds a NUL byte (cannot be passed to a command)");
    if (shquote_is_plain(s, len)) {
        if (buf_append(out, s, len) != 0)
            return err_set(e, ERR_INTERNAL, "out of memory");
        return 0;
    }
    int r = buf_append(out, "'", 1);
    size_t from = 0;
    for (size_t i = 0; i < len && r == 0; i++) {
        if (s[i] != '\'')
            continue;
        /* close the quote, an escaped quote, reopen */
        r = buf_append(out, s + from, i - from);
        if (r == 0)
            r = buf_append(out, "'\\''", 4);
        from = i + 1;
    }
    if (r == 0)
        r = buf_append(out, s + from, len - from);
    if (r == 0)
        r = buf_append(out, "'", 1);
    if (r != 0)
        return err_set(e, ERR_INTERNAL, "out of memory");
    return 0;
}

int shquote_argv(struct buf *out, int argc, const char *const *argv, struct err *e)
{
    for (int i = 0; i < argc; i++) {
        if (i > 0 && buf_append(out, " ", 1) != 0)
            return err_set(e, ERR_INTERNAL, "out of memory");
        if (shquote_append(out, argv[i], strlen(argv[i]), e) != 0)
            return err_wrap(e, "argument %d", i + 1);
    }
    return 0;
}
