#include "playbook/batch.h"

#include <stdio.h>
#include <string.h>

int batch_build(struct buf *out, const char *nonce, const int *ids, const char *const *cmds, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (buf_printf(out,
                       "echo '@@tunnelscope:%s:%d:begin'; { %s\n} 2>&1 </dev/null; rc=$?; echo; "
                       "echo \"@@tunnelscope:%s:%d:end:$rc\"; ",
                       nonce, ids[i], cmds[i], nonce, ids[i]) != 0)
            return -1;
    return buf_puts(out, "true");
}

/* memmem over [text, text+len). */
static const char *find(const char *text, size_t len, const char *needle)
{
    size_t m = strlen(needle);
    if (!m || m > len)
        return NULL;
    for (size_t i = 0; i + m <= len; i++)
        if (text[i] == needle[0] && !memcmp(text + i, needle, m))
            return text + i;
    return NULL;
}

int batch_section(const char *text, size_t len, const char *nonce, int id, size_t *start, size_t *out_len,
                  int *status)
{
    char begin[160], end[160];
    snprintf(begin, sizeof begin, "@@tunnelscope:%s:%d:begin\n", nonce, id);
    snprintf(end, sizeof end, "\n@@tunnelscope:%s:%d:end:", nonce, id);
    *start = *out_len = 0;
    *status = -1;
    const char *b = find(text, len, begin);
    /* the begin marker must start a line */
    while (b && b != text && b[-1] != '\n') {
        size_t off = (size_t)(b - text) + 1;
        const char *nb = find(text + off, len - off, begin);
        b = nb;
    }
    if (!b)
        return -1;
    size_t s = (size_t)(b - text) + strlen(begin);
    const char *e = find(text + s, len - s, end);
    if (!e) {
        *start = s;
        *out_len = len - s;
        return 0;
    }
    *start = s;
    *out_len = (size_t)(e - (text + s)); /* e is the newline of the script's own "echo" */
    const char *p = e + strlen(end), *lim = text + len;
    int v = 0, digits = 0;
    while (p < lim && *p >= '0' && *p <= '9' && digits < 4) {
        v = v * 10 + (*p - '0');
        p++;
        digits++;
    }
    if (!digits || (p < lim && *p != '\n'))
        return 0;
    *status = v;
    return 1;
}
