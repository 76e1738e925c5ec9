/* playbook/correlate: the two-end ESP correlation on crafted event streams with a
 * known truth, and on real two-end captures of the lab (esp-drop-to-b). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "playbook/correlate.h"
#include "playbook/correlate_json.h"
#include "probes/capture.h"

#define MS 1000000ll
#define T0 1700000000000000000ll

static const char *A_PRIV = "192.168.77.2", *A_NAT = "203.0.113.10", *B_PUB = "198.51.100.20";

static struct capture_event esp_ev(int64_t ts, const char *src, uint16_t sport, const char *dst,
                                   uint32_t spi, uint32_t seq, uint8_t ttl, uint32_t len)
{
    struct capture_event ev = {0};
    ev.ts_ns = ts;
    ev.kind = CAPTURE_ESP;
    ev.flags = CAPTURE_F_UDP_ENCAP;
    ev.ip_proto = 17;
    ev.ttl = ttl;
    capture_addr_parse(src, &ev.src);
    capture_addr_parse(dst, &ev.dst);
    ev.sport = sport;
    ev.dport = 4500;
    ev.spi = spi;
    ev.seq = seq;
    ev.ip_len = ev.wire_len = ev.cap_len = len;
    return ev;
}

/* A scripted pair: A (behind NAT, private address) and B.  Events are handed to
 * the engine in the order a live capture would deliver them. */
struct scen {
    struct correlate *c;
    int64_t offset;     /* B's clock minus A's */
    uint16_t nat_port;  /* A's source port as B sees it */
};

static void scen_init(struct scen *s, const struct correlate_opts *o)
{
    struct err e = {0};
    memset(s, 0, sizeof *s);
    /* A 100 ms grace at the end of the captures unless the test says otherwise. */
    struct correlate_opts d = {.grace_ns = 100 * MS};
    s->c = correlate_new(o ? o : &d, &e);
    assert_non_null(s->c);
    s->nat_port = 4500;
}

/* A sends seq on spi at time t (true time); delivered to B after 5 ms unless lost. */
static void a_to_b(struct scen *s, uint32_t spi, uint32_t seq, int64_t t, int lost, int copies,
                   uint32_t len)
{
    struct err e = {0};
    struct capture_event ea = esp_ev(t, A_PRIV, 4500, B_PUB, spi, seq, 64, len);
    assert_int_equal(correlate_add(s->c, 0, &ea, &e), 0);
    for (int k = 0; !lost && k < copies; k++) {
        struct capture_event eb = esp_ev(t + 5 * MS + s->offset, A_NAT, s->nat_port, B_PUB, spi, seq, 61, len);
        assert_int_equal(correlate_add(s->c, 1, &eb, &e), 0);
    }
}

static void b_to_a(struct scen *s, uint32_t spi, uint32_t seq, int64_t t, int lost)
{
    struct err e = {0};
    struct capture_event eb = esp_ev(t + s->offset, B_PUB, 4500, A_NAT, spi, seq, 64, 200);
    eb.dport = s->nat_port;
    assert_int_equal(correlate_add(s->c, 1, &eb, &e), 0);
    if (!lost) {
        struct capture_event ea = esp_ev(t + 7 * MS, B_PUB, 4500, A_PRIV, spi, seq, 61, 200);
        assert_int_equal(correlate_add(s->c, 0, &ea, &e), 0);
    }
}

static struct correlate_result *scen_finish(struct scen *s)
{
    struct correlate_result *r = NULL;
    struct err e = {0};
    assert_int_equal(correlate_finish(s->c, &r, &e), 0);
    correlate_free(s->c);
    return r;
}

static const struct correlate_spi *find_spi(const struct correlate_result *r, uint32_t spi)
{
    for (size_t i = 0; i < r->n_spis; i++)
        if (r->spis[i].spi == spi)
            return &r->spis[i];
    fail_msg("SPI %08x not in the result", spi);
    return NULL;
}

static void test_loss_in_one_direction_only(void **state)
{
    struct scen s;
    scen_init(&s, NULL);
    for (uint32_t i = 1; i <= 3000; i++) {
        int64_t t = T0 + (int64_t)i * MS;
        a_to_b(&s, 0xc3b8a9d2, i, t, i % 10 == 3 && i < 2900, 1, 150);
        b_to_a(&s, 0x81b20c16, i, t + MS / 2, 0);
    }
    struct correlate_result *r = scen_finish(&s);
    const struct correlate_direction *ab = &r->dir[CORRELATE_AB], *ba = &r->dir[CORRELATE_BA];
    assert_int_equal(ab->c.sent, 3000);
    assert_int_equal(ab->c.lost, 290);
    assert_int_equal(ab->c.received, 2710);
    assert_int_equal(ab->c.matched, 2710);
    assert_int_equal(ab->c.outside, 0);
    assert_int_equal(ba->c.sent, 3000);
    assert_int_equal(ba->c.lost, 0);
    assert_int_equal(ba->c.received, 3000);
    assert_int_equal(find_spi(r, 0xc3b8a9d2)->dir, CORRELATE_AB);
    assert_int_equal(find_spi(r, 0x81b20c16)->dir, CORRELATE_BA);
    assert_int_equal(r->end[0].local_how, CORRELATE_HOW_TTL);
    char a[64];
    assert_string_equal(capture_addr_str(&r->end[0].local, a, sizeof a), A_PRIV);
    assert_string_equal(capture_addr_str(&r->end[1].local, a, sizeof a), B_PUB);
    /* delays 5 ms and 7 ms, no offset: offset estimate (5-7)/2 = -1 ms, both 6 ms after it */
    assert_int_equal(r->offset_how, CORRELATE_HOW_BOTH_DIRS);
    assert_int_equal(r->offset_ns, -1 * MS);
    assert_int_equal(ab->c.delay.median, 6 * MS);
    assert_int_equal(ba->c.delay.median, 6 * MS);
    correlate_result_free(r);
}

static void test_loss_both_ways_with_duplicates_and_reordering(void **state)
{
    struct scen s;
    scen_init(&s, NULL);
    struct err e = {0};
    for (uint32_t i = 1; i <= 2000; i++) {
        int64_t t = T0 + (int64_t)i * MS;
        a_to_b(&s, 0x100, i, t, i % 50 == 0, i % 100 == 7 ? 3 : 1, 150);
        b_to_a(&s, 0x200, i, t, i % 40 == 0);
    }
    /* Reordering B->A at the receiver: seq 2002 reaches A before 2001. */
    struct capture_event x1 = esp_ev(T0 + 2001 * MS, B_PUB, 4500, A_NAT, 0x200, 2001, 64, 200);
    struct capture_event x2 = esp_ev(T0 + 2002 * MS, B_PUB, 4500, A_NAT, 0x200, 2002, 64, 200);
    assert_int_equal(correlate_add(s.c, 1, &x1, &e), 0);
    assert_int_equal(correlate_add(s.c, 1, &x2, &e), 0);
    struct capture_event y2 = esp_ev(T0 + 2009 * MS, B_PUB, 4500, A_PRIV, 0x200, 2002, 61, 200);
    struct capture_event y1 = esp_ev(T0 + 2010 * MS, B_PUB, 4500, A_PRIV, 0x200, 2001, 61, 200);
    assert_int_equal(correlate_add(s.c, 0, &y2, &e), 0);
    assert_int_equal(correlate_add(s.c, 0, &y1, &e), 0);
    struct correlate_result *r = scen_finish(&s);
    /* 40 dropped; 1950 and 2000 were sent in the last 100 ms (grace) of B's capture */
    assert_int_equal(r->dir[CORRELATE_AB].c.lost, 38);
    assert_int_equal(r->dir[CORRELATE_AB].c.outside, 2);
    assert_int_equal(r->dir[CORRELATE_AB].c.duplicated, 40); /* 20 packets arrived 3 times */
    assert_int_equal(r->dir[CORRELATE_AB].c.received, 1960);
    assert_int_equal(r->dir[CORRELATE_BA].c.lost, 47); /* 50 dropped, 3 in A's last 100 ms */
    assert_int_equal(r->dir[CORRELATE_BA].c.outside, 3);
    assert_int_equal(r->dir[CORRELATE_BA].c.sent, 2002);
    assert_int_equal(r->dir[CORRELATE_BA].c.reordered, 1);
    assert_int_equal(r->dir[CORRELATE_AB].c.reordered, 0);
    correlate_result_free(r);
}

static void test_clock_offset_is_estimated_from_min_delays(void **state)
{
    struct scen s;
    scen_init(&s, NULL);
    s.offset = 3500 * MS; /* B's clock 3.5 s ahead */
    for (uint32_t i = 1; i <= 500; i++) {
        int64_t t = T0 + (int64_t)i * 10 * MS;
        a_to_b(&s, 0x300, i, t, i == 250, 1, 150);
        b_to_a(&s, 0x400, i, t + 3 * MS, 0);
    }
    struct correlate_result *r = scen_finish(&s);
    /* delays 5 and 7 ms: estimate = 3.5 s + (5 - 7)/2 ms */
    assert_int_equal(r->offset_ns, 3500 * MS - MS);
    assert_int_equal(r->dir[CORRELATE_AB].c.lost, 1);
    assert_int_equal(r->dir[CORRELATE_AB].c.outside, 0);
    assert_int_equal(r->dir[CORRELATE_AB].c.delay.median, 6 * MS);
    assert_int_equal(r->dir[CORRELATE_BA].c.delay.p99, 6 * MS);
    correlate_result_free(r);
}

static void test_packets_outside_the_other_capture_are_not_lost(void **state)
{
    /* B's capture covers only 1..2 s of A's 0..3 s. */
    struct correlate_opts o = {.grace_ns = 100 * MS};
    struct scen s;
    scen_init(&s, &o);
    struct err e = {0};
    for (uint32_t i = 1; i <= 3000; i++) {
        int64_t t = T0 + (int64_t)i * MS;
        int b_on = t + 5 * MS >= T0 + 1000 * MS && t + 5 * MS <= T0 + 2000 * MS;
        struct capture_event ea = esp_ev(t, A_PRIV, 4500, B_PUB, 0x500, i, 64, 150);
        assert_int_equal(correlate_add(s.c, 0, &ea, &e), 0);
        int lost = i % 100 == 50;
        if (b_on && !lost) {
            struct capture_event eb = esp_ev(t + 5 * MS, A_NAT, 4500, B_PUB, 0x500, i, 61, 150);
            assert_int_equal(correlate_add(s.c, 1, &eb, &e), 0);
        }
        int ba_on = t >= T0 + 1000 * MS && t <= T0 + 2000 * MS;
        if (ba_on) {
            struct capture_event eb = esp_ev(t, B_PUB, 4500, A_NAT, 0x600, i, 64, 150);
            assert_int_equal(correlate_add(s.c, 1, &eb, &e), 0);
            struct capture_event ea2 = esp_ev(t + 5 * MS, B_PUB, 4500, A_PRIV, 0x600, i, 61, 150);
            assert_int_equal(correlate_add(s.c, 0, &ea2, &e), 0);
        }
    }
    correlate_end_side(s.c, 0);
    correlate_end_side(s.c, 1);
    struct correlate_result *r = scen_finish(&s);
    const struct correlate_counts *ab = &r->dir[CORRELATE_AB].c;
    assert_int_equal(ab->sent, 3000);
    /* B's first packet: seq 995 (A 0.995 s, B 1.000 s); last: seq 1995 (arrives at 2.000 s).
     * Counted: sent at or after B's first packet (offset removed) and at least grace
     * (100 ms) before B's last: seqs 1000..1900 (B's clock runs at A's + 0 here,
     * offset estimate = 0: both delays are 5 ms). */
    assert_int_equal(r->offset_ns, 0);
    uint64_t expected_lost = 0;
    for (uint32_t i = 1000; i <= 1900; i++)
        expected_lost += i % 100 == 50;
    assert_int_equal(ab->lost, expected_lost);
    assert_int_equal(ab->lost + ab->outside + ab->matched, 3000);
    correlate_result_free(r);
}

static void test_nat_rebinding_is_a_timestamped_event(void **state)
{
    struct scen s;
    scen_init(&s, NULL);
    for (uint32_t i = 1; i <= 300; i++) {
        if (i == 151)
            s.nat_port = 31337;
        int64_t t = T0 + (int64_t)i * 10 * MS;
        a_to_b(&s, 0x700, i, t, 0, 1, 150);
        b_to_a(&s, 0x800, i, t, 0);
    }
    struct correlate_result *r = scen_finish(&s);
    assert_int_equal(r->n_nat, 1);
    assert_int_equal(r->nat[0].side, CORRELATE_B);
    assert_int_equal(r->nat[0].old_port, 4500);
    assert_int_equal(r->nat[0].new_port, 31337);
    assert_int_equal(r->nat[0].ts_ns, T0 + 1510 * MS + 5 * MS);
    char a[64];
    assert_string_equal(capture_addr_str(&r->nat[0].new_addr, a, sizeof a), A_NAT);
    assert_int_equal(r->end[1].n_peers, 2);
    assert_int_equal(r->dir[CORRELATE_AB].c.lost, 0);
    correlate_result_free(r);
}

static void test_rekey_and_sequence_wrap(void **state)
{
    struct scen s;
    scen_init(&s, NULL);
    /* Old SA with ESN crossing 2^32; new SPIs after a rekey at 1000. */
    for (uint32_t i = 0; i < 2000; i++) {
        int64_t t = T0 + (int64_t)i * MS;
        if (i < 1000) {
            uint32_t seq = 0xFFFFFE00u + i; /* wraps to 0 at i = 512 */
            a_to_b(&s, 0xA0A0, seq, t, i == 600 || i == 100, 1, 150);
            b_to_a(&s, 0xB0B0, i + 1, t, 0);
        } else {
            a_to_b(&s, 0xA1A1, i - 999, t, i == 1500, 1, 150);
            b_to_a(&s, 0xB1B1, i - 999, t, 0);
        }
    }
    struct correlate_result *r = scen_finish(&s);
    const struct correlate_spi *old = find_spi(r, 0xA0A0), *nw = find_spi(r, 0xA1A1);
    assert_int_equal(old->c.sent, 1000);
    assert_int_equal(old->c.lost, 2);
    assert_int_equal(old->c.reordered, 0);
    assert_int_equal(old->seq_first, 0xFFFFFE00ull);
    assert_int_equal(old->seq_last, 0xFFFFFE00ull + 999);
    assert_int_equal(nw->c.sent, 1000);
    assert_int_equal(nw->c.lost, 1);
    assert_int_equal(r->dir[CORRELATE_AB].spis, 2);
    assert_int_equal(r->dir[CORRELATE_BA].spis, 2);
    assert_int_equal(r->dir[CORRELATE_AB].c.lost, 3);
    correlate_result_free(r);
}

static void test_window_bounds_memory_and_counts_late_arrivals(void **state)
{
    struct correlate_opts o = {.window = 64};
    struct scen s;
    scen_init(&s, &o);
    struct err e = {0};
    for (uint32_t i = 1; i <= 1000; i++) {
        int64_t t = T0 + (int64_t)i * MS;
        a_to_b(&s, 0x900, i, t, i == 10, 1, 150);
        b_to_a(&s, 0x901, i, t, 0);
    }
    /* seq 10 shows up at B 990 sequence numbers late: outside the 64-slot window */
    struct capture_event late = esp_ev(T0 + 1001 * MS, A_NAT, 4500, B_PUB, 0x900, 10, 61, 150);
    assert_int_equal(correlate_add(s.c, 1, &late, &e), 0);
    struct correlate_result *r = scen_finish(&s);
    assert_int_equal(r->dir[CORRELATE_AB].c.lost, 1);
    assert_int_equal(r->dir[CORRELATE_AB].c.late, 1);
    assert_int_equal(r->window, 64);
    correlate_result_free(r);
    assert_null(correlate_new(&(struct correlate_opts){.window = 100}, &e));
    assert_int_equal(e.code, ERR_USAGE);
}

static void test_keepalives_and_ike_matched_across_ends(void **state)
{
    struct scen s;
    scen_init(&s, NULL);
    struct err e = {0};
    for (uint32_t i = 1; i <= 100; i++)
        a_to_b(&s, 0xAA, i, T0 + (int64_t)i * MS, 0, 1, 150);
    for (int k = 0; k < 5; k++) {
        int64_t t = T0 + 200 * MS + (int64_t)k * 20000 * MS + (k == 3 ? 50 * MS : 0);
        struct capture_event ka = {.ts_ns = t, .kind = CAPTURE_KEEPALIVE, .ip_proto = 17,
                                   .sport = 4500, .dport = 4500, .flags = CAPTURE_F_UDP_ENCAP};
        capture_addr_parse(A_PRIV, &ka.src);
        capture_addr_parse(B_PUB, &ka.dst);
        assert_int_equal(correlate_add(s.c, 0, &ka, &e), 0);
        if (k != 4) { /* the last one is lost */
            ka.ts_ns += 5 * MS;
            capture_addr_parse(A_NAT, &ka.src);
            assert_int_equal(correlate_add(s.c, 1, &ka, &e), 0);
        }
        /* an INFORMATIONAL request from A, answered by B (except the last) */
        struct capture_event ik = {.ts_ns = t + MS, .kind = CAPTURE_IKE, .ip_proto = 17, .sport = 4500,
                                   .dport = 4500, .flags = CAPTURE_F_UDP_ENCAP | CAPTURE_F_IKE_MARKER};
        ik.ike.ispi = 0x1111;
        ik.ike.rspi = 0x2222;
        ik.ike.exchange = 37;
        ik.ike.msgid = (uint32_t)k + 2;
        ik.ike.flags = CAPTURE_IKE_F_INITIATOR;
        capture_addr_parse(A_PRIV, &ik.src);
        capture_addr_parse(B_PUB, &ik.dst);
        assert_int_equal(correlate_add(s.c, 0, &ik, &e), 0);
        if (k == 2)
            assert_int_equal(correlate_add(s.c, 0, &ik, &e), 0); /* a retransmit */
        capture_addr_parse(A_NAT, &ik.src);
        ik.ts_ns += 5 * MS;
        assert_int_equal(correlate_add(s.c, 1, &ik, &e), 0);
        if (k != 4) {
            ik.ike.flags = CAPTURE_IKE_F_RESPONSE;
            ik.src = ik.dst;
            capture_addr_parse(A_NAT, &ik.dst);
            ik.ts_ns += MS;
            assert_int_equal(correlate_add(s.c, 1, &ik, &e), 0);
            capture_addr_parse(A_PRIV, &ik.dst);
            ik.ts_ns += 5 * MS;
            assert_int_equal(correlate_add(s.c, 0, &ik, &e), 0);
        }
    }
    struct correlate_result *r = scen_finish(&s);
    assert_int_equal(r->end[0].keepalive_sent, 5);
    assert_int_equal(r->end[1].keepalive_received, 4);
    assert_int_equal(r->end[0].ka_sent_interval.n, 4);
    assert_int_equal(r->end[0].ka_sent_interval.min, 19950 * MS);
    assert_int_equal(r->end[0].ka_sent_interval.max, 20050 * MS);
    assert_int_equal(r->end[0].ka_sent_interval.median, 20000 * MS);
    const struct correlate_ike *ab = &r->dir[CORRELATE_AB].ike, *ba = &r->dir[CORRELATE_BA].ike;
    assert_int_equal(ab->req_sent, 5);
    assert_int_equal(ab->req_received, 5);
    assert_int_equal(ab->req_matched, 5);
    assert_int_equal(ab->retransmits, 1);
    assert_int_equal(ba->resp_sent, 4);
    assert_int_equal(ba->resp_matched, 4);
    assert_int_equal(r->dir[CORRELATE_AB].keepalive_sent, 5);
    assert_int_equal(r->dir[CORRELATE_AB].keepalive_received, 4);
    correlate_result_free(r);
}

static void test_outer_fragments_sent_and_received_per_direction(void **state)
{
    struct scen s;
    scen_init(&s, NULL);
    struct err e = {0};
    for (uint32_t i = 1; i <= 200; i++) {
        int64_t t = T0 + (int64_t)i * MS;
        int big = i % 10 == 0;
        /* big packets leave A as two outer fragments; B gets the second fragment of only half */
        struct capture_event ea = esp_ev(t, A_PRIV, 4500, B_PUB, 0xF00, i, 64, big ? 1500 : 150);
        if (big)
            ea.flags |= CAPTURE_F_FIRST_FRAG;
        assert_int_equal(correlate_add(s.c, 0, &ea, &e), 0);
        struct capture_event fa = {.ts_ns = t, .kind = CAPTURE_FRAGMENT, .ip_proto = 17, .ttl = 64,
                                   .frag_off = 1480, .frag_id = i, .ip_len = 120};
        capture_addr_parse(A_PRIV, &fa.src);
        capture_addr_parse(B_PUB, &fa.dst);
        if (big)
            assert_int_equal(correlate_add(s.c, 0, &fa, &e), 0);
        struct capture_event eb = ea;
        eb.ts_ns += 5 * MS;
        eb.ttl = 61;
        capture_addr_parse(A_NAT, &eb.src);
        assert_int_equal(correlate_add(s.c, 1, &eb, &e), 0);
        if (big && i % 20 == 0) {
            fa.ts_ns += 5 * MS;
            fa.src = eb.src;
            assert_int_equal(correlate_add(s.c, 1, &fa, &e), 0);
        }
        b_to_a(&s, 0xF01, i, t, 0);
    }
    struct correlate_result *r = scen_finish(&s);
    assert_int_equal(r->dir[CORRELATE_AB].frag_sent, 40);     /* 20 first + 20 later fragments */
    assert_int_equal(r->dir[CORRELATE_AB].frag_received, 30); /* 20 first + 10 later */
    assert_int_equal(r->dir[CORRELATE_BA].frag_sent, 0);
    assert_int_equal(r->end[0].fragments, 40);
    correlate_result_free(r);
}

/* ---- real captures of the lab (tests/fixtures/pcap/README.md) ---- */

static void test_lab_captures_show_loss_toward_b_only(void **state)
{
    char a[512], b[512];
    snprintf(a, sizeof a, "%s/pcap/lab-gw-a.pcap", TS_FIXTURES);
    snprintf(b, sizeof b, "%s/pcap/lab-gw-b.pcap", TS_FIXTURES);
    struct correlate_result *r = NULL;
    struct err e = {0};
    assert_int_equal(correlate_files(a, b, NULL, &r, &e), 0);
    const struct correlate_direction *ab = &r->dir[CORRELATE_AB], *ba = &r->dir[CORRELATE_BA];
    assert_int_equal(ab->spis, 2);  /* before and after the CHILD_SA rekey */
    assert_int_equal(ba->spis, 2);
    assert_true(ab->c.lost >= 30);  /* >= the 30 pings sent under esp-drop-to-b */
    assert_int_equal(ab->c.sent, ab->c.received + ab->c.lost + ab->c.outside);
    assert_int_equal(ba->c.lost, 0);
    assert_int_equal(ba->c.sent, ba->c.received);
    assert_int_equal(ab->ike.req_matched, 2); /* CREATE_CHILD_SA + INFORMATIONAL delete */
    assert_int_equal(ba->ike.resp_matched, 2);
    char s[64];
    assert_string_equal(capture_addr_str(&r->end[0].local, s, sizeof s), "192.168.77.2");
    assert_string_equal(capture_addr_str(&r->end[1].local, s, sizeof s), "198.51.100.20");
    assert_int_equal(r->end[1].n_peers, 1);
    assert_string_equal(capture_addr_str(&r->end[1].peers[0].addr, s, sizeof s), "203.0.113.10");
    json_t *j = correlate_result_json(r, "gw-a", "gw-b");
    assert_non_null(j);
    json_t *d0 = json_array_get(json_object_get(j, "directions"), 0);
    assert_int_equal(json_integer_value(json_object_get(d0, "lost")), (json_int_t)ab->c.lost);
    assert_string_equal(json_string_value(json_object_get(d0, "label")), "gw-a -> gw-b");
    json_decref(j);
    correlate_result_free(r);
}

struct feed {
    struct correlate *c;
    int side;
    uint64_t n;
};

static int feed_fn(void *ctx, const struct capture_record *rec, const struct capture_event *ev,
                   struct err *e)
{
    struct feed *f = ctx;
    f->n++;
    return correlate_add(f->c, f->side, ev, e);
}

/* The stream decoder (bytes as from `tcpdump -w -`, odd chunks) and the libpcap
 * file reader see the same packets in the lab captures. */
static void test_lab_captures_stream_and_file_backends_agree(void **state)
{
    const char *names[2] = {"lab-gw-a.pcap", "lab-gw-b.pcap"};
    struct err e = {0};
    for (int s = 0; s < 2; s++) {
        char p[512];
        snprintf(p, sizeof p, "%s/pcap/%s", TS_FIXTURES, names[s]);
        FILE *fp = fopen(p, "rb");
        assert_non_null(fp);
        static uint8_t data[1 << 20];
        size_t n = fread(data, 1, sizeof data, fp);
        fclose(fp);
        struct capture_file *f = capture_file_open(p, &e);
        assert_non_null(f);
        struct capture_event fev[512];
        int nf = 0, r;
        while (nf < 512 && (r = capture_file_next(f, &fev[nf], &e)) == 1)
            nf++;
        capture_file_free(f);
        struct feed fd = {.c = correlate_new(NULL, &e), .side = s};
        struct capture_stream *st = capture_stream_new(feed_fn, &fd);
        for (size_t o = 0; o < n; o += 173)
            assert_int_equal(capture_stream_feed(st, data + o, o + 173 > n ? n - o : 173, &e), 0);
        assert_int_equal(capture_stream_finish(st, &e), 0);
        assert_int_equal(fd.n, (uint64_t)nf);
        int lt;
        capture_stream_header(st, &lt, NULL, NULL);
        assert_int_equal(lt, s == 0 ? CAPTURE_LINK_ETHERNET : CAPTURE_LINK_LINUX_SLL2);
        capture_stream_free(st);
        struct correlate_result *res;
        assert_int_equal(correlate_finish(fd.c, &res, &e), 0);
        assert_int_equal(res->end[s].esp, (uint64_t)(s == 0 ? 200 : 160));
        uint64_t esp = 0, ike = 0, ka = 0;
        for (int i = 0; i < nf; i++) {
            esp += fev[i].kind == CAPTURE_ESP;
            ike += fev[i].kind == CAPTURE_IKE;
            ka += fev[i].kind == CAPTURE_KEEPALIVE;
        }
        assert_int_equal(res->end[s].esp, esp);
        assert_int_equal(res->end[s].ike4500, ike);
        assert_int_equal(ike, 4);
        assert_int_equal(ka, 2);
        correlate_result_free(res);
        correlate_free(fd.c);
    }
}

/* pcapng (through libpcap) gives the same correlation as pcap. */
static void test_lab_capture_as_pcapng_correlates_the_same(void **state)
{
    char a[512], b[512], bng[512];
    snprintf(a, sizeof a, "%s/pcap/lab-gw-a.pcap", TS_FIXTURES);
    snprintf(b, sizeof b, "%s/pcap/lab-gw-b.pcap", TS_FIXTURES);
    snprintf(bng, sizeof bng, "%s/pcap/lab-gw-b.pcapng", TS_FIXTURES);
    struct correlate_result *r1 = NULL, *r2 = NULL;
    struct err e = {0};
    assert_int_equal(correlate_files(a, b, NULL, &r1, &e), 0);
    assert_int_equal(correlate_files(a, bng, NULL, &r2, &e), 0);
    assert_int_equal(r2->end[1].packets, r1->end[1].packets);
    assert_int_equal(r2->end[1].first_ns, r1->end[1].first_ns);
    for (int d = 0; d < 2; d++) {
        assert_int_equal(r2->dir[d].c.sent, r1->dir[d].c.sent);
        assert_int_equal(r2->dir[d].c.received, r1->dir[d].c.received);
        assert_int_equal(r2->dir[d].c.lost, r1->dir[d].c.lost);
        assert_int_equal(r2->dir[d].c.delay.median, r1->dir[d].c.delay.median);
    }
    correlate_result_free(r1);
    correlate_result_free(r2);
}

/* A sends `n` ESP packets 1 ms apart from T0 + 1 ms; B (UDP/4500 blocked toward it)
 * receives none and sends none: B's capture holds no packet at all. */
static struct correlate_result *blocked_toward_b(const struct correlate_opts *o, int declare_live,
                                                 int64_t b_start, int64_t b_end, uint32_t n)
{
    struct err e = {0};
    struct correlate *c = correlate_new(o, &e);
    assert_non_null(c);
    if (declare_live) /* as the live capture does: the start when tcpdump starts */
        assert_int_equal(correlate_declare_span(c, 1, b_start, 0, &e), 0);
    for (uint32_t i = 1; i <= n; i++) {
        struct capture_event ea = esp_ev(T0 + (int64_t)i * MS, A_PRIV, 4500, B_PUB, 0x700, i, 64, 150);
        assert_int_equal(correlate_add(c, 0, &ea, &e), 0);
    }
    correlate_end_side(c, 0);
    if (declare_live) /* ... and the end once it is stopped */
        assert_int_equal(correlate_declare_span(c, 1, b_start, b_end, &e), 0);
    correlate_end_side(c, 1);
    struct correlate_result *r = NULL;
    assert_int_equal(correlate_finish(c, &r, &e), 0);
    correlate_free(c);
    return r;
}

static void test_receiver_without_packets_and_without_span_counts_all_outside(void **state)
{
    (void)state;
    struct correlate_opts o = {.grace_ns = 100 * MS, .window = 64};
    capture_addr_parse(A_PRIV, &o.local[0]);
    capture_addr_parse(B_PUB, &o.local[1]);
    struct correlate_result *r = blocked_toward_b(&o, 0, 0, 0, 3000);
    const struct correlate_counts *ab = &r->dir[CORRELATE_AB].c;
    assert_int_equal(ab->sent, 3000);
    assert_int_equal(ab->received, 0);
    assert_int_equal(ab->lost, 0);
    assert_int_equal(ab->outside, 3000);
    assert_int_equal(r->end[1].span_how, CORRELATE_SPAN_NONE);
    assert_int_equal(r->end[0].span_how, CORRELATE_SPAN_PACKETS);
    assert_int_equal(r->end[0].span_start_ns, T0 + MS);
    assert_int_equal(r->end[0].span_end_ns, T0 + 3000 * MS);
    assert_int_equal(r->common_start_ns, 0);
    assert_int_equal(r->common_end_ns, 0);
    correlate_result_free(r);
}

static void test_receiver_without_packets_counts_loss_within_its_declared_span(void **state)
{
    (void)state;
    /* B captured from 0.5 s to 2.5 s (its clock = A's): packets sent at 0.5 s up to
     * 2.4 s (grace 100 ms before B's end) are lost, the others outside.  Declared in
     * the options, a small window (64 sequence numbers) settles most packets on the
     * way; declared live (start first, end at the end), events are correlated as they
     * come (bootstrap 16) and settled at the end, as the live capture's are. */
    for (int live = 0; live < 2; live++) {
        struct correlate_opts o = {.grace_ns = 100 * MS, .window = live ? 0 : 64,
                                   .bootstrap = live ? 16 : 0};
        capture_addr_parse(A_PRIV, &o.local[0]);
        capture_addr_parse(B_PUB, &o.local[1]);
        int64_t b0 = T0 + 500 * MS, b1 = T0 + 2500 * MS;
        if (!live)
            o.span[1] = (struct correlate_span){b0, b1};
        struct correlate_result *r = blocked_toward_b(&o, live, b0, b1, 3000);
        const struct correlate_counts *ab = &r->dir[CORRELATE_AB].c;
        assert_int_equal(ab->sent, 3000);
        assert_int_equal(ab->lost, 2400 - 500 + 1);
        assert_int_equal(ab->outside, 3000 - (2400 - 500 + 1));
        assert_int_equal(ab->lost + ab->outside, ab->sent);
        assert_int_equal(find_spi(r, 0x700)->c.lost, 1901);
        assert_int_equal(r->end[1].span_how, CORRELATE_SPAN_DECLARED);
        assert_int_equal(r->end[1].span_start_ns, b0);
        assert_int_equal(r->end[1].span_end_ns, b1);
        assert_int_equal(r->end[1].declared.start_ns, b0);
        assert_int_equal(r->end[1].declared.end_ns, b1);
        assert_int_equal(r->end[1].packets, 0);
        /* both cover 0.5 .. 2.5 s: A's packets span 0.001 .. 3.0 s */
        assert_int_equal(r->common_start_ns, b0);
        assert_int_equal(r->common_end_ns, b1);
        /* the size buckets say the same */
        uint64_t bl = 0;
        for (int k = 0; k < CORRELATE_BUCKETS; k++)
            bl += ab->bucket_lost[k];
        assert_int_equal(bl, 1901);
        correlate_result_free(r);
    }
}

static void test_declared_spans_that_start_and_end_at_different_times(void **state)
{
    (void)state;
    /* A captures 0 .. 4 s, B 1 .. 3 s (declared).  Traffic A -> B only reaches B
     * between 1.5 s and 2.5 s; before and after, everything toward B is dropped
     * while B's capture runs.  From B's packets alone (1.5 .. 2.5 s) nothing would
     * be lost; with B's declared span, the drops from 1 s to 2.9 s are.  B -> A
     * traffic flows 1.2 .. 2.8 s and A's span (declared 0 .. 4 s) covers it. */
    for (int declared = 0; declared < 2; declared++) {
        struct correlate_opts o = {.grace_ns = 100 * MS};
        capture_addr_parse(A_PRIV, &o.local[0]);
        capture_addr_parse(B_PUB, &o.local[1]);
        if (declared) {
            o.span[0] = (struct correlate_span){T0, T0 + 4000 * MS};
            o.span[1] = (struct correlate_span){T0 + 1000 * MS, T0 + 3000 * MS};
        }
        struct scen s;
        scen_init(&s, &o);
        for (uint32_t i = 1; i <= 3999; i++) {
            int64_t t = T0 + (int64_t)i * MS;
            int through = i >= 1500 && i <= 2500;
            a_to_b(&s, 0x800, i, t, !through, 1, 150);
            if (i >= 1200 && i <= 2800)
                b_to_a(&s, 0x900, i, t, 0);
        }
        correlate_end_side(s.c, 0);
        correlate_end_side(s.c, 1);
        struct correlate_result *r = scen_finish(&s);
        const struct correlate_counts *ab = &r->dir[CORRELATE_AB].c, *ba = &r->dir[CORRELATE_BA].c;
        assert_int_equal(ab->sent, 3999);
        assert_int_equal(ab->matched, 1001);
        /* offset: 5 ms A->B and 7 ms B->A: estimate -1 ms */
        assert_int_equal(r->offset_ns, -1 * MS);
        if (declared) {
            /* lost: sent at t with t - 1 ms (B's clock) >= 1 s and t - 1 ms + 100 ms <= 3 s,
             * i.e. 1001..2901 ms, not through */
            assert_int_equal(ab->lost, (1499 - 1001 + 1) + (2901 - 2501 + 1));
            assert_int_equal(r->end[1].span_how, CORRELATE_SPAN_DECLARED);
            assert_int_equal(r->common_start_ns, T0 + 1001 * MS);
            assert_int_equal(r->common_end_ns, T0 + 3001 * MS);
        } else {
            /* B's packets span 1.2 .. 2.8 s (B's clock): only the drops sent 1.201 ..
             * 1.499 s and 2.501 .. 2.701 s count */
            assert_int_equal(ab->lost, (1499 - 1201 + 1) + (2701 - 2501 + 1));
            assert_int_equal(r->end[1].span_how, CORRELATE_SPAN_PACKETS);
        }
        assert_int_equal(ab->lost + ab->outside + ab->matched, 3999);
        assert_int_equal(ba->sent, 1601);
        assert_int_equal(ba->lost, 0);
        assert_int_equal(ba->received, 1601);
        correlate_result_free(r);
    }
}

static void test_packets_outside_a_declared_span_widen_it(void **state)
{
    (void)state;
    /* B says it captured 1 .. 2 s but holds packets from 0.5 s (a clock or a start
     * measured late): the packets win, the capture evidently ran then. */
    struct correlate_opts o = {.grace_ns = 100 * MS};
    o.span[1] = (struct correlate_span){T0 + 1000 * MS, T0 + 2000 * MS};
    struct scen s;
    scen_init(&s, &o);
    for (uint32_t i = 1; i <= 2600; i++) {
        int64_t t = T0 + (int64_t)i * MS;
        a_to_b(&s, 0x810, i, t, i % 10 == 0 || i < 495 || i > 2500, 1, 150);
        if (i < 495 || i > 2500) /* B's own traffic from its 0.495 s to 2.5 s */
            continue;
        b_to_a(&s, 0x910, i, t, 0);
    }
    correlate_end_side(s.c, 0);
    correlate_end_side(s.c, 1);
    struct correlate_result *r = scen_finish(&s);
    assert_int_equal(r->end[1].span_how, CORRELATE_SPAN_DECLARED);
    assert_int_equal(r->end[1].declared.start_ns, T0 + 1000 * MS);
    assert_int_equal(r->end[1].span_start_ns, T0 + 495 * MS);
    assert_int_equal(r->end[1].span_end_ns, T0 + 2499 * MS + 5 * MS);
    assert_int_equal(r->dir[CORRELATE_BA].c.lost, 0);
    correlate_result_free(r);
}

static void test_declared_span_is_checked(void **state)
{
    (void)state;
    struct err e = {0};
    struct correlate_opts o = {0};
    o.span[0] = (struct correlate_span){T0 + 10, T0};
    assert_null(correlate_new(&o, &e));
    assert_int_equal(e.code, ERR_USAGE);
    struct correlate *c = correlate_new(NULL, &e);
    assert_non_null(c);
    assert_int_equal(correlate_declare_span(c, 2, T0, 0, &e), -1);
    assert_int_equal(correlate_declare_span(c, 0, -5, 0, &e), -1);
    assert_int_equal(correlate_declare_span(c, 0, T0, T0 - 1, &e), -1);
    assert_int_equal(correlate_declare_span(c, 0, T0, 0, &e), 0);
    assert_int_equal(correlate_declare_span(c, 0, T0, T0, &e), 0);
    correlate_free(c);
}

static void test_span_json_says_declared_or_from_packets(void **state)
{
    (void)state;
    struct correlate_opts o = {.grace_ns = 100 * MS, .window = 64};
    capture_addr_parse(A_PRIV, &o.local[0]);
    capture_addr_parse(B_PUB, &o.local[1]);
    o.span[1] = (struct correlate_span){T0 + 500 * MS, T0 + 2500 * MS};
    struct correlate_result *r = blocked_toward_b(&o, 0, 0, 0, 3000);
    json_t *j = correlate_result_json(r, "gw-a", "gw-b");
    assert_non_null(j);
    json_t *sa = json_object_get(json_object_get(json_object_get(j, "ends"), "a"), "span");
    json_t *sb = json_object_get(json_object_get(json_object_get(j, "ends"), "b"), "span");
    assert_string_equal(json_string_value(json_object_get(sa, "how")), "packets");
    assert_true(json_is_null(json_object_get(sa, "declared")));
    assert_string_equal(json_string_value(json_object_get(sb, "how")), "declared");
    assert_int_equal(json_integer_value(json_object_get(sb, "start_ns")), T0 + 500 * MS);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(sb, "declared"), "end_ns")),
                     T0 + 2500 * MS);
    json_t *cs = json_object_get(j, "common_span");
    assert_int_equal(json_integer_value(json_object_get(cs, "start_ns")), T0 + 500 * MS);
    assert_int_equal(json_integer_value(json_object_get(cs, "end_ns")), T0 + 2500 * MS);
    json_decref(j);
    correlate_result_free(r);
}

static void test_time_and_span_parse(void **state)
{
    (void)state;
    struct err e = {0};
    int64_t t;
    const int64_t base = 1796462042ll * 1000000000ll; /* 2026-12-05T09:14:02Z */
    assert_int_equal(correlate_time_parse("2026-12-05T09:14:02Z", &t, &e), 0);
    assert_int_equal(t, base);
    assert_int_equal(correlate_time_parse("2026-12-05T09:14:02.5Z", &t, &e), 0);
    assert_int_equal(t, base + 500000000);
    assert_int_equal(correlate_time_parse("2026-12-05 09:14:02.000000001", &t, &e), 0);
    assert_int_equal(t, base + 1);
    assert_int_equal(correlate_time_parse("2026-12-05T10:14:02+01:00", &t, &e), 0);
    assert_int_equal(t, base);
    assert_int_equal(correlate_time_parse("2026-12-05T09:14Z", &t, &e), 0);
    assert_int_equal(t, base - 2000000000ll);
    assert_int_equal(correlate_time_parse("1796462042.5", &t, &e), 0);
    assert_int_equal(t, base + 500000000);
    assert_int_equal(correlate_time_parse("1796462042", &t, &e), 0);
    assert_int_equal(t, base);
    assert_int_equal(correlate_time_parse("2024-02-29T00:00:00Z", &t, &e), 0);
    const char *bad[] = {"", "now", "2026-13-05T09:14:02Z", "2026-02-30T00:00:00Z",
                         "2025-02-29T00:00:00Z", "2026-12-05T24:00:00Z", "2026-12-05T09:60:00Z",
                         "2026-12-05", "2026-12-05T09:14:02.Z", "2026-12-05T09:14:02.1234567891Z",
                         "2026-12-05T09:14:02Zjunk", "10000-01-01T00:00:00Z", "1969-12-31T23:59:59Z",
                         "0", "-5", "1796462042.", "253402300800", "2262-04-12T00:00:00Z", "9223372036", "99999999999999999999", "1e9",
                         "2026-12-05T09:14:02+25:00", NULL};
    for (int i = 0; bad[i]; i++) {
        e.code = 0;
        if (correlate_time_parse(bad[i], &t, &e) != -1)
            fail_msg("'%s' parsed as %lld", bad[i], (long long)t);
        assert_int_equal(e.code, ERR_PARSE);
    }
    struct correlate_span sp;
    assert_int_equal(correlate_span_parse("2026-12-05T09:14:02Z,1796462052.25", &sp, &e), 0);
    assert_int_equal(sp.start_ns, base);
    assert_int_equal(sp.end_ns, base + 10250000000ll);
    assert_int_equal(correlate_span_parse("1796462052,1796462042", &sp, &e), -1);
    assert_int_equal(correlate_span_parse("1796462042", &sp, &e), -1);
    assert_int_equal(correlate_span_parse("1796462042,", &sp, &e), -1);
    assert_int_equal(correlate_span_parse("1,2,3", &sp, &e), -1);
    assert_int_equal(correlate_span_parse(NULL, &sp, &e), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loss_in_one_direction_only),
        cmocka_unit_test(test_loss_both_ways_with_duplicates_and_reordering),
        cmocka_unit_test(test_clock_offset_is_estimated_from_min_delays),
        cmocka_unit_test(test_packets_outside_the_other_capture_are_not_lost),
        cmocka_unit_test(test_nat_rebinding_is_a_timestamped_event),
        cmocka_unit_test(test_rekey_and_sequence_wrap),
        cmocka_unit_test(test_window_bounds_memory_and_counts_late_arrivals),
        cmocka_unit_test(test_keepalives_and_ike_matched_across_ends),
        cmocka_unit_test(test_outer_fragments_sent_and_received_per_direction),
        cmocka_unit_test(test_lab_captures_show_loss_toward_b_only),
        cmocka_unit_test(test_lab_captures_stream_and_file_backends_agree),
        cmocka_unit_test(test_lab_capture_as_pcapng_correlates_the_same),
        cmocka_unit_test(test_receiver_without_packets_and_without_span_counts_all_outside),
        cmocka_unit_test(test_receiver_without_packets_counts_loss_within_its_declared_span),
        cmocka_unit_test(test_declared_spans_that_start_and_end_at_different_times),
        cmocka_unit_test(test_packets_outside_a_declared_span_widen_it),
        cmocka_unit_test(test_declared_span_is_checked),
        cmocka_unit_test(test_span_json_says_declared_or_from_packets),
        cmocka_unit_test(test_time_and_span_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
