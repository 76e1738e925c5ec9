/* probes/capture: the pcap stream decoder, the packet decoder on crafted edge
 * cases, the libpcap file reader/writer, and the capture command builder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "probes/capture.h"

/* ---- packet builders ---- */

struct pkt {
    uint8_t b[2048];
    size_t n;
};

static void put16(uint8_t *p, unsigned v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

/* IPv4 header + payload; frag = raw flags/offset field. */
static void ipv4(struct pkt *k, const char *src, const char *dst, int proto, unsigned frag,
                 const uint8_t *payload, size_t plen)
{
    struct capture_addr s, d;
    assert_int_equal(capture_addr_parse(src, &s), 0);
    assert_int_equal(capture_addr_parse(dst, &d), 0);
    uint8_t *p = k->b + k->n;
    memset(p, 0, 20);
    p[0] = 0x45;
    put16(p + 2, (unsigned)(20 + plen));
    put16(p + 4, 0x1234);
    put16(p + 6, frag);
    p[8] = 64;
    p[9] = (uint8_t)proto;
    memcpy(p + 12, s.a, 4);
    memcpy(p + 16, d.a, 4);
    memcpy(p + 20, payload, plen);
    k->n += 20 + plen;
}

static size_t udp(uint8_t *out, unsigned sport, unsigned dport, const uint8_t *pl, size_t n)
{
    put16(out, sport);
    put16(out + 2, dport);
    put16(out + 4, (unsigned)(8 + n));
    put16(out + 6, 0);
    memcpy(out + 8, pl, n);
    return 8 + n;
}

static size_t esp(uint8_t *out, uint32_t spi, uint32_t seq, size_t body)
{
    put32(out, spi);
    put32(out + 4, seq);
    memset(out + 8, 0xAB, body);
    return 8 + body;
}

static size_t ike(uint8_t *out, int marker, uint64_t ispi, uint64_t rspi, int exch, int flags,
                  uint32_t msgid)
{
    size_t o = 0;
    if (marker) {
        memset(out, 0, 4);
        o = 4;
    }
    put32(out + o, (uint32_t)(ispi >> 32));
    put32(out + o + 4, (uint32_t)ispi);
    put32(out + o + 8, (uint32_t)(rspi >> 32));
    put32(out + o + 12, (uint32_t)rspi);
    out[o + 16] = 46;
    out[o + 17] = 0x20;
    out[o + 18] = (uint8_t)exch;
    out[o + 19] = (uint8_t)flags;
    put32(out + o + 20, msgid);
    put32(out + o + 24, 76);
    memset(out + o + 28, 0x11, 48);
    return o + 76;
}

static void eth(struct pkt *k, unsigned ethertype, const unsigned *vlans, int nv)
{
    memset(k->b, 0x02, 12);
    k->n = 12;
    for (int i = 0; i < nv; i++) {
        put16(k->b + k->n, i == 0 && nv > 1 ? 0x88A8 : 0x8100);
        put16(k->b + k->n + 2, vlans[i]);
        k->n += 4;
    }
    put16(k->b + k->n, ethertype);
    k->n += 2;
}

static void decode(int lt, const struct pkt *k, struct capture_event *ev)
{
    capture_decode(lt, 1000, k->b, (uint32_t)k->n, (uint32_t)k->n, ev);
}

/* ---- packet decoder ---- */

static void test_decode_esp_in_udp_over_ethernet(void **state)
{
    struct pkt k = {0};
    uint8_t e[200], u[256];
    eth(&k, 0x0800, NULL, 0);
    size_t n = udp(u, 4500, 4500, e, esp(e, 0xc3b8a9d2, 77, 100));
    ipv4(&k, "192.0.2.10", "198.51.100.20", 17, 0, u, n);
    struct capture_event ev;
    decode(CAPTURE_LINK_ETHERNET, &k, &ev);
    assert_int_equal(ev.kind, CAPTURE_ESP);
    assert_true(ev.flags & CAPTURE_F_UDP_ENCAP);
    assert_int_equal(ev.spi, 0xc3b8a9d2);
    assert_int_equal(ev.seq, 77);
    assert_int_equal(ev.sport, 4500);
    assert_int_equal(ev.ip_len, 20 + 8 + 108);
    assert_int_equal(ev.wire_len, k.n);
    assert_int_equal(ev.ttl, 64);
    char a[64];
    assert_string_equal(capture_addr_str(&ev.src, a, sizeof a), "192.0.2.10");
    assert_string_equal(capture_addr_str(&ev.dst, a, sizeof a), "198.51.100.20");
}

static void test_decode_raw_esp_proto_50(void **state)
{
    struct pkt k = {0};
    uint8_t e[64];
    ipv4(&k, "192.0.2.10", "198.51.100.20", 50, 0, e, esp(e, 0x1001, 5, 40));
    struct capture_event ev;
    decode(CAPTURE_LINK_RAW, &k, &ev);
    assert_int_equal(ev.kind, CAPTURE_ESP);
    assert_false(ev.flags & CAPTURE_F_UDP_ENCAP);
    assert_int_equal(ev.spi, 0x1001);
    assert_int_equal(ev.seq, 5);
    assert_int_equal(ev.sport, 0);
    decode(12, &k, &ev); /* DLT_RAW as libpcap reports it */
    assert_int_equal(ev.kind, CAPTURE_ESP);
}

static void test_decode_ike_on_500_and_on_4500_after_marker(void **state)
{
    uint8_t i[128], u[200];
    struct pkt k = {0};
    size_t n = udp(u, 500, 500, i, ike(i, 0, 0x1122334455667788ull, 0, 34, CAPTURE_IKE_F_INITIATOR, 0));
    ipv4(&k, "192.0.2.10", "198.51.100.20", 17, 0, u, n);
    struct capture_event ev;
    decode(CAPTURE_LINK_RAW, &k, &ev);
    assert_int_equal(ev.kind, CAPTURE_IKE);
    assert_false(ev.flags & CAPTURE_F_IKE_MARKER);
    assert_int_equal(ev.ike.ispi, 0x1122334455667788ull);
    assert_int_equal(ev.ike.rspi, 0);
    assert_int_equal(ev.ike.exchange, 34);
    assert_int_equal(ev.ike.flags, CAPTURE_IKE_F_INITIATOR);

    struct pkt k2 = {0};
    n = udp(u, 4500, 4500, i, ike(i, 1, 0xAAull, 0xBBull, 37, CAPTURE_IKE_F_RESPONSE, 9));
    ipv4(&k2, "198.51.100.20", "192.0.2.10", 17, 0, u, n);
    decode(CAPTURE_LINK_RAW, &k2, &ev);
    assert_int_equal(ev.kind, CAPTURE_IKE);
    assert_true(ev.flags & CAPTURE_F_IKE_MARKER);
    assert_int_equal(ev.ike.exchange, 37);
    assert_int_equal(ev.ike.msgid, 9);
    assert_int_equal(ev.ike.rspi, 0xBB);
    assert_int_equal(ev.ike.flags, CAPTURE_IKE_F_RESPONSE);
}

static void test_decode_nat_keepalive(void **state)
{
    uint8_t one = 0xFF, u[16];
    struct pkt k = {0};
    ipv4(&k, "192.0.2.10", "198.51.100.20", 17, 0, u, udp(u, 4500, 4500, &one, 1));
    struct capture_event ev;
    decode(CAPTURE_LINK_RAW, &k, &ev);
    assert_int_equal(ev.kind, CAPTURE_KEEPALIVE);
    one = 0x00;
    k.n = 0;
    ipv4(&k, "192.0.2.10", "198.51.100.20", 17, 0, u, udp(u, 4500, 4500, &one, 1));
    decode(CAPTURE_LINK_RAW, &k, &ev);
    assert_int_equal(ev.kind, CAPTURE_MALFORMED);
}

static void test_decode_snaplen_cutting_esp_header_is_truncated(void **state)
{
    struct pkt k = {0};
    uint8_t e[200], u[256];
    size_t n = udp(u, 4500, 4500, e, esp(e, 0xdeadbeef, 3, 100));
    ipv4(&k, "192.0.2.10", "198.51.100.20", 17, 0, u, n);
    struct capture_event ev;
    /* IP 20 + UDP 8 + SPI 4 + 2 bytes of the sequence number */
    capture_decode(CAPTURE_LINK_RAW, 0, k.b, 34, (uint32_t)k.n, &ev);
    assert_int_equal(ev.kind, CAPTURE_TRUNCATED);
    assert_int_equal(ev.spi, 0xdeadbeef); /* the SPI was captured, the sequence was not */
    assert_int_equal(ev.seq, 0);
    capture_decode(CAPTURE_LINK_RAW, 0, k.b, 24, (uint32_t)k.n, &ev);
    assert_int_equal(ev.kind, CAPTURE_TRUNCATED);
    capture_decode(CAPTURE_LINK_RAW, 0, k.b, 36, (uint32_t)k.n, &ev);
    assert_int_equal(ev.kind, CAPTURE_ESP);
    assert_int_equal(ev.seq, 3);
    /* caplen > len is a lie */
    capture_decode(CAPTURE_LINK_RAW, 0, k.b, 36, 30, &ev);
    assert_int_equal(ev.kind, CAPTURE_MALFORMED);
}

static void test_decode_ip_length_longer_than_frame_is_malformed(void **state)
{
    struct pkt k = {0};
    uint8_t e[200], u[256];
    ipv4(&k, "192.0.2.10", "198.51.100.20", 17, 0, u, udp(u, 4500, 4500, e, esp(e, 1, 1, 10)));
    put16(k.b + 2, 1400);
    struct capture_event ev;
    decode(CAPTURE_LINK_RAW, &k, &ev);
    assert_int_equal(ev.kind, CAPTURE_MALFORMED);
    k.b[0] = 0x43; /* IHL 3 */
    put16(k.b + 2, (unsigned)k.n);
    decode(CAPTURE_LINK_RAW, &k, &ev);
    assert_int_equal(ev.kind, CAPTURE_MALFORMED);
}

static void test_decode_fragments_first_and_later(void **state)
{
    uint8_t e[1600], u[1700];
    size_t n = udp(u, 4500, 4500, e, esp(e, 0x2002, 11, 1400));
    /* First fragment: 1000 bytes of the UDP datagram, MF set. */
    struct pkt k = {0};
    ipv4(&k, "192.0.2.10", "198.51.100.20", 17, 0x2000, u, 1000);
    struct capture_event ev;
    decode(CAPTURE_LINK_RAW, &k, &ev);
    assert_int_equal(ev.kind, CAPTURE_ESP);
    assert_true(ev.flags & CAPTURE_F_FIRST_FRAG);
    assert_int_equal(ev.spi, 0x2002);
    assert_int_equal(ev.seq, 11);
    assert_int_equal(ev.frag_id, 0x1234);
    /* Second fragment at offset 1000. */
    struct pkt k2 = {0};
    ipv4(&k2, "192.0.2.10", "198.51.100.20", 17, 1000 / 8, u + 1000, n - 1000);
    decode(CAPTURE_LINK_RAW, &k2, &ev);
    assert_int_equal(ev.kind, CAPTURE_FRAGMENT);
    assert_int_equal(ev.frag_off, 1000);
    assert_int_equal(ev.frag_id, 0x1234);
    assert_int_equal(ev.spi, 0);
}

static void test_decode_vlan_and_qinq(void **state)
{
    uint8_t e[64], u[128];
    size_t n = udp(u, 4500, 4500, e, esp(e, 0x3003, 1, 16));
    unsigned tags[2] = {100, 42};
    struct pkt k = {0};
    eth(&k, 0x0800, tags, 1);
    ipv4(&k, "192.0.2.10", "198.51.100.20", 17, 0, u, n);
    struct capture_event ev;
    decode(CAPTURE_LINK_ETHERNET, &k, &ev);
    assert_int_equal(ev.kind, CAPTURE_ESP);
    assert_int_equal(ev.vlan, 100);
    struct pkt k2 = {0};
    eth(&k2, 0x0800, tags, 2);
    ipv4(&k2, "192.0.2.10", "198.51.100.20", 17, 0, u, n);
    decode(CAPTURE_LINK_ETHERNET, &k2, &ev);
    assert_int_equal(ev.kind, CAPTURE_ESP);
    assert_int_equal(ev.vlan, 42);
    assert_int_equal(ev.spi, 0x3003);
    /* Tag cut by the snap length */
    capture_decode(CAPTURE_LINK_ETHERNET, 0, k2.b, 16, (uint32_t)k2.n, &ev);
    assert_int_equal(ev.kind, CAPTURE_TRUNCATED);
}

static void test_decode_linux_sll_and_sll2(void **state)
{
    uint8_t e[64], u[128], ip[256];
    struct pkt inner = {0};
    ipv4(&inner, "192.0.2.10", "198.51.100.20", 17, 0, u, udp(u, 4500, 4500, e, esp(e, 0x4004, 2, 16)));
    memcpy(ip, inner.b, inner.n);
    struct pkt k = {0};
    memset(k.b, 0, 16);
    put16(k.b + 14, 0x0800);
    memcpy(k.b + 16, ip, inner.n);
    k.n = 16 + inner.n;
    struct capture_event ev;
    decode(CAPTURE_LINK_LINUX_SLL, &k, &ev);
    assert_int_equal(ev.kind, CAPTURE_ESP);
    assert_int_equal(ev.spi, 0x4004);
    struct pkt k2 = {0};
    memset(k2.b, 0, 20);
    put16(k2.b, 0x0800);
    memcpy(k2.b + 20, ip, inner.n);
    k2.n = 20 + inner.n;
    decode(CAPTURE_LINK_LINUX_SLL2, &k2, &ev);
    assert_int_equal(ev.kind, CAPTURE_ESP);
    assert_int_equal(ev.seq, 2);
    /* ARP over SLL2 is not ours */
    put16(k2.b, 0x0806);
    decode(CAPTURE_LINK_LINUX_SLL2, &k2, &ev);
    assert_int_equal(ev.kind, CAPTURE_UNSUPPORTED);
}

static void test_decode_bad_link_type_is_unsupported(void **state)
{
    struct pkt k = {0};
    uint8_t e[64];
    ipv4(&k, "192.0.2.10", "198.51.100.20", 50, 0, e, esp(e, 1, 1, 8));
    struct capture_event ev;
    decode(147 /* LINKTYPE_USER0 */, &k, &ev);
    assert_int_equal(ev.kind, CAPTURE_UNSUPPORTED);
    decode(CAPTURE_LINK_ETHERNET, &k, &ev); /* IPv4 bytes read as Ethernet: ethertype garbage */
    assert_int_equal(ev.kind, CAPTURE_UNSUPPORTED);
}

static void test_decode_ipv6_with_extension_header_and_fragment(void **state)
{
    uint8_t e[64], u[128];
    size_t un = udp(u, 4500, 4500, e, esp(e, 0x6006, 99, 16));
    struct pkt k = {0};
    uint8_t *p = k.b;
    memset(p, 0, 40);
    p[0] = 0x60;
    put16(p + 4, (unsigned)(8 + un)); /* dest-opts + UDP */
    p[6] = 60;                        /* destination options */
    p[7] = 63;
    struct capture_addr s, d;
    capture_addr_parse("2001:db8::a", &s);
    capture_addr_parse("2001:db8::14", &d);
    memcpy(p + 8, s.a, 16);
    memcpy(p + 24, d.a, 16);
    memset(p + 40, 0, 8);
    p[40] = 17; /* next: UDP, len 0 => 8 bytes */
    p[42] = 1;  /* PadN */
    p[43] = 4;
    memcpy(p + 48, u, un);
    k.n = 48 + un;
    struct capture_event ev;
    decode(CAPTURE_LINK_IPV6, &k, &ev);
    assert_int_equal(ev.kind, CAPTURE_ESP);
    assert_int_equal(ev.spi, 0x6006);
    assert_int_equal(ev.ttl, 63);
    char a[64];
    assert_string_equal(capture_addr_str(&ev.src, a, sizeof a), "2001:db8::a");
    /* Same packet, extension header replaced by a non-first fragment header */
    p[6] = 44;
    p[40] = 17;
    p[41] = 0;
    put16(p + 42, 0x00A8); /* offset 168 bytes (21*8), M=0 */
    put32(p + 44, 0xfeed);
    decode(CAPTURE_LINK_RAW, &k, &ev);
    assert_int_equal(ev.kind, CAPTURE_FRAGMENT);
    assert_int_equal(ev.frag_off, 168);
    assert_int_equal(ev.frag_id, 0xfeed);
    /* Extension header length running past the packet */
    p[6] = 60;
    p[41] = 200;
    decode(CAPTURE_LINK_IPV6, &k, &ev);
    assert_int_equal(ev.kind, CAPTURE_MALFORMED);
}

/* ---- pcap stream ---- */

struct collect {
    struct capture_event ev[64];
    int n;
};

static int collect_fn(void *ctx, const struct capture_record *rec, const struct capture_event *ev,
                      struct err *e)
{
    struct collect *c = ctx;
    if (c->n < 64)
        c->ev[c->n++] = *ev;
    return 0;
}

static size_t pcap_header(uint8_t *out, uint32_t magic, int swap, uint32_t snap, uint32_t lt)
{
    uint32_t h[6] = {magic, 2 | (4u << 16), 0, 0, snap, lt};
    if (swap) {
        for (int i = 0; i < 6; i++)
            h[i] = __builtin_bswap32(h[i]);
        h[1] = __builtin_bswap16(2) | (uint32_t)__builtin_bswap16(4) << 16;
    }
    memcpy(out, h, 24);
    return 24;
}

static size_t pcap_record(uint8_t *out, int swap, uint32_t sec, uint32_t frac, const struct pkt *k,
                          uint32_t caplen)
{
    uint32_t h[4] = {sec, frac, caplen, (uint32_t)k->n};
    if (swap)
        for (int i = 0; i < 4; i++)
            h[i] = __builtin_bswap32(h[i]);
    memcpy(out, h, 16);
    memcpy(out + 16, k->b, caplen);
    return 16 + caplen;
}

static size_t sample_stream(uint8_t *out, uint32_t magic, int swap, struct pkt *k)
{
    uint8_t e[200], u[256];
    k->n = 0;
    ipv4(k, "192.0.2.10", "198.51.100.20", 17, 0, u, udp(u, 4500, 4500, e, esp(e, 0xc0ffee, 1, 100)));
    size_t n = pcap_header(out, magic, swap, 65535, CAPTURE_LINK_RAW);
    for (uint32_t i = 0; i < 5; i++) {
        put32(k->b + 20 + 8 + 4, i + 1);
        n += pcap_record(out + n, swap, 1700000000 + i, 500000, k, (uint32_t)k->n);
    }
    return n;
}

static void test_stream_any_chunking_gives_same_events(void **state)
{
    uint8_t s[4096];
    struct pkt k;
    size_t n = sample_stream(s, 0xa1b2c3d4, 0, &k);
    for (size_t chunk = 1; chunk <= n; chunk = chunk < 40 ? chunk + 1 : chunk * 2) {
        struct collect c = {.n = 0};
        struct capture_stream *st = capture_stream_new(collect_fn, &c);
        struct err e = {0};
        for (size_t o = 0; o < n; o += chunk)
            assert_int_equal(capture_stream_feed(st, s + o, o + chunk > n ? n - o : chunk, &e), 0);
        assert_int_equal(capture_stream_finish(st, &e), 0);
        assert_int_equal(c.n, 5);
        for (int i = 0; i < 5; i++) {
            assert_int_equal(c.ev[i].kind, CAPTURE_ESP);
            assert_int_equal(c.ev[i].seq, (uint32_t)i + 1);
            assert_int_equal(c.ev[i].ts_ns, (1700000000ll + i) * 1000000000ll + 500000000ll);
        }
        int lt;
        assert_int_equal(capture_stream_header(st, &lt, NULL, NULL), 0);
        assert_int_equal(lt, CAPTURE_LINK_RAW);
        capture_stream_free(st);
    }
}

static void test_stream_swapped_and_nanosecond_magic(void **state)
{
    uint8_t s[4096];
    struct pkt k;
    uint32_t magics[2] = {0xa1b23c4d, 0xa1b2c3d4};
    for (int m = 0; m < 2; m++) {
        size_t n = sample_stream(s, magics[m], 1, &k);
        struct collect c = {.n = 0};
        struct capture_stream *st = capture_stream_new(collect_fn, &c);
        struct err e = {0};
        assert_int_equal(capture_stream_feed(st, s, n, &e), 0);
        assert_int_equal(capture_stream_finish(st, &e), 0);
        assert_int_equal(c.n, 5);
        int nsec;
        capture_stream_header(st, NULL, NULL, &nsec);
        assert_int_equal(nsec, m == 0);
        assert_int_equal(c.ev[0].ts_ns, 1700000000ll * 1000000000ll + (m == 0 ? 500000 : 500000000ll));
        assert_int_equal(c.ev[4].seq, 5);
        capture_stream_free(st);
    }
}

static void test_stream_truncated_record_at_end_is_an_error(void **state)
{
    uint8_t s[4096];
    struct pkt k;
    size_t n = sample_stream(s, 0xa1b2c3d4, 0, &k);
    struct collect c = {.n = 0};
    struct capture_stream *st = capture_stream_new(collect_fn, &c);
    struct err e = {0};
    assert_int_equal(capture_stream_feed(st, s, n - 7, &e), 0);
    assert_int_equal(capture_stream_finish(st, &e), -1);
    assert_int_equal(e.code, ERR_TRUNCATED);
    assert_int_equal(c.n, 4);
    capture_stream_free(st);
    st = capture_stream_new(collect_fn, &c);
    assert_int_equal(capture_stream_feed(st, s, 10, &e), 0);
    assert_int_equal(capture_stream_finish(st, &e), -1);
    assert_non_null(strstr(e.msg, "header"));
    capture_stream_free(st);
}

static void test_stream_rejects_absurd_and_lying_lengths(void **state)
{
    uint8_t s[4096];
    struct pkt k;
    struct err e = {0};
    size_t n = sample_stream(s, 0xa1b2c3d4, 0, &k);
    uint32_t bad[3][2] = {{0x7fffffff, 0x7fffffff}, {200, 100}, {70000, 70000}};
    const char *why[3] = {"absurd", "wire length", "snap length"};
    for (int i = 0; i < 3; i++) {
        uint8_t t[4096];
        memcpy(t, s, n);
        memcpy(t + 24 + 8, &bad[i][0], 4);
        memcpy(t + 24 + 12, &bad[i][1], 4);
        struct collect c = {.n = 0};
        struct capture_stream *st = capture_stream_new(collect_fn, &c);
        assert_int_equal(capture_stream_feed(st, t, n, &e), -1);
        assert_non_null(strstr(e.msg, why[i]));
        assert_int_equal(c.n, 0);
        assert_int_equal(capture_stream_feed(st, t, 1, &e), -1); /* dead after */
        capture_stream_free(st);
    }
    struct capture_stream *st = capture_stream_new(collect_fn, NULL);
    assert_int_equal(capture_stream_feed(st, "\x0a\x0d\x0d\x0a" "012345678901234567890", 24, &e), -1);
    assert_int_equal(e.code, ERR_UNSUPPORTED);
    capture_stream_free(st);
    st = capture_stream_new(collect_fn, NULL);
    assert_int_equal(capture_stream_feed(st, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 24, &e), -1);
    assert_int_equal(e.code, ERR_PARSE);
    capture_stream_free(st);
    capture_stream_free(NULL);
}

/* ---- libpcap writer and reader ---- */

struct wctx {
    struct capture_writer *w;
    int linktype;
    const char *path;
    int n;
};

static int write_fn(void *ctx, const struct capture_record *rec, const struct capture_event *ev,
                    struct err *e)
{
    struct wctx *c = ctx;
    (void)ev;
    if (!c->w) {
        c->w = capture_writer_open(c->path, CAPTURE_LINK_RAW, 65535, 1, e);
        if (!c->w)
            return -1;
    }
    c->n++;
    return capture_writer_write(c->w, rec, e);
}

static void test_writer_saves_stream_and_file_reader_reads_it_back(void **state)
{
    uint8_t s[4096];
    struct pkt k;
    size_t n = sample_stream(s, 0xa1b23c4d, 0, &k);
    char path[] = "/tmp/ts-capture-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    struct wctx c = {.path = path};
    struct capture_stream *st = capture_stream_new(write_fn, &c);
    struct err e = {0};
    for (size_t o = 0; o < n; o += 33)
        assert_int_equal(capture_stream_feed(st, s + o, o + 33 > n ? n - o : 33, &e), 0);
    assert_int_equal(capture_stream_finish(st, &e), 0);
    assert_int_equal(capture_writer_flush(c.w, &e), 0);
    capture_writer_free(c.w);
    capture_stream_free(st);
    struct capture_file *f = capture_file_open(path, &e);
    assert_non_null(f);
    assert_int_equal(capture_file_linktype(f), 12 /* DLT_RAW */);
    struct capture_event ev;
    int got = 0;
    while (capture_file_next(f, &ev, &e) == 1) {
        assert_int_equal(ev.kind, CAPTURE_ESP);
        assert_int_equal(ev.seq, (uint32_t)got + 1);
        assert_int_equal(ev.ts_ns, (1700000000ll + got) * 1000000000ll + 500000);
        got++;
    }
    assert_int_equal(got, 5);
    capture_file_free(f);
    unlink(path);
    assert_null(capture_file_open("/nonexistent/x.pcap", &e));
    assert_int_equal(e.code, ERR_IO);
    capture_writer_free(NULL);
    capture_file_free(NULL);
}

static void test_file_reader_follows_libpcap_rules(void **state)
{
    /* Big-endian nanosecond pcap, snap length 40 in its header while the records
     * hold 136 bytes: each record is cut to 40 (as libpcap does), which still
     * holds the ESP header; a last record cut short by the end of the file is an
     * error after the 5 whole ones. */
    (void)state;
    uint8_t s[4096];
    struct pkt k;
    uint8_t e8[200], u[256];
    k.n = 0;
    ipv4(&k, "192.0.2.10", "198.51.100.20", 17, 0, u, udp(u, 4500, 4500, e8, esp(e8, 0xc0ffee, 1, 100)));
    size_t n = pcap_header(s, 0xa1b23c4d, 1, 40, CAPTURE_LINK_RAW);
    for (uint32_t i = 0; i < 5; i++) {
        put32(k.b + 20 + 8 + 4, i + 1);
        n += pcap_record(s + n, 1, 1700000000 + i, 7, &k, (uint32_t)k.n);
    }
    size_t whole = n;
    n += pcap_record(s + n, 1, 1700000009, 0, &k, (uint32_t)k.n);
    n -= 50; /* the sixth record loses its last 50 bytes */
    char path[] = "/tmp/ts-capture-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, s, n), (ssize_t)n);
    close(fd);
    struct err e = {0};
    struct capture_file *f = capture_file_open(path, &e);
    assert_non_null(f);
    assert_int_equal(capture_file_linktype(f), 12 /* DLT_RAW, as pcap_datalink() says */);
    struct capture_event ev;
    int got = 0, r;
    while ((r = capture_file_next(f, &ev, &e)) == 1) {
        assert_int_equal(ev.kind, CAPTURE_ESP);
        assert_int_equal(ev.cap_len, 40);
        assert_int_equal(ev.wire_len, k.n);
        assert_int_equal(ev.ip_len, k.n);
        assert_int_equal(ev.spi, 0xc0ffee);
        assert_int_equal(ev.seq, (uint32_t)got + 1);
        assert_int_equal(ev.ts_ns, (1700000000ll + got) * 1000000000ll + 7);
        got++;
    }
    assert_int_equal(got, 5);
    assert_int_equal(r, -1);
    assert_int_equal(e.code, ERR_PARSE);
    assert_non_null(strstr(e.msg, "truncated"));
    capture_file_free(f);
    /* the whole records alone: a clean end */
    assert_int_equal(truncate(path, (off_t)whole), 0);
    f = capture_file_open(path, &e);
    assert_non_null(f);
    got = 0;
    while ((r = capture_file_next(f, &ev, &e)) == 1)
        got++;
    assert_int_equal(got, 5);
    assert_int_equal(r, 0);
    capture_file_free(f);
    unlink(path);
}

static size_t le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16), p[3] = (uint8_t)(v >> 24);
    return 4;
}

static void test_file_reader_pcapng_timestamp_beyond_int64_ns_is_an_error(void **state)
{
    /* A pcapng (read through libpcap) whose packet's 64-bit microsecond
     * timestamp is 2^64-1: tv_sec ~1.8e13, which no nanosecond int64 holds.
     * Found by fuzz_capture_file (UBSan signed overflow); now a clear error. */
    (void)state;
    uint8_t s[128];
    size_t n = 0;
    n += le32(s + n, 0x0a0d0d0a), n += le32(s + n, 28), n += le32(s + n, 0x1a2b3c4d);
    n += le32(s + n, 1); /* major 1, minor 0 */
    n += le32(s + n, 0xffffffff), n += le32(s + n, 0xffffffff), n += le32(s + n, 28);
    n += le32(s + n, 1), n += le32(s + n, 20), n += le32(s + n, 101 /* LINKTYPE_RAW */);
    n += le32(s + n, 65535), n += le32(s + n, 20);
    n += le32(s + n, 6), n += le32(s + n, 36), n += le32(s + n, 0);
    n += le32(s + n, 0xffffffff), n += le32(s + n, 0xffffffff); /* timestamp high, low */
    n += le32(s + n, 4), n += le32(s + n, 4), n += le32(s + n, 0x00000045), n += le32(s + n, 36);
    char path[] = "/tmp/ts-capture-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, s, n), (ssize_t)n);
    close(fd);
    struct err e = {0};
    struct capture_file *f = capture_file_open(path, &e);
    assert_non_null(f);
    struct capture_event ev;
    assert_int_equal(capture_file_next(f, &ev, &e), -1);
    assert_int_equal(e.code, ERR_PARSE);
    assert_non_null(strstr(e.msg, "record 1: timestamp out of range"));
    capture_file_free(f);
    unlink(path);
}

/* ---- the capture command ---- */

static void test_route_iface_from_ip_route_get(void **state)
{
    char path[512], text[1024], ifn[32];
    snprintf(path, sizeof path, "%s/iproute2/route-get-via.txt", TS_FIXTURES);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    struct err e = {0};
    assert_int_equal(capture_route_iface(text, n, ifn, sizeof ifn, &e), 0);
    assert_string_equal(ifn, "wan0");
    const char *bad = "198.51.100.20 via 192.0.2.1 dev eth0;rm src x";
    assert_int_equal(capture_route_iface(bad, strlen(bad), ifn, sizeof ifn, &e), -1);
    const char *none = "RTNETLINK answers: Network is unreachable\n";
    assert_int_equal(capture_route_iface(none, strlen(none), ifn, sizeof ifn, &e), -1);
    assert_int_equal(e.code, ERR_NOT_FOUND);
    char *cmd;
    assert_int_equal(capture_route_cmd("198.51.100.20", &cmd, &e), 0);
    assert_string_equal(cmd, "ip route get 198.51.100.20");
    free(cmd);
    assert_int_equal(capture_route_cmd("198.51.100.20; reboot", &cmd, &e), -1);
}

static void test_capture_cmd_is_filtered_small_and_bounded(void **state)
{
    struct capture_cmd_opts o = {.iface = "eth0", .seconds = 60, .sudo = 1};
    char *cmd;
    struct err e = {0};
    assert_int_equal(capture_cmd_build(&o, &cmd, &e), 0);
    assert_string_equal(cmd, "sudo -n timeout --foreground -k 5 60 tcpdump -i eth0 -U --immediate-mode -s 128 -w - "
                             "'udp port 500 or udp port 4500 or ip proto 50'");
    free(cmd);
    o.snaplen = -1;
    o.sudo = 0;
    assert_int_equal(capture_cmd_build(&o, &cmd, &e), 0);
    assert_non_null(strstr(cmd, "-s 0 "));
    assert_int_equal(strncmp(cmd, "timeout ", 8), 0);
    free(cmd);
    o.iface = "eth0 -w /etc/passwd";
    assert_int_equal(capture_cmd_build(&o, &cmd, &e), -1);
    o.iface = "eth0";
    o.seconds = 0;
    assert_int_equal(capture_cmd_build(&o, &cmd, &e), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_esp_in_udp_over_ethernet),
        cmocka_unit_test(test_decode_raw_esp_proto_50),
        cmocka_unit_test(test_decode_ike_on_500_and_on_4500_after_marker),
        cmocka_unit_test(test_decode_nat_keepalive),
        cmocka_unit_test(test_decode_snaplen_cutting_esp_header_is_truncated),
        cmocka_unit_test(test_decode_ip_length_longer_than_frame_is_malformed),
        cmocka_unit_test(test_decode_fragments_first_and_later),
        cmocka_unit_test(test_decode_vlan_and_qinq),
        cmocka_unit_test(test_decode_linux_sll_and_sll2),
        cmocka_unit_test(test_decode_bad_link_type_is_unsupported),
        cmocka_unit_test(test_decode_ipv6_with_extension_header_and_fragment),
        cmocka_unit_test(test_stream_any_chunking_gives_same_events),
        cmocka_unit_test(test_stream_swapped_and_nanosecond_magic),
        cmocka_unit_test(test_stream_truncated_record_at_end_is_an_error),
        cmocka_unit_test(test_stream_rejects_absurd_and_lying_lengths),
        cmocka_unit_test(test_writer_saves_stream_and_file_reader_reads_it_back),
        cmocka_unit_test(test_file_reader_follows_libpcap_rules),
        cmocka_unit_test(test_file_reader_pcapng_timestamp_beyond_int64_ns_is_an_error),
        cmocka_unit_test(test_route_iface_from_ip_route_get),
        cmocka_unit_test(test_capture_cmd_is_filtered_small_and_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
