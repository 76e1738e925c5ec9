/* Capture decoding: pcap bytes (streamed from a remote `tcpdump -U -w -`, or a
 * pcap/pcapng file read through libpcap) -> one plain `struct capture_event`
 * per packet, saying what IKE/ESP transport the packet is (DESIGN.md step 2).
 *
 * Every length is validated: a hostile or truncated pcap stream is an error
 * (the stream cannot be resynchronised), a packet whose headers are cut by the
 * snap length or inconsistent becomes a CAPTURE_TRUNCATED / CAPTURE_MALFORMED
 * event, never a crash nor an invented number. */
#ifndef TS_CAPTURE_H
#define TS_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

#include "remote/err.h"

/* Link types as stored in pcap files (LINKTYPE_*); the DLT_* values that
 * libpcap returns for files are accepted too (DLT_RAW is 12 or 14). */
enum {
    CAPTURE_LINK_NULL = 0,
    CAPTURE_LINK_ETHERNET = 1,
    CAPTURE_LINK_RAW = 101,
    CAPTURE_LINK_LINUX_SLL = 113,
    CAPTURE_LINK_IPV4 = 228,
    CAPTURE_LINK_IPV6 = 229,
    CAPTURE_LINK_LINUX_SLL2 = 276,
};

enum capture_kind {
    CAPTURE_OTHER = 0,     /* IP packet, but not IKE/ESP/keepalive (other UDP port, ...) */
    CAPTURE_IKE,           /* IKE on UDP 500, or on 4500 after the non-ESP marker */
    CAPTURE_KEEPALIVE,     /* NAT-T keepalive: one byte 0xFF on UDP 4500 */
    CAPTURE_ESP,           /* ESP in UDP 4500 or raw ESP (IP protocol 50) */
    CAPTURE_FRAGMENT,      /* a non-first outer IP fragment (no transport header) */
    CAPTURE_TRUNCATED,     /* the snap length cut the headers needed to say more */
    CAPTURE_MALFORMED,     /* lengths or versions inconsistent */
    CAPTURE_UNSUPPORTED,   /* link type or network protocol not understood */
};

/* flags */
#define CAPTURE_F_UDP_ENCAP  0x01u /* ESP/IKE carried in UDP (else raw ESP) */
#define CAPTURE_F_FIRST_FRAG 0x02u /* first fragment of a fragmented outer IP packet */
#define CAPTURE_F_IKE_MARKER 0x04u /* IKE on 4500 after the 4-byte non-ESP marker */

/* IKE header flags (RFC 7296 3.1) */
#define CAPTURE_IKE_F_INITIATOR 0x08u
#define CAPTURE_IKE_F_RESPONSE  0x20u

struct capture_addr {
    uint8_t family;   /* 4, 6, or 0 when unknown */
    uint8_t a[16];    /* IPv4 in a[0..3] */
};

struct capture_event {
    int64_t ts_ns;            /* capture time, ns since the epoch (capturing host's clock) */
    uint32_t wire_len;        /* original frame length (pcap "len") */
    uint32_t cap_len;         /* captured bytes (pcap "caplen") */
    uint32_t ip_len;          /* outer IP packet length from its header (0 when unknown) */
    uint8_t kind;             /* enum capture_kind */
    uint8_t flags;            /* CAPTURE_F_* */
    uint8_t ip_proto;         /* outer transport protocol (17 UDP, 50 ESP), 0 unknown */
    uint8_t ttl;              /* IPv4 TTL / IPv6 hop limit */
    struct capture_addr src, dst;
    uint16_t sport, dport;    /* UDP ports, 0 for raw ESP */
    uint16_t vlan;            /* innermost 802.1Q VLAN id, 0 none */
    uint32_t frag_id;         /* IPv4 identification / IPv6 fragment id */
    uint16_t frag_off;        /* fragment offset in bytes */
    uint32_t spi;             /* ESP */
    uint32_t seq;             /* ESP sequence number (low 32 bits) */
    struct {
        uint64_t ispi, rspi;
        uint8_t exchange;     /* 34 IKE_SA_INIT, 35 IKE_AUTH, 36 CREATE_CHILD_SA, 37 INFORMATIONAL */
        uint8_t flags;        /* CAPTURE_IKE_F_* */
        uint32_t msgid;
        uint32_t length;
    } ike;
};

/* One pcap record as received, for writing it back out unchanged. */
struct capture_record {
    int64_t ts_ns;
    uint32_t cap_len, wire_len;
    const uint8_t *data;
};

/* Decodes one frame of link type `linktype` (pure; never reads past caplen). */
void capture_decode(int linktype, int64_t ts_ns, const uint8_t *data, uint32_t caplen,
                    uint32_t wire_len, struct capture_event *ev);

const char *capture_kind_name(int kind);
/* "192.0.2.1" / "2001:db8::1"; out must hold 46 bytes. */
const char *capture_addr_str(const struct capture_addr *a, char *out, size_t size);
int capture_addr_eq(const struct capture_addr *a, const struct capture_addr *b);
int capture_addr_parse(const char *s, struct capture_addr *out);

/* ---- incremental pcap stream decoder ---- */

/* Called once per record; returning -1 (with e set) stops capture_stream_feed. */
typedef int (*capture_event_fn)(void *ctx, const struct capture_record *rec,
                                 const struct capture_event *ev, struct err *e);

struct capture_stream;

struct capture_stream *capture_stream_new(capture_event_fn fn, void *ctx);
void capture_stream_free(struct capture_stream *s);
/* Feeds n bytes (any chunking, records may span calls).  -1 on a fatal stream
 * error (bad magic, absurd record length, ...): the stream is dead after it. */
int capture_stream_feed(struct capture_stream *s, const void *data, size_t n, struct err *e);
/* End of input: -1 (ERR_TRUNCATED) when a record or the header was cut short. */
int capture_stream_finish(struct capture_stream *s, struct err *e);
/* After the file header: its link type, snap length, 1 for nanosecond stamps. */
int capture_stream_header(const struct capture_stream *s, int *linktype, uint32_t *snaplen,
                          int *nsec);
uint64_t capture_stream_records(const struct capture_stream *s);

/* Largest record we accept (libpcap's own limit for every link type). */
#define CAPTURE_MAX_CAPLEN 262144u

/* ---- pcap/pcapng files through libpcap ---- */

struct capture_file;

struct capture_file *capture_file_open(const char *path, struct err *e);
void capture_file_free(struct capture_file *f);
/* 1 and *ev filled, 0 at the end, -1 on a read error. */
int capture_file_next(struct capture_file *f, struct capture_event *ev, struct err *e);
int capture_file_linktype(const struct capture_file *f);

/* ---- writing a pcap file with libpcap as records arrive ---- */

struct capture_writer;

struct capture_writer *capture_writer_open(const char *path, int linktype, uint32_t snaplen,
                                           int nsec, struct err *e);
int capture_writer_write(struct capture_writer *w, const struct capture_record *rec,
                         struct err *e);
int capture_writer_flush(struct capture_writer *w, struct err *e);
void capture_writer_free(struct capture_writer *w);

/* ---- the remote capture command ---- */

#define CAPTURE_FILTER "udp port 500 or udp port 4500 or ip proto 50"
#define CAPTURE_SNAPLEN_DEFAULT 128

struct capture_cmd_opts {
    const char *iface;      /* from capture_route_iface() */
    int snaplen;            /* 0: CAPTURE_SNAPLEN_DEFAULT; -1: full packets */
    unsigned seconds;       /* wall-clock limit enforced by `timeout` on the peer */
    int sudo;               /* wrap in `sudo -n` */
};

/* The `ip route get ADDR` command for the peer address (validated). */
int capture_route_cmd(const char *peer_addr, char **out, struct err *e);
/* The outgoing interface from `ip route get` output ("... dev eth0 src ..."). */
int capture_route_iface(const char *text, size_t len, char *ifname, size_t size, struct err *e);
/* `sudo -n timeout --foreground -k 5 S tcpdump -i IF -U --immediate-mode -s N -w - 'FILTER'`. */
int capture_cmd_build(const struct capture_cmd_opts *o, char **out, struct err *e);

#endif
