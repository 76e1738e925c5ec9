/* Libreswan parsers (tested on the forms Libreswan 3.x, 4.x and 5.x print,
 * from outputs published in public docs and issues: tests/fixtures/libreswan/).
 *
 *  ipsec trafficstatus (= ipsec whack --trafficstatus) -> struct sa_fact:
 *    [006 ]#2: "westnet-eastnet"[1] 192.0.2.1, type=ESP, add_time=1561671961,
 *        inBytes=336, outBytes=336[, maxBytes=2^63B], id='@east'[, lease=...]
 *  One IKE entry per connection holding one child per line (child uniqueid =
 *  the state number, bytes in/out known, packets unknown).  An instance of a
 *  template connection ("name"[27] ADDR) is keyed "name[27]" (as `ipsec
 *  status` and whack name it), its ADDR is the IKE entry's remote_host. */
#ifndef TS_LIBRESWAN_H
#define TS_LIBRESWAN_H

#include "probes/ipsec_sa.h"

int libreswan_parse_trafficstatus(const char *text, size_t len, struct sa_fact *out,
                                  struct err *e);

/* `ipsec status` (= `ipsec whack --status`): Libreswan 3.x, 4.x (every line
 * prefixed "000 "), 5.x (no prefix).  What it yields:
 *
 *  conns: one conn_conf per connection (and per instance: "name [1] ADDR",
 *    the same key as trafficstatus), from
 *      "name": LSUB===LEFT[<..>][[ID]]...RIGHT[..][[ID]]===RSUB; STATE; ...
 *    -> local_addrs/remote_addrs (the hosts), one child_conf with
 *    local_ts/remote_ts (the subnets; a host-to-host connection's selector is
 *    the host itself, ADDR/32 or /128), and the detail lines:
 *      ike_life: Ns; ipsec_life: Ns; ... rekey_margin: Ns; ... keyingtries: N;
 *      policy: IKEv2+PSK+ENCRYPT+TUNNEL+...  (3.x: IKEV1_ALLOW/IKEV2_PROPOSE)
 *      our auth:secret, their auth:secret ... / our id=@a; their id=@b
 *      liveness: active; dpdaction:restart; dpddelay:10s; ... (4.x IKEv2)
 *      dpd: active; action:clear; delay:15s; timeout:60s; (4.x IKEv1)
 *      dpd: action:hold; delay:0; timeout:0; nat-t: encaps:auto; ... (3.x)
 *      nat-traversal: encaps:auto; keepalive:20s (4.x)
 *      IKE algorithms[ wanted]: ... / ESP algorithms[ wanted]: ...
 *      IKE[v1|v2] algorithm newest: ... / ESP algorithm newest: ...; pfsgroup=
 *      newest ISAKMP|IKE SA: #N; newest IPsec SA: #N;
 *    Libreswan starts a rekey rekey_margin (less up to rekey_fuzz % of it)
 *    before the lifetime ends: rekey_time = life - margin is the latest
 *    point of that window; child life_time is ipsec_life.  IKEv2 has no DPD
 *    timeout (liveness gives up after retransmit-timeout): dpd_timeout 0.
 *
 *  sas: one ike_sa per IKE (phase 1 / parent) state, its children attached by
 *    "isakmp#N" (3.x), "IKE SA #N" / "ISAKMP SA #N" (4.x/5.x), from
 *      #N: "name"[[I] ADDR]:PORT STATE_X (text); EVENT_SA_REKEY|REKEY in Ns; ...
 *      #N: "name" esp.SPI@PEER esp.SPI@SELF [tun.0@..] ... Traffic: ESPin=84B ...
 *    state: IKE "ESTABLISHED" when the text says established, "DELETING" for
 *    a delete state, else "CONNECTING"; CHILD "INSTALLED" / "DELETING" /
 *    "INSTALLING".  version from the state name (MAIN/AGGR/QUICK: 1,
 *    V2/PARENT/IKE_SA/CHILD_SA: 2).  remote_port is the port the state
 *    prints; encap (ESP in UDP) is YES when that port is not 500 (the IKE SA
 *    floated: NAT-T), NO on 500.  spi_out is the SPI at the peer, spi_in the
 *    one at this host; bytes only when printed exactly ("84B", not "8KB").
 *    Hosts, ids and TS come from the connection; the proposal of the
 *    connection's newest IKE/IPsec SA from "algorithm newest".
 *  globals: pluto_version, nat-traversal=yes, keep-alive=N, the
 *    "interface ... UDP ADDR:PORT" listeners (500 / 4500 seen).
 *
 * Lines it does not use (algorithm tables, stats, shunts) are skipped; a
 * line of a known kind that does not parse is an error naming the line; text
 * with no Libreswan status marker at all is ERR_UNSUPPORTED. */
struct libreswan_conn_x {      /* per conns.conn[i]: what conn_conf has no field for */
    struct opt_u64 keepalive;  /* s, 4.x "nat-traversal: ... keepalive:20s" */
    struct opt_u64 newest_ike, newest_child; /* state numbers, 0: none */
    char routing[24];          /* "erouted", "unrouted", "routed-tunnel" ... */
};

struct libreswan_status {
    struct conn_fact conns;
    struct libreswan_conn_x *x;    /* conns.n_conn of them */
    struct sa_fact sas;
    char version[24];              /* pluto_version=4.10; "" unknown */
    enum tri nat_traversal;        /* nat-traversal=yes|no */
    struct opt_u64 keepalive;      /* keep-alive=N (s), global */
    enum tri listen500, listen4500;/* an "interface" line on that port (unknown: none listed) */
};

int libreswan_parse_status(const char *text, size_t len, struct libreswan_status *out, struct err *e);
/* Frees the arrays; NULL is a no-op; the struct is empty afterwards. */
void libreswan_status_free(struct libreswan_status *s);

/* Bytes of trafficstatus (exact) into the matching children of sas (same
 * connection key and state number).  Returns how many children it updated. */
size_t libreswan_merge_traffic(struct sa_fact *sas, const struct sa_fact *traffic);

#endif
