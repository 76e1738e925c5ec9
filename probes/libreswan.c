#include "probes/libreswan.h"

#include <string.h>

#include "probes/textscan.h"

static int one_line(struct span l, struct sa_fact *out)
{
    /* optional "006 " / "000 " prefix of Libreswan 3.x and 4.x */
    if (l.len > 4 && l.p[3] == ' ' && l.p[0] >= '0' && l.p[0] <= '9' && l.p[1] >= '0' &&
        l.p[1] <= '9' && l.p[2] >= '0' && l.p[2] <= '9') {
        l.p += 4;
        l.len -= 4;
    }
    struct opt_u64 num = {0};
    if (l.len && l.p[0] == '#') {
        const char *c = span_find(l, ": ");
        if (!c || span_u64((struct span){l.p + 1, (size_t)(c - l.p - 1)}, &num) != 0)
            return -1;
        l.len -= (size_t)(c + 2 - l.p);
        l.p = c + 2;
    }
    if (!l.len || l.p[0] != '"')
        return -1;
    const char *q = memchr(l.p + 1, '"', l.len - 1);
    if (!q)
        return -1;
    const char *comma = span_find(l, ", type=");
    if (!comma || comma < q)
        return -1;
    /* name plus instance ("[1] 192.0.2.1") */
    struct span name = {l.p + 1, (size_t)(q - l.p - 1)};
    struct span inst = {q + 1, (size_t)(comma - q - 1)};
    span_trim(&inst);
    struct span rest = {comma + 2, (size_t)(l.p + l.len - comma - 2)};
    struct span id = {0};
    const char *idp = span_find(rest, ", id='");
    if (idp) {
        struct span after = {idp + 6, (size_t)(rest.p + rest.len - idp - 6)};
        const char *endq = span_rfind(after, "'");
        if (!endq)
            return -1;
        id.p = after.p;
        id.len = (size_t)(endq - after.p);
        rest.len = (size_t)(idp - rest.p);
    }
    struct opt_u64 in = {0}, outb = {0}, add = {0};
    char type[8] = "";
    struct span part;
    while (span_split(&rest, ", ", &part)) {
        if (span_starts(part, "type="))
            span_copy((struct span){part.p + 5, part.len - 5}, type, sizeof type);
        else if (span_starts(part, "inBytes=") &&
                 span_u64((struct span){part.p + 8, part.len - 8}, &in) != 0)
            return -1;
        else if (span_starts(part, "outBytes=") &&
                 span_u64((struct span){part.p + 9, part.len - 9}, &outb) != 0)
            return -1;
        else if (span_starts(part, "add_time=") &&
                 span_u64((struct span){part.p + 9, part.len - 9}, &add) != 0)
            return -1;
    }
    if (!type[0] || !in.known || !outb.known)
        return -1;
    char full[FACT_NAME_MAX];
    if (fact_copy(full, sizeof full, name.p, name.len) != 0)
        return -1;
    if (inst.len) {
        size_t used = strlen(full);
        if (used + 1 + inst.len >= sizeof full)
            return -1;
        full[used] = ' ';
        memcpy(full + used + 1, inst.p, inst.len);
        full[used + 1 + inst.len] = '\0';
    }
    struct ike_sa *ike = NULL;
    for (size_t i = 0; i < out->n_ike; i++)
        if (!strcmp(out->ike[i].name, full))
            ike = &out->ike[i];
    if (!ike) {
        ike = sa_fact_add_ike(out);
        if (!ike)
            return -1;
        strcpy(ike->name, full);
        if (id.p)
            span_copy(id, ike->remote_id, sizeof ike->remote_id);
    }
    struct child_sa *c = ike_sa_add_child(ike);
    if (!c)
        return -1;
    span_copy(name, c->name, sizeof c->name);
    c->uniqueid = num;
    span_copy((struct span){type, strlen(type)}, c->protocol, sizeof c->protocol);
    c->bytes_in = in;
    c->bytes_out = outb;
    return 0;
}

int libreswan_parse_trafficstatus(const char *text, size_t len, struct sa_fact *out,
                                  struct err *e)
{
    memset(out, 0, sizeof *out);
    out->source = SA_SRC_LIBRESWAN;
    struct span all = {text, len}, line;
    size_t lineno = 0;
    while (span_line(&all, &line)) {
        lineno++;
        span_trim(&line);
        if (line.len == 0 || span_eq(line, "000") || span_eq(line, "006"))
            continue;
        if (one_line(line, out) != 0) {
            int code = lineno == 1 && out->n_ike == 0 ? ERR_UNSUPPORTED : ERR_PARSE;
            sa_fact_free(out);
            return err_set(e, code, "ipsec trafficstatus: line %zu not understood: %.*s", lineno,
                           SPAN_FMT(line));
        }
    }
    return 0;
}
