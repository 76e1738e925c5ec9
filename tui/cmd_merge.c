/* `tunnelscope merge BUNDLE_A BUNDLE_B --bundle OUT`: two half-bundles, taken
 * by the two sites over overlapping times (`diagnose PEER --one-end
 * --bundle`), combined into one two-end bundle: the diagnosis session runs
 * offline on both ends' recorded outputs and captures (playbook/replay.h),
 * so the five steps, the correlation included, judge both ends as live. */
#include "tui/cmds.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "playbook/bundle.h"
#include "playbook/bundle_session.h"
#include "playbook/replay.h"
#include "playbook/report.h"
#include "playbook/session.h"
#include "tui/exitcodes.h"

static void merge_usage(FILE *out)
{
    fprintf(out,
            "usage: tunnelscope merge [--secrets FILE] BUNDLE_A BUNDLE_B --bundle OUT\n"
            "\n"
            "Combines two half-bundles (each written by `diagnose PEER --one-end --bundle`\n"
            "at one site) into a two-end bundle OUT (and OUT.tar.gz): A's end becomes end A,\n"
            "B's end becomes end B, and the whole playbook runs again on both ends' recorded\n"
            "outputs and captures: both captures correlated packet by packet (ESP SPI and\n"
            "sequence number), the five steps judged as live, the report written for both\n"
            "directions.  The two captures must overlap in time.  `replay --check OUT`\n"
            "recomputes the same findings.\n"
            "\n"
            "Exit status: 0 nothing wrong found, 1 warnings, 2 failures (as diagnose), 64 bad\n"
            "command line or inputs that are not two half-bundles of different ends, 70\n"
            "internal error.\n");
}

/* The end a half-bundle collected (0/1), or -1 when it is not a half-bundle. */
static int collected_end(const struct bundle *b)
{
    int a = bundle_peer_collected(b, 0), c = bundle_peer_collected(b, 1);
    return a == c ? -1 : a ? 0 : 1;
}

static double span_of(const struct bundle *b, const char *k)
{
    const json_t *v = json_object_get(json_object_get(bundle_manifest(b), "time_span"), k);
    return json_is_number(v) ? json_number_value(v) : 0;
}

int cmd_merge(int argc, char **argv)
{
    static const struct option opts[] = {
        {"bundle", required_argument, NULL, 'b'},
        {"secrets", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *out = NULL, *secrets_file = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'b':
            out = optarg;
            break;
        case 's':
            secrets_file = optarg;
            break;
        case 'h':
            merge_usage(stdout);
            return TS_EXIT_OK;
        default:
            merge_usage(stderr);
            return TS_EXIT_USAGE;
        }
    }
    if (optind != argc - 2 || !out) {
        merge_usage(stderr);
        return TS_EXIT_USAGE;
    }
    struct err e = {0};
    char **secrets = NULL;
    if (secrets_file && !(secrets = bundle_secrets_read(secrets_file, &e))) {
        fprintf(stderr, "tunnelscope merge: %s\n", e.msg);
        return TS_EXIT_USAGE;
    }
    struct bundle *h[2] = {NULL, NULL};
    int rc = TS_EXIT_USAGE, end[2];
    for (int i = 0; i < 2; i++) {
        h[i] = bundle_open(argv[optind + i], &e);
        if (!h[i]) {
            fprintf(stderr, "tunnelscope merge: %s: %s\n", argv[optind + i], e.msg);
            goto done;
        }
        end[i] = collected_end(h[i]);
        if (end[i] < 0 || !bundle_pcap_path(h[i], end[i])) {
            fprintf(stderr, "tunnelscope merge: %s: not a half-bundle with its end's capture\n",
                    argv[optind + i]);
            goto done;
        }
    }
    const char *name[2] = {bundle_peer_name(h[0], end[0]), bundle_peer_name(h[1], end[1])};
    if (!strcmp(name[0], name[1])) {
        fprintf(stderr, "tunnelscope merge: both half-bundles are of %s\n", name[0]);
        goto done;
    }
    if (span_of(h[0], "end_s") < span_of(h[1], "start_s") ||
        span_of(h[1], "end_s") < span_of(h[0], "start_s")) {
        fprintf(stderr, "tunnelscope merge: the two half-bundles do not overlap in time\n");
        goto done;
    }
    /* one record of both ends: A's outputs as end A, B's as end B */
    size_t n = bundle_raw_count(h[0]) + bundle_raw_count(h[1]), k = 0;
    struct diag_raw *raws = calloc(n ? n : 1, sizeof *raws);
    struct diag_record rec[2], all;
    memset(rec, 0, sizeof rec);
    memset(&all, 0, sizeof all);
    struct diag_session *s = NULL;
    rc = TS_EXIT_INTERNAL;
    if (!raws)
        goto free_all;
    for (int i = 0; i < 2; i++) {
        if (replay_record(h[i], &rec[i], &e)) {
            fprintf(stderr, "tunnelscope merge: %s\n", e.msg);
            goto free_all;
        }
        for (size_t j = 0; j < rec[i].n_raws; j++) {
            if (rec[i].raws[j].side != end[i])
                continue;
            raws[k] = rec[i].raws[j];
            raws[k++].side = i;
        }
        all.peer[i] = rec[i].peer[end[i]];
    }
    all.raws = raws;
    all.n_raws = k;
    /* the options both sites ran with: the sweep only when both swept, the
     * connection name only when both named the same */
    struct diag_opts o[2], mo;
    replay_options(h[0], &o[0]);
    replay_options(h[1], &o[1]);
    mo = o[0];
    mo.active = o[0].active && o[1].active;
    mo.conn = o[0].conn && o[1].conn && !strcmp(o[0].conn, o[1].conn) ? o[0].conn : NULL;
    if (o[1].capture_seconds > mo.capture_seconds)
        mo.capture_seconds = o[1].capture_seconds;
    /* the whole playbook on the two ends, correlation included, by the same
     * steps as live (the diagnosis session, offline) */
    s = diag_new_offline(&all, &mo, &e);
    if (!s || diag_start(s, &e)) {
        fprintf(stderr, "tunnelscope merge: running the steps on both ends: %s\n", e.msg);
        goto free_all;
    }
    char note[1200];
    int nn = snprintf(note, sizeof note,
                      "Merged from two half-bundles, one taken at each site: %s's (%s) and %s's (%s). The five "
                      "steps ran again on both ends' recorded outputs and captures together, each end's capture "
                      "counted within the span its half-bundle declares.",
                      name[0], argv[optind], name[1], argv[optind + 1]);
    /* a half without a declared span (older bundles): its packets' span, said */
    for (int i = 0; i < 2; i++)
        if (!(all.peer[i].window_start > 0 && all.peer[i].window_end > all.peer[i].window_start) && nn > 0 &&
            (size_t)nn < sizeof note)
            nn += snprintf(note + nn, sizeof note - (size_t)nn,
                           " %s's half-bundle declares no capture span: the span of the packets its capture holds "
                           "was used instead.",
                           name[i]);
    if (bundle_write_session_note(s, out, (const char *const *)secrets, note, &e)) {
        fprintf(stderr, "tunnelscope merge: %s\n", e.msg);
        rc = e.code == ERR_USAGE ? TS_EXIT_USAGE : TS_EXIT_INTERNAL;
        goto free_all;
    }
    const struct finding *p = findings_principal(diag_findings(s));
    printf("wrote %s and %s.tar.gz\n", out, out);
    printf("result: %s%s%s%s\n", report_result_name(diag_exit_status(s)), p ? " (principal finding " : "",
           p ? p->id : "", p ? ")" : "");
    rc = diag_exit_status(s);
free_all:
    diag_free(s);
    replay_record_free(&rec[0]);
    replay_record_free(&rec[1]);
    free(raws);
done:
    bundle_free(h[0]);
    bundle_free(h[1]);
    bundle_secrets_free(secrets);
    return rc;
}
