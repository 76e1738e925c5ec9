/* Fuzz target: opening a bundle someone sent (replay, merge, verify).  The
 * input describes a bundle folder: sections "==> REL/PATH\n" followed by that
 * file's bytes.  The files are written into a private temporary folder and the
 * folder is opened with bundle_open() (manifest, SHA-256 check, findings.json,
 * raw/index.json, correlation.json, pcap/index.json), then replayed
 * (replay_check_run: both pcaps decoded and correlated).  In manifest.json the
 * text @FILES@ is replaced by the right "files" array for what was written, so
 * that the fuzzer gets past the hash check to the documents behind it; without
 * it the manifest is taken as it is.  Invariants: no crash, no leak, no file
 * outside the folder touched; an open bundle has a manifest and findings. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>

#include <jansson.h>

#include "playbook/bundle.h"
#include "playbook/bundle_fs.h"
#include "playbook/replay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_FILES 16

static int mkparents(int root, const char *rel)
{
    char *p = strdup(rel);
    if (!p)
        return -1;
    for (char *s = strchr(p, '/'); s; s = strchr(s + 1, '/')) {
        *s = '\0';
        struct err e = {0};
        bfs_mkdir(root, p, &e); /* may exist already */
        *s = '/';
    }
    free(p);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 200000)
        return 0;
    char *in = malloc(size + 1);
    if (!in)
        return 0;
    memcpy(in, data, size);
    in[size] = '\0';
    char tmpl[] = "/tmp/fuzz_bundle.XXXXXX";
    if (!mkdtemp(tmpl))
        abort();
    int root = open(tmpl, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root < 0)
        abort();
    const char *names[MAX_FILES];
    size_t n_names = 0;
    const char *manifest = NULL;
    size_t manifest_len = 0;
    /* split into sections */
    char *p = in;
    if (strncmp(p, "==> ", 4) != 0)
        goto done;
    while (p && n_names < MAX_FILES) {
        char *name = p + 4;
        char *nl = memchr(name, '\n', (size_t)(in + size - name));
        if (!nl)
            break;
        *nl = '\0';
        char *body = nl + 1;
        char *next = memmem(body, (size_t)(in + size - body), "\n==> ", 5);
        size_t len = next ? (size_t)(next - body) : (size_t)(in + size - body);
        if (next)
            *next = '\0';
        if (bfs_rel_ok(name) && strlen(name) < 200) {
            if (!strcmp(name, "manifest.json")) {
                manifest = body;
                manifest_len = len;
            } else {
                struct err e = {0};
                mkparents(root, name);
                if (bfs_write_new(root, name, body, len, &e) == 0)
                    names[n_names++] = name;
            }
        }
        p = next ? next + 1 : NULL;
    }
    if (manifest) {
        const char *at = memmem(manifest, manifest_len, "@FILES@", 7);
        struct err e = {0};
        if (at) {
            json_t *files = json_array();
            for (size_t i = 0; i < n_names; i++) {
                char path[512], hex[65];
                uint64_t sz;
                snprintf(path, sizeof path, "%s/%s", tmpl, names[i]);
                if (bundle_sha256_file(path, hex, &sz, &e) == 0)
                    json_array_append_new(files, json_pack("{s:s, s:s, s:I}", "path", names[i],
                                                           "sha256", hex, "size", (json_int_t)sz));
            }
            char *ftext = json_dumps(files, JSON_COMPACT);
            json_decref(files);
            size_t flen = ftext ? strlen(ftext) : 0;
            size_t pre = (size_t)(at - manifest), post = manifest_len - pre - 7;
            char *m = malloc(pre + flen + post + 1);
            if (m && ftext) {
                memcpy(m, manifest, pre);
                memcpy(m + pre, ftext, flen);
                memcpy(m + pre + flen, at + 7, post);
                bfs_write_new(root, "manifest.json", m, pre + flen + post, &e);
            }
            free(m);
            free(ftext);
        } else {
            bfs_write_new(root, "manifest.json", manifest, manifest_len, &e);
        }
    }
    {
        struct err e = {0};
        struct bundle *b = bundle_open(tmpl, &e);
        if (getenv("FUZZ_BUNDLE_DEBUG"))
            fprintf(stderr, "bundle_open: %s\n", b ? "opened" : e.msg);
        if (!b) {
            if (!e.msg[0])
                abort();
        } else {
            if (!bundle_manifest(b) || !bundle_findings_json(b) || !bundle_findings(b))
                abort();
            struct replay_check c;
            if (replay_check_run(b, &c, &e) == 0)
                (void)replay_check_ok(&c);
            replay_check_free(&c);
            struct bundle_input bi;
            bundle_as_input(b, &bi);
            for (size_t i = 0; i < bi.n_raws; i++)
                if (bi.raws[i].side < 0 || bi.raws[i].side > 1)
                    abort();
            bundle_free(b);
        }
    }
done:
    close(root);
    bfs_rmtree(tmpl);
    free(in);
    return 0;
}
