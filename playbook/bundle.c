#include "playbook/bundle.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <pcap/pcap.h>

#include "playbook/bundle_fs.h"
#include "playbook/finding_json.h"
#include "playbook/bundle_report.h"
#include "probes/capture.h"
#include "probes/redact.h"
#include "remote/buf.h"

#define MAX_FILES 4096

/* ---- hashing ---- */

static void hex_of(const unsigned char *d, size_t n, char *out)
{
    static const char x[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = x[d[i] >> 4];
        out[2 * i + 1] = x[d[i] & 15];
    }
    out[2 * n] = '\0';
}

static int sha256_fd(int fd, const char *name, char hex[65], uint64_t *size, struct err *e)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(ctx);
        return err_set(e, ERR_INTERNAL, "sha256: cannot initialise the digest");
    }
    unsigned char b[65536];
    uint64_t total = 0;
    for (;;) {
        ssize_t r = read(fd, b, sizeof b);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            EVP_MD_CTX_free(ctx);
            return err_set(e, ERR_IO, "%s: %s", name, strerror(errno));
        }
        if (r == 0)
            break;
        if (EVP_DigestUpdate(ctx, b, (size_t)r) != 1) {
            EVP_MD_CTX_free(ctx);
            return err_set(e, ERR_INTERNAL, "sha256: digest update failed");
        }
        total += (uint64_t)r;
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    int ok = EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen == 32;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return err_set(e, ERR_INTERNAL, "sha256: digest final failed");
    hex_of(md, 32, hex);
    if (size)
        *size = total;
    return 0;
}

int bundle_sha256_file(const char *path, char hex[65], uint64_t *size, struct err *e)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return err_set(e, ERR_IO, "%s: %s", path, strerror(errno));
    int r = sha256_fd(fd, path, hex, size, e);
    close(fd);
    return r;
}

/* ---- names ---- */

/* A file-name-safe form of s: [A-Za-z0-9._-], others '_', no leading dot, at most max chars. */
static void slug(const char *s, char *out, size_t max)
{
    size_t n = 0;
    for (; s && *s && n + 1 < max; s++) {
        char c = *s;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '-' || c == '_';
        char w = ok ? c : '-';
        if (n == 0 && (w == '.' || w == '-'))
            continue;
        if (w == '-' && n && out[n - 1] == '-')
            continue;
        out[n++] = w;
    }
    while (n && out[n - 1] == '-')
        n--;
    if (!n && max > 1)
        out[n++] = 'x';
    out[n] = '\0';
}

static void iso_time(double t, char *out, size_t size)
{
    /* outside 1970..9999 (or not a number) there is no honest ISO time; the cast
     * below would also be undefined for huge values */
    if (!(t > 0) || !isfinite(t) || t >= 253402300800.0) {
        snprintf(out, size, "unknown");
        return;
    }
    time_t s = (time_t)t;
    int ms = (int)((t - (double)s) * 1000.0);
    if (ms < 0)
        ms = 0;
    if (ms > 999)
        ms = 999;
    struct tm tm;
    if (!gmtime_r(&s, &tm)) {
        snprintf(out, size, "unknown");
        return;
    }
    /* the year is at most 9999 here: the format fits in 25 bytes */
    unsigned year = (unsigned)(tm.tm_year + 1900) % 10000u;
    snprintf(out, size, "%04u-%02u-%02uT%02u:%02u:%02u.%03uZ", year, (unsigned)(tm.tm_mon + 1) % 100u,
             (unsigned)tm.tm_mday % 100u, (unsigned)tm.tm_hour % 100u, (unsigned)tm.tm_min % 100u,
             (unsigned)tm.tm_sec % 100u, (unsigned)ms % 1000u);
}

static json_t *json_time(double t)
{
    char b[64];
    iso_time(t, b, sizeof b);
    return t > 0 ? json_string(b) : json_null();
}

/* ---- writing ---- */

struct written {
    char *path[MAX_FILES]; /* relative to the bundle root */
    int binary[MAX_FILES];
    size_t n;
};

struct wctx {
    const struct bundle_input *in;
    int root;               /* fd of the temporary folder */
    struct written files;
    char peer_dir[2][64];
    double span_start, span_end;
    char *raw_file[MAX_FILES];
    char window_file[2][2][160]; /* [direction][end], "" none */
};

static int remember(struct wctx *w, const char *rel, int binary, struct err *e)
{
    if (w->files.n == MAX_FILES)
        return err_set(e, ERR_USAGE, "bundle: more than %d files", MAX_FILES);
    char *d = strdup(rel);
    if (!d)
        return err_set(e, ERR_INTERNAL, "out of memory");
    w->files.path[w->files.n] = d;
    w->files.binary[w->files.n++] = binary;
    return 0;
}

static void span_add(struct wctx *w, double t)
{
    if (!(t > 0) || !isfinite(t))
        return;
    if (!(w->span_start > 0) || t < w->span_start)
        w->span_start = t;
    if (t > w->span_end)
        w->span_end = t;
}

static int write_text(struct wctx *w, const char *rel, const char *text, size_t len, struct err *e)
{
    if (bfs_write_new(w->root, rel, text, len, e))
        return -1;
    return remember(w, rel, 0, e);
}

/* Redacts text with the known secrets, then writes it.  *count gets the replacements. */
static int write_redacted(struct wctx *w, const char *rel, const char *text, size_t len, int *count,
                          struct err *e)
{
    struct buf out = BUF_INIT;
    int n = redact_text(text ? text : "", text ? len : 0, w->in->secrets, &out);
    if (n < 0) {
        buf_free(&out);
        return err_set(e, ERR_INTERNAL, "out of memory");
    }
    int r = write_text(w, rel, out.data ? out.data : "", out.len, e);
    buf_free(&out);
    if (count)
        *count = n;
    return r;
}

static int write_json(struct wctx *w, const char *rel, const json_t *doc, int redact, struct err *e)
{
    char *s = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (!s)
        return err_set(e, ERR_INTERNAL, "out of memory");
    size_t len = strlen(s);
    char *t = realloc(s, len + 2);
    if (!t) {
        free(s);
        return err_set(e, ERR_INTERNAL, "out of memory");
    }
    t[len++] = '\n';
    t[len] = '\0';
    int r = redact ? write_redacted(w, rel, t, len, NULL, e) : write_text(w, rel, t, len, e);
    free(t);
    return r;
}

static const char *side_name(int side)
{
    return side ? "b" : "a";
}

static int write_raws(struct wctx *w, json_t *index, struct err *e)
{
    const struct bundle_input *in = w->in;
    unsigned seq[2] = {0, 0};
    for (size_t i = 0; i < in->n_raws; i++) {
        const struct bundle_raw *r = &in->raws[i];
        if (r->side < 0 || r->side > 1 || !in->peer[r->side].name)
            return err_set(e, ERR_USAGE, "raw output %zu: no peer on side %d", i, r->side);
        char what[48], rel[160];
        slug(r->what ? r->what : r->command, what, sizeof what);
        snprintf(rel, sizeof rel, "raw/%s/%03u-%s.txt", w->peer_dir[r->side], ++seq[r->side],
                 what);
        int redactions = 0;
        if (write_redacted(w, rel, r->output, r->output_len, &redactions, e))
            return -1;
        w->raw_file[i] = strdup(rel);
        if (!w->raw_file[i])
            return err_set(e, ERR_INTERNAL, "out of memory");
        span_add(w, r->started);
        span_add(w, r->ended);
        /* the command line and the error are redacted too (a secret on a command line) */
        struct buf cmd = BUF_INIT, what_r = BUF_INIT, err_r = BUF_INIT;
        int bad = redact_text(r->command ? r->command : "", r->command ? strlen(r->command) : 0,
                              in->secrets, &cmd) < 0 ||
                  redact_text(r->what ? r->what : "", r->what ? strlen(r->what) : 0, in->secrets,
                              &what_r) < 0 ||
                  (r->error && redact_text(r->error, strlen(r->error), in->secrets, &err_r) < 0);
        json_t *o = bad ? NULL
                        : json_pack("{s:s, s:s, s:s, s:i, s:s, s:s, s:o, s:o, s:f, s:f, s:o, s:o, s:o, s:i, s:s, s:i, s:b}",
                                    "file", rel, "peer", in->peer[r->side].name, "side",
                                    side_name(r->side), "step", r->step, "what", what_r.data,
                                    "command", cmd.data, "started", json_time(r->started), "ended",
                                    json_time(r->ended), "started_s", r->started, "ended_s",
                                    r->ended, "exit_status",
                                    r->exit_status < 0 ? json_null() : json_integer(r->exit_status),
                                    "error", r->error ? json_string(err_r.data) : json_null(),
                                    "error_code", r->error_code ? json_string(r->error_code) : json_null(),
                                    "redactions", redactions, "origin",
                                    r->origin ? r->origin : "diagnosis", "run", r->run, "superseded",
                                    r->superseded);
        buf_free(&cmd);
        buf_free(&what_r);
        buf_free(&err_r);
        if (!o || json_array_append_new(index, o))
            return err_set(e, ERR_INTERNAL, "out of memory");
    }
    return 0;
}

/* Copies a capture into the bundle (pcap/<peer>.pcap, or pcap/<role>/<peer>.pcap);
 * the capture's own time span widens the bundle's. */
static int copy_pcap(struct wctx *w, int side, const char *src, const char *role, json_t *pcaps,
                     struct err *e)
{
    char rel[200];
    if (role)
        snprintf(rel, sizeof rel, "pcap/%s/%s.pcap", role, w->peer_dir[side]);
    else
        snprintf(rel, sizeof rel, "pcap/%s.pcap", w->peer_dir[side]);
    struct capture_file *cf = capture_file_open(src, e);
    if (!cf)
        return err_wrap(e, "capture of %s", w->in->peer[side].name);
    struct capture_event ev;
    int r;
    uint64_t packets = 0;
    double first = 0, last = 0;
    while ((r = capture_file_next(cf, &ev, e)) == 1) {
        double t = (double)ev.ts_ns / 1e9;
        if (!packets)
            first = t;
        last = t;
        packets++;
    }
    capture_file_free(cf);
    if (r < 0)
        return err_wrap(e, "capture of %s", w->in->peer[side].name);
    span_add(w, first);
    span_add(w, last);
    if (bfs_copy_new(src, w->root, rel, e))
        return -1;
    if (remember(w, rel, 1, e))
        return -1;
    json_t *o = json_object();
    if (!o || json_object_set_new(o, "file", json_string(rel)) ||
        json_object_set_new(o, "peer", json_string(w->in->peer[side].name)) ||
        json_object_set_new(o, "side", json_string(side_name(side))) ||
        json_object_set_new(o, "packets", json_integer((json_int_t)packets)) ||
        json_object_set_new(o, "first", json_time(first)) ||
        json_object_set_new(o, "last", json_time(last)) ||
        (role && json_object_set_new(o, "role", json_string(role))) || json_array_append_new(pcaps, o))
        return err_set(e, ERR_INTERNAL, "out of memory");
    return 0;
}

static int copy_more_pcaps(struct wctx *w, json_t *pcaps, struct err *e)
{
    const struct bundle_input *in = w->in;
    for (size_t i = 0; i < in->n_more_pcaps; i++) {
        const struct bundle_pcap *p = &in->more_pcaps[i];
        char rel[128];
        if (p->side < 0 || p->side > 1 || !in->peer[p->side].name || !p->role || !p->path ||
            strchr(p->role, '/') || !bfs_rel_ok(p->role))
            return err_set(e, ERR_USAGE, "bundle: capture %zu: bad side or role", i);
        snprintf(rel, sizeof rel, "pcap/%s", p->role);
        struct err me = {0};
        bfs_mkdir(w->root, rel, &me); /* exists already for the other end: fine */
        if (copy_pcap(w, p->side, p->path, p->role, pcaps, e))
            return -1;
    }
    return 0;
}

/* Copies the records of src with a time in [from, to] (that capture's clock) to root/rel. */
static int write_window(struct wctx *w, const char *src, const char *rel, int64_t from, int64_t to,
                        struct err *e)
{
    char eb[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline_with_tstamp_precision(src, PCAP_TSTAMP_PRECISION_NANO, eb);
    if (!p)
        return err_set(e, ERR_IO, "%s: %s", src, eb);
    int fd = bfs_create_new(w->root, rel, e);
    FILE *f = fd < 0 ? NULL : fdopen(fd, "wb");
    pcap_dumper_t *d = f ? pcap_dump_fopen(p, f) : NULL;
    if (!d) {
        if (f)
            fclose(f);
        else if (fd >= 0)
            close(fd);
        pcap_close(p);
        return fd < 0 ? -1 : err_set(e, ERR_IO, "%s: cannot write", rel);
    }
    struct pcap_pkthdr *h;
    const u_char *data;
    int r;
    while ((r = pcap_next_ex(p, &h, &data)) == 1) {
        int64_t t = (int64_t)h->ts.tv_sec * 1000000000LL + h->ts.tv_usec; /* ns precision */
        if (t >= from && t <= to)
            pcap_dump((u_char *)d, h, data);
    }
    int bad = r == PCAP_ERROR || pcap_dump_flush(d);
    pcap_dump_close(d);
    pcap_close(p);
    if (bad)
        return err_set(e, ERR_IO, "%s: cannot read or write the window", rel);
    return remember(w, rel, 1, e);
}

/* For each direction that lost ESP: both ends' packets from 2 s before the first to 2 s after
 * the last lost packet, as small pcaps beside the full ones. */
static int write_windows(struct wctx *w, struct err *e)
{
    const struct bundle_input *in = w->in;
    if (!in->correlation_json || !in->pcap[0] || !in->pcap[1])
        return 0;
    json_t *corr = json_loads(in->correlation_json, 0, NULL);
    if (!corr)
        return 0; /* write_reports says why */
    const json_t *off = json_object_get(json_object_get(corr, "clock"), "offset_ns");
    int64_t offset = json_is_integer(off) ? (int64_t)json_integer_value(off) : 0;
    int made = 0, r = 0;
    for (int d = 0; d < 2 && !r; d++) {
        int64_t first, last;
        if (bundle_report_loss_span(in->pcap, corr, d, &first, &last, e)) {
            r = -1;
            break;
        }
        if (!first)
            continue;
        if (!made++ && bfs_mkdir(w->root, "pcap/windows", e)) {
            r = -1;
            break;
        }
        for (int s = 0; s < 2 && !r; s++) {
            int64_t shift = s ? offset : 0; /* B's clock = A's + offset */
            snprintf(w->window_file[d][s], sizeof w->window_file[d][s],
                     "pcap/windows/loss-%s-to-%s.%s.pcap", w->peer_dir[d], w->peer_dir[!d],
                     w->peer_dir[s]);
            r = write_window(w, in->pcap[s], w->window_file[d][s], first - 2000000000LL + shift,
                             last + 2000000000LL + shift, e);
        }
    }
    json_decref(corr);
    return r;
}

/* Final guard: every written file is read back and scanned.  Text must be a
 * fixed point of redaction; a pcap must not contain a known secret. */
static int scan_file_fd(int fd, const char *rel, int binary, const char *const *secrets,
                        struct err *e)
{
    struct buf data = BUF_INIT;
    if (bfs_read_fd(fd, &data, e)) {
        buf_free(&data);
        return -1;
    }
    int hit = 0;
    if (binary) {
        for (const char *const *s = secrets; s && *s && !hit; s++)
            if (**s && memmem(data.data ? data.data : "", data.len, *s, strlen(*s)))
                hit = 1;
    } else {
        struct buf out = BUF_INIT;
        int n = redact_text(data.data ? data.data : "", data.len, secrets, &out);
        if (n < 0) {
            buf_free(&out);
            buf_free(&data);
            return err_set(e, ERR_INTERNAL, "out of memory");
        }
        hit = out.len != data.len || (data.len && memcmp(out.data, data.data, data.len));
        buf_free(&out);
    }
    buf_free(&data);
    if (hit)
        err_set(e, ERR_USAGE, "%s holds key material", rel);
    return hit;
}

static int is_binary_name(const char *rel)
{
    size_t n = strlen(rel);
    return (n > 5 && !strcmp(rel + n - 5, ".pcap")) || (n > 7 && !strcmp(rel + n - 7, ".pcapng"));
}

static int write_manifest(struct wctx *w, struct err *e)
{
    const struct bundle_input *in = w->in;
    json_t *m = json_object();
    json_t *files = json_array();
    json_t *peers = json_array();
    if (!m || !files || !peers) {
        json_decref(m);
        json_decref(files);
        json_decref(peers);
        return err_set(e, ERR_INTERNAL, "out of memory");
    }
    int bad = 0;
    for (size_t i = 0; i < w->files.n && !bad; i++) {
        char hex[65];
        uint64_t size;
        int fd = bfs_open_beneath(w->root, w->files.path[i], e);
        if (fd < 0 || sha256_fd(fd, w->files.path[i], hex, &size, e)) {
            if (fd >= 0)
                close(fd);
            json_decref(m);
            json_decref(files);
            json_decref(peers);
            return -1;
        }
        close(fd);
        json_t *o = json_object();
        bad |= !o || json_object_set_new(o, "path", json_string(w->files.path[i])) ||
               json_object_set_new(o, "sha256", json_string(hex)) ||
               json_object_set_new(o, "size", json_integer((json_int_t)size)) ||
               json_array_append_new(files, o);
    }
    for (int s = 0; s < 2 && !bad; s++) {
        if (!in->peer[s].name)
            continue;
        json_t *o = json_object();
        bad |= !o || json_object_set_new(o, "side", json_string(side_name(s))) ||
               json_object_set_new(o, "name", json_string(in->peer[s].name)) ||
               json_object_set_new(o, "collected", json_boolean(in->peer[s].collected)) ||
               json_object_set_new(o, "dir", json_string(w->peer_dir[s])) ||
               json_array_append_new(peers, o);
    }
    json_t *span = json_object();
    bad |= !span || json_object_set_new(span, "start", json_time(w->span_start)) ||
           json_object_set_new(span, "end", json_time(w->span_end)) ||
           json_object_set_new(span, "start_s", json_real(w->span_start)) ||
           json_object_set_new(span, "end_s", json_real(w->span_end));
    int complete = in->peer[0].collected && in->peer[1].collected;
    bad |= json_object_set_new(m, "schema", json_string(BUNDLE_SCHEMA)) ||
           json_object_set_new(m, "tool", json_string("tunnelscope")) ||
           json_object_set_new(m, "version", json_string(TS_VERSION)) ||
           json_object_set_new(m, "created", json_time((double)time(NULL))) ||
           json_object_set_new(m, "complete", json_boolean(complete)) ||
           json_object_set(m, "peers", peers) || json_object_set(m, "time_span", span) ||
           json_object_set_new(m, "note", in->note ? json_string(in->note) : json_null()) ||
           json_object_set(m, "files", files);
    json_decref(span);
    json_decref(peers);
    json_decref(files);
    if (bad) {
        json_decref(m);
        return err_set(e, ERR_INTERNAL, "out of memory");
    }
    char *s = json_dumps(m, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(m);
    if (!s)
        return err_set(e, ERR_INTERNAL, "out of memory");
    struct buf t = BUF_INIT;
    int r = buf_puts(&t, s) || buf_puts(&t, "\n") ? err_set(e, ERR_INTERNAL, "out of memory")
                                                  : bfs_write_new(w->root, "manifest.json", t.data,
                                                                  t.len, e);
    free(s);
    buf_free(&t);
    if (r)
        return -1;
    /* the manifest itself is scanned too (peer names, the note) */
    int fd = bfs_open_beneath(w->root, "manifest.json", e);
    if (fd < 0)
        return -1;
    int hit = scan_file_fd(fd, "manifest.json", 0, in->secrets, e);
    close(fd);
    return hit ? -1 : 0;
}

static int write_reports(struct wctx *w, struct err *e)
{
    const struct bundle_input *in = w->in;
    json_t *corr = NULL;
    if (in->correlation_json) {
        json_error_t je;
        corr = json_loads(in->correlation_json, 0, &je);
        if (!corr)
            return err_set(e, ERR_PARSE, "correlation: %s (line %d)", je.text, je.line);
    }
    struct bundle_report_in ri = {
        .findings = in->findings,
        .exit_status = in->exit_status,
        .correlation = corr,
        .raws = in->raws,
        .raw_file = (const char *const *)w->raw_file,
        .n_raws = in->n_raws,
        .span_start = w->span_start,
        .span_end = w->span_end,
        .version = TS_VERSION,
        .note = in->note,
    };
    char pfile[2][128];
    for (int s = 0; s < 2; s++) {
        ri.peer[s] = in->peer[s].name;
        ri.collected[s] = in->peer[s].collected;
        if (in->pcap[s]) {
            snprintf(pfile[s], sizeof pfile[s], "pcap/%s.pcap", w->peer_dir[s]);
            ri.pcap_file[s] = pfile[s];
            ri.pcap_path[s] = in->pcap[s];
        }
        for (int d = 0; d < 2; d++)
            ri.window_file[d][s] = w->window_file[d][s][0] ? w->window_file[d][s] : NULL;
    }
    struct buf md = BUF_INIT, html = BUF_INIT;
    int r = bundle_report_markdown(&ri, &md, e) || bundle_report_html(&ri, &html, e) ||
            write_redacted(w, "report.md", md.data, md.len, NULL, e) ||
            write_redacted(w, "report.html", html.data, html.len, NULL, e);
    buf_free(&md);
    buf_free(&html);
    if (!r && corr)
        r = write_json(w, "correlation.json", corr, 1, e);
    json_decref(corr);
    return r ? -1 : 0;
}

int bundle_write(const struct bundle_input *in, const char *dir, struct err *e)
{
    if (!dir || !*dir)
        return err_set(e, ERR_USAGE, "bundle: no folder given");
    if (!in->findings)
        return err_set(e, ERR_USAGE, "bundle: no findings");
    if (!in->peer[0].name && !in->peer[1].name)
        return err_set(e, ERR_USAGE, "bundle: no peer");
    for (int s = 0; s < 2; s++)
        if (in->pcap[s] && !in->peer[s].name)
            return err_set(e, ERR_USAGE, "bundle: a capture for a missing peer");

    struct bfs_target t;
    if (bfs_target_begin(&t, dir, e))
        return -1;
    mode_t old_umask = umask(077);
    struct wctx *w = calloc(1, sizeof *w);
    int r = -1;
    json_t *index = json_array();
    json_t *pcaps = json_array();
    if (!w || !index || !pcaps) {
        err_set(e, ERR_INTERNAL, "out of memory");
        goto out;
    }
    w->in = in;
    w->root = t.tmp_fd;
    for (int s = 0; s < 2; s++)
        slug(in->peer[s].name ? in->peer[s].name : side_name(s), w->peer_dir[s],
             sizeof w->peer_dir[s]);
    if (!strcmp(w->peer_dir[0], w->peer_dir[1])) {
        strncat(w->peer_dir[0], "-a", sizeof w->peer_dir[0] - strlen(w->peer_dir[0]) - 1);
        strncat(w->peer_dir[1], "-b", sizeof w->peer_dir[1] - strlen(w->peer_dir[1]) - 1);
    }
    if (bfs_mkdir(w->root, "raw", e) || bfs_mkdir(w->root, "pcap", e))
        goto out;
    for (int s = 0; s < 2; s++) {
        char rel[96];
        snprintf(rel, sizeof rel, "raw/%s", w->peer_dir[s]);
        if (in->peer[s].name && bfs_mkdir(w->root, rel, e))
            goto out;
    }
    if (write_raws(w, index, e))
        goto out;
    if (write_json(w, "raw/index.json", index, 1, e))
        goto out;
    for (int s = 0; s < 2; s++)
        if (in->pcap[s] && copy_pcap(w, s, in->pcap[s], NULL, pcaps, e))
            goto out;
    if (copy_more_pcaps(w, pcaps, e))
        goto out;
    {
        json_t *fj = NULL;
        if (in->findings_json) {
            json_error_t je;
            struct findings check = FINDINGS_INIT;
            fj = json_loads(in->findings_json, 0, &je);
            if (!fj) {
                err_set(e, ERR_PARSE, "diagnose JSON: %s (line %d)", je.text, je.line);
                goto out;
            }
            int fr = findings_from_json(fj, &check, e);
            findings_free(&check);
            if (fr) {
                json_decref(fj);
                goto out;
            }
        } else {
            fj = findings_to_json(in->findings, in->peer[0].collected ? in->peer[0].name : NULL,
                                  in->peer[1].collected ? in->peer[1].name : NULL, in->exit_status);
        }
        if (!fj) {
            err_set(e, ERR_INTERNAL, "out of memory");
            goto out;
        }
        int fr = write_json(w, "findings.json", fj, 1, e);
        json_decref(fj);
        if (fr)
            goto out;
    }
    if (write_json(w, "pcap/index.json", pcaps, 1, e))
        goto out;
    if (in->session_json) {
        json_error_t je;
        json_t *sj = json_loads(in->session_json, 0, &je);
        if (!sj) {
            err_set(e, ERR_PARSE, "session JSON: %s (line %d)", je.text, je.line);
            goto out;
        }
        int sr = write_json(w, "session.json", sj, 1, e);
        json_decref(sj);
        if (sr)
            goto out;
    }
    if (write_windows(w, e))
        goto out;
    if (write_reports(w, e))
        goto out;
    for (size_t i = 0; i < w->files.n; i++) {
        int fd = bfs_open_beneath(w->root, w->files.path[i], e);
        if (fd < 0)
            goto out;
        int hit = scan_file_fd(fd, w->files.path[i], w->files.binary[i], in->secrets, e);
        close(fd);
        if (hit)
            goto out;
    }
    if (write_manifest(w, e))
        goto out;
    r = bfs_target_commit(&t, e);
out:
    if (r)
        bfs_target_abort(&t);
    umask(old_umask);
    json_decref(index);
    json_decref(pcaps);
    if (w) {
        for (size_t i = 0; i < w->files.n; i++)
            free(w->files.path[i]);
        for (size_t i = 0; i < MAX_FILES; i++)
            free(w->raw_file[i]);
        free(w);
    }
    return r;
}

/* ---- reading ---- */

struct bundle {
    char *tmp;  /* unpacked .tar.gz: removed by bundle_free */
    char *root;
    int root_fd;
    json_t *manifest, *findings_doc, *correlation, *raw_index, *session;
    char *correlation_text, *findings_text, *session_text;
    struct findings findings;
    struct bundle_raw *raws;
    char **outputs;
    size_t n_raws;
    const char *peer[2];
    bool collected[2];
    char *pcap[2];
    char **paths, **path_role; /* further captures (struct bundle_pcap): full path, role */
    int *path_side;
    size_t n_paths;
};

static int is_dir(const char *path)
{
    struct stat st;
    return !lstat(path, &st) && S_ISDIR(st.st_mode);
}

static int load_json_at(int root, const char *rel, json_t **out, struct err *e)
{
    int fd = bfs_open_beneath(root, rel, e);
    if (fd < 0)
        return -1;
    struct buf b = BUF_INIT;
    int r = bfs_read_fd(fd, &b, e);
    close(fd);
    if (!r) {
        json_error_t je;
        *out = json_loadb(b.data, b.len, 0, &je);
        if (!*out)
            r = err_set(e, ERR_PARSE, "%s: %s (line %d)", rel, je.text, je.line);
    }
    buf_free(&b);
    return r;
}

/* Verifies the folder behind root_fd against its manifest.  0 / -1 naming the file. */
static int verify_fd(int root, json_t **manifest_out, struct err *e)
{
    json_t *m = NULL;
    if (load_json_at(root, "manifest.json", &m, e))
        return -1;
    const char *schema = json_string_value(json_object_get(m, "schema"));
    const json_t *files = json_object_get(m, "files");
    if (!schema || strcmp(schema, BUNDLE_SCHEMA) || !json_is_array(files)) {
        json_decref(m);
        return err_set(e, ERR_UNSUPPORTED, "manifest.json: not a %s manifest", BUNDLE_SCHEMA);
    }
    char **present = NULL;
    size_t n_present = 0;
    if (bfs_list_files(root, &present, &n_present, e)) {
        json_decref(m);
        return -1;
    }
    char *listed = calloc(n_present ? n_present : 1, 1);
    int r = listed ? 0 : err_set(e, ERR_INTERNAL, "out of memory");
    size_t i;
    const json_t *f;
    json_array_foreach(files, i, f) {
        if (r)
            break;
        const char *path = json_string_value(json_object_get(f, "path"));
        const char *sha = json_string_value(json_object_get(f, "sha256"));
        const json_t *size = json_object_get(f, "size");
        if (!path || !sha || !json_is_integer(size) || !bfs_rel_ok(path) ||
            !strcmp(path, "manifest.json")) {
            r = err_set(e, ERR_PARSE, "manifest.json: entry %zu is malformed", i);
            break;
        }
        int fd = bfs_open_beneath(root, path, e);
        if (fd < 0) {
            r = err_wrap(e, "%s: listed in the manifest but unreadable", path);
            break;
        }
        char hex[65];
        uint64_t got;
        r = sha256_fd(fd, path, hex, &got, e);
        close(fd);
        if (r)
            break;
        if (got != (uint64_t)json_integer_value(size)) {
            r = err_set(e, ERR_PARSE, "%s: size %llu, the manifest says %lld", path,
                        (unsigned long long)got, (long long)json_integer_value(size));
            break;
        }
        if (strcmp(hex, sha)) {
            r = err_set(e, ERR_PARSE, "%s: SHA-256 mismatch (file %.16s..., manifest %.16s...)",
                        path, hex, sha);
            break;
        }
        for (size_t k = 0; k < n_present; k++)
            if (!strcmp(present[k], path)) {
                if (listed[k])
                    r = err_set(e, ERR_PARSE, "manifest.json: %s listed twice", path);
                listed[k] = 1;
            }
    }
    for (size_t k = 0; !r && k < n_present; k++)
        if (!listed[k] && strcmp(present[k], "manifest.json"))
            r = err_set(e, ERR_PARSE, "%s: not listed in the manifest", present[k]);
    free(listed);
    for (size_t k = 0; k < n_present; k++)
        free(present[k]);
    free(present);
    if (r || !manifest_out)
        json_decref(m);
    else
        *manifest_out = m;
    return r;
}

/* Opens path (folder or .tar.gz): root folder fd, and the temporary folder to remove. */
static int open_root(const char *path, char **tmp, char **root, int *fd, struct err *e)
{
    *tmp = NULL;
    *root = NULL;
    if (is_dir(path)) {
        *root = strdup(path);
        if (!*root)
            return err_set(e, ERR_INTERNAL, "out of memory");
    } else {
        struct stat st;
        if (lstat(path, &st))
            return err_set(e, ERR_NOT_FOUND, "%s: %s", path, strerror(errno));
        if (!S_ISREG(st.st_mode))
            return err_set(e, ERR_USAGE, "%s: neither a bundle folder nor a .tar.gz", path);
        if (bfs_unpack_tgz(path, tmp, root, e))
            return -1;
    }
    *fd = open(*root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (*fd < 0) {
        err_set(e, ERR_IO, "%s: %s", *root, strerror(errno));
        bfs_rmtree(*tmp);
        free(*tmp);
        free(*root);
        return -1;
    }
    return 0;
}

int bundle_verify(const char *path, struct err *e)
{
    char *tmp, *root;
    int fd;
    if (open_root(path, &tmp, &root, &fd, e))
        return -1;
    int r = verify_fd(fd, NULL, e);
    close(fd);
    if (tmp)
        bfs_rmtree(tmp);
    free(tmp);
    free(root);
    return r;
}

int bundle_scan_secrets(const char *path, const char *const *secrets, struct err *e)
{
    char *tmp, *root;
    int fd;
    if (open_root(path, &tmp, &root, &fd, e))
        return -1;
    char **v = NULL;
    size_t n = 0;
    int hits = 0;
    struct err first = {0};
    if (bfs_list_files(fd, &v, &n, e)) {
        hits = -1;
    } else {
        for (size_t i = 0; i < n && hits >= 0; i++) {
            struct err fe = {0};
            int ffd = bfs_open_beneath(fd, v[i], &fe);
            int h = ffd < 0 ? -1 : scan_file_fd(ffd, v[i], is_binary_name(v[i]), secrets, &fe);
            if (ffd >= 0)
                close(ffd);
            if (h < 0) {
                if (e)
                    *e = fe;
                hits = -1;
            } else if (h > 0) {
                if (!hits)
                    first = fe;
                hits++;
            }
        }
    }
    if (hits > 0 && e)
        *e = first;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
    close(fd);
    if (tmp)
        bfs_rmtree(tmp);
    free(tmp);
    free(root);
    return hits;
}

static double num_or_zero(const json_t *v)
{
    return json_is_number(v) ? json_number_value(v) : 0;
}

static int load_raws(struct bundle *b, struct err *e)
{
    if (load_json_at(b->root_fd, "raw/index.json", &b->raw_index, e))
        return -1;
    if (!json_is_array(b->raw_index))
        return err_set(e, ERR_PARSE, "raw/index.json: not an array");
    size_t n = json_array_size(b->raw_index);
    b->raws = calloc(n ? n : 1, sizeof *b->raws);
    b->outputs = calloc(n ? n : 1, sizeof *b->outputs);
    if (!b->raws || !b->outputs)
        return err_set(e, ERR_INTERNAL, "out of memory");
    size_t i;
    const json_t *o;
    json_array_foreach(b->raw_index, i, o) {
        struct bundle_raw *r = &b->raws[i];
        const char *file = json_string_value(json_object_get(o, "file"));
        const char *side = json_string_value(json_object_get(o, "side"));
        const json_t *step = json_object_get(o, "step");
        const json_t *st = json_object_get(o, "exit_status");
        if (!file || !side || (strcmp(side, "a") && strcmp(side, "b")) ||
            !json_is_integer(step) || (!json_is_null(st) && !json_is_integer(st)))
            return err_set(e, ERR_PARSE, "raw/index.json: entry %zu is malformed", i);
        r->side = side[0] == 'b';
        r->step = (int)json_integer_value(step);
        r->what = json_string_value(json_object_get(o, "what"));
        r->command = json_string_value(json_object_get(o, "command"));
        r->error = json_string_value(json_object_get(o, "error"));
        r->error_code = json_string_value(json_object_get(o, "error_code"));
        r->exit_status = json_is_integer(st) ? (int)json_integer_value(st) : -1;
        r->started = num_or_zero(json_object_get(o, "started_s"));
        r->ended = num_or_zero(json_object_get(o, "ended_s"));
        const char *origin = json_string_value(json_object_get(o, "origin"));
        r->origin = origin && strcmp(origin, "diagnosis") ? origin : NULL;
        json_int_t run = json_integer_value(json_object_get(o, "run"));
        r->run = run > 0 && run < 100000 ? (int)run : 0;
        r->superseded = json_is_true(json_object_get(o, "superseded"));
        int fd = bfs_open_beneath(b->root_fd, file, e);
        if (fd < 0)
            return -1;
        struct buf out = BUF_INIT;
        int rr = bfs_read_fd(fd, &out, e);
        close(fd);
        if (rr) {
            buf_free(&out);
            return -1;
        }
        r->output_len = out.len;
        b->outputs[i] = buf_take(&out);
        r->output = b->outputs[i];
        b->n_raws = i + 1;
    }
    return 0;
}

struct bundle *bundle_open(const char *path, struct err *e)
{
    struct bundle *b = calloc(1, sizeof *b);
    if (!b) {
        err_set(e, ERR_INTERNAL, "out of memory");
        return NULL;
    }
    b->root_fd = -1;
    if (open_root(path, &b->tmp, &b->root, &b->root_fd, e)) {
        free(b);
        return NULL;
    }
    if (verify_fd(b->root_fd, &b->manifest, e) ||
        load_json_at(b->root_fd, "findings.json", &b->findings_doc, e) ||
        findings_from_json(b->findings_doc, &b->findings, e) || load_raws(b, e))
        goto fail;
    b->findings_text = json_dumps(b->findings_doc, JSON_PRESERVE_ORDER);
    if (!b->findings_text) {
        err_set(e, ERR_INTERNAL, "out of memory");
        goto fail;
    }
    {
        struct err ce = {0};
        int fd = bfs_open_beneath(b->root_fd, "correlation.json", &ce);
        if (fd >= 0) {
            close(fd);
            if (load_json_at(b->root_fd, "correlation.json", &b->correlation, e))
                goto fail;
            b->correlation_text = json_dumps(b->correlation, JSON_PRESERVE_ORDER);
            if (!b->correlation_text) {
                err_set(e, ERR_INTERNAL, "out of memory");
                goto fail;
            }
        }
    }
    {
        struct err se = {0};
        int fd = bfs_open_beneath(b->root_fd, "session.json", &se);
        if (fd >= 0) {
            close(fd);
            if (load_json_at(b->root_fd, "session.json", &b->session, e))
                goto fail;
            b->session_text = json_dumps(b->session, JSON_PRESERVE_ORDER);
            if (!b->session_text) {
                err_set(e, ERR_INTERNAL, "out of memory");
                goto fail;
            }
        }
    }
    size_t i;
    const json_t *p;
    json_array_foreach(json_object_get(b->manifest, "peers"), i, p) {
        const char *side = json_string_value(json_object_get(p, "side"));
        const char *name = json_string_value(json_object_get(p, "name"));
        if (!side || !name || (strcmp(side, "a") && strcmp(side, "b"))) {
            err_set(e, ERR_PARSE, "manifest.json: peer %zu is malformed", i);
            goto fail;
        }
        int s = side[0] == 'b';
        b->peer[s] = name;
        b->collected[s] = json_is_true(json_object_get(p, "collected"));
    }
    for (size_t k = 0; k < b->n_raws; k++)
        if (!b->peer[b->raws[k].side]) {
            err_set(e, ERR_PARSE, "raw/index.json: output of a peer the manifest lacks");
            goto fail;
        }
    json_array_foreach(json_object_get(b->manifest, "files"), i, p) {
        const char *path_rel = json_string_value(json_object_get(p, "path"));
        size_t n = strlen(path_rel);
        if (strncmp(path_rel, "pcap/", 5) || n < 6 || strcmp(path_rel + n - 5, ".pcap"))
            continue;
        /* which end: from pcap/index.json */
        json_t *pidx = NULL;
        if (load_json_at(b->root_fd, "pcap/index.json", &pidx, e))
            goto fail;
        size_t k;
        const json_t *q;
        json_array_foreach(pidx, k, q) {
            const char *f = json_string_value(json_object_get(q, "file"));
            const char *side = json_string_value(json_object_get(q, "side"));
            const char *role = json_string_value(json_object_get(q, "role"));
            if (role && f && side && !strcmp(f, path_rel)) { /* a further capture */
                char **v = realloc(b->paths, (b->n_paths + 1) * sizeof *v);
                char **w = v ? realloc(b->path_role, (b->n_paths + 1) * sizeof *w) : NULL;
                int *sd = w ? realloc(b->path_side, (b->n_paths + 1) * sizeof *sd) : NULL;
                if (v)
                    b->paths = v;
                if (w)
                    b->path_role = w;
                if (sd)
                    b->path_side = sd;
                char *full = sd ? malloc(strlen(b->root) + n + 2) : NULL;
                char *r = full ? strdup(role) : NULL;
                if (!r) {
                    free(full);
                    json_decref(pidx);
                    err_set(e, ERR_INTERNAL, "out of memory");
                    goto fail;
                }
                sprintf(full, "%s/%s", b->root, path_rel);
                b->paths[b->n_paths] = full;
                b->path_role[b->n_paths] = r;
                b->path_side[b->n_paths++] = side[0] == 'b';
                continue;
            }
            if (role)
                continue; /* not one of the two main captures */
            if (f && side && !strcmp(f, path_rel)) {
                int s = side[0] == 'b';
                free(b->pcap[s]);
                b->pcap[s] = malloc(strlen(b->root) + n + 2);
                if (b->pcap[s])
                    sprintf(b->pcap[s], "%s/%s", b->root, path_rel);
            }
        }
        json_decref(pidx);
    }
    return b;
fail:
    bundle_free(b);
    return NULL;
}

void bundle_free(struct bundle *b)
{
    if (!b)
        return;
    if (b->root_fd >= 0)
        close(b->root_fd);
    if (b->tmp)
        bfs_rmtree(b->tmp);
    free(b->tmp);
    free(b->root);
    for (size_t i = 0; i < b->n_raws; i++)
        free(b->outputs[i]);
    free(b->outputs);
    free(b->raws);
    findings_free(&b->findings);
    json_decref(b->manifest);
    json_decref(b->findings_doc);
    json_decref(b->correlation);
    free(b->correlation_text);
    free(b->findings_text);
    json_decref(b->session);
    free(b->session_text);
    json_decref(b->raw_index);
    free(b->pcap[0]);
    free(b->pcap[1]);
    for (size_t i = 0; i < b->n_paths; i++) {
        free(b->paths[i]);
        free(b->path_role[i]);
    }
    free(b->paths);
    free(b->path_role);
    free(b->path_side);
    free(b);
}

const char *bundle_pcap_role_path(const struct bundle *b, int side, const char *role)
{
    for (size_t i = 0; role && i < b->n_paths; i++)
        if (b->path_side[i] == side && !strcmp(b->path_role[i], role))
            return b->paths[i];
    return NULL;
}

const char *bundle_root(const struct bundle *b) { return b->root; }
const json_t *bundle_manifest(const struct bundle *b) { return b->manifest; }
const json_t *bundle_findings_json(const struct bundle *b) { return b->findings_doc; }
const json_t *bundle_correlation_json(const struct bundle *b) { return b->correlation; }
const json_t *bundle_session_json(const struct bundle *b) { return b->session; }
const struct findings *bundle_findings(const struct bundle *b) { return &b->findings; }
size_t bundle_raw_count(const struct bundle *b) { return b->n_raws; }

const char *bundle_peer_name(const struct bundle *b, int side)
{
    return side == 0 || side == 1 ? b->peer[side] : NULL;
}

bool bundle_peer_collected(const struct bundle *b, int side)
{
    return (side == 0 || side == 1) && b->collected[side];
}

const struct bundle_raw *bundle_raw_get(const struct bundle *b, size_t i)
{
    return i < b->n_raws ? &b->raws[i] : NULL;
}

const char *bundle_pcap_path(const struct bundle *b, int side)
{
    return side == 0 || side == 1 ? b->pcap[side] : NULL;
}

const char *bundle_note(const struct bundle *b)
{
    return json_string_value(json_object_get(b->manifest, "note"));
}

void bundle_as_input(const struct bundle *b, struct bundle_input *in)
{
    memset(in, 0, sizeof *in);
    for (int s = 0; s < 2; s++) {
        in->peer[s].name = b->peer[s];
        in->peer[s].collected = b->collected[s];
        in->pcap[s] = b->pcap[s];
    }
    in->raws = b->raws;
    in->n_raws = b->n_raws;
    in->findings = &b->findings;
    in->findings_json = b->findings_text;
    const json_t *st = json_object_get(b->findings_doc, "exit_status");
    in->exit_status = json_is_integer(st) ? (int)json_integer_value(st) : -1;
    in->note = bundle_note(b);
    in->correlation_json = b->correlation_text;
    in->session_json = b->session_text;
}

char **bundle_secrets_read(const char *path, struct err *e)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        err_set(e, ERR_IO, "%s: %s", path, strerror(errno));
        return NULL;
    }
    struct buf b = BUF_INIT;
    int r = bfs_read_fd(fd, &b, e);
    close(fd);
    size_t n = 0, cap = 8;
    char **v = r ? NULL : calloc(cap, sizeof *v);
    for (char *save = NULL, *line = v ? strtok_r(b.data, "\n", &save) : NULL; line;
         line = strtok_r(NULL, "\n", &save)) {
        size_t len = strlen(line);
        while (len && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
            line[--len] = '\0';
        if (!len || line[0] == '#')
            continue;
        if (n + 1 == cap) {
            char **nv = realloc(v, 2 * cap * sizeof *v);
            if (!nv)
                break;
            v = nv;
            cap *= 2;
        }
        if (!(v[n] = strdup(line)))
            break;
        v[++n] = NULL;
    }
    buf_free(&b);
    if (!v && !r)
        err_set(e, ERR_INTERNAL, "out of memory");
    return v;
}

void bundle_secrets_free(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}
