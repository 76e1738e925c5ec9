#include "playbook/collect.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "playbook/cidr.h"
#include "probes/daemonlog.h"
#include "probes/firewall.h"
#include "probes/netstate.h"
#include "probes/ping.h"
#include "probes/swanctl.h"
#include "probes/textscan.h"
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
    /* Libreswan: only where `ipsec` is Libreswan's (strongSwan's starter also
     * installs an `ipsec`); exit 127 elsewhere, as a missing tool */
    [PROBE_LSW_STATUS] = {PROBE_LSW_STATUS, 1, "ipsec whack --status",
     "if ipsec --version 2>/dev/null | grep -q Libreswan; then ipsec whack --status; "
     "else echo 'no Libreswan ipsec'; exit 127; fi",
     true},
    [PROBE_LSW_TRAFFIC] = {PROBE_LSW_TRAFFIC, 1, "ipsec whack --trafficstatus",
     "if ipsec --version 2>/dev/null | grep -q Libreswan; then ipsec whack --trafficstatus; "
     "else echo 'no Libreswan ipsec'; exit 127; fi",
     true},
    /* pluto writes to the logfile= of config setup when set, else to syslog
     * (the journal of ipsec.service) */
    [PROBE_LSW_LOG] = {PROBE_LSW_LOG, 1, "pluto log (last 400 lines)",
     "if ipsec --version 2>/dev/null | grep -q Libreswan; then "
     "f=$(sed -n 's/^[[:space:]]*logfile[[:space:]]*=[[:space:]]*//p' \"${IPSEC_CONF:-/etc/ipsec.conf}\" "
     "2>/dev/null | tail -n 1 | tr -d '\"'); if [ -n \"$f\" ] && [ -r \"$f\" ]; then tail -n 400 \"$f\"; "
     "else journalctl -q --no-pager -n 400 -u ipsec 2>/dev/null; fi; "
     "else echo 'no Libreswan ipsec'; exit 127; fi",
     true},
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

static void drop_strongswan_gaps(struct collect_side *s);

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
    if (s->lsw_state == LSW_RUNNING)
        drop_strongswan_gaps(s); /* the strongswan.conf probe may have answered after ipsec status */
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
        if (s->lsw_state == LSW_RUNNING && i < s->n_lsw_x && s->lsw_x[i].keepalive.known)
            f->keepalive_s = u64_or(&s->lsw_x[i].keepalive, -1);
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
        else if (s->lsw_state == LSW_RUNNING && !strcmp(ike->state, best->state) && ike->uniqueid.known &&
                 best->uniqueid.known && ike->uniqueid.v > best->uniqueid.v)
            best = ike; /* Libreswan keeps the replaced IKE SA listed until it expires: the newest */
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
        else if (s->lsw_state == LSW_RUNNING && !strcmp(c->state, cbest->state) && c->uniqueid.known &&
                 cbest->uniqueid.known && c->uniqueid.v > cbest->uniqueid.v)
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

/* ---- what the rules need from the probes' facts ------------------------------ */

/* ss -ulnp (probes/netstate.h): is anything bound to 500 and 4500.  Output
 * not understood is a gap; the facts known before stay. */
static void from_ss(struct collect_side *s, const char *text, size_t len)
{
    struct udp_listen_fact *u = malloc(sizeof *u);
    struct err e = {0};
    if (!u) {
        collect_gap(s, 1, "ss -ulnp", "out of memory");
        return;
    }
    if (ss_parse_udp(text, len, u, &e) != 0) {
        collect_gap(s, 1, "ss -ulnp", e.msg);
    } else {
        s->f.listen500 = udp_listen_count(u, 500, NULL) ? TRI_YES : TRI_NO;
        s->f.listen4500 = udp_listen_count(u, 4500, NULL) ? TRI_YES : TRI_NO;
    }
    free(u);
}

/* strongswan.conf: charon { keep_alive = 20s } (default 20 s when not set).
 * Only the top-level charon section counts. */
static void from_swconf(struct collect_side *s, const char *text, size_t len)
{
    struct span all = {text, len}, line;
    int depth = 0;
    bool in_charon = false;
    long ka = 20;
    while (span_line(&all, &line)) {
        span_trim(&line);
        if (line.len && line.p[0] == '#')
            continue;
        if (depth == 1 && in_charon && span_starts(line, "keep_alive")) {
            const char *eq = memchr(line.p, '=', line.len);
            /* no '=': an empty value (never eq + 1 on NULL) */
            struct span v = {eq ? eq + 1 : line.p, eq ? (size_t)(line.p + line.len - eq - 1) : 0}, w;
            struct opt_u64 n = {0};
            if (eq && span_word(&v, &w)) {
                size_t d = 0;
                while (d < w.len && d < 9 && w.p[d] >= '0' && w.p[d] <= '9')
                    d++;
                if (d && span_u64((struct span){w.p, d}, &n) == 0) /* "20s", "20" */
                    ka = (long)n.v;
            }
        }
        for (size_t k = 0; k < line.len; k++) {
            if (line.p[k] == '{') {
                if (depth == 0 && span_starts(line, "charon") &&
                    (line.len == 6 || line.p[6] == ' ' || line.p[6] == '\t' || line.p[6] == '{'))
                    in_charon = true;
                depth++;
            } else if (line.p[k] == '}') {
                if (depth > 0)
                    depth--;
                if (depth == 0)
                    in_charon = false;
            }
        }
    }
    s->f.keepalive_s = (int)ka;
}

static int opt_int(const struct opt_u64 *o)
{
    return o->known && o->v <= 0x7fffffff ? (int)o->v : -1;
}

/* sysctl -n of the two conntrack UDP timeouts (probes/netstate.h); never an
 * invented number: what cannot be read is -1. */
static void from_sysctl(struct collect_side *s, const char *text, size_t len)
{
    struct ct_timeout_fact ct;
    struct err e = {0};
    if (sysctl_parse_ct_timeouts(text, len, &ct, &e) != 0)
        memset(&ct, 0, sizeof ct);
    s->f.udp_timeout = opt_int(&ct.udp_timeout);
    s->f.udp_timeout_stream = opt_int(&ct.udp_timeout_stream);
}

/* The first line of a command's answer, as it printed it (evidence). */
static const char *first_line(struct collect_side *s, const char *text)
{
    size_t n = strcspn(text, "\n");
    return n ? strpool_dup(&s->pool, text, n) : NULL;
}

/* ip route get (probes/netstate.h): dev, via, src, or the error as printed. */
static void from_route(struct collect_side *s, const char *text, size_t len, int status, const char *errtext,
                       struct pf_route *r)
{
    if (status != 0) {
        r->error = first_line(s, errtext && *errtext ? errtext : text);
        if (!r->error)
            r->error = "ip route get failed";
        return;
    }
    struct route_fact rf;
    struct err e = {0};
    if (route_parse_get(text, len, &rf, &e) != 0) {
        r->error = strpool_printf(&s->pool, "%s", e.msg);
        return;
    }
    r->dev = pool_str(s, rf.dev);
    r->via = pool_str(s, rf.via);
    r->src = pool_str(s, rf.src);
    if (!rf.ok || !strcmp(rf.type, "unreachable") || !strcmp(rf.type, "prohibit") ||
        !strcmp(rf.type, "blackhole"))
        r->error = first_line(s, text);
}

/* The daemon's log (probes/daemonlog.h): counts of the telling events and a
 * few of them.  A log that is no charon/pluto log is a gap, not a quiet log. */
static void from_log(struct collect_side *s, enum probe_kind k, const char *text, size_t len)
{
    struct pf_logs *g = &s->f.logs;
    memset(g, 0, sizeof *g);
    struct log_fact lf;
    struct err e = {0};
    if (daemonlog_parse(text, len, &lf, &e) != 0) {
        const struct probe_spec *ps = collect_probe(k);
        collect_gap(s, ps->step, ps->what, e.msg);
        return;
    }
    g->known = true;
    g->ts_unacceptable = (int)lf.count[LOG_TS_UNACCEPTABLE];
    g->no_proposal_chosen = (int)lf.count[LOG_NO_PROPOSAL];
    g->auth_failed = (int)lf.count[LOG_AUTH_FAILED];
    g->ike_established = (int)lf.count[LOG_IKE_ESTABLISHED];
    g->child_established = (int)lf.count[LOG_CHILD_ESTABLISHED];
    g->retransmits = (int)lf.count[LOG_RETRANSMIT];
    g->dpd_dead = (int)lf.count[LOG_GIVE_UP];
    int nl = 0;
    for (size_t i = 0; i < lf.n; i++) {
        const struct log_event *ev = &lf.ev[i];
        bool dead = ev->kind == LOG_DPD && strstr(ev->msg, "DPD") && strstr(ev->msg, "dead");
        if (dead)
            g->dpd_dead++;
        bool keep = dead || ev->kind == LOG_GIVE_UP || ev->kind == LOG_TS_UNACCEPTABLE ||
                    ev->kind == LOG_NO_PROPOSAL || ev->kind == LOG_AUTH_FAILED;
        if (keep && nl < PF_MAX_LOG - 1)
            g->lines[nl++] = ev->conn[0] ? strpool_printf(&s->pool, "%s%s<%s> %s", ev->time, ev->time[0] ? " " : "",
                                                          ev->conn, ev->msg)
                                         : strpool_printf(&s->pool, "%s%s%s", ev->time, ev->time[0] ? " " : "",
                                                          ev->msg);
    }
    log_fact_free(&lf);
}

int collect_ping_result(int status, const char *text, size_t len, int *mtu)
{
    *mtu = -1;
    struct ping_fact p;
    struct err e = {0};
    if (ping_parse(text, len, &p, &e) != 0)
        return status == 0 ? 1 : 0;
    if (status == 0)
        return 1;
    if (p.frag_needed_mtu.known && p.frag_needed_mtu.v > 0) { /* an ICMP "fragmentation needed" outranks the local error */
        *mtu = opt_int(&p.frag_needed_mtu);
        return 2;
    }
    if (p.local_error_mtu.known && p.local_error_mtu.v > 0) {
        *mtu = opt_int(&p.local_error_mtu);
        return 3;
    }
    if (strstr(p.error, "essage too long")) /* "sendmsg: Message too long": no MTU named */
        return 3;
    return 0;
}

/* ---- firewall --------------------------------------------------------------- */

static const char *cidr_or_null(struct collect_side *s, const char *v)
{
    return v[0] ? strpool_dup(&s->pool, v, strlen(v)) : NULL;
}

static const struct fw_chain *chain_of(const struct fw_fact *ff, const struct fw_rule *r)
{
    for (size_t i = 0; i < ff->n_chain; i++)
        if (!strcmp(ff->chain[i].family, r->family) && !strcmp(ff->chain[i].table, r->table) &&
            !strcmp(ff->chain[i].name, r->chain))
            return &ff->chain[i];
    return NULL;
}

/* A rule of the postrouting NAT path: nft, the rules of a nat base chain on
 * the postrouting hook; iptables, the nat table's POSTROUTING and user chains. */
static bool nat_postrouting(const struct fw_fact *ff, const struct fw_rule *r)
{
    if (ff->source == FW_SRC_IPTABLES)
        return !strcmp(r->table, "nat") && strcmp(r->chain, "PREROUTING") && strcmp(r->chain, "OUTPUT") &&
               strcmp(r->chain, "INPUT");
    const struct fw_chain *c = chain_of(ff, r);
    return c && !strcmp(c->type, "nat") && !strcmp(c->hook, "postrouting");
}

/* Appends what the rules need of a parsed ruleset (nft and iptables-save
 * both add to the same facts: iptables-nft shows in both). */
static void from_fw(struct collect_side *s, const struct fw_fact *ff)
{
    struct pf_firewall *fw = &s->f.fw;
    for (size_t i = 0; i < ff->n_rule; i++) {
        const struct fw_rule *r = &ff->rule[i];
        if (r->mss_clamp_pmtu || r->mss_set.known) {
            fw->mss_clamp = TRI_YES;
            fw->mss_value = r->mss_set.known && r->mss_set.v > 0 ? opt_int(&r->mss_set) : -1;
        }
        if ((r->match & FW_M_ESP) && r->verdict == FW_DROP)
            fw->drop_esp = pool_str(s, r->text);
        if (!nat_postrouting(ff, r))
            continue;
        bool in_policy = r->match & FW_M_IPSEC_IN_POLICY;
        enum pf_nat_action a;
        if (r->verdict == FW_SNAT)
            a = PF_NAT_SNAT;
        else if (r->verdict == FW_MASQUERADE)
            a = PF_NAT_MASQUERADE;
        else if (r->verdict == FW_ACCEPT || r->verdict == FW_RETURN || in_policy)
            a = PF_NAT_EXEMPT;
        else
            continue;
        if (fw->n_nat >= PF_MAX_RULES)
            continue;
        bool any = a == PF_NAT_EXEMPT && in_policy && ff->source == FW_SRC_IPTABLES; /* -m policy --pol ipsec */
        fw->nat[fw->n_nat++] = (struct pf_nat_rule){a,
                                                    any ? NULL : cidr_or_null(s, r->saddr),
                                                    any ? NULL : cidr_or_null(s, r->daddr),
                                                    cidr_or_null(s, r->oif),
                                                    (r->match & FW_M_IPSEC_NO_POLICY) != 0,
                                                    pool_str(s, r->text)};
    }
    if (!fw->known) {
        fw->known = true;
        fw->source = ff->source == FW_SRC_NFT ? "nft list ruleset" : "iptables-save";
    }
    if (fw->mss_clamp == TRI_UNKNOWN)
        fw->mss_clamp = TRI_NO;
}

static void parse_fw(struct collect_side *s, enum probe_kind k, const char *text, size_t len)
{
    struct fw_fact ff;
    struct err e = {0};
    int rc = k == PROBE_NFT ? nft_parse_ruleset(text, len, &ff, &e) : iptables_parse_save(text, len, &ff, &e);
    if (rc != 0) {
        const struct probe_spec *ps = collect_probe(k);
        collect_gap(s, ps->step, ps->what, e.msg);
        return;
    }
    from_fw(s, &ff);
    fw_fact_free(&ff);
}

/* ---- Libreswan ------------------------------------------------------------- */

/* The probes a strongSwan peer needs and a Libreswan one does not run: their
 * failures are no gap there. */
static void drop_strongswan_gaps(struct collect_side *s)
{
    int w = 0;
    for (int i = 0; i < s->f.n_gaps; i++) {
        const char *p = s->f.gaps[i].probe;
        if (!strcmp(p, probes[PROBE_SAS].what) || !strcmp(p, probes[PROBE_CONNS].what) ||
            !strcmp(p, probes[PROBE_SWCONF].what))
            continue;
        s->f.gaps[w++] = s->f.gaps[i];
    }
    s->f.n_gaps = w;
}

/* "name[3]" -> length of "name" when the text ends in "[digits]", else 0. */
static size_t instance_base(const char *name)
{
    size_t n = strlen(name);
    if (n < 4 || name[n - 1] != ']')
        return 0;
    size_t i = n - 1;
    while (i > 0 && name[i - 1] >= '0' && name[i - 1] <= '9')
        i--;
    return i > 1 && i < n - 1 && name[i - 1] == '[' ? i - 1 : 0;
}

/* A responder's Libreswan lists a template ("west-east", remote %any) and
 * an instance per peer ("west-east[1]", remote the peer's address as seen).
 * Discovery, --conn and the rules speak of the connection as configured:
 * the SAs of an instance are given the template's name, and the instance's
 * own entry is dropped when the template is listed (its SAs already carry
 * the peer's address and the narrowed selectors). */
static void fold_instances(struct sa_fact *sas, struct conn_fact *conns, struct libreswan_conn_x *x)
{
    for (size_t i = 0; i < sas->n_ike; i++) {
        struct ike_sa *ike = &sas->ike[i];
        size_t b = instance_base(ike->name);
        if (!b)
            continue;
        ike->name[b] = '\0';
        for (size_t k = 0; k < ike->n_child; k++)
            if (!strncmp(ike->child[k].name, ike->name, b) && instance_base(ike->child[k].name) == b)
                ike->child[k].name[b] = '\0';
    }
    size_t w = 0;
    for (size_t i = 0; i < conns->n_conn; i++) {
        size_t b = instance_base(conns->conn[i].name);
        bool tmpl = false;
        for (size_t k = 0; b && k < conns->n_conn; k++)
            if (strlen(conns->conn[k].name) == b && !strncmp(conns->conn[k].name, conns->conn[i].name, b))
                tmpl = true;
        if (tmpl) {
            free(conns->conn[i].child);
            continue;
        }
        if (b) { /* an instance without its template: named as the connection */
            conns->conn[i].name[b] = '\0';
            for (size_t k = 0; k < conns->conn[i].n_child; k++)
                if (instance_base(conns->conn[i].child[k].name) == b)
                    conns->conn[i].child[k].name[b] = '\0';
        }
        x[w] = x[i];
        conns->conn[w++] = conns->conn[i];
    }
    conns->n_conn = w;
}

/* `ipsec whack --status` / `--trafficstatus`: the SAs and connections of a
 * Libreswan peer go where swanctl's go (sas, conns), so that discovery,
 * selection and the rules need nothing of their own.  A peer that answers
 * both (strongSwan and Libreswan installed and running) is taken as
 * strongSwan. */
static void collect_libreswan(struct collect_side *s, enum probe_kind k, int status, int err_code, const char *text,
                              size_t len, const char *errtext)
{
    const struct probe_spec *ps = collect_probe(k);
    struct err e = {0};
    if (err_code == ERR_NONE && status == 127) {
        if (k == PROBE_LSW_STATUS)
            s->lsw_state = LSW_ABSENT;
        return;
    }
    if (err_code != ERR_NONE || status != 0) {
        const char *all = errtext && *errtext ? errtext : text;
        if (err_code == ERR_NONE && all && (strstr(all, "Pluto is not running") || strstr(all, "pluto.ctl"))) {
            if (k == PROBE_LSW_STATUS) {
                s->lsw_state = LSW_NOT_RUNNING;
                if (!s->f.daemon)
                    collect_gap(s, 1, ps->what, "Libreswan is installed but pluto is not running");
            }
            return;
        }
        if (s->f.daemon && !strcmp(s->f.daemon, "strongswan"))
            return;
        collect_gap(s, ps->step, ps->what, reason_of(status, err_code, errtext));
        return;
    }
    if (s->f.daemon && !strcmp(s->f.daemon, "strongswan"))
        return;
    if (k == PROBE_LSW_TRAFFIC) {
        struct sa_fact tf = {0};
        if (libreswan_parse_trafficstatus(text, len, &tf, &e) != 0) {
            collect_gap(s, ps->step, ps->what, e.msg);
            return;
        }
        if (s->lsw_state == LSW_RUNNING && s->have_sas) {
            struct conn_fact none = {0};
            fold_instances(&tf, &none, NULL);
            libreswan_merge_traffic(&s->sas, &tf);
        }
        sa_fact_free(&tf);
        return;
    }
    struct libreswan_status st;
    if (libreswan_parse_status(text, len, &st, &e) != 0) {
        collect_gap(s, ps->step, ps->what, e.msg);
        return;
    }
    s->lsw_state = LSW_RUNNING;
    s->f.daemon = "libreswan";
    fold_instances(&st.sas, &st.conns, st.x);
    sa_fact_free(&s->sas);
    conn_fact_free(&s->conns);
    s->sas = st.sas;
    s->conns = st.conns;
    s->have_sas = s->have_conns = s->sas_ran = true;
    memset(&st.sas, 0, sizeof st.sas);
    memset(&st.conns, 0, sizeof st.conns);
    /* the per-connection extras live in the pool (freed with the side) */
    s->n_lsw_x = s->conns.n_conn;
    s->lsw_x = s->n_lsw_x ? (const struct libreswan_conn_x *)(const void *)strpool_dup(
                                &s->pool, (const char *)st.x, s->n_lsw_x * sizeof *st.x)
                          : NULL;
    if (!s->lsw_x)
        s->n_lsw_x = 0;
    if (st.keepalive.known)
        s->f.keepalive_s = u64_or(&st.keepalive, -1);
    libreswan_status_free(&st);
    drop_strongswan_gaps(s);
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
            if (s->lsw_state == LSW_RUNNING)
                return; /* a Libreswan peer: no swanctl is expected */
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
            if (s->lsw_state == LSW_RUNNING)
                return;
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
    case PROBE_LSW_STATUS:
    case PROBE_LSW_TRAFFIC:
        collect_libreswan(s, k, status, err_code, text, len, errtext);
        return;
    case PROBE_LSW_LOG:
        /* exit 127: no Libreswan; a strongSwan peer's log is charon's */
        if ((ran && status == 127) || (s->f.daemon && !strcmp(s->f.daemon, "strongswan")))
            return;
        if (!ran || status != 0) {
            if (s->lsw_state == LSW_RUNNING)
                collect_gap(s, ps->step, ps->what, reason_of(status, err_code, errtext));
            return;
        }
        from_log(s, k, text, len);
        s->f.logs.window_s = -1;
        s->lsw_log = s->f.logs.known;
        return;
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
        from_ss(s, text, len);
        break;
    case PROBE_SWCONF:
        from_swconf(s, text, len);
        break;
    case PROBE_SYSCTL:
        from_sysctl(s, text, len);
        break;
    case PROBE_NFT:
    case PROBE_IPT:
        parse_fw(s, k, text, len);
        break;
    case PROBE_LOG:
        if (s->lsw_log)
            break; /* a Libreswan peer: pluto's log is read, charon's journal is empty */
        from_log(s, k, text, len);
        s->f.logs.window_s = -1;
        break;
    case PROBE_LOG_NEW:
        from_log(s, k, text, len);
        break;
    case PROBE_ROUTE_TS:
        from_route(s, text, len, status, errtext, &s->f.route);
        break;
    default:
        break;
    }
}

void collect_link_mtu(struct collect_side *s, const char *text, size_t len, const char *dev)
{
    struct link_fact *lf = malloc(sizeof *lf);
    struct err e = {0};
    if (!dev || !lf || link_parse(text, len, lf, &e) != 0) {
        free(lf);
        return;
    }
    const struct link_info *li = link_find(lf, dev);
    if (li && li->mtu.known)
        s->f.outer_mtu = li->mtu.v > 0x7fffffff ? -1 : (int)li->mtu.v;
    free(lf);
}
