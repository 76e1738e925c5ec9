/* `tunnelscope verify BUNDLE`: checks an evidence bundle (folder or .tar.gz)
 * against its manifest, and scans it for key material. */
#include "tui/cmds.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "playbook/bundle.h"
#include "tui/exitcodes.h"

static void verify_usage(FILE *out)
{
    fprintf(out,
            "usage: tunnelscope verify [--secrets FILE] BUNDLE\n"
            "\n"
            "Checks an evidence bundle (its folder or its .tar.gz): every file listed in\n"
            "manifest.json exists, is a regular file, and has the listed size and SHA-256;\n"
            "no other file is present.  Then scans every file for key material (iproute2\n"
            "key lines, PSK/secret lines, and each secret of FILE, one per line).\n"
            "\n"
            "Exit status: 0 the bundle is intact and holds no key material, 2 it is not\n"
            "(the first offending file is named), 64 bad command line.\n");
}

int cmd_verify(int argc, char **argv)
{
    static const struct option opts[] = {
        {"secrets", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *secrets_file = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            secrets_file = optarg;
            break;
        case 'h':
            verify_usage(stdout);
            return TS_EXIT_OK;
        default:
            verify_usage(stderr);
            return TS_EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        verify_usage(stderr);
        return TS_EXIT_USAGE;
    }
    const char *path = argv[optind];
    struct err e = {0};
    char **secrets = NULL;
    if (secrets_file && !(secrets = bundle_secrets_read(secrets_file, &e))) {
        fprintf(stderr, "tunnelscope verify: %s\n", e.msg);
        return TS_EXIT_USAGE;
    }
    int rc = TS_EXIT_OK;
    struct stat st;
    if (lstat(path, &st)) {
        fprintf(stderr, "tunnelscope verify: %s: no such bundle\n", path);
        rc = TS_EXIT_USAGE;
    } else if (bundle_verify(path, &e)) {
        fprintf(stderr, "tunnelscope verify: %s: FAILED: %s\n", path, e.msg);
        rc = TS_EXIT_FAILURE;
    } else {
        int hits = bundle_scan_secrets(path, (const char *const *)secrets, &e);
        if (hits) {
            fprintf(stderr, "tunnelscope verify: %s: FAILED: %s%s\n", path, e.msg,
                    hits > 1 ? " (and more files)" : "");
            rc = TS_EXIT_FAILURE;
        } else {
            printf("%s: OK: every file matches manifest.json (SHA-256, size), no key material\n",
                   path);
        }
    }
    bundle_secrets_free(secrets);
    return rc;
}
