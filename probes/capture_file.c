/* pcap/pcapng files through libpcap: reading (offline decoding with the same
 * capture_decode() as the stream) and writing records as they arrive. */
#include "probes/capture.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FILE_BUF (1u << 20)

struct capture_file {
    pcap_t *p;
    char *iobuf;
    int linktype;
    int nsec;
    uint64_t records;
};

struct capture_file *capture_file_open(const char *path, struct err *e)
{
    char ebuf[PCAP_ERRBUF_SIZE] = "";
    struct capture_file *f = calloc(1, sizeof *f);
    if (!f) {
        err_set(e, ERR_INTERNAL, "out of memory");
        return NULL;
    }
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
    pcap_close(f->p);
    free(f->iobuf);
    free(f);
}

int capture_file_linktype(const struct capture_file *f)
{
    return f->linktype;
}

int capture_file_next(struct capture_file *f, struct capture_event *ev, struct err *e)
{
    struct pcap_pkthdr *h;
    const u_char *data;
    int r = pcap_next_ex(f->p, &h, &data);
    if (r == PCAP_ERROR_BREAK)
        return 0;
    if (r != 1)
        return err_set(e, ERR_PARSE, "record %llu: %s", (unsigned long long)f->records + 1,
                       pcap_geterr(f->p));
    f->records++;
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
