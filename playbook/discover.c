#include "playbook/discover.h"

#include <stdbool.h>
#include <string.h>

static bool is_any(const char *s)
{
    return !strcmp(s, "%any") || !strcmp(s, "%any4") || !strcmp(s, "%any6") || !strcmp(s, "0.0.0.0/0") ||
           !strcmp(s, "::/0");
}

static bool list_has(const char *const *l, const char *addr)
{
    for (size_t i = 0; i < DISCOVER_MAX_ADDRS && l[i]; i++)
        if (!strcmp(l[i], addr))
            return true;
    return false;
}

static bool list_any(const char *const *l)
{
    for (size_t i = 0; i < DISCOVER_MAX_ADDRS && l[i]; i++)
        if (is_any(l[i]))
            return true;
    return false;
}

/* Does `remote` (the remote_addrs of one side's conn) name the other side,
 * whose conn is `other` and IKE SAs `sas`?  2: by an explicit address, 1: by
 * %any, 0: no. */
static int names_other(const char *const *remote, const struct discover_conn *other,
                       const struct discover_side *other_side, const struct discover_side *self_side,
                       const char *self_name)
{
    for (size_t i = 0; i < DISCOVER_MAX_ADDRS && remote[i]; i++) {
        if (is_any(remote[i]))
            continue;
        if (list_has(other->local_addrs, remote[i]))
            return 2;
        for (size_t k = 0; k < other_side->n_sas; k++) /* the other end's real address */
            if (other_side->sas[k].local_host && !strcmp(other_side->sas[k].local_host, remote[i]))
                return 2;
        for (size_t k = 0; k < self_side->n_sas; k++) /* where my SA of this conn reaches it (behind NAT) */
            if (self_side->sas[k].name && !strcmp(self_side->sas[k].name, self_name) &&
                self_side->sas[k].remote_host && !strcmp(self_side->sas[k].remote_host, remote[i]))
                return 2;
    }
    return list_any(remote) ? 1 : 0;
}

void discover_conn(const struct discover_side *a, const struct discover_side *b, const char *want,
                   struct discover_out *out)
{
    memset(out, 0, sizeof *out);
    int best = 0;
    for (size_t i = 0; i < a->n_conns; i++) {
        const struct discover_conn *ca = &a->conns[i];
        if (want && strcmp(ca->name, want))
            continue;
        for (size_t j = 0; j < b->n_conns; j++) {
            const struct discover_conn *cb = &b->conns[j];
            if (want && strcmp(cb->name, want))
                continue;
            int sa = names_other(ca->remote_addrs, cb, b, a, ca->name);
            int sb = names_other(cb->remote_addrs, ca, a, b, cb->name);
            if (!sa || !sb)
                continue;
            int score = sa + sb + (strcmp(ca->name, cb->name) ? 0 : 1);
            if (score > best) {
                best = score;
                out->n_cand = 0;
            }
            if (score == best && out->n_cand < 8) {
                out->cand_a[out->n_cand] = ca->name;
                out->cand_b[out->n_cand] = cb->name;
                out->n_cand++;
            }
        }
    }
    if (!out->n_cand) {
        out->result = DISCOVER_NONE;
    } else if (out->n_cand == 1) {
        out->result = DISCOVER_FOUND;
        out->name_a = out->cand_a[0];
        out->name_b = out->cand_b[0];
    } else {
        out->result = DISCOVER_AMBIGUOUS;
    }
}

const char *discover_alone(const struct discover_side *s, const char *want)
{
    for (size_t i = 0; want && i < s->n_conns; i++)
        if (s->conns[i].name && !strcmp(s->conns[i].name, want))
            return s->conns[i].name;
    if (want)
        return NULL;
    if (s->n_conns == 1)
        return s->conns[0].name;
    const char *only = NULL;
    for (size_t k = 0; k < s->n_sas; k++) {
        const char *n = s->sas[k].name;
        if (!n)
            continue;
        if (only && strcmp(only, n))
            return NULL; /* SAs of two connections: no guess */
        only = n;
    }
    for (size_t i = 0; only && i < s->n_conns; i++) /* and it must be configured */
        if (s->conns[i].name && !strcmp(s->conns[i].name, only))
            return s->conns[i].name;
    return NULL;
}
