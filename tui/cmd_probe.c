/* tunnelscope probe PEER: collects every per-peer fact (probes/probe.h) and
 * prints them as plain "key value" lines, one fact per line, made
 * terminal-safe.  For a look at one gateway, and for the lab tests. */
#include "tui/cmds.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probes/probe.h"
#include "remote/peer.h"
#include "tui/exitcodes.h"
#include "tui/safe_text.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: tunnelscope probe [OPTIONS] PEER\n"
            "\n"
            "Runs every probe on PEER (swanctl, Libreswan's ipsec whack --status and\n"
            "--trafficstatus, ip xfrm, xfrm_stat, ss, nft, iptables-save, conntrack,\n"
            "sysctl, ip link, the daemon log, ip route get) and prints the facts as\n"
            "'key value' lines.  The 'daemon' line says which IKE daemon answered\n"
            "(strongswan, libreswan, none); the other daemon's probes are then\n"
            "'other-daemon'.  Commands needing root run through sudo -n.\n"
            "\n"
            "Options:\n"
            "  -F SSH_CONFIG          ssh config file\n"
            "  --known-hosts FILE     known_hosts file\n"
            "  --accept-new-hostkey   accept and record a host key seen for the first time\n"
            "  --no-sudo              run every command without sudo\n"
            "  --route-to ADDR        a protected host behind the other gateway\n"
            "  --route-from ADDR      a protected address of this gateway\n"
            "  --log-file FILE        the daemon's log file (default: Libreswan's logfile=\n"
            "                         of /etc/ipsec.conf when set, else the journal)\n"
            "  --ping                 ping ROUTE-TO from ROUTE-FROM through the tunnel\n"
            "  --df-sweep             find the largest DF ping that passes (binary search)\n"
            "  --raw                  also print each probe's command line and exit status\n"
            "  --no-netlink           PEER local: XFRM states/policies from the ip commands\n"
            "                         instead of netlink dumps (the 'xfrm-source' line says\n"
            "                         which source gave them)\n"
            "  -h, --help             this help\n"
            "\n"
            "Exit status: 0 every probe gave its fact (the other daemon's aside); 1 some\n"
            "probe did not (see the 'probe' lines); 3 the peer could not be reached;\n"
            "64 bad command line.\n");
}

static void put(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void put(const char *fmt, ...)
{
    struct buf raw = BUF_INIT, safe = BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&raw, fmt, ap);
    va_end(ap);
    safe_text(raw.data ? raw.data : "", raw.len, 0, &safe);
    printf("%s\n", safe.data ? safe.data : "");
    buf_free(&raw);
    buf_free(&safe);
}

static const char *u(struct opt_u64 o, char *b, size_t n)
{
    return opt_u64_text(o, OPT_FMT_DEC, "unknown", b, n);
}

static const char *hx(struct opt_u64 o, char *b, size_t n)
{
    return opt_u64_text(o, OPT_FMT_HEX8, "unknown", b, n);
}

static void ts(const struct ts_list *l, char *b, size_t n)
{
    size_t used = 0;
    b[0] = '\0';
    for (size_t i = 0; i < l->n && used < n; i++) {
        int w = snprintf(b + used, n - used, "%s%s", i ? "," : "", l->item[i]);
        if (w < 0)
            break;
        used += (size_t)w;
    }
    if (!l->n)
        snprintf(b, n, "-");
}

static void print_facts(const struct peer_facts *f, int raw)
{
    char a[32], b[32], c[32], d[32], t1[256], t2[256];
    put("peer %s", f->peer);
    for (int id = 0; id < PROBE_COUNT; id++) {
        const struct probe_raw *r = &f->raw[id];
        if (r->status == PROBE_OK)
            put("probe %s ok", r->name);
        else if (r->status == PROBE_OTHER_DAEMON)
            put("probe %s other-daemon (%s)", r->name, r->err.msg);
        else
            put("probe %s %s %s", r->name, probe_status_name(r->status), r->err.msg);
        if (raw)
            put("probe-line %s exit=%d %s", r->name, r->exit_status, r->line ? r->line : "");
    }
    put("daemon %s", daemon_kind_name(f->daemon));
    if (f->raw[PROBE_LSW_STATUS].status == PROBE_OK) {
        const struct libreswan_status *l = &f->lsw;
        put("libreswan version %s nat-traversal %s keep-alive %s listen-500 %s listen-4500 %s",
            l->version[0] ? l->version : "unknown", tri_name(l->nat_traversal),
            u(l->keepalive, a, sizeof a), tri_name(l->listen500), tri_name(l->listen4500));
        const struct conn_fact *lc = f->daemon == DAEMON_LIBRESWAN ? &f->conns : &l->conns;
        for (size_t i = 0; i < lc->n_conn && l->x; i++)
            put("libreswan-conn %s routing %s keep-alive %s newest-ike %s newest-child %s",
                lc->conn[i].name, l->x[i].routing[0] ? l->x[i].routing : "-",
                u(l->x[i].keepalive, a, sizeof a), u(l->x[i].newest_ike, b, sizeof b),
                u(l->x[i].newest_child, c, sizeof c));
    }
    for (size_t i = 0; i < f->sas.n_ike; i++) {
        const struct ike_sa *k = &f->sas.ike[i];
        put("ike %s state %s version %s local %s:%s remote %s:%s initiator %s nat-local %s "
            "nat-remote %s proposal %s established %s rekey %s",
            k->name, k->state, u(k->version, a, sizeof a), k->local_host,
            u(k->local_port, b, sizeof b), k->remote_host, u(k->remote_port, c, sizeof c),
            tri_name(k->initiator), tri_name(k->nat_local), tri_name(k->nat_remote),
            k->proposal[0] ? k->proposal : "-", u(k->established, d, sizeof d),
            u(k->rekey_time, t1, sizeof t1));
        for (size_t j = 0; j < k->n_child; j++) {
            const struct child_sa *ch = &k->child[j];
            ts(&ch->local_ts, t1, sizeof t1);
            ts(&ch->remote_ts, t2, sizeof t2);
            put("child %s/%s state %s mode %s encap %s spi-in %s spi-out %s proposal %s "
                "local-ts %s remote-ts %s",
                k->name, ch->name, ch->state, ch->mode, tri_name(ch->encap),
                hx(ch->spi_in, a, sizeof a), hx(ch->spi_out, b, sizeof b),
                ch->proposal[0] ? ch->proposal : "-", t1, t2);
            put("child-traffic %s/%s bytes-in %s packets-in %s bytes-out %s packets-out %s",
                k->name, ch->name, u(ch->bytes_in, a, sizeof a), u(ch->packets_in, b, sizeof b),
                u(ch->bytes_out, c, sizeof c), u(ch->packets_out, d, sizeof d));
        }
    }
    for (size_t i = 0; i < f->conns.n_conn; i++) {
        const struct conn_conf *cc = &f->conns.conn[i];
        ts(&cc->remote_addrs, t1, sizeof t1);
        put("conn %s remote-addrs %s dpd-delay %s rekey-time %s reauth-time %s", cc->name, t1,
            u(cc->dpd_delay, a, sizeof a), u(cc->rekey_time, b, sizeof b),
            u(cc->reauth_time, c, sizeof c));
        for (size_t j = 0; j < cc->n_child; j++) {
            ts(&cc->child[j].local_ts, t1, sizeof t1);
            ts(&cc->child[j].remote_ts, t2, sizeof t2);
            put("conn-child %s/%s local-ts %s remote-ts %s rekey-time %s", cc->name,
                cc->child[j].name, t1, t2, u(cc->child[j].rekey_time, a, sizeof a));
        }
    }
    if (f->xfrm_nl_err.msg[0])
        put("xfrm-source %s (netlink: %s)", xfrm_source_name(f->xfrm_source), f->xfrm_nl_err.msg);
    else
        put("xfrm-source %s", xfrm_source_name(f->xfrm_source));
    put("xfrm states %zu policies %zu", f->xfrm.n_sa, f->xfrm.n_pol);
    for (size_t i = 0; i < f->xfrm.n_sa; i++) {
        const struct xfrm_sa *s = &f->xfrm.sa[i];
        put("xfrm-sa %s>%s spi %s encap %s sport %s dport %s packets %s oseq %s seq %s", s->src,
            s->dst, hx(s->spi, a, sizeof a), s->encap_type[0] ? s->encap_type : "none",
            u(s->encap_sport, b, sizeof b), u(s->encap_dport, c, sizeof c),
            u(s->cur_packets, d, sizeof d), u(s->oseq, t1, sizeof t1), u(s->seq, t2, sizeof t2));
    }
    for (size_t i = 0; i < f->xfrm.n_pol; i++) {
        const struct xfrm_policy *pl = &f->xfrm.pol[i];
        const struct xfrm_tmpl *tm = pl->n_tmpl ? &pl->tmpl[0] : NULL;
        put("xfrm-policy %s>%s%s%s %s %s action %s priority %s tmpl %s>%s reqid %s", pl->src,
            pl->dst, pl->upspec[0] ? " " : "", pl->upspec, pl->socket ? "socket" : "dir",
            pl->dir, pl->action, u(pl->priority, a, sizeof a), tm ? tm->src : "-",
            tm ? tm->dst : "-", tm ? u(tm->reqid, b, sizeof b) : "-");
    }
    if (f->raw[PROBE_XFRM_STAT].status == PROBE_OK) {
        static const char *names[] = {"XfrmInNoStates", "XfrmInStateMismatch",
                                      "XfrmInTmplMismatch", "XfrmInNoPols", "XfrmOutPolBlock",
                                      "XfrmOutNoStates"};
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
            put("xfrm-stat %s %s", names[i], u(xfrm_stat_get(&f->xstat, names[i]), a, sizeof a));
    }
    const char *p500, *p4500;
    size_t n500 = udp_listen_count(&f->udp, 500, &p500);
    size_t n4500 = udp_listen_count(&f->udp, 4500, &p4500);
    put("udp-listen 500 %zu %s", n500, p500 ? p500 : "-");
    put("udp-listen 4500 %zu %s", n4500, p4500 ? p4500 : "-");
    const struct fw_fact *fws[2] = {&f->nft, &f->ipt};
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < fws[k]->n_rule; i++) {
            const struct fw_rule *r = &fws[k]->rule[i];
            if (r->verdict == FW_MASQUERADE || r->verdict == FW_SNAT) {
                long x = fw_nat_exemption_before(fws[k], i, NULL, NULL);
                put("nat-rule %s %s/%s/%s pos %zu saddr %s daddr %s oif %s exemption-before %s",
                    k ? "iptables" : "nft", r->family, r->table, r->chain, r->pos,
                    r->saddr[0] ? r->saddr : "any", r->daddr[0] ? r->daddr : "any",
                    r->oif[0] ? r->oif : "any", x >= 0 ? "yes" : "no");
            }
            if (r->match & (FW_M_UDP500 | FW_M_UDP4500 | FW_M_ESP))
                put("ipsec-rule %s %s/%s pos %zu udp500 %s udp4500 %s esp %s verdict %d",
                    k ? "iptables" : "nft", r->table, r->chain, r->pos,
                    r->match & FW_M_UDP500 ? "yes" : "no", r->match & FW_M_UDP4500 ? "yes" : "no",
                    r->match & FW_M_ESP ? "yes" : "no", (int)r->verdict);
            if (r->mss_clamp_pmtu || r->mss_set.known)
                put("mss-clamp %s %s/%s pmtu %s set %s", k ? "iptables" : "nft", r->table,
                    r->chain, r->mss_clamp_pmtu ? "yes" : "no", u(r->mss_set, a, sizeof a));
        }
    put("ct-timeouts udp %s stream %s", u(f->ct_timeouts.udp_timeout, a, sizeof a),
        u(f->ct_timeouts.udp_timeout_stream, b, sizeof b));
    for (size_t i = 0; i < f->ct.n; i++) {
        const struct ct_entry *ce = &f->ct.e[i];
        put("conntrack %s:%u>%s:%u reply %s:%u>%s:%u timeout %s%s%s", ce->src, ce->sport,
            ce->dst, ce->dport, ce->rsrc, ce->rsport, ce->rdst, ce->rdport,
            u(ce->timeout, a, sizeof a), ce->unreplied ? " unreplied" : "",
            ce->assured ? " assured" : "");
    }
    for (size_t i = 0; i < f->links.n; i++)
        put("link %s mtu %s %s", f->links.l[i].name, u(f->links.l[i].mtu, a, sizeof a),
            f->links.l[i].up ? "up" : "down");
    if (f->raw[PROBE_ROUTE].status == PROBE_OK) {
        if (f->route.ok)
            put("route %s from %s dev %s via %s src %s table %s", f->route.dst,
                f->route.from[0] ? f->route.from : "-", f->route.dev,
                f->route.via[0] ? f->route.via : "-", f->route.src[0] ? f->route.src : "-",
                f->route.table[0] ? f->route.table : "main");
        else
            put("route error %s", f->route.error);
    }
    for (int k = 0; k < LOG_KIND_COUNT; k++)
        put("log %s %zu", log_kind_name((enum log_kind)k), f->log.count[k]);
}

int cmd_probe(int argc, char **argv)
{
    static const struct option longs[] = {
        {"known-hosts", required_argument, NULL, 'k'},
        {"accept-new-hostkey", no_argument, NULL, 'a'},
        {"no-sudo", no_argument, NULL, 'n'},
        {"route-to", required_argument, NULL, 't'},
        {"route-from", required_argument, NULL, 'f'},
        {"log-file", required_argument, NULL, 'l'},
        {"ping", no_argument, NULL, 'p'},
        {"df-sweep", no_argument, NULL, 'd'},
        {"raw", no_argument, NULL, 'r'},
        {"no-netlink", no_argument, NULL, 'N'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct peer_opts po = {0};
    struct probe_opts o = {0};
    int do_ping = 0, do_sweep = 0, raw = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "F:h", longs, NULL)) != -1) {
        switch (c) {
        case 'F': po.ssh_config = optarg; break;
        case 'k': po.known_hosts = optarg; break;
        case 'a': po.accept_new_hostkey = 1; break;
        case 'n': o.no_sudo = 1; break;
        case 't': o.route_to = optarg; break;
        case 'f': o.route_from = optarg; break;
        case 'l': o.log_file = optarg; break;
        case 'p': do_ping = 1; break;
        case 'd': do_sweep = 1; break;
        case 'r': raw = 1; break;
        case 'N': o.no_netlink = 1; break;
        case 'h': usage(stdout); return TS_EXIT_OK;
        default: usage(stderr); return TS_EXIT_USAGE;
        }
    }
    if (optind != argc - 1 || ((do_ping || do_sweep) && (!o.route_to || !o.route_from))) {
        usage(stderr);
        return TS_EXIT_USAGE;
    }
    struct err e = {0};
    struct peer *p = peer_new(argv[optind], &po, &e);
    if (!p) {
        fprintf(stderr, "tunnelscope probe: %s\n", e.msg);
        return TS_EXIT_USAGE;
    }
    struct peer_facts f;
    int rc = probe_collect(p, &o, &f, &e);
    if (rc != 0) {
        fprintf(stderr, "tunnelscope probe: %s: %s\n", argv[optind], e.msg);
        peer_facts_free(&f);
        peer_free(p);
        return TS_EXIT_NODIAG;
    }
    print_facts(&f, raw);
    int status = TS_EXIT_OK;
    for (int id = 0; id < PROBE_COUNT; id++)
        if (f.raw[id].status != PROBE_OK && f.raw[id].status != PROBE_NOT_RUN &&
            f.raw[id].status != PROBE_OTHER_DAEMON)
            status = TS_EXIT_WARNING;
    char a[32], b[32], cbuf[32];
    if (do_ping) {
        struct ping_fact pf;
        if (probe_ping(p, &o, 3, &pf, NULL, &e) == 0)
            put("ping %s from %s transmitted %s received %s rtt-avg-us %s%s%s", pf.dst, pf.from,
                u(pf.transmitted, a, sizeof a), u(pf.received, b, sizeof b),
                u(pf.rtt_avg_us, cbuf, sizeof cbuf), pf.error[0] ? " error " : "", pf.error);
        else {
            put("ping error %s", e.msg);
            status = TS_EXIT_WARNING;
        }
    }
    if (do_sweep) {
        struct df_sweep s;
        if (probe_df_sweep(p, &o, 250, &s, &e) == 0)
            put("df-sweep best-payload %u best-packet %u local-mtu %s frag-mtu %s steps %u", s.best,
                s.best ? s.best + 28 : 0, u(s.local_mtu, a, sizeof a), u(s.frag_mtu, b, sizeof b),
                s.steps);
        else {
            put("df-sweep error %s", e.msg);
            status = TS_EXIT_WARNING;
        }
    }
    peer_facts_free(&f);
    peer_free(p);
    return status;
}
