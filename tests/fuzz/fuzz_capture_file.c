/* Fuzz target: pcap/pcapng files read by capture_file (our own record loop for
 * pcap 2.4 files, libpcap for the rest).  The input is written to a private
 * temporary file and read to its end.  Invariants: no crash, no leak, an event
 * never claims more than a record can hold, the records read are no more than
 * the file could contain. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "probes/capture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[] = "/tmp/fuzz_capture_file.XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return 0;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        unlink(path);
        return 0;
    }
    close(fd);
    struct err e = {0};
    struct capture_file *f = capture_file_open(path, &e);
    size_t n = 0;
    if (f) {
        struct capture_event ev;
        int r;
        while ((r = capture_file_next(f, &ev, &e)) == 1) {
            if (ev.cap_len > CAPTURE_MAX_CAPLEN || ev.kind > CAPTURE_UNSUPPORTED)
                abort();
            if (++n > size / 16 + 1)
                abort();
        }
        if (r != 0 && !e.msg[0])
            abort();
        capture_file_free(f);
    } else if (!e.msg[0]) {
        abort();
    }
    unlink(path);
    return 0;
}
