/* The console's packet timeline: the capture events of both ends as rows
 * aligned in time, one ESP packet per row whether one end or both saw it.
 *
 * A row holds what end A and end B saw of one packet.  ESP is matched across
 * the ends by (SPI, sequence number), which NAT does not touch: a packet sent
 * by A and received by B is one row with both halves filled.  IKE messages
 * are matched by their initiator and responder SPIs (the responder's left out
 * in IKE_SA_INIT), message id, exchange and response flag, as
 * playbook/correlate matches them; a retransmission is a row of its own.  NAT
 * keepalives carry nothing to match on: one pairs with the oldest unmatched
 * keepalive seen the other way round within 1 s, once the clock offset that
 * the matched ESP packets show is removed (0 before any).  Once a row is
 * older than the grace period on the receiver's clock (its capture went on
 * past it) and the receiver never saw it, the row is settled as lost, marked
 * on the receiving side (the totals count ESP only).  Other packets
 * (fragments, malformed) are rows of their own on the end that saw them.
 *
 * Direction: which end sent a packet comes from each end's local address (set
 * by the caller from the SA facts, or learned from the first ESP packet seen
 * at both ends: the sender's copy has the higher TTL), or from an SPI whose
 * direction is known.
 *
 * Every row is kept (for scrolling back through the whole capture) up to
 * max_rows; past it the oldest are dropped (counted).  Rows have absolute
 * indices that stay valid while the row is kept.  Pure: no clock read, no
 * I/O; the caller passes the time.  Display only: the step-2 figures come from
 * the playbook's correlation. */
#ifndef TS_TIMELINE_H
#define TS_TIMELINE_H

#include <stddef.h>
#include <stdint.h>

#include "probes/capture.h"

enum tl_dir { TL_AB = 0, TL_BA = 1, TL_DIR_UNKNOWN = 2 };

#define TL_RATE_SECONDS 60

struct tl_pkt {
    int64_t ts_ns;      /* that end's capture clock */
    uint32_t spi, seq;  /* ESP; IKE: message id in seq */
    uint16_t len;       /* outer IP length (wire length when unknown), capped at 65535 */
    uint8_t kind;       /* enum capture_kind */
    uint8_t exchange;   /* IKE exchange type */
    uint8_t ike_flags;  /* CAPTURE_IKE_F_* */
    uint8_t ttl;
    uint8_t sent;       /* 1 this end sent it, 0 received it, 2 unknown */
};

#define TL_ROW_LOST 0x01u    /* settled: sent, never received */
#define TL_ROW_SETTLED 0x02u /* no longer waiting for the other end */
#define TL_ROW_OUTSIDE 0x04u /* not received, but the receiver was not capturing then */

struct tl_row {
    struct tl_pkt p[2];  /* [0] end A, [1] end B */
    uint8_t have;        /* bit 0: A saw it, bit 1: B saw it */
    uint8_t flags;       /* TL_ROW_* */
    uint8_t dir;         /* enum tl_dir, as known when last updated */
};

struct tl_totals {       /* ESP per direction, settled rows only */
    uint64_t sent, received, lost;
    uint64_t outside;    /* sent, not received, outside the receiver's capture (or its last grace period) */
};

struct timeline;

/* max_rows 0: TIMELINE_DEFAULT_ROWS.  NULL when out of memory. */
#define TIMELINE_DEFAULT_ROWS (2u * 1024u * 1024u)
struct timeline *timeline_new(size_t max_rows);
void timeline_free(struct timeline *t);

/* Adds one event seen by end `side` (0 A, 1 B).  0 / -1 (out of memory). */
int timeline_add(struct timeline *t, int side, const struct capture_event *ev);
/* This end's own outer address (from the SA facts). */
void timeline_set_local(struct timeline *t, int side, const struct capture_addr *a);
/* The end's capture started (start_ns) / ended (end_ns, 0 while running). */
void timeline_set_span(struct timeline *t, int side, int64_t start_ns, int64_t end_ns);
/* This end's capture is over, and its stream is known to have been alive
 * only up to end_ns (a management link that died silently is noticed tens
 * of seconds later): the span ends there, and rows already settled as lost
 * at this end that were sent after end_ns become "not capturing" (their
 * loss is unknown, not proven).  Returns how many rows changed. */
size_t timeline_end_span(struct timeline *t, int side, int64_t end_ns);
/* Known direction of an SPI (from the SA facts: A's outbound SPI is TL_AB). */
void timeline_set_spi_dir(struct timeline *t, uint32_t spi, int dir);
/* Bytes of this end's capture stream arrived at now_ns (realtime).  While
 * an end's stream is busy (bytes within the grace period) it may be lagging
 * behind (a slow management link): its rows are then settled by the packets
 * it has shown, never by the wall clock. */
void timeline_heard(struct timeline *t, int side, int64_t now_ns);
/* Settles rows older than grace_ns on the receiver's clock: the receiver
 * showed a later packet, or now_ns (realtime) is grace_ns past it while the
 * receiver's stream is quiet (nothing heard for grace_ns, or
 * timeline_heard never called).  Returns how many rows were settled. */
size_t timeline_settle(struct timeline *t, int64_t now_ns, int64_t grace_ns);
/* Settles every row (end of both captures). */
void timeline_settle_all(struct timeline *t);

/* Rows kept have absolute indices [first, first + count). */
uint64_t timeline_first(const struct timeline *t);
uint64_t timeline_end(const struct timeline *t);
const struct tl_row *timeline_row(const struct timeline *t, uint64_t abs);
uint64_t timeline_dropped(const struct timeline *t);
/* Direction of a row (enum tl_dir) with everything known now. */
int timeline_row_dir(const struct timeline *t, const struct tl_row *r);
/* Whether rows of this capture kind are matched across the ends (ESP, IKE,
 * keepalives) and so can be lost. */
int timeline_matchable(int kind);
/* Time of a row: A's time when A saw it, else B's. */
int64_t timeline_row_ts(const struct tl_row *r);
/* Whether this end was capturing at ts_ns (its span covers it). */
int timeline_covered(const struct timeline *t, int side, int64_t ts_ns);
/* The earliest capture start of the two ends (0 none). */
int64_t timeline_start(const struct timeline *t);

const struct tl_totals *timeline_totals(const struct timeline *t, int dir);
/* Packets per second of this SPI seen at this end over the last
 * TL_RATE_SECONDS seconds before now_ns, oldest first. */
void timeline_spi_rate(const struct timeline *t, int side, uint32_t spi, int64_t now_ns,
                       uint32_t out[TL_RATE_SECONDS]);
/* The SPIs seen so far (up to max), in order of first sighting; returns how many. */
size_t timeline_spis(const struct timeline *t, uint32_t *out, size_t max);
uint64_t timeline_packets(const struct timeline *t, int side);

#endif
