/* playbook/bundle, playbook/finding_json, playbook/report: the evidence bundle
 * written from literal inputs (findings, command outputs holding key
 * material, two small captures written here with libpcap), verified, reopened,
 * tampered with, and its reports checked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "playbook/bundle.h"
#include "playbook/bundle_fs.h"
#include "playbook/finding_json.h"
#include "playbook/bundle_report.h"
#include "playbook/correlate.h"
#include "playbook/correlate_json.h"
#include "playbook/replay.h"
#include "probes/capture.h"
#include "fixture.h"

#define PSK "lab-psk-Zq8vW2xY7tR4uKc9"
#define XFRM_KEY "0x6d3bb5a0c1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6"

struct fx {
    char tmp[64];
    char pcap_a[128], pcap_b[128], out[128];
    struct findings fs;
    struct bundle_raw raws[3];
    struct bundle_input in;
};

static const char *const secrets[] = {PSK, NULL};

/* ---- captures: A sends 100 ESP (seq 1..100) and 10 keepalives to B; B receives seq 1..50 and
 * the keepalives from the NAT's public address (the NAT mapping changes port at seq 30); B sends
 * 20 ESP that A receives. ---- */

static void put16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, v >> 16);
    put16(p + 2, v & 0xffff);
}

static size_t pkt(uint8_t *b, const char *src, const char *dst, unsigned sport, unsigned dport,
                  int keepalive, uint32_t spi, uint32_t seq, uint8_t ttl)
{
    size_t pl = keepalive ? 1 : 8 + 40;
    size_t len = 20 + 8 + pl;
    memset(b, 0, len);
    b[0] = 0x45;
    put16(b + 2, (unsigned)len);
    b[8] = ttl;
    b[9] = 17;
    struct capture_addr a;
    capture_addr_parse(src, &a);
    memcpy(b + 12, a.a, 4);
    capture_addr_parse(dst, &a);
    memcpy(b + 16, a.a, 4);
    put16(b + 20, sport);
    put16(b + 22, dport);
    put16(b + 24, (unsigned)(8 + pl));
    if (keepalive) {
        b[28] = 0xff;
    } else {
        put32(b + 28, spi);
        put32(b + 32, seq);
    }
    return len;
}

static void write_rec(struct capture_writer *w, int64_t ts, const uint8_t *b, size_t n)
{
    struct capture_record r = {ts, (uint32_t)n, (uint32_t)n, b};
    struct err e = {0};
    assert_int_equal(capture_writer_write(w, &r, &e), 0);
}

#define T0 1796462042000000000LL /* 2026-12-05 09:14:02 UTC */

static void make_pcaps(struct fx *f)
{
    struct err e = {0};
    struct capture_writer *wa = capture_writer_open(f->pcap_a, CAPTURE_LINK_RAW, 128, 1, &e);
    struct capture_writer *wb = capture_writer_open(f->pcap_b, CAPTURE_LINK_RAW, 128, 1, &e);
    assert_non_null(wa);
    assert_non_null(wb);
    uint8_t b[128];
    for (uint32_t i = 1; i <= 100; i++) {
        int64_t t = T0 + (int64_t)i * 1000000000LL;
        write_rec(wa, t, b, pkt(b, "192.168.77.2", "198.51.100.20", 4500, 4500, 0, 0xc3b8a9d2u, i, 64));
        if (i <= 50)
            write_rec(wb, t + 20000000, b,
                      pkt(b, "203.0.113.10", "198.51.100.20", i < 30 ? 4500 : 1024, 4500, 0,
                          0xc3b8a9d2u, i, 62));
        if (i % 10 == 0) {
            write_rec(wa, t + 500000000, b,
                      pkt(b, "192.168.77.2", "198.51.100.20", 4500, 4500, 1, 0, 0, 64));
            write_rec(wb, t + 520000000, b,
                      pkt(b, "203.0.113.10", "198.51.100.20", 1024, 4500, 1, 0, 0, 62));
        }
        if (i % 5 == 0) {
            write_rec(wb, t + 700000000, b,
                      pkt(b, "198.51.100.20", "203.0.113.10", 4500, 1024, 0, 0x0a0b0c0du, i / 5, 64));
            write_rec(wa, t + 720000000, b,
                      pkt(b, "198.51.100.20", "192.168.77.2", 4500, 4500, 0, 0x0a0b0c0du, i / 5, 61));
        }
    }
    capture_writer_free(wa);
    capture_writer_free(wb);
}

/* The correlation as playbook/correlate writes it (tunnelscope.correlate/1), for these captures. */
static const char correlation[] =
    "{\"schema\": \"tunnelscope.correlate/1\", \"clock\": {\"offset_ns\": 0, \"method\": "
    "\"min-delay-both-directions\"}, \"window\": 16384, \"grace_ns\": 1000000000,"
    "\"ends\": {\"a\": {\"name\": \"gw-a\", \"local\": \"192.168.77.2\", \"local_how\": \"ttl\","
    "  \"first_ns\": 1796462043000000000, \"last_ns\": 1796462142720000000,"
    "  \"peer_endpoints\": [{\"addr\": \"198.51.100.20\", \"port\": 4500, \"packets\": 20}]},"
    " \"b\": {\"name\": \"gw-b\", \"local\": \"198.51.100.20\", \"local_how\": \"ttl\","
    "  \"first_ns\": 1796462043020000000, \"last_ns\": 1796462142700000000,"
    "  \"peer_endpoints\": [{\"addr\": \"203.0.113.10\", \"port\": 4500, \"packets\": 29},"
    "                      {\"addr\": \"203.0.113.10\", \"port\": 1024, \"packets\": 31}]}},"
    "\"directions\": [{\"direction\": \"a->b\", \"label\": \"gw-a -> gw-b\", \"sent\": 1243,"
    "  \"received\": 50, \"matched\": 50, \"lost\": 1193, \"duplicated\": 0, \"reordered\": 0,"
    "  \"delay_ns\": {\"n\": 50, \"min\": 20000000, \"median\": 20000000, \"p99\": 20000000, \"max\": 20000000},"
    "  \"keepalives_sent\": 10, \"keepalives_received\": 10, \"fragments_sent\": 0, \"fragments_received\": 0,"
    "  \"ike\": {\"requests_sent\": 0, \"requests_received\": 0}},"
    " {\"direction\": \"b->a\", \"label\": \"gw-b -> gw-a\", \"sent\": 20, \"received\": 20,"
    "  \"matched\": 20, \"lost\": 0, \"duplicated\": 0, \"reordered\": 0, \"delay_ns\": {\"n\": 20,"
    "  \"min\": 20000000, \"median\": 20000000, \"p99\": 20000000, \"max\": 20000000},"
    "  \"keepalives_sent\": 0, \"keepalives_received\": 0}],"
    "\"spis\": [{\"spi\": \"c3b8a9d2\", \"direction\": \"a->b\", \"first_ns\": 1796462043000000000,"
    "  \"last_ns\": 1796462142000000000}],"
    "\"nat_changes\": [{\"end\": \"b\", \"ts_ns\": 1796462072020000000, \"local_port\": 4500,"
    "  \"old_addr\": \"203.0.113.10\", \"old_port\": 4500, \"new_addr\": \"203.0.113.10\", \"new_port\": 1024}],"
    "\"nat_changes_dropped\": 0}";

static const char sas_out[] =
    "net-net: #1, ESTABLISHED, IKEv2, 8c5e0b3f7a6d2c11_i* 41d9e3a0b7c2f588_r\n"
    "  local  'gw-a' @ 192.168.77.2[4500]\n"
    "  remote 'gw-b' @ 198.51.100.20[4500]\n";
static const char xfrm_out[] =
    "src 192.168.77.2 dst 198.51.100.20\n"
    "\tproto esp spi 0xc3b8a9d2 reqid 1 mode tunnel\n"
    "\taead rfc4106(gcm(aes)) " XFRM_KEY " 128\n"
    "\tencap type espinudp sport 4500 dport 4500 addr 0.0.0.0\n";
static const char conf_out[] = "secrets {\n  ike-1 {\n    secret = \"" PSK "\"\n  }\n}\n"
                               "# the psk again in a comment: " PSK "\n";

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    snprintf(f->tmp, sizeof f->tmp, "/tmp/ts-test-bundle-XXXXXX");
    assert_non_null(mkdtemp(f->tmp));
    snprintf(f->pcap_a, sizeof f->pcap_a, "%s/a.pcap", f->tmp);
    snprintf(f->pcap_b, sizeof f->pcap_b, "%s/b.pcap", f->tmp);
    snprintf(f->out, sizeof f->out, "%s/incident", f->tmp);
    make_pcaps(f);
    struct finding *x = findings_add(&f->fs, "transport.natt", STEP_TRANSPORT, SEV_INFO, NULL,
                                     "ESP in UDP/4500, gw-a behind NAT");
    assert_non_null(x);
    finding_add_evidence(x, "gw-a", "swanctl --list-sas --raw", "local 192.168.77.2[4500]");
    x = findings_add(&f->fs, "reach.esp_lost_a_to_b", STEP_REACH, SEV_FAILURE,
                     "Escalate to the ISP of site B with this bundle",
                     "%d of %d ESP packets from gw-a never reached gw-b", 1193, 1243);
    finding_add_evidence(x, NULL, "capture A+B", "SPI c3b8a9d2: seq 51..100 missing at gw-b");
    finding_add_evidence(x, "gw-a", "ip -s xfrm state", "line 1\nline <2> & `3`");
    f->raws[0] = (struct bundle_raw){0, 1, "swanctl --list-sas --raw",
                                     "sudo -n swanctl --list-sas --raw", sas_out, strlen(sas_out),
                                     0, NULL, 1796462042.25, 1796462042.5, NULL, NULL, 0, false};
    f->raws[1] = (struct bundle_raw){0, 3, "ip -s xfrm state", "sudo -n ip -s xfrm state", xfrm_out,
                                     strlen(xfrm_out), 0, NULL, 1796462043.0, 1796462043.1, NULL, NULL, 0, false};
    f->raws[2] = (struct bundle_raw){1, 5, "cat /etc/swanctl/swanctl.conf",
                                     "sudo -n cat /etc/swanctl/swanctl.conf", conf_out,
                                     strlen(conf_out), -1, "timed out after 5 s", 1796462044.0,
                                     1796462049.0, "timeout", NULL, 0, false};
    f->in.peer[0] = (struct bundle_peer){"gw-a", true};
    f->in.peer[1] = (struct bundle_peer){"gw-b", true};
    f->in.raws = f->raws;
    f->in.n_raws = 3;
    f->in.pcap[0] = f->pcap_a;
    f->in.pcap[1] = f->pcap_b;
    f->in.findings = &f->fs;
    f->in.exit_status = -1;
    f->in.correlation_json = correlation;
    f->in.secrets = secrets;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    findings_free(&f->fs);
    if (!getenv("TS_KEEP"))
        bfs_rmtree(f->tmp);
    else
        fprintf(stderr, "kept %s\n", f->tmp);
    free(f);
    return 0;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    size_t got = fread(b, 1, (size_t)n, fp);
    fclose(fp);
    b[got] = '\0';
    if (len)
        *len = got;
    return b;
}

static char *file_at(const struct fx *f, const char *rel)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", f->out, rel);
    return slurp(p, NULL);
}

static void write_ok(struct fx *f)
{
    struct err e = {0};
    int r = bundle_write(&f->in, f->out, &e);
    if (r)
        fail_msg("bundle_write: %s", e.msg);
}

/* every entry below dir: owner-only modes, no group/other bit */
static void assert_owner_only(const char *dir, int *files)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        char p[1024];
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        struct stat st;
        assert_int_equal(lstat(p, &st), 0);
        if (S_ISDIR(st.st_mode)) {
            assert_int_equal(st.st_mode & 0777, 0700);
            assert_owner_only(p, files);
        } else {
            assert_true(S_ISREG(st.st_mode));
            assert_int_equal(st.st_mode & 0777, 0600);
            (*files)++;
        }
    }
    closedir(d);
}

static void test_bundle_write_makes_owner_only_folder_and_tgz(void **state)
{
    struct fx *f = *state;
    mode_t old = umask(0);
    write_ok(f);
    umask(old);
    struct stat st;
    assert_int_equal(lstat(f->out, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    int files = 0;
    assert_owner_only(f->out, &files);
    /* manifest, findings, correlation, 2 reports, 2 index files, 3 raws, 2 pcaps, 2 loss windows */
    assert_int_equal(files, 14);
    char tgz[256];
    snprintf(tgz, sizeof tgz, "%s.tar.gz", f->out);
    assert_int_equal(lstat(tgz, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    /* no temporary folder left beside it */
    DIR *d = opendir(f->tmp);
    struct dirent *de;
    while ((de = readdir(d)))
        assert_null(strstr(de->d_name, ".tmp-"));
    closedir(d);
}

static void test_bundle_manifest_lists_every_file_with_sha256(void **state)
{
    struct fx *f = *state;
    write_ok(f);
    char *m = file_at(f, "manifest.json");
    json_t *doc = json_loads(m, 0, NULL);
    free(m);
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "schema")), BUNDLE_SCHEMA);
    assert_string_equal(json_string_value(json_object_get(doc, "version")), TS_VERSION);
    assert_true(json_is_true(json_object_get(doc, "complete")));
    const json_t *span = json_object_get(doc, "time_span");
    /* the span covers the first command (09:14:02.250) and the last packet (09:15:42.720) */
    assert_string_equal(json_string_value(json_object_get(span, "start")), "2026-12-05T09:14:02.250Z");
    assert_string_equal(json_string_value(json_object_get(span, "end")), "2026-12-05T09:15:42.720Z");
    const json_t *files = json_object_get(doc, "files");
    assert_int_equal(json_array_size(files), 13);
    size_t i;
    const json_t *x;
    int saw_pcap = 0;
    json_array_foreach(files, i, x) {
        const char *rel = json_string_value(json_object_get(x, "path"));
        char p[512], hex[65];
        uint64_t size;
        struct err e = {0};
        snprintf(p, sizeof p, "%s/%s", f->out, rel);
        assert_int_equal(bundle_sha256_file(p, hex, &size, &e), 0);
        assert_string_equal(hex, json_string_value(json_object_get(x, "sha256")));
        assert_int_equal(size, json_integer_value(json_object_get(x, "size")));
        saw_pcap += !strcmp(rel, "pcap/gw-a.pcap") || !strcmp(rel, "pcap/gw-b.pcap");
    }
    assert_int_equal(saw_pcap, 2);
    json_decref(doc);
    /* the pcaps are the captures as taken */
    size_t la, lb;
    char *a = slurp(f->pcap_a, &la);
    char p[512];
    snprintf(p, sizeof p, "%s/pcap/gw-a.pcap", f->out);
    char *b = slurp(p, &lb);
    assert_int_equal(la, lb);
    assert_memory_equal(a, b, la);
    free(a);
    free(b);
}

static void test_bundle_keeps_the_packets_around_the_losses(void **state)
{
    struct fx *f = *state;
    write_ok(f);
    /* gw-a -> gw-b lost seq 51..99 (sent at T0+51 s .. T0+99 s): the window is T0+49 s .. T0+101 s */
    const char *names[2] = {"pcap/windows/loss-gw-a-to-gw-b.gw-a.pcap",
                            "pcap/windows/loss-gw-a-to-gw-b.gw-b.pcap"};
    long esp[2] = {0, 0};
    uint32_t first_seq[2] = {0, 0};
    for (int s = 0; s < 2; s++) {
        char p[512];
        snprintf(p, sizeof p, "%s/%s", f->out, names[s]);
        struct err e = {0};
        struct capture_file *cf = capture_file_open(p, &e);
        if (!cf)
            fail_msg("%s: %s", names[s], e.msg);
        struct capture_event ev;
        while (capture_file_next(cf, &ev, &e) == 1) {
            assert_true(ev.ts_ns >= T0 + 49000000000LL && ev.ts_ns <= T0 + 101000000000LL);
            if (ev.kind == CAPTURE_ESP && ev.spi == 0xc3b8a9d2u) {
                if (!esp[s])
                    first_seq[s] = ev.seq;
                esp[s]++;
            }
        }
        capture_file_free(cf);
    }
    assert_int_equal(esp[0], 52);      /* gw-a sent 49..100 */
    assert_int_equal(first_seq[0], 49);
    assert_int_equal(esp[1], 2);       /* gw-b received 49, 50 */
    char p[512];
    struct stat st;
    snprintf(p, sizeof p, "%s/pcap/windows/loss-gw-b-to-gw-a.gw-a.pcap", f->out);
    assert_int_not_equal(lstat(p, &st), 0); /* nothing lost that way: no window */
    char *md = file_at(f, "report.md");
    assert_non_null(strstr(md, "The packets around the losses, at each end: "
                               "`pcap/windows/loss-gw-a-to-gw-b.gw-a.pcap`, "
                               "`pcap/windows/loss-gw-a-to-gw-b.gw-b.pcap`"));
    free(md);
}

static void test_bundle_sha256_of_known_text(void **state)
{
    struct fx *f = *state;
    char p[256], hex[65];
    snprintf(p, sizeof p, "%s/abc", f->tmp);
    FILE *fp = fopen(p, "w");
    fputs("abc", fp);
    fclose(fp);
    uint64_t n;
    struct err e = {0};
    assert_int_equal(bundle_sha256_file(p, hex, &n, &e), 0);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_int_equal(n, 3);
}

static void test_bundle_raw_outputs_keep_command_times_exit_and_are_redacted(void **state)
{
    struct fx *f = *state;
    write_ok(f);
    char *idx = file_at(f, "raw/index.json");
    json_t *doc = json_loads(idx, 0, NULL);
    free(idx);
    assert_int_equal(json_array_size(doc), 3);
    const json_t *r0 = json_array_get(doc, 0), *r2 = json_array_get(doc, 2);
    assert_string_equal(json_string_value(json_object_get(r0, "peer")), "gw-a");
    assert_string_equal(json_string_value(json_object_get(r0, "command")),
                        "sudo -n swanctl --list-sas --raw");
    assert_string_equal(json_string_value(json_object_get(r0, "started")), "2026-12-05T09:14:02.250Z");
    assert_string_equal(json_string_value(json_object_get(r0, "ended")), "2026-12-05T09:14:02.500Z");
    assert_int_equal(json_integer_value(json_object_get(r0, "exit_status")), 0);
    assert_string_equal(json_string_value(json_object_get(r0, "file")),
                        "raw/gw-a/001-swanctl-list-sas-raw.txt");
    assert_string_equal(json_string_value(json_object_get(r2, "peer")), "gw-b");
    assert_true(json_is_null(json_object_get(r2, "exit_status")));
    assert_string_equal(json_string_value(json_object_get(r2, "error")), "timed out after 5 s");
    assert_int_equal(json_integer_value(json_object_get(r2, "redactions")), 2);
    json_decref(doc);

    char *sas = file_at(f, "raw/gw-a/001-swanctl-list-sas-raw.txt");
    assert_string_equal(sas, sas_out); /* nothing to redact: verbatim */
    free(sas);
    char *x = file_at(f, "raw/gw-a/002-ip-s-xfrm-state.txt");
    assert_null(strstr(x, XFRM_KEY));
    assert_non_null(strstr(x, "aead rfc4106(gcm(aes)) [REDACTED] 128"));
    free(x);
    char *c = file_at(f, "raw/gw-b/001-cat-etc-swanctl-swanctl.conf.txt");
    assert_non_null(c);
    assert_null(strstr(c, PSK));
    free(c);
}

static void test_bundle_has_no_secret_in_any_file_folder_or_tgz(void **state)
{
    struct fx *f = *state;
    write_ok(f);
    struct err e = {0};
    assert_int_equal(bundle_scan_secrets(f->out, secrets, &e), 0);
    char tgz[256];
    snprintf(tgz, sizeof tgz, "%s.tar.gz", f->out);
    assert_int_equal(bundle_scan_secrets(tgz, secrets, &e), 0);
    /* and the scan does find a secret when one is there */
    char p[512];
    snprintf(p, sizeof p, "%s/raw/gw-a/001-swanctl-list-sas-raw.txt", f->out);
    chmod(p, 0600);
    FILE *fp = fopen(p, "a");
    fputs("leak: " PSK "\n", fp);
    fclose(fp);
    assert_int_equal(bundle_scan_secrets(f->out, secrets, &e), 1);
    assert_non_null(strstr(e.msg, "raw/gw-a/001-swanctl-list-sas-raw.txt"));
}

static void test_bundle_refuses_a_capture_holding_a_secret_and_leaves_nothing(void **state)
{
    struct fx *f = *state;
    struct err e = {0};
    struct capture_writer *w = capture_writer_open(f->pcap_a, CAPTURE_LINK_RAW, 0, 1, &e);
    uint8_t b[200];
    size_t n = pkt(b, "192.168.77.2", "198.51.100.20", 4500, 4500, 0, 1, 1, 64);
    memcpy(b + 36, PSK, strlen(PSK)); /* inside the ESP payload */
    write_rec(w, T0, b, n);
    capture_writer_free(w);
    assert_int_equal(bundle_write(&f->in, f->out, &e), -1);
    assert_non_null(strstr(e.msg, "pcap/gw-a.pcap holds key material"));
    DIR *d = opendir(f->tmp);
    struct dirent *de;
    while ((de = readdir(d))) /* only a.pcap, b.pcap */
        assert_true(!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
                    strstr(de->d_name, ".pcap"));
    closedir(d);
}

static void test_bundle_never_overwrites_nor_follows_a_symlink(void **state)
{
    struct fx *f = *state;
    struct err e = {0};
    char target[256];
    snprintf(target, sizeof target, "%s/elsewhere", f->tmp);
    assert_int_equal(symlink(target, f->out), 0);
    assert_int_equal(bundle_write(&f->in, f->out, &e), -1);
    assert_non_null(strstr(e.msg, "already exists"));
    struct stat st;
    assert_int_not_equal(lstat(target, &st), 0);
    unlink(f->out);
    char tgz[256];
    snprintf(tgz, sizeof tgz, "%s.tar.gz", f->out);
    assert_int_equal(symlink(target, tgz), 0);
    assert_int_equal(bundle_write(&f->in, f->out, &e), -1);
    assert_int_not_equal(lstat(f->out, &st), 0);
}

static void test_verify_passes_on_folder_and_tgz(void **state)
{
    struct fx *f = *state;
    write_ok(f);
    struct err e = {0};
    assert_int_equal(bundle_verify(f->out, &e), 0);
    char tgz[256];
    snprintf(tgz, sizeof tgz, "%s.tar.gz", f->out);
    assert_int_equal(bundle_verify(tgz, &e), 0);
}

static void tamper(const struct fx *f, const char *rel)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", f->out, rel);
    FILE *fp = fopen(p, "r+");
    assert_non_null(fp);
    fseek(fp, 10, SEEK_SET);
    int c = fgetc(fp);
    fseek(fp, 10, SEEK_SET);
    fputc(c ^ 1, fp);
    fclose(fp);
}

static void test_verify_names_the_tampered_file(void **state)
{
    struct fx *f = *state;
    write_ok(f);
    struct err e = {0};
    tamper(f, "pcap/gw-b.pcap");
    assert_int_equal(bundle_verify(f->out, &e), -1);
    assert_non_null(strstr(e.msg, "pcap/gw-b.pcap"));
    assert_non_null(strstr(e.msg, "SHA-256 mismatch"));
    /* the same, packed */
    char tgz[256];
    snprintf(tgz, sizeof tgz, "%s/tampered.tar.gz", f->tmp);
    assert_int_equal(bfs_pack_tgz(f->out, "incident", tgz, &e), 0);
    assert_int_equal(bundle_verify(tgz, &e), -1);
    assert_non_null(strstr(e.msg, "pcap/gw-b.pcap"));
}

static void test_verify_fails_on_extra_missing_or_symlinked_file(void **state)
{
    struct fx *f = *state;
    write_ok(f);
    struct err e = {0};
    char p[512], q[512];
    snprintf(p, sizeof p, "%s/raw/extra.txt", f->out);
    FILE *fp = fopen(p, "w");
    fputs("planted\n", fp);
    fclose(fp);
    assert_int_equal(bundle_verify(f->out, &e), -1);
    assert_non_null(strstr(e.msg, "raw/extra.txt: not listed"));
    unlink(p);
    snprintf(p, sizeof p, "%s/report.md", f->out);
    snprintf(q, sizeof q, "%s/report.md.moved", f->tmp);
    assert_int_equal(rename(p, q), 0);
    assert_int_equal(bundle_verify(f->out, &e), -1);
    assert_non_null(strstr(e.msg, "report.md"));
    assert_int_equal(symlink(q, p), 0); /* same content, through a symlink */
    assert_int_equal(bundle_verify(f->out, &e), -1);
    assert_non_null(strstr(e.msg, "report.md"));
}

static void write_entry(struct archive *a, const char *name, int type, const char *data)
{
    struct archive_entry *ent = archive_entry_new();
    archive_entry_set_pathname(ent, name);
    archive_entry_set_filetype(ent, (unsigned)type);
    archive_entry_set_perm(ent, 0644);
    if (type == AE_IFLNK)
        archive_entry_set_symlink(ent, data);
    else
        archive_entry_set_size(ent, data ? (la_int64_t)strlen(data) : 0);
    assert_int_equal(archive_write_header(a, ent), ARCHIVE_OK);
    if (type == AE_IFREG && data)
        archive_write_data(a, data, strlen(data));
    archive_entry_free(ent);
}

static void hostile_tgz(const char *path, const char *name, int type, const char *data)
{
    struct archive *a = archive_write_new();
    archive_write_add_filter_gzip(a);
    archive_write_set_format_pax_restricted(a);
    assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
    write_entry(a, "b/", AE_IFDIR, NULL);
    write_entry(a, name, type, data);
    archive_write_close(a);
    archive_write_free(a);
}

static void test_unpacking_refuses_hostile_archives(void **state)
{
    struct fx *f = *state;
    char p[256];
    struct err e = {0};
    snprintf(p, sizeof p, "%s/dotdot.tar.gz", f->tmp);
    hostile_tgz(p, "b/../../escaped", AE_IFREG, "x");
    assert_int_equal(bundle_verify(p, &e), -1);
    assert_non_null(strstr(e.msg, "unsafe entry name"));
    snprintf(p, sizeof p, "%s/link.tar.gz", f->tmp);
    hostile_tgz(p, "b/manifest.json", AE_IFLNK, "/etc/passwd");
    assert_int_equal(bundle_verify(p, &e), -1);
    assert_non_null(strstr(e.msg, "not a regular file"));
    snprintf(p, sizeof p, "%s/abs.tar.gz", f->tmp);
    hostile_tgz(p, "/tmp/abs", AE_IFREG, "x");
    assert_int_equal(bundle_verify(p, &e), -1);
    snprintf(p, sizeof p, "%s/garbage.tar.gz", f->tmp);
    FILE *fp = fopen(p, "w");
    fputs("not an archive at all", fp);
    fclose(fp);
    assert_int_equal(bundle_verify(p, &e), -1);
}

static void test_bundle_open_gives_back_what_was_written(void **state)
{
    struct fx *f = *state;
    write_ok(f);
    char tgz[256];
    snprintf(tgz, sizeof tgz, "%s.tar.gz", f->out);
    const char *paths[] = {f->out, tgz};
    for (int k = 0; k < 2; k++) {
        struct err e = {0};
        struct bundle *b = bundle_open(paths[k], &e);
        if (!b)
            fail_msg("bundle_open %s: %s", paths[k], e.msg);
        assert_int_equal(findings_equal(bundle_findings(b), &f->fs, &e), 1);
        assert_string_equal(bundle_peer_name(b, 0), "gw-a");
        assert_string_equal(bundle_peer_name(b, 1), "gw-b");
        assert_true(bundle_peer_collected(b, 1));
        assert_int_equal(bundle_raw_count(b), 3);
        const struct bundle_raw *r = bundle_raw_get(b, 0);
        assert_string_equal(r->command, "sudo -n swanctl --list-sas --raw");
        assert_string_equal(r->output, sas_out);
        assert_true(r->started == 1796462042.25 && r->ended == 1796462042.5);
        assert_int_equal(bundle_raw_get(b, 2)->exit_status, -1);
        assert_int_equal(bundle_raw_get(b, 2)->side, 1);
        assert_non_null(bundle_correlation_json(b));
        struct capture_file *cf = capture_file_open(bundle_pcap_path(b, 1), &e);
        assert_non_null(cf);
        capture_file_free(cf);
        char root[512];
        snprintf(root, sizeof root, "%s", bundle_root(b));
        bundle_free(b);
        if (k == 1) { /* the unpacked copy is gone */
            struct stat st;
            assert_int_not_equal(lstat(root, &st), 0);
        }
    }
}

static void test_bundle_rewritten_from_an_open_bundle_verifies(void **state)
{
    struct fx *f = *state;
    write_ok(f);
    struct err e = {0};
    struct bundle *b = bundle_open(f->out, &e);
    assert_non_null(b);
    struct bundle_input in;
    bundle_as_input(b, &in);
    in.secrets = secrets;
    char again[256];
    snprintf(again, sizeof again, "%s/again", f->tmp);
    assert_int_equal(bundle_write(&in, again, &e), 0);
    bundle_free(b);
    assert_int_equal(bundle_verify(again, &e), 0);
    char *x = file_at(f, "findings.json");
    snprintf(again, sizeof again, "%s/again/findings.json", f->tmp);
    char *y = slurp(again, NULL);
    assert_string_equal(x, y);
    free(x);
    free(y);
}

static void test_findings_json_round_trip_and_difference(void **state)
{
    struct fx *f = *state;
    json_t *doc = findings_to_json(&f->fs, "gw-a", "gw-b", -1);
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "principal")), "reach.esp_lost_a_to_b");
    assert_int_equal(json_integer_value(json_object_get(doc, "exit_status")), 2);
    const json_t *s2 = json_array_get(json_object_get(doc, "steps"), 1);
    assert_string_equal(json_string_value(json_object_get(s2, "status")), "failure");
    struct findings back = FINDINGS_INIT;
    struct err e = {0};
    assert_int_equal(findings_from_json(doc, &back, &e), 0);
    assert_int_equal(findings_equal(&back, &f->fs, &e), 1);
    free(back.v[1].ev[1].detail);
    back.v[1].ev[1].detail = strdup("changed");
    assert_int_equal(findings_equal(&back, &f->fs, &e), 0);
    assert_string_equal(e.msg, "finding reach.esp_lost_a_to_b: evidence differs");
    findings_free(&back);
    /* malformed: unknown severity */
    json_object_set_new(json_array_get(json_object_get(doc, "findings"), 0), "severity",
                        json_string("fatal"));
    assert_int_equal(findings_from_json(doc, &back, &e), -1);
    assert_non_null(strstr(e.msg, "transport.natt"));
    findings_free(&back);
    json_decref(doc);
}

static void test_report_md_states_numbers_per_direction_and_proof_files(void **state)
{
    struct fx *f = *state;
    write_ok(f);
    char *md = file_at(f, "report.md");
    assert_non_null(md);
    assert_non_null(strstr(md, "**gw-a** -> **gw-b**: UDP/4500 from 203.0.113.10 to 198.51.100.20: "
                               "1,243 ESP packets sent by gw-a between 09:14:03 and 09:15:42 UTC, "
                               "50 received by gw-b (1,193 lost, 0 duplicated, 0 reordered)"));
    assert_non_null(strstr(md, "one-way delay median 20.0 ms"));
    assert_non_null(strstr(md, "**Principal finding** (step 2, UDP/4500 reachability, failure): "
                               "1193 of 1243 ESP packets from gw-a never reached gw-b"));
    assert_non_null(strstr(md, "**Decision:** Escalate to the ISP of site B with this bundle"));
    assert_non_null(strstr(md, "| 2. UDP/4500 reachability | failure |"));
    assert_non_null(strstr(md, "| 4. MTU / MSS / fragmentation | not run |"));
    /* which file proves each claim */
    assert_non_null(strstr(md, "gw-a: `swanctl --list-sas --raw` (proved by `raw/gw-a/001-swanctl-list-sas-raw.txt`)"));
    assert_non_null(strstr(md, "`capture A+B` (proved by `pcap/gw-a.pcap`, `pcap/gw-b.pcap`, `correlation.json`)"));
    assert_non_null(strstr(md, "saw its peer move from 203.0.113.10:4500 to 203.0.113.10:1024"));
    assert_non_null(strstr(md, "`sudo -n cat /etc/swanctl/swanctl.conf`, 09:14:04 to 09:14:09 UTC, "
                               "did not finish: timed out after 5 s"));
    free(md);
}

static void test_bundle_report_html_has_svg_timelines_and_fetches_nothing(void **state)
{
    struct fx *f = *state;
    write_ok(f);
    char *h = file_at(f, "report.html");
    assert_non_null(h);
    assert_non_null(strstr(h, "<!DOCTYPE html>"));
    assert_null(strstr(h, "<script"));
    assert_null(strstr(h, "src="));
    assert_null(strstr(h, "https:"));
    assert_null(strstr(h, "href=\"http"));
    assert_null(strstr(h, "@import"));
    /* two timelines, with lost bins, keepalives and the NAT change marked */
    const char *p = strstr(h, "<svg");
    assert_non_null(p);
    assert_non_null(strstr(p + 1, "<svg"));
    assert_non_null(strstr(h, "class=\"lost\""));
    assert_non_null(strstr(h, "class=\"keepalive\""));
    assert_non_null(strstr(h, "class=\"nat\""));
    assert_non_null(strstr(h, "110 packets sent, 60 received, 49 ESP lost"));
    assert_non_null(strstr(h, "20 packets sent, 20 received, 0 ESP lost"));
    /* evidence text is escaped */
    assert_non_null(strstr(h, "line &lt;2&gt; &amp; `3`"));
    free(h);
}

static void test_report_without_correlation_claims_no_numbers(void **state)
{
    struct fx *f = *state;
    f->in.correlation_json = NULL;
    f->in.peer[1].collected = false;
    f->in.pcap[1] = NULL;
    f->raws[2].side = 0;
    write_ok(f);
    char *md = file_at(f, "report.md");
    assert_non_null(strstr(md, "on one gateway only, gw-a"));
    assert_non_null(strstr(md, "no per-direction packet counts are claimed"));
    assert_null(strstr(md, "ESP packets sent by"));
    free(md);
    char *m = file_at(f, "manifest.json");
    assert_non_null(strstr(m, "\"complete\": false"));
    free(m);
}

static void test_thousands_separator(void **state)
{
    char b[32];
    bundle_report_thousands(0, b, sizeof b);
    assert_string_equal(b, "0");
    bundle_report_thousands(999, b, sizeof b);
    assert_string_equal(b, "999");
    bundle_report_thousands(1243, b, sizeof b);
    assert_string_equal(b, "1,243");
    bundle_report_thousands(1234567, b, sizeof b);
    assert_string_equal(b, "1,234,567");
}


/* ---- the command line, on bundles written here ---- */

static int run(char *out, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int run(char *out, size_t size, const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = snprintf(cmd, sizeof cmd, "%s ", TS_BINARY);
    vsnprintf(cmd + n, sizeof cmd - (size_t)n, fmt, ap);
    va_end(ap);
    strncat(cmd, " 2>&1", sizeof cmd - strlen(cmd) - 1);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t got = fread(out, 1, size - 1, p);
    out[got] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The correlation as the export computes it (correlate on both pcaps, local addresses given). */
static char *computed_correlation(const struct fx *f)
{
    struct correlate_opts o;
    replay_correlate_opts("192.168.77.2", "198.51.100.20", &o);
    struct correlate_result *r = NULL;
    struct err e = {0};
    if (correlate_files(f->pcap_a, f->pcap_b, &o, &r, &e))
        fail_msg("correlate_files: %s", e.msg);
    json_t *j = correlate_result_json(r, "gw-a", "gw-b");
    correlate_result_free(r);
    char *s = json_dumps(j, JSON_PRESERVE_ORDER);
    json_decref(j);
    return s;
}

static void test_cli_verify_ok_then_names_the_tampered_file(void **state)
{
    struct fx *f = *state;
    write_ok(f);
    char out[4096];
    assert_int_equal(run(out, sizeof out, "verify %s", f->out), 0);
    assert_non_null(strstr(out, "OK"));
    assert_int_equal(run(out, sizeof out, "verify %s.tar.gz", f->out), 0);
    tamper(f, "raw/gw-a/002-ip-s-xfrm-state.txt");
    assert_int_equal(run(out, sizeof out, "verify %s", f->out), 2);
    assert_non_null(strstr(out, "FAILED: raw/gw-a/002-ip-s-xfrm-state.txt: SHA-256 mismatch"));
    assert_int_equal(run(out, sizeof out, "verify %s/nope", f->tmp), 64);
    assert_int_equal(run(out, sizeof out, "verify"), 64);
}

static void test_cli_verify_with_secrets_file_finds_a_planted_psk(void **state)
{
    struct fx *f = *state;
    char sec[256];
    snprintf(sec, sizeof sec, "%s/secrets", f->tmp);
    FILE *fp = fopen(sec, "w");
    fputs("# the lab's PSK\n" PSK "\n", fp);
    fclose(fp);
    write_ok(f);
    char out[4096];
    assert_int_equal(run(out, sizeof out, "verify --secrets %s %s", sec, f->out), 0);
    /* a bundle re-packed by hand with the PSK in it: hashes fine, secret found */
    char p[512];
    snprintf(p, sizeof p, "%s/report.md", f->out);
    chmod(p, 0600);
    fp = fopen(p, "a");
    fputs("psk was " PSK "\n", fp);
    fclose(fp);
    assert_int_equal(run(out, sizeof out, "verify --secrets %s %s", sec, f->out), 2);
    assert_non_null(strstr(out, "report.md"));
}

static void test_cli_replay_check_recomputes_the_correlation(void **state)
{
    struct fx *f = *state;
    char *corr = computed_correlation(f);
    f->in.correlation_json = corr;
    write_ok(f);
    char out[8192];
    int rc = run(out, sizeof out, "replay --check %s.tar.gz", f->out);
    assert_non_null(strstr(out, "correlation: recomputed from both pcaps, equal to correlation.json"));
    /* the findings cannot be re-run here: said, and not claimed equal */
    assert_non_null(strstr(out, "findings: not recomputed"));
    assert_int_equal(rc, 0);
    assert_int_equal(run(out, sizeof out, "replay --json %s", f->out), 0);
    json_t *doc = json_loads(out, 0, NULL);
    assert_non_null(doc);
    const json_t *c = json_object_get(doc, "check");
    assert_true(json_is_true(json_object_get(c, "correlation_equal")));
    assert_true(json_is_true(json_object_get(c, "ok")));
    assert_string_equal(json_string_value(json_object_get(json_object_get(doc, "findings"), "principal")),
                        "reach.esp_lost_a_to_b");
    json_decref(doc);
    free(corr);
}

static void test_cli_replay_check_reports_a_different_saved_correlation(void **state)
{
    struct fx *f = *state;
    write_ok(f); /* the literal correlation: not what the pcaps give */
    char out[8192];
    assert_int_equal(run(out, sizeof out, "replay --check %s", f->out), 2);
    assert_non_null(strstr(out, "correlation: DIFFERS: "));
    assert_non_null(strstr(out, "MISMATCH"));
}

static void test_cli_replay_view_shows_both_ends_and_the_principal_finding(void **state)
{
    struct fx *f = *state;
    char *corr = computed_correlation(f);
    f->in.correlation_json = corr;
    /* gw-a's SAs as strongSwan printed them in the lab (real fixture) */
    size_t n;
    char *sas = fixture_load("swanctl/swanctl-list-sas-raw.gw-a.txt", &n);
    f->raws[0].output = sas;
    f->raws[0].output_len = n;
    write_ok(f);
    char out[32768];
    assert_int_equal(run(out, sizeof out, "replay --view --size 140x45 %s", f->out), 0);
    assert_non_null(strstr(out, "gw-a"));
    assert_non_null(strstr(out, "gw-b"));
    assert_non_null(strstr(out, "never reached gw-b"));
    /* gw-a's line: its IKE and CHILD SA state from the recorded output */
    const char *line_a = strstr(out, " A gw-a");
    assert_non_null(line_a);
    const char *eol = strchr(line_a, '\n');
    char la[512];
    snprintf(la, sizeof la, "%.*s", (int)(eol ? eol - line_a : 200), line_a);
    assert_non_null(strstr(la, "ESTABLISHED"));
    assert_non_null(strstr(la, "INSTALLED"));
    free(sas);
    free(corr);
}

static void test_cli_merge_two_half_bundles_correlates_both_ends(void **state)
{
    struct fx *f = *state;
    struct err e = {0};
    /* site A's half: gw-a only; site B's half: gw-b only */
    struct findings fa = FINDINGS_INIT, fb = FINDINGS_INIT;
    findings_add(&fa, "transport.natt", STEP_TRANSPORT, SEV_INFO, NULL, "ESP in UDP/4500");
    findings_add(&fb, "reach.one_end", STEP_REACH, SEV_INFO, "ask site A for its half-bundle",
                 "only this end was captured");
    struct bundle_raw ra = f->raws[0], rb = f->raws[2];
    rb.side = 1;
    struct bundle_input ia = {.peer = {{"gw-a", true}, {"gw-b", false}}, .raws = &ra, .n_raws = 1,
                              .pcap = {f->pcap_a, NULL}, .findings = &fa, .exit_status = -1,
                              .secrets = secrets};
    struct bundle_input ib = {.peer = {{"gw-b", false}, {"gw-b", true}}, .raws = &rb, .n_raws = 1,
                              .pcap = {NULL, f->pcap_b}, .findings = &fb, .exit_status = -1,
                              .secrets = secrets};
    ib.peer[0].name = "gw-a";
    char ha[256], hb[256], merged[256], out[8192];
    snprintf(ha, sizeof ha, "%s/half-a", f->tmp);
    snprintf(hb, sizeof hb, "%s/half-b", f->tmp);
    snprintf(merged, sizeof merged, "%s/merged", f->tmp);
    assert_int_equal(bundle_write(&ia, ha, &e), 0);
    assert_int_equal(bundle_write(&ib, hb, &e), 0);
    findings_free(&fa);
    findings_free(&fb);
    /* a half-bundle cannot be replay-checked: nothing to correlate */
    assert_int_equal(run(out, sizeof out, "replay --check %s", ha), 3);
    /* the playbook runs on the merged material: these halves hold gw-a's SAs
     * and a config file of gw-b, no daemon facts of gw-b: it cannot diagnose */
    assert_int_equal(run(out, sizeof out, "merge %s.tar.gz %s --bundle %s", ha, hb, merged), 3);
    assert_non_null(strstr(out, "result: cannot_diagnose"));
    assert_int_equal(run(out, sizeof out, "verify %s", merged), 0);
    struct bundle *b = bundle_open(merged, &e);
    assert_non_null(b);
    assert_true(bundle_peer_collected(b, 0) && bundle_peer_collected(b, 1));
    assert_int_equal(bundle_raw_count(b), 2);
    assert_int_equal(bundle_raw_get(b, 1)->side, 1);
    const json_t *dirs = json_object_get(bundle_correlation_json(b), "directions");
    /* gw-a sent 100 ESP, gw-b's capture (until 09:15:42.7) saw 50 of them */
    assert_int_equal(json_integer_value(json_object_get(json_array_get(dirs, 0), "sent")), 100);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(dirs, 0), "received")), 50);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(dirs, 1), "lost")), 0);
    bundle_free(b);
    assert_int_equal(run(out, sizeof out, "replay --check %s", merged), 0);
    char md[512];
    snprintf(md, sizeof md, "%s/report.md", merged);
    char *text = slurp(md, NULL);
    assert_non_null(strstr(text, "100 ESP packets sent by gw-a"));
    free(text);
    /* the same half twice, or a full bundle, is refused */
    assert_int_equal(run(out, sizeof out, "merge %s %s --bundle %s/m2", ha, ha, f->tmp), 64);
    write_ok(f);
    assert_int_equal(run(out, sizeof out, "merge %s %s --bundle %s/m3", f->out, hb, f->tmp), 64);
}


int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_bundle_write_makes_owner_only_folder_and_tgz, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bundle_manifest_lists_every_file_with_sha256, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bundle_sha256_of_known_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bundle_keeps_the_packets_around_the_losses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bundle_raw_outputs_keep_command_times_exit_and_are_redacted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bundle_has_no_secret_in_any_file_folder_or_tgz, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bundle_refuses_a_capture_holding_a_secret_and_leaves_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bundle_never_overwrites_nor_follows_a_symlink, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_passes_on_folder_and_tgz, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_names_the_tampered_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_fails_on_extra_missing_or_symlinked_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unpacking_refuses_hostile_archives, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bundle_open_gives_back_what_was_written, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bundle_rewritten_from_an_open_bundle_verifies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_findings_json_round_trip_and_difference, setup, teardown),
        cmocka_unit_test_setup_teardown(test_report_md_states_numbers_per_direction_and_proof_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bundle_report_html_has_svg_timelines_and_fetches_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_report_without_correlation_claims_no_numbers, setup, teardown),
        cmocka_unit_test(test_thousands_separator),
        cmocka_unit_test_setup_teardown(test_cli_verify_ok_then_names_the_tampered_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_verify_with_secrets_file_finds_a_planted_psk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_replay_check_recomputes_the_correlation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_replay_check_reports_a_different_saved_correlation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_replay_view_shows_both_ends_and_the_principal_finding, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_merge_two_half_bundles_correlates_both_ends, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
