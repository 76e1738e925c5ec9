#include "probes/probe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probes/redact.h"
#include "probes/swanctl.h"
#include "probes/xfrm_nl.h"
#include "remote/shquote.h"

static const struct probe_spec specs[PROBE_COUNT] = {
    {PROBE_SWANCTL_SAS, "swanctl-list-sas-raw", "swanctl --list-sas --raw", 1, 20},
    {PROBE_SWANCTL_CONNS, "swanctl-list-conns-raw", "swanctl --list-conns --raw", 1, 20},
    {PROBE_XFRM_STATE, "ip-s-xfrm-state", "ip -s xfrm state list nokeys", 1, 20},
    {PROBE_XFRM_POLICY, "ip-xfrm-policy", "ip xfrm policy", 1, 20},
    {PROBE_XFRM_STAT, "xfrm_stat", "cat /proc/net/xfrm_stat", 0, 10},
    {PROBE_SS_UDP, "ss-ulnp", "ss -ulnp", 1, 10},
    {PROBE_NFT, "nft-list-ruleset", "nft list ruleset", 1, 20},
    {PROBE_IPTABLES, "iptables-save", "iptables-save", 1, 20},
    {PROBE_CT_TIMEOUTS, "sysctl-udp-timeouts",
     "sysctl net.netfilter.nf_conntrack_udp_timeout net.netfilter.nf_conntrack_udp_timeout_stream",
     0, 10},
    {PROBE_CONNTRACK, "conntrack-udp", "conntrack -L -p udp", 1, 20},
    {PROBE_LINKS, "ip-o-link", "ip -o link", 0, 10},
    {PROBE_LOG, "daemon-log", NULL, 1, 20},
    {PROBE_ROUTE, "ip-route-get", NULL, 0, 10},
    /* Libreswan: only where `ipsec` is Libreswan's (strongSwan's starter also
     * installs an `ipsec`); exit 127 elsewhere, as a missing tool */
    {PROBE_LSW_STATUS, "ipsec-whack-status",
     "if ipsec --version 2>/dev/null | grep -q Libreswan; then ipsec whack --status; "
     "else echo 'ipsec: not found (no Libreswan)' >&2; exit 127; fi",
     1, 20},
    {PROBE_LSW_TRAFFIC, "ipsec-whack-trafficstatus",
     "if ipsec --version 2>/dev/null | grep -q Libreswan; then ipsec whack --trafficstatus; "
     "else echo 'ipsec: not found (no Libreswan)' >&2; exit 127; fi",
     1, 20},
};

const struct probe_spec *probe_spec_get(enum probe_id id)
{
    return (unsigned)id < PROBE_COUNT ? &specs[id] : NULL;
}

const char *probe_status_name(enum probe_status s)
{
    switch (s) {
    case PROBE_NOT_RUN:
        return "not-run";
    case PROBE_OK:
        return "ok";
    case PROBE_TOOL_MISSING:
        return "tool-missing";
    case PROBE_SUDO_REFUSED:
        return "sudo-refused";
    case PROBE_TIMED_OUT:
        return "timed-out";
    case PROBE_FAILED:
        return "failed";
    case PROBE_PARSE_ERROR:
        return "parse-error";
    case PROBE_UNREACHABLE:
        return "unreachable";
    case PROBE_OTHER_DAEMON:
        return "other-daemon";
    }
    return "unknown";
}

const char *daemon_kind_name(enum daemon_kind d)
{
    switch (d) {
    case DAEMON_STRONGSWAN: return "strongswan";
    case DAEMON_LIBRESWAN: return "libreswan";
    case DAEMON_NONE: return "none";
    default: return "unknown";
    }
}

int probe_command(enum probe_id id, const struct probe_opts *o, struct buf *out, struct err *e)
{
    const struct probe_spec *s = probe_spec_get(id);
    if (!s)
        return err_set(e, ERR_USAGE, "no such probe");
    if (s->command)
        return buf_puts(out, s->command) == 0 ? 0 : err_set(e, ERR_INTERNAL, "out of memory");
    unsigned lines = o && o->log_lines ? o->log_lines : 2000;
    if (id == PROBE_LOG) {
        if (o && o->log_file) {
            if (buf_printf(out, "tail -n %u ", lines) || shquote_append(out, o->log_file,
                                                                       strlen(o->log_file), e))
                return -1;
            return 0;
        }
        /* Libreswan writes to the file its ipsec.conf names (config setup
         * logfile=), else to syslog/the journal as "pluto"; strongSwan's
         * charon to the journal unless its filelog is given (--log-file) */
        return buf_printf(out,
                          "f=$(sed -n 's/^[[:space:]]*logfile[[:space:]]*=[[:space:]]*//p' "
                          "\"${IPSEC_CONF:-/etc/ipsec.conf}\" 2>/dev/null | tail -n 1 | tr -d '\"'); "
                          "if [ -n \"$f\" ] && [ -r \"$f\" ]; then tail -n %u \"$f\"; "
                          "else journalctl -o short-iso --no-pager -q -n %u -t charon "
                          "-t charon-systemd -t pluto; fi",
                          lines, lines) == 0
                   ? 0
                   : err_set(e, ERR_INTERNAL, "out of memory");
    }
    if (id == PROBE_ROUTE) {
        if (!o || !o->route_to || !o->route_from)
            return err_set(e, ERR_USAGE, "route probe needs route_to and route_from");
        if (buf_puts(out, "ip route get ") || shquote_append(out, o->route_to, strlen(o->route_to), e) ||
            buf_puts(out, " from ") ||
            shquote_append(out, o->route_from, strlen(o->route_from), e))
            return -1;
        return 0;
    }
    return err_set(e, ERR_INTERNAL, "probe without command");
}

void probe_raw_clear(struct probe_raw *r)
{
    if (!r)
        return;
    free(r->line);
    free(r->out);
    free(r->err_out);
    memset(r, 0, sizeof *r);
}

void peer_facts_free(struct peer_facts *f)
{
    if (!f)
        return;
    sa_fact_free(&f->sas);
    conn_fact_free(&f->conns);
    xfrm_fact_free(&f->xfrm);
    fw_fact_free(&f->nft);
    fw_fact_free(&f->ipt);
    log_fact_free(&f->log);
    libreswan_status_free(&f->lsw);
    for (size_t i = 0; i < PROBE_COUNT; i++)
        probe_raw_clear(&f->raw[i]);
    memset(f, 0, sizeof *f);
}

static bool says_missing(const char *err_out)
{
    return err_out && (strstr(err_out, "command not found") || strstr(err_out, ": not found"));
}

/* An ip without `-s` or without `xfrm`: BusyBox's applet prints its usage
 * ("BusyBox v1.35.0 ... multi-call binary." then "Usage: ip [OPTIONS] ..."),
 * iproute2 an "Option/Object ... is unknown" line. */
static bool ip_lacks_xfrm(const char *err_out)
{
    if (!err_out)
        return false;
    return (strstr(err_out, "BusyBox") && strstr(err_out, "Usage: ip ")) ||
           (strstr(err_out, "Option \"") && strstr(err_out, "\" is unknown")) ||
           strstr(err_out, "Object \"xfrm\" is unknown");
}

/* length of the first line of s, at most 120 bytes */
static int first_line_len(const char *s)
{
    size_t k = 0;
    while (s && s[k] && s[k] != '\n' && k < 120)
        k++;
    return (int)k;
}

void probe_parse(enum probe_id id, const char *out, size_t n, const char *err_out,
                 int exit_status, struct peer_facts *f)
{
    struct probe_raw *r = &f->raw[id];
    struct err *e = &r->err;
    err_clear(e);
    if (!out)
        out = "";
    if (exit_status == 127 || (exit_status != 0 && n == 0 && says_missing(err_out) &&
                               id != PROBE_CT_TIMEOUTS && id != PROBE_XFRM_STAT)) {
        r->status = PROBE_TOOL_MISSING;
        err_set(e, ERR_NOT_FOUND, "%s: tool missing on the peer", specs[id].name);
        if (id == PROBE_SWANCTL_SAS)
            f->daemon = DAEMON_NONE;
        return;
    }
    int rc = 0;
    if ((id == PROBE_XFRM_STATE || id == PROBE_XFRM_POLICY) && exit_status != 0 && n == 0 &&
        ip_lacks_xfrm(err_out)) {
        /* BusyBox's ip (its usage text) or an old iproute2 ("Option \"-stats\" is
         * unknown", "Object \"xfrm\" is unknown"): not a failed dump, a missing
         * capability of the peer's ip, said as such */
        r->status = PROBE_FAILED;
        err_set(e, ERR_UNSUPPORTED, "%s: this ip cannot list XFRM %s (`%s` not supported%s%.*s)",
                specs[id].name, id == PROBE_XFRM_STATE ? "states with statistics" : "policies",
                specs[id].command, first_line_len(err_out) ? ": " : "", first_line_len(err_out),
                err_out);
        return;
    }
    if ((id == PROBE_XFRM_STATE || id == PROBE_XFRM_POLICY) && exit_status != 0 && n == 0) {
        /* "RTNETLINK answers: Operation not permitted" / "Dump terminated": a failed
         * dump, not an empty table */
        r->status = strstr(err_out ? err_out : "", "Operation not permitted") ? PROBE_SUDO_REFUSED
                                                                                : PROBE_FAILED;
        err_set(e, r->status == PROBE_SUDO_REFUSED ? ERR_SUDO : ERR_IO,
                "%s: exit status %d: %.160s", specs[id].name, exit_status,
                err_out && err_out[0] ? err_out : "no output");
        for (char *c = e->msg; *c; c++)
            if (*c == '\n')
                *c = ' ';
        return;
    }
    switch (id) {
    case PROBE_SWANCTL_SAS:
        rc = swanctl_parse_sas_raw(out, n, &f->sas, e);
        if (rc == 0)
            f->daemon = DAEMON_STRONGSWAN;
        else if (err_out && strstr(err_out, "charon.vici"))
            f->daemon = DAEMON_NONE;  /* swanctl there, its daemon not running */
        break;
    case PROBE_SWANCTL_CONNS:
        rc = swanctl_parse_conns_raw(out, n, &f->conns, e);
        break;
    case PROBE_XFRM_STATE:
        rc = xfrm_parse_states_text(out, n, &f->xfrm, e);
        break;
    case PROBE_XFRM_POLICY:
        rc = xfrm_parse_policies_text(out, n, &f->xfrm, e);
        break;
    case PROBE_XFRM_STAT:
        rc = xfrm_parse_stat(out, n, &f->xstat, e);
        break;
    case PROBE_SS_UDP:
        rc = ss_parse_udp(out, n, &f->udp, e);
        break;
    case PROBE_NFT:
        rc = nft_parse_ruleset(out, n, &f->nft, e);
        break;
    case PROBE_IPTABLES:
        rc = iptables_parse_save(out, n, &f->ipt, e);
        break;
    case PROBE_CT_TIMEOUTS: {
        /* sysctl prints "cannot stat" on stderr for a missing key */
        struct buf both = BUF_INIT;
        buf_append(&both, out, n);
        if (err_out)
            buf_puts(&both, err_out);
        rc = sysctl_parse_ct_timeouts(both.data ? both.data : "", both.len, &f->ct_timeouts, e);
        buf_free(&both);
        break;
    }
    case PROBE_CONNTRACK: {
        struct buf both = BUF_INIT;
        if (err_out && strstr(err_out, "flow entries have been shown"))
            buf_puts(&both, err_out);
        buf_append(&both, out, n);
        rc = conntrack_parse_udp(both.data ? both.data : "", both.len, &f->ct, e);
        if (rc != 0 && err_out && strstr(err_out, "Operation not permitted"))
            err_set(e, ERR_SUDO, "conntrack: Operation not permitted");
        buf_free(&both);
        break;
    }
    case PROBE_LINKS:
        rc = link_parse(out, n, &f->links, e);
        break;
    case PROBE_LOG:
        rc = daemonlog_parse(out, n, &f->log, e);
        break;
    case PROBE_ROUTE: {
        struct buf both = BUF_INIT;
        buf_append(&both, out, n);
        if (err_out && n == 0)
            buf_puts(&both, err_out); /* "RTNETLINK answers: ..." is the fact */
        rc = route_parse_get(both.data ? both.data : "", both.len, &f->route, e);
        buf_free(&both);
        break;
    }
    case PROBE_LSW_STATUS: {
        /* whack exits non-zero when pluto does not answer ("Pluto is not
         * running"); an empty status is only a status when whack says so */
        if (exit_status != 0) {
            rc = err_set(e, ERR_IO, "exit status %d", exit_status);
            break;
        }
        struct libreswan_status st;
        rc = libreswan_parse_status(out, n, &st, e);
        if (rc != 0)
            break;
        libreswan_status_free(&f->lsw);
        if (f->daemon != DAEMON_STRONGSWAN) {
            /* the peer's daemon: its SAs and connections are the peer's */
            sa_fact_free(&f->sas);
            conn_fact_free(&f->conns);
            f->sas = st.sas;
            f->conns = st.conns;
            memset(&st.sas, 0, sizeof st.sas);
            memset(&st.conns, 0, sizeof st.conns);
            f->daemon = DAEMON_LIBRESWAN;
        }
        f->lsw = st;
        break;
    }
    case PROBE_LSW_TRAFFIC: {
        if (exit_status != 0) {
            rc = err_set(e, ERR_IO, "exit status %d", exit_status);
            break;
        }
        struct sa_fact tf = {0};
        rc = libreswan_parse_trafficstatus(out, n, &tf, e);
        if (rc == 0 && f->daemon == DAEMON_LIBRESWAN)
            libreswan_merge_traffic(&f->sas, &tf);
        sa_fact_free(&tf);
        break;
    }
    default:
        err_set(e, ERR_INTERNAL, "no such probe");
        rc = -1;
    }
    if (rc == 0) {
        r->status = PROBE_OK;
        return;
    }
    if (exit_status != 0 && n == 0) {
        r->status = PROBE_FAILED;
        /* the last line of stderr says why (tools print warnings first) */
        const char *last = err_out ? err_out : "";
        size_t el = strlen(last);
        while (el && (last[el - 1] == '\n' || last[el - 1] == '\r'))
            el--;
        size_t st = el;
        while (st && last[st - 1] != '\n')
            st--;
        int lim = (int)(el - st > 160 ? 160 : el - st);
        err_set(e, ERR_IO, "%s: exit status %d: %.*s", specs[id].name, exit_status, lim,
                last + st);
        return;
    }
    r->status = PROBE_PARSE_ERROR;
    err_wrap(e, "%s", specs[id].name);
}

/* The daemon's tool is missing, or it is there and its daemon does not run. */
static bool daemon_absent(const struct probe_raw *r, const char *not_running)
{
    return r->status == PROBE_NOT_RUN || r->status == PROBE_TOOL_MISSING ||
           (r->status != PROBE_OK && strstr(r->err.msg, not_running));
}

static void other_daemon(struct probe_raw *r, const char *why)
{
    if (r->status == PROBE_OK || r->status == PROBE_NOT_RUN)
        return;
    r->status = PROBE_OTHER_DAEMON;
    err_set(&r->err, ERR_NONE, "%s", why);
}

void probe_settle_daemon(struct peer_facts *f)
{
    const struct probe_raw *sw = &f->raw[PROBE_SWANCTL_SAS], *lsw = &f->raw[PROBE_LSW_STATUS];
    /* probe_parse() said DAEMON_NONE when swanctl's stderr named charon.vici */
    bool sw_gone = f->daemon == DAEMON_NONE || daemon_absent(sw, "charon.vici");
    if (sw->status == PROBE_OK)
        f->daemon = DAEMON_STRONGSWAN;
    else if (lsw->status == PROBE_OK)
        f->daemon = DAEMON_LIBRESWAN;
    else if (sw_gone && daemon_absent(lsw, "Pluto is not running"))
        f->daemon = DAEMON_NONE;
    else
        f->daemon = DAEMON_UNKNOWN;  /* e.g. sudo refused: neither could be asked */
    if (f->daemon == DAEMON_STRONGSWAN) {
        other_daemon(&f->raw[PROBE_LSW_STATUS], "strongSwan peer: no Libreswan pluto asked");
        other_daemon(&f->raw[PROBE_LSW_TRAFFIC], "strongSwan peer: no Libreswan pluto asked");
    } else if (f->daemon == DAEMON_LIBRESWAN) {
        other_daemon(&f->raw[PROBE_SWANCTL_SAS], "Libreswan peer: no strongSwan charon asked");
        other_daemon(&f->raw[PROBE_SWANCTL_CONNS], "Libreswan peer: no strongSwan charon asked");
    }
}

/* Copies the result of a finished command into raw, redacting its outputs. */
static void keep_raw(struct probe_raw *r, const struct rcmd *c, const char *const *secrets)
{
    const struct rcmd_result *res = rcmd_result(c);
    r->line = strdup(rcmd_line(c) ? rcmd_line(c) : "");
    r->started = res->started;
    r->ended = res->ended;
    r->exit_status = res->exit_status;
    snprintf(r->exit_signal, sizeof r->exit_signal, "%s", res->exit_signal);
    r->timed_out = res->timed_out;
    struct buf o = BUF_INIT, eo = BUF_INIT;
    int n1 = redact_text(res->out.data ? res->out.data : "", res->out.len, secrets, &o);
    int n2 = redact_text(res->err_out.data ? res->err_out.data : "", res->err_out.len, secrets, &eo);
    r->redactions = (n1 > 0 ? n1 : 0) + (n2 > 0 ? n2 : 0);
    r->out = buf_take(&o);
    r->err_out = buf_take(&eo);
}

/* Classifies what remote/ said before looking at the output. */
static bool transport_failure(struct probe_raw *r, const struct rcmd_result *res)
{
    switch (res->err.code) {
    case ERR_NONE:
        return false;
    case ERR_SUDO:
        r->status = PROBE_SUDO_REFUSED;
        break;
    case ERR_TIMEOUT:
        r->status = PROBE_TIMED_OUT;
        break;
    case ERR_NOT_FOUND:
        r->status = PROBE_TOOL_MISSING;
        break;
    default:
        r->status = PROBE_UNREACHABLE;
        break;
    }
    r->err = res->err;
    return true;
}

const char *xfrm_source_name(enum xfrm_source s)
{
    switch (s) {
    case XFRM_SOURCE_TEXT: return "text";
    case XFRM_SOURCE_NETLINK: return "netlink";
    default: return "none";
    }
}

/* This machine's XFRM fact from netlink, in place of the text's (which stays
 * as evidence).  When the dumps fail (not root, no xfrm_user), the text's
 * fact stays and xfrm_nl_err says why. */
static void xfrm_from_netlink(struct peer_facts *f)
{
    struct xfrm_fact nf = {0};
    if (xfrm_nl_collect(&nf, &f->xfrm_nl_err) != 0)
        return;
    xfrm_fact_free(&f->xfrm);
    f->xfrm = nf;
    f->xfrm_source = XFRM_SOURCE_NETLINK;
    const enum probe_id ids[] = {PROBE_XFRM_STATE, PROBE_XFRM_POLICY};
    for (size_t i = 0; i < 2; i++) {
        struct probe_raw *r = &f->raw[ids[i]];
        if (r->status != PROBE_OK) {
            /* the fact is valid; the text command's failure stays in its raw output */
            r->status = PROBE_OK;
            err_clear(&r->err);
        }
    }
}

int probe_collect(struct peer *p, const struct probe_opts *o, struct peer_facts *f,
                  struct err *e)
{
    memset(f, 0, sizeof *f);
    snprintf(f->peer, sizeof f->peer, "%s", peer_name(p));
    struct probe_opts none = {0};
    if (!o)
        o = &none;
    if (peer_state(p) != PEER_READY && peer_state(p) != PEER_CONNECTING &&
        peer_state(p) != PEER_AUTHENTICATING && peer_connect(p, e) != 0)
        return -1;
    struct rcmd *cmds[PROBE_COUNT] = {0};
    struct buf lines[PROBE_COUNT];
    bool pending[PROBE_COUNT] = {0};
    unsigned longest = 0;
    for (int id = 0; id < PROBE_COUNT; id++) {
        struct probe_raw *r = &f->raw[id];
        lines[id] = (struct buf)BUF_INIT;
        snprintf(r->name, sizeof r->name, "%s", specs[id].name);
        r->exit_status = -1;
        struct err ce = {0};
        if (probe_command((enum probe_id)id, o, &lines[id], &ce) != 0) {
            r->status = PROBE_NOT_RUN;
            r->err = ce;
            continue;
        }
        pending[id] = true;
        longest += specs[id].time_limit_s;
    }
    /* at most PROBE_PARALLEL_MAX channels at once: OpenSSH's MaxSessions is 10 */
    struct peer *const peers[1] = {p};
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        size_t running = 0;
        for (int id = 0; id < PROBE_COUNT; id++)
            if (cmds[id] && rcmd_state(cmds[id]) != RCMD_DONE)
                running++;
        for (int id = 0; id < PROBE_COUNT && running < PROBE_PARALLEL_MAX; id++) {
            if (!pending[id] || peer_state(p) == PEER_FAILED)
                continue;
            pending[id] = false;
            struct rcmd_opts ro = {0};
            ro.command = lines[id].data;
            ro.sudo = specs[id].sudo && !o->no_sudo;
            f->raw[id].sudo = ro.sudo;
            ro.time_limit_s = specs[id].time_limit_s;
            ro.max_output = PROBE_OUTPUT_MAX;
            struct err ce = {0};
            cmds[id] = rcmd_start(p, &ro, &ce);
            if (!cmds[id]) {
                f->raw[id].status = PROBE_UNREACHABLE;
                f->raw[id].err = ce;
            } else {
                running++;
            }
        }
        bool left = false;
        for (int id = 0; id < PROBE_COUNT; id++)
            if (pending[id])
                left = true;
        if ((!running && !left) || peer_state(p) == PEER_FAILED)
            break;
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - t0.tv_sec > (time_t)longest + 60)
            break;
        if (peers_poll(peers, 1, 500, e) != 0)
            break;
    }
    for (int id = 0; id < PROBE_COUNT; id++) {
        buf_free(&lines[id]);
        if (pending[id]) {
            f->raw[id].status = PROBE_UNREACHABLE;
            err_set(&f->raw[id].err, ERR_DISCONNECTED, "%s: not started: peer lost",
                    specs[id].name);
        }
    }
    int reached = peer_state(p) != PEER_FAILED;
    for (int id = 0; id < PROBE_COUNT; id++) {
        if (!cmds[id])
            continue;
        struct probe_raw *r = &f->raw[id];
        if (rcmd_state(cmds[id]) != RCMD_DONE) {
            r->status = PROBE_TIMED_OUT;
            err_set(&r->err, ERR_TIMEOUT, "%s: did not finish", specs[id].name);
            rcmd_free(cmds[id]);
            continue;
        }
        keep_raw(r, cmds[id], o->secrets);
        const struct rcmd_result *res = rcmd_result(cmds[id]);
        if (transport_failure(r, res)) {
            /* classified */
        } else if (res->truncated) {
            /* a cut listing would parse into wrong counts (fewer SAs, rules, policies) */
            r->status = PROBE_PARSE_ERROR;
            err_set(&r->err, ERR_TRUNCATED,
                    "%s: more than %u MiB of output: too large, not parsed (the raw output kept is cut)",
                    specs[id].name, PROBE_OUTPUT_MAX >> 20);
        } else {
            probe_parse((enum probe_id)id, r->out, strlen(r->out), r->err_out, res->exit_status, f);
        }
        rcmd_free(cmds[id]);
    }
    probe_settle_daemon(f);
    if (f->raw[PROBE_XFRM_STATE].status == PROBE_OK && f->raw[PROBE_XFRM_POLICY].status == PROBE_OK)
        f->xfrm_source = XFRM_SOURCE_TEXT;
    if (reached && peer_kind(p) == PEER_LOCAL && !o->no_netlink)
        xfrm_from_netlink(f);
    if (!reached) {
        const struct err *pe = peer_error(p);
        if (pe && e)
            *e = *pe;
        return -1;
    }
    return 0;
}

/* ---- active probes ------------------------------------------------------ */

void df_sweep_init(struct df_sweep *s, unsigned lo, unsigned hi)
{
    memset(s, 0, sizeof *s);
    s->lo = lo;
    s->hi = hi + 1;
}

unsigned df_sweep_next(const struct df_sweep *s)
{
    if (s->steps >= 32)
        return 0;
    /* first try the top: a healthy path ends in one step */
    if (s->steps == 0)
        return s->hi - 1;
    if (s->hi <= s->lo + 1)
        return 0;
    /* an MTU reported by the kernel or a router: its largest size first */
    if ((s->local_mtu.known || s->frag_mtu.known) && !s->tried_known)
        return s->hi - 1;
    unsigned mid = s->lo + (s->hi - s->lo) / 2;
    if (mid <= s->best || mid >= s->hi)
        return 0;
    return mid;
}

void df_sweep_feed(struct df_sweep *s, unsigned size, const struct ping_fact *p)
{
    s->steps++;
    if (p->local_error_mtu.known && !s->local_mtu.known)
        s->local_mtu = p->local_error_mtu;
    if (p->frag_needed_mtu.known && !s->frag_mtu.known) {
        s->frag_mtu = p->frag_needed_mtu;
        snprintf(s->frag_from, sizeof s->frag_from, "%s", p->frag_needed_from);
    }
    bool pass = p->received.known && p->received.v > 0;
    if (pass) {
        if (size > s->best)
            s->best = size;
        if (size > s->lo)
            s->lo = size;
    } else if (size < s->hi) {
        s->hi = size;
    }
    /* a size the kernel told us cannot pass narrows the search at once */
    unsigned known = 0;
    if (s->local_mtu.known && s->local_mtu.v > 28)
        known = (unsigned)s->local_mtu.v - 28 + 1;
    if (s->frag_mtu.known && s->frag_mtu.v > 28 && (!known || s->frag_mtu.v - 28 + 1 < known))
        known = (unsigned)s->frag_mtu.v - 28 + 1;
    if (known && known < s->hi && known > s->lo)
        s->hi = known;
    if (known && size == known - 1)
        s->tried_known = true;
}

static int run_one(struct peer *p, const char *cmd, unsigned limit, struct rcmd **out,
                   struct err *e)
{
    struct rcmd_opts ro = {0};
    ro.command = cmd;
    ro.time_limit_s = limit;
    struct peer *const peers[1] = {p};
    struct rcmd *cmds[1] = {0};
    if (peers_run_all(peers, 1, &ro, cmds, e) != 0)
        return -1;
    if (!cmds[0]) {
        const struct err *pe = peer_error(p);
        if (pe && e)
            *e = *pe;
        return -1;
    }
    *out = cmds[0];
    return 0;
}

static int ping_cmd(struct buf *b, const struct probe_opts *o, unsigned count, unsigned size,
                    struct err *e)
{
    if (!o || !o->route_to || !o->route_from)
        return err_set(e, ERR_USAGE, "ping needs route_to and route_from");
    if (buf_printf(b, "ping -n -c %u -i 0.2 -W 1 ", count))
        return err_set(e, ERR_INTERNAL, "out of memory");
    if (size && buf_printf(b, "-M do -s %u ", size))
        return err_set(e, ERR_INTERNAL, "out of memory");
    if (buf_puts(b, "-I ") || shquote_append(b, o->route_from, strlen(o->route_from), e) ||
        buf_puts(b, " ") || shquote_append(b, o->route_to, strlen(o->route_to), e))
        return -1;
    return 0;
}

int probe_ping(struct peer *p, const struct probe_opts *o, unsigned count,
               struct ping_fact *out, struct probe_raw *raw, struct err *e)
{
    memset(out, 0, sizeof *out);
    if (count == 0 || count > 20)
        count = 5;
    struct buf cmd = BUF_INIT;
    if (ping_cmd(&cmd, o, count, 0, e) != 0) {
        buf_free(&cmd);
        return -1;
    }
    struct rcmd *c = NULL;
    int rc = run_one(p, cmd.data, count + 5, &c, e);
    buf_free(&cmd);
    if (rc != 0)
        return -1;
    struct peer_facts tmp;
    memset(&tmp, 0, sizeof tmp);
    struct probe_raw *r = raw ? raw : &tmp.raw[0];
    memset(r, 0, sizeof *r);
    snprintf(r->name, sizeof r->name, "ping");
    keep_raw(r, c, o->secrets);
    const struct rcmd_result *res = rcmd_result(c);
    rc = 0;
    if (transport_failure(r, res)) {
        *e = r->err;
        rc = -1;
    } else {
        struct buf both = BUF_INIT;
        buf_puts(&both, r->out);
        buf_puts(&both, r->err_out);
        if (ping_parse(both.data ? both.data : "", both.len, out, &r->err) == 0) {
            r->status = PROBE_OK;
        } else {
            r->status = res->exit_status == 127 ? PROBE_TOOL_MISSING : PROBE_PARSE_ERROR;
            *e = r->err;
            rc = -1;
        }
        buf_free(&both);
    }
    rcmd_free(c);
    if (!raw)
        probe_raw_clear(r);
    return rc;
}

int probe_df_sweep(struct peer *p, const struct probe_opts *o, unsigned gap_ms,
                   struct df_sweep *out, struct err *e)
{
    df_sweep_init(out, 548, 1472);  /* 576..1500 bytes IPv4 packets */
    if (gap_ms < 200)
        gap_ms = 200;
    unsigned size;
    while ((size = df_sweep_next(out)) != 0) {
        struct buf cmd = BUF_INIT;
        if (ping_cmd(&cmd, o, 1, size, e) != 0) {
            buf_free(&cmd);
            return -1;
        }
        struct rcmd *c = NULL;
        int rc = run_one(p, cmd.data, 5, &c, e);
        buf_free(&cmd);
        if (rc != 0)
            return -1;
        const struct rcmd_result *res = rcmd_result(c);
        struct buf both = BUF_INIT;
        buf_append(&both, res->out.data ? res->out.data : "", res->out.len);
        buf_append(&both, res->err_out.data ? res->err_out.data : "", res->err_out.len);
        struct ping_fact pf;
        rc = ping_parse(both.data ? both.data : "", both.len, &pf, e);
        buf_free(&both);
        rcmd_free(c);
        if (rc != 0)
            return -1;
        df_sweep_feed(out, size, &pf);
        struct timespec ts = {(time_t)(gap_ms / 1000), (long)(gap_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    return 0;
}
