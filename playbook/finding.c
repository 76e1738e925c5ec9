#include "playbook/finding.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const sev_names[] = {"ok", "info", "warning", "failure"};

const char *severity_name(enum severity s)
{
    if ((unsigned)s >= sizeof sev_names / sizeof sev_names[0])
        return "unknown";
    return sev_names[s];
}

int severity_parse(const char *s, enum severity *out)
{
    for (size_t i = 0; i < sizeof sev_names / sizeof sev_names[0]; i++)
        if (!strcmp(s, sev_names[i])) {
            *out = (enum severity)i;
            return 0;
        }
    return -1;
}

const char *step_name(int step)
{
    static const char *const n[] = {NULL, "transport", "reachability", "policy", "mtu", "timers"};
    return step >= STEP_FIRST && step <= STEP_LAST ? n[step] : "unknown";
}

const char *step_title(int step)
{
    static const char *const n[] = {NULL,
                                    "Transport",
                                    "UDP/4500 reachability",
                                    "Selectors, policy, routing, NAT exemption",
                                    "MTU / MSS / fragmentation",
                                    "Proposals and timers"};
    return step >= STEP_FIRST && step <= STEP_LAST ? n[step] : "Unknown step";
}

const char *step_status_name(enum step_status s)
{
    static const char *const n[] = {"pending", "running", "ok", "info", "warning", "failure",
                                    "skipped"};
    if ((unsigned)s >= sizeof n / sizeof n[0])
        return "unknown";
    return n[s];
}

__attribute__((format(printf, 1, 0))) static char *vstrdup_fmt(const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return NULL;
    char *s = malloc((size_t)n + 1);
    if (s)
        vsnprintf(s, (size_t)n + 1, fmt, ap);
    return s;
}

static char *strdup_or_null(const char *s, int *fail)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *fail = 1;
    return d;
}

static void evidence_free(struct evidence *e)
{
    free(e->peer);
    free(e->source);
    free(e->detail);
}

static void finding_free(struct finding *f)
{
    free(f->id);
    free(f->title);
    free(f->decision);
    for (size_t i = 0; i < f->n_ev; i++)
        evidence_free(&f->ev[i]);
    free(f->ev);
}

struct finding *findings_add(struct findings *fs, const char *id, int step, enum severity sev,
                             const char *decision, const char *title_fmt, ...)
{
    if (fs->n == fs->cap) {
        size_t cap = fs->cap ? fs->cap * 2 : 8;
        struct finding *v = realloc(fs->v, cap * sizeof *v);
        if (!v)
            return NULL;
        fs->v = v;
        fs->cap = cap;
    }
    struct finding f = {0};
    int fail = 0;
    f.id = strdup_or_null(id, &fail);
    f.step = step;
    f.sev = sev;
    f.decision = strdup_or_null(decision, &fail);
    va_list ap;
    va_start(ap, title_fmt);
    f.title = vstrdup_fmt(title_fmt, ap);
    va_end(ap);
    if (fail || !f.id || !f.title) {
        finding_free(&f);
        return NULL;
    }
    fs->v[fs->n] = f;
    return &fs->v[fs->n++];
}

int finding_add_evidence(struct finding *f, const char *peer, const char *source,
                         const char *detail_fmt, ...)
{
    struct evidence *v = realloc(f->ev, (f->n_ev + 1) * sizeof *v);
    if (!v)
        return -1;
    f->ev = v;
    struct evidence e = {0};
    int fail = 0;
    e.peer = strdup_or_null(peer, &fail);
    e.source = strdup_or_null(source, &fail);
    if (detail_fmt) {
        va_list ap;
        va_start(ap, detail_fmt);
        e.detail = vstrdup_fmt(detail_fmt, ap);
        va_end(ap);
        if (!e.detail)
            fail = 1;
    }
    if (fail) {
        evidence_free(&e);
        return -1;
    }
    f->ev[f->n_ev++] = e;
    return 0;
}

const struct finding *findings_find(const struct findings *fs, const char *id)
{
    for (size_t i = 0; i < fs->n; i++)
        if (!strcmp(fs->v[i].id, id))
            return &fs->v[i];
    return NULL;
}

static const struct finding *first_of(const struct findings *fs, enum severity sev)
{
    for (int step = STEP_FIRST; step <= STEP_LAST; step++)
        for (size_t i = 0; i < fs->n; i++)
            if (fs->v[i].step == step && fs->v[i].sev == sev)
                return &fs->v[i];
    return NULL;
}

const struct finding *findings_principal(const struct findings *fs)
{
    const struct finding *f = first_of(fs, SEV_FAILURE);
    return f ? f : first_of(fs, SEV_WARNING);
}

enum severity findings_step_worst(const struct findings *fs, int step)
{
    enum severity w = SEV_OK;
    for (size_t i = 0; i < fs->n; i++)
        if (fs->v[i].step == step && fs->v[i].sev > w)
            w = fs->v[i].sev;
    return w;
}

enum step_status findings_step_status(const struct findings *fs, int step)
{
    switch (findings_step_worst(fs, step)) {
    case SEV_FAILURE:
        return STEP_FAILED;
    case SEV_WARNING:
        return STEP_WARNING;
    case SEV_INFO:
        return STEP_INFO;
    default:
        return STEP_OK;
    }
}

int findings_exit_status(const struct findings *fs)
{
    enum severity w = SEV_OK;
    for (size_t i = 0; i < fs->n; i++)
        if (fs->v[i].sev > w)
            w = fs->v[i].sev;
    return w == SEV_FAILURE ? 2 : w == SEV_WARNING ? 1 : 0;
}

void findings_free(struct findings *fs)
{
    if (!fs)
        return;
    for (size_t i = 0; i < fs->n; i++)
        finding_free(&fs->v[i]);
    free(fs->v);
    fs->v = NULL;
    fs->n = fs->cap = 0;
}
