/* strongSwan `swanctl` parsers (tested on strongSwan 5.9.8).
 *
 *  swanctl --list-sas --raw    -> struct sa_fact   (primary source: NAT flags)
 *  swanctl --list-sas          -> struct sa_fact   (human form, "TUNNEL-in-UDP";
 *                                 no NAT flags, no use-in/out when idle)
 *  swanctl --list-conns --raw  -> struct conn_fact
 *  swanctl --list-conns        -> struct conn_fact
 *
 * In the raw form vici omits the flags that are not set (nat-local, nat-remote,
 * nat-fake, nat-any, initiator, encap): for those, absent means TRI_NO.  Any
 * other field that is absent stays unknown.  Proposals are written as the human
 * form prints them: "AES_CBC-256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048"
 * (IKE), "AES_GCM_16-128" (CHILD, without the "ESP:" prefix).
 *
 * 5.9.8's list-conns prints neither proposals, dpd_timeout nor keyingtries:
 * they stay unknown.  Output that is not swanctl's (an error such as
 * "connecting to 'unix:///var/run/charon.vici' failed") is ERR_UNSUPPORTED; a
 * raw dump without its closing reply is ERR_TRUNCATED.  On error *out is
 * empty. */
#ifndef TS_SWANCTL_H
#define TS_SWANCTL_H

#include <stddef.h>

#include "probes/ipsec_sa.h"

int swanctl_parse_sas_raw(const char *text, size_t len, struct sa_fact *out, struct err *e);
int swanctl_parse_sas_text(const char *text, size_t len, struct sa_fact *out, struct err *e);
int swanctl_parse_conns_raw(const char *text, size_t len, struct conn_fact *out,
                            struct err *e);
int swanctl_parse_conns_text(const char *text, size_t len, struct conn_fact *out,
                             struct err *e);

#endif
