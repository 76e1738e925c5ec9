/* Two-end ESP correlation (DESIGN.md step 2): the packet events of both
 * gateways' captures in, per direction and per SPI out: sent, received, lost,
 * duplicated, reordered, one-way delay, loss by size, outer fragments,
 * keepalives, IKE messages matched across the ends, NAT mapping changes.
 *
 * Side 0 ("A") is the first capture, side 1 ("B") the second.  ESP's SPI and
 * sequence number survive NAT, so (SPI, seq) matches a packet across the ends.
 *
 * Memory is bounded: per SPI a ring of `window` sequence numbers (a slot holds
 * both ends' sightings of one (SPI, seq)).  When a sequence number falls out of
 * the ring (the SPI's highest sequence advanced by `window`, the SPI went idle
 * for `idle_ns`, or the end of input) it is settled: seen by both = matched
 * (counted when the second sighting came), by the sender only = lost when the
 * receiver's capture covered that moment, else "outside"; by the receiver only
 * = "received_only".  A sighting older than the ring (more than `window`
 * behind the SPI's highest sequence) is counted "late" and matches nothing.
 * Full description: assets/correlate-json.md. */
#ifndef TS_CORRELATE_H
#define TS_CORRELATE_H

#include <stddef.h>
#include <stdint.h>

#include "probes/capture.h"
#include "remote/err.h"

#define CORRELATE_A 0
#define CORRELATE_B 1
enum { CORRELATE_AB = 0, CORRELATE_BA = 1, CORRELATE_DIR_UNKNOWN = 2 };

/* Outer IP length buckets: <=128, <=576, <=1024, <=1280, <=1400, >1400. */
#define CORRELATE_BUCKETS 6
extern const uint32_t correlate_bucket_max[CORRELATE_BUCKETS]; /* last is UINT32_MAX */

enum correlate_how {
    CORRELATE_HOW_NONE = 0,   /* not known */
    CORRELATE_HOW_GIVEN,      /* given by the caller (--local-a, an offset hint) */
    CORRELATE_HOW_TTL,        /* local address: from matched packets, sender has the higher TTL */
    CORRELATE_HOW_FREQUENT,   /* local address: the most frequent address of the capture */
    CORRELATE_HOW_BOTH_DIRS,  /* offset = (min delay A->B - min delay B->A) / 2 */
    CORRELATE_HOW_ONE_DIR,    /* offset = min delay of the only direction matched (assumes ~0 delay) */
};

/* When a capture was running, in that end's own clock (ns since the epoch). */
struct correlate_span {
    int64_t start_ns;           /* 0: not declared (the span comes from the packets) */
    int64_t end_ns;             /* 0: not declared, or still capturing */
};

enum correlate_span_how {
    CORRELATE_SPAN_NONE = 0,    /* no declared span and no packet: covers nothing */
    CORRELATE_SPAN_PACKETS,     /* first to last packet of the capture */
    CORRELATE_SPAN_DECLARED,    /* declared (widened to the end's own packets if any lie outside) */
};

struct correlate_opts {
    uint32_t window;            /* sequence numbers kept per SPI, power of two; 0: 16384 */
    int64_t grace_ns;           /* a sender's packet in the last grace_ns of the receiver's
                                   capture is not counted lost; 0: 1 s */
    int64_t idle_ns;            /* an SPI silent this long is settled and its ring freed; 0: 10 s */
    uint32_t bootstrap;         /* events per side buffered to learn local addresses and the clock
                                   offset before correlating; 0: 4096 */
    struct capture_addr local[2]; /* family 0: learn it */
    int have_offset;            /* offset_ns below is a hint (from correlate_learn) */
    int64_t offset_ns;          /* B's clock minus A's clock */
    int offset_how;
    int local_how[2];
    struct correlate_span span[2]; /* declared capture spans (see correlate_declare_span) */
};

struct correlate_dist {         /* ns; median/p99 from a bounded reservoir (exact up to 4096 values) */
    uint64_t n;
    int64_t min, median, p99, max;
};

struct correlate_counts {
    uint64_t sent, received, matched;
    uint64_t lost;              /* sent, within the receiver's capture span, never received */
    uint64_t outside;           /* sent, not received, outside the receiver's capture span */
    uint64_t received_only;     /* received, never seen sent */
    uint64_t dup_sent, duplicated; /* extra copies of a sequence number at the sender / receiver */
    uint64_t reordered;         /* received with a sequence below the highest received before */
    uint64_t late;              /* sightings too far behind the window (see above) */
    struct correlate_dist delay; /* one-way delay after removing the clock offset */
    uint64_t bucket_sent[CORRELATE_BUCKETS], bucket_received[CORRELATE_BUCKETS],
        bucket_lost[CORRELATE_BUCKETS];
};

struct correlate_spi {
    uint32_t spi;
    int dir;                    /* CORRELATE_AB, _BA, _DIR_UNKNOWN */
    uint64_t seq_first, seq_last; /* extended (64-bit) sequence numbers seen */
    int64_t first_ns, last_ns;  /* in A's clock */
    struct correlate_counts c;
};

struct correlate_ike {
    uint64_t req_sent, req_received, req_matched;
    uint64_t resp_sent, resp_received, resp_matched;
    uint64_t retransmits;
};

struct correlate_direction {
    struct correlate_counts c;
    uint32_t spis;
    uint64_t frag_sent, frag_received;  /* outer IP fragments (first and later) */
    uint64_t keepalive_sent, keepalive_received;
    struct correlate_ike ike;
};

struct correlate_endpoint {
    struct capture_addr addr;
    uint16_t port;
    int64_t first_ns, last_ns;  /* this end's clock */
    uint64_t packets;
};

#define CORRELATE_MAX_ENDPOINTS 16

struct correlate_end {
    struct capture_addr local;
    int local_how;
    int64_t first_ns, last_ns;  /* this end's clock; 0 when no packet */
    int span_how;               /* enum correlate_span_how */
    int64_t span_start_ns, span_end_ns; /* the span used (this end's clock), 0 when none */
    struct correlate_span declared; /* as declared, zeros when not */
    uint64_t packets, esp, esp_udp, esp_raw, ike500, ike4500, keepalive_sent, keepalive_received,
        fragments, truncated, malformed, unsupported, other;
    struct correlate_dist ka_sent_interval, ka_received_interval;
    /* The peer's outer address/port as this end sees it (packets from the peer). */
    struct correlate_endpoint peers[CORRELATE_MAX_ENDPOINTS];
    size_t n_peers;
    uint64_t peers_dropped;
};

struct correlate_nat_event {    /* the peer's endpoint seen by `side` changed */
    int side;
    int64_t ts_ns;              /* that end's clock */
    uint16_t local_port;        /* 500, 4500, or 0 for raw ESP */
    struct capture_addr old_addr, new_addr;
    uint16_t old_port, new_port;
};

struct correlate_result {
    int64_t offset_ns;          /* B's clock minus A's clock */
    int offset_how;
    uint32_t window;
    int64_t grace_ns;
    int64_t common_start_ns, common_end_ns; /* the span both captures cover, A's clock; 0 when none */
    struct correlate_direction dir[2];   /* [CORRELATE_AB], [CORRELATE_BA] */
    struct correlate_end end[2];
    struct correlate_spi *spis;  /* by direction, then first seen */
    size_t n_spis;
    struct correlate_nat_event *nat;
    size_t n_nat;
    uint64_t nat_dropped;
};

struct correlate;

/* o may be NULL (all defaults). */
struct correlate *correlate_new(const struct correlate_opts *o, struct err *e);
void correlate_free(struct correlate *c);
/* One event of side 0 (A) or 1 (B), in that side's capture order. */
int correlate_add(struct correlate *c, int side, const struct capture_event *ev, struct err *e);
/* That side's capture has ended: its last packet time is final. */
void correlate_end_side(struct correlate *c, int side);
/* Declares when capture `side` was running, in that end's clock: start_ns > 0,
 * end_ns >= start_ns or 0 while it still runs.  Replaces the span given in the
 * options; may be called again (the live capture declares the start when
 * tcpdump starts, the end when it is stopped).  0 / -1 (ERR_USAGE). */
int correlate_declare_span(struct correlate *c, int side, int64_t start_ns, int64_t end_ns,
                           struct err *e);
/* Settles everything and returns the result (the engine accepts no more events). */
int correlate_finish(struct correlate *c, struct correlate_result **out, struct err *e);
void correlate_result_free(struct correlate_result *r);

/* Learns what o does not give from the first events of both captures: each end's
 * local address (matched ESP packets: the sender's copy has the higher TTL;
 * else the most frequent address) and the clock offset (min delays). */
void correlate_learn(const struct capture_event *a, size_t na, const struct capture_event *b,
                     size_t nb, struct correlate_opts *o);

/* Offline: two pcap/pcapng files, read in step (by time, offset removed). */
int correlate_files(const char *path_a, const char *path_b, const struct correlate_opts *o,
                    struct correlate_result **out, struct err *e);

const char *correlate_how_name(int how);
const char *correlate_span_how_name(int how); /* "declared", "packets", "none" */

/* A time given on a command line: ISO-8601 ("2026-12-05T09:14:02.5Z"; no zone
 * means UTC; "+02:00" offsets are applied) or epoch seconds ("1796462042.5").
 * 1970 up to 2262-04-11 (int64 ns), at most 9 fraction digits.  0 / -1 (ERR_PARSE). */
int correlate_time_parse(const char *s, int64_t *ns, struct err *e);
/* A span measured in CLOCK_REALTIME seconds (0: not known) as ns, rounded the
 * same way wherever it is converted (live, bundle export, replay). */
struct correlate_span correlate_span_of_seconds(double start_s, double end_s);
/* "START,END" of two such times, END after START.  0 / -1 (ERR_PARSE). */
int correlate_span_parse(const char *s, struct correlate_span *out, struct err *e);

#endif
