#include "tui/safe_text.h"

#include <stdint.h>

/* Length of the valid UTF-8 sequence at p (1..4), or 0 when invalid. Rejects
 * overlongs, surrogates and code points above U+10FFFF. */
static size_t utf8_valid(const unsigned char *p, size_t n)
{
    unsigned c = p[0];
    size_t need;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        need = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        need = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < need)
        return 0;
    for (size_t i = 1; i < need; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if ((need == 3 && cp < 0x800) || (need == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    /* C1 controls U+0080..U+009F are two-byte sequences: treat as controls */
    if (cp >= 0x80 && cp <= 0x9f)
        return 0;
    return need;
}

int safe_text(const char *in, size_t len, int keep_newlines, struct buf *out)
{
    const unsigned char *p = (const unsigned char *)in;
    size_t i = 0;
    if (buf_append(out, "", 0))
        return -1;
    while (i < len) {
        unsigned c = p[i];
        if (c == '\n' && keep_newlines) {
            if (buf_append(out, "\n", 1))
                return -1;
            i++;
            continue;
        }
        if (c == '\t') {
            if (buf_append(out, " ", 1))
                return -1;
            i++;
            continue;
        }
        if (c < 0x20 || c == 0x7f) {
            if (buf_printf(out, "\\x%02x", c))
                return -1;
            i++;
            continue;
        }
        size_t n = utf8_valid(p + i, len - i);
        if (n == 0) {
            if (buf_printf(out, "\\x%02x", c))
                return -1;
            i++;
            continue;
        }
        if (buf_append(out, p + i, n))
            return -1;
        i += n;
    }
    return 0;
}
