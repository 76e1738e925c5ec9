/* bench_floor: the floor for `tunnelscope correlate` — a minimal libpcap read
 * loop over capture files that parses just enough of each packet (link header,
 * IPv4, UDP, ESP SPI and sequence number) to find the (SPI, seq) key, and does
 * nothing else.  Prints packets, seconds and packets per second.
 * usage: bench_floor [-b] FILE...
 *   -b: give libpcap a 1 MiB stdio buffer, as tunnelscope's reader does (the plain floor
 *       uses libpcap's defaults). */
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    int big = argc > 1 && !strcmp(argv[1], "-b");
    if (argc < 2 + big) {
        fprintf(stderr, "usage: bench_floor [-b] FILE...\n");
        return 64;
    }
    uint64_t packets = 0, esp = 0, sum = 0;
    double t0 = now();
    static char iobuf[1 << 20];
    for (int i = 1 + big; i < argc; i++) {
        char eb[PCAP_ERRBUF_SIZE];
        pcap_t *p;
        if (big) {
            FILE *fp = fopen(argv[i], "rb");
            if (!fp) {
                perror(argv[i]);
                return 1;
            }
            setvbuf(fp, iobuf, _IOFBF, sizeof iobuf);
            p = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_NANO, eb);
        } else {
            p = pcap_open_offline_with_tstamp_precision(argv[i], PCAP_TSTAMP_PRECISION_NANO, eb);
        }
        if (!p) {
            fprintf(stderr, "%s: %s\n", argv[i], eb);
            return 1;
        }
        int dlt = pcap_datalink(p);
        size_t l2 = dlt == DLT_EN10MB ? 14 : dlt == DLT_LINUX_SLL ? 16 : dlt == 276 ? 20 : 0;
        struct pcap_pkthdr *h;
        const u_char *d;
        while (pcap_next_ex(p, &h, &d) == 1) {
            packets++;
            if (h->caplen < l2 + 20)
                continue;
            const u_char *ip = d + l2;
            size_t ihl = (size_t)(ip[0] & 15) * 4;
            if (ip[9] != 17 || h->caplen < l2 + ihl + 16)
                continue;
            const u_char *u = ip + ihl;
            uint32_t spi, seq;
            memcpy(&spi, u + 8, 4);
            memcpy(&seq, u + 12, 4);
            if (spi) {
                esp++;
                sum += spi ^ seq;
            }
        }
        pcap_close(p);
    }
    double dt = now() - t0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                 (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    /* CPU time is what we compare: the machine is shared, wall time varies with its load. */
    printf("floor%s: %" PRIu64 " packets (%" PRIu64 " ESP), %.3f s CPU (%.3f s wall): %.2f M packets/s CPU "
           "(checksum %" PRIx64 ")\n",
           big ? " (1 MiB buffer)" : "", packets, esp, cpu, dt, (double)packets / cpu / 1e6, sum);
    return 0;
}
