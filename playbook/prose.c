#include "playbook/prose.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "remote/buf.h"
#include "ts_playbook_prose.h" /* generated from assets/playbook.md: ts_playbook_md[] */

/* A line of the asset: [p, p+len) without the newline. */
struct line {
    const char *p;
    size_t len;
};

static bool line_next(const char **cur, struct line *l)
{
    const char *s = *cur;
    if (!*s)
        return false;
    const char *e = strchr(s, '\n');
    size_t n = e ? (size_t)(e - s) : strlen(s);
    l->p = s;
    l->len = n;
    *cur = e ? e + 1 : s + n;
    return true;
}

static bool line_blank(const struct line *l)
{
    for (size_t i = 0; i < l->len; i++)
        if (!isspace((unsigned char)l->p[i]))
            return false;
    return true;
}

static bool line_starts(const struct line *l, const char *pfx)
{
    size_t n = strlen(pfx);
    return l->len >= n && !memcmp(l->p, pfx, n);
}

/* Appends the trimmed line to b, separated by a space (or a newline at a
 * paragraph break). */
static int append_text(struct buf *b, const struct line *l, bool *para_break)
{
    const char *p = l->p;
    size_t n = l->len;
    while (n && isspace((unsigned char)*p))
        p++, n--;
    while (n && isspace((unsigned char)p[n - 1]))
        n--;
    if (b->len && buf_puts(b, *para_break ? "\n" : " ") < 0)
        return -1;
    *para_break = false;
    return buf_append(b, p, n);
}

/* The text of a section: from after the heading that `match` accepts to the next
 * heading.  With `label` ("**Checks.**"), only the paragraph starting with it,
 * label removed.  Returns malloc'd text or NULL. */
static char *section_text(bool (*match)(const struct line *, const void *), const void *arg,
                          const char *label)
{
    const char *cur = ts_playbook_md;
    struct line l;
    bool in = false, in_para = false, para_break = false;
    struct buf b = BUF_INIT;
    while (line_next(&cur, &l)) {
        if (line_starts(&l, "#")) {
            if (in && !(label && line_starts(&l, "####")))
                break;
            in = match(&l, arg);
            continue;
        }
        if (!in)
            continue;
        if (line_blank(&l)) {
            if (label)
                in_para = false;
            para_break = true;
            continue;
        }
        if (label) {
            if (!in_para && line_starts(&l, label)) {
                struct line rest = {l.p + strlen(label), l.len - strlen(label)};
                in_para = true;
                para_break = false;
                if (append_text(&b, &rest, &para_break) < 0)
                    goto fail;
            } else if (in_para && append_text(&b, &l, &para_break) < 0) {
                goto fail;
            }
            continue;
        }
        if (append_text(&b, &l, &para_break) < 0)
            goto fail;
    }
    if (!b.len) {
        buf_free(&b);
        return NULL;
    }
    return buf_take(&b);
fail:
    buf_free(&b);
    return NULL;
}

static bool match_step(const struct line *l, const void *arg)
{
    int step = *(const int *)arg;
    if (!line_starts(l, "## ") || line_starts(l, "###"))
        return false;
    char *end;
    const char *p = l->p + 3;
    if (!isdigit((unsigned char)*p))
        return false;
    long n = strtol(p, &end, 10);
    return n == step && end < l->p + l->len && *end == '.';
}

static bool match_id(const struct line *l, const void *arg)
{
    const char *id = arg;
    if (!line_starts(l, "### "))
        return false;
    const char *p = l->p + 4;
    size_t n = l->len - 4;
    while (n && isspace((unsigned char)p[n - 1]))
        n--;
    return n == strlen(id) && !memcmp(p, id, n);
}

char *prose_step_checks(int step)
{
    return section_text(match_step, &step, "**Checks.**");
}

char *prose_step_why(int step)
{
    return section_text(match_step, &step, "**Why.**");
}

char *prose_decision(const char *id)
{
    return section_text(match_id, id, NULL);
}

char *prose_render(const char *id, const char *const *kv)
{
    char *t = prose_decision(id);
    if (!t || !kv)
        return t;
    struct buf b = BUF_INIT;
    const char *p = t;
    while (*p) {
        const char *open = strchr(p, '{');
        const char *close = open ? strchr(open, '}') : NULL;
        if (!open || !close) {
            if (buf_puts(&b, p) < 0)
                goto fail;
            break;
        }
        if (buf_append(&b, p, (size_t)(open - p)) < 0)
            goto fail;
        size_t n = (size_t)(close - open - 1);
        const char *val = NULL;
        for (const char *const *k = kv; k[0] && k[1]; k += 2)
            if (strlen(k[0]) == n && !memcmp(k[0], open + 1, n)) {
                val = k[1];
                break;
            }
        if ((val ? buf_puts(&b, val) : buf_append(&b, open, (size_t)(close - open + 1))) < 0)
            goto fail;
        p = close + 1;
    }
    free(t);
    return buf_take(&b);
fail:
    free(t);
    buf_free(&b);
    return NULL;
}

char *prose_ids(void)
{
    const char *cur = ts_playbook_md;
    struct line l;
    struct buf b = BUF_INIT;
    while (line_next(&cur, &l)) {
        if (!line_starts(&l, "### "))
            continue;
        struct line id = {l.p + 4, l.len - 4};
        while (id.len && isspace((unsigned char)id.p[id.len - 1]))
            id.len--;
        if (buf_append(&b, id.p, id.len) < 0 || buf_puts(&b, "\n") < 0) {
            buf_free(&b);
            return NULL;
        }
    }
    return buf_take(&b);
}
