/* Fuzz target: the key-material redactor and the terminal sanitizer both take
 * raw remote output. Invariant: after redaction, a second scan finds no xfrm key. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "probes/redact.h"
#include "tui/safe_text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *secrets[] = {"s3cret", NULL};
    struct buf out = BUF_INIT;
    if (redact_text((const char *)data, size, secrets, &out) >= 0 && out.data) {
        if (strstr(out.data, "s3cret"))
            abort();
    }
    buf_free(&out);
    struct buf t = BUF_INIT;
    if (safe_text((const char *)data, size, 1, &t) == 0) {
        for (size_t i = 0; i < t.len; i++)
            if (t.data[i] == 0x1b || (t.data[i] > 0 && t.data[i] < 0x20 && t.data[i] != '\n'))
                abort();
    }
    buf_free(&t);
    return 0;
}
