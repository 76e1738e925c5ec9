/* tui/view, tui/timeline, tui/ui: a given model and terminal size give the
 * expected rows; keys change the state as documented.  No terminal involved. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui/model.h"
#include "tui/timeline.h"
#include "tui/ui.h"
#include "tui/view.h"

#define T0 1700000000000000000LL
#define MS 1000000LL
#define SPI_AB 0xc1a2b3c4u
#define SPI_BA 0xd5e6f7a8u

struct fx {
    struct timeline *tl;
    struct findings fs;
    struct model m;
    struct ui_state ui;
};

static struct capture_event esp(const char *src, const char *dst, uint32_t spi, uint32_t seq,
                                int64_t ts, uint8_t ttl)
{
    struct capture_event ev;
    memset(&ev, 0, sizeof ev);
    ev.ts_ns = ts;
    ev.kind = CAPTURE_ESP;
    ev.flags = CAPTURE_F_UDP_ENCAP;
    ev.ip_proto = 17;
    ev.ttl = ttl;
    ev.ip_len = 132;
    ev.wire_len = 146;
    ev.sport = ev.dport = 4500;
    ev.spi = spi;
    ev.seq = seq;
    capture_addr_parse(src, &ev.src);
    capture_addr_parse(dst, &ev.dst);
    return ev;
}

/* A behind NAT (192.168.1.2, seen by B as 198.51.100.1), B public (203.0.113.2).
 * A sends 10 ESP packets that B never receives; B sends 10 that A receives. */
static void feed_asymmetric_loss(struct timeline *tl)
{
    timeline_set_span(tl, 0, T0, 0);
    timeline_set_span(tl, 1, T0, 0);
    for (uint32_t i = 1; i <= 10; i++) {
        int64_t t = T0 + (int64_t)i * 100 * MS;
        struct capture_event a = esp("192.168.1.2", "203.0.113.2", SPI_AB, i, t, 64);
        assert_int_equal(timeline_add(tl, 0, &a), 0);
        struct capture_event bs = esp("203.0.113.2", "198.51.100.1", SPI_BA, i, t + 10 * MS, 64);
        assert_int_equal(timeline_add(tl, 1, &bs), 0);
        struct capture_event ar = esp("203.0.113.2", "192.168.1.2", SPI_BA, i, t + 12 * MS, 62);
        assert_int_equal(timeline_add(tl, 0, &ar), 0);
    }
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    f->tl = timeline_new(0);
    if (!f->tl)
        return -1;
    feed_asymmetric_loss(f->tl);
    timeline_settle(f->tl, T0 + 20000 * MS, 1000 * MS);

    findings_add(&f->fs, "transport.natt", STEP_TRANSPORT, SEV_INFO, NULL,
                 "NAT-T: ESP in UDP/4500, A (gw-a) is behind NAT");
    struct finding *x = findings_add(&f->fs, "reach.esp_lost_a_to_b", STEP_REACH, SEV_FAILURE,
                                     "UDP/4500 from A never reaches B: escalate to the ISP of site B "
                                     "with both pcaps.",
                                     "ESP A->B: %d of %d packets lost, B->A: none lost", 10, 10);
    finding_add_evidence(x, "gw-a", "tcpdump -i eth0 udp port 4500", "SPI %08x seq 1-10 sent", SPI_AB);
    finding_add_evidence(x, "gw-b", "tcpdump -i eth0 udp port 4500", "SPI %08x: nothing received", SPI_AB);
    findings_add(&f->fs, "reach.keepalive_ok", STEP_REACH, SEV_OK, NULL, "NAT keepalives every 20 s");

    struct model *m = &f->m;
    m->conn = "net-net";
    m->transport = MT_UDP4500;
    m->elapsed_s = 75;
    m->capture = MC_RUNNING;
    m->capture_s = 12;
    for (int s = 0; s < 2; s++) {
        struct model_end *e = &m->end[s];
        e->name = s ? "gw-b" : "gw-a";
        e->link = ML_READY;
        e->daemon = "strongswan";
        e->ike_state = "ESTABLISHED";
        e->child_state = "INSTALLED";
        e->behind_nat = s ? TRI_NO : TRI_YES;
        e->capture = MC_RUNNING;
        e->n_sa = 2;
        e->sa[0] = (struct model_sa){s ? SPI_BA : SPI_AB, 1, 1320, 10};
        e->sa[1] = (struct model_sa){s ? SPI_AB : SPI_BA, 0, s ? 0 : 1320, s ? 0 : 10};
    }
    m->step[1] = STEP_INFO;
    m->step[2] = STEP_FAILED;
    m->step[3] = STEP_RUNNING;
    m->running_step = 3;
    m->activity = "collecting facts";
    m->findings = &f->fs;
    m->tl = f->tl;
    m->now_ns = T0 + 2000 * MS;
    ui_init(&f->ui, 0);
    f->ui.step_sel = 2;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    timeline_free(f->tl);
    findings_free(&f->fs);
    free(f);
    return 0;
}

static char *text_of(const struct view *v)
{
    struct buf b = BUF_INIT;
    assert_int_equal(view_text(v, &b), 0);
    if (getenv("TS_VIEW_DUMP"))
        fprintf(stderr, "%s\n", b.data);
    return buf_take(&b);
}

static char *row_of(const struct view *v, int r)
{
    struct buf b = BUF_INIT;
    assert_int_equal(view_row_text(v, r, &b), 0);
    return buf_take(&b);
}

/* Every cell is a character, or the right half ("") of a wide one: an empty
 * cell anywhere else is skipped by draw_view and leaves what the terminal
 * showed there before. */
static void assert_cells_well_formed(const struct view *v)
{
    for (int r = 0; r < v->rows; r++)
        for (int x = 0; x < v->cols; x++) {
            const struct vcell *k = &v->cell[(size_t)r * (size_t)v->cols + (size_t)x];
            if (k->ch[0])
                continue;
            assert_true(x > 0);
            assert_true((unsigned char)k[-1].ch[0] >= 0xe0); /* a 3- or 4-byte (possibly wide) character */
        }
}

/* ---- timeline ---- */

static void test_timeline_matches_esp_across_ends_and_counts_loss_per_direction(void **state)
{
    struct fx *f = *state;
    const struct tl_totals *ab = timeline_totals(f->tl, TL_AB), *ba = timeline_totals(f->tl, TL_BA);
    assert_int_equal(ab->sent, 10);
    assert_int_equal(ab->received, 0);
    assert_int_equal(ab->lost, 10);
    assert_int_equal(ba->sent, 10);
    assert_int_equal(ba->received, 10);
    assert_int_equal(ba->lost, 0);
    /* 10 lost rows + 10 matched rows: a matched packet is one row */
    assert_int_equal(timeline_end(f->tl) - timeline_first(f->tl), 20);
    size_t matched = 0, lost = 0;
    for (uint64_t i = timeline_first(f->tl); i < timeline_end(f->tl); i++) {
        const struct tl_row *r = timeline_row(f->tl, i);
        matched += r->have == 3u;
        lost += (r->flags & TL_ROW_LOST) != 0;
        if (r->flags & TL_ROW_LOST) {
            assert_int_equal(r->have, 1u); /* only A saw it */
            assert_int_equal(timeline_row_dir(f->tl, r), TL_AB);
        }
    }
    assert_int_equal(matched, 10);
    assert_int_equal(lost, 10);
}

static void test_timeline_does_not_call_lost_before_the_grace_period(void **state)
{
    struct timeline *tl = timeline_new(0);
    assert_non_null(tl);
    feed_asymmetric_loss(tl);
    /* the receiver's clock has not gone past the grace period yet */
    timeline_settle(tl, T0 + 1500 * MS, 1000 * MS);
    assert_int_equal(timeline_totals(tl, TL_AB)->lost, 0);
    timeline_free(tl);
}

static void test_timeline_lagging_receiver_stream_is_not_called_lost_by_the_clock(void **state)
{
    /* B's stream is busy (bytes heard 100 ms ago) but shows packets 9 s old:
     * a slow management link.  A's packet of T0+5 s waits for B's stream,
     * not for the wall clock; once B's stream is quiet for the grace period,
     * the clock settles it. */
    (void)state;
    struct timeline *tl = timeline_new(0);
    timeline_set_span(tl, 0, T0, 0);
    timeline_set_span(tl, 1, T0, 0);
    timeline_set_spi_dir(tl, SPI_AB, TL_AB);
    timeline_set_spi_dir(tl, SPI_BA, TL_BA);
    struct capture_event a = esp("192.168.1.2", "203.0.113.2", SPI_AB, 7, T0 + 5000 * MS, 64);
    timeline_add(tl, 0, &a);
    struct capture_event b = esp("203.0.113.2", "198.51.100.1", SPI_BA, 1, T0 + 1000 * MS, 64);
    timeline_add(tl, 1, &b);
    timeline_heard(tl, 1, T0 + 9900 * MS);
    timeline_settle(tl, T0 + 10000 * MS, 1000 * MS);
    assert_int_equal(timeline_totals(tl, TL_AB)->lost, 0);
    /* B's stream catches up past A's packet without it: lost */
    struct capture_event b2 = esp("203.0.113.2", "198.51.100.1", SPI_BA, 2, T0 + 6500 * MS, 64);
    timeline_add(tl, 1, &b2);
    timeline_heard(tl, 1, T0 + 10100 * MS);
    timeline_settle(tl, T0 + 10200 * MS, 1000 * MS);
    assert_int_equal(timeline_totals(tl, TL_AB)->lost, 1);
    timeline_free(tl);

    /* same, but B's stream stays quiet: settled by the clock */
    tl = timeline_new(0);
    timeline_set_span(tl, 0, T0, 0);
    timeline_set_span(tl, 1, T0, 0);
    timeline_set_spi_dir(tl, SPI_AB, TL_AB);
    timeline_add(tl, 0, &a);
    timeline_heard(tl, 1, T0 + 1000 * MS);
    timeline_settle(tl, T0 + 10000 * MS, 1000 * MS);
    assert_int_equal(timeline_totals(tl, TL_AB)->lost, 1);
    timeline_free(tl);
}

static void test_timeline_late_arrival_undoes_lost(void **state)
{
    struct timeline *tl = timeline_new(0);
    timeline_set_span(tl, 0, T0, 0);
    timeline_set_span(tl, 1, T0, 0);
    timeline_set_spi_dir(tl, SPI_AB, TL_AB);
    struct capture_event a = esp("192.168.1.2", "203.0.113.2", SPI_AB, 7, T0 + 10 * MS, 64);
    timeline_add(tl, 0, &a);
    timeline_settle(tl, T0 + 10000 * MS, 1000 * MS);
    assert_int_equal(timeline_totals(tl, TL_AB)->lost, 1);
    struct capture_event b = esp("198.51.100.1", "203.0.113.2", SPI_AB, 7, T0 + 10 * MS, 62);
    timeline_add(tl, 1, &b);
    assert_int_equal(timeline_totals(tl, TL_AB)->lost, 0);
    assert_int_equal(timeline_totals(tl, TL_AB)->received, 1);
    timeline_free(tl);
}

static void test_timeline_drops_oldest_rows_past_its_limit(void **state)
{
    struct timeline *tl = timeline_new(8);
    for (uint32_t i = 0; i < 20; i++) {
        struct capture_event a = esp("192.168.1.2", "203.0.113.2", SPI_AB, i, T0 + i, 64);
        assert_int_equal(timeline_add(tl, 0, &a), 0);
    }
    assert_int_equal(timeline_end(tl) - timeline_first(tl), 8);
    assert_int_equal(timeline_dropped(tl), 12);
    assert_int_equal(timeline_row(tl, timeline_first(tl))->p[0].seq, 12);
    assert_null(timeline_row(tl, 0));
    timeline_free(tl);
}

static struct capture_event ike(const char *src, const char *dst, uint8_t exch, uint8_t flags, uint32_t msgid,
                                int64_t ts)
{
    struct capture_event ev;
    memset(&ev, 0, sizeof ev);
    ev.ts_ns = ts;
    ev.kind = CAPTURE_IKE;
    ev.flags = CAPTURE_F_UDP_ENCAP | CAPTURE_F_IKE_MARKER;
    ev.ip_proto = 17;
    ev.ttl = 64;
    ev.ip_len = 108;
    ev.wire_len = 122;
    ev.sport = ev.dport = 4500;
    ev.ike.ispi = 0x1122334455667788ull;
    ev.ike.rspi = 0x99aabbccddeeff00ull;
    ev.ike.exchange = exch;
    ev.ike.flags = flags;
    ev.ike.msgid = msgid;
    ev.ike.length = 80;
    capture_addr_parse(src, &ev.src);
    capture_addr_parse(dst, &ev.dst);
    return ev;
}

static struct capture_event keepalive(const char *src, const char *dst, int64_t ts)
{
    struct capture_event ev;
    memset(&ev, 0, sizeof ev);
    ev.ts_ns = ts;
    ev.kind = CAPTURE_KEEPALIVE;
    ev.flags = CAPTURE_F_UDP_ENCAP;
    ev.ip_proto = 17;
    ev.ttl = 64;
    ev.ip_len = 29;
    ev.wire_len = 43;
    ev.sport = ev.dport = 4500;
    capture_addr_parse(src, &ev.src);
    capture_addr_parse(dst, &ev.dst);
    return ev;
}

/* A (192.168.1.2 behind NAT, seen by B as 198.51.100.1), B 203.0.113.2;
 * locals known as the console knows them from the SA facts. */
static struct timeline *two_ends(void)
{
    struct timeline *tl = timeline_new(0);
    assert_non_null(tl);
    struct capture_addr a, b;
    capture_addr_parse("192.168.1.2", &a);
    capture_addr_parse("203.0.113.2", &b);
    timeline_set_local(tl, 0, &a);
    timeline_set_local(tl, 1, &b);
    timeline_set_span(tl, 0, T0, 0);
    timeline_set_span(tl, 1, T0, 0);
    return tl;
}

static size_t rows_of(const struct timeline *tl)
{
    return (size_t)(timeline_end(tl) - timeline_first(tl));
}

static void test_timeline_matches_ike_by_spis_message_id_and_flags(void **state)
{
    (void)state;
    struct timeline *tl = two_ends();
    /* A asks (INFORMATIONAL #5), B receives it; B answers, A receives it */
    struct capture_event rq_a = ike("192.168.1.2", "203.0.113.2", 37, CAPTURE_IKE_F_INITIATOR, 5, T0 + 10 * MS);
    struct capture_event rq_b = ike("198.51.100.1", "203.0.113.2", 37, CAPTURE_IKE_F_INITIATOR, 5, T0 + 15 * MS);
    struct capture_event rs_b = ike("203.0.113.2", "198.51.100.1", 37, CAPTURE_IKE_F_RESPONSE, 5, T0 + 16 * MS);
    struct capture_event rs_a = ike("203.0.113.2", "192.168.1.2", 37, CAPTURE_IKE_F_RESPONSE, 5, T0 + 21 * MS);
    assert_int_equal(timeline_add(tl, 0, &rq_a), 0);
    assert_int_equal(timeline_add(tl, 1, &rq_b), 0);
    assert_int_equal(timeline_add(tl, 1, &rs_b), 0);
    assert_int_equal(timeline_add(tl, 0, &rs_a), 0);
    assert_int_equal(rows_of(tl), 2);
    const struct tl_row *r0 = timeline_row(tl, timeline_first(tl));
    const struct tl_row *r1 = timeline_row(tl, timeline_first(tl) + 1);
    assert_int_equal(r0->have, 3u);
    assert_int_equal(timeline_row_dir(tl, r0), TL_AB);
    assert_int_equal(r0->p[1].seq, 5);
    assert_int_equal(r1->have, 3u);
    assert_int_equal(timeline_row_dir(tl, r1), TL_BA);
    /* the next request (#6) does not pair with #5's; it never arrives: lost on B's side */
    struct capture_event rq6 = ike("192.168.1.2", "203.0.113.2", 37, CAPTURE_IKE_F_INITIATOR, 6, T0 + 100 * MS);
    assert_int_equal(timeline_add(tl, 0, &rq6), 0);
    assert_int_equal(rows_of(tl), 3);
    /* a message that matches on everything but the responder SPI is another one */
    struct capture_event other = rq_b;
    other.ike.rspi ^= 1;
    other.ike.msgid = 6;
    other.ts_ns = T0 + 105 * MS;
    assert_int_equal(timeline_add(tl, 1, &other), 0);
    assert_int_equal(rows_of(tl), 4);
    timeline_settle(tl, T0 + 5000 * MS, 1000 * MS);
    const struct tl_row *r2 = timeline_row(tl, timeline_first(tl) + 2);
    assert_int_equal(r2->have, 1u);
    assert_true(r2->flags & TL_ROW_LOST);
    /* IKE is not in the ESP totals */
    assert_int_equal(timeline_totals(tl, TL_AB)->sent, 0);
    assert_int_equal(timeline_totals(tl, TL_AB)->lost, 0);
    timeline_free(tl);
}

static void test_timeline_ike_retransmission_is_a_row_of_its_own(void **state)
{
    (void)state;
    struct timeline *tl = two_ends();
    struct capture_event a1 = ike("192.168.1.2", "203.0.113.2", 35, CAPTURE_IKE_F_INITIATOR, 1, T0 + 10 * MS);
    struct capture_event a2 = a1;
    a2.ts_ns = T0 + 2010 * MS; /* retransmitted after 2 s */
    struct capture_event b2 = ike("198.51.100.1", "203.0.113.2", 35, CAPTURE_IKE_F_INITIATOR, 1, T0 + 2015 * MS);
    timeline_add(tl, 0, &a1);
    timeline_add(tl, 0, &a2);
    timeline_add(tl, 1, &b2); /* only one copy arrived */
    assert_int_equal(rows_of(tl), 2);
    timeline_settle(tl, T0 + 9000 * MS, 1000 * MS);
    int lost = 0, both = 0;
    for (uint64_t i = timeline_first(tl); i < timeline_end(tl); i++) {
        lost += (timeline_row(tl, i)->flags & TL_ROW_LOST) != 0;
        both += timeline_row(tl, i)->have == 3u;
    }
    assert_int_equal(lost, 1);
    assert_int_equal(both, 1);
    timeline_free(tl);
}

static void test_timeline_pairs_keepalives_once_the_clock_offset_is_known(void **state)
{
    (void)state;
    struct timeline *tl = two_ends();
    /* B's clock runs 3 s ahead; one-way delay 5 ms; ESP both ways shows it */
    const int64_t off = 3000 * MS, d = 5 * MS;
    timeline_set_span(tl, 1, T0 + off, 0);
    struct capture_event e1 = esp("192.168.1.2", "203.0.113.2", SPI_AB, 1, T0 + 10 * MS, 64);
    struct capture_event e2 = esp("198.51.100.1", "203.0.113.2", SPI_AB, 1, T0 + 10 * MS + off + d, 62);
    struct capture_event e3 = esp("203.0.113.2", "198.51.100.1", SPI_BA, 1, T0 + 20 * MS + off, 64);
    struct capture_event e4 = esp("203.0.113.2", "192.168.1.2", SPI_BA, 1, T0 + 20 * MS + d, 62);
    timeline_add(tl, 0, &e1);
    timeline_add(tl, 1, &e2);
    timeline_add(tl, 1, &e3);
    timeline_add(tl, 0, &e4);
    assert_int_equal(rows_of(tl), 2);
    /* keepalive #1: B's copy first (its stream ran ahead), then A's */
    struct capture_event kb = keepalive("198.51.100.1", "203.0.113.2", T0 + 1000 * MS + off + d);
    struct capture_event ka = keepalive("192.168.1.2", "203.0.113.2", T0 + 1000 * MS);
    timeline_add(tl, 1, &kb);
    timeline_add(tl, 0, &ka);
    assert_int_equal(rows_of(tl), 3);
    const struct tl_row *k = timeline_row(tl, timeline_first(tl) + 2);
    assert_int_equal(k->have, 3u);
    assert_int_equal(timeline_row_dir(tl, k), TL_AB);
    /* keepalive #2 never arrives; #3 arrives: #3 pairs with its own copy, #2 is lost */
    struct capture_event ka2 = keepalive("192.168.1.2", "203.0.113.2", T0 + 21000 * MS);
    struct capture_event ka3 = keepalive("192.168.1.2", "203.0.113.2", T0 + 41000 * MS);
    struct capture_event kb3 = keepalive("198.51.100.1", "203.0.113.2", T0 + 41000 * MS + off + d);
    timeline_add(tl, 0, &ka2);
    timeline_add(tl, 0, &ka3);
    timeline_add(tl, 1, &kb3);
    assert_int_equal(rows_of(tl), 5);
    timeline_settle(tl, T0 + 60000 * MS + off, 1000 * MS);
    const struct tl_row *k2 = timeline_row(tl, timeline_first(tl) + 3);
    const struct tl_row *k3 = timeline_row(tl, timeline_first(tl) + 4);
    assert_int_equal(k2->have, 1u);
    assert_true(k2->flags & TL_ROW_LOST);
    assert_int_equal(k3->have, 3u);
    /* two keepalives sent by A are not one packet (both "sent") */
    struct capture_event kx = keepalive("192.168.1.2", "203.0.113.2", T0 + 61000 * MS);
    struct capture_event ky = kx;
    ky.ts_ns += 10 * MS;
    timeline_add(tl, 0, &kx);
    timeline_add(tl, 0, &ky);
    assert_int_equal(rows_of(tl), 7);
    timeline_free(tl);
}

/* gw-b's link was cut: its capture ended; what A sends after that is
 * "not capturing" at B once the grace period has passed, never pending for
 * ever and never lost, and A's sent count goes on. */
static void test_timeline_rows_after_the_receivers_capture_ended_settle_as_outside(void **state)
{
    (void)state;
    struct timeline *tl = two_ends();
    timeline_set_span(tl, 1, T0, T0 + 1000 * MS);
    timeline_set_spi_dir(tl, SPI_AB, TL_AB);
    for (uint32_t i = 1; i <= 5; i++) {
        struct capture_event a = esp("192.168.1.2", "203.0.113.2", SPI_AB, i, T0 + (int64_t)(1 + i) * 1000 * MS, 64);
        assert_int_equal(timeline_add(tl, 0, &a), 0);
    }
    assert_int_equal(timeline_settle(tl, T0 + 8000 * MS, 500 * MS), 5);
    const struct tl_totals *ab = timeline_totals(tl, TL_AB);
    assert_int_equal(ab->sent, 5);
    assert_int_equal(ab->lost, 0);
    for (uint64_t i = timeline_first(tl); i < timeline_end(tl); i++)
        assert_true(timeline_row(tl, i)->flags & TL_ROW_OUTSIDE);
    timeline_free(tl);
}

/* gw-b's link died silently: its capture showed nothing more, so A's packets
 * were settled as lost at B until the drop was noticed.  Once the console
 * knows the link was last alive at 5.5 s, what A sent after that is "not
 * capturing" at B (unknown), and only what came before stays lost. */
static void test_timeline_loss_after_a_silent_link_death_becomes_unknown(void **state)
{
    (void)state;
    struct timeline *tl = two_ends();
    timeline_set_spi_dir(tl, SPI_AB, TL_AB);
    for (uint32_t i = 1; i <= 10; i++) {
        struct capture_event a = esp("192.168.1.2", "203.0.113.2", SPI_AB, i, T0 + (int64_t)i * 1000 * MS, 64);
        assert_int_equal(timeline_add(tl, 0, &a), 0);
    }
    timeline_settle(tl, T0 + 12000 * MS, 500 * MS);
    assert_int_equal(timeline_totals(tl, TL_AB)->lost, 10);
    assert_int_equal(timeline_end_span(tl, 1, T0 + 5500 * MS), 5);
    assert_int_equal(timeline_totals(tl, TL_AB)->lost, 5);
    assert_int_equal(timeline_totals(tl, TL_AB)->sent, 10);
    for (uint64_t i = timeline_first(tl); i < timeline_end(tl); i++) {
        const struct tl_row *r = timeline_row(tl, i);
        int after = r->p[0].ts_ns > T0 + 5500 * MS;
        assert_int_equal((r->flags & TL_ROW_LOST) != 0, !after);
        assert_int_equal((r->flags & TL_ROW_OUTSIDE) != 0, after);
    }
    /* A's capture (not the receiver of these) ending changes nothing */
    assert_int_equal(timeline_end_span(tl, 0, T0 + 1000 * MS), 0);
    timeline_free(tl);
}

/* The loss figure is lost / the packets sent inside the receiver's capture
 * (`tunnelscope correlate`'s loss%: lost / (sent - outside)).  B captured
 * from 0 s to 13.5 s, A from 5 s on: the 4 packets B received before A's
 * capture began (received, never seen sent) and the 3 A sent after B's
 * capture ended, or in its last second (outside), are not in it: 4 lost of
 * the 7 that B could have received, 57.1 %. */
static void test_totals_lost_percent_counts_only_packets_sent_inside_the_receivers_capture(void **state)
{
    (void)state;
    struct timeline *tl = two_ends();
    timeline_set_span(tl, 0, T0 + 5000 * MS, 0);
    timeline_set_span(tl, 1, T0, T0 + 13500 * MS);
    for (uint32_t i = 1; i <= 4; i++) {
        struct capture_event b = esp("198.51.100.1", "203.0.113.2", SPI_AB, i, T0 + (int64_t)i * 1000 * MS, 62);
        assert_int_equal(timeline_add(tl, 1, &b), 0);
    }
    for (uint32_t i = 11; i <= 20; i++) {
        int64_t t = T0 + (int64_t)(i - 5) * 1000 * MS; /* 6 s .. 15 s */
        struct capture_event a = esp("192.168.1.2", "203.0.113.2", SPI_AB, i, t, 64);
        assert_int_equal(timeline_add(tl, 0, &a), 0);
        if (i <= 13) { /* 6, 7, 8 s: received; 9 .. 12 s: lost; 13 .. 15 s: outside */
            struct capture_event b = esp("198.51.100.1", "203.0.113.2", SPI_AB, i, t + 5 * MS, 62);
            assert_int_equal(timeline_add(tl, 1, &b), 0);
        }
    }
    timeline_settle(tl, T0 + 30000 * MS, 1000 * MS);
    const struct tl_totals *ab = timeline_totals(tl, TL_AB);
    assert_int_equal(ab->sent, 10);
    assert_int_equal(ab->received, 7);
    assert_int_equal(ab->lost, 4);
    assert_int_equal(ab->outside, 3);
    struct model m;
    memset(&m, 0, sizeof m);
    m.end[0].name = "gw-a";
    m.end[1].name = "gw-b";
    m.tl = tl;
    m.capture = MC_STOPPED;
    struct ui_state ui;
    ui_init(&ui, 0);
    struct view v = view_build(&m, &ui, 24, 80);
    char *row = row_of(&v, 22);
    assert_non_null(strstr(row, "A→B sent 10 recv 7 lost 4 (57.1%)"));
    free(row);
    view_free(&v);
    timeline_free(tl);
}

/* A packet whose receiver's copy came in first (its sender's stream lagged)
 * and whose sender's copy came after the row was settled: counted sent once
 * and received once, not received twice. */
static void test_totals_sender_copy_after_settling_counts_as_sent(void **state)
{
    (void)state;
    struct timeline *tl = two_ends();
    struct capture_event b = esp("198.51.100.1", "203.0.113.2", SPI_AB, 7, T0 + 1000 * MS, 62);
    assert_int_equal(timeline_add(tl, 1, &b), 0);
    timeline_settle(tl, T0 + 10000 * MS, 1000 * MS);
    assert_int_equal(timeline_totals(tl, TL_AB)->received, 1);
    assert_int_equal(timeline_totals(tl, TL_AB)->sent, 0);
    struct capture_event a = esp("192.168.1.2", "203.0.113.2", SPI_AB, 7, T0 + 995 * MS, 64);
    assert_int_equal(timeline_add(tl, 0, &a), 0);
    assert_int_equal(rows_of(tl), 1);
    assert_int_equal(timeline_totals(tl, TL_AB)->received, 1);
    assert_int_equal(timeline_totals(tl, TL_AB)->sent, 1);
    assert_int_equal(timeline_totals(tl, TL_AB)->lost, 0);
    timeline_free(tl);
}

/* The sparkline of an SA spans the last minute whatever room it has: at
 * 80x24 (a few cells) a burst 50 s ago still shows, in the leftmost cell,
 * and the newest second is the rightmost. */
static void test_view_sparkline_spans_the_last_minute_at_80x24_and_200x50(void **state)
{
    (void)state;
    struct timeline *tl = two_ends();
    int64_t now = T0 + 100000 * MS;
    for (uint32_t i = 1; i <= 5; i++) { /* 50 s ago */
        struct capture_event a = esp("192.168.1.2", "203.0.113.2", SPI_AB, i, now - 50000 * MS + i * MS, 64);
        assert_int_equal(timeline_add(tl, 0, &a), 0);
    }
    struct capture_event a = esp("192.168.1.2", "203.0.113.2", SPI_AB, 6, now - 100 * MS, 64);
    assert_int_equal(timeline_add(tl, 0, &a), 0);
    struct model m;
    memset(&m, 0, sizeof m);
    m.end[0].name = "gw-a";
    m.end[1].name = "gw-b";
    m.end[0].link = ML_READY;
    m.end[0].n_sa = 1;
    m.end[0].sa[0] = (struct model_sa){SPI_AB, 1, 792, 6};
    m.tl = tl;
    m.now_ns = now;
    m.capture = MC_RUNNING;
    struct ui_state ui;
    ui_init(&ui, 0);
    ui.pane = PANE_CAPTURE;
    static const int size[][2] = {{24, 80}, {50, 200}};
    for (size_t k = 0; k < 2; k++) {
        struct view v = view_build(&m, &ui, size[k][0], size[k][1]);
        int col;
        int r = view_find(&v, 0, "out c1a2b3c4", &col);
        assert_true(r > 0);
        /* the sparkline: the cells after "...6p " in A's half */
        int x = col;
        while (x < v.cols && view_role_at(&v, r, x) != ROLE_OK && view_role_at(&v, r, x) != ROLE_DIM)
            x++;
        int first = x, last = x, n_ok = 0;
        while (x < v.cols && (view_role_at(&v, r, x) == ROLE_OK || view_role_at(&v, r, x) == ROLE_DIM)) {
            n_ok += view_role_at(&v, r, x) == ROLE_OK;
            last = x++;
        }
        assert_true(last > first);
        assert_int_equal(n_ok, 2); /* the burst 50 s ago and the newest second */
        assert_int_equal(view_role_at(&v, r, last), ROLE_OK);
        /* 50 s ago is in the oldest sixth of the line */
        int burst = first;
        while (view_role_at(&v, r, burst) != ROLE_OK)
            burst++;
        assert_true((burst - first) * 6 <= last - first + 1);
        view_free(&v);
    }
    timeline_free(tl);
}

static void test_view_marks_a_lost_keepalive_on_the_receiving_side(void **state)
{
    (void)state;
    struct timeline *tl = two_ends();
    struct capture_event ka = keepalive("192.168.1.2", "203.0.113.2", T0 + 1000 * MS);
    struct capture_event late = esp("203.0.113.2", "198.51.100.1", SPI_BA, 1, T0 + 9000 * MS, 64);
    timeline_add(tl, 0, &ka);
    timeline_add(tl, 1, &late); /* B's capture went on past the grace period */
    timeline_settle(tl, T0 + 9000 * MS, 1000 * MS);
    struct model m;
    memset(&m, 0, sizeof m);
    m.end[0].name = "gw-a";
    m.end[1].name = "gw-b";
    m.tl = tl;
    m.capture = MC_RUNNING;
    struct ui_state ui;
    ui_init(&ui, 0);
    ui.pane = PANE_CAPTURE;
    struct view v = view_build(&m, &ui, 24, 80);
    int col;
    int r = view_find(&v, 0, "NAT keepalive", &col);
    assert_true(r > 0);
    int lc;
    assert_int_equal(view_find(&v, r, "LOST keepalive never arrived", &lc), r);
    assert_true(lc > col); /* on B's side, right of A's keepalive */
    view_free(&v);
    timeline_free(tl);
}

/* ---- view: 80x24 ---- */

static void test_view_80x24_playbook_shows_step2_failure_with_finding(void **state)
{
    struct fx *f = *state;
    struct view v = view_build(&f->m, &f->ui, 24, 80);
    assert_cells_well_formed(&v);
    assert_non_null(v.cell);
    assert_false(v.wide);
    char *t = text_of(&v);
    int col;
    int r = view_find(&v, 5, "2 UDP/4500 reachability", &col);
    assert_true(r > 0);
    char *row = row_of(&v, r);
    assert_non_null(strstr(row, "failure"));
    free(row);
    /* the selected step is highlighted */
    assert_int_equal(view_role_at(&v, r, 3), ROLE_SELECTED);
    /* its findings, the selected one in full with decision and evidence */
    assert_non_null(strstr(t, "ESP A->B: 10 of 10 packets lost, B->A: none lost"));
    assert_non_null(strstr(t, "reach.esp_lost_a_to_b"));
    assert_non_null(strstr(t, "Decision: UDP/4500 from A never reaches B"));
    assert_non_null(strstr(t, "gw-a: tcpdump -i eth0 udp port 4500"));
    /* the rest of the evidence is one PgDn away, and the screen says so */
    assert_non_null(strstr(t, "PgDn: more"));
    assert_null(strstr(t, "gw-b: tcpdump -i eth0 udp port 4500"));
    {
        struct ui_state ui = f->ui;
        view_feedback(&v, &ui);
        assert_true(ui.detail_max > 0);
        assert_int_equal(tui_handle_key(&ui, &f->m, UK_NPAGE), TUI_HANDLED | TUI_REDRAW);
        struct view v2 = view_build(&f->m, &ui, 24, 80);
        assert_cells_well_formed(&v2);
        char *t2 = text_of(&v2);
        assert_non_null(strstr(t2, "gw-b: tcpdump -i eth0 udp port 4500"));
        assert_non_null(strstr(t2, "SPI c1a2b3c4: nothing received"));
        assert_non_null(strstr(t2, "PgUp: back"));
        free(t2);
        view_free(&v2);
        tui_handle_key(&ui, &f->m, UK_PPAGE);
        assert_int_equal(ui.detail_top, 0);
    }
    /* header: conn, transport, NAT side, daemons and states */
    assert_non_null(strstr(t, "conn net-net"));
    assert_non_null(strstr(t, "ESP-in-UDP/4500"));
    assert_non_null(strstr(t, "00:01:15"));
    assert_non_null(strstr(t, "capture running 12s"));
    row = row_of(&v, 1);
    assert_non_null(strstr(row, "A gw-a"));
    assert_non_null(strstr(row, "strongswan"));
    assert_non_null(strstr(row, "IKE ESTABLISHED"));
    assert_non_null(strstr(row, "CHILD INSTALLED"));
    assert_non_null(strstr(row, "behind NAT"));
    free(row);
    row = row_of(&v, 2);
    assert_non_null(strstr(row, "not behind NAT"));
    free(row);
    /* totals always visible, the running step marked */
    row = row_of(&v, 22);
    assert_non_null(strstr(row, "A→B sent 10 recv 0 lost 10 (100.0%)"));
    assert_non_null(strstr(row, "B→A sent 10 recv 10 lost 0 (0.0%)"));
    free(row);
    r = view_find(&v, 0, "3 Selectors", &col);
    assert_true(r > 0);
    row = row_of(&v, r);
    assert_non_null(strstr(row, "running"));
    free(row);
    /* status line: the keys that matter */
    row = row_of(&v, 23);
    assert_non_null(strstr(row, "?:help"));
    assert_non_null(strstr(row, "q:quit"));
    free(row);
    free(t);
    view_free(&v);
}

static void test_view_80x24_packets_mark_loss_on_the_receiving_side(void **state)
{
    struct fx *f = *state;
    f->ui.pane = PANE_CAPTURE;
    struct view v = view_build(&f->m, &f->ui, 24, 80);
    int col;
    int r = view_find(&v, 0, "LOST", &col);
    assert_true(r > 0);
    /* B is the right half: the loss is shown at B, the packet at A */
    assert_true(col > 80 / 2);
    assert_int_equal(view_role_at(&v, r, col), ROLE_LOSS);
    char *row = row_of(&v, r);
    int acol = (int)(strstr(row, "ESP c1a2b3c4") - row);
    assert_true(acol > 0 && acol < 40);
    free(row);
    /* a matched B->A packet: both halves on one row */
    r = view_find(&v, 0, "ESP d5e6f7a8 #10", &col);
    assert_true(r > 0);
    int r2 = view_find(&v, r, "ESP d5e6f7a8 #10", &col);
    assert_int_equal(r2, r);
    row = row_of(&v, r);
    char *p1 = strstr(row, "ESP d5e6f7a8 #10");
    assert_non_null(strstr(p1 + 1, "ESP d5e6f7a8 #10"));
    assert_non_null(strstr(row, "◀─"));
    free(row);
    /* SA rows with SPI, direction, counters */
    char *t = text_of(&v);
    assert_non_null(strstr(t, "out c1a2b3c4"));
    assert_non_null(strstr(t, "in  d5e6f7a8"));
    free(t);
    assert_true(v.page > 5);
    view_free(&v);
}

/* ---- view: 200x50 ---- */

static void test_view_200x50_shows_both_ends_and_playbook_at_once(void **state)
{
    struct fx *f = *state;
    struct view v = view_build(&f->m, &f->ui, 50, 200);
    assert_true(v.wide);
    int col;
    int r_lost = view_find(&v, 0, "LOST", &col);
    assert_true(r_lost > 0);
    assert_true(col > 100);
    int r_pb = view_find(&v, 0, "Playbook: step 2", &col);
    assert_true(r_pb > r_lost);
    char *t = text_of(&v);
    assert_non_null(strstr(t, "ESP A->B: 10 of 10 packets lost"));
    assert_non_null(strstr(t, "Decision:"));
    free(t);
    char *row = row_of(&v, 48);
    assert_non_null(strstr(row, "lost 10 (100.0%)"));
    free(row);
    view_free(&v);
}

/* ---- the steps column at every size ---- */

/* Each step's status word stays whole inside the steps column (left of the
 * border in the wide layout), a title that does not fit is cut with an
 * ellipsis before it, and nothing of the column spills into the finding
 * detail beside it. */
static void assert_steps_fit(struct fx *f, int rows, int cols, int expect_cut)
{
    static const char *const first_word[] = {NULL, "1 Transport", "2 UDP/4500", "3 Selectors", "4 MTU",
                                             "5 Proposals"};
    static const char *const word[] = {NULL, "info", "failure", "warning", "skipped", "ok"};
    struct view v = view_build(&f->m, &f->ui, rows, cols);
    assert_non_null(v.cell);
    free(text_of(&v)); /* TS_VIEW_DUMP=1 shows it */
    int cut = 0;
    for (int s = STEP_FIRST; s <= STEP_LAST; s++) {
        /* the steps are five rows in order (the pane's rule names the selected one too) */
        int col;
        int r1 = view_find(&v, 3, first_word[1], &col);
        assert_true(r1 > 0);
        int r = r1 + s - 1;
        assert_int_equal(view_find(&v, r, first_word[s], &col), r);
        /* the column's right edge: the border in the wide layout, else the screen's */
        int edge = cols;
        for (int x = 1; x < cols; x++)
            if (view_role_at(&v, r, x) == ROLE_BORDER) {
                edge = x;
                break;
            }
        if (v.wide)
            assert_true(edge < cols);
        int sc;
        assert_int_equal(view_find(&v, r, word[s], &sc), r);
        assert_true(sc + (int)strlen(word[s]) <= edge);
        assert_true(sc > col);
        /* the glyph two cells before the word, in the status role */
        int role = view_role_at(&v, r, sc - 2);
        int want = s == 1 ? ROLE_INFO : s == 2 ? ROLE_FAIL : s == 3 ? ROLE_WARN : s == 5 ? ROLE_OK : ROLE_DIM;
        if (s != f->ui.step_sel && role != want)
            fail_msg("%dx%d step %d: role %d at col %d, status word at %d", cols, rows, s, role, sc - 2, sc);
        int ec;
        if (view_find(&v, r, "\u2026", &ec) == r && ec < sc) {
            cut++;
            assert_true(ec + 1 < sc); /* a blank between the cut title and the status */
        }
    }
    assert_int_equal(cut > 0, expect_cut);
    view_free(&v);
}

static void test_view_step_titles_never_push_the_status_out_at_80x24_120x40_200x60(void **state)
{
    struct fx *f = *state;
    f->m.step[1] = STEP_INFO;
    f->m.step[2] = STEP_FAILED;
    f->m.step[3] = STEP_WARNING;
    f->m.step[4] = STEP_SKIPPED;
    f->m.step[5] = STEP_OK;
    f->m.running_step = 0;
    /* 80x24: the Playbook tab is the whole width, every title fits */
    assert_steps_fit(f, 24, 80, 0);
    /* 120x40: wide, the steps column is 48 cells: step 3's title is cut */
    assert_steps_fit(f, 40, 120, 1);
    /* 200x60: wide, a 60-cell column: every title fits */
    assert_steps_fit(f, 60, 200, 0);
}

/* ---- fallbacks and safety ---- */

static void test_view_ascii_fallback_prints_only_ascii(void **state)
{
    struct fx *f = *state;
    f->m.conn = "büro-tünnel";
    f->ui.ascii = 1;
    for (int pane = 0; pane < PANE_COUNT; pane++) {
        f->ui.pane = pane;
        struct view v = view_build(&f->m, &f->ui, 24, 80);
        char *t = text_of(&v);
        for (const unsigned char *p = (const unsigned char *)t; *p; p++)
            assert_true(*p < 0x80);
        assert_non_null(strstr(t, "A->B sent 10"));
        assert_non_null(strstr(t, "b?ro-t?nnel"));
        free(t);
        view_free(&v);
    }
    f->ui.pane = PANE_CAPTURE;
    struct view v = view_build(&f->m, &f->ui, 24, 80);
    int col;
    assert_true(view_find(&v, 0, "X LOST", &col) > 0);
    assert_true(view_find(&v, 0, "<-", &col) > 0);
    view_free(&v);
}

/* A finding title longer than the list is cut with an ellipsis (it is there
 * in full in the detail below), not chopped mid-word without a sign. */
static void test_view_a_long_finding_title_is_cut_with_an_ellipsis(void **state)
{
    struct fx *f = *state;
    findings_add(&f->fs, "reach.long", STEP_REACH, SEV_INFO, NULL,
                 "gw-a (behind NAT) keepalive configured; shortest UDP timeout seen 30 s (nf_conntrack_udp_timeout)");
    struct view v = view_build(&f->m, &f->ui, 24, 80);
    int col;
    int r = view_find(&v, 0, "gw-a (behind NAT) keepalive", &col);
    assert_true(r > 0);
    char *row = row_of(&v, r);
    size_t n = strlen(row);
    assert_true(n > 3 && !strcmp(row + n - strlen("…"), "…"));
    free(row);
    view_free(&v);
}

/* At 80 columns a new message (an export's folder) is shown in full: the
 * keys after "?:help" give way to it while it is fresh; once it is old, the
 * keys come back and the message keeps what room is left, cut with an ellipsis. */
static void test_view_a_fresh_message_is_read_in_full_at_80_columns(void **state)
{
    struct fx *f = *state;
    f->m.running_step = 0;
    f->m.message = "evidence bundle written: tunnelscope-site-20261205T163000Z (and "
                   "tunnelscope-site-20261205T163000Z.tar.gz)";
    f->m.message_fresh = 1;
    struct view v = view_build(&f->m, &f->ui, 24, 80);
    char *row = row_of(&v, 23);
    assert_non_null(strstr(row, "?:help"));
    /* the folder's name in full; the rest, longer than the row, ends in an ellipsis */
    assert_non_null(strstr(row, "evidence bundle written: tunnelscope-site-20261205T163000Z (and"));
    assert_null(strstr(row, "e:export"));
    size_t n = strlen(row);
    assert_true(n > 3 && !strcmp(row + n - strlen("…"), "…"));
    free(row);
    view_free(&v);
    f->m.message_fresh = 0;
    v = view_build(&f->m, &f->ui, 24, 80);
    row = row_of(&v, 23);
    assert_non_null(strstr(row, "e:export"));
    assert_null(strstr(row, "tunnelscope-site-20261205T163000Z"));
    n = strlen(row);
    assert_true(n > 3 && !strcmp(row + n - strlen("…"), "…"));
    free(row);
    view_free(&v);
}

static void test_view_remote_text_cannot_reach_the_terminal_raw(void **state)
{
    struct fx *f = *state;
    f->m.end[1].daemon = "strong\x1b]0;pwned\x07swan";
    f->m.conn = "net\x1b[2Jnet";
    struct view v = view_build(&f->m, &f->ui, 24, 80);
    char *t = text_of(&v);
    assert_null(strchr(t, '\x1b'));
    assert_null(strchr(t, '\x07'));
    assert_non_null(strstr(t, "net\\x1b[2Jnet"));
    free(t);
    view_free(&v);
}

static void test_view_unknown_daemon_is_not_called_absent(void **state)
{
    /* before an end's first SA listing answers, its daemon is unknown: the
     * header must not claim "no IKE daemon found" (it did for ~1 s) */
    struct fx *f = *state;
    f->m.end[0].daemon = NULL;
    f->m.end[1].daemon = "no IKE daemon found";
    struct view v = view_build(&f->m, &f->ui, 24, 80);
    char *t = text_of(&v);
    assert_non_null(strstr(t, "daemon ?"));
    const char *first = strstr(t, "no IKE daem");
    assert_non_null(first);
    assert_null(strstr(first + 1, "no IKE daem")); /* only B's */
    free(t);
    view_free(&v);
}

static void test_view_too_small_terminal_says_so(void **state)
{
    struct fx *f = *state;
    struct view v = view_build(&f->m, &f->ui, 10, 40);
    char *t = text_of(&v);
    assert_non_null(strstr(t, "needs 60x16"));
    free(t);
    view_free(&v);
}

static void test_view_failed_peer_is_shown_while_the_other_goes_on(void **state)
{
    struct fx *f = *state;
    f->m.end[1].link = ML_DISCONNECTED;
    f->m.end[1].error = "connection lost";
    struct view v = view_build(&f->m, &f->ui, 24, 80);
    char *r1 = row_of(&v, 1), *r2 = row_of(&v, 2);
    assert_non_null(strstr(r1, "IKE ESTABLISHED"));
    assert_non_null(strstr(r2, "DISCONNECTED: connection lost"));
    free(r1);
    free(r2);
    view_free(&v);
}

/* ---- filters ---- */

static size_t count_rows_with(const struct view *v, const char *s)
{
    size_t n = 0;
    for (int r = 0; r < v->rows; r++) {
        char *row = row_of(v, r);
        n += strstr(row, s) != NULL;
        free(row);
    }
    return n;
}

static void test_filter_lost_only_shows_lost_rows(void **state)
{
    struct fx *f = *state;
    f->ui.pane = PANE_CAPTURE;
    assert_true(tui_handle_key(&f->ui, &f->m, 'l') & TUI_REDRAW);
    struct view v = view_build(&f->m, &f->ui, 50, 200);
    assert_int_equal(count_rows_with(&v, "LOST #"), 10);
    assert_int_equal(count_rows_with(&v, "ESP d5e6f7a8"), 0);
    assert_int_equal(count_rows_with(&v, "filter: lost-only"), 1);
    view_free(&v);
}

static void test_filter_direction_and_kind(void **state)
{
    struct fx *f = *state;
    f->ui.pane = PANE_CAPTURE;
    tui_handle_key(&f->ui, &f->m, 'd'); /* A->B */
    tui_handle_key(&f->ui, &f->m, 'd'); /* B->A */
    assert_int_equal(f->ui.filter.dir, TL_BA);
    struct view v = view_build(&f->m, &f->ui, 50, 200);
    assert_int_equal(count_rows_with(&v, "LOST"), 0);
    assert_int_equal(count_rows_with(&v, "ESP d5e6f7a8 #"), 10);
    view_free(&v);
    tui_handle_key(&f->ui, &f->m, 'k'); /* ESP */
    tui_handle_key(&f->ui, &f->m, 'k'); /* IKE */
    assert_int_equal(f->ui.filter.kind, CAPTURE_IKE);
    v = view_build(&f->m, &f->ui, 50, 200);
    assert_int_equal(count_rows_with(&v, "no packet matches the filter"), 1);
    view_free(&v);
    tui_handle_key(&f->ui, &f->m, 'x');
    assert_int_equal(f->ui.filter.kind, FILTER_KIND_ALL);
    assert_int_equal(f->ui.filter.dir, -1);
}

static void test_filter_spi_cycles_through_the_spis(void **state)
{
    struct fx *f = *state;
    tui_handle_key(&f->ui, &f->m, 's');
    assert_true(f->ui.filter.has_spi);
    assert_int_equal(f->ui.filter.spi, SPI_AB);
    tui_handle_key(&f->ui, &f->m, 's');
    assert_int_equal(f->ui.filter.spi, SPI_BA);
    f->ui.pane = PANE_CAPTURE;
    struct view v = view_build(&f->m, &f->ui, 50, 200);
    assert_int_equal(count_rows_with(&v, "ESP c1a2b3c4"), 0);
    view_free(&v);
    tui_handle_key(&f->ui, &f->m, 's');
    assert_false(f->ui.filter.has_spi);
}

/* ---- keys ---- */

static void test_keys_navigate_steps_and_findings(void **state)
{
    struct fx *f = *state;
    f->ui.step_sel = 1;
    assert_int_equal(tui_handle_key(&f->ui, &f->m, UK_DOWN), TUI_HANDLED | TUI_REDRAW);
    assert_int_equal(f->ui.step_sel, 2);
    assert_int_equal(tui_handle_key(&f->ui, &f->m, UK_ENTER), TUI_HANDLED | TUI_REDRAW);
    assert_int_equal(f->ui.pane, PANE_FINDINGS);
    tui_handle_key(&f->ui, &f->m, UK_DOWN);
    assert_int_equal(f->ui.finding_sel, 1);
    /* past the last finding: handled, nothing changes */
    assert_int_equal(tui_handle_key(&f->ui, &f->m, UK_DOWN), TUI_HANDLED);
    struct view v = view_build(&f->m, &f->ui, 24, 80);
    char *t = text_of(&v);
    assert_non_null(strstr(t, "reach.keepalive_ok"));
    free(t);
    view_free(&v);
    tui_handle_key(&f->ui, &f->m, '5');
    assert_int_equal(f->ui.step_sel, 5);
    assert_int_equal(f->ui.finding_sel, 0);
    assert_int_equal(tui_handle_key(&f->ui, &f->m, 'Z'), 0);
}

static void test_keys_quit_asks_while_capturing(void **state)
{
    struct fx *f = *state;
    assert_int_equal(tui_handle_key(&f->ui, &f->m, 'q'), TUI_HANDLED | TUI_REDRAW);
    assert_int_equal(f->ui.modal, MODAL_QUIT);
    struct view v = view_build(&f->m, &f->ui, 24, 80);
    char *t = text_of(&v);
    assert_non_null(strstr(t, "Quit stops it and the remote"));
    free(t);
    view_free(&v);
    assert_int_equal(tui_handle_key(&f->ui, &f->m, 'n') & TUI_QUIT, 0);
    assert_int_equal(f->ui.modal, MODAL_NONE);
    tui_handle_key(&f->ui, &f->m, 'q');
    assert_true(tui_handle_key(&f->ui, &f->m, 'y') & TUI_QUIT);
    f->m.capture = MC_STOPPED;
    assert_true(tui_handle_key(&f->ui, &f->m, 'q') & TUI_QUIT);
}

static void test_keys_sweep_asks_first(void **state)
{
    struct fx *f = *state;
    tui_handle_key(&f->ui, &f->m, 'm');
    assert_int_equal(f->ui.modal, MODAL_SWEEP);
    struct view v = view_build(&f->m, &f->ui, 24, 80);
    char *t = text_of(&v);
    assert_non_null(strstr(t, "production tunnel"));
    free(t);
    view_free(&v);
    assert_int_equal(tui_handle_key(&f->ui, &f->m, UK_ESC) & TUI_ACTION, 0);
    assert_int_equal(f->ui.action, ACT_NONE);
    tui_handle_key(&f->ui, &f->m, 'm');
    assert_true(tui_handle_key(&f->ui, &f->m, 'y') & TUI_ACTION);
    assert_int_equal(f->ui.action, ACT_SWEEP);
}

static void test_keys_host_key_needs_an_explicit_yes(void **state)
{
    struct fx *f = *state;
    f->m.hostkey = (struct model_hostkey){1, 1, "SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8",
                                          "/root/.ssh/known_hosts", 0};
    f->m.end[1].link = ML_HOSTKEY;
    struct view v = view_build(&f->m, &f->ui, 24, 80);
    char *t = text_of(&v);
    assert_non_null(strstr(t, "SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8"));
    assert_non_null(strstr(t, "y: trust it and add it"));
    free(t);
    view_free(&v);
    /* nothing but y / n / q is taken */
    assert_int_equal(tui_handle_key(&f->ui, &f->m, '\n'), 0);
    assert_int_equal(tui_handle_key(&f->ui, &f->m, 'c'), 0);
    assert_int_equal(f->ui.action, ACT_NONE);
    assert_true(tui_handle_key(&f->ui, &f->m, 'y') & TUI_ACTION);
    assert_int_equal(f->ui.action, ACT_HOSTKEY_ACCEPT);
    /* a changed key cannot be accepted */
    f->ui.action = ACT_NONE;
    f->m.hostkey.changed = 1;
    assert_int_equal(tui_handle_key(&f->ui, &f->m, 'y'), 0);
    assert_true(tui_handle_key(&f->ui, &f->m, 'n') & TUI_ACTION);
    assert_int_equal(f->ui.action, ACT_HOSTKEY_REJECT);
}

static void test_keys_scroll_back_and_follow(void **state)
{
    struct fx *f = *state;
    f->ui.pane = PANE_CAPTURE;
    struct view v = view_build(&f->m, &f->ui, 24, 80);
    f->ui.page = v.page;
    view_free(&v);
    tui_handle_key(&f->ui, &f->m, UK_HOME);
    assert_false(f->ui.follow);
    v = view_build(&f->m, &f->ui, 24, 80);
    int col;
    /* the oldest packet is on screen, and the view says it is scrolled back */
    assert_true(view_find(&v, 0, "ESP c1a2b3c4 #1 ", &col) > 0);
    assert_true(view_find(&v, 0, "scrolled back", &col) > 0);
    view_free(&v);
    tui_handle_key(&f->ui, &f->m, UK_END);
    assert_true(f->ui.follow);
    tui_handle_key(&f->ui, &f->m, UK_PPAGE);
    assert_false(f->ui.follow);
    tui_handle_key(&f->ui, &f->m, UK_NPAGE);
    tui_handle_key(&f->ui, &f->m, UK_NPAGE);
    assert_true(f->ui.follow);
}

static void test_help_lists_every_key(void **state)
{
    struct fx *f = *state;
    tui_handle_key(&f->ui, &f->m, '?');
    struct view v = view_build(&f->m, &f->ui, 50, 200);
    char *t = text_of(&v);
    for (int i = 0; ui_keys[i].key; i++)
        assert_non_null(strstr(t, ui_keys[i].what));
    free(t);
    view_free(&v);
    assert_int_equal(tui_handle_key(&f->ui, &f->m, 'z'), TUI_HANDLED | TUI_REDRAW);
    assert_int_equal(f->ui.modal, MODAL_NONE);
}

/* At the smallest terminal the console accepts, the help does not fit: it
 * says so, and Up/Down scroll it until the last key; any other key closes it. */
static void test_help_scrolls_to_every_key_on_a_small_terminal(void **state)
{
    struct fx *f = *state;
    tui_handle_key(&f->ui, &f->m, '?');
    int n = 0;
    while (ui_keys[n].key)
        n++;
    int seen[64] = {0};
    for (int step = 0; step < n; step++) {
        struct view v = view_build(&f->m, &f->ui, 16, 60);
        char *t = text_of(&v);
        if (step == 0)
            assert_non_null(strstr(t, "Up/Down: scroll"));
        for (int i = 0; i < n && i < 64; i++) {
            /* the start of each description (cut with an ellipsis when long) */
            char head[24];
            snprintf(head, sizeof head, "%.20s", ui_keys[i].what);
            seen[i] |= strstr(t, head) != NULL;
        }
        free(t);
        view_feedback(&v, &f->ui);
        view_free(&v);
        assert_true(f->ui.help_max > 0);
        assert_int_equal(tui_handle_key(&f->ui, &f->m, UK_DOWN), TUI_HANDLED | TUI_REDRAW);
        assert_int_equal(f->ui.modal, MODAL_HELP);
    }
    for (int i = 0; i < n && i < 64; i++)
        assert_true(seen[i]);
    assert_int_equal(f->ui.help_top, f->ui.help_max);
    tui_handle_key(&f->ui, &f->m, 'z');
    assert_int_equal(f->ui.modal, MODAL_NONE);
}

static void test_selection_follows_the_principal_finding_until_the_user_moves(void **state)
{
    struct fx *f = *state;
    ui_init(&f->ui, 0);
    assert_int_equal(f->ui.step_sel, 1);
    ui_follow_diagnosis(&f->ui, &f->m);
    assert_int_equal(f->ui.step_sel, 2);
    struct view v = view_build(&f->m, &f->ui, 24, 80);
    char *t = text_of(&v);
    assert_non_null(strstr(t, "Decision: UDP/4500 from A never reaches B"));
    free(t);
    view_free(&v);
    tui_handle_key(&f->ui, &f->m, '4');
    ui_follow_diagnosis(&f->ui, &f->m);
    assert_int_equal(f->ui.step_sel, 4);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_timeline_matches_esp_across_ends_and_counts_loss_per_direction),
        cmocka_unit_test(test_timeline_does_not_call_lost_before_the_grace_period),
        cmocka_unit_test(test_timeline_late_arrival_undoes_lost),
        cmocka_unit_test(test_timeline_lagging_receiver_stream_is_not_called_lost_by_the_clock),
        cmocka_unit_test(test_timeline_drops_oldest_rows_past_its_limit),
        cmocka_unit_test(test_timeline_matches_ike_by_spis_message_id_and_flags),
        cmocka_unit_test(test_timeline_ike_retransmission_is_a_row_of_its_own),
        cmocka_unit_test(test_timeline_pairs_keepalives_once_the_clock_offset_is_known),
        cmocka_unit_test(test_timeline_rows_after_the_receivers_capture_ended_settle_as_outside),
        cmocka_unit_test(test_timeline_loss_after_a_silent_link_death_becomes_unknown),
        cmocka_unit_test(test_totals_lost_percent_counts_only_packets_sent_inside_the_receivers_capture),
        cmocka_unit_test(test_totals_sender_copy_after_settling_counts_as_sent),
        cmocka_unit_test(test_view_sparkline_spans_the_last_minute_at_80x24_and_200x50),
        cmocka_unit_test(test_view_marks_a_lost_keepalive_on_the_receiving_side),
        T(test_view_80x24_playbook_shows_step2_failure_with_finding),
        T(test_view_80x24_packets_mark_loss_on_the_receiving_side),
        T(test_view_200x50_shows_both_ends_and_playbook_at_once),
        T(test_view_step_titles_never_push_the_status_out_at_80x24_120x40_200x60),
        T(test_view_ascii_fallback_prints_only_ascii),
        T(test_view_a_long_finding_title_is_cut_with_an_ellipsis),
        T(test_view_a_fresh_message_is_read_in_full_at_80_columns),
        T(test_view_remote_text_cannot_reach_the_terminal_raw),
        T(test_view_unknown_daemon_is_not_called_absent),
        T(test_view_too_small_terminal_says_so),
        T(test_view_failed_peer_is_shown_while_the_other_goes_on),
        T(test_filter_lost_only_shows_lost_rows),
        T(test_filter_direction_and_kind),
        T(test_filter_spi_cycles_through_the_spis),
        T(test_keys_navigate_steps_and_findings),
        T(test_keys_quit_asks_while_capturing),
        T(test_keys_sweep_asks_first),
        T(test_keys_host_key_needs_an_explicit_yes),
        T(test_keys_scroll_back_and_follow),
        T(test_help_lists_every_key),
        T(test_help_scrolls_to_every_key_on_a_small_terminal),
        T(test_selection_follows_the_principal_finding_until_the_user_moves),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
