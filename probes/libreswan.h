/* Libreswan parsers (tested on the forms Libreswan 3.x, 4.x and 5.x print,
 * from outputs published in public docs and issues: tests/fixtures/libreswan/).
 *
 *  ipsec trafficstatus (= ipsec whack --trafficstatus) -> struct sa_fact:
 *    [006 ]#2: "westnet-eastnet"[1] 192.0.2.1, type=ESP, add_time=1561671961,
 *        inBytes=336, outBytes=336[, maxBytes=2^63B], id='@east'[, lease=...]
 *  One IKE entry per connection (instance) name holding one child per line
 *  (child uniqueid = the state number, bytes in/out known, packets unknown). */
#ifndef TS_LIBRESWAN_H
#define TS_LIBRESWAN_H

#include "probes/ipsec_sa.h"

int libreswan_parse_trafficstatus(const char *text, size_t len, struct sa_fact *out,
                                  struct err *e);

#endif
