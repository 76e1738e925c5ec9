#include "probes/vici_raw.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "probes/fact.h"

#define VICI_DEPTH_MAX 12
#define VICI_KIDS_MAX 100000

struct cursor {
    const char *s;
    size_t len;
    size_t pos;
    size_t line;
};

static void node_free(struct vici_node *nd)
{
    free(nd->name);
    free(nd->value);
    for (size_t i = 0; i < nd->n; i++) {
        if (nd->type == VICI_SECTION)
            node_free(&nd->kid[i]);
        else if (nd->type == VICI_LIST)
            free(nd->item[i]);
    }
    free(nd->kid);
    free(nd->item);
    memset(nd, 0, sizeof *nd);
}

void vici_msgs_free(struct vici_msg *msgs, size_t n)
{
    if (!msgs)
        return;
    for (size_t i = 0; i < n; i++) {
        free(msgs[i].label);
        node_free(&msgs[i].root);
    }
    free(msgs);
}

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static bool is_key_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

static bool is_name_char(char c)
{
    return c != ' ' && c != '=' && c != '{' && c != '}' && c != '[' && c != ']' &&
           c != '\n' && c != '\0';
}

/* At a space inside a value: does what follows start the next item? */
static bool next_item_starts(const struct cursor *c, size_t i)
{
    size_t j = i + 1;
    while (j < c->len && is_key_char(c->s[j]))
        j++;
    if (j > i + 1 && j < c->len && c->s[j] == '=')
        return true;
    j = i + 1;
    while (j < c->len && is_name_char(c->s[j]))
        j++;
    return j > i + 1 && j + 1 < c->len && c->s[j] == ' ' && c->s[j + 1] == '{';
}

static int perr(struct err *e, const struct cursor *c, const char *what)
{
    if (c->pos >= c->len)
        return err_set(e, ERR_TRUNCATED, "vici raw: line %zu: %s: input ends early",
                       c->line, what);
    return err_set(e, ERR_PARSE, "vici raw: line %zu column %zu: %s", c->line, c->pos + 1,
                   what);
}

static struct vici_node *add_kid(struct vici_node *sec)
{
    if (sec->n >= VICI_KIDS_MAX)
        return NULL;
    struct vici_node *k = fact_grow((void **)&sec->kid, sec->n, sizeof *k);
    if (k)
        sec->n++;
    return k;
}

static int add_item(struct vici_node *list, const char *s, size_t n)
{
    if (list->n >= VICI_KIDS_MAX)
        return -1;
    char **it = fact_grow((void **)&list->item, list->n, sizeof *it);
    if (!it)
        return -1;
    if (!(*it = dup_n(s, n)))
        return -1;
    list->n++;
    return 0;
}

/* c->pos is just after '{'.  Parses items up to and including the '}'. */
static int parse_section(struct cursor *c, struct vici_node *sec, int depth, struct err *e)
{
    if (depth > VICI_DEPTH_MAX)
        return perr(e, c, "sections nested too deep");
    for (;;) {
        while (c->pos < c->len && c->s[c->pos] == ' ')
            c->pos++;
        if (c->pos >= c->len || c->s[c->pos] == '\n')
            return perr(e, c, "section not closed");
        if (c->s[c->pos] == '}') {
            c->pos++;
            return 0;
        }
        size_t start = c->pos;
        while (c->pos < c->len && is_name_char(c->s[c->pos]))
            c->pos++;
        if (c->pos == start || c->pos >= c->len)
            return perr(e, c, "expected a name");
        struct vici_node *k = add_kid(sec);
        if (!k || !(k->name = dup_n(c->s + start, c->pos - start)))
            return err_set(e, ERR_INTERNAL, "vici raw: out of memory");
        if (c->s[c->pos] == '=') {
            c->pos++;
            if (c->pos < c->len && c->s[c->pos] == '[') {
                k->type = VICI_LIST;
                c->pos++;
                for (;;) {
                    while (c->pos < c->len && c->s[c->pos] == ' ')
                        c->pos++;
                    if (c->pos >= c->len || c->s[c->pos] == '\n')
                        return perr(e, c, "list not closed");
                    if (c->s[c->pos] == ']') {
                        c->pos++;
                        break;
                    }
                    size_t is = c->pos;
                    while (c->pos < c->len && c->s[c->pos] != ' ' && c->s[c->pos] != ']' &&
                           c->s[c->pos] != '\n')
                        c->pos++;
                    if (add_item(k, c->s + is, c->pos - is) != 0)
                        return err_set(e, ERR_INTERNAL, "vici raw: out of memory");
                }
            } else {
                k->type = VICI_KV;
                size_t vs = c->pos;
                while (c->pos < c->len && c->s[c->pos] != '}' && c->s[c->pos] != '\n' &&
                       !(c->s[c->pos] == ' ' && next_item_starts(c, c->pos)))
                    c->pos++;
                if (!(k->value = dup_n(c->s + vs, c->pos - vs)))
                    return err_set(e, ERR_INTERNAL, "vici raw: out of memory");
            }
        } else if (c->s[c->pos] == ' ' && c->pos + 1 < c->len && c->s[c->pos + 1] == '{') {
            k->type = VICI_SECTION;
            c->pos += 2;
            if (parse_section(c, k, depth + 1, e) != 0)
                return -1;
        } else {
            return perr(e, c, "expected '=' or ' {' after a name");
        }
    }
}

static bool label_ok(const char *s, size_t n)
{
    /* "<command> event" or "<command> reply", command in [a-z-] */
    size_t i = 0;
    while (i < n && ((s[i] >= 'a' && s[i] <= 'z') || s[i] == '-'))
        i++;
    if (i == 0 || i >= n || s[i] != ' ')
        return false;
    const char *k = s + i + 1;
    size_t kn = n - i - 1;
    return (kn == 5 && memcmp(k, "event", 5) == 0) || (kn == 5 && memcmp(k, "reply", 5) == 0);
}

int vici_raw_parse(const char *text, size_t len, struct vici_msg **msgs, size_t *n,
                   struct err *e)
{
    *msgs = NULL;
    *n = 0;
    struct vici_msg *m = NULL;
    size_t nm = 0;
    struct cursor c = {text, len, 0, 0};
    while (c.pos < len) {
        c.line++;
        size_t ls = c.pos;
        size_t le = ls;
        while (le < len && text[le] != '\n')
            le++;
        size_t t = le;
        while (t > ls && (text[t - 1] == ' ' || text[t - 1] == '\r' || text[t - 1] == '\t'))
            t--;
        if (t == ls) {
            c.pos = le + 1;
            continue;
        }
        const char *brace = memchr(text + ls, '{', t - ls);
        if (!brace || brace == text + ls || brace[-1] != ' ' ||
            !label_ok(text + ls, (size_t)(brace - 1 - (text + ls)))) {
            int lim = (int)(t - ls > 80 ? 80 : t - ls);
            err_set(e, ERR_UNSUPPORTED, "vici raw: line %zu is not a vici message: %.*s",
                    c.line, lim, text + ls);
            goto fail;
        }
        if (!fact_grow((void **)&m, nm, sizeof *m)) {
            err_set(e, ERR_INTERNAL, "vici raw: out of memory");
            goto fail;
        }
        nm++;
        m[nm - 1].root.type = VICI_SECTION;
        if (!(m[nm - 1].label = dup_n(text + ls, (size_t)(brace - 1 - (text + ls))))) {
            err_set(e, ERR_INTERNAL, "vici raw: out of memory");
            goto fail;
        }
        c.pos = (size_t)(brace - text) + 1;
        struct cursor lc = {text, le, c.pos, c.line};
        if (parse_section(&lc, &m[nm - 1].root, 0, e) != 0)
            goto fail;
        if (lc.pos != t) {
            c.pos = lc.pos;
            perr(e, &c, "text after the end of the message");
            goto fail;
        }
        c.pos = le + 1;
    }
    *msgs = m;
    *n = nm;
    return 0;
fail:
    vici_msgs_free(m, nm);
    return -1;
}

const struct vici_node *vici_find(const struct vici_node *sec, const char *name)
{
    if (!sec || sec->type != VICI_SECTION)
        return NULL;
    for (size_t i = 0; i < sec->n; i++)
        if (strcmp(sec->kid[i].name, name) == 0)
            return &sec->kid[i];
    return NULL;
}

const char *vici_get(const struct vici_node *sec, const char *name)
{
    const struct vici_node *k = vici_find(sec, name);
    return k && k->type == VICI_KV ? k->value : NULL;
}
