/* pcap/pcapng files: reading (offline decoding with the same capture_decode()
 * as the stream) and writing records as they arrive (libpcap).
 *
 * Reading: a classic pcap file (version 2.4, a link type we decode) is read by
 * a loop of our own over a 1 MiB buffer, records decoded in place; anything
 * else (pcapng, older versions, other magics) through libpcap.  The own loop
 * follows libpcap 1.10's sf-pcap.c rules so that both give the same events:
 * a record longer than 262144 bytes is an error, one longer than the file's
 * snap length is cut to it, a file that ends inside a record is an error, the
 * sub-second field is taken as it is.  It is there for speed: libpcap reads
 * each record with two fread() calls, which cost a quarter of `tunnelscope
 * correlate`'s time (tests/bench/README.md). */
#include "probes/capture.h"

#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FILE_BUF (1u << 20)
#define MAX_CAPLEN 262144u /* libpcap's largest record for any link type */

struct capture_file {
    pcap_t *p;      /* NULL: our own reader below */
    char *iobuf;
    int linktype;
    int nsec;
    uint64_t records;
    /* own reader */
    int fd;
    int swapped;
    uint32_t snaplen;
    uint8_t *buf;
    size_t pos, len; /* unread bytes are buf[pos .. len) */
    int eof;
};

static uint32_t get32(const struct capture_file *f, const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return f->swapped ? __builtin_bswap32(v) : v;
}

/* Makes at least n bytes available at buf + pos (fewer at the end of the file). */
static int fill(struct capture_file *f, size_t n, struct err *e)
{
    if (f->len - f->pos >= n || f->eof)
        return 0;
    memmove(f->buf, f->buf + f->pos, f->len - f->pos);
    f->len -= f->pos;
    f->pos = 0;
    while (f->len < n && !f->eof) {
        ssize_t r = read(f->fd, f->buf + f->len, FILE_BUF - f->len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return err_set(e, ERR_IO, "reading the capture: %s", strerror(errno));
        if (r == 0)
            f->eof = 1;
        f->len += (size_t)r;
    }
    return 0;
}

/* The own reader when the file is a pcap 2.4 file of a link type decoded here:
 * 1 taken, 0 not (libpcap reads it), -1 error. */
static int own_open(struct capture_file *f, const char *path, struct err *e)
{
    f->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (f->fd < 0)
        return err_set(e, ERR_IO, "%s: %s", path, strerror(errno));
    f->buf = malloc(FILE_BUF);
    if (!f->buf)
        return err_set(e, ERR_INTERNAL, "out of memory");
    if (fill(f, 24, e) != 0)
        return -1;
    if (f->len < 24)
        return 0;
    uint32_t magic;
    memcpy(&magic, f->buf, 4);
    switch (magic) {
    case 0xa1b2c3d4: f->swapped = 0; f->nsec = 0; break;
    case 0xd4c3b2a1: f->swapped = 1; f->nsec = 0; break;
    case 0xa1b23c4d: f->swapped = 0; f->nsec = 1; break;
    case 0x4d3cb2a1: f->swapped = 1; f->nsec = 1; break;
    default: return 0;
    }
    uint16_t ver[2];
    memcpy(ver, f->buf + 4, 4);
    if (f->swapped) {
        ver[0] = __builtin_bswap16(ver[0]);
        ver[1] = __builtin_bswap16(ver[1]);
    }
    uint32_t lt = get32(f, f->buf + 20) & 0x03FFFFFF; /* upper bits: FCS length */
    int dlt;
    switch (lt) {
    case CAPTURE_LINK_NULL:
    case CAPTURE_LINK_ETHERNET:
    case CAPTURE_LINK_LINUX_SLL:
    case CAPTURE_LINK_LINUX_SLL2:
    case CAPTURE_LINK_IPV4:
    case CAPTURE_LINK_IPV6: dlt = (int)lt; break;
    case CAPTURE_LINK_RAW: dlt = DLT_RAW; break; /* as pcap_datalink() says it */
    default: return 0;
    }
    if (ver[0] != 2 || ver[1] != 4)
        return 0;
    f->linktype = dlt;
    f->snaplen = get32(f, f->buf + 16);
    if (f->snaplen == 0 || f->snaplen > MAX_CAPLEN)
        f->snaplen = MAX_CAPLEN; /* libpcap's fix-up of a bogus snap length */
    f->pos = 24;
    return 1;
}

static int own_next(struct capture_file *f, struct capture_event *ev, struct err *e)
{
    if (fill(f, 16, e) != 0)
        return -1;
    size_t avail = f->len - f->pos;
    if (avail == 0)
        return 0;
    if (avail < 16)
        return err_set(e, ERR_PARSE, "record %llu: truncated dump file; tried to read 16 header bytes, only got %zu",
                       (unsigned long long)f->records + 1, avail);
    const uint8_t *h = f->buf + f->pos;
    uint32_t sec = get32(f, h), frac = get32(f, h + 4), caplen = get32(f, h + 8), len = get32(f, h + 12);
    if (caplen > MAX_CAPLEN)
        return err_set(e, ERR_PARSE, "record %llu: invalid packet capture length %u, bigger than maximum of %u",
                       (unsigned long long)f->records + 1, caplen, MAX_CAPLEN);
    if (fill(f, 16 + (size_t)caplen, e) != 0)
        return -1;
    avail = f->len - f->pos;
    if (avail < 16 + (size_t)caplen)
        return err_set(e, ERR_PARSE, "record %llu: truncated dump file; tried to read %u captured bytes, only got %zu",
                       (unsigned long long)f->records + 1, caplen, avail - 16);
    h = f->buf + f->pos;
    f->pos += 16 + (size_t)caplen;
    f->records++;
    uint32_t keep = caplen > f->snaplen ? f->snaplen : caplen; /* libpcap cuts it to the snap length */
    int64_t ts = (int64_t)sec * 1000000000 + (int64_t)frac * (f->nsec ? 1 : 1000);
    capture_decode(f->linktype, ts, h + 16, keep, len, ev);
    return 1;
}

struct capture_file *capture_file_open(const char *path, struct err *e)
{
    char ebuf[PCAP_ERRBUF_SIZE] = "";
    struct capture_file *f = calloc(1, sizeof *f);
    if (!f) {
        err_set(e, ERR_INTERNAL, "out of memory");
        return NULL;
    }
    f->fd = -1;
    int own = own_open(f, path, e);
    if (own != 0) {
        if (own < 0) {
            capture_file_free(f);
            return NULL;
        }
        return f;
    }
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
    free(f->buf);
    f->buf = NULL;
    f->swapped = f->nsec = 0;
    /* Our own FILE with a 1 MiB buffer: stdio's default (4 KiB) costs a read(2) per
     * few dozen packets.  libpcap takes the FILE over (pcap_close closes it). */
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        err_set(e, ERR_IO, "%s: %s", path, strerror(errno));
        free(f);
        return NULL;
    }
    f->iobuf = malloc(FILE_BUF);
    if (f->iobuf)
        setvbuf(fp, f->iobuf, _IOFBF, FILE_BUF);
    f->p = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_NANO, ebuf);
    if (!f->p) {
        err_set(e, ERR_IO, "%s: %s", path, ebuf);
        fclose(fp);
        free(f->iobuf);
        free(f);
        return NULL;
    }
    f->nsec = pcap_get_tstamp_precision(f->p) == PCAP_TSTAMP_PRECISION_NANO;
    f->linktype = pcap_datalink(f->p);
    return f;
}

void capture_file_free(struct capture_file *f)
{
    if (!f)
        return;
    if (f->p)
        pcap_close(f->p);
    if (f->fd >= 0)
        close(f->fd);
    free(f->buf);
    free(f->iobuf);
    free(f);
}

int capture_file_linktype(const struct capture_file *f)
{
    return f->linktype;
}

int capture_file_next(struct capture_file *f, struct capture_event *ev, struct err *e)
{
    if (!f->p)
        return own_next(f, ev, e);
    struct pcap_pkthdr *h;
    const u_char *data;
    int r = pcap_next_ex(f->p, &h, &data);
    if (r == PCAP_ERROR_BREAK)
        return 0;
    if (r != 1)
        return err_set(e, ERR_PARSE, "record %llu: %s", (unsigned long long)f->records + 1,
                       pcap_geterr(f->p));
    f->records++;
    /* pcapng timestamps are 64-bit counts of any resolution: libpcap can hand
     * back a tv_sec that no nanosecond clock can hold. */
    if (h->ts.tv_sec < 0 || (int64_t)h->ts.tv_sec > INT64_MAX / 1000000000 - 1)
        return err_set(e, ERR_PARSE, "record %llu: timestamp out of range (%lld s)",
                       (unsigned long long)f->records, (long long)h->ts.tv_sec);
    int64_t ts = (int64_t)h->ts.tv_sec * 1000000000 + (int64_t)h->ts.tv_usec * (f->nsec ? 1 : 1000);
    capture_decode(f->linktype, ts, data, h->caplen, h->len, ev);
    return 1;
}

struct capture_writer {
    pcap_t *dead;
    pcap_dumper_t *d;
    int nsec;
};

struct capture_writer *capture_writer_open(const char *path, int linktype, uint32_t snaplen,
                                           int nsec, struct err *e)
{
    struct capture_writer *w = calloc(1, sizeof *w);
    if (!w) {
        err_set(e, ERR_INTERNAL, "out of memory");
        return NULL;
    }
    /* libpcap's API takes DLT_ values; LINKTYPE_RAW (101) is DLT_RAW there. */
    int dlt = linktype == CAPTURE_LINK_RAW ? DLT_RAW : linktype;
    w->nsec = nsec;
    w->dead = pcap_open_dead_with_tstamp_precision(
        dlt, snaplen ? (int)snaplen : (int)CAPTURE_MAX_CAPLEN,
        nsec ? PCAP_TSTAMP_PRECISION_NANO : PCAP_TSTAMP_PRECISION_MICRO);
    if (!w->dead) {
        err_set(e, ERR_INTERNAL, "pcap_open_dead failed");
        free(w);
        return NULL;
    }
    w->d = pcap_dump_open(w->dead, path);
    if (!w->d) {
        err_set(e, ERR_IO, "%s: %s", path, pcap_geterr(w->dead));
        pcap_close(w->dead);
        free(w);
        return NULL;
    }
    return w;
}

int capture_writer_write(struct capture_writer *w, const struct capture_record *rec, struct err *e)
{
    struct pcap_pkthdr h;
    memset(&h, 0, sizeof h);
    h.ts.tv_sec = (time_t)(rec->ts_ns / 1000000000);
    long frac = (long)(rec->ts_ns % 1000000000);
    h.ts.tv_usec = w->nsec ? frac : frac / 1000;
    h.caplen = rec->cap_len;
    h.len = rec->wire_len;
    pcap_dump((u_char *)w->d, &h, rec->data);
    if (ferror(pcap_dump_file(w->d)))
        return err_set(e, ERR_IO, "writing pcap failed");
    return 0;
}

int capture_writer_flush(struct capture_writer *w, struct err *e)
{
    if (pcap_dump_flush(w->d) != 0)
        return err_set(e, ERR_IO, "flushing pcap failed");
    return 0;
}

void capture_writer_free(struct capture_writer *w)
{
    if (!w)
        return;
    pcap_dump_close(w->d);
    pcap_close(w->dead);
    free(w);
}
