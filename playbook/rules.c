#include "playbook/rules.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "playbook/cidr.h"
#include "playbook/prose.h"
#include "remote/buf.h"

/* Thresholds, each with the reason it has the value it has. */
enum {
    LOSS_MIN_PACKETS = 2, /* fewer lost packets than this is noise at a window edge */
    DPD_MIN_DELAY = 10,   /* below this, a couple of lost packets declare the peer dead */
    BIG_PACKET = 1200,    /* wire length from which a packet counts as "large" */
};
#define LOSS_FAIL_RATE 0.02 /* 2 %: TCP collapses well before this */
#define LOSS_WARN_RATE 0.005

/* ---- helpers -------------------------------------------------------------- */

static const char *nz(const char *s)
{
    return s ? s : "?";
}

/* Adds a finding whose decision is the asset's text for id, rendered with kv. */
static struct finding *add(struct findings *out, const char *id, int step, enum severity sev,
                           const char *const *kv, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
static struct finding *add(struct findings *out, const char *id, int step, enum severity sev,
                           const char *const *kv, const char *fmt, ...)
{
    char *decision = prose_render(id, kv);
    va_list ap;
    va_start(ap, fmt);
    struct buf t = BUF_INIT;
    int r = buf_vprintf(&t, fmt, ap);
    va_end(ap);
    struct finding *f = NULL;
    if (r == 0)
        f = findings_add(out, id, step, sev, decision, "%s", t.data ? t.data : "");
    buf_free(&t);
    free(decision);
    return f;
}

/* "a, b, c" of a NULL-terminated list into b (or "(none)"). */
static void list_join(struct buf *b, const char *const *v)
{
    if (!v[0]) {
        buf_puts(b, "(none)");
        return;
    }
    for (int i = 0; i < PF_MAX && v[i]; i++)
        buf_printf(b, "%s%s", i ? ", " : "", v[i]);
}

static char *list_str(const char *const *v)
{
    struct buf b = BUF_INIT;
    list_join(&b, v);
    return buf_take(&b);
}

static int list_len(const char *const *v)
{
    int n = 0;
    while (n < PF_MAX && v[n])
        n++;
    return n;
}

static const char *src_sas(const struct peer_facts *p)
{
    return p->daemon && !strcmp(p->daemon, "libreswan") ? "ipsec trafficstatus" : "swanctl --list-sas --raw";
}

static const char *src_conns(const struct peer_facts *p)
{
    return p->daemon && !strcmp(p->daemon, "libreswan") ? "ipsec status" : "swanctl --list-conns --raw";
}

static const char *src_fw(const struct peer_facts *p)
{
    return p->fw.source ? p->fw.source : "nft list ruleset";
}

static bool peer_usable(const struct peer_facts *p)
{
    return p->connected && p->daemon;
}

static double rate(long part, long whole)
{
    return whole > 0 ? (double)part / (double)whole : 0.0;
}

/* The "could not run" findings of a step: one per gap, never silent. */
static void add_gaps(const struct diag_in *in, int step, struct findings *out)
{
    static const char *const ids[] = {NULL, "transport.not_run", "reach.not_run", "policy.not_run",
                                      "mtu.not_run", "timers.not_run"};
    const struct peer_facts *peers[2] = {in->a, in->b};
    for (int i = 0; i < 2; i++) {
        const struct peer_facts *p = peers[i];
        if (!p || !p->connected)
            continue;
        for (int g = 0; g < p->n_gaps && g < PF_MAX_GAPS; g++) {
            if (p->gaps[g].step != step)
                continue;
            const char *kv[] = {"peer", nz(p->name), "probe", nz(p->gaps[g].probe), "reason",
                                nz(p->gaps[g].reason), NULL};
            struct finding *f = add(out, ids[step], step, SEV_WARNING, kv, "%s: could not check: %s (%s)",
                                    nz(p->name), nz(p->gaps[g].probe), nz(p->gaps[g].reason));
            if (f)
                finding_add_evidence(f, p->name, p->gaps[g].probe, "%s", nz(p->gaps[g].reason));
        }
    }
}

/* Is p behind NAT?  Its own view first (it knows whether the other end saw
 * its address changed); the other end's nat-remote only when p did not say.
 * (strongSwan with kernel-libipsec reports nat-remote=yes on the NATed end
 * too, so the other end's view is not trusted over p's own.) */
static bool behind_nat(const struct peer_facts *p, const struct peer_facts *other)
{
    if (p->ike.nat_local != TRI_UNKNOWN)
        return p->ike.nat_local == TRI_YES;
    /* p does not say (Libreswan prints no NAT flags): p is behind NAT when the
     * other end's IKE SA sees it at another address than p's own */
    if (p->ike.local_host && other->ike.remote_host && p->ike.state && other->ike.state)
        return strcmp(p->ike.local_host, other->ike.remote_host) != 0;
    return other->ike.nat_remote == TRI_YES;
}

static bool ike_up(const struct peer_facts *p)
{
    return p->ike.state && !strcmp(p->ike.state, "ESTABLISHED");
}

static bool child_up(const struct peer_facts *p)
{
    return p->child.state && (!strcmp(p->child.state, "INSTALLED") || !strcmp(p->child.state, "REKEYED"));
}

/* ---- step 1: transport ---------------------------------------------------- */

/* What keeps a peer from being examined at all (step 1): not connected, no
 * sudo, no daemon, no connection.  True when blocked. */
static bool transport_blockers(const struct peer_facts *p, struct findings *out)
{
    bool blocked = false;
    if (!p->connected) {
        const char *kv[] = {"peer", nz(p->name), NULL};
        struct finding *f = add(out, "peer.unreachable", STEP_TRANSPORT, SEV_FAILURE, kv,
                                "%s: cannot connect: %s", nz(p->name), nz(p->connect_error));
        if (f)
            finding_add_evidence(f, p->name, "ssh", "%s", nz(p->connect_error));
        return true;
    }
    if (p->sudo == TRI_NO) {
        const char *kv[] = {"peer", nz(p->name), NULL};
        struct finding *f = add(out, "peer.no_sudo", STEP_TRANSPORT, SEV_FAILURE, kv,
                                "%s: sudo -n refused: the probes that need root cannot run", nz(p->name));
        if (f)
            finding_add_evidence(f, p->name, "sudo -n true", "refused");
        blocked = true;
    }
    if (!p->daemon) {
        /* swanctl needs root: with sudo refused whether a daemon runs is
         * not known (peer.no_sudo says why), so it is not claimed */
        if (p->sudo != TRI_NO) {
            const char *kv[] = {"peer", nz(p->name), NULL};
            struct finding *f = add(out, "transport.no_daemon", STEP_TRANSPORT, SEV_FAILURE, kv,
                                    "%s: no IKE daemon answers (neither strongSwan nor Libreswan)", nz(p->name));
            if (f)
                finding_add_evidence(f, p->name, "swanctl --list-sas --raw; ipsec whack --status",
                                     "neither strongSwan's charon nor Libreswan's pluto answered");
        }
        blocked = true;
    } else if (!p->conn.name) {
        const char *kv[] = {"peer", nz(p->name), NULL};
        struct finding *f = add(out, "transport.no_conn", STEP_TRANSPORT, SEV_FAILURE, kv,
                                "%s: no connection whose addresses match the other peer", nz(p->name));
        if (f)
            finding_add_evidence(f, p->name, src_conns(p), NULL);
        blocked = true;
    }
    return blocked;
}

/* Nothing listening on UDP/500 or UDP/4500 on a peer (step 1).  True when so. */
static bool transport_listeners(const struct peer_facts *p, struct findings *out)
{
    if (p->listen500 == TRI_NO || p->listen4500 == TRI_NO) {
        const char *port = p->listen500 == TRI_NO && p->listen4500 == TRI_NO ? "UDP/500 and UDP/4500"
                           : p->listen500 == TRI_NO                        ? "UDP/500"
                                                                           : "UDP/4500";
        const char *kv[] = {"peer", nz(p->name), "port", port, NULL};
        struct finding *f = add(out, "transport.no_listener", STEP_TRANSPORT, SEV_FAILURE, kv,
                                "%s: nothing listens on %s", nz(p->name), port);
        if (f)
            finding_add_evidence(f, p->name, "ss -ulnp", "no socket bound to %s", port);
        return true;
    }
    return false;
}

static void step_transport(const struct diag_in *in, struct findings *out)
{
    const struct peer_facts *peers[2] = {in->a, in->b};
    bool blocked = false;

    for (int i = 0; i < 2; i++)
        blocked |= transport_blockers(peers[i], out);
    if (blocked) {
        add_gaps(in, STEP_TRANSPORT, out);
        return;
    }

    bool any_fail = false;
    /* listeners */
    for (int i = 0; i < 2; i++)
        any_fail |= transport_listeners(peers[i], out);

    /* IKE SA on both ends */
    if (!ike_up(in->a) || !ike_up(in->b)) {
        const char *kv[] = {"a", nz(in->a->name), "b", nz(in->b->name), NULL};
        struct finding *f = add(out, "transport.no_ike_sa", STEP_TRANSPORT, SEV_FAILURE, kv,
                                "no ESTABLISHED IKE SA for %s: %s is %s, %s is %s", nz(in->a->conn.name),
                                nz(in->a->name), in->a->ike.state ? in->a->ike.state : "without IKE SA",
                                nz(in->b->name), in->b->ike.state ? in->b->ike.state : "without IKE SA");
        for (int i = 0; f && i < 2; i++) {
            const struct peer_facts *p = peers[i];
            finding_add_evidence(f, p->name, src_sas(p), "IKE SA %s: %s", nz(p->conn.name),
                                 p->ike.state ? p->ike.state : "none");
            if (p->logs.known && p->logs.retransmits)
                finding_add_evidence(f, p->name, "daemon log", "%d IKE retransmits", p->logs.retransmits);
        }
        any_fail = true;
    } else if (!child_up(in->a) || !child_up(in->b)) {
        const char *kv[] = {"a", nz(in->a->name), "b", nz(in->b->name), NULL};
        int ts_unacc = (in->a->logs.known ? in->a->logs.ts_unacceptable : 0) +
                       (in->b->logs.known ? in->b->logs.ts_unacceptable : 0);
        int no_prop = (in->a->logs.known ? in->a->logs.no_proposal_chosen : 0) +
                      (in->b->logs.known ? in->b->logs.no_proposal_chosen : 0);
        struct finding *f = add(out, "transport.no_child_sa", STEP_TRANSPORT, SEV_FAILURE, kv,
                                "IKE SA up but no CHILD SA installed (%s: %s, %s: %s)%s", nz(in->a->name),
                                in->a->child.state ? in->a->child.state : "none", nz(in->b->name),
                                in->b->child.state ? in->b->child.state : "none",
                                ts_unacc ? ": TS_UNACCEPTABLE in the logs"
                                : no_prop ? ": NO_PROPOSAL_CHOSEN in the logs"
                                          : "");
        for (int i = 0; f && i < 2; i++) {
            const struct peer_facts *p = peers[i];
            finding_add_evidence(f, p->name, src_sas(p), "CHILD SA %s: %s", nz(p->conn.child),
                                 p->child.state ? p->child.state : "none");
            if (p->logs.known && (p->logs.ts_unacceptable || p->logs.no_proposal_chosen))
                finding_add_evidence(f, p->name, "daemon log", "TS_UNACCEPTABLE x%d, NO_PROPOSAL_CHOSEN x%d",
                                     p->logs.ts_unacceptable, p->logs.no_proposal_chosen);
            for (int l = 0; l < PF_MAX_LOG && p->logs.lines[l]; l++)
                finding_add_evidence(f, p->name, "daemon log", "%s", p->logs.lines[l]);
        }
        any_fail = true;
    }

    /* NAT-T and encapsulation */
    bool nat_a = behind_nat(in->a, in->b), nat_b = behind_nat(in->b, in->a);
    bool encap = in->a->child.encap == TRI_YES || in->b->child.encap == TRI_YES || nat_a || nat_b;
    if (nat_a || nat_b) {
        char who[160];
        snprintf(who, sizeof who, "%s%s%s", nat_a ? nz(in->a->name) : "", nat_a && nat_b ? " and " : "",
                 nat_b ? nz(in->b->name) : "");
        const char *kv[] = {"natted", who, NULL};
        struct finding *f = add(out, "transport.natt", STEP_TRANSPORT, SEV_INFO, kv,
                                "NAT-T in use: %s behind NAT; IKE on UDP/%d, ESP-in-UDP/4500", who,
                                in->a->ike.local_port > 0 ? in->a->ike.local_port : 4500);
        for (int i = 0; f && i < 2; i++) {
            const struct peer_facts *p = peers[i];
            finding_add_evidence(f, p->name, src_sas(p), "IKE %s:%d -> %s:%d, nat-local=%s nat-remote=%s, encap=%s",
                                 nz(p->ike.local_host), p->ike.local_port, nz(p->ike.remote_host),
                                 p->ike.remote_port, tri_name(p->ike.nat_local), tri_name(p->ike.nat_remote),
                                 tri_name(p->child.encap));
        }
    } else if (!encap) {
        for (int i = 0; i < 2; i++) {
            const struct peer_facts *p = peers[i];
            if (!p->fw.drop_esp)
                continue;
            const char *kv[] = {"peer", nz(p->name), NULL};
            struct finding *f = add(out, "transport.esp_raw_blocked", STEP_TRANSPORT, SEV_FAILURE, kv,
                                    "raw ESP (IP proto 50) in use and %s's firewall drops it", nz(p->name));
            if (f)
                finding_add_evidence(f, p->name, src_fw(p), "%s", p->fw.drop_esp);
            any_fail = true;
        }
    }

    if (!any_fail) {
        struct finding *f =
            add(out, "transport.ok", STEP_TRANSPORT, SEV_OK, NULL,
                "IKE SA ESTABLISHED and CHILD SA INSTALLED on both ends; %s; UDP/500 and UDP/4500 listening",
                encap ? "ESP-in-UDP/4500" : "raw ESP (IP proto 50)");
        for (int i = 0; f && i < 2; i++)
            finding_add_evidence(f, peers[i]->name, src_sas(peers[i]), "CHILD SA SPI in %08x out %08x",
                                 peers[i]->child.spi_in, peers[i]->child.spi_out);
    }
    add_gaps(in, STEP_TRANSPORT, out);
}

/* ---- step 2: reachability ------------------------------------------------- */

static void spi_evidence(struct finding *f, const struct reach_dir *d)
{
    for (int s = 0; s < d->n_spis && s < 4; s++)
        finding_add_evidence(f, NULL, "capture A+B", "SPI %08x: %ld sent, %ld received, %ld lost",
                             d->spis[s].spi, d->spis[s].sent, d->spis[s].received, d->spis[s].lost);
}

/* ESP packets whose fate is known: sent while the receiver's capture ran
 * (the others are "outside": they may have arrived after it stopped). */
static long esp_counted(const struct reach_dir *d)
{
    long n = d->esp_sent + d->raw_esp_sent - d->esp_outside;
    return n > 0 ? n : 0;
}

static bool dir_lossy(const struct reach_dir *d, double min_rate)
{
    long sent = esp_counted(d);
    return d->esp_lost >= LOSS_MIN_PACKETS && rate(d->esp_lost, sent) >= min_rate;
}

/* Nothing on UDP/4500 arrived, and what was sent included IKE or keepalives:
 * a block of the port, not a filter on ESP (ESP alone lost is esp_lost). */
static bool dir_blocked(const struct reach_dir *d)
{
    return d->udp4500_sent > 0 && d->udp4500_received == 0 && (d->ike_sent > 0 || d->ka_sent > 0);
}

/* Loss in one direction only, from the capture or (without one) from the SA
 * counters. */
static void reach_one_way(const struct diag_in *in, const struct reach_dir *d, const struct peer_facts *x,
                          const struct peer_facts *y, const char *id, struct findings *out)
{
    long sent = esp_counted(d);
    double r = rate(d->esp_lost, sent);
    char pct[32];
    snprintf(pct, sizeof pct, "%.1f %%", 100.0 * r);
    const char *kv[] = {"from", nz(x->name), "to", nz(y->name), "rate", pct, NULL};
    struct finding *f = add(out, id, STEP_REACH, r >= LOSS_FAIL_RATE ? SEV_FAILURE : SEV_WARNING, kv,
                            "%ld of %ld ESP packets sent by %s did not arrive at %s (%s lost)", d->esp_lost,
                            sent, nz(x->name), nz(y->name), pct);
    if (!f)
        return;
    spi_evidence(f, d);
    finding_add_evidence(f, x->name, "capture", "%ld ESP sent, %ld keepalives, %ld IKE", d->esp_sent + d->raw_esp_sent,
                         d->ka_sent, d->ike_sent);
    if (d->esp_outside > 0)
        finding_add_evidence(f, y->name, "capture",
                             "%ld more ESP sent outside its capture span (at its edges), not counted",
                             d->esp_outside);
    finding_add_evidence(f, y->name, "capture", "%ld ESP received, %ld keepalives, %ld IKE",
                         d->esp_received + d->raw_esp_received, d->ka_received, d->ike_received);
    (void)in;
}

static void step_reach(const struct diag_in *in, struct findings *out)
{
    const struct reach_facts *r = in->reach;
    const struct peer_facts *a = in->a, *b = in->b;
    if (!peer_usable(a) || !peer_usable(b)) {
        add_gaps(in, STEP_REACH, out);
        return;
    }
    bool any = false;

    if (!r || !r->ran) {
        const char *why = r && r->error ? r->error : "no capture was taken";
        const char *kv[] = {"reason", why, NULL};
        struct finding *f = add(out, "reach.not_run", STEP_REACH, SEV_WARNING, kv,
                                "two-end capture could not run: %s", why);
        if (f)
            finding_add_evidence(f, NULL, "capture A+B", "%s", why);
        /* the SA counters are a second witness */
        if (r && r->a_out > 0 && r->b_in == 0) {
            const char *kv2[] = {"from", nz(a->name), "to", nz(b->name), "rate", "100 %", NULL};
            f = add(out, "reach.esp_lost_a_to_b", STEP_REACH, SEV_FAILURE, kv2,
                    "%s's CHILD SA sent %lld packets, %s's received none (SA counters)", nz(a->name),
                    (long long)r->a_out, nz(b->name));
            if (f) {
                finding_add_evidence(f, a->name, src_sas(a), "SPI out %08x: +%lld packets", a->child.spi_out,
                                     (long long)r->a_out);
                finding_add_evidence(f, b->name, src_sas(b), "SPI in %08x: +0 packets", b->child.spi_in);
            }
        }
        if (r && r->b_out > 0 && r->a_in == 0) {
            const char *kv2[] = {"from", nz(b->name), "to", nz(a->name), "rate", "100 %", NULL};
            f = add(out, "reach.esp_lost_b_to_a", STEP_REACH, SEV_FAILURE, kv2,
                    "%s's CHILD SA sent %lld packets, %s's received none (SA counters)", nz(b->name),
                    (long long)r->b_out, nz(a->name));
            if (f) {
                finding_add_evidence(f, b->name, src_sas(b), "SPI out %08x: +%lld packets", b->child.spi_out,
                                     (long long)r->b_out);
                finding_add_evidence(f, a->name, src_sas(a), "SPI in %08x: +0 packets", a->child.spi_in);
            }
        }
        add_gaps(in, STEP_REACH, out);
        return;
    }

    const struct reach_dir *ab = &r->a_to_b, *ba = &r->b_to_a;
    bool blk_ab = dir_blocked(ab), blk_ba = dir_blocked(ba);
    if (blk_ab || blk_ba) {
        for (int i = 0; i < 2; i++) {
            const struct reach_dir *d = i ? ba : ab;
            if (!(i ? blk_ba : blk_ab))
                continue;
            const struct peer_facts *x = i ? b : a, *y = i ? a : b;
            const char *kv[] = {"from", nz(x->name), "to", nz(y->name), NULL};
            struct finding *f = add(out, i ? "reach.udp4500_blocked_b_to_a" : "reach.udp4500_blocked_a_to_b",
                                    STEP_REACH, SEV_FAILURE, kv,
                                    "UDP/4500 from %s never reaches %s: %ld packets sent (ESP %ld, IKE %ld, "
                                    "keepalives %ld), none received",
                                    nz(x->name), nz(y->name), d->udp4500_sent, d->esp_sent, d->ike_sent,
                                    d->ka_sent);
            if (f) {
                finding_add_evidence(f, x->name, "capture", "%ld UDP/4500 packets sent in %.1f s",
                                     d->udp4500_sent, r->window_s);
                finding_add_evidence(f, y->name, "capture", "0 UDP/4500 packets received from %s",
                                     nz(x->name));
                spi_evidence(f, d);
            }
            any = true;
        }
    }

    bool lossy_ab = !blk_ab && dir_lossy(ab, LOSS_WARN_RATE);
    bool lossy_ba = !blk_ba && dir_lossy(ba, LOSS_WARN_RATE);
    if (lossy_ab && lossy_ba) {
        long s1 = esp_counted(ab), s2 = esp_counted(ba);
        double r1 = rate(ab->esp_lost, s1), r2 = rate(ba->esp_lost, s2);
        char t1[32], t2[32];
        snprintf(t1, sizeof t1, "%.1f %%", 100.0 * r1);
        snprintf(t2, sizeof t2, "%.1f %%", 100.0 * r2);
        const char *kv[] = {"a", nz(a->name), "b", nz(b->name), "rate_ab", t1, "rate_ba", t2, NULL};
        bool bad = r1 >= LOSS_FAIL_RATE || r2 >= LOSS_FAIL_RATE;
        struct finding *f = add(out, "reach.random_loss", STEP_REACH, bad ? SEV_FAILURE : SEV_WARNING, kv,
                                "ESP lost both ways: %s -> %s %ld/%ld (%s), %s -> %s %ld/%ld (%s)", nz(a->name),
                                nz(b->name), ab->esp_lost, s1, t1, nz(b->name), nz(a->name), ba->esp_lost, s2, t2);
        if (f) {
            spi_evidence(f, ab);
            spi_evidence(f, ba);
        }
        any = true;
    } else {
        if (lossy_ab) {
            reach_one_way(in, ab, a, b, "reach.esp_lost_a_to_b", out);
            any = true;
        }
        if (lossy_ba) {
            reach_one_way(in, ba, b, a, "reach.esp_lost_b_to_a", out);
            any = true;
        }
    }

    /* NAT mapping */
    for (int i = 0; i < 2; i++) {
        const struct reach_dir *d = i ? ba : ab;
        const struct peer_facts *x = i ? b : a, *y = i ? a : b;
        if (d->mapping_changes <= 0)
            continue;
        const char *kv[] = {"natted", nz(x->name), "observer", nz(y->name), NULL};
        struct finding *f = add(out, "reach.nat_mapping_changed", STEP_REACH, SEV_FAILURE, kv,
                                "the NAT mapping of %s changed %d time%s in %.0f s: %s seen as %s, then %s",
                                nz(x->name), d->mapping_changes, d->mapping_changes > 1 ? "s" : "", r->window_s,
                                nz(x->name), nz(d->mapping_first), nz(d->mapping_last));
        if (f)
            finding_add_evidence(f, y->name, "capture", "outer source of %s: %s -> %s", nz(x->name),
                                 nz(d->mapping_first), nz(d->mapping_last));
        any = true;
    }

    /* keepalives of the NATed end(s) against the shortest UDP timeout seen */
    int tmin = -1;
    const char *tmin_peer = NULL;
    const struct peer_facts *peers[2] = {a, b};
    for (int i = 0; i < 2; i++) {
        int t = peers[i]->udp_timeout;
        if (t > 0 && (tmin < 0 || t < tmin)) {
            tmin = t;
            tmin_peer = peers[i]->name;
        }
    }
    for (int i = 0; i < 2; i++) {
        const struct peer_facts *p = peers[i], *q = peers[1 - i];
        if (!behind_nat(p, q))
            continue;
        const struct reach_dir *d = i ? ba : ab;
        char tbuf[96];
        if (tmin > 0)
            snprintf(tbuf, sizeof tbuf, "%d s (nf_conntrack_udp_timeout on %s)", tmin, nz(tmin_peer));
        else
            snprintf(tbuf, sizeof tbuf, "unknown");
        const char *kv[] = {"peer", nz(p->name), "timeout", tbuf, NULL};
        struct finding *f = NULL;
        if (p->keepalive_s == 0) {
            f = add(out, "reach.keepalive_too_sparse", STEP_REACH, SEV_FAILURE, kv,
                    "%s is behind NAT and sends no NAT-T keepalives (keep_alive = 0); shortest UDP timeout seen: "
                    "%s, the NAT device's own is not visible",
                    nz(p->name), tbuf);
        } else if (p->keepalive_s > 0 && tmin > 0 && p->keepalive_s >= tmin) {
            f = add(out, "reach.keepalive_too_sparse", STEP_REACH, SEV_FAILURE, kv,
                    "%s sends NAT-T keepalives every %d s, not below the shortest UDP timeout seen: %s",
                    nz(p->name), p->keepalive_s, tbuf);
        } else if (p->keepalive_s < 0 && d->ka_sent == 0 && tmin > 0 && r->window_s >= tmin &&
                   d->udp4500_sent == 0) {
            f = add(out, "reach.keepalive_too_sparse", STEP_REACH, SEV_FAILURE, kv,
                    "%s is behind NAT and sent nothing on UDP/4500 for %.0f s, longer than the UDP timeout %s",
                    nz(p->name), r->window_s, tbuf);
        } else if (p->keepalive_s < 0 && d->ka_interval_s > 0 && tmin > 0 && d->ka_interval_s >= tmin) {
            f = add(out, "reach.keepalive_too_sparse", STEP_REACH, SEV_FAILURE, kv,
                    "%s's keepalives come every %.0f s, not below the UDP timeout %s", nz(p->name),
                    d->ka_interval_s, tbuf);
        }
        if (f) {
            finding_add_evidence(f, p->name, "strongswan.conf charon.keep_alive",
                                 p->keepalive_s >= 0 ? "%d s" : "unknown", p->keepalive_s);
            finding_add_evidence(f, NULL, "capture A+B", "%ld keepalives sent by %s in %.1f s", d->ka_sent,
                                 nz(p->name), r->window_s);
            for (int k = 0; k < 2; k++)
                if (peers[k]->udp_timeout > 0)
                    finding_add_evidence(f, peers[k]->name, "sysctl net.netfilter.nf_conntrack_udp_timeout",
                                         "%d s (stream %d s)", peers[k]->udp_timeout,
                                         peers[k]->udp_timeout_stream);
            finding_add_evidence(f, NULL, "path", "a NAT device between the gateways is not reachable by ssh: "
                                                  "its timeouts are not known, only the gateways'");
            any = true;
        } else {
            struct finding *ok = add(out, "reach.keepalive_ok", STEP_REACH, SEV_INFO, NULL,
                                     "%s (behind NAT) keepalive %s; shortest UDP timeout seen %s (NAT device itself "
                                     "not visible)",
                                     nz(p->name), p->keepalive_s > 0 ? "configured" : "interval unknown", tbuf);
            if (ok && p->keepalive_s > 0)
                finding_add_evidence(ok, p->name, "strongswan.conf charon.keep_alive", "%d s", p->keepalive_s);
        }
    }

    long esp_total = ab->esp_sent + ab->raw_esp_sent + ba->esp_sent + ba->raw_esp_sent;
    if (!any && esp_total == 0) {
        /* nothing in the window: the SA counters since the diagnosis began are a second witness */
        for (int i = 0; i < 2; i++) {
            int64_t sent = i ? r->b_out : r->a_out, recv = i ? r->a_in : r->b_in;
            const struct peer_facts *x = peers[i], *y = peers[1 - i];
            if (sent > 0 && recv == 0) {
                const char *kv2[] = {"from", nz(x->name), "to", nz(y->name), "rate", "100 %", NULL};
                struct finding *f = add(out, i ? "reach.esp_lost_b_to_a" : "reach.esp_lost_a_to_b", STEP_REACH,
                                        SEV_FAILURE, kv2,
                                        "%s's CHILD SA sent %lld packets during the diagnosis, %s's received none "
                                        "(SA counters; none in the capture window)",
                                        nz(x->name), (long long)sent, nz(y->name));
                if (f) {
                    finding_add_evidence(f, x->name, src_sas(x), "SPI out %08x: +%lld packets", x->child.spi_out,
                                         (long long)sent);
                    finding_add_evidence(f, y->name, src_sas(y), "SPI in %08x: +0 packets", y->child.spi_in);
                }
                any = true;
            }
        }
    }
    if (!any) {
        if (esp_total == 0) {
            add(out, "reach.no_traffic", STEP_REACH, SEV_INFO, NULL,
                "no ESP in the %.1f s window (keepalives %ld/%ld, IKE %ld/%ld): loss cannot be measured on an "
                "idle tunnel",
                r->window_s, ab->ka_sent, ba->ka_sent, ab->ike_sent, ba->ike_sent);
        } else {
            struct finding *f = add(
                out, "reach.ok", STEP_REACH, SEV_OK, NULL,
                "ESP both ways: %s -> %s %ld sent / %ld received, %s -> %s %ld sent / %ld received (%.1f s)",
                nz(a->name), nz(b->name), ab->esp_sent + ab->raw_esp_sent, ab->esp_received + ab->raw_esp_received,
                nz(b->name), nz(a->name), ba->esp_sent + ba->raw_esp_sent, ba->esp_received + ba->raw_esp_received,
                r->window_s);
            if (f && ab->delay_median_ms >= 0)
                finding_add_evidence(f, NULL, "capture A+B", "one-way delay %s->%s median %.2f ms, p99 %.2f ms (%s)",
                                     nz(a->name), nz(b->name), ab->delay_median_ms, ab->delay_p99_ms,
                                     nz(r->offset_method));
        }
    }
    add_gaps(in, STEP_REACH, out);
}

/* ---- step 3: selectors, policy, routing, NAT exemption ------------------ */

enum ts_relation { TS_EQUAL, TS_NARROWED, TS_DISJOINT, TS_UNCOMPARABLE };

/* every entry of x is inside some entry of y */
static bool ts_covered(const char *const *x, const char *const *y)
{
    for (int i = 0; i < PF_MAX && x[i]; i++) {
        struct cidr cx;
        if (cidr_parse(x[i], &cx))
            return false;
        bool in = false;
        for (int j = 0; j < PF_MAX && y[j] && !in; j++) {
            struct cidr cy;
            in = !cidr_parse(y[j], &cy) && cidr_contains(&cy, &cx);
        }
        if (!in)
            return false;
    }
    return true;
}

static enum ts_relation ts_compare(const char *const *x, const char *const *y)
{
    if (!x[0] || !y[0])
        return TS_UNCOMPARABLE;
    for (int i = 0; i < PF_MAX && x[i]; i++)
        if (!strcmp(x[i], "dynamic"))
            return TS_UNCOMPARABLE;
    for (int i = 0; i < PF_MAX && y[i]; i++)
        if (!strcmp(y[i], "dynamic"))
            return TS_UNCOMPARABLE;
    bool xy = ts_covered(x, y), yx = ts_covered(y, x);
    if (xy && yx)
        return TS_EQUAL;
    if (xy || yx)
        return TS_NARROWED;
    return TS_DISJOINT;
}

static bool ts_overlaps_any(const char *cidr, const char *const *ts)
{
    for (int i = 0; i < PF_MAX && ts[i]; i++)
        if (cidr_str_overlaps(cidr, ts[i]))
            return true;
    return false;
}

/* A peer whose local subnets overlap its remote ones (step 3).  True when so. */
static bool policy_overlap(const struct peer_facts *p, struct findings *out)
{
    for (int l = 0; l < PF_MAX && p->conn.local_ts[l]; l++)
        if (ts_overlaps_any(p->conn.local_ts[l], p->conn.remote_ts) &&
            strcmp(p->conn.local_ts[l], "0.0.0.0/0") && strcmp(p->conn.local_ts[l], "::/0")) {
            char *pl = list_str(p->conn.local_ts), *pr = list_str(p->conn.remote_ts);
            const char *kv[] = {"peer", nz(p->name), NULL};
            struct finding *f = add(out, "policy.subnet_overlap", STEP_POLICY, SEV_FAILURE, kv,
                                    "%s: local subnets %s overlap the remote subnets %s", nz(p->name), pl, pr);
            if (f)
                finding_add_evidence(f, p->name, src_conns(p), "local_ts %s, remote_ts %s", pl, pr);
            free(pl);
            free(pr);
            return true;
        }
    return false;
}

/* A NAT rule that catches a peer's protected traffic before IPsec (step 3).  True when so. */
static bool policy_nat_exemption(const struct peer_facts *p, struct findings *out)
{
    if (!p->fw.known)
        return false;
    for (int k = 0; k < p->fw.n_nat && k < PF_MAX_RULES; k++) {
        const struct pf_nat_rule *nr = &p->fw.nat[k];
        bool src_hit = !nr->src || ts_overlaps_any(nr->src, p->conn.local_ts);
        bool dst_hit = !nr->dst || ts_overlaps_any(nr->dst, p->conn.remote_ts);
        bool oif_hit = !nr->oif || (p->route.dev && !strcmp(nr->oif, p->route.dev));
        if (nr->oif && !p->route.dev && (nr->src || nr->dst))
            oif_hit = true; /* explicit protected subnets: the interface does not save it */
        if (!src_hit || !dst_hit || !oif_hit)
            continue;
        if (nr->action == PF_NAT_EXEMPT)
            break;
        if (nr->ipsec_none)
            continue;
        char *pl = list_str(p->conn.local_ts), *pr = list_str(p->conn.remote_ts);
        const char *kv[] = {"peer", nz(p->name), "rule", nz(nr->text), "local", pl, "remote", pr, NULL};
        struct finding *f = add(out, "policy.nat_exemption_missing", STEP_POLICY, SEV_FAILURE, kv,
                                "%s: %s rule catches protected traffic %s -> %s before IPsec", nz(p->name),
                                nr->action == PF_NAT_SNAT ? "SNAT" : "MASQUERADE", pl, pr);
        if (f)
            finding_add_evidence(f, p->name, src_fw(p), "%s", nz(nr->text));
        free(pl);
        free(pr);
        return true;
    }
    return false;
}

/* No route to the remote protected host on a peer (step 3).  True when so. */
static bool policy_route(const struct peer_facts *p, struct findings *out)
{
    if (!p->route.dst || !p->route.error)
        return false;
    const char *kv[] = {"peer", nz(p->name), "dst", p->route.dst, NULL};
    struct finding *f = add(out, "policy.route_wrong", STEP_POLICY, SEV_FAILURE, kv,
                            "%s: no route to the remote protected host %s: %s", nz(p->name), p->route.dst,
                            p->route.error);
    if (f)
        finding_add_evidence(f, p->name, "ip route get", "%s from %s: %s", p->route.dst, nz(p->route.from),
                             p->route.error);
    return true;
}

static void step_policy(const struct diag_in *in, struct findings *out)
{
    const struct peer_facts *a = in->a, *b = in->b;
    const struct peer_facts *peers[2] = {a, b};
    if (!peer_usable(a) || !peer_usable(b) || !a->conn.name || !b->conn.name) {
        add_gaps(in, STEP_POLICY, out);
        return;
    }
    bool bad = false;

    /* selectors, crosswise */
    enum ts_relation r1 = ts_compare(a->conn.local_ts, b->conn.remote_ts);
    enum ts_relation r2 = ts_compare(a->conn.remote_ts, b->conn.local_ts);
    char *al = list_str(a->conn.local_ts), *ar = list_str(a->conn.remote_ts);
    char *bl = list_str(b->conn.local_ts), *br = list_str(b->conn.remote_ts);
    if (r1 == TS_DISJOINT || r2 == TS_DISJOINT || r1 == TS_NARROWED || r2 == TS_NARROWED) {
        bool fail = r1 == TS_DISJOINT || r2 == TS_DISJOINT;
        const char *kv[] = {"a", nz(a->name), "b", nz(b->name), "a_local", al, "a_remote", ar,
                            "b_local", bl, "b_remote", br, NULL};
        struct finding *f =
            add(out, "policy.ts_mismatch", STEP_POLICY, fail ? SEV_FAILURE : SEV_INFO, kv,
                "traffic selectors %s: %s local %s / remote %s; %s local %s / remote %s",
                fail ? "do not match" : "differ (narrowed)", nz(a->name), al, ar, nz(b->name), bl, br);
        if (f) {
            finding_add_evidence(f, a->name, src_conns(a), "local_ts %s, remote_ts %s", al, ar);
            finding_add_evidence(f, b->name, src_conns(b), "local_ts %s, remote_ts %s", bl, br);
            if (r1 != TS_EQUAL)
                finding_add_evidence(f, NULL, "comparison", "%s local_ts %s vs %s remote_ts %s", nz(a->name), al,
                                     nz(b->name), br);
            if (r2 != TS_EQUAL)
                finding_add_evidence(f, NULL, "comparison", "%s remote_ts %s vs %s local_ts %s", nz(a->name), ar,
                                     nz(b->name), bl);
        }
        bad |= fail;
    }

    /* overlapping subnets (once is enough: the other side sees the same overlap) */
    for (int i = 0; i < 2; i++)
        if (policy_overlap(peers[i], out)) {
            bad = true;
            break;
        }

    /* NAT exemption: the first postrouting NAT rule that applies to protected traffic */
    for (int i = 0; i < 2; i++)
        bad |= policy_nat_exemption(peers[i], out);

    /* routing */
    for (int i = 0; i < 2; i++)
        bad |= policy_route(peers[i], out);

    if (!bad) {
        struct finding *f = add(out, "policy.ok", STEP_POLICY, SEV_OK, NULL,
                                "selectors match crosswise (%s %s <-> %s %s)%s", nz(a->name), al, nz(b->name), bl,
                                a->fw.known && b->fw.known ? "; no NAT rule catches protected traffic" : "");
        for (int i = 0; f && i < 2; i++)
            if (peers[i]->route.dst && peers[i]->route.dev)
                finding_add_evidence(f, peers[i]->name, "ip route get", "%s from %s: dev %s%s%s",
                                     peers[i]->route.dst, nz(peers[i]->route.from), peers[i]->route.dev,
                                     peers[i]->route.via ? " via " : "",
                                     peers[i]->route.via ? peers[i]->route.via : "");
    }
    free(al);
    free(ar);
    free(bl);
    free(br);
    add_gaps(in, STEP_POLICY, out);
}

/* ---- step 4: MTU ---------------------------------------------------------- */

void esp_overhead_compute(int path_mtu, struct esp_overhead *o)
{
    memset(o, 0, sizeof *o);
    o->path_mtu = path_mtu;
    o->outer_ip = 20;
    o->udp = 8;
    o->esp_hdr = 8;
    o->iv = 8;
    o->trailer = 2;
    o->icv = 16;
    int room = path_mtu - o->outer_ip - o->udp - o->esp_hdr - o->iv - o->icv; /* payload + pad + trailer */
    if (room < 8) {
        o->inner_max = 0;
        o->total = path_mtu;
        return;
    }
    int aligned = room / 4 * 4;
    o->inner_max = aligned - o->trailer;
    o->pad = aligned - (o->inner_max + o->trailer);
    o->total = path_mtu - o->inner_max;
    o->mss = o->inner_max - 40;
}

int esp_outer_size(int inner_len)
{
    int payload = (inner_len + 2 + 3) / 4 * 4;
    return 20 + 8 + 8 + 8 + payload + 16;
}

static void overhead_evidence(struct finding *f, const struct esp_overhead *o)
{
    finding_add_evidence(f, NULL, "arithmetic",
                         "ESP-in-UDP, AES-GCM-16: outer IPv4 %d + UDP %d + ESP header %d + IV %d + ICV %d = %d; "
                         "+ trailer %d (pad length, next header) + padding %d to a multiple of 4 = %d bytes",
                         o->outer_ip, o->udp, o->esp_hdr, o->iv, o->icv,
                         o->outer_ip + o->udp + o->esp_hdr + o->iv + o->icv, o->trailer, o->pad, o->total);
    finding_add_evidence(f, NULL, "arithmetic",
                         "path MTU %d - %d = inner MTU %d; MSS = %d - 20 (IPv4) - 20 (TCP) = %d", o->path_mtu,
                         o->total, o->inner_max, o->inner_max, o->mss);
}

/* One peer's DF sweep (step 4, --active): its findings; the path MTU, its
 * basis and the largest inner packet measured are lowered where it tells.
 * True when it found a black hole. */
static bool mtu_sweep_peer(const struct peer_facts *p, struct findings *out, int *path_mtu, const char **basis,
                           int *inner_measured)
{
    bool trouble = false;
    const struct pf_sweep *s = &p->sweep;
    const char *kv[] = {"peer", nz(p->name), "from", nz(s->from), "to", nz(s->to), NULL};
    if (!s->ran || s->error) {
        const char *why = s->error ? s->error : "the sweep did not run";
        const char *kvg[] = {"peer", nz(p->name), "probe", "DF ping sweep", "reason", why, NULL};
        struct finding *f = add(out, "mtu.not_run", STEP_MTU, SEV_WARNING, kvg,
                                "%s: DF ping sweep could not run: %s", nz(p->name), why);
        if (f)
            finding_add_evidence(f, p->name, "ping -M do", "%s", why);
        return trouble;
    }
    if (!s->small_ok) {
        struct finding *f = add(out, "mtu.sweep_no_reply", STEP_MTU, SEV_WARNING, kv,
                                "%s: even a small ping %s -> %s got no reply: the path MTU cannot be "
                                "measured",
                                nz(p->name), nz(s->from), nz(s->to));
        if (f)
            finding_add_evidence(f, p->name, "ping -M do -s 56", "no reply");
        return trouble;
    }
    if (s->first_fail > 0 && s->fail_silent) {
        int inner = s->largest_ok + 28;
        struct esp_overhead o;
        esp_overhead_compute(esp_outer_size(inner), &o);
        char mss[16];
        snprintf(mss, sizeof mss, "%d", inner - 40);
        const char *kv2[] = {"peer", nz(p->name), "from", nz(s->from), "to", nz(s->to), "mss", mss, NULL};
        struct finding *f = add(out, "mtu.blackhole", STEP_MTU, SEV_FAILURE, kv2,
                                "%s: PMTU black hole: DF pings through the tunnel pass up to %d bytes "
                                "(ping -s), fail from %d, and no ICMP \"fragmentation needed\" comes back",
                                nz(p->name), s->largest_ok, s->first_fail);
        if (f) {
            finding_add_evidence(f, p->name, "ping -M do", "%s -> %s: -s %d passes, -s %d: no reply, no ICMP",
                                 nz(s->from), nz(s->to), s->largest_ok, s->first_fail);
            finding_add_evidence(f, NULL, "arithmetic",
                                 "largest inner packet %d + 28 = %d bytes; + ESP-in-UDP overhead = outer %d "
                                 "bytes fit the path",
                                 s->largest_ok, inner, esp_outer_size(inner));
        }
        trouble = true;
        if (*inner_measured < 0 || inner < *inner_measured)
            *inner_measured = inner;
    } else if (s->frag_needed_mtu > 0) {
        add(out, "mtu.pmtud_ok", STEP_MTU, SEV_INFO, NULL,
            "%s: the path announces MTU %d with ICMP \"fragmentation needed\"; largest DF ping %d bytes",
            nz(p->name), s->frag_needed_mtu, s->largest_ok);
        if (*path_mtu < 0 || s->frag_needed_mtu < *path_mtu) {
            *path_mtu = s->frag_needed_mtu;
            *basis = "ICMP fragmentation needed";
        }
    } else {
        int inner = s->largest_ok + 28;
        add(out, "mtu.sweep_ok", STEP_MTU, SEV_INFO, NULL,
            "%s: DF pings through the tunnel pass up to %d bytes (inner packet %d)%s", nz(p->name),
            s->largest_ok, inner, s->local_mtu > 0 ? " (limited by the local tunnel MTU)" : "");
        if (*inner_measured < 0 || inner < *inner_measured)
            *inner_measured = inner;
    }
    return trouble;
}

static void step_mtu(const struct diag_in *in, struct findings *out)
{
    const struct peer_facts *a = in->a, *b = in->b;
    const struct peer_facts *peers[2] = {a, b};
    if (!peer_usable(a) || !peer_usable(b)) {
        add_gaps(in, STEP_MTU, out);
        return;
    }
    bool trouble = false;
    /* path MTU: measured when the sweep ran, else the outer interfaces' MTU */
    int path_mtu = -1;
    const char *basis = NULL;
    int inner_measured = -1;

    if (in->active)
        for (int i = 0; i < 2; i++)
            trouble |= mtu_sweep_peer(peers[i], out, &path_mtu, &basis, &inner_measured);
    if (path_mtu < 0 && inner_measured > 0) {
        path_mtu = esp_outer_size(inner_measured);
        basis = "measured by the DF sweep";
    }
    if (path_mtu < 0) {
        for (int i = 0; i < 2; i++)
            if (peers[i]->outer_mtu > 0 && (path_mtu < 0 || peers[i]->outer_mtu < path_mtu))
                path_mtu = peers[i]->outer_mtu;
        basis = path_mtu > 0 ? "the gateways' outer interface MTU (not measured: no --active)" : NULL;
    }
    if (path_mtu < 0) {
        path_mtu = 1500;
        basis = "assumed 1500 (no interface MTU known, not measured)";
    }

    /* large packets lost in one direction (passive, from the capture) */
    if (in->reach && in->reach->ran) {
        for (int i = 0; i < 2; i++) {
            const struct reach_dir *d = i ? &in->reach->b_to_a : &in->reach->a_to_b;
            const struct peer_facts *x = peers[i], *y = peers[1 - i];
            long big_sent = 0, big_lost = 0, small_sent = 0, small_lost = 0;
            for (int k = 0; k < REACH_BUCKETS; k++) {
                const struct reach_bucket *bk = &d->buckets[k];
                int lo = k ? d->buckets[k - 1].max_len + 1 : 0;
                if (lo >= BIG_PACKET) {
                    big_sent += bk->sent;
                    big_lost += bk->lost;
                } else {
                    small_sent += bk->sent;
                    small_lost += bk->lost;
                }
            }
            bool frags_lost = d->frag_sent >= LOSS_MIN_PACKETS && d->frag_received == 0;
            if ((big_lost >= LOSS_MIN_PACKETS && rate(big_lost, big_sent) >= 0.5 &&
                 rate(small_lost, small_sent) < 0.05) ||
                frags_lost) {
                const char *kv[] = {"from", nz(x->name), "to", nz(y->name), NULL};
                struct finding *f = add(out, "mtu.large_packets_lost", STEP_MTU, SEV_FAILURE, kv,
                                        "%s -> %s: %ld of %ld large packets (>= %d bytes) lost, %ld of %ld smaller ones",
                                        nz(x->name), nz(y->name), big_lost, big_sent, BIG_PACKET, small_lost,
                                        small_sent);
                if (f) {
                    for (int k = 0; k < REACH_BUCKETS; k++)
                        finding_add_evidence(f, NULL, "capture A+B", "up to %d bytes: %ld sent, %ld lost",
                                             d->buckets[k].max_len, d->buckets[k].sent, d->buckets[k].lost);
                    if (d->frag_sent)
                        finding_add_evidence(f, NULL, "capture A+B", "outer fragments: %ld sent, %ld received",
                                             d->frag_sent, d->frag_received);
                }
                trouble = true;
            }
        }
    }

    struct esp_overhead o;
    esp_overhead_compute(path_mtu, &o);
    char mss[16];
    snprintf(mss, sizeof mss, "%d", inner_measured > 0 ? inner_measured - 40 : o.mss);
    int rec_mss = inner_measured > 0 ? inner_measured - 40 : o.mss;

    /* MSS clamping */
    bool clamp_any = a->fw.mss_clamp == TRI_YES || b->fw.mss_clamp == TRI_YES;
    bool clamp_known = a->fw.mss_clamp != TRI_UNKNOWN && b->fw.mss_clamp != TRI_UNKNOWN;
    if (!clamp_any && clamp_known) {
        const char *kv[] = {"mss", mss, NULL};
        struct finding *f = add(out, "mtu.mss_clamp_missing", STEP_MTU, trouble ? SEV_WARNING : SEV_INFO, kv,
                                "no TCP MSS clamping on either gateway; clamp to %d", rec_mss);
        if (f) {
            for (int i = 0; i < 2; i++)
                finding_add_evidence(f, peers[i]->name, src_fw(peers[i]), "no TCPMSS / maxseg rule");
            overhead_evidence(f, &o);
        }
    } else if (clamp_any) {
        for (int i = 0; i < 2; i++) {
            const struct peer_facts *p = peers[i];
            if (p->fw.mss_clamp == TRI_YES && p->fw.mss_value > rec_mss) {
                const char *kv[] = {"peer", nz(p->name), "mss", mss, NULL};
                struct finding *f = add(out, "mtu.mss_too_high", STEP_MTU, trouble ? SEV_WARNING : SEV_INFO, kv,
                                        "%s clamps MSS to %d, above the %d that fits the tunnel", nz(p->name),
                                        p->fw.mss_value, rec_mss);
                if (f)
                    overhead_evidence(f, &o);
            }
        }
    }

    struct finding *f = add(out, "mtu.overhead", STEP_MTU, SEV_OK, NULL,
                            "path MTU %d (%s): ESP-in-UDP overhead %d bytes, inner MTU %d, TCP MSS %d", path_mtu,
                            nz(basis), o.total, o.inner_max, rec_mss);
    if (f)
        overhead_evidence(f, &o);
    if (!in->active)
        add(out, "mtu.sweep_skipped", STEP_MTU, SEV_INFO, NULL,
            "DF ping sweep not run (it sends pings through the tunnel: ask with --active)");
    add_gaps(in, STEP_MTU, out);
}

/* ---- step 5: proposals and timers ---------------------------------------- */

static bool proposals_intersect(const char *const *x, const char *const *y)
{
    for (int i = 0; i < PF_MAX && x[i]; i++)
        for (int j = 0; j < PF_MAX && y[j]; j++)
            if (!strcasecmp(x[i], y[j]) || !strcasecmp(x[i], "default") || !strcasecmp(y[j], "default"))
                return true;
    return false;
}

static bool proposals_equal(const char *const *x, const char *const *y)
{
    int n = list_len(x);
    if (n != list_len(y))
        return false;
    for (int i = 0; i < n; i++)
        if (strcasecmp(x[i], y[i]))
            return false;
    return true;
}

static void step_timers(const struct diag_in *in, struct findings *out)
{
    const struct peer_facts *a = in->a, *b = in->b;
    const struct peer_facts *peers[2] = {a, b};
    if (!peer_usable(a) || !peer_usable(b) || !a->conn.name || !b->conn.name) {
        add_gaps(in, STEP_TIMERS, out);
        return;
    }
    bool bad = false;

    /* proposals: strongSwan and Libreswan name the same algorithms differently
     * ("AES_GCM_16-256" / "AES_GCM_16_256-NONE"): only texts of one daemon are
     * compared, a mixed pair is said not compared rather than mismatched */
    static const char *const kinds[] = {"IKE", "ESP"};
    bool same_daemon = a->daemon && b->daemon && !strcmp(a->daemon, b->daemon);
    if (!same_daemon && (a->conn.ike_proposals[0] || a->conn.esp_proposals[0]) &&
        (b->conn.ike_proposals[0] || b->conn.esp_proposals[0])) {
        const char *kv[] = {"a", nz(a->name), "b", nz(b->name), NULL};
        struct finding *f = add(out, "timers.proposals_not_compared", STEP_TIMERS, SEV_INFO, kv,
                                "proposals not compared: %s runs %s, %s runs %s, which name algorithms differently",
                                nz(a->name), nz(a->daemon), nz(b->name), nz(b->daemon));
        for (int i = 0; f && i < 2; i++) {
            char *ik = list_str(peers[i]->conn.ike_proposals), *es = list_str(peers[i]->conn.esp_proposals);
            finding_add_evidence(f, peers[i]->name, src_conns(peers[i]), "IKE %s; ESP %s", ik, es);
            free(ik);
            free(es);
        }
    }
    for (int k = 0; same_daemon && k < 2; k++) {
        const char *const *pa = k ? a->conn.esp_proposals : a->conn.ike_proposals;
        const char *const *pb = k ? b->conn.esp_proposals : b->conn.ike_proposals;
        if (!pa[0] || !pb[0] || proposals_equal(pa, pb))
            continue;
        char *sa = list_str(pa), *sb = list_str(pb);
        bool none = !proposals_intersect(pa, pb);
        const char *kv[] = {"kind", kinds[k], "a", nz(a->name), "b", nz(b->name), "a_props", sa, "b_props", sb, NULL};
        struct finding *f = add(out, "timers.proposal_mismatch", STEP_TIMERS, none ? SEV_FAILURE : SEV_INFO, kv,
                                "%s proposals %s: %s offers %s, %s offers %s", kinds[k],
                                none ? "have nothing in common" : "differ", nz(a->name), sa, nz(b->name), sb);
        if (f) {
            finding_add_evidence(f, a->name, src_conns(a), "%s proposals: %s", kinds[k], sa);
            finding_add_evidence(f, b->name, src_conns(b), "%s proposals: %s", kinds[k], sb);
        }
        bad |= none;
        free(sa);
        free(sb);
    }

    /* lifetimes */
    struct {
        const char *what;
        int va, vb;
    } lt[] = {{"IKE rekey_time", a->conn.ike_rekey_time, b->conn.ike_rekey_time},
              {"CHILD rekey_time", a->conn.child_rekey_time, b->conn.child_rekey_time},
              {"CHILD life_time", a->conn.child_life_time, b->conn.child_life_time}};
    bool lt_hard = false, lt_diff = false;
    struct buf ltb = BUF_INIT;
    for (size_t i = 0; i < sizeof lt / sizeof lt[0]; i++)
        if (lt[i].va > 0 && lt[i].vb > 0 && lt[i].va != lt[i].vb) {
            lt_diff = true;
            buf_printf(&ltb, "%s%s %s %d s / %s %d s", ltb.len ? "; " : "", lt[i].what, nz(a->name), lt[i].va,
                       nz(b->name), lt[i].vb);
        }
    if ((a->conn.child_life_time > 0 && b->conn.child_rekey_time > 0 &&
         a->conn.child_life_time <= b->conn.child_rekey_time) ||
        (b->conn.child_life_time > 0 && a->conn.child_rekey_time > 0 &&
         b->conn.child_life_time <= a->conn.child_rekey_time))
        lt_hard = true;
    if (lt_diff) {
        const char *kv[] = {"a", nz(a->name), "b", nz(b->name), NULL};
        struct finding *f = add(out, "timers.lifetime_mismatch", STEP_TIMERS, lt_hard ? SEV_WARNING : SEV_INFO, kv,
                                "lifetimes differ between the ends: %s%s", ltb.data,
                                lt_hard ? " (one end's SA expires before the other rekeys it)" : "");
        for (int i = 0; f && i < 2; i++)
            finding_add_evidence(f, peers[i]->name, src_conns(peers[i]), "IKE rekey %d s, CHILD rekey %d s, life %d s",
                                 peers[i]->conn.ike_rekey_time, peers[i]->conn.child_rekey_time,
                                 peers[i]->conn.child_life_time);
    }
    buf_free(&ltb);

    /* loss measured in step 2, for DPD */
    double loss_ab = 0, loss_ba = 0;
    if (in->reach && in->reach->ran) {
        const struct reach_dir *ab = &in->reach->a_to_b, *ba = &in->reach->b_to_a;
        loss_ab = rate(ab->esp_lost, ab->esp_sent + ab->raw_esp_sent);
        loss_ba = rate(ba->esp_lost, ba->esp_sent + ba->raw_esp_sent);
    }
    double q = 1.0 - (1.0 - loss_ab) * (1.0 - loss_ba); /* one DPD exchange fails */

    /* churn: new IKE SAs during the window */
    long inits = 0;
    if (in->reach && in->reach->ran)
        inits = in->reach->a_to_b.ike_sa_init + in->reach->b_to_a.ike_sa_init;
    int est = 0, dead = 0;
    for (int i = 0; i < 2; i++)
        if (peers[i]->logs.known && peers[i]->logs.window_s >= 0) { /* only lines of the diagnosis window */
            est += peers[i]->logs.ike_established;
            dead += peers[i]->logs.dpd_dead;
        }
    bool churn = inits > 0 || est >= 2 || dead > 0;

    for (int i = 0; i < 2; i++) {
        const struct peer_facts *p = peers[i];
        if (p->conn.dpd_delay <= 0 || p->conn.dpd_delay >= DPD_MIN_DELAY)
            continue;
        bool lossy = q >= LOSS_WARN_RATE || churn;
        char d[16], pct[32];
        snprintf(d, sizeof d, "%d", p->conn.dpd_delay);
        snprintf(pct, sizeof pct, "%.1f %%", 100.0 * q);
        const char *kv[] = {"peer", nz(p->name), "delay", d, "fail", pct, NULL};
        struct finding *f = add(out, "timers.dpd_aggressive", STEP_TIMERS, lossy ? SEV_FAILURE : SEV_WARNING, kv,
                                "%s: DPD every %d s%s", nz(p->name), p->conn.dpd_delay,
                                lossy ? " over a path that loses packets: the peer gets declared dead" : "");
        if (f) {
            finding_add_evidence(f, p->name, src_conns(p), "dpd_delay %d s, dpd_timeout %d s", p->conn.dpd_delay,
                                 p->conn.dpd_timeout);
            if (in->reach && in->reach->ran)
                finding_add_evidence(f, NULL, "capture A+B",
                                     "ESP loss %.1f %% / %.1f %%: one DPD exchange fails with probability %.1f %%, "
                                     "%d exchanges an hour",
                                     100.0 * loss_ab, 100.0 * loss_ba, 100.0 * q, 3600 / p->conn.dpd_delay);
            if (p->logs.known && p->logs.dpd_dead)
                finding_add_evidence(f, p->name, "daemon log", "peer declared dead %d times", p->logs.dpd_dead);
        }
        bad |= lossy;
    }

    if (churn) {
        const char *kv[] = {"a", nz(a->name), "b", nz(b->name), NULL};
        bool many = inits >= 2 || est >= 3 || dead >= 2;
        struct finding *f = add(out, "timers.sa_churn", STEP_TIMERS, many ? SEV_FAILURE : SEV_WARNING, kv,
                                "SAs re-established during the diagnosis: %ld IKE_SA_INIT on the wire, %d IKE SAs "
                                "established and %d dead-peer teardowns in the logs",
                                inits, est, dead);
        if (f) {
            if (in->reach && in->reach->ran)
                finding_add_evidence(f, NULL, "capture A+B", "%ld IKE_SA_INIT requests", inits);
            for (int i = 0; i < 2; i++)
                if (peers[i]->logs.known)
                    finding_add_evidence(f, peers[i]->name, "daemon log",
                                         "IKE established %d, CHILD established %d, peer dead %d (last %d s)",
                                         peers[i]->logs.ike_established, peers[i]->logs.child_established,
                                         peers[i]->logs.dpd_dead, peers[i]->logs.window_s);
        }
        bad |= many;
    }

    if (!bad) {
        struct finding *f = add(out, "timers.ok", STEP_TIMERS, SEV_OK, NULL,
                                "proposals compatible, DPD %d s / %d s%s", a->conn.dpd_delay, b->conn.dpd_delay,
                                churn ? "" : ", no SA churn");
        for (int i = 0; f && i < 2; i++)
            if (peers[i]->ike.proposal || peers[i]->child.proposal)
                finding_add_evidence(f, peers[i]->name, src_sas(peers[i]), "IKE %s, ESP %s",
                                     nz(peers[i]->ike.proposal), nz(peers[i]->child.proposal));
    }
    add_gaps(in, STEP_TIMERS, out);
}

/* ---- one end only (a half-bundle: `diagnose PEER --one-end`) -------------- */

#define OTHER_END "the other gateway"

/* What a step cannot tell from one end: said as a finding of its own, with
 * what the other site must supply. */
static struct finding *other_end_needed(struct findings *out, int step, const struct peer_facts *p,
                                        const char *what)
{
    static const char *const ids[] = {NULL, "transport.other_end_needed", "reach.other_end_needed",
                                      "policy.other_end_needed", "mtu.other_end_needed", "timers.other_end_needed"};
    const char *kv[] = {"peer", nz(p->name), "what", what, NULL};
    struct finding *f = add(out, ids[step], step, SEV_INFO, kv, "needs the other end: %s", what);
    if (f)
        finding_add_evidence(f, p->name, "one end only",
                             "the other site's half-bundle (tunnelscope diagnose ITS-GATEWAY --one-end --bundle DIR, "
                             "over the same minutes), joined with tunnelscope merge");
    return f;
}

static void one_transport(const struct diag_in *in, struct findings *out)
{
    const struct peer_facts *p = in->a;
    if (transport_blockers(p, out)) {
        add_gaps(in, STEP_TRANSPORT, out);
        return;
    }
    bool any_fail = transport_listeners(p, out);
    if (!ike_up(p)) {
        const char *kv[] = {"a", nz(p->name), "b", OTHER_END, NULL};
        struct finding *f = add(out, "transport.no_ike_sa", STEP_TRANSPORT, SEV_FAILURE, kv,
                                "no ESTABLISHED IKE SA for %s on %s: %s", nz(p->conn.name), nz(p->name),
                                p->ike.state ? p->ike.state : "without IKE SA");
        if (f) {
            finding_add_evidence(f, p->name, src_sas(p), "IKE SA %s: %s", nz(p->conn.name),
                                 p->ike.state ? p->ike.state : "none");
            if (p->logs.known && p->logs.retransmits)
                finding_add_evidence(f, p->name, "daemon log", "%d IKE retransmits", p->logs.retransmits);
        }
        any_fail = true;
    } else if (!child_up(p)) {
        const char *kv[] = {"a", nz(p->name), "b", OTHER_END, NULL};
        struct finding *f = add(out, "transport.no_child_sa", STEP_TRANSPORT, SEV_FAILURE, kv,
                                "IKE SA up but no CHILD SA installed on %s (%s)%s", nz(p->name),
                                p->child.state ? p->child.state : "none",
                                p->logs.known && p->logs.ts_unacceptable      ? ": TS_UNACCEPTABLE in the log"
                                : p->logs.known && p->logs.no_proposal_chosen ? ": NO_PROPOSAL_CHOSEN in the log"
                                                                              : "");
        if (f) {
            finding_add_evidence(f, p->name, src_sas(p), "CHILD SA %s: %s", nz(p->conn.child),
                                 p->child.state ? p->child.state : "none");
            for (int l = 0; l < PF_MAX_LOG && p->logs.lines[l]; l++)
                finding_add_evidence(f, p->name, "daemon log", "%s", p->logs.lines[l]);
        }
        any_fail = true;
    }
    bool nat_here = p->ike.nat_local == TRI_YES, nat_there = p->ike.nat_remote == TRI_YES;
    bool encap = p->child.encap == TRI_YES || nat_here || nat_there;
    if (nat_here || nat_there) {
        char who[160];
        snprintf(who, sizeof who, "%s%s%s", nat_here ? nz(p->name) : "", nat_here && nat_there ? " and " : "",
                 nat_there ? OTHER_END : "");
        const char *kv[] = {"natted", who, NULL};
        struct finding *f = add(out, "transport.natt", STEP_TRANSPORT, SEV_INFO, kv,
                                "NAT-T in use (as %s sees it): %s behind NAT; IKE on UDP/%d, ESP-in-UDP/4500",
                                nz(p->name), who, p->ike.local_port > 0 ? p->ike.local_port : 4500);
        if (f)
            finding_add_evidence(f, p->name, src_sas(p), "IKE %s:%d -> %s:%d, nat-local=%s nat-remote=%s, encap=%s",
                                 nz(p->ike.local_host), p->ike.local_port, nz(p->ike.remote_host),
                                 p->ike.remote_port, nat_here ? "yes" : "no", nat_there ? "yes" : "no",
                                 p->child.encap == TRI_YES ? "yes" : "no");
    }
    if (!any_fail) {
        struct finding *f = add(out, "transport.ok", STEP_TRANSPORT, SEV_OK, NULL,
                                "IKE SA ESTABLISHED and CHILD SA INSTALLED on %s; %s; UDP/500 and UDP/4500 listening",
                                nz(p->name), encap ? "ESP-in-UDP/4500" : "raw ESP (IP proto 50)");
        if (f)
            finding_add_evidence(f, p->name, src_sas(p), "CHILD SA SPI in %08x out %08x", p->child.spi_in,
                                 p->child.spi_out);
    }
    other_end_needed(out, STEP_TRANSPORT, p, "the other gateway's IKE and CHILD SA state, its listeners, its view of NAT");
    add_gaps(in, STEP_TRANSPORT, out);
}

static void one_reach(const struct diag_in *in, struct findings *out)
{
    const struct peer_facts *p = in->a;
    if (!peer_usable(p)) {
        add_gaps(in, STEP_REACH, out);
        return;
    }
    struct finding *f = other_end_needed(
        out, STEP_REACH, p,
        "which packets sent by this end arrived, and what the other end sent: both captures of the same minutes");
    const struct reach_facts *r = in->reach;
    if (f && r && (r->a_out >= 0 || r->a_in >= 0))
        finding_add_evidence(f, p->name, src_sas(p), "CHILD SA counters over the capture: %lld packets out, %lld in",
                             (long long)r->a_out, (long long)r->a_in);
    if (f && p->ike.local_host)
        finding_add_evidence(f, p->name, "capture", "this end's capture of UDP/500, UDP/4500 and ESP from %s is in the "
                             "bundle", p->ike.local_host);
    add_gaps(in, STEP_REACH, out);
}

static void one_policy(const struct diag_in *in, struct findings *out)
{
    const struct peer_facts *p = in->a;
    if (!peer_usable(p) || !p->conn.name) {
        add_gaps(in, STEP_POLICY, out);
        return;
    }
    bool bad = policy_overlap(p, out);
    bad |= policy_nat_exemption(p, out);
    bad |= policy_route(p, out);
    char *pl = list_str(p->conn.local_ts), *pr = list_str(p->conn.remote_ts);
    if (!bad) {
        struct finding *f = add(out, "policy.ok", STEP_POLICY, SEV_OK, NULL, "%s: selectors %s <-> %s%s", nz(p->name),
                                pl, pr, p->fw.known ? "; no NAT rule catches protected traffic" : "");
        if (f && p->route.dst && p->route.dev)
            finding_add_evidence(f, p->name, "ip route get", "%s from %s: dev %s%s%s", p->route.dst,
                                 nz(p->route.from), p->route.dev, p->route.via ? " via " : "",
                                 p->route.via ? p->route.via : "");
    }
    char what[400];
    snprintf(what, sizeof what, "the crosswise comparison of traffic selectors (here local %s, remote %s)", pl, pr);
    other_end_needed(out, STEP_POLICY, p, what);
    free(pl);
    free(pr);
    add_gaps(in, STEP_POLICY, out);
}

static void one_mtu(const struct diag_in *in, struct findings *out)
{
    const struct peer_facts *p = in->a;
    if (!peer_usable(p)) {
        add_gaps(in, STEP_MTU, out);
        return;
    }
    int path_mtu = -1, inner_measured = -1;
    const char *basis = NULL;
    bool trouble = in->active && mtu_sweep_peer(p, out, &path_mtu, &basis, &inner_measured);
    if (path_mtu < 0 && inner_measured > 0) {
        path_mtu = esp_outer_size(inner_measured);
        basis = "measured by the DF sweep";
    }
    if (path_mtu < 0 && p->outer_mtu > 0) {
        path_mtu = p->outer_mtu;
        basis = "this gateway's outer interface MTU (not measured: no --active)";
    }
    if (path_mtu < 0) {
        path_mtu = 1500;
        basis = "assumed 1500 (no interface MTU known, not measured)";
    }
    struct esp_overhead o;
    esp_overhead_compute(path_mtu, &o);
    int rec_mss = inner_measured > 0 ? inner_measured - 40 : o.mss;
    char mss[16];
    snprintf(mss, sizeof mss, "%d", rec_mss);
    if (p->fw.mss_clamp == TRI_NO) {
        const char *kv[] = {"mss", mss, NULL};
        struct finding *f = add(out, "mtu.mss_clamp_missing", STEP_MTU, trouble ? SEV_WARNING : SEV_INFO, kv,
                                "no TCP MSS clamping on %s; clamp to %d", nz(p->name), rec_mss);
        if (f) {
            finding_add_evidence(f, p->name, src_fw(p), "no TCPMSS / maxseg rule");
            overhead_evidence(f, &o);
        }
    } else if (p->fw.mss_clamp == TRI_YES && p->fw.mss_value > rec_mss) {
        const char *kv[] = {"peer", nz(p->name), "mss", mss, NULL};
        struct finding *f = add(out, "mtu.mss_too_high", STEP_MTU, trouble ? SEV_WARNING : SEV_INFO, kv,
                                "%s clamps MSS to %d, above the %d that fits the tunnel", nz(p->name),
                                p->fw.mss_value, rec_mss);
        if (f)
            overhead_evidence(f, &o);
    }
    struct finding *f = add(out, "mtu.overhead", STEP_MTU, SEV_OK, NULL,
                            "path MTU %d (%s): ESP-in-UDP overhead %d bytes, inner MTU %d, TCP MSS %d", path_mtu,
                            nz(basis), o.total, o.inner_max, rec_mss);
    if (f)
        overhead_evidence(f, &o);
    if (!in->active)
        add(out, "mtu.sweep_skipped", STEP_MTU, SEV_INFO, NULL,
            "DF ping sweep not run (it sends pings through the tunnel: ask with --active)");
    other_end_needed(out, STEP_MTU, p,
                     "the other gateway's MTU and MSS clamping, and large packets lost on the path (both captures)");
    add_gaps(in, STEP_MTU, out);
}

static void one_timers(const struct diag_in *in, struct findings *out)
{
    const struct peer_facts *p = in->a;
    if (!peer_usable(p) || !p->conn.name) {
        add_gaps(in, STEP_TIMERS, out);
        return;
    }
    bool bad = false;
    if (p->conn.dpd_delay > 0 && p->conn.dpd_delay < DPD_MIN_DELAY) {
        char d[16];
        snprintf(d, sizeof d, "%d", p->conn.dpd_delay);
        const char *kv[] = {"peer", nz(p->name), "delay", d, "fail", "(unknown: the loss needs both captures)", NULL};
        struct finding *f = add(out, "timers.dpd_aggressive", STEP_TIMERS, SEV_WARNING, kv, "%s: DPD every %d s",
                                nz(p->name), p->conn.dpd_delay);
        if (f) {
            finding_add_evidence(f, p->name, src_conns(p), "dpd_delay %d s, dpd_timeout %d s", p->conn.dpd_delay,
                                 p->conn.dpd_timeout);
            if (p->logs.known && p->logs.dpd_dead)
                finding_add_evidence(f, p->name, "daemon log", "peer declared dead %d times", p->logs.dpd_dead);
        }
    }
    if (p->logs.known && p->logs.window_s >= 0 && (p->logs.ike_established >= 2 || p->logs.dpd_dead > 0)) {
        const char *kv[] = {"a", nz(p->name), "b", OTHER_END, NULL};
        bool many = p->logs.ike_established >= 3 || p->logs.dpd_dead >= 2;
        struct finding *f = add(out, "timers.sa_churn", STEP_TIMERS, many ? SEV_FAILURE : SEV_WARNING, kv,
                                "SAs re-established during the diagnosis: %d IKE SAs established and %d dead-peer "
                                "teardowns in %s's log",
                                p->logs.ike_established, p->logs.dpd_dead, nz(p->name));
        if (f)
            finding_add_evidence(f, p->name, "daemon log",
                                 "IKE established %d, CHILD established %d, peer dead %d (last %d s)",
                                 p->logs.ike_established, p->logs.child_established, p->logs.dpd_dead,
                                 p->logs.window_s);
        bad |= many;
    }
    if (!bad) {
        struct finding *f = add(out, "timers.ok", STEP_TIMERS, SEV_OK, NULL, "%s: DPD %d s, no SA churn in its log",
                                nz(p->name), p->conn.dpd_delay);
        if (f && (p->ike.proposal || p->child.proposal))
            finding_add_evidence(f, p->name, src_sas(p), "IKE %s, ESP %s", nz(p->ike.proposal),
                                 nz(p->child.proposal));
    }
    other_end_needed(out, STEP_TIMERS, p,
                     "the comparison of proposals, lifetimes and DPD with the other gateway's, and DPD against the "
                     "loss on the path");
    add_gaps(in, STEP_TIMERS, out);
}

/* The warning of a step that produced nothing because peer p could not be
 * examined.  0 / -1. */
static int step_not_run(int step, const struct peer_facts *p, struct findings *out)
{
    static const char *const ids[] = {NULL, "transport.not_run", "reach.not_run", "policy.not_run",
                                      "mtu.not_run", "timers.not_run"};
    const char *kv[] = {"peer", nz(p->name), "probe", "the step", "reason", "peer not usable", NULL};
    if (!add(out, ids[step], step, SEV_WARNING, kv, "step could not run: %s %s", nz(p->name),
             !p->connected ? "is not connected" : !p->daemon ? "runs no IKE daemon" : "has no connection"))
        return -1;
    return 0;
}

typedef void step_fn(const struct diag_in *in, struct findings *out);

/* The five steps, by step number: with both ends, and with one end only. */
static step_fn *const two_ends[] = {NULL, step_transport, step_reach, step_policy, step_mtu, step_timers};
static step_fn *const one_end[] = {NULL, one_transport, one_reach, one_policy, one_mtu, one_timers};

/* ---- entry points --------------------------------------------------------- */

int rules_step(int step, const struct diag_in *in, struct findings *out)
{
    if (step < STEP_FIRST || step > STEP_LAST)
        return -1;
    size_t before = out->n;
    (in->b ? two_ends : one_end)[step](in, out);
    /* a step whose peers could not be examined at all: never silent */
    if (out->n == before &&
        step_not_run(step, !in->b || !peer_usable(in->a) ? in->a : in->b, out) != 0)
        return -1;
    return 0;
}

bool rules_cannot_diagnose(const struct findings *fs)
{
    static const char *const ids[] = {"peer.unreachable", "peer.no_sudo", "transport.no_daemon",
                                      "transport.no_conn", NULL};
    for (size_t i = 0; i < fs->n; i++)
        for (int k = 0; ids[k]; k++)
            if (!strcmp(fs->v[i].id, ids[k]))
                return true;
    return false;
}
