/* `tunnelscope correlate A.pcap B.pcap [--json]`: the offline two-end ESP
 * correlation of captures taken elsewhere (a vendor firewall, an earlier incident). */
#include "tui/cmds.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "playbook/correlate.h"
#include "playbook/correlate_json.h"
#include "tui/exitcodes.h"

static void correlate_usage(FILE *out)
{
    fprintf(out,
            "usage: tunnelscope correlate [options] A.pcap B.pcap\n"
            "\n"
            "Matches every ESP packet of two captures taken at the two ends of a tunnel\n"
            "(pcap or pcapng; NAT rewrites addresses and ports, never the SPI and sequence\n"
            "number) and prints, per direction and per SPI: sent, received, lost, duplicated,\n"
            "reordered, one-way delay, loss by packet size, outer fragments, keepalives, IKE\n"
            "messages matched across the ends, and every change of the NAT mapping.\n"
            "\n"
            "  --json             JSON instead of tables (schema: assets/correlate-json.md)\n"
            "  --name-a NAME      label of the first capture's end (default: A)\n"
            "  --name-b NAME      label of the second capture's end (default: B)\n"
            "  --local-a ADDR     A's own outer address (default: learned from the captures)\n"
            "  --local-b ADDR     B's own outer address\n"
            "  --window N         sequence numbers kept per SPI (power of two, default 16384)\n"
            "  --grace MS         a packet sent in the last MS ms of the other capture is not\n"
            "                     counted lost (default 1000)\n"
            "  --span-a START,END when A's capture really ran (A's clock): ISO-8601 UTC\n"
            "                     (2026-12-05T09:14:02.5Z) or epoch seconds (1796462042.5)\n"
            "  --span-b START,END the same for B\n"
            "\n"
            "Without --span-*, a capture's span is taken from its first and last packet: a\n"
            "packet sent while the other end was not known to capture is counted 'outside',\n"
            "not lost.  An end that captured for the whole time but received nothing (UDP/4500\n"
            "blocked) needs its span given for the other end's packets to count as lost.\n"
            "\n"
            "Exit status: 0 nothing lost, 2 packets lost in a direction, 3 a capture could\n"
            "not be read, 64 bad command line.\n");
}

static void fmt_ms(char *out, size_t n, const struct correlate_dist *d, int which)
{
    if (!d->n) {
        snprintf(out, n, "-");
        return;
    }
    int64_t v = which == 0 ? d->median : which == 1 ? d->p99 : which == 2 ? d->min : d->max;
    snprintf(out, n, "%.3f", (double)v / 1e6);
}

static void fmt_time(char *out, size_t n, int64_t ns)
{
    time_t t = (time_t)(ns / 1000000000);
    struct tm tm;
    gmtime_r(&t, &tm);
    size_t k = strftime(out, n, "%Y-%m-%d %H:%M:%S", &tm);
    snprintf(out + k, n - k, ".%03d", (int)((ns % 1000000000) / 1000000));
}

static double pct(uint64_t part, uint64_t whole)
{
    return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

static void print_table(FILE *out, const struct correlate_result *r, const char *const names[2],
                        const char *const paths[2])
{
    char a[64], t0[40], t1[40];
    fprintf(out, "Captures\n");
    fprintf(out, "  %-12s %-40s %-17s %-8s %8s %8s %7s %7s %5s %9s\n", "end", "file", "local address",
            "how", "packets", "ESP", "IKE500", "IKE4500", "trunc", "ka tx/rx");
    for (int s = 0; s < 2; s++) {
        const struct correlate_end *x = &r->end[s];
        char ka[32];
        snprintf(ka, sizeof ka, "%" PRIu64 "/%" PRIu64, x->keepalive_sent, x->keepalive_received);
        fprintf(out, "  %-12s %-40s %-17s %-8s %8" PRIu64 " %8" PRIu64 " %7" PRIu64 " %7" PRIu64
                     " %5" PRIu64 " %9s\n",
                names[s], paths[s], x->local.family ? capture_addr_str(&x->local, a, sizeof a) : "?",
                x->local_how == CORRELATE_HOW_TTL ? "ttl"
                : x->local_how == CORRELATE_HOW_GIVEN ? "given"
                : x->local_how == CORRELATE_HOW_FREQUENT ? "frequent" : "-",
                x->packets, x->esp, x->ike500, x->ike4500, x->truncated, ka);
    }
    for (int s = 0; s < 2; s++) {
        const struct correlate_end *x = &r->end[s];
        if (x->span_how == CORRELATE_SPAN_NONE) {
            fprintf(out, "  %s: no packet and no declared span: covers nothing (--span-%c)\n",
                    names[s], s ? 'b' : 'a');
            continue;
        }
        fmt_time(t0, sizeof t0, x->span_start_ns);
        fmt_time(t1, sizeof t1, x->span_end_ns);
        fprintf(out, "  %s: %s .. %s UTC (%.3f s, %s)\n", names[s], t0, t1,
                (double)(x->span_end_ns - x->span_start_ns) / 1e9,
                x->span_how == CORRELATE_SPAN_DECLARED ? "declared" : "span from packets");
    }
    fprintf(out, "  clock offset (%s minus %s): %+.6f s, %s\n\n", names[1], names[0],
            (double)r->offset_ns / 1e9, correlate_how_name(r->offset_how));

    fprintf(out, "ESP by direction\n");
    fprintf(out, "  %-26s %4s %10s %10s %9s %7s %8s %6s %6s %9s %9s %9s\n", "direction", "SPIs",
            "sent", "received", "lost", "loss%", "outside", "dup", "reord", "delay ms", "p99 ms",
            "frag tx/rx");
    for (int d = 0; d < 2; d++) {
        const struct correlate_direction *x = &r->dir[d];
        char label[80], med[24], p99[24], fr[32];
        snprintf(label, sizeof label, "%s -> %s", names[d], names[!d]);
        fmt_ms(med, sizeof med, &x->c.delay, 0);
        fmt_ms(p99, sizeof p99, &x->c.delay, 1);
        snprintf(fr, sizeof fr, "%" PRIu64 "/%" PRIu64, x->frag_sent, x->frag_received);
        fprintf(out, "  %-26s %4u %10" PRIu64 " %10" PRIu64 " %9" PRIu64 " %6.2f%% %8" PRIu64
                     " %6" PRIu64 " %6" PRIu64 " %9s %9s %9s\n",
                label, x->spis, x->c.sent, x->c.received, x->c.lost,
                pct(x->c.lost, x->c.sent - x->c.outside), x->c.outside, x->c.duplicated,
                x->c.reordered, med, p99, fr);
    }
    for (int d = 0; d < 2; d++) {
        const struct correlate_direction *x = &r->dir[d];
        if (x->c.outside && !x->c.received && r->end[!d].span_how != CORRELATE_SPAN_DECLARED)
            fprintf(out, "  note: %s received none of %s's ESP and its span is known only from its"
                         " packets:\n        if its capture ran the whole time, give --span-%c"
                         " START,END to count them lost\n",
                    names[!d], names[d], d ? 'a' : 'b');
    }
    fprintf(out, "\nLoss by outer packet size (lost/sent)\n  %-26s", "direction");
    for (int b = 0; b < CORRELATE_BUCKETS; b++) {
        char h[16];
        if (correlate_bucket_max[b] == UINT32_MAX)
            snprintf(h, sizeof h, ">%u", correlate_bucket_max[b - 1]);
        else
            snprintf(h, sizeof h, "<=%u", correlate_bucket_max[b]);
        fprintf(out, " %15s", h);
    }
    fprintf(out, "\n");
    for (int d = 0; d < 2; d++) {
        char label[80];
        snprintf(label, sizeof label, "%s -> %s", names[d], names[!d]);
        fprintf(out, "  %-26s", label);
        for (int b = 0; b < CORRELATE_BUCKETS; b++) {
            char cell[40];
            snprintf(cell, sizeof cell, "%" PRIu64 "/%" PRIu64, r->dir[d].c.bucket_lost[b],
                     r->dir[d].c.bucket_sent[b]);
            fprintf(out, " %15s", cell);
        }
        fprintf(out, "\n");
    }

    fprintf(out, "\nPer SPI\n  %-8s %-26s %10s %10s %9s %8s %6s %6s %9s %9s  %s\n", "SPI",
            "direction", "sent", "received", "lost", "outside", "dup", "reord", "delay ms",
            "p99 ms", "sequence numbers");
    for (size_t i = 0; i < r->n_spis; i++) {
        const struct correlate_spi *sp = &r->spis[i];
        char label[80], med[24], p99[24];
        if (sp->dir == CORRELATE_DIR_UNKNOWN)
            snprintf(label, sizeof label, "(direction unknown)");
        else
            snprintf(label, sizeof label, "%s -> %s", names[sp->dir], names[!sp->dir]);
        fmt_ms(med, sizeof med, &sp->c.delay, 0);
        fmt_ms(p99, sizeof p99, &sp->c.delay, 1);
        fprintf(out, "  %08x %-26s %10" PRIu64 " %10" PRIu64 " %9" PRIu64 " %8" PRIu64 " %6" PRIu64
                     " %6" PRIu64 " %9s %9s  %" PRIu64 "..%" PRIu64 "\n",
                sp->spi, label, sp->c.sent, sp->c.received, sp->c.lost, sp->c.outside,
                sp->c.duplicated, sp->c.reordered, med, p99, sp->seq_first, sp->seq_last);
    }

    fprintf(out, "\nIKE messages (sent / received / matched)\n");
    for (int d = 0; d < 2; d++) {
        const struct correlate_ike *k = &r->dir[d].ike;
        char label[80];
        snprintf(label, sizeof label, "%s -> %s", names[d], names[!d]);
        fprintf(out, "  %-26s requests %" PRIu64 "/%" PRIu64 "/%" PRIu64 "  responses %" PRIu64
                     "/%" PRIu64 "/%" PRIu64 "  retransmits %" PRIu64 "\n",
                label, k->req_sent, k->req_received, k->req_matched, k->resp_sent, k->resp_received,
                k->resp_matched, k->retransmits);
    }

    fprintf(out, "\nNAT keepalives\n");
    for (int s = 0; s < 2; s++) {
        const struct correlate_end *x = &r->end[s];
        char mn[24], md[24], mx[24];
        fmt_ms(mn, sizeof mn, &x->ka_sent_interval, 2);
        fmt_ms(md, sizeof md, &x->ka_sent_interval, 0);
        fmt_ms(mx, sizeof mx, &x->ka_sent_interval, 3);
        fprintf(out, "  %-12s sent %" PRIu64 " (interval ms min/median/max %s/%s/%s)", names[s],
                x->keepalive_sent, mn, md, mx);
        fmt_ms(mn, sizeof mn, &x->ka_received_interval, 2);
        fmt_ms(md, sizeof md, &x->ka_received_interval, 0);
        fmt_ms(mx, sizeof mx, &x->ka_received_interval, 3);
        fprintf(out, ", received %" PRIu64 " (%s/%s/%s)\n", x->keepalive_received, mn, md, mx);
    }

    fprintf(out, "\nPeer endpoint as each end sees it\n");
    for (int s = 0; s < 2; s++) {
        const struct correlate_end *x = &r->end[s];
        for (size_t i = 0; i < x->n_peers; i++) {
            const struct correlate_endpoint *p = &x->peers[i];
            fmt_time(t0, sizeof t0, p->first_ns);
            fmt_time(t1, sizeof t1, p->last_ns);
            fprintf(out, "  %-12s sees %s at %s:%u  %s .. %s  (%" PRIu64 " packets)\n", names[s],
                    names[!s], capture_addr_str(&p->addr, a, sizeof a), p->port, t0, t1, p->packets);
        }
    }
    if (r->n_nat || r->nat_dropped) {
        fprintf(out, "\nNAT mapping changes\n");
        for (size_t i = 0; i < r->n_nat; i++) {
            const struct correlate_nat_event *n = &r->nat[i];
            char b[64];
            fmt_time(t0, sizeof t0, n->ts_ns);
            fprintf(out, "  %s  %-12s sees %s move %s:%u -> %s:%u (to local port %u)\n", t0,
                    names[n->side], names[!n->side], capture_addr_str(&n->old_addr, a, sizeof a),
                    n->old_port, capture_addr_str(&n->new_addr, b, sizeof b), n->new_port,
                    n->local_port);
        }
        if (r->nat_dropped)
            fprintf(out, "  (%" PRIu64 " more changes not listed)\n", r->nat_dropped);
    } else {
        fprintf(out, "\nNAT mapping changes: none\n");
    }
}

int cmd_correlate(int argc, char **argv)
{
    static const struct option lo[] = {
        {"json", no_argument, NULL, 'j'},         {"name-a", required_argument, NULL, 'a'},
        {"name-b", required_argument, NULL, 'b'}, {"local-a", required_argument, NULL, 'A'},
        {"local-b", required_argument, NULL, 'B'}, {"window", required_argument, NULL, 'w'},
        {"grace", required_argument, NULL, 'g'},  {"help", no_argument, NULL, 'h'},
        {"span-a", required_argument, NULL, 's'}, {"span-b", required_argument, NULL, 'S'},
        {NULL, 0, NULL, 0},
    };
    struct correlate_opts o = {0};
    const char *names[2] = {"A", "B"};
    int json = 0, ch;
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        char *end;
        switch (ch) {
        case 'j': json = 1; break;
        case 'a': names[0] = optarg; break;
        case 'b': names[1] = optarg; break;
        case 'A':
        case 'B':
            if (capture_addr_parse(optarg, &o.local[ch == 'B']) != 0) {
                fprintf(stderr, "tunnelscope correlate: not an IP address: '%s'\n", optarg);
                return TS_EXIT_USAGE;
            }
            break;
        case 'w': {
            unsigned long v = strtoul(optarg, &end, 10);
            if (*end || v < 16 || v > (1ul << 24) || (v & (v - 1))) {
                fprintf(stderr, "tunnelscope correlate: --window must be a power of two in 16..16777216\n");
                return TS_EXIT_USAGE;
            }
            o.window = (uint32_t)v;
            break;
        }
        case 'g': {
            unsigned long v = strtoul(optarg, &end, 10);
            if (*end || v < 1 || v > 3600000) {
                fprintf(stderr, "tunnelscope correlate: --grace must be 1..3600000 ms\n");
                return TS_EXIT_USAGE;
            }
            o.grace_ns = (int64_t)v * 1000000;
            break;
        }
        case 's':
        case 'S': {
            struct err pe = {0};
            if (correlate_span_parse(optarg, &o.span[ch == 'S'], &pe) != 0) {
                fprintf(stderr, "tunnelscope correlate: --span-%c: %s\n", ch == 'S' ? 'b' : 'a',
                        pe.msg);
                return TS_EXIT_USAGE;
            }
            break;
        }
        case 'h':
            correlate_usage(stdout);
            return TS_EXIT_OK;
        default:
            fprintf(stderr, "tunnelscope correlate: unknown option '%s'\n", argv[optind - 1]);
            correlate_usage(stderr);
            return TS_EXIT_USAGE;
        }
    }
    if (argc - optind != 2) {
        correlate_usage(stderr);
        return TS_EXIT_USAGE;
    }
    const char *paths[2] = {argv[optind], argv[optind + 1]};
    struct correlate_result *r = NULL;
    struct err e = {0};
    if (correlate_files(paths[0], paths[1], &o, &r, &e) != 0) {
        fprintf(stderr, "tunnelscope correlate: %s\n", e.msg);
        return e.code == ERR_INTERNAL ? TS_EXIT_INTERNAL : TS_EXIT_NODIAG;
    }
    int rc = (r->dir[0].c.lost || r->dir[1].c.lost) ? TS_EXIT_FAILURE : TS_EXIT_OK;
    if (json) {
        json_t *j = correlate_result_json(r, names[0], names[1]);
        if (!j || json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0) {
            json_decref(j);
            correlate_result_free(r);
            fprintf(stderr, "tunnelscope correlate: out of memory\n");
            return TS_EXIT_INTERNAL;
        }
        fputc('\n', stdout);
        json_decref(j);
    } else {
        print_table(stdout, r, names, paths);
    }
    correlate_result_free(r);
    return rc;
}
