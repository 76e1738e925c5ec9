#include "playbook/collect.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "playbook/cidr.h"
#include "probes/capture.h"
#include "probes/swanctl.h"
#include "remote/err.h"

/* The commands.  Logs: strongSwan's file log where the config names one,
 * else the journal (charon-systemd / strongswan unit). */
static const struct probe_spec probes[PROBE_COUNT] = {
    [PROBE_SUDO] = {PROBE_SUDO, 1, "sudo -n true", "true", true},
    [PROBE_SAS] = {PROBE_SAS, 1, "swanctl --list-sas --raw", "swanctl --list-sas --raw", true},
    [PROBE_CONNS] = {PROBE_CONNS, 1, "swanctl --list-conns --raw", "swanctl --list-conns --raw", true},
    [PROBE_SS] = {PROBE_SS, 1, "ss -ulnp", "ss -ulnp", true},
    [PROBE_SWCONF] = {PROBE_SWCONF, 2, "strongswan.conf charon.keep_alive", "cat /etc/strongswan.conf", false},
    [PROBE_SYSCTL] = {PROBE_SYSCTL, 2, "sysctl net.netfilter.nf_conntrack_udp_timeout",
     "sysctl -n net.netfilter.nf_conntrack_udp_timeout net.netfilter.nf_conntrack_udp_timeout_stream", false},
    [PROBE_NFT] = {PROBE_NFT, 3, "nft list ruleset", "nft list ruleset", true},
    [PROBE_IPT] = {PROBE_IPT, 3, "iptables-save", "iptables-save", true},
    [PROBE_LOG] = {PROBE_LOG, 1, "daemon log (last 400 lines)",
     "if [ -r /var/log/charon.log ]; then tail -n 400 /var/log/charon.log; "
     "else journalctl -q --no-pager -n 400 -u strongswan -u strongswan-starter 2>/dev/null; fi",
     true},
    [PROBE_LINK] = {PROBE_LINK, 4, "ip -o link", "ip -o link", false},
    [PROBE_ROUTE_PEER] = {PROBE_ROUTE_PEER, 2, "ip route get (peer)", NULL, false},
    [PROBE_ROUTE_TS] = {PROBE_ROUTE_TS, 3, "ip route get (remote subnet)", NULL, false},
    [PROBE_SAS_AFTER] = {PROBE_SAS_AFTER, 2, "swanctl --list-sas --raw", "swanctl --list-sas --raw", true},
    [PROBE_LOG_NEW] = {PROBE_LOG_NEW, 5, "daemon log (during the diagnosis)", NULL, true},
    [PROBE_PING] = {PROBE_PING, 4, "ping -M do", NULL, true},
    [PROBE_LOG_SIZE] = {PROBE_LOG_SIZE, 5, "daemon log size", "wc -c < /var/log/charon.log", true},
    [PROBE_BATCH] = {PROBE_BATCH, 1, "probes", NULL, true},
};

const struct probe_spec *collect_probe(enum probe_kind k)
{
    return (unsigned)k < PROBE_COUNT ? &probes[k] : NULL;
}

/* ---- string pool ----------------------------------------------------------- */

const char *strpool_dup(struct strpool *p, const char *s, size_t len)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 32;
        char **v = realloc(p->v, cap * sizeof *v);
        if (!v)
            return NULL;
        p->v = v;
        p->cap = cap;
    }
    char *d = malloc(len + 1);
    if (!d)
        return NULL;
    memcpy(d, s, len);
    d[len] = '\0';
    p->v[p->n++] = d;
    return d;
}

const char *strpool_printf(struct strpool *p, const char *fmt, ...)
{
    struct buf b = BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    int r = buf_vprintf(&b, fmt, ap);
    va_end(ap);
    const char *s = r ? NULL : strpool_dup(p, b.data ? b.data : "", b.len);
    buf_free(&b);
    return s;
}

void strpool_free(struct strpool *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->v[i]);
    free(p->v);
    p->v = NULL;
    p->n = p->cap = 0;
}

/* ---- helpers --------------------------------------------------------------- */

void collect_gap(struct collect_side *s, int step, const char *probe, const char *reason)
{
    for (int i = 0; i < s->f.n_gaps; i++)
        if (s->f.gaps[i].step == step && !strcmp(s->f.gaps[i].probe, probe))
            return;
    if (s->f.n_gaps >= PF_MAX_GAPS)
        return;
    const char *r = strpool_dup(&s->pool, reason, strlen(reason));
    s->f.gaps[s->f.n_gaps++] = (struct pf_gap){step, probe, r ? r : "out of memory"};
}

/* A line of text [p, p+n). */
struct tline {
    const char *p;
    size_t n;
};

static bool next_line(const char **cur, const char *end, struct tline *l)
{
    if (*cur >= end)
        return false;
    const char *e = memchr(*cur, '\n', (size_t)(end - *cur));
    l->p = *cur;
    l->n = e ? (size_t)(e - *cur) : (size_t)(end - *cur);
    *cur = e ? e + 1 : end;
    return true;
}

static const char *line_find(const struct tline *l, const char *needle)
{
    size_t m = strlen(needle);
    if (m > l->n)
        return NULL;
    for (size_t i = 0; i + m <= l->n; i++)
        if (!memcmp(l->p + i, needle, m))
            return l->p + i;
    return NULL;
}

/* The word after `key ` in the line ("dev eth0" -> "eth0"), into the pool. */
static const char *word_after(struct collect_side *s, const struct tline *l, const char *key)
{
    size_t k = strlen(key);
    for (size_t i = 0; i + k < l->n; i++) {
        if (memcmp(l->p + i, key, k) || (i && l->p[i - 1] != ' ' && l->p[i - 1] != '\t'))
            continue;
        size_t j = i + k;
        if (l->p[j] != ' ')
            continue;
        while (j < l->n && l->p[j] == ' ')
            j++;
        size_t w = j;
        while (j < l->n && !isspace((unsigned char)l->p[j]) && l->p[j] != ';' && l->p[j] != ',')
            j++;
        if (j > w)
            return strpool_dup(&s->pool, l->p + w, j - w);
    }
    return NULL;
}

/* A decimal after `key` (e.g. "mtu " or "mtu="), -1 when absent or absurd. */
static long num_after(const struct tline *l, const char *key)
{
    const char *p = line_find(l, key);
    if (!p)
        return -1;
    p += strlen(key);
    const char *end = l->p + l->n;
    while (p < end && *p == ' ')
        p++;
    long v = 0;
    int digits = 0;
    while (p < end && isdigit((unsigned char)*p) && digits < 9) {
        v = v * 10 + (*p - '0');
        p++;
        digits++;
    }
    return digits ? v : -1;
}

static const char *reason_of(int status, int err_code, const char *errtext)
{
    if (err_code == ERR_SUDO)
        return "sudo -n refused";
    if (err_code == ERR_TIMEOUT)
        return "timed out";
    if (err_code == ERR_DISCONNECTED)
        return "peer disconnected";
    if (err_code == ERR_NOT_FOUND || status == 127)
        return "command not found";
    if (err_code != ERR_NONE)
        return err_code_name(err_code);
    if (errtext && *errtext) {
        static const char *const known[] = {"Permission denied", "Operation not permitted", "not found",
                                            "No such file", NULL};
        for (int i = 0; known[i]; i++)
            if (strstr(errtext, known[i]))
                return known[i];
    }
    return "failed";
}

/* ---- SAs and connections ------------------------------------------------- */

static const char *pool_str(struct collect_side *s, const char *v)
{
    return v && *v ? strpool_dup(&s->pool, v, strlen(v)) : NULL;
}

static int u64_or(const struct opt_u64 *o, int dflt)
{
    return o->known ? (o->v > 0x7fffffff ? 0x7fffffff : (int)o->v) : dflt;
}

static void copy_list(struct collect_side *s, const char **dst, const struct ts_list *l)
{
    size_t n = l->n < PF_MAX - 1 ? l->n : PF_MAX - 1;
    for (size_t i = 0; i < n; i++)
        dst[i] = pool_str(s, l->item[i]);
    dst[n] = NULL;
}

/* Splits "a, b" style proposal text into the list. */
static void copy_proposals(struct collect_side *s, const char **dst, const char *text)
{
    size_t n = 0;
    const char *p = text;
    while (p && *p && n < PF_MAX - 1) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t w = strcspn(p, ", ");
        if (w)
            dst[n++] = strpool_dup(&s->pool, p, w);
        p += w;
    }
    dst[n] = NULL;
}

void collect_select_conn(struct collect_side *s)
{
    struct peer_facts *f = &s->f;
    memset(&f->conn, 0, sizeof f->conn);
    memset(&f->ike, 0, sizeof f->ike);
    memset(&f->child, 0, sizeof f->child);
    f->conn.dpd_delay = f->conn.dpd_timeout = f->conn.ike_rekey_time = -1;
    f->conn.child_rekey_time = f->conn.child_life_time = -1;
    f->ike.local_port = f->ike.remote_port = -1;
    f->ike.established_s = -1;
    f->child.packets_in = f->child.packets_out = f->child.bytes_in = f->child.bytes_out = -1;
    f->child.installed_s = -1;
    if (!s->conn_want)
        return;
    for (size_t i = 0; s->have_conns && i < s->conns.n_conn; i++) {
        const struct conn_conf *c = &s->conns.conn[i];
        if (strcmp(c->name, s->conn_want))
            continue;
        f->conn.name = pool_str(s, c->name);
        copy_list(s, f->conn.local_addrs, &c->local_addrs);
        copy_list(s, f->conn.remote_addrs, &c->remote_addrs);
        copy_proposals(s, f->conn.ike_proposals, c->proposals);
        f->conn.dpd_delay = u64_or(&c->dpd_delay, -1);
        f->conn.dpd_timeout = u64_or(&c->dpd_timeout, -1);
        f->conn.ike_rekey_time = u64_or(&c->rekey_time, -1);
        if (c->n_child) {
            const struct child_conf *ch = &c->child[0];
            f->conn.child = pool_str(s, ch->name);
            copy_list(s, f->conn.local_ts, &ch->local_ts);
            copy_list(s, f->conn.remote_ts, &ch->remote_ts);
            copy_proposals(s, f->conn.esp_proposals, ch->esp_proposals);
            f->conn.child_rekey_time = u64_or(&ch->rekey_time, -1);
            f->conn.child_life_time = u64_or(&ch->life_time, -1);
        }
        break;
    }
    if (!f->conn.name)
        return;
    /* the established IKE SA of that connection first, else any */
    const struct ike_sa *best = NULL;
    for (size_t i = 0; s->have_sas && i < s->sas.n_ike; i++) {
        const struct ike_sa *ike = &s->sas.ike[i];
        if (strcmp(ike->name, s->conn_want))
            continue;
        if (!best || (!strcmp(ike->state, "ESTABLISHED") && strcmp(best->state, "ESTABLISHED")))
            best = ike;
    }
    if (!best)
        return;
    f->ike.state = pool_str(s, best->state);
    f->ike.local_host = pool_str(s, best->local_host);
    f->ike.remote_host = pool_str(s, best->remote_host);
    f->ike.local_port = u64_or(&best->local_port, -1);
    f->ike.remote_port = u64_or(&best->remote_port, -1);
    f->ike.nat_local = best->nat_local;
    f->ike.nat_remote = best->nat_remote;
    f->ike.proposal = pool_str(s, best->proposal);
    f->ike.established_s = u64_or(&best->established, -1);
    const struct child_sa *cbest = NULL;
    for (size_t k = 0; k < best->n_child; k++) {
        const struct child_sa *c = &best->child[k];
        if (f->conn.child && strcmp(c->name, f->conn.child))
            continue;
        if (!cbest || (!strcmp(c->state, "INSTALLED") && strcmp(cbest->state, "INSTALLED")))
            cbest = c;
    }
    if (!cbest)
        return;
    f->child.state = pool_str(s, cbest->state);
    f->child.encap = cbest->encap;
    f->child.spi_in = cbest->spi_in.known ? (uint32_t)cbest->spi_in.v : 0;
    f->child.spi_out = cbest->spi_out.known ? (uint32_t)cbest->spi_out.v : 0;
    f->child.packets_in = cbest->packets_in.known ? (int64_t)cbest->packets_in.v : -1;
    f->child.packets_out = cbest->packets_out.known ? (int64_t)cbest->packets_out.v : -1;
    f->child.bytes_in = cbest->bytes_in.known ? (int64_t)cbest->bytes_in.v : -1;
    f->child.bytes_out = cbest->bytes_out.known ? (int64_t)cbest->bytes_out.v : -1;
    f->child.proposal = pool_str(s, cbest->proposal);
    copy_list(s, f->child.local_ts, &cbest->local_ts);
    copy_list(s, f->child.remote_ts, &cbest->remote_ts);
    f->child.installed_s = u64_or(&cbest->install_time, -1);
}

static const struct child_sa *find_child(const struct sa_fact *sf, const char *conn, uint32_t spi_in)
{
    for (size_t i = 0; i < sf->n_ike; i++)
        if (!conn || !strcmp(sf->ike[i].name, conn))
            for (size_t k = 0; k < sf->ike[i].n_child; k++)
                if (sf->ike[i].child[k].spi_in.known && sf->ike[i].child[k].spi_in.v == spi_in)
                    return &sf->ike[i].child[k];
    return NULL;
}

void collect_deltas(const struct collect_side *s, int64_t *in, int64_t *out)
{
    *in = *out = -1;
    if (!s->have_sas || !s->have_sas_before || !s->f.child.state)
        return;
    const struct child_sa *now = find_child(&s->sas, s->conn_want, s->f.child.spi_in);
    const struct child_sa *then = find_child(&s->sas_before, s->conn_want, s->f.child.spi_in);
    if (!now || !then)
        return;
    if (now->packets_in.known && then->packets_in.known && now->packets_in.v >= then->packets_in.v)
        *in = (int64_t)(now->packets_in.v - then->packets_in.v);
    if (now->packets_out.known && then->packets_out.known && now->packets_out.v >= then->packets_out.v)
        *out = (int64_t)(now->packets_out.v - then->packets_out.v);
}

const char *collect_remote_host(struct collect_side *s)
{
    const char *ts = s->f.conn.remote_ts[0];
    struct cidr c;
    if (!ts || cidr_parse(ts, &c) || c.family != 4)
        return NULL;
    if (c.len < 31) { /* the first host of the subnet */
        int full = c.len / 8, rest = c.len % 8;
        for (int i = full + (rest ? 1 : 0); i < 4; i++)
            c.addr[i] = 0;
        if (rest)
            c.addr[full] &= (uint8_t)(0xff << (8 - rest));
        c.addr[3] |= 1;
    }
    return strpool_printf(&s->pool, "%u.%u.%u.%u", c.addr[0], c.addr[1], c.addr[2], c.addr[3]);
}

const char *collect_local_protected(const struct collect_side *s)
{
    const char *src = s->f.route.src;
    if (!src)
        return NULL;
    for (int i = 0; i < PF_MAX && s->f.conn.local_ts[i]; i++) {
        struct cidr a, t;
        if (!cidr_parse(s->f.conn.local_ts[i], &t) && !cidr_parse(src, &a) && cidr_contains(&t, &a))
            return src;
    }
    return NULL;
}

/* ---- small outputs ----------------------------------------------------------- */

/* ss -ulnp: "UNCONN 0 0 0.0.0.0:4500 0.0.0.0:* users:..." */
static void parse_ss(struct collect_side *s, const char *text, size_t len)
{
    const char *cur = text, *end = text + len;
    struct tline l;
    bool header = false;
    enum tri l500 = TRI_NO, l4500 = TRI_NO;
    while (next_line(&cur, end, &l)) {
        if (line_find(&l, "Local Address")) {
            header = true;
            continue;
        }
        /* the 4th column is the local address:port */
        size_t i = 0;
        int col = 0;
        while (i < l.n && col < 4) {
            while (i < l.n && isspace((unsigned char)l.p[i]))
                i++;
            size_t w = i;
            while (i < l.n && !isspace((unsigned char)l.p[i]))
                i++;
            if (++col == 4 && i > w) {
                const char *colon = NULL;
                for (size_t k = w; k < i; k++)
                    if (l.p[k] == ':')
                        colon = l.p + k;
                if (colon) {
                    size_t pl = (size_t)(l.p + i - colon - 1);
                    if (pl == 3 && !memcmp(colon + 1, "500", 3))
                        l500 = TRI_YES;
                    if (pl == 4 && !memcmp(colon + 1, "4500", 4))
                        l4500 = TRI_YES;
                }
            }
        }
    }
    if (!header) {
        collect_gap(s, 1, "ss -ulnp", "output not understood");
        return;
    }
    s->f.listen500 = l500;
    s->f.listen4500 = l4500;
}

/* strongswan.conf: charon { keep_alive = 20s } (default 20 s when not set). */
static void parse_swconf(struct collect_side *s, const char *text, size_t len)
{
    const char *cur = text, *end = text + len;
    struct tline l;
    int depth = 0, charon_depth = -1;
    long ka = 20;
    while (next_line(&cur, end, &l)) {
        size_t i = 0;
        while (i < l.n && isspace((unsigned char)l.p[i]))
            i++;
        if (i < l.n && l.p[i] == '#')
            continue;
        struct tline t = {l.p + i, l.n - i};
        if (depth == 1 && charon_depth == 1 && t.n >= 10 && !memcmp(t.p, "keep_alive", 10)) {
            const char *eq = memchr(t.p, '=', t.n);
            if (eq) {
                struct tline v = {eq + 1, (size_t)(t.p + t.n - eq - 1)};
                long n = num_after(&v, "");
                if (n >= 0)
                    ka = n;
            }
        }
        for (size_t k = 0; k < t.n; k++) {
            if (t.p[k] == '{') {
                if (depth == 0 && t.n >= 6 && !memcmp(t.p, "charon", 6) &&
                    (t.n == 6 || isspace((unsigned char)t.p[6]) || t.p[6] == '{'))
                    charon_depth = 1;
                depth++;
            } else if (t.p[k] == '}') {
                if (depth > 0)
                    depth--;
                if (depth == 0)
                    charon_depth = -1;
            }
        }
    }
    s->f.keepalive_s = (int)ka;
}

static void parse_sysctl(struct collect_side *s, const char *text, size_t len)
{
    const char *cur = text, *end = text + len;
    struct tline l;
    long v[2] = {-1, -1};
    int n = 0;
    while (n < 2 && next_line(&cur, end, &l)) {
        struct tline t = l;
        const char *eq = memchr(l.p, '=', l.n);
        if (eq)
            t = (struct tline){eq + 1, (size_t)(l.p + l.n - eq - 1)};
        v[n++] = num_after(&t, "");
    }
    s->f.udp_timeout = (int)v[0];
    s->f.udp_timeout_stream = (int)v[1];
}

/* ip -o link: "3: wan0@if2: <...> mtu 1500 qdisc ..." -> the MTU of the
 * interface the route to the peer uses (set by PROBE_ROUTE_PEER). */
static void parse_link(struct collect_side *s, const char *text, size_t len, const char *dev)
{
    const char *cur = text, *end = text + len;
    struct tline l;
    while (dev && next_line(&cur, end, &l)) {
        const char *c = memchr(l.p, ':', l.n);
        if (!c)
            continue;
        const char *name = c + 1;
        while (name < l.p + l.n && *name == ' ')
            name++;
        size_t dn = strlen(dev);
        if ((size_t)(l.p + l.n - name) > dn && !memcmp(name, dev, dn) && (name[dn] == ':' || name[dn] == '@'))
            s->f.outer_mtu = (int)num_after(&l, " mtu ");
    }
}

/* ip route get: "10.20.0.1 dev ipsec0 table 220 src 10.10.0.1 uid 0" or an error. */
static void parse_route(struct collect_side *s, const char *text, size_t len, int status, const char *errtext,
                        struct pf_route *r)
{
    if (status != 0) {
        const char *e = errtext && *errtext ? errtext : text;
        size_t n = strcspn(e, "\n");
        r->error = strpool_dup(&s->pool, e, n ? n : 0);
        if (!n)
            r->error = "ip route get failed";
        return;
    }
    const char *cur = text, *end = text + len;
    struct tline l;
    if (next_line(&cur, end, &l)) {
        r->dev = word_after(s, &l, "dev");
        r->via = word_after(s, &l, "via");
        r->src = word_after(s, &l, "src");
        if (line_find(&l, "unreachable") || line_find(&l, "prohibit") || line_find(&l, "blackhole"))
            r->error = strpool_dup(&s->pool, l.p, l.n);
    }
}

/* charon's log: counts of the telling lines and a few of them. */
static void parse_log(struct collect_side *s, const char *text, size_t len, bool window)
{
    struct pf_logs *g = &s->f.logs;
    memset(g, 0, sizeof *g);
    g->known = true;
    const char *cur = text, *end = text + len;
    struct tline l;
    int nl = 0;
    while (next_line(&cur, end, &l)) {
        bool keep = false;
        if (line_find(&l, "TS_UNACCEPTABLE")) {
            g->ts_unacceptable++;
            keep = true;
        }
        if (line_find(&l, "NO_PROPOSAL_CHOSEN")) {
            g->no_proposal_chosen++;
            keep = true;
        }
        if (line_find(&l, "AUTHENTICATION_FAILED")) {
            g->auth_failed++;
            keep = true;
        }
        if (line_find(&l, "giving up after") || (line_find(&l, "DPD") && line_find(&l, "dead"))) {
            g->dpd_dead++;
            keep = true;
        }
        if (line_find(&l, "IKE_SA") && line_find(&l, "established between"))
            g->ike_established++;
        if (line_find(&l, "CHILD_SA") && line_find(&l, "established with SPIs"))
            g->child_established++;
        if (line_find(&l, "retransmit ") && line_find(&l, "of request"))
            g->retransmits++;
        if (keep && nl < PF_MAX_LOG - 1) {
            g->lines[nl++] = strpool_dup(&s->pool, l.p, l.n > 200 ? 200 : l.n);
        }
    }
    (void)window;
}

int collect_ping_result(int status, const char *text, size_t len, int *mtu)
{
    *mtu = -1;
    const char *cur = text, *end = text + len;
    struct tline l;
    int r = status == 0 ? 1 : 0;
    while (next_line(&cur, end, &l)) {
        long m = -1;
        if (line_find(&l, "essage too long")) { /* "local error: message too long, mtu=N", "sendmsg: Message too long" */
            m = num_after(&l, "mtu=");
            if (m <= 0 && r == 0)
                r = 3;
        } else if (line_find(&l, "Frag needed")) {
            m = num_after(&l, "mtu = ");
        }
        if (m > 0 && r != 2) { /* an ICMP "fragmentation needed" outranks the local error */
            *mtu = (int)m;
            if (r != 1)
                r = line_find(&l, "essage too long") ? 3 : 2;
        }
    }
    return r;
}

/* ---- firewall ------------------------------------------------------------- */

static void fw_rule_add(struct collect_side *s, enum pf_nat_action a, const struct tline *l, const char *src,
                        const char *dst, const char *oif, bool ipsec_none)
{
    struct pf_firewall *fw = &s->f.fw;
    if (fw->n_nat >= PF_MAX_RULES)
        return;
    size_t i = 0;
    while (i < l->n && isspace((unsigned char)l->p[i]))
        i++;
    fw->nat[fw->n_nat++] = (struct pf_nat_rule){a, src, dst, oif, ipsec_none,
                                                strpool_dup(&s->pool, l->p + i, l->n - i)};
}

static const char *unquote(struct collect_side *s, const char *w)
{
    if (!w)
        return NULL;
    size_t n = strlen(w);
    if (n >= 2 && w[0] == '"' && w[n - 1] == '"')
        return strpool_dup(&s->pool, w + 1, n - 2);
    return w;
}

static void parse_nft(struct collect_side *s, const char *text, size_t len)
{
    struct pf_firewall *fw = &s->f.fw;
    const char *cur = text, *end = text + len;
    struct tline l;
    bool in_nat_post = false;
    int depth = 0, chain_depth = -1;
    while (next_line(&cur, end, &l)) {
        for (size_t k = 0; k < l.n; k++)
            if (l.p[k] == '{')
                depth++;
        if (line_find(&l, "chain ") && memchr(l.p, '{', l.n)) {
            chain_depth = depth;
            in_nat_post = false;
        }
        if (line_find(&l, "type nat hook postrouting"))
            in_nat_post = true;
        if (line_find(&l, "maxseg size set")) {
            fw->mss_clamp = TRI_YES;
            long v = num_after(&l, "maxseg size set ");
            fw->mss_value = v > 0 ? (int)v : -1;
        }
        if (line_find(&l, "drop") && (line_find(&l, "protocol esp") || line_find(&l, "l4proto esp")))
            fw->drop_esp = strpool_dup(&s->pool, l.p, l.n);
        if (in_nat_post && !line_find(&l, "type nat") && !line_find(&l, "chain ")) {
            bool snat = line_find(&l, "snat ") != NULL, masq = line_find(&l, "masquerade") != NULL;
            bool exempt = line_find(&l, "accept") || line_find(&l, "return") || line_find(&l, "ipsec exists");
            if (snat || masq || exempt) {
                const char *src = word_after(s, &l, "saddr"), *dst = word_after(s, &l, "daddr");
                const char *oif = unquote(s, word_after(s, &l, "oifname"));
                bool none = line_find(&l, "ipsec missing") != NULL;
                fw_rule_add(s, snat ? PF_NAT_SNAT : masq ? PF_NAT_MASQUERADE : PF_NAT_EXEMPT, &l, src, dst, oif,
                            none);
            }
        }
        for (size_t k = 0; k < l.n; k++)
            if (l.p[k] == '}') {
                if (depth == chain_depth)
                    in_nat_post = false;
                if (depth > 0)
                    depth--;
            }
    }
    fw->known = true;
    fw->source = "nft list ruleset";
    if (fw->mss_clamp == TRI_UNKNOWN)
        fw->mss_clamp = TRI_NO;
}

static void parse_ipt(struct collect_side *s, const char *text, size_t len)
{
    struct pf_firewall *fw = &s->f.fw;
    const char *cur = text, *end = text + len;
    struct tline l;
    bool nat = false;
    while (next_line(&cur, end, &l)) {
        if (l.n && l.p[0] == '*') {
            nat = l.n == 4 && !memcmp(l.p, "*nat", 4);
            continue;
        }
        if (line_find(&l, "-j TCPMSS")) {
            fw->mss_clamp = TRI_YES;
            long v = num_after(&l, "--set-mss ");
            fw->mss_value = v > 0 ? (int)v : -1;
        }
        if (line_find(&l, "-p esp") && line_find(&l, "-j DROP"))
            fw->drop_esp = strpool_dup(&s->pool, l.p, l.n);
        if (!nat || l.n < 3 || memcmp(l.p, "-A ", 3) || line_find(&l, "-A PREROUTING") ||
            line_find(&l, "-A OUTPUT") || line_find(&l, "-A INPUT"))
            continue;
        bool snat = line_find(&l, "-j SNAT") != NULL, masq = line_find(&l, "-j MASQUERADE") != NULL;
        bool exempt = line_find(&l, "-j ACCEPT") || line_find(&l, "-j RETURN");
        if (!snat && !masq && !exempt)
            continue;
        const char *src = word_after(s, &l, "-s"), *dst = word_after(s, &l, "-d"), *oif = word_after(s, &l, "-o");
        bool ipsec = line_find(&l, "--pol ipsec") != NULL, none = line_find(&l, "--pol none") != NULL;
        if (exempt && ipsec)
            src = dst = NULL;
        fw_rule_add(s, snat ? PF_NAT_SNAT : masq ? PF_NAT_MASQUERADE : PF_NAT_EXEMPT, &l, src, dst, oif, none);
    }
    if (!fw->known) {
        fw->known = true;
        fw->source = "iptables-save";
    }
    if (fw->mss_clamp == TRI_UNKNOWN)
        fw->mss_clamp = TRI_NO;
}

/* ---- entry ----------------------------------------------------------------- */

void collect_parse(struct collect_side *s, enum probe_kind k, int status, int err_code, const char *text,
                   size_t len, const char *errtext)
{
    const struct probe_spec *ps = collect_probe(k);
    if (!text)
        text = "", len = 0;
    bool ran = err_code == ERR_NONE;
    switch (k) {
    case PROBE_SUDO:
        s->f.sudo = ran && status == 0 ? TRI_YES : err_code == ERR_SUDO || status != 0 ? TRI_NO : TRI_UNKNOWN;
        return;
    case PROBE_SAS:
    case PROBE_SAS_AFTER: {
        s->sas_ran = true;
        if (!ran || status != 0) {
            if (status == 127 || err_code == ERR_NOT_FOUND)
                s->f.daemon = NULL;
            else if (err_code == ERR_NONE && errtext && strstr(errtext, "connecting to"))
                s->f.daemon = NULL; /* swanctl present, charon not answering */
            else
                collect_gap(s, ps->step, ps->what, reason_of(status, err_code, errtext));
            return;
        }
        struct sa_fact sf = {0};
        struct err e = {0};
        if (swanctl_parse_sas_raw(text, len, &sf, &e) != 0) {
            collect_gap(s, ps->step, ps->what, e.msg);
            return;
        }
        if (k == PROBE_SAS_AFTER && s->have_sas) {
            sa_fact_free(&s->sas_before);
            s->sas_before = s->sas;
            s->have_sas_before = true;
        } else if (k == PROBE_SAS_AFTER) {
            s->have_sas_before = false;
        }
        if (k == PROBE_SAS || !s->have_sas_before)
            sa_fact_free(&s->sas);
        else
            memset(&s->sas, 0, sizeof s->sas);
        s->sas = sf;
        s->have_sas = true;
        s->f.daemon = "strongswan";
        return;
    }
    case PROBE_CONNS: {
        if (!ran || status != 0) {
            if (!(status == 127 || err_code == ERR_NOT_FOUND || (errtext && strstr(errtext, "connecting to"))))
                collect_gap(s, ps->step, ps->what, reason_of(status, err_code, errtext));
            return;
        }
        struct conn_fact cf = {0};
        struct err e = {0};
        if (swanctl_parse_conns_raw(text, len, &cf, &e) != 0) {
            collect_gap(s, ps->step, ps->what, e.msg);
            return;
        }
        conn_fact_free(&s->conns);
        s->conns = cf;
        s->have_conns = true;
        return;
    }
    default:
        break;
    }
    if (k == PROBE_PING || k == PROBE_LINK)
        goto parse; /* their failures are results */
    if (!ran || (status != 0 && k != PROBE_ROUTE_TS && k != PROBE_ROUTE_PEER && k != PROBE_LOG &&
                 k != PROBE_LOG_NEW)) {
        collect_gap(s, ps->step, ps->what, reason_of(status, err_code, errtext));
        return;
    }
parse:
    switch (k) {
    case PROBE_SS:
        parse_ss(s, text, len);
        break;
    case PROBE_SWCONF:
        parse_swconf(s, text, len);
        break;
    case PROBE_SYSCTL:
        parse_sysctl(s, text, len);
        break;
    case PROBE_NFT:
        parse_nft(s, text, len);
        break;
    case PROBE_IPT:
        parse_ipt(s, text, len);
        break;
    case PROBE_LOG:
        parse_log(s, text, len, false);
        s->f.logs.window_s = -1;
        break;
    case PROBE_LOG_NEW:
        parse_log(s, text, len, true);
        break;
    case PROBE_ROUTE_TS:
        parse_route(s, text, len, status, errtext, &s->f.route);
        break;
    default:
        break;
    }
}

void collect_link_mtu(struct collect_side *s, const char *text, size_t len, const char *dev)
{
    parse_link(s, text, len, dev);
}
