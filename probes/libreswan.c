#include "probes/libreswan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probes/textscan.h"

static int conn_key(struct span l, char *key, size_t n, struct span *rest, struct opt_u64 *port,
                    struct span *addr);

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
    char full[FACT_NAME_MAX];
    struct span after, addr;
    if (conn_key(l, full, sizeof full, &after, NULL, &addr) != 0 || !span_starts(after, ", type="))
        return -1;
    struct span rest = {after.p + 2, after.len - 2};
    struct span id = {0};
    const char *idp = span_find(rest, ", id='");
    if (idp) {
        struct span aft = {idp + 6, (size_t)(rest.p + rest.len - idp - 6)};
        const char *endq = span_rfind(aft, "'");
        if (!endq)
            return -1;
        id.p = aft.p;
        id.len = (size_t)(endq - aft.p);
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
        if (addr.len)
            span_copy(addr, ike->remote_host, sizeof ike->remote_host);
    }
    struct child_sa *c = ike_sa_add_child(ike);
    if (!c)
        return -1;
    strcpy(c->name, full);
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

/* ---- ipsec status ---------------------------------------------------------- */

/* Strips the "NNN " status code of Libreswan 3.x/4.x (and a bare "000"). */
static void strip_code(struct span *l)
{
    if (l->len >= 3 && l->p[0] >= '0' && l->p[0] <= '9' && l->p[1] >= '0' && l->p[1] <= '9' &&
        l->p[2] >= '0' && l->p[2] <= '9' && (l->len == 3 || l->p[3] == ' ')) {
        size_t k = l->len == 3 ? 3 : 4;
        l->p += k;
        l->len -= k;
    }
}

static struct span span_from(const char *p, const char *end)
{
    return (struct span){p, (size_t)(end - p)};
}

/* "28800s" / "10s" / "0" / "500ms" (ms rounded down to s) -> seconds. */
static int secs(struct span v, struct opt_u64 *o)
{
    span_trim(&v);
    bool ms = false;
    if (v.len > 2 && v.p[v.len - 2] == 'm' && v.p[v.len - 1] == 's') {
        ms = true;
        v.len -= 2;
    } else if (v.len > 1 && v.p[v.len - 1] == 's') {
        v.len--;
    }
    struct opt_u64 n = {0};
    if (span_u64(v, &n) != 0)
        return -1;
    *o = OPT_U64(ms ? n.v / 1000 : n.v);
    return 0;
}

/* The value after "key" up to ';' or ',' (or the end) in l. */
static bool value_of(struct span l, const char *key, struct span *v)
{
    const char *k = span_find(l, key);
    while (k && k != l.p && k[-1] != ' ' && k[-1] != ';' && k[-1] != ',') {
        struct span rest = span_from(k + 1, l.p + l.len);
        k = span_find(rest, key);
    }
    if (!k)
        return false;
    const char *p = k + strlen(key), *end = l.p + l.len, *q = p;
    while (q < end && *q != ';' && *q != ',')
        q++;
    *v = span_from(p, q);
    span_trim(v);
    return true;
}

/* "name" then an optional instance "[N]" and its peer " ADDR[:PORT]": the
 * key is "name[N]" (as Libreswan names an instance); *addr the instance's
 * address (may be empty), *port its port when printed; *rest after them (at
 * ':' / ' ' / end).  -1 when not a quoted name. */
static int conn_key(struct span l, char *key, size_t n, struct span *rest, struct opt_u64 *port,
                    struct span *addr)
{
    if (!l.len || l.p[0] != '"')
        return -1;
    const char *q = memchr(l.p + 1, '"', l.len - 1);
    if (!q || q == l.p + 1)
        return -1;
    struct span name = span_from(l.p + 1, q);
    if (span_copy(name, key, n) != 0)
        return -1;
    const char *p = q + 1, *end = l.p + l.len;
    if (port)
        *port = OPT_UNKNOWN;
    if (addr)
        *addr = (struct span){p, 0};
    if (p < end && *p == '[') {
        const char *rb = memchr(p, ']', (size_t)(end - p));
        if (!rb)
            return -1;
        size_t used = strlen(key), il = (size_t)(rb + 1 - p);
        if (used + il >= n)
            return -1;
        memcpy(key + used, p, il);
        key[used + il] = '\0';
        p = rb + 1;
        if (p < end && *p == ' ' && p + 1 < end && p[1] != ' ') {
            const char *a = p + 1, *ae = a;
            while (ae < end && *ae != ' ' && *ae != ';' && *ae != ',')
                ae++;
            if (ae > a && ae[-1] == ':')
                ae--; /* "ADDR:" of a connection line */
            /* the address may end in ":PORT" (v4, or "[v6]:PORT") */
            const char *ad_end = ae, *colon = NULL;
            int colons = 0;
            for (const char *c = a; c < ae; c++)
                if (*c == ':') {
                    colons++;
                    colon = c;
                }
            if (colon && (colons == 1 || (*a == '[' && colon[-1] == ']'))) {
                struct opt_u64 pv = {0};
                if (span_u64(span_from(colon + 1, ae), &pv) != 0)
                    return -1;
                if (port)
                    *port = pv;
                ad_end = colon;
            }
            if (addr)
                *addr = span_from(a, ad_end);
            p = ae;
        }
    }
    *rest = span_from(p, end);
    return 0;
}

static int conn_index(const struct libreswan_status *s, const char *key)
{
    for (size_t i = 0; i < s->conns.n_conn; i++)
        if (!strcmp(s->conns.conn[i].name, key))
            return (int)i;
    return -1;
}

/* One end of the topology: "SUB===HOST<NH>[ID]" (left) or
 * "HOST<NH>[ID]===SUB" (right), with optional "---NEXTHOP", ":PROTO/PORT"
 * and "{label}" decorations. */
struct topo_end {
    struct span host, id, sub;
};

static int topo_side(struct span s, bool left, struct topo_end *t)
{
    memset(t, 0, sizeof *t);
    const char *eq = span_find(s, "===");
    if (eq) {
        if (left) {
            t->sub = span_from(s.p, eq);
            s = span_from(eq + 3, s.p + s.len);
        } else {
            t->sub = span_from(eq + 3, s.p + s.len);
            s = span_from(s.p, eq);
        }
    }
    /* right: "NEXTHOP---HOST"; left: "HOST---NEXTHOP" */
    const char *dash = span_find(s, "---");
    if (dash)
        s = left ? span_from(s.p, dash) : span_from(dash + 3, s.p + s.len);
    const char *end = s.p + s.len, *h = s.p;
    while (h < end && *h != '<' && *h != '[' && *h != '{')
        h++;
    t->host = span_from(s.p, h);
    const char *lb = memchr(s.p, '[', s.len);
    if (lb) {
        const char *rb = span_rfind(s, "]");
        if (!rb || rb < lb)
            return -1;
        t->id = span_from(lb + 1, rb);
        const char *flags = memchr(t->id.p, ',', t->id.len); /* "@west,+S=C" */
        if (flags && flags + 1 < t->id.p + t->id.len && flags[1] == '+')
            t->id.len = (size_t)(flags - t->id.p);
    }
    /* ":17/1701" protoport after the host or the subnet */
    struct span *parts[2] = {&t->host, &t->sub};
    for (int i = 0; i < 2; i++) {
        struct span *x = parts[i];
        const char *sl = x->len ? span_rfind(*x, "/") : NULL;
        const char *co = x->len ? span_rfind(*x, ":") : NULL;
        bool digits = co && sl && sl > co + 1 && sl + 1 < x->p + x->len;
        for (const char *d = co ? co + 1 : NULL; digits && d < x->p + x->len; d++)
            if (d != sl && (*d < '0' || *d > '9'))
                digits = false;
        /* "a.b.c.d:17/1701", "%any:58/34816" (not a v6 address's last group) */
        if (digits && (memchr(x->p, '.', x->len) || x->p[0] == '%'))
            x->len = (size_t)(co - x->p);
        span_trim(x);
    }
    return t->host.len ? 0 : -1;
}

static int add_ts(struct ts_list *l, struct span sub, struct span host)
{
    if (sub.len)
        return ts_list_add(l, sub.p, sub.len);
    if (!host.len || host.p[0] == '%')
        return 0;
    char b[FACT_TS_MAX];
    bool v6 = memchr(host.p, ':', host.len) != NULL;
    if (host.len + 5 > sizeof b)
        return -1;
    memcpy(b, host.p, host.len);
    size_t n = host.len + (size_t)snprintf(b + host.len, sizeof b - host.len, v6 ? "/128" : "/32");
    return ts_list_add(l, b, n);
}

static int parse_topology(struct conn_conf *c, struct libreswan_conn_x *x, struct span rest)
{
    struct span topo = rest, tail = {0};
    const char *semi = memchr(rest.p, ';', rest.len);
    if (semi) {
        topo = span_from(rest.p, semi);
        tail = span_from(semi + 1, rest.p + rest.len);
    }
    span_trim(&topo);
    const char *dots = span_find(topo, "...");
    if (!dots)
        return -1;
    struct topo_end l, r;
    if (topo_side(span_from(topo.p, dots), true, &l) != 0 ||
        topo_side(span_from(dots + 3, topo.p + topo.len), false, &r) != 0)
        return -1;
    if (ts_list_add(&c->local_addrs, l.host.p, l.host.len) != 0 ||
        ts_list_add(&c->remote_addrs, r.host.p, r.host.len) != 0)
        return -1;
    if (l.id.len && span_copy(l.id, c->local_id, sizeof c->local_id) != 0)
        return -1;
    if (r.id.len && span_copy(r.id, c->remote_id, sizeof c->remote_id) != 0)
        return -1;
    struct child_conf *ch = conn_conf_add_child(c);
    if (!ch)
        return -1;
    memcpy(ch->name, c->name, sizeof ch->name);
    if (add_ts(&ch->local_ts, l.sub, l.host) != 0 || add_ts(&ch->remote_ts, r.sub, r.host) != 0)
        return -1;
    struct span part;
    if (tail.p && span_split(&tail, ";", &part)) {
        span_trim(&part);
        span_copy(part, x->routing, sizeof x->routing);
    }
    return 0;
}

static int set_text(char *dst, size_t n, struct span v)
{
    span_trim(&v);
    return span_copy(v, dst, n);
}

/* An algorithm list without 3.x's numeric ids: "AES_CBC(7)_128-SHA1(2)" ->
 * "AES_CBC_128-SHA1", so that 3.x and 4.x texts compare. */
static int set_algs(char *dst, size_t n, struct span v)
{
    span_trim(&v);
    size_t o = 0;
    for (size_t i = 0; i < v.len; i++) {
        if (v.p[i] == '(') {
            size_t j = i + 1;
            while (j < v.len && v.p[j] >= '0' && v.p[j] <= '9')
                j++;
            if (j < v.len && v.p[j] == ')' && j > i + 1) {
                i = j;
                continue;
            }
        }
        if (o + 1 >= n)
            return -1;
        dst[o++] = v.p[i];
    }
    dst[o] = '\0';
    return 0;
}

/* A detail line of a connection ("   key: value; ..."). */
static int parse_conn_detail(struct conn_conf *c, struct libreswan_conn_x *x, struct span d,
                             struct opt_u64 *ike_life, struct opt_u64 *ipsec_life, struct opt_u64 *margin)
{
    struct child_conf *ch = c->n_child ? &c->child[0] : NULL;
    struct span v;
    span_trim(&d);
    if (span_starts(d, "ike_life:")) {
        if (value_of(d, "ike_life:", &v) && secs(v, ike_life) != 0)
            return -1;
        if (value_of(d, "ipsec_life:", &v) && secs(v, ipsec_life) != 0)
            return -1;
        if (value_of(d, "rekey_margin:", &v) && secs(v, margin) != 0)
            return -1;
        if (value_of(d, "keyingtries:", &v) && span_u64(v, &c->keyingtries) != 0)
            return -1;
        return 0;
    }
    if (span_starts(d, "policy:")) {
        struct span p = span_from(d.p + 7, d.p + d.len);
        span_trim(&p);
        bool v1 = span_find(p, "IKEv1") || span_find(p, "IKEV1_ALLOW");
        bool v2 = span_find(p, "IKEv2") || span_find(p, "IKEV2_ALLOW");
        bool v2only = span_find(p, "IKEV2_PROPOSE") && !span_find(p, "IKEV1_ALLOW");
        if (span_find(p, "IKEv2ALLOW"))
            v2 = true;
        if (v2only || (v2 && !v1 && !span_find(p, "IKEv2ALLOW")))
            c->version = OPT_U64(2);
        else if (v1 && !v2)
            c->version = OPT_U64(1);
        if (ch) {
            if (span_find(p, "TUNNEL"))
                strcpy(ch->mode, "TUNNEL");
            else if (span_find(p, "TRANSPORT") || span_find(p, "ENCRYPT"))
                strcpy(ch->mode, span_find(p, "TRANSPORT") ? "TRANSPORT" : "");
        }
        return 0;
    }
    if (span_starts(d, "our auth:")) {
        if (value_of(d, "our auth:", &v) && set_text(c->local_auth, sizeof c->local_auth, v) != 0)
            return -1;
        if (value_of(d, "their auth:", &v) && set_text(c->remote_auth, sizeof c->remote_auth, v) != 0)
            return -1;
        return 0;
    }
    if (span_starts(d, "our idtype:")) {
        if (value_of(d, "our id=", &v) && set_text(c->local_id, sizeof c->local_id, v) != 0)
            return -1;
        /* "their id=" runs to the end of the line (a DN holds ", ") */
        const char *t = span_find(d, "their id=");
        if (t && set_text(c->remote_id, sizeof c->remote_id, span_from(t + 9, d.p + d.len)) != 0)
            return -1;
        return 0;
    }
    if (span_starts(d, "liveness:")) { /* 4.x IKEv2 */
        if (value_of(d, "liveness:", &v) && span_eq(v, "passive"))
            c->dpd_delay = OPT_U64(0);
        if (value_of(d, "dpddelay:", &v) && secs(v, &c->dpd_delay) != 0)
            return -1;
        c->dpd_timeout = OPT_U64(0);
        if (ch && value_of(d, "dpdaction:", &v))
            set_text(ch->dpd_action, sizeof ch->dpd_action, v);
        return 0;
    }
    if (span_starts(d, "dpd:")) { /* 4.x IKEv1 "dpd: active; action:clear; delay:15s; timeout:60s;", 3.x */
        if (value_of(d, "dpd:", &v) && span_eq(v, "passive"))
            c->dpd_delay = OPT_U64(0);
        if (value_of(d, "delay:", &v) && secs(v, &c->dpd_delay) != 0)
            return -1;
        if (value_of(d, "timeout:", &v) && secs(v, &c->dpd_timeout) != 0)
            return -1;
        if (ch && value_of(d, "action:", &v))
            set_text(ch->dpd_action, sizeof ch->dpd_action, v);
        if (value_of(d, "encaps:", &v) || value_of(d, "force_encaps:", &v))
            c->encap_forced = span_eq(v, "yes") ? TRI_YES : TRI_NO;
        return 0;
    }
    if (span_starts(d, "nat-traversal:")) { /* 4.x */
        if (value_of(d, "encaps:", &v))
            c->encap_forced = span_eq(v, "yes") ? TRI_YES : TRI_NO;
        if (value_of(d, "keepalive:", &v) && !span_eq(v, "no") && secs(v, &x->keepalive) != 0)
            return -1;
        return 0;
    }
    if (span_starts(d, "newest ")) {
        const char *h = span_find(d, "SA: #");
        if (h) {
            struct opt_u64 n = {0};
            if (span_u64_after(span_from(h, d.p + d.len), "SA: #", &n) != 0)
                return -1;
            x->newest_ike = n;
        }
        const char *ip = span_find(d, "IPsec SA: #");
        if (ip && span_u64_after(span_from(ip, d.p + d.len), "IPsec SA: #", &x->newest_child) != 0)
            return -1;
        return 0;
    }
    /* "IKE algorithms: ..." (4.x), "IKE algorithms wanted: ..." (3.x) */
    if (span_starts(d, "IKE algorithms: ") || span_starts(d, "IKE algorithms wanted: ")) {
        const char *colon = memchr(d.p, ':', d.len);
        struct span a = span_from(colon + 1, d.p + d.len);
        const char *semi = memchr(a.p, ';', a.len);
        if (semi)
            a.len = (size_t)(semi - a.p);
        return set_algs(c->proposals, sizeof c->proposals, a);
    }
    if ((span_starts(d, "ESP algorithms: ") || span_starts(d, "ESP algorithms wanted: ") ||
         span_starts(d, "AH algorithms: ")) && ch) {
        const char *colon = memchr(d.p, ':', d.len);
        struct span a = span_from(colon + 1, d.p + d.len);
        const char *semi = memchr(a.p, ';', a.len);
        if (semi)
            a.len = (size_t)(semi - a.p);
        return set_algs(ch->esp_proposals, sizeof ch->esp_proposals, a);
    }
    return 0; /* a detail this parser does not use */
}

/* A state's key and number ("#N: " then the connection key). */
struct lsw_state {
    char key[FACT_NAME_MAX];
    struct opt_u64 num;
};

static bool is_child_state(struct span st)
{
    return span_find(st, "CHILD") || span_find(st, "QUICK") || span_find(st, "IPSEC");
}

static struct opt_u64 state_version(struct span st)
{
    if (span_find(st, "MAIN_") || span_find(st, "AGGR_") || span_find(st, "QUICK_") ||
        span_find(st, "XAUTH") || span_find(st, "MODE_CFG"))
        return OPT_U64(1);
    if (span_find(st, "V2_") || span_find(st, "PARENT") || span_find(st, "IKE_SA") ||
        span_find(st, "CHILD_SA"))
        return OPT_U64(2);
    return OPT_UNKNOWN;
}

/* Children parsed before their IKE SA is known: attached at the end. */
struct pending_child {
    char key[FACT_NAME_MAX];
    struct child_sa c;
    struct opt_u64 port;
};

struct status_ctx {
    struct libreswan_status *out;
    struct pending_child *pc;
    size_t n_pc, cap_pc;
};

static struct pending_child *pending_find(struct status_ctx *x, const char *key, uint64_t num)
{
    for (size_t i = 0; i < x->n_pc; i++)
        if (x->pc[i].c.uniqueid.v == num && !strcmp(x->pc[i].key, key))
            return &x->pc[i];
    return NULL;
}

static struct pending_child *pending_add(struct status_ctx *x)
{
    if (x->n_pc == x->cap_pc) {
        size_t cap = x->cap_pc ? x->cap_pc * 2 : 8;
        if (cap > ((size_t)1 << 20))
            return NULL;
        struct pending_child *v = realloc(x->pc, cap * sizeof *v);
        if (!v)
            return NULL;
        x->pc = v;
        x->cap_pc = cap;
    }
    struct pending_child *p = &x->pc[x->n_pc++];
    memset(p, 0, sizeof *p);
    return p;
}

/* "84B" exactly; "8KB" and other scaled values are not exact: unknown. */
static int traffic_bytes(struct span v, struct opt_u64 *o)
{
    span_trim(&v);
    if (v.len && v.p[v.len - 1] == '!')
        v.len--;
    if (v.len < 2 || v.p[v.len - 1] != 'B')
        return -1;
    char u = v.p[v.len - 2];
    if (u >= '0' && u <= '9')
        return span_u64(span_from(v.p, v.p + v.len - 1), o);
    if (u == 'K' || u == 'M' || u == 'G' || u == 'T' || u == 'P' || u == 'E') {
        struct opt_u64 t = {0};
        if (span_u64(span_from(v.p, v.p + v.len - 2), &t) != 0)
            return -1;
        return 0; /* scaled: left unknown */
    }
    return -1;
}

/* "esp.SPI@PEER esp.SPI@SELF [tun.0@..] ... Traffic: ESPin=84B ESPout=84B! ESPmax=..." */
static int parse_sa_detail(struct child_sa *c, struct span rest)
{
    struct span w;
    int spis = 0;
    bool any = false;
    while (span_word(&rest, &w)) {
        bool esp = span_starts(w, "esp."), ah = span_starts(w, "ah.");
        if (esp || ah) {
            const char *at = memchr(w.p, '@', w.len);
            if (!at)
                return -1;
            struct span hex = span_from(w.p + (esp ? 4 : 3), at);
            uint64_t v;
            if (fact_parse_hex_u64(hex.p, hex.len, &v) != 0 || v > 0xffffffffULL)
                return -1;
            if (spis == 0)
                c->spi_out = OPT_U64(v);
            else if (spis == 1)
                c->spi_in = OPT_U64(v);
            spis++;
            strcpy(c->protocol, esp ? "ESP" : "AH");
            any = true;
        } else if (span_starts(w, "tun.")) {
            strcpy(c->mode, "TUNNEL");
        } else if (span_starts(w, "ESPin=") || span_starts(w, "AHin=")) {
            const char *eq = memchr(w.p, '=', w.len);
            if (traffic_bytes(span_from(eq + 1, w.p + w.len), &c->bytes_in) != 0)
                return -1;
            any = true;
        } else if (span_starts(w, "ESPout=") || span_starts(w, "AHout=")) {
            const char *eq = memchr(w.p, '=', w.len);
            if (traffic_bytes(span_from(eq + 1, w.p + w.len), &c->bytes_out) != 0)
                return -1;
            any = true;
        }
    }
    return any ? 0 : -1;
}

/* "STATE_X (text); EVENT_SA_REKEY in Ns; newest IPSEC; eroute owner; IKE SA #1; idle;" */
static int parse_state_line(struct status_ctx *x, const char *key, struct opt_u64 num, struct opt_u64 port,
                            struct span st)
{
    struct span name;
    struct span rest = st;
    if (!span_word(&rest, &name) || name.len < 3)
        return -1;
    for (size_t i = 0; i < name.len; i++)
        if (!((name.p[i] >= 'A' && name.p[i] <= 'Z') || (name.p[i] >= '0' && name.p[i] <= '9') ||
              name.p[i] == '_'))
            return -1;
    span_trim(&rest);
    struct span text = {0};
    if (rest.len && rest.p[0] == '(') {
        const char *cp = memchr(rest.p, ')', rest.len);
        if (!cp)
            return -1;
        text = span_from(rest.p + 1, cp);
        rest = span_from(cp + 1, rest.p + rest.len);
    }
    bool established = span_find(text, "established") || span_find(text, "ESTABLISHED");
    bool del = span_find(name, "DELETE") != NULL;
    struct opt_u64 rekey = {0}, replace = {0}, expire = {0}, ike_num = {0};
    struct span part;
    while (span_split(&rest, ";", &part)) {
        span_trim(&part);
        const char *in = span_find(part, " in ");
        bool ev = span_starts(part, "EVENT_") || span_starts(part, "REKEY in ") ||
                  span_starts(part, "REPLACE in ") || span_starts(part, "EXPIRE in ");
        if (ev && in) { /* EVENT_SA_REKEY, EVENT_v2_SA_REPLACE_IF_USED_IKE, 5.x "REKEY in" ... */
            struct span what = span_from(part.p, in);
            struct opt_u64 t = {0};
            if (secs(span_from(in + 4, part.p + part.len), &t) != 0)
                return -1;
            if (span_find(what, "REKEY"))
                rekey = t;
            else if (span_find(what, "REPLACE"))
                replace = t;
            else if (span_find(what, "EXPIRE"))
                expire = t;
        } else if (span_starts(part, "isakmp#")) {
            if (span_u64(span_from(part.p + 7, part.p + part.len), &ike_num) != 0)
                return -1;
        } else if (span_starts(part, "IKE SA #")) {
            if (span_u64(span_from(part.p + 8, part.p + part.len), &ike_num) != 0)
                return -1;
        } else if (span_starts(part, "ISAKMP SA #")) { /* 4.x IKEv1 */
            if (span_u64(span_from(part.p + 11, part.p + part.len), &ike_num) != 0)
                return -1;
        }
    }
    struct libreswan_status *out = x->out;
    if (is_child_state(name) || ike_num.known) {
        struct pending_child *p = pending_find(x, key, num.v);
        if (!p) {
            p = pending_add(x);
            if (!p)
                return -1;
            strcpy(p->key, key);
            span_copy((struct span){key, strlen(key)}, p->c.name, sizeof p->c.name);
            p->c.uniqueid = num;
        }
        p->port = port;
        strcpy(p->c.state, established && !del ? "INSTALLED" : del ? "DELETING" : "INSTALLING");
        p->c.ike_uniqueid = ike_num;
        p->c.rekey_time = rekey.known ? rekey : replace;
        p->c.life_time = expire.known ? expire : rekey.known ? replace : OPT_UNKNOWN;
        if (port.known)
            p->c.encap = port.v != 500 ? TRI_YES : TRI_NO;
        return 0;
    }
    struct ike_sa *ike = sa_fact_add_ike(&out->sas);
    if (!ike)
        return -1;
    strcpy(ike->name, key);
    ike->uniqueid = num;
    ike->version = state_version(name);
    strcpy(ike->state, established && !del ? "ESTABLISHED" : del ? "DELETING" : "CONNECTING");
    ike->remote_port = port;
    ike->rekey_time = rekey.known ? rekey : replace;
    if (port.known)
        ike->nat_any = port.v != 500 ? TRI_YES : TRI_NO;
    return 0;
}

/* "#N: "key"..." -> a state line or an SA detail line. */
static int parse_state(struct status_ctx *x, struct span l)
{
    const char *c = span_find(l, ": ");
    struct opt_u64 num = {0};
    if (!c || span_u64(span_from(l.p + 1, c), &num) != 0)
        return -1;
    /* "#15: pending CHILD SA for \"gone\"" (4.x, under an IKE SA still
     * being negotiated; IKEv1 "pending Phase 2 for"): no SA yet, nothing to keep */
    struct span after = span_from(c + 2, l.p + l.len);
    if (span_starts(after, "pending CHILD SA for \"") || span_starts(after, "pending Phase 2 for \""))
        return 0;
    struct span rest;
    char key[FACT_NAME_MAX];
    struct opt_u64 port = {0};
    if (conn_key(span_from(c + 2, l.p + l.len), key, sizeof key, &rest, &port, NULL) != 0)
        return -1;
    if (rest.len && rest.p[0] == ':') { /* "name":4500 STATE_ */
        const char *sp = memchr(rest.p, ' ', rest.len);
        if (!sp || span_u64(span_from(rest.p + 1, sp), &port) != 0)
            return -1;
        return parse_state_line(x, key, num, port, span_from(sp + 1, rest.p + rest.len));
    }
    span_trim(&rest);
    if (port.known) /* instance "[1] ADDR:PORT STATE_" */
        return parse_state_line(x, key, num, port, rest);
    /* SA detail line of a child state */
    struct pending_child *p = pending_find(x, key, num.v);
    if (!p) {
        p = pending_add(x);
        if (!p)
            return -1;
        strcpy(p->key, key);
        span_copy((struct span){key, strlen(key)}, p->c.name, sizeof p->c.name);
        p->c.uniqueid = num;
    }
    return parse_sa_detail(&p->c, rest);
}

static void copy_ts(struct ts_list *dst, const struct ts_list *src)
{
    *dst = *src;
}

/* Attaches the children and fills from the connections what the states do
 * not print (hosts, ids, selectors, newest proposals). */
static int assemble(struct status_ctx *x, const char (*ike_newest)[FACT_TEXT_MAX],
                    const char (*esp_newest)[FACT_TEXT_MAX])
{
    struct libreswan_status *out = x->out;
    for (size_t i = 0; i < x->n_pc; i++) {
        struct pending_child *p = &x->pc[i];
        if (!p->c.state[0]) /* a detail line without its state line */
            strcpy(p->c.state, "INSTALLED");
        struct ike_sa *ike = NULL;
        for (size_t k = 0; k < out->sas.n_ike; k++)
            if (!strcmp(out->sas.ike[k].name, p->key) &&
                (!p->c.ike_uniqueid.known || out->sas.ike[k].uniqueid.v == p->c.ike_uniqueid.v))
                ike = &out->sas.ike[k];
        if (!ike) { /* its IKE SA is gone (IKEv1) or not listed: an entry without state */
            ike = sa_fact_add_ike(&out->sas);
            if (!ike)
                return -1;
            strcpy(ike->name, p->key);
            ike->uniqueid = p->c.ike_uniqueid;
            ike->remote_port = p->port;
        }
        struct child_sa *c = ike_sa_add_child(ike);
        if (!c)
            return -1;
        *c = p->c;
    }
    for (size_t k = 0; k < out->sas.n_ike; k++) {
        struct ike_sa *ike = &out->sas.ike[k];
        int ci = conn_index(out, ike->name);
        if (ci < 0)
            continue;
        const struct conn_conf *cc = &out->conns.conn[ci];
        const struct libreswan_conn_x *cx = &out->x[ci];
        if (cc->local_addrs.n && cc->local_addrs.item[0][0] != '%')
            strcpy(ike->local_host, cc->local_addrs.item[0]);
        if (cc->remote_addrs.n && cc->remote_addrs.item[0][0] != '%')
            strcpy(ike->remote_host, cc->remote_addrs.item[0]);
        memcpy(ike->local_id, cc->local_id, sizeof ike->local_id);
        if (!ike->remote_id[0])
            memcpy(ike->remote_id, cc->remote_id, sizeof ike->remote_id);
        if (!ike->version.known)
            ike->version = cc->version;
        if (cx->newest_ike.known && ike->uniqueid.known && cx->newest_ike.v == ike->uniqueid.v)
            memcpy(ike->proposal, ike_newest[ci], sizeof ike->proposal);
        for (size_t j = 0; j < ike->n_child; j++) {
            struct child_sa *c = &ike->child[j];
            if (cc->n_child) {
                copy_ts(&c->local_ts, &cc->child[0].local_ts);
                copy_ts(&c->remote_ts, &cc->child[0].remote_ts);
                if (!c->mode[0])
                    memcpy(c->mode, cc->child[0].mode, sizeof c->mode);
            }
            if (cx->newest_child.known && c->uniqueid.known && cx->newest_child.v == c->uniqueid.v)
                memcpy(c->proposal, esp_newest[ci], sizeof c->proposal);
        }
    }
    return 0;
}

void libreswan_status_free(struct libreswan_status *s)
{
    if (!s)
        return;
    conn_fact_free(&s->conns);
    sa_fact_free(&s->sas);
    free(s->x);
    memset(s, 0, sizeof *s);
}

/* Lifetimes of connection ci once all its details are read. */
static void finish_conn(struct conn_conf *c, struct opt_u64 ike_life, struct opt_u64 ipsec_life,
                        struct opt_u64 margin)
{
    if (ike_life.known && margin.known && ike_life.v > margin.v)
        c->rekey_time = OPT_U64(ike_life.v - margin.v);
    if (c->n_child && ipsec_life.known) {
        c->child[0].life_time = ipsec_life;
        if (margin.known && ipsec_life.v > margin.v)
            c->child[0].rekey_time = OPT_U64(ipsec_life.v - margin.v);
    }
}

int libreswan_parse_status(const char *text, size_t len, struct libreswan_status *out, struct err *e)
{
    memset(out, 0, sizeof *out);
    out->conns.source = SA_SRC_LIBRESWAN;
    out->sas.source = SA_SRC_LIBRESWAN;
    struct status_ctx x = {.out = out};
    /* per connection, in step with out->conns: lifetimes, newest proposals */
    struct life {
        struct opt_u64 ike, ipsec, margin;
    } *lives = NULL;
    char (*ike_newest)[FACT_TEXT_MAX] = NULL, (*esp_newest)[FACT_TEXT_MAX] = NULL;
    size_t cap = 0;
    struct span all = {text, len}, line;
    size_t lineno = 0;
    bool marker = false;
    int code = ERR_PARSE;
    const char *why = "not understood";
    while (span_line(&all, &line)) {
        lineno++;
        struct span l = line;
        strip_code(&l);
        span_trim(&l);
        if (!l.len)
            continue;
        if (memchr(l.p, '\0', l.len)) {
            why = "NUL byte";
            goto bad;
        }
        if (span_starts(l, "using kernel interface:") || span_starts(l, "Connection list:") ||
            span_starts(l, "State Information:") || span_starts(l, "State list:") ||
            span_starts(l, "Total IPsec connections:") || span_starts(l, "pluto_version=") ||
            span_starts(l, "interface ")) {
            marker = true;
        }
        struct span v;
        if (span_starts(l, "interface ")) {
            const char *colon = span_rfind(l, ":"), *at = span_rfind(l, "@"); /* 4.x ADDR:PORT, 3.x ADDR@PORT */
            if (at && (!colon || at > colon))
                colon = at;
            struct opt_u64 port = {0};
            if (colon && span_u64(span_from(colon + 1, l.p + l.len), &port) == 0) {
                if (port.v == 500)
                    out->listen500 = TRI_YES;
                if (port.v == 4500)
                    out->listen4500 = TRI_YES;
            }
            continue;
        }
        if (span_find(l, "pluto_version=") && value_of(l, "pluto_version=", &v)) {
            span_copy(v, out->version, sizeof out->version);
            continue;
        }
        if (span_starts(l, "nat-traversal=")) {
            if (value_of(l, "nat-traversal=", &v))
                out->nat_traversal = span_eq(v, "yes") ? TRI_YES : span_eq(v, "no") ? TRI_NO : TRI_UNKNOWN;
            if (value_of(l, "keep-alive=", &v) && secs(v, &out->keepalive) != 0) {
                why = "keep-alive not a number";
                goto bad;
            }
            continue;
        }
        if (l.p[0] == '#') {
            marker = true;
            if (parse_state(&x, l) != 0) {
                why = "state line not understood";
                goto bad;
            }
            continue;
        }
        if (l.p[0] != '"')
            continue; /* algorithm tables, stats, shunts, globals */
        char key[FACT_NAME_MAX];
        struct span rest;
        if (conn_key(l, key, sizeof key, &rest, NULL, NULL) != 0 || !rest.len || rest.p[0] != ':') {
            why = "connection line not understood";
            goto bad;
        }
        rest = span_from(rest.p + 1, rest.p + rest.len);
        int ci = conn_index(out, key);
        if (ci < 0) {
            struct span t = rest;
            span_trim(&t);
            if (!span_find(t, "...")) {
                why = "connection without its topology line";
                goto bad;
            }
            if (out->conns.n_conn == cap) {
                size_t nc = cap ? cap * 2 : 8;
                void *a = realloc(lives, nc * sizeof *lives), *b, *c2, *d;
                if (a)
                    lives = a;
                b = a ? realloc(ike_newest, nc * sizeof *ike_newest) : NULL;
                if (b)
                    ike_newest = b;
                c2 = b ? realloc(esp_newest, nc * sizeof *esp_newest) : NULL;
                if (c2)
                    esp_newest = c2;
                d = c2 ? realloc(out->x, nc * sizeof *out->x) : NULL;
                if (!d) {
                    code = ERR_INTERNAL;
                    why = "out of memory";
                    goto bad;
                }
                out->x = d;
                cap = nc;
            }
            struct conn_conf *c = conn_fact_add_conn(&out->conns);
            if (!c) {
                code = ERR_INTERNAL;
                why = "out of memory";
                goto bad;
            }
            ci = (int)out->conns.n_conn - 1;
            memset(&out->x[ci], 0, sizeof out->x[ci]);
            memset(&lives[ci], 0, sizeof lives[ci]);
            ike_newest[ci][0] = esp_newest[ci][0] = '\0';
            strcpy(c->name, key);
            marker = true;
            if (parse_topology(c, &out->x[ci], t) != 0) {
                why = "connection topology not understood";
                goto bad;
            }
            continue;
        }
        struct span d = rest;
        span_trim(&d);
        struct conn_conf *c = &out->conns.conn[ci];
        if (span_find(d, "algorithm newest:")) {
            const char *colon = span_find(d, "newest:") + 7;
            struct span a = span_from(colon, d.p + d.len);
            const char *semi = memchr(a.p, ';', a.len);
            if (semi)
                a.len = (size_t)(semi - a.p);
            bool esp = span_starts(d, "ESP") || span_starts(d, "AH");
            if (set_algs(esp ? esp_newest[ci] : ike_newest[ci], FACT_TEXT_MAX, a) != 0) {
                why = "algorithm too long";
                goto bad;
            }
            continue;
        }
        if (parse_conn_detail(c, &out->x[ci], d, &lives[ci].ike, &lives[ci].ipsec, &lives[ci].margin) != 0) {
            why = "connection detail not understood";
            goto bad;
        }
    }
    if (!marker && lineno) {
        code = ERR_UNSUPPORTED;
        why = "no Libreswan status in it";
        lineno = 1;
        line = (struct span){text, len};
        goto bad;
    }
    for (size_t i = 0; i < out->conns.n_conn; i++) {
        finish_conn(&out->conns.conn[i], lives[i].ike, lives[i].ipsec, lives[i].margin);
        if (!out->x[i].keepalive.known)
            out->x[i].keepalive = out->keepalive;
    }
    if (assemble(&x, (const char(*)[FACT_TEXT_MAX])ike_newest, (const char(*)[FACT_TEXT_MAX])esp_newest) != 0) {
        code = ERR_INTERNAL;
        why = "out of memory";
        goto bad;
    }
    free(lives);
    free(ike_newest);
    free(esp_newest);
    free(x.pc);
    return 0;
bad:
    free(lives);
    free(ike_newest);
    free(esp_newest);
    free(x.pc);
    libreswan_status_free(out);
    return err_set(e, code, "ipsec status: line %zu: %s: %.*s", lineno, why, SPAN_FMT(line));
}

size_t libreswan_merge_traffic(struct sa_fact *sas, const struct sa_fact *traffic)
{
    size_t n = 0;
    for (size_t i = 0; i < traffic->n_ike; i++)
        for (size_t j = 0; j < traffic->ike[i].n_child; j++) {
            const struct child_sa *t = &traffic->ike[i].child[j];
            for (size_t k = 0; k < sas->n_ike; k++) {
                if (strcmp(sas->ike[k].name, traffic->ike[i].name))
                    continue;
                for (size_t m = 0; m < sas->ike[k].n_child; m++) {
                    struct child_sa *c = &sas->ike[k].child[m];
                    if (c->uniqueid.known && t->uniqueid.known && c->uniqueid.v == t->uniqueid.v) {
                        c->bytes_in = t->bytes_in;
                        c->bytes_out = t->bytes_out;
                        n++;
                    }
                }
            }
        }
    return n;
}
