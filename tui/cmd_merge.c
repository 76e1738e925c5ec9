/* `tunnelscope merge BUNDLE_A BUNDLE_B --bundle OUT`: two half-bundles, taken
 * by the two sites over overlapping times, combined into one two-end bundle
 * with the two captures correlated. */
#include "tui/cmds.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "playbook/bundle.h"
#include "playbook/correlate_json.h"
#include "playbook/replay.h"
#include "tui/exitcodes.h"

static void merge_usage(FILE *out)
{
    fprintf(out,
            "usage: tunnelscope merge [--secrets FILE] BUNDLE_A BUNDLE_B --bundle OUT\n"
            "\n"
            "Combines two half-bundles (each written by `diagnose PEER --one-end --bundle`\n"
            "at one site) into a two-end bundle OUT (and OUT.tar.gz): A's end becomes end A,\n"
            "B's end becomes end B, both captures are correlated packet by packet (ESP SPI\n"
            "and sequence number), and the report is written for both directions.  The two\n"
            "captures must overlap in time.\n"
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
    /* the raw outputs of both, each under its end */
    size_t n = bundle_raw_count(h[0]) + bundle_raw_count(h[1]), k = 0;
    struct bundle_raw *raws = calloc(n ? n : 1, sizeof *raws);
    struct findings fs = FINDINGS_INIT;
    char *corr_text = NULL;
    rc = TS_EXIT_INTERNAL;
    if (!raws)
        goto done;
    for (int i = 0; i < 2; i++)
        for (size_t j = 0; j < bundle_raw_count(h[i]); j++) {
            raws[k] = *bundle_raw_get(h[i], j);
            raws[k++].side = i;
        }
    struct correlate_opts o;
    struct correlate_result *r = NULL;
    replay_correlate_opts(NULL, NULL, &o);
    if (correlate_files(bundle_pcap_path(h[0], end[0]), bundle_pcap_path(h[1], end[1]), &o, &r, &e)) {
        fprintf(stderr, "tunnelscope merge: correlating the captures: %s\n", e.msg);
        rc = TS_EXIT_FAILURE;
        goto free_all;
    }
    json_t *cj = correlate_result_json(r, name[0], name[1]);
    correlate_result_free(r);
    corr_text = cj ? json_dumps(cj, JSON_PRESERVE_ORDER) : NULL;
    json_decref(cj);
    if (!corr_text)
        goto free_all;
    /* Findings: each site's own (one end's view); the step rules are not re-run
     * on the merged material by this build (see `replay --check`). */
    for (int i = 0; i < 2; i++) {
        const struct findings *hf = bundle_findings(h[i]);
        for (size_t j = 0; j < hf->n; j++) {
            const struct finding *f = &hf->v[j];
            struct finding *nf = findings_add(&fs, f->id, f->step, f->sev, f->decision, "%s: %s",
                                              name[i], f->title);
            for (size_t x = 0; nf && x < f->n_ev; x++)
                if (f->ev[x].detail)
                    finding_add_evidence(nf, f->ev[x].peer, f->ev[x].source, "%s", f->ev[x].detail);
                else
                    finding_add_evidence(nf, f->ev[x].peer, f->ev[x].source, NULL);
        }
    }
    struct bundle_input in = {
        .peer = {{name[0], true}, {name[1], true}},
        .raws = raws,
        .n_raws = n,
        .pcap = {bundle_pcap_path(h[0], end[0]), bundle_pcap_path(h[1], end[1])},
        .findings = &fs,
        .exit_status = -1,
        .correlation_json = corr_text,
        .secrets = (const char *const *)secrets,
        .note = "Merged from two half-bundles, one taken at each site; each finding is prefixed "
                "with the site whose half it comes from.",
    };
    if (bundle_write(&in, out, &e)) {
        fprintf(stderr, "tunnelscope merge: %s\n", e.msg);
        rc = e.code == ERR_USAGE ? TS_EXIT_USAGE : TS_EXIT_INTERNAL;
        goto free_all;
    }
    printf("wrote %s and %s.tar.gz\n", out, out);
    rc = findings_exit_status(&fs);
free_all:
    findings_free(&fs);
    free(corr_text);
    free(raws);
done:
    bundle_free(h[0]);
    bundle_free(h[1]);
    bundle_secrets_free(secrets);
    return rc;
}
