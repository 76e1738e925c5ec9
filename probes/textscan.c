#include "probes/textscan.h"

#include <string.h>

bool span_line(struct span *all, struct span *line)
{
    if (!all->p || all->len == 0)
        return false;
    const char *nl = memchr(all->p, '\n', all->len);
    size_t n = nl ? (size_t)(nl - all->p) : all->len;
    line->p = all->p;
    line->len = n;
    if (line->len && line->p[line->len - 1] == '\r')
        line->len--;
    size_t adv = nl ? n + 1 : n;
    all->p += adv;
    all->len -= adv;
    return true;
}

size_t span_indent(struct span *s)
{
    size_t w = 0;
    while (s->len && (s->p[0] == ' ' || s->p[0] == '\t')) {
        w += s->p[0] == '\t' ? 8 : 1;
        s->p++;
        s->len--;
    }
    return w;
}

static bool blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

void span_trim(struct span *s)
{
    while (s->len && blank(s->p[0])) {
        s->p++;
        s->len--;
    }
    while (s->len && blank(s->p[s->len - 1]))
        s->len--;
}

bool span_word(struct span *s, struct span *w)
{
    while (s->len && blank(s->p[0])) {
        s->p++;
        s->len--;
    }
    if (s->len == 0) {
        w->p = s->p;
        w->len = 0;
        return false;
    }
    size_t n = 0;
    while (n < s->len && !blank(s->p[n]))
        n++;
    w->p = s->p;
    w->len = n;
    s->p += n;
    s->len -= n;
    return true;
}

bool span_split(struct span *s, const char *sep, struct span *part)
{
    if (!s->p)
        return false;
    const char *f = span_find(*s, sep);
    if (!f) {
        *part = *s;
        s->p = NULL;
        s->len = 0;
        return true;
    }
    part->p = s->p;
    part->len = (size_t)(f - s->p);
    size_t adv = part->len + strlen(sep);
    s->p += adv;
    s->len -= adv;
    return true;
}

bool span_eq(struct span s, const char *lit)
{
    size_t n = strlen(lit);
    return s.p && s.len == n && memcmp(s.p, lit, n) == 0;
}

bool span_starts(struct span s, const char *lit)
{
    size_t n = strlen(lit);
    return s.p && s.len >= n && memcmp(s.p, lit, n) == 0;
}

const char *span_find(struct span s, const char *lit)
{
    size_t n = strlen(lit);
    if (!s.p || n == 0 || s.len < n)
        return NULL;
    for (size_t i = 0; i + n <= s.len; i++)
        if (s.p[i] == lit[0] && memcmp(s.p + i, lit, n) == 0)
            return s.p + i;
    return NULL;
}

const char *span_rfind(struct span s, const char *lit)
{
    size_t n = strlen(lit);
    if (!s.p || n == 0 || s.len < n)
        return NULL;
    for (size_t i = s.len - n + 1; i-- > 0;)
        if (s.p[i] == lit[0] && memcmp(s.p + i, lit, n) == 0)
            return s.p + i;
    return NULL;
}

int span_u64(struct span s, struct opt_u64 *o)
{
    uint64_t v;
    if (fact_parse_u64(s.p, s.len, &v) != 0)
        return -1;
    o->v = v;
    o->known = true;
    return 0;
}

int span_u64_after(struct span s, const char *key, struct opt_u64 *o)
{
    const char *f = span_find(s, key);
    if (!f)
        return -1;
    struct span r = {f + strlen(key), (size_t)(s.p + s.len - f - strlen(key))};
    size_t n = 0;
    while (n < r.len && r.p[n] >= '0' && r.p[n] <= '9')
        n++;
    r.len = n;
    return span_u64(r, o);
}

int span_copy(struct span s, char *dst, size_t n)
{
    return fact_copy(dst, n, s.p ? s.p : "", s.p ? s.len : 0);
}
