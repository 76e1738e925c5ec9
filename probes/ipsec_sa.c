#include "probes/ipsec_sa.h"

#include <stdlib.h>
#include <string.h>

void sa_fact_free(struct sa_fact *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n_ike; i++)
        free(f->ike[i].child);
    free(f->ike);
    memset(f, 0, sizeof *f);
}

void conn_fact_free(struct conn_fact *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n_conn; i++)
        free(f->conn[i].child);
    free(f->conn);
    memset(f, 0, sizeof *f);
}

/* Grows *arr (of n elements of size sz) by one zeroed element. */
static void *grow(void **arr, size_t *n, size_t sz)
{
    if (*n >= ((size_t)1 << 20))
        return NULL;
    void *e = fact_grow(arr, *n, sz);
    if (e)
        (*n)++;
    return e;
}

struct ike_sa *sa_fact_add_ike(struct sa_fact *f)
{
    return grow((void **)&f->ike, &f->n_ike, sizeof *f->ike);
}

struct child_sa *ike_sa_add_child(struct ike_sa *ike)
{
    return grow((void **)&ike->child, &ike->n_child, sizeof *ike->child);
}

struct conn_conf *conn_fact_add_conn(struct conn_fact *f)
{
    return grow((void **)&f->conn, &f->n_conn, sizeof *f->conn);
}

struct child_conf *conn_conf_add_child(struct conn_conf *c)
{
    return grow((void **)&c->child, &c->n_child, sizeof *c->child);
}
