#include "probes/ping.h"

#include <string.h>

#include "probes/textscan.h"

/* "1.239" -> 1239 (microseconds from milliseconds with up to 3 decimals) */
static int ms_to_us(struct span s, struct opt_u64 *o)
{
    const char *dot = memchr(s.p, '.', s.len);
    struct span ip = {s.p, dot ? (size_t)(dot - s.p) : s.len};
    struct opt_u64 whole = {0};
    if (span_u64(ip, &whole) != 0 || whole.v > UINT64_MAX / 1000000)
        return -1;
    uint64_t frac = 0;
    size_t nd = 0;
    if (dot) {
        for (const char *c = dot + 1; c < s.p + s.len; c++) {
            if (*c < '0' || *c > '9')
                return -1;
            if (nd < 3) {
                frac = frac * 10 + (uint64_t)(*c - '0');
                nd++;
            }
        }
        if (dot + 1 == s.p + s.len)
            return -1;
    }
    while (nd < 3) {
        frac *= 10;
        nd++;
    }
    *o = OPT_U64(whole.v * 1000 + frac);
    return 0;
}

static int summary(struct ping_fact *f, struct span line)
{
    struct span part;
    while (span_split(&line, ", ", &part)) {
        struct span p = part, n, w;
        span_word(&p, &n);
        span_word(&p, &w);
        if (span_eq(w, "packets") && span_find(part, "transmitted")) {
            if (span_u64(n, &f->transmitted))
                return -1;
        } else if (span_eq(w, "received")) {
            if (span_u64(n, &f->received))
                return -1;
        } else if (span_eq(w, "errors") && n.len > 1 && n.p[0] == '+') {
            if (span_u64((struct span){n.p + 1, n.len - 1}, &f->errors))
                return -1;
        } else if (span_eq(w, "duplicates") && n.len > 1 && n.p[0] == '+') {
            if (span_u64((struct span){n.p + 1, n.len - 1}, &f->duplicates))
                return -1;
        }
    }
    return f->transmitted.known && f->received.known ? 0 : -1;
}

static int parse(const char *text, size_t len, struct ping_fact *out, struct err *e);

int ping_parse(const char *text, size_t len, struct ping_fact *out, struct err *e)
{
    int r = parse(text, len, out, e);
    if (r != 0)
        memset(out, 0, sizeof *out); /* on error, no half-read counts */
    return r;
}

static int parse(const char *text, size_t len, struct ping_fact *out, struct err *e)
{
    memset(out, 0, sizeof *out);
    struct span all = {text, len}, line;
    size_t lineno = 0;
    bool head = false, stats = false;
    while (span_line(&all, &line)) {
        lineno++;
        span_trim(&line);
        if (line.len == 0)
            continue;
        if (span_starts(line, "PING ")) {
            struct span r = {line.p + 5, line.len - 5}, w;
            span_word(&r, &w);
            span_copy(w, out->dst, sizeof out->dst);
            const char *from = span_find(line, ") from ");
            if (from) {
                struct span fr = {from + 7, (size_t)(line.p + line.len - from - 7)};
                span_word(&fr, &w);
                span_copy(w, out->from, sizeof out->from);
            }
            const char *bytes = span_find(line, " bytes of data");
            if (bytes) {
                const char *s = bytes;
                while (s > line.p && s[-1] != ' ')
                    s--;
                struct span sz = {s, (size_t)(bytes - s)};
                const char *par = memchr(sz.p, '(', sz.len);
                if (par && par + 1 < sz.p + sz.len) {
                    span_u64((struct span){sz.p, (size_t)(par - sz.p)}, &out->payload);
                    struct span pk = {par + 1, (size_t)(sz.p + sz.len - par - 2)};
                    span_u64(pk, &out->packet);
                } else {
                    span_u64(sz, &out->payload);
                }
            }
            head = true;
        } else if (span_starts(line, "ping: local error: ")) {
            if (span_u64_after(line, "mtu=", &out->local_error_mtu) != 0)
                fact_copy(out->error, sizeof out->error, line.p + 6, line.len - 6);
        } else if (span_starts(line, "ping: ")) {
            fact_copy(out->error, sizeof out->error, line.p + 6, line.len - 6);
        } else if (span_starts(line, "From ")) {
            if (span_find(line, "Frag needed")) {
                struct span r = {line.p + 5, line.len - 5}, w;
                span_word(&r, &w);
                span_copy(w, out->frag_needed_from, sizeof out->frag_needed_from);
                if (span_u64_after(line, "(mtu = ", &out->frag_needed_mtu) != 0)
                    return err_set(e, ERR_PARSE, "ping: line %zu: Frag needed without mtu",
                                   lineno);
            }
            /* other ICMP errors (unreachable, TTL exceeded) count as errors in the summary */
        } else if (span_find(line, " bytes from ") && span_find(line, "icmp_seq=")) {
            out->replies++;
        } else if (span_starts(line, "--- ") && span_find(line, " ping statistics ---")) {
            ;
        } else if (span_find(line, " packets transmitted, ")) {
            if (summary(out, line) != 0) {
                memset(out, 0, sizeof *out);
                return err_set(e, ERR_PARSE, "ping: bad statistics line: %.*s", SPAN_FMT(line));
            }
            stats = true;
        } else if (span_starts(line, "rtt ") || span_starts(line, "round-trip ")) {
            const char *eq = span_find(line, " = ");
            if (!eq) {
                memset(out, 0, sizeof *out);
                return err_set(e, ERR_PARSE, "ping: bad rtt line");
            }
            struct span r = {eq + 3, (size_t)(line.p + line.len - eq - 3)}, v;
            span_word(&r, &v);
            struct span part;
            struct opt_u64 *dst[] = {&out->rtt_min_us, &out->rtt_avg_us, &out->rtt_max_us,
                                     &out->rtt_mdev_us};
            size_t i = 0;
            while (i < 4 && span_split(&v, "/", &part))
                if (ms_to_us(part, dst[i++]) != 0) {
                    memset(out, 0, sizeof *out);
                    return err_set(e, ERR_PARSE, "ping: bad rtt value");
                }
            if (i != 4) {
                memset(out, 0, sizeof *out);
                return err_set(e, ERR_PARSE, "ping: rtt needs min/avg/max/mdev");
            }
        } else if (!head) {
            memset(out, 0, sizeof *out);
            return err_set(e, ERR_UNSUPPORTED, "ping: not ping output: %.*s", SPAN_FMT(line));
        }
        /* anything else after the head (warnings) is left alone */
    }
    if (!head && out->error[0])
        return 0; /* could not even start: the error is the fact */
    if (!head) {
        memset(out, 0, sizeof *out);
        return err_set(e, ERR_TRUNCATED, "ping: empty output");
    }
    if (!stats) {
        memset(out, 0, sizeof *out);
        return err_set(e, ERR_TRUNCATED, "ping: no statistics (interrupted?)");
    }
    return 0;
}
