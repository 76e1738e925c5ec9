#include "playbook/finding_json.h"

#include <stdlib.h>
#include <string.h>

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static int set_new(json_t *o, const char *k, json_t *v)
{
    return v ? json_object_set_new(o, k, v) : -1;
}

json_t *findings_to_json(const struct findings *fs, const char *peer_a, const char *peer_b,
                         int exit_status)
{
    json_t *doc = json_object();
    json_t *peers = json_array();
    json_t *steps = json_array();
    json_t *list = json_array();
    int bad = !doc || !peers || !steps || !list;
    if (!bad) {
        const struct finding *p = findings_principal(fs);
        bad |= set_new(doc, "schema", json_string(FINDINGS_SCHEMA));
        bad |= json_array_append_new(peers, str_or_null(peer_a));
        bad |= json_array_append_new(peers, str_or_null(peer_b));
        bad |= json_object_set(doc, "peers", peers);
        bad |= set_new(doc, "exit_status",
                       json_integer(exit_status < 0 ? findings_exit_status(fs) : exit_status));
        bad |= set_new(doc, "principal", str_or_null(p ? p->id : NULL));
        for (int k = STEP_FIRST; k <= STEP_LAST && !bad; k++) {
            json_t *s = json_pack("{s:i, s:s, s:s, s:s}", "step", k, "name", step_name(k), "title",
                                  step_title(k), "status",
                                  step_status_name(findings_step_status(fs, k)));
            bad |= !s || json_array_append_new(steps, s);
        }
        bad |= json_object_set(doc, "steps", steps);
        for (size_t i = 0; i < fs->n && !bad; i++) {
            const struct finding *f = &fs->v[i];
            json_t *ev = json_array();
            json_t *o = json_object();
            bad |= !ev || !o;
            for (size_t j = 0; j < f->n_ev && !bad; j++) {
                json_t *x = json_object();
                bad |= !x || set_new(x, "peer", str_or_null(f->ev[j].peer)) ||
                       set_new(x, "source", str_or_null(f->ev[j].source)) ||
                       set_new(x, "detail", str_or_null(f->ev[j].detail)) ||
                       json_array_append_new(ev, x);
            }
            if (!bad) {
                bad |= set_new(o, "id", json_string(f->id));
                bad |= set_new(o, "step", json_integer(f->step));
                bad |= set_new(o, "severity", json_string(severity_name(f->sev)));
                bad |= set_new(o, "title", json_string(f->title));
                bad |= set_new(o, "decision", str_or_null(f->decision));
                bad |= json_object_set(o, "evidence", ev);
                bad |= json_array_append(list, o);
            }
            json_decref(ev);
            json_decref(o);
        }
        bad |= json_object_set(doc, "findings", list);
    }
    json_decref(peers);
    json_decref(steps);
    json_decref(list);
    if (bad) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

/* A string member, or NULL for null/absent when allowed. */
static int get_str(const json_t *o, const char *k, int nullable, const char **out)
{
    const json_t *v = json_object_get(o, k);
    if (!v || json_is_null(v)) {
        *out = NULL;
        return nullable ? 0 : -1;
    }
    if (!json_is_string(v))
        return -1;
    *out = json_string_value(v);
    return 0;
}

/* Appends the findings of one JSON array. */
static int add_list(const json_t *list, struct findings *out, struct err *e)
{
    size_t i;
    const json_t *o;
    json_array_foreach(list, i, o) {
        const char *id, *title, *decision, *sev_s;
        const json_t *step = json_object_get(o, "step");
        enum severity sev;
        if (!json_is_object(o) || get_str(o, "id", 0, &id))
            return err_set(e, ERR_PARSE, "findings.json: finding %zu has no id", i);
        if (get_str(o, "title", 0, &title) || get_str(o, "decision", 1, &decision) ||
            get_str(o, "severity", 0, &sev_s) || severity_parse(sev_s, &sev) ||
            !json_is_integer(step) || json_integer_value(step) < STEP_FIRST ||
            json_integer_value(step) > STEP_LAST)
            return err_set(e, ERR_PARSE, "findings.json: finding %s is malformed", id);
        struct finding *f = findings_add(out, id, (int)json_integer_value(step), sev, decision,
                                         "%s", title);
        if (!f)
            return err_set(e, ERR_INTERNAL, "out of memory");
        const json_t *ev = json_object_get(o, "evidence");
        if (ev && !json_is_array(ev))
            return err_set(e, ERR_PARSE, "findings.json: evidence of %s is not an array", id);
        size_t j;
        const json_t *x;
        json_array_foreach(ev, j, x) {
            const char *peer, *source, *detail;
            if (!json_is_object(x) || get_str(x, "peer", 1, &peer) ||
                get_str(x, "source", 1, &source) || get_str(x, "detail", 1, &detail))
                return err_set(e, ERR_PARSE, "findings.json: evidence %zu of %s is malformed", j,
                               id);
            int r = detail ? finding_add_evidence(f, peer, source, "%s", detail)
                           : finding_add_evidence(f, peer, source, NULL);
            if (r)
                return err_set(e, ERR_INTERNAL, "out of memory");
        }
    }
    return 0;
}

int findings_from_json(const json_t *doc, struct findings *out, struct err *e)
{
    const char *schema = NULL;
    if (!json_is_object(doc) || get_str(doc, "schema", 0, &schema))
        return err_set(e, ERR_PARSE, "findings.json: no schema");
    if (!strcmp(schema, FINDINGS_SCHEMA)) {
        const json_t *list = json_object_get(doc, "findings");
        if (!json_is_array(list))
            return err_set(e, ERR_PARSE, "findings.json: no \"findings\" array");
        return add_list(list, out, e);
    }
    if (!strcmp(schema, FINDINGS_DIAGNOSE_SCHEMA)) {
        const json_t *steps = json_object_get(doc, "steps");
        if (!json_is_array(steps))
            return err_set(e, ERR_PARSE, "findings.json: no \"steps\" array");
        size_t i;
        const json_t *st;
        json_array_foreach(steps, i, st) {
            const json_t *list = json_object_get(st, "findings");
            if (!json_is_array(list))
                return err_set(e, ERR_PARSE, "findings.json: step %zu has no findings array", i + 1);
            if (add_list(list, out, e))
                return -1;
        }
        return 0;
    }
    return err_set(e, ERR_UNSUPPORTED, "findings.json: schema %s is not %s nor %s", schema,
                   FINDINGS_SCHEMA, FINDINGS_DIAGNOSE_SCHEMA);
}

static int same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

/* The findings in step order (then the order added): the order of findings.json. */
static const struct finding **by_step(const struct findings *fs)
{
    const struct finding **v = malloc((fs->n ? fs->n : 1) * sizeof *v);
    size_t k = 0;
    for (int step = 0; v && step <= STEP_LAST + 1; step++)
        for (size_t i = 0; i < fs->n; i++) {
            int st = fs->v[i].step < STEP_FIRST ? 0 : fs->v[i].step > STEP_LAST ? STEP_LAST + 1
                                                                                : fs->v[i].step;
            if (st == step)
                v[k++] = &fs->v[i];
        }
    return v;
}

int findings_equal(const struct findings *x, const struct findings *y, struct err *e)
{
    const struct finding **xv = by_step(x), **yv = by_step(y);
    int r = 0;
    if (!xv || !yv) {
        err_set(e, ERR_INTERNAL, "out of memory");
        goto out;
    }
    size_t n = x->n < y->n ? x->n : y->n;
    for (size_t i = 0; i < n; i++) {
        const struct finding *a = xv[i], *b = yv[i];
        if (strcmp(a->id, b->id)) {
            err_set(e, ERR_NONE, "finding %zu: %s, expected %s", i + 1, a->id, b->id);
            goto out;
        }
        const char *what = NULL;
        if (a->step != b->step)
            what = "step";
        else if (a->sev != b->sev)
            what = "severity";
        else if (!same(a->title, b->title))
            what = "title";
        else if (!same(a->decision, b->decision))
            what = "decision";
        else if (a->n_ev != b->n_ev)
            what = "evidence count";
        for (size_t j = 0; !what && j < a->n_ev; j++)
            if (!same(a->ev[j].peer, b->ev[j].peer) || !same(a->ev[j].source, b->ev[j].source) ||
                !same(a->ev[j].detail, b->ev[j].detail))
                what = "evidence";
        if (what) {
            err_set(e, ERR_NONE, "finding %s: %s differs", a->id, what);
            goto out;
        }
    }
    if (x->n != y->n) {
        const struct finding *extra = x->n > y->n ? xv[n] : yv[n];
        err_set(e, ERR_NONE, "finding %s only in %s", extra->id,
                x->n > y->n ? "the recomputed findings" : "the saved findings");
        goto out;
    }
    r = 1;
out:
    free(xv);
    free(yv);
    return r;
}
