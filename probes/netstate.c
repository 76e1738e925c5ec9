#include "probes/netstate.h"

#include <string.h>

#include "probes/textscan.h"

static int port16(struct span s, uint16_t *p)
{
    struct opt_u64 o = {0};
    if (span_u64(s, &o) != 0 || o.v > 65535)
        return -1;
    *p = (uint16_t)o.v;
    return 0;
}

/* "0.0.0.0:4500", "[::]:500", "*:500", "192.0.2.1%eth0:68" */
static int split_addr_port(struct span s, char *addr, size_t an, uint16_t *port)
{
    const char *colon = NULL;
    for (size_t i = s.len; i-- > 0;)
        if (s.p[i] == ':') {
            colon = s.p + i;
            break;
        }
    if (!colon || colon == s.p)
        return -1;
    struct span a = {s.p, (size_t)(colon - s.p)};
    struct span p = {colon + 1, (size_t)(s.p + s.len - colon - 1)};
    if (a.len >= 2 && a.p[0] == '[' && a.p[a.len - 1] == ']') {
        a.p++;
        a.len -= 2;
    }
    if (span_eq(p, "*")) {
        *port = 0;
    } else if (port16(p, port) != 0) {
        return -1;
    }
    return span_copy(a, addr, an);
}

int ss_parse_udp(const char *text, size_t len, struct udp_listen_fact *out, struct err *e)
{
    memset(out, 0, sizeof *out);
    struct span all = {text, len}, line;
    size_t lineno = 0;
    bool header = false;
    while (span_line(&all, &line)) {
        lineno++;
        span_trim(&line);
        if (line.len == 0)
            continue;
        if (!header) {
            if (!span_starts(line, "State") && !span_starts(line, "Netid"))
                return err_set(e, ERR_UNSUPPORTED, "ss: not ss output: %.*s", SPAN_FMT(line));
            header = true;
            continue;
        }
        struct span rest = line, w;
        struct span cols[6];
        size_t nc = 0;
        while (nc < 6 && span_word(&rest, &w))
            cols[nc++] = w;
        /* State Recv-Q Send-Q Local Peer [Process]; with Netid first when -a */
        size_t base = (nc > 0 && (span_eq(cols[0], "udp") || span_eq(cols[0], "tcp"))) ? 1 : 0;
        if (nc < 5 + base) {
            memset(out, 0, sizeof *out);
            return err_set(e, ERR_PARSE, "ss: line %zu: too few columns", lineno);
        }
        struct udp_listener l = {0};
        if (split_addr_port(cols[base + 3], l.addr, sizeof l.addr, &l.port) != 0) {
            memset(out, 0, sizeof *out);
            return err_set(e, ERR_PARSE, "ss: line %zu: bad local address: %.*s", lineno,
                           SPAN_FMT(cols[base + 3]));
        }
        const char *users = span_find(line, "users:((\"");
        if (users) {
            const char *name = users + 9;
            const char *q = memchr(name, '"', (size_t)(line.p + line.len - name));
            if (!q) {
                memset(out, 0, sizeof *out);
                return err_set(e, ERR_TRUNCATED, "ss: line %zu: process cut short", lineno);
            }
            fact_copy(l.process, sizeof l.process, name, (size_t)(q - name));
            struct span after = {q, (size_t)(line.p + line.len - q)};
            span_u64_after(after, "pid=", &l.pid);
        }
        if (out->n < UDP_LISTEN_MAX) {
            out->l[out->n++] = l;
        } else {
            out->more = true;
            /* ss lists sockets in hash order: the IKE ports, which the playbook asks
             * about, take the place of the last listener on another port */
            for (size_t k = out->n; (l.port == 500 || l.port == 4500) && k-- > 0;)
                if (out->l[k].port != 500 && out->l[k].port != 4500) {
                    out->l[k] = l;
                    break;
                }
        }
    }
    if (!header)
        return err_set(e, ERR_TRUNCATED, "ss: empty output (no header)");
    return 0;
}

size_t udp_listen_count(const struct udp_listen_fact *f, uint16_t port, const char **proc)
{
    size_t n = 0;
    if (proc)
        *proc = NULL;
    for (size_t i = 0; i < f->n; i++)
        if (f->l[i].port == port) {
            if (proc && !*proc && f->l[i].process[0])
                *proc = f->l[i].process;
            n++;
        }
    return n;
}

int sysctl_parse_ct_timeouts(const char *text, size_t len, struct ct_timeout_fact *out,
                             struct err *e)
{
    memset(out, 0, sizeof *out);
    struct span all = {text, len}, line;
    size_t lineno = 0, seen = 0;
    int positional = 0;
    bool keyed = false;
    struct opt_u64 v_only = {0};
    while (span_line(&all, &line)) {
        lineno++;
        span_trim(&line);
        if (line.len == 0)
            continue;
        if (span_starts(line, "sysctl: cannot stat") || span_find(line, "unknown key")) {
            out->missing = true;
            seen++;
            continue;
        }
        const char *eq = span_find(line, " = ");
        if (!eq && positional < 2 && !keyed && span_u64(line, &v_only) == 0) {
            /* `sysctl -n` prints the bare values in the order asked */
            *(positional++ ? &out->udp_timeout_stream : &out->udp_timeout) = v_only;
            seen++;
            continue;
        }
        if (!eq) {
            memset(out, 0, sizeof *out);
            return err_set(e, lineno == 1 ? ERR_UNSUPPORTED : ERR_PARSE,
                           "sysctl: line %zu is not 'key = value': %.*s", lineno,
                           SPAN_FMT(line));
        }
        struct span k = {line.p, (size_t)(eq - line.p)};
        struct span v = {eq + 3, (size_t)(line.p + line.len - eq - 3)};
        struct opt_u64 *o = NULL;
        if (span_eq(k, "net.netfilter.nf_conntrack_udp_timeout"))
            o = &out->udp_timeout;
        else if (span_eq(k, "net.netfilter.nf_conntrack_udp_timeout_stream"))
            o = &out->udp_timeout_stream;
        else
            continue;
        if (positional) {
            memset(out, 0, sizeof *out);
            return err_set(e, ERR_PARSE, "sysctl: bare values and 'key = value' lines mixed");
        }
        keyed = true;
        if (span_u64(v, o) != 0) {
            memset(out, 0, sizeof *out);
            return err_set(e, ERR_PARSE, "sysctl: %.*s: not a number", SPAN_FMT(k));
        }
        seen++;
    }
    if (!seen)
        return err_set(e, ERR_TRUNCATED, "sysctl: empty output");
    if (positional && out->missing) /* a key missing shifts the bare values: which is which is unknown */
        out->udp_timeout = out->udp_timeout_stream = OPT_UNKNOWN;
    return 0;
}

/* One tuple "src=A dst=B sport=N dport=N" starting at *s; advances. */
static int ct_tuple(struct span *s, char *src, char *dst, uint16_t *sp, uint16_t *dp)
{
    int got = 0;
    struct span w;
    struct span save = *s;
    while (got != 0xf && span_word(s, &w)) {
        if (span_starts(w, "src=") && !(got & 1)) {
            if (fact_copy(src, FACT_ADDR_MAX, w.p + 4, w.len - 4))
                return -1;
            got |= 1;
        } else if (span_starts(w, "dst=") && !(got & 2)) {
            if (fact_copy(dst, FACT_ADDR_MAX, w.p + 4, w.len - 4))
                return -1;
            got |= 2;
        } else if (span_starts(w, "sport=") && !(got & 4)) {
            if (port16((struct span){w.p + 6, w.len - 6}, sp))
                return -1;
            got |= 4;
        } else if (span_starts(w, "dport=") && !(got & 8)) {
            if (port16((struct span){w.p + 6, w.len - 6}, dp))
                return -1;
            got |= 8;
        } else if (got == 0) {
            save = *s;
        } else if (w.p[0] != '[') {
            return -1;
        }
    }
    (void)save;
    return got == 0xf ? 0 : -1;
}

int conntrack_parse_udp(const char *text, size_t len, struct ct_fact *out, struct err *e)
{
    memset(out, 0, sizeof *out);
    struct span all = {text, len}, line;
    size_t lineno = 0, total = 0;
    while (span_line(&all, &line)) {
        lineno++;
        span_trim(&line);
        if (line.len == 0)
            continue;
        if (span_starts(line, "conntrack v")) {
            if (span_find(line, "flow entries have been shown")) {
                const char *c = span_find(line, "): ");
                if (c) {
                    struct span r = {c + 3, (size_t)(line.p + line.len - c - 3)}, n;
                    span_word(&r, &n);
                    span_u64(n, &out->shown);
                }
                continue;
            }
            memset(out, 0, sizeof *out);
            return err_set(e, ERR_UNSUPPORTED, "conntrack: %.*s", SPAN_FMT(line));
        }
        struct span rest = line, proto, num, tmo;
        span_word(&rest, &proto);
        span_word(&rest, &num);
        if (!span_eq(proto, "udp") || !span_eq(num, "17") || !span_word(&rest, &tmo)) {
            memset(out, 0, sizeof *out);
            return err_set(e, lineno == 1 ? ERR_UNSUPPORTED : ERR_PARSE,
                           "conntrack: line %zu is not a udp entry: %.*s", lineno,
                           SPAN_FMT(line));
        }
        struct ct_entry ce = {0};
        if (span_u64(tmo, &ce.timeout) != 0 ||
            ct_tuple(&rest, ce.src, ce.dst, &ce.sport, &ce.dport) != 0) {
            memset(out, 0, sizeof *out);
            return err_set(e, ERR_PARSE, "conntrack: line %zu: bad original tuple", lineno);
        }
        ce.unreplied = span_find(line, "[UNREPLIED]") != NULL;
        ce.assured = span_find(line, "[ASSURED]") != NULL;
        if (ct_tuple(&rest, ce.rsrc, ce.rdst, &ce.rsport, &ce.rdport) != 0) {
            memset(out, 0, sizeof *out);
            return err_set(e, ERR_TRUNCATED, "conntrack: line %zu: no reply tuple", lineno);
        }
        total++;
        bool ike = ce.sport == 500 || ce.dport == 500 || ce.sport == 4500 || ce.dport == 4500 ||
                   ce.rsport == 500 || ce.rdport == 500 || ce.rsport == 4500 || ce.rdport == 4500;
        if (!ike)
            out->n_other++;
        else if (out->n < CT_ENTRY_MAX)
            out->e[out->n++] = ce;
        else
            out->more = true;
    }
    if (out->shown.known && out->shown.v != total) {
        size_t shown = (size_t)out->shown.v;
        memset(out, 0, sizeof *out);
        return err_set(e, ERR_TRUNCATED, "conntrack: %zu entries read, %zu announced", total,
                       shown);
    }
    /* stdout alone (the summary goes to stderr) may be empty: no flow */
    return 0;
}

static int route_get_inner(const char *text, size_t len, struct route_fact *out, struct err *e)
{
    memset(out, 0, sizeof *out);
    struct span all = {text, len}, line;
    bool head = false;
    while (span_line(&all, &line)) {
        size_t ind = span_indent(&line);
        span_trim(&line);
        if (line.len == 0)
            continue;
        if (span_starts(line, "RTNETLINK answers: ") || span_starts(line, "Error: ")) {
            const char *c = span_find(line, ": ");
            struct span m = {c + 2, (size_t)(line.p + line.len - c - 2)};
            fact_copy(out->error, sizeof out->error, m.p, m.len);
            out->ok = false;
            return 0;
        }
        if (ind > 0) {
            if (!head)
                return err_set(e, ERR_UNSUPPORTED, "ip route get: detail before the route");
            /* "cache expires 500sec mtu 1400" / "cache <mtu lock>" */
            if (span_starts(line, "cache"))
                span_u64_after(line, "mtu ", &out->mtu);
            continue;
        }
        if (head)
            return err_set(e, ERR_PARSE, "ip route get: more than one route: %.*s",
                           SPAN_FMT(line));
        struct span w, v;
        struct span r = line;
        span_word(&r, &w);
        static const char *types[] = {"local", "broadcast", "unreachable", "prohibit",
                                      "blackhole", "throw", "multicast", "anycast"};
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
            if (span_eq(w, types[i])) {
                fact_copy(out->type, sizeof out->type, w.p, w.len);
                span_word(&r, &w);
                break;
            }
        if (!out->type[0])
            strcpy(out->type, "unicast");
        if (span_copy(w, out->dst, sizeof out->dst) != 0 ||
            (!memchr(w.p, '.', w.len) && !memchr(w.p, ':', w.len)))
            return err_set(e, ERR_UNSUPPORTED, "ip route get: not a route: %.*s",
                           SPAN_FMT(line));
        while (span_word(&r, &w)) {
            char *dst = NULL;
            size_t dn = 0;
            if (span_eq(w, "from"))
                dst = out->from, dn = sizeof out->from;
            else if (span_eq(w, "via"))
                dst = out->via, dn = sizeof out->via;
            else if (span_eq(w, "dev"))
                dst = out->dev, dn = sizeof out->dev;
            else if (span_eq(w, "src"))
                dst = out->src, dn = sizeof out->src;
            else if (span_eq(w, "table"))
                dst = out->table, dn = sizeof out->table;
            else if (span_eq(w, "mtu")) {
                if (!span_word(&r, &v))
                    return err_set(e, ERR_TRUNCATED, "ip route get: mtu without value");
                if (span_eq(v, "lock") && !span_word(&r, &v))
                    return err_set(e, ERR_TRUNCATED, "ip route get: mtu without value");
                if (span_u64(v, &out->mtu) != 0)
                    return err_set(e, ERR_PARSE, "ip route get: bad mtu");
                continue;
            }
            if (dst) {
                if (!span_word(&r, &v) || span_copy(v, dst, dn) != 0) {
                    memset(out, 0, sizeof *out);
                    return err_set(e, ERR_TRUNCATED, "ip route get: '%.*s' without value",
                                   SPAN_FMT(w));
                }
            }
        }
        head = true;
        out->ok = true;
    }
    if (!head)
        return err_set(e, ERR_TRUNCATED, "ip route get: empty output");
    return 0;
}

int route_parse_get(const char *text, size_t len, struct route_fact *out, struct err *e)
{
    if (route_get_inner(text, len, out, e) == 0)
        return 0;
    memset(out, 0, sizeof *out);
    return -1;
}

int link_parse(const char *text, size_t len, struct link_fact *out, struct err *e)
{
    memset(out, 0, sizeof *out);
    struct span all = {text, len}, line;
    size_t lineno = 0;
    while (span_line(&all, &line)) {
        lineno++;
        span_trim(&line);
        if (line.len == 0)
            continue;
        struct span r = line, idx, name, flags;
        struct link_info li = {0};
        if (!span_word(&r, &idx) || idx.len < 2 || idx.p[idx.len - 1] != ':' ||
            span_u64((struct span){idx.p, idx.len - 1}, &li.ifindex) != 0) {
            memset(out, 0, sizeof *out);
            return err_set(e, lineno == 1 ? ERR_UNSUPPORTED : ERR_PARSE,
                           "ip -o link: line %zu is not 'N: name: <flags> ...'", lineno);
        }
        if (!span_word(&r, &name) || name.len < 2 || name.p[name.len - 1] != ':' ||
            !span_word(&r, &flags) || flags.p[0] != '<') {
            memset(out, 0, sizeof *out);
            return err_set(e, ERR_PARSE, "ip -o link: line %zu: no name or flags", lineno);
        }
        name.len--;
        const char *at = memchr(name.p, '@', name.len);
        if (at)
            name.len = (size_t)(at - name.p);
        span_copy(name, li.name, sizeof li.name);
        li.up = span_find(flags, ",UP,") || span_find(flags, "<UP,") || span_find(flags, ",UP>") ||
                span_eq(flags, "<UP>");
        struct span w, v;
        while (span_word(&r, &w)) {
            if (span_eq(w, "mtu") && span_word(&r, &v)) {
                if (span_u64(v, &li.mtu) != 0) {
                    memset(out, 0, sizeof *out);
                    return err_set(e, ERR_PARSE, "ip -o link: line %zu: bad mtu", lineno);
                }
            } else if (span_eq(w, "state") && span_word(&r, &v)) {
                span_copy(v, li.state, sizeof li.state);
            } else if (span_starts(w, "\\")) {
                break;
            }
        }
        if (!li.mtu.known) {
            memset(out, 0, sizeof *out);
            return err_set(e, ERR_TRUNCATED, "ip -o link: line %zu: no mtu", lineno);
        }
        if (out->n < LINK_MAX)
            out->l[out->n++] = li;
        else
            out->more = true;
    }
    if (out->n == 0)
        return err_set(e, ERR_TRUNCATED, "ip -o link: empty output");
    return 0;
}

const struct link_info *link_find(const struct link_fact *f, const char *name)
{
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->l[i].name, name) == 0)
            return &f->l[i];
    return NULL;
}
