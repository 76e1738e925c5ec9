#include "probes/redact.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

static int is_hexblob(const char *p, size_t n, size_t *used)
{
    /* 0x followed by at least 8 hex digits */
    if (n < 10 || p[0] != '0' || (p[1] != 'x' && p[1] != 'X'))
        return 0;
    size_t i = 2;
    while (i < n && isxdigit((unsigned char)p[i]))
        i++;
    if (i - 2 < 8)
        return 0;
    *used = i;
    return 1;
}

static size_t word_len(const char *p, size_t n)
{
    size_t i = 0;
    while (i < n && !isspace((unsigned char)p[i]))
        i++;
    return i;
}

static size_t skip_blank(const char *p, size_t n)
{
    size_t i = 0;
    while (i < n && (p[i] == ' ' || p[i] == '\t'))
        i++;
    return i;
}

static const char *const xfrm_key_words[] = {"enc", "auth", "auth-trunc", "aead", "comp", NULL};
static const char *const cfg_key_words[] = {"secret", "psk", "key", "private_key", "passphrase",
                                            "pin", NULL};

static int word_in(const char *w, size_t wl, const char *const *list)
{
    for (; *list; list++)
        if (strlen(*list) == wl && !strncasecmp(w, *list, wl))
            return 1;
    return 0;
}

/* Emits [p, p+n) with every known secret in it replaced (counted in *count). */
static int emit_plain(const char *p, size_t n, const char *const *secrets, struct buf *out,
                      int *count)
{
    size_t start = 0;
    if (secrets) {
        for (size_t k = 0; k < n;) {
            size_t hit = 0;
            for (const char *const *s = secrets; *s; s++) {
                size_t sl = strlen(*s);
                if (sl && sl <= n - k && !memcmp(p + k, *s, sl)) {
                    hit = sl;
                    break;
                }
            }
            if (hit) {
                (*count)++;
                if (out && (buf_append(out, p + start, k - start) || buf_puts(out, REDACTED)))
                    return -1;
                k += hit;
                start = k;
            } else {
                k++;
            }
        }
    }
    if (out && buf_append(out, p + start, n - start))
        return -1;
    return 0;
}

/* Works on one line [p, p+n) (without its '\n'). Emits into out when out != NULL. */
static int redact_line(const char *p, size_t n, const char *const *secrets, struct buf *out,
                       int *count)
{
    size_t i = skip_blank(p, n);
    size_t w = word_len(p + i, n - i);

    /* iproute2: "\tenc cbc(aes) 0x0123... " / "\taead rfc4106(gcm(aes)) 0x... 128" */
    if (w && word_in(p + i, w, xfrm_key_words)) {
        size_t j = i + w;
        j += skip_blank(p + j, n - j);
        size_t alg = word_len(p + j, n - j);
        j += alg;
        j += skip_blank(p + j, n - j);
        size_t used;
        if (alg && is_hexblob(p + j, n - j, &used)) {
            (*count)++;
            if (emit_plain(p, j, secrets, out, count) || (out && buf_puts(out, REDACTED)) ||
                emit_plain(p + j + used, n - j - used, secrets, out, count))
                return -1;
            return 0;
        }
    }
    /* config: "secret = xyz", "psk: ...", ': PSK "xyz"' (ipsec.secrets) */
    const char *colon_psk = NULL;
    for (size_t k = 0; k + 6 <= n; k++)
        if (p[k] == ':' && !strncasecmp(p + k + 1, " PSK ", 5)) {
            colon_psk = p + k + 6;
            break;
        }
    if (colon_psk) {
        size_t j = (size_t)(colon_psk - p);
        (*count)++;
        if (emit_plain(p, j, secrets, out, count) || (out && buf_puts(out, REDACTED)))
            return -1;
        return 0;
    }
    if (w) {
        size_t key_len = 0;
        while (key_len < w && p[i + key_len] != '=' && p[i + key_len] != ':')
            key_len++;
        if (key_len && word_in(p + i, key_len, cfg_key_words)) {
            size_t j = i + key_len;
            j += skip_blank(p + j, n - j);
            if (j < n && (p[j] == '=' || p[j] == ':')) {
                j++;
                j += skip_blank(p + j, n - j);
                if (j < n) {
                    (*count)++;
                    if (emit_plain(p, j, secrets, out, count) ||
                        (out && buf_puts(out, REDACTED)))
                        return -1;
                    return 0;
                }
            }
        }
    }
    /* known secrets anywhere in the line */
    return emit_plain(p, n, secrets, out, count);
}

static int redact_run(const char *in, size_t len, const char *const *secrets, struct buf *out)
{
    int count = 0;
    size_t pos = 0;
    while (pos < len) {
        const char *nl = memchr(in + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (in + pos)) : len - pos;
        if (redact_line(in + pos, n, secrets, out, &count) != 0)
            return -1;
        if (nl && out && buf_append(out, "\n", 1))
            return -1;
        pos += n + (nl ? 1 : 0);
    }
    if (out && !out->data && buf_append(out, "", 0))
        return -1;
    return count;
}

int redact_text(const char *in, size_t len, const char *const *secrets, struct buf *out)
{
    return redact_run(in, len, secrets, out);
}

int redact_scan(const char *in, size_t len, const char *const *secrets)
{
    return redact_run(in, len, secrets, NULL);
}
