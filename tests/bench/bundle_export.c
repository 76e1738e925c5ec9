/* bench_bundle_export A.pcap B.pcap OUTDIR: what the console's `e` costs on
 * two big captures, and where the time goes.  The console without a finished
 * diagnosis exports through the same path (tui/console_export.c: correlate
 * both pcaps, then bundle_write); this times the whole, then its parts on the
 * same files: the correlation, each pcap's SHA-256, packing the written folder
 * again (.tar.gz, libarchive), verify.  Wall and CPU seconds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "playbook/bundle.h"
#include "playbook/bundle_fs.h"
#include "playbook/correlate.h"
#include "playbook/correlate_json.h"
#include "playbook/replay.h"

static double wall(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double cpu(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

#define TIMED(label, stmt)                                                                                   \
    do {                                                                                                     \
        double w0_ = wall(), c0_ = cpu();                                                                    \
        stmt;                                                                                                \
        printf("  %-34s %7.2f s wall %7.2f s CPU\n", label, wall() - w0_, cpu() - c0_);                      \
    } while (0)

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: bench_bundle_export A.pcap B.pcap OUTDIR (OUTDIR must not exist)\n");
        return 64;
    }
    struct err e = {0};
    struct findings none = FINDINGS_INIT;
    struct bundle_input in = {.peer = {{"gw-a", true}, {"gw-b", true}},
                              .pcap = {argv[1], argv[2]},
                              .findings = &none,
                              .exit_status = -1};
    char *corr = NULL;
    int rc = 0;
    double w0 = wall(), c0 = cpu();
    TIMED("correlate both pcaps", {
        struct correlate_opts co;
        replay_correlate_opts(NULL, NULL, &co);
        struct correlate_result *r = NULL;
        if (correlate_files(argv[1], argv[2], &co, &r, &e) == 0) {
            json_t *j = correlate_result_json(r, "gw-a", "gw-b");
            corr = j ? json_dumps(j, JSON_PRESERVE_ORDER) : NULL;
            json_decref(j);
        }
        correlate_result_free(r);
    });
    if (!corr) {
        fprintf(stderr, "correlate: %s\n", e.msg);
        return 1;
    }
    in.correlation_json = corr;
    TIMED("bundle_write (folder + .tar.gz)", rc = bundle_write(&in, argv[3], &e));
    if (rc) {
        fprintf(stderr, "bundle_write: %s\n", e.msg);
        return 1;
    }
    printf("  %-34s %7.2f s wall %7.2f s CPU\n", "the export in all", wall() - w0, cpu() - c0);
    printf("parts, again on the same files:\n");
    char hex[65];
    uint64_t size[2] = {0, 0};
    TIMED("SHA-256 of both pcaps", for (int s = 0; s < 2; s++) bundle_sha256_file(argv[1 + s], hex, &size[s], &e));
    char tgz[4096];
    snprintf(tgz, sizeof tgz, "%s.again.tar.gz", argv[3]);
    TIMED("pack the folder again (.tar.gz)", rc = bfs_pack_tgz(argv[3], "x", tgz, &e));
    TIMED("verify the folder", rc |= bundle_verify(argv[3], &e));
    printf("pcaps: %.1f + %.1f MiB\n", (double)size[0] / 1048576.0, (double)size[1] / 1048576.0);
    free(corr);
    return rc ? 1 : 0;
}
