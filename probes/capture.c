#include "probes/capture.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "remote/buf.h"

/* ---- packet decoding ---- */

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) << 32 | rd32(p + 4); }

const char *capture_kind_name(int kind)
{
    switch (kind) {
    case CAPTURE_OTHER: return "other";
    case CAPTURE_IKE: return "ike";
    case CAPTURE_KEEPALIVE: return "keepalive";
    case CAPTURE_ESP: return "esp";
    case CAPTURE_FRAGMENT: return "fragment";
    case CAPTURE_TRUNCATED: return "truncated";
    case CAPTURE_MALFORMED: return "malformed";
    case CAPTURE_UNSUPPORTED: return "unsupported";
    default: return "unknown";
    }
}

const char *capture_addr_str(const struct capture_addr *a, char *out, size_t size)
{
    if (size == 0)
        return out;
    if (a->family == 4 ? !inet_ntop(AF_INET, a->a, out, (socklen_t)size)
        : a->family == 6 ? !inet_ntop(AF_INET6, a->a, out, (socklen_t)size) : 1)
        snprintf(out, size, "?");
    return out;
}

int capture_addr_eq(const struct capture_addr *a, const struct capture_addr *b)
{
    if (a->family != b->family)
        return 0;
    if (a->family == 4) {
        uint32_t x, y;
        memcpy(&x, a->a, 4);
        memcpy(&y, b->a, 4);
        return x == y;
    }
    return !memcmp(a->a, b->a, a->family == 4 ? 4 : a->family == 6 ? 16 : 0);
}

int capture_addr_parse(const char *s, struct capture_addr *out)
{
    memset(out, 0, sizeof *out);
    if (inet_pton(AF_INET, s, out->a) == 1) {
        out->family = 4;
        return 0;
    }
    if (inet_pton(AF_INET6, s, out->a) == 1) {
        out->family = 6;
        return 0;
    }
    return -1;
}

/* The UDP payload (or ESP) at p, `have` bytes captured of `total` on the wire. */
static void decode_udp_payload(const uint8_t *p, uint32_t have, uint32_t total,
                               struct capture_event *ev)
{
    int natt = ev->sport == 4500 || ev->dport == 4500;
    int ike500 = !natt && (ev->sport == 500 || ev->dport == 500);
    if (!natt && !ike500) {
        ev->kind = CAPTURE_OTHER;
        return;
    }
    if (natt && total == 1) {
        if (have < 1) {
            ev->kind = CAPTURE_TRUNCATED;
            return;
        }
        ev->kind = p[0] == 0xFF ? CAPTURE_KEEPALIVE : CAPTURE_MALFORMED;
        return;
    }
    const uint8_t *ike = p;
    uint32_t ike_total = total, ike_have = have;
    if (natt) {
        if (total < 4) {
            ev->kind = CAPTURE_MALFORMED;
            return;
        }
        if (have < 4) {
            ev->kind = CAPTURE_TRUNCATED;
            return;
        }
        if (rd32(p) != 0) { /* ESP: a non-zero SPI */
            if (total < 8) {
                ev->kind = CAPTURE_MALFORMED;
                return;
            }
            ev->spi = rd32(p);
            if (have < 8) {
                ev->kind = CAPTURE_TRUNCATED;
                return;
            }
            ev->seq = rd32(p + 4);
            ev->kind = CAPTURE_ESP;
            return;
        }
        ev->flags |= CAPTURE_F_IKE_MARKER;
        ike += 4;
        ike_total -= 4;
        ike_have -= 4;
    }
    if (ike_total < 28) {
        ev->kind = CAPTURE_MALFORMED;
        return;
    }
    if (ike_have < 28) {
        ev->kind = CAPTURE_TRUNCATED;
        return;
    }
    ev->ike.ispi = rd64(ike);
    ev->ike.rspi = rd64(ike + 8);
    ev->ike.exchange = ike[18];
    ev->ike.flags = ike[19];
    ev->ike.msgid = rd32(ike + 20);
    ev->ike.length = rd32(ike + 24);
    ev->kind = (ike[17] >> 4) == 2 ? CAPTURE_IKE : CAPTURE_MALFORMED;
}

/* Transport at p: `have` captured bytes, `total` bytes of IP payload on the wire. */
static void decode_transport(const uint8_t *p, uint32_t have, uint32_t total,
                             struct capture_event *ev)
{
    if (ev->ip_proto == 50) {
        if (total < 8) {
            ev->kind = CAPTURE_MALFORMED;
            return;
        }
        if (have < 4) {
            ev->kind = CAPTURE_TRUNCATED;
            return;
        }
        ev->spi = rd32(p);
        if (have < 8) {
            ev->kind = CAPTURE_TRUNCATED;
            return;
        }
        ev->seq = rd32(p + 4);
        ev->kind = ev->spi ? CAPTURE_ESP : CAPTURE_MALFORMED;
        return;
    }
    if (ev->ip_proto != 17) {
        ev->kind = CAPTURE_OTHER;
        return;
    }
    if (have < 8) {
        ev->kind = total < 8 ? CAPTURE_MALFORMED : CAPTURE_TRUNCATED;
        return;
    }
    ev->sport = rd16(p);
    ev->dport = rd16(p + 2);
    uint32_t ulen = rd16(p + 4);
    /* A first fragment carries less than the UDP length says. */
    if (ulen < 8 || (!(ev->flags & CAPTURE_F_FIRST_FRAG) && ulen > total)) {
        ev->kind = CAPTURE_MALFORMED;
        return;
    }
    ev->flags |= CAPTURE_F_UDP_ENCAP;
    decode_udp_payload(p + 8, have - 8, ulen - 8, ev);
}

static void decode_ipv4(const uint8_t *p, uint32_t have, uint32_t wire, struct capture_event *ev)
{
    if (have < 20) {
        ev->kind = wire < 20 ? CAPTURE_MALFORMED : CAPTURE_TRUNCATED;
        return;
    }
    uint32_t ihl = (uint32_t)(p[0] & 0x0F) * 4;
    uint32_t tot = rd16(p + 2);
    if ((p[0] >> 4) != 4 || ihl < 20 || tot < ihl || tot > wire) {
        ev->kind = CAPTURE_MALFORMED;
        return;
    }
    ev->ip_len = tot;
    ev->ttl = p[8];
    ev->ip_proto = p[9];
    ev->src.family = ev->dst.family = 4;
    memcpy(ev->src.a, p + 12, 4);
    memcpy(ev->dst.a, p + 16, 4);
    ev->frag_id = rd16(p + 4);
    uint16_t fo = rd16(p + 6);
    ev->frag_off = (uint16_t)((fo & 0x1FFF) * 8);
    if (ev->frag_off) {
        ev->kind = CAPTURE_FRAGMENT;
        return;
    }
    if (fo & 0x2000)
        ev->flags |= CAPTURE_F_FIRST_FRAG;
    if (have < ihl) {
        ev->kind = CAPTURE_TRUNCATED;
        return;
    }
    uint32_t cap = have < tot ? have : tot;
    decode_transport(p + ihl, cap - ihl, tot - ihl, ev);
}

static void decode_ipv6(const uint8_t *p, uint32_t have, uint32_t wire, struct capture_event *ev)
{
    if (have < 40) {
        ev->kind = wire < 40 ? CAPTURE_MALFORMED : CAPTURE_TRUNCATED;
        return;
    }
    uint32_t plen = rd16(p + 4);
    if ((p[0] >> 4) != 6 || 40 + plen > wire) {
        ev->kind = CAPTURE_MALFORMED;
        return;
    }
    ev->ip_len = 40 + plen;
    ev->ttl = p[7];
    ev->src.family = ev->dst.family = 6;
    memcpy(ev->src.a, p + 8, 16);
    memcpy(ev->dst.a, p + 24, 16);
    uint8_t nh = p[6];
    uint32_t off = 40, end = 40 + plen;
    uint32_t cap = have < end ? have : end;
    for (int hops = 0; hops < 8; hops++) {
        if (nh == 0 || nh == 43 || nh == 60 || nh == 51 || nh == 44) {
            if (end - off < 8) {
                ev->kind = CAPTURE_MALFORMED;
                return;
            }
            if (cap < off + 8) {
                ev->kind = CAPTURE_TRUNCATED;
                return;
            }
            const uint8_t *h = p + off;
            uint32_t hlen = nh == 44 ? 8 : nh == 51 ? ((uint32_t)h[1] + 2) * 4 : ((uint32_t)h[1] + 1) * 8;
            if (nh == 44) {
                uint16_t fo = rd16(h + 2);
                ev->frag_id = rd32(h + 4);
                ev->frag_off = (uint16_t)(fo & 0xFFF8);
                if (ev->frag_off) {
                    ev->ip_proto = h[0];
                    ev->kind = CAPTURE_FRAGMENT;
                    return;
                }
                if (fo & 1)
                    ev->flags |= CAPTURE_F_FIRST_FRAG;
            }
            if (hlen > end - off) {
                ev->kind = CAPTURE_MALFORMED;
                return;
            }
            nh = h[0];
            off += hlen;
            continue;
        }
        ev->ip_proto = nh;
        if (cap < off) {
            ev->kind = CAPTURE_TRUNCATED;
            return;
        }
        decode_transport(p + off, cap - off, end - off, ev);
        return;
    }
    ev->kind = CAPTURE_UNSUPPORTED; /* more extension headers than we follow */
}

static void decode_l3(uint16_t ethertype, const uint8_t *p, uint32_t have, uint32_t wire,
                      struct capture_event *ev)
{
    if (ethertype == 0x0800)
        decode_ipv4(p, have, wire, ev);
    else if (ethertype == 0x86DD)
        decode_ipv6(p, have, wire, ev);
    else
        ev->kind = CAPTURE_UNSUPPORTED;
}

static void decode_raw(const uint8_t *p, uint32_t have, uint32_t wire, struct capture_event *ev)
{
    if (have < 1) {
        ev->kind = wire < 1 ? CAPTURE_MALFORMED : CAPTURE_TRUNCATED;
        return;
    }
    decode_l3((p[0] >> 4) == 6 ? 0x86DD : (p[0] >> 4) == 4 ? 0x0800 : 0, p, have, wire, ev);
}

void capture_decode(int linktype, int64_t ts_ns, const uint8_t *data, uint32_t caplen,
                    uint32_t wire_len, struct capture_event *ev)
{
    memset(ev, 0, sizeof *ev);
    ev->ts_ns = ts_ns;
    ev->cap_len = caplen;
    ev->wire_len = wire_len;
    if (caplen > wire_len) {
        ev->kind = CAPTURE_MALFORMED;
        return;
    }
    const uint8_t *p = data;
    uint32_t have = caplen, wire = wire_len, hdr;
    switch (linktype) {
    case CAPTURE_LINK_ETHERNET: {
        if (have < 14) {
            ev->kind = wire < 14 ? CAPTURE_MALFORMED : CAPTURE_TRUNCATED;
            return;
        }
        uint16_t et = rd16(p + 12);
        hdr = 14;
        for (int tags = 0; et == 0x8100 || et == 0x88A8 || et == 0x9100; tags++) {
            if (tags == 4) {
                ev->kind = CAPTURE_UNSUPPORTED;
                return;
            }
            if (have < hdr + 4) {
                ev->kind = wire < hdr + 4 ? CAPTURE_MALFORMED : CAPTURE_TRUNCATED;
                return;
            }
            ev->vlan = rd16(p + hdr) & 0x0FFF;
            et = rd16(p + hdr + 2);
            hdr += 4;
        }
        decode_l3(et, p + hdr, have - hdr, wire - hdr, ev);
        return;
    }
    case CAPTURE_LINK_LINUX_SLL:
        if (have < 16) {
            ev->kind = wire < 16 ? CAPTURE_MALFORMED : CAPTURE_TRUNCATED;
            return;
        }
        decode_l3(rd16(p + 14), p + 16, have - 16, wire - 16, ev);
        return;
    case CAPTURE_LINK_LINUX_SLL2:
        if (have < 20) {
            ev->kind = wire < 20 ? CAPTURE_MALFORMED : CAPTURE_TRUNCATED;
            return;
        }
        decode_l3(rd16(p), p + 20, have - 20, wire - 20, ev);
        return;
    case CAPTURE_LINK_RAW:
    case 12: /* DLT_RAW on most systems */
    case 14: /* DLT_RAW on OpenBSD */
        decode_raw(p, have, wire, ev);
        return;
    case CAPTURE_LINK_IPV4:
        decode_l3(0x0800, p, have, wire, ev);
        return;
    case CAPTURE_LINK_IPV6:
        decode_l3(0x86DD, p, have, wire, ev);
        return;
    case CAPTURE_LINK_NULL: {
        if (have < 4) {
            ev->kind = wire < 4 ? CAPTURE_MALFORMED : CAPTURE_TRUNCATED;
            return;
        }
        /* Address family in the capturing host's byte order. */
        uint32_t af = p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        if (af > 0xFFFF)
            af = rd32(p);
        decode_l3(af == 2 ? 0x0800 : (af == 24 || af == 28 || af == 30 || af == 10) ? 0x86DD : 0,
                  p + 4, have - 4, wire - 4, ev);
        return;
    }
    default:
        ev->kind = CAPTURE_UNSUPPORTED;
        return;
    }
}

/* ---- incremental pcap stream ---- */

struct capture_stream {
    capture_event_fn fn;
    void *ctx;
    int have_header;
    int swapped, nsec;
    int linktype;
    uint32_t snaplen;
    uint64_t records;
    int dead;
    struct buf pending;  /* an incomplete header or record carried between feeds */
};

struct capture_stream *capture_stream_new(capture_event_fn fn, void *ctx)
{
    struct capture_stream *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->fn = fn;
    s->ctx = ctx;
    return s;
}

void capture_stream_free(struct capture_stream *s)
{
    if (!s)
        return;
    buf_free(&s->pending);
    free(s);
}

static uint32_t rdu32(const struct capture_stream *s, const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return s->swapped ? __builtin_bswap32(v) : v;
}

static int stream_header(struct capture_stream *s, const uint8_t *p, struct err *e)
{
    uint32_t magic;
    memcpy(&magic, p, 4);
    switch (magic) {
    case 0xa1b2c3d4: s->swapped = 0; s->nsec = 0; break;
    case 0xd4c3b2a1: s->swapped = 1; s->nsec = 0; break;
    case 0xa1b23c4d: s->swapped = 0; s->nsec = 1; break;
    case 0x4d3cb2a1: s->swapped = 1; s->nsec = 1; break;
    case 0x0a0d0d0a:
        return err_set(e, ERR_UNSUPPORTED, "pcapng stream: only pcap can be streamed "
                       "(read pcapng files with capture_file_open)");
    default:
        return err_set(e, ERR_PARSE, "not a pcap stream (magic 0x%08x)", magic);
    }
    uint16_t major, minor;
    memcpy(&major, p + 4, 2);
    memcpy(&minor, p + 6, 2);
    if (s->swapped) {
        major = __builtin_bswap16(major);
        minor = __builtin_bswap16(minor);
    }
    if (major != 2)
        return err_set(e, ERR_UNSUPPORTED, "pcap version %u.%u", major, minor);
    s->snaplen = rdu32(s, p + 16);
    uint32_t lt = rdu32(s, p + 20);
    /* The upper bits may carry an FCS length (pcap-savefile(5)); the link type is the low 16. */
    s->linktype = (int)(lt & 0xFFFF);
    s->have_header = 1;
    return 0;
}

/* Record at p (16-byte header + at least caplen bytes available is checked by caller). */
static int stream_record_len(struct capture_stream *s, const uint8_t *p, uint32_t *caplen,
                             struct err *e)
{
    uint32_t cl = rdu32(s, p + 8), wl = rdu32(s, p + 12), frac = rdu32(s, p + 4);
    if (cl > CAPTURE_MAX_CAPLEN)
        return err_set(e, ERR_PARSE, "pcap record %llu: captured length %u is absurd",
                       (unsigned long long)s->records + 1, cl);
    if (cl > wl)
        return err_set(e, ERR_PARSE, "pcap record %llu: captured length %u > wire length %u",
                       (unsigned long long)s->records + 1, cl, wl);
    if (s->snaplen && cl > s->snaplen)
        return err_set(e, ERR_PARSE, "pcap record %llu: captured length %u > snap length %u",
                       (unsigned long long)s->records + 1, cl, s->snaplen);
    if (frac >= (s->nsec ? 1000000000u : 1000000u))
        return err_set(e, ERR_PARSE, "pcap record %llu: sub-second field %u out of range",
                       (unsigned long long)s->records + 1, frac);
    *caplen = cl;
    return 0;
}

static int stream_emit(struct capture_stream *s, const uint8_t *p, struct err *e)
{
    struct capture_record rec;
    uint32_t sec = rdu32(s, p), frac = rdu32(s, p + 4);
    rec.ts_ns = (int64_t)sec * 1000000000 + (int64_t)frac * (s->nsec ? 1 : 1000);
    rec.cap_len = rdu32(s, p + 8);
    rec.wire_len = rdu32(s, p + 12);
    rec.data = p + 16;
    struct capture_event ev;
    capture_decode(s->linktype, rec.ts_ns, rec.data, rec.cap_len, rec.wire_len, &ev);
    s->records++;
    if (s->fn && s->fn(s->ctx, &rec, &ev, e) != 0) {
        s->dead = 1;
        return -1;
    }
    return 0;
}

/* Bytes the next unit (header or record) needs, given what is available at p. */
static int stream_need(struct capture_stream *s, const uint8_t *p, size_t avail, size_t *need,
                       struct err *e)
{
    if (!s->have_header) {
        *need = 24;
        return 0;
    }
    if (avail < 16) {
        *need = 16;
        return 0;
    }
    uint32_t cl;
    if (stream_record_len(s, p, &cl, e) != 0)
        return -1;
    *need = 16 + (size_t)cl;
    return 0;
}

static int stream_unit(struct capture_stream *s, const uint8_t *p, struct err *e)
{
    return s->have_header ? stream_emit(s, p, e) : stream_header(s, p, e);
}

int capture_stream_feed(struct capture_stream *s, const void *data, size_t n, struct err *e)
{
    if (s->dead)
        return err_set(e, ERR_PARSE, "pcap stream: already failed");
    const uint8_t *p = data;
    size_t need;
    /* First complete a unit carried over from an earlier feed. */
    while (s->pending.len > 0) {
        if (stream_need(s, (const uint8_t *)s->pending.data, s->pending.len, &need, e) != 0)
            goto dead;
        if (s->pending.len >= need) {
            if (stream_unit(s, (const uint8_t *)s->pending.data, e) != 0)
                goto dead;
            buf_consume(&s->pending, need);
            continue;
        }
        size_t take = need - s->pending.len;
        if (take > n)
            take = n;
        if (buf_append(&s->pending, p, take) != 0) {
            err_set(e, ERR_INTERNAL, "out of memory");
            goto dead;
        }
        p += take;
        n -= take;
        if (s->pending.len < need)
            return 0;
    }
    /* Then whole units straight from the caller's bytes. */
    for (;;) {
        if (stream_need(s, p, n, &need, e) != 0)
            goto dead;
        if (n < need)
            break;
        if (stream_unit(s, p, e) != 0)
            goto dead;
        p += need;
        n -= need;
    }
    if (n && buf_append(&s->pending, p, n) != 0) {
        err_set(e, ERR_INTERNAL, "out of memory");
        goto dead;
    }
    return 0;
dead:
    s->dead = 1;
    buf_free(&s->pending);
    return -1;
}

int capture_stream_finish(struct capture_stream *s, struct err *e)
{
    if (s->dead)
        return err_set(e, ERR_PARSE, "pcap stream: already failed");
    if (!s->have_header)
        return err_set(e, ERR_TRUNCATED, "pcap stream ended before its header (%zu of 24 bytes)",
                       s->pending.len);
    if (s->pending.len)
        return err_set(e, ERR_TRUNCATED, "pcap stream ended inside record %llu (%zu bytes left)",
                       (unsigned long long)s->records + 1, s->pending.len);
    return 0;
}

int capture_stream_header(const struct capture_stream *s, int *linktype, uint32_t *snaplen,
                          int *nsec)
{
    if (!s->have_header)
        return -1;
    if (linktype)
        *linktype = s->linktype;
    if (snaplen)
        *snaplen = s->snaplen;
    if (nsec)
        *nsec = s->nsec;
    return 0;
}

uint64_t capture_stream_records(const struct capture_stream *s)
{
    return s->records;
}
