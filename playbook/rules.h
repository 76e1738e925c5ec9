/* The five steps' rules: pure functions from what is known about both peers
 * (and the two-end capture) to findings.  No I/O, no clock: a test feeds
 * literal facts and checks which findings fire.  The decision texts come from
 * assets/playbook.md (playbook/prose.h). */
#ifndef TS_RULES_H
#define TS_RULES_H

#include <stdbool.h>

#include "playbook/finding.h"
#include "playbook/peerfacts.h"

struct diag_in {
    const struct peer_facts *a, *b; /* PEER_A, PEER_B as named on the command line; b NULL: one end
                                       only (a half-bundle): each step judges what a alone tells and
                                       says what needs the other end (*.other_end_needed) */
    const struct reach_facts *reach; /* NULL: capture not run */
    bool active;                     /* --active: the DF sweep was asked for */
};

/* Appends the findings of one step (1..5) to out.  Every step adds at least one
 * finding (an "ok" summary when nothing is wrong).  0 / -1 (out of memory). */
int rules_step(int step, const struct diag_in *in, struct findings *out);

/* True when the findings say the diagnosis itself could not be made (a peer
 * unreachable, no sudo at all, no IKE daemon, no connection): exit status 3. */
bool rules_cannot_diagnose(const struct findings *fs);

/* ESP-in-UDP overhead for AES-GCM-16 (8-byte IV, 16-byte ICV) over IPv4, and
 * the largest inner packet and TCP MSS that fit a given outer path MTU. */
struct esp_overhead {
    int path_mtu;
    int outer_ip, udp, esp_hdr, iv, trailer, icv; /* 20, 8, 8, 8, 2, 16 */
    int pad;       /* padding to a multiple of 4 at inner_max */
    int total;     /* path_mtu - inner_max */
    int inner_max; /* largest inner IP packet */
    int mss;       /* inner_max - 20 (IPv4) - 20 (TCP) */
};
void esp_overhead_compute(int path_mtu, struct esp_overhead *o);
/* Inverse: the outer packet size for an inner packet of len bytes. */
int esp_outer_size(int inner_len);

#endif
