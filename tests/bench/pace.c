/* bench_pace [--origin-file FIRST.pcap] FILE.pcap: writes a classic pcap to
 * stdout at the pace of its own timestamps, as `tcpdump -U -w -` streams a
 * live capture: the file header at once, then each record when it is due,
 * with its timestamp moved to the time it is written (so that the console
 * reading it sees a live capture of now).  With --origin-file, time 0 is the
 * first record of that other file (the pair's A end), so that two pacers
 * started at nearly the same moment keep the two ends' relative timing.
 * Once the file is written it stays open (a capture that goes quiet) until
 * it is killed or stdout closes.  Used by tests/bench/run-console as the
 * `tcpdump` of a benchmark "gateway": everything after it (SSH, the capture
 * stream decoder, the console) is the real code. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int64_t real_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 20, n = 0;
    unsigned char *d = malloc(cap);
    while (d) {
        if (n == cap) {
            unsigned char *v = realloc(d, cap * 2);
            if (!v) {
                free(d);
                d = NULL;
                break;
            }
            d = v;
            cap *= 2;
        }
        size_t r = fread(d + n, 1, cap - n, f);
        if (r == 0)
            break;
        n += r;
    }
    fclose(f);
    *len = n;
    return d;
}

/* 1 nanosecond pcap, 0 microsecond, -1 not a native-endian classic pcap. */
static int pcap_kind(const unsigned char *d, size_t len)
{
    uint32_t magic;
    if (len < 24)
        return -1;
    memcpy(&magic, d, 4);
    return magic == 0xa1b23c4du ? 1 : magic == 0xa1b2c3d4u ? 0 : -1;
}

static int64_t rec_ts(const unsigned char *d, int nsec)
{
    uint32_t sec, frac;
    memcpy(&sec, d, 4);
    memcpy(&frac, d + 4, 4);
    return (int64_t)sec * 1000000000LL + (int64_t)frac * (nsec ? 1 : 1000);
}

static void set_ts(unsigned char *d, int nsec, int64_t ns)
{
    uint32_t sec = (uint32_t)(ns / 1000000000LL), frac = (uint32_t)(ns % 1000000000LL);
    if (!nsec)
        frac /= 1000;
    memcpy(d, &sec, 4);
    memcpy(d + 4, &frac, 4);
}

static int write_all(const unsigned char *p, size_t n)
{
    while (n) {
        ssize_t w = write(STDOUT_FILENO, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *origin_file = NULL, *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--origin-file") && i + 1 < argc)
            origin_file = argv[++i];
        else if (argv[i][0] == '-')
            path = NULL, i = argc; /* unknown option */
        else
            path = argv[i];
    }
    if (!path) {
        fprintf(stderr, "usage: bench_pace [--origin-file FIRST.pcap] FILE.pcap\n");
        return 64;
    }
    signal(SIGPIPE, SIG_DFL);
    size_t len = 0;
    unsigned char *d = slurp(path, &len);
    int nsec = d ? pcap_kind(d, len) : -1;
    if (nsec < 0) {
        fprintf(stderr, "bench_pace: %s: not a native-endian classic pcap\n", path);
        return 1;
    }
    int64_t origin = len >= 40 ? rec_ts(d + 24, nsec) : 0;
    if (origin_file) {
        size_t olen = 0;
        unsigned char *o = slurp(origin_file, &olen);
        int onsec = o ? pcap_kind(o, olen) : -1;
        if (onsec < 0 || olen < 40) {
            fprintf(stderr, "bench_pace: %s: no first record\n", origin_file);
            return 1;
        }
        origin = rec_ts(o + 24, onsec);
        free(o);
    }
    int64_t start = real_ns();
    if (write_all(d, 24) != 0)
        return 0;
    size_t off = 24;
    while (off + 16 <= len) {
        int64_t now = real_ns() - start;
        size_t end = off;
        int cut = 0;
        /* everything due now goes in one write */
        while (end + 16 <= len) {
            int64_t t = rec_ts(d + end, nsec) - origin;
            if (t > now)
                break;
            uint32_t caplen;
            memcpy(&caplen, d + end + 8, 4);
            if (end + 16 + caplen > len) {
                cut = 1; /* a truncated last record: the file ends here */
                break;
            }
            set_ts(d + end, nsec, start + t);
            end += 16 + caplen;
        }
        if (end > off) {
            if (write_all(d + off, end - off) != 0)
                return 0;
            off = end;
            continue;
        }
        if (cut)
            break;
        {
            int64_t wait = rec_ts(d + off, nsec) - origin - now;
            if (wait > 1000000)
                wait = 1000000; /* at most 1 ms: tcpdump -U writes each packet as it comes */
            struct timespec ts = {0, (long)(wait > 0 ? wait : 0)};
            nanosleep(&ts, NULL);
        }
    }
    free(d);
    /* a quiet capture: stay until killed or nobody reads */
    for (;;) {
        struct timespec ts = {1, 0};
        nanosleep(&ts, NULL);
        if (write(STDOUT_FILENO, "", 0) < 0)
            return 0;
    }
}
