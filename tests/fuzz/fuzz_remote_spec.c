/* Fuzz target: peer specs (from the command line and config) and the shell
 * quoting of arguments for remote command lines.  Invariants: a parsed spec is
 * sane (host without brackets or spaces, port in range); a quoted word, read
 * back the way sh reads '...' and \x, gives exactly the input bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "remote/peer.h"
#include "remote/shquote.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* sh's reading of one word made of plain characters, '...' and \c. */
static int unquote(const char *q, size_t n, struct buf *out)
{
    for (size_t i = 0; i < n; i++) {
        if (q[i] == '\'') {
            size_t j = i + 1;
            while (j < n && q[j] != '\'')
                j++;
            if (j >= n)
                return -1;
            buf_append(out, q + i + 1, j - i - 1);
            i = j;
        } else if (q[i] == '\\') {
            if (++i >= n)
                return -1;
            buf_append(out, q + i, 1);
        } else if (strchr(" \t\n;&|<>()$`\"*?[]#~=%", q[i]) && q[i] != '=' && q[i] != '%') {
            return -1; /* an unquoted metacharacter */
        } else {
            buf_append(out, q + i, 1);
        }
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';

    struct peer_spec spec;
    struct err e = {0};
    if (peer_spec_parse(s, &spec, &e) == 0) {
        if (strcmp(spec.name, s) != 0 || spec.port < 0 || spec.port > 65535)
            abort();
        if (spec.kind == PEER_SSH) {
            if (!spec.host || !spec.host[0] || strpbrk(spec.host, "[] \t\n@") || spec.host[0] == '-')
                abort();
        }
        peer_spec_clear(&spec);
    } else if (e.code != ERR_USAGE && e.code != ERR_INTERNAL) {
        abort();
    }

    struct buf q = BUF_INIT, back = BUF_INIT;
    if (shquote_append(&q, (const char *)data, size, &e) == 0) {
        if (memchr(data, '\0', size))
            abort();
        if (!q.data || unquote(q.data, q.len, &back) != 0 || back.len != size ||
            (size && memcmp(back.data, data, size) != 0))
            abort();
    } else if (!memchr(data, '\0', size)) {
        abort();
    }
    buf_free(&q);
    buf_free(&back);
    free(s);
    return 0;
}
