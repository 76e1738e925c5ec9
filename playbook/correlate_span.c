/* Capture spans given on a command line (`tunnelscope correlate --span-a
 * START,END`): ISO-8601 times or epoch seconds, parsed strictly (a garbled or
 * out-of-range time is an error, never a guess). */
#include "playbook/correlate.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define NS 1000000000ll
/* Times are int64 ns since the epoch: they end in 2262-04-11 (INT64_MAX ns). */
#define MAX_EPOCH 9223372036ll

/* n decimal digits at *p, advancing it; -1 when fewer are there. */
static long digits(const char **p, int n)
{
    long v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    *p += n;
    return v;
}

/* ".123" after the seconds: up to 9 digits, in ns.  0 / -1. */
static int fraction(const char **p, int64_t *ns)
{
    *ns = 0;
    if (**p != '.' && **p != ',')
        return 0;
    (*p)++;
    int n = 0;
    int64_t scale = NS;
    while (**p >= '0' && **p <= '9') {
        if (++n > 9)
            return -1;
        scale /= 10;
        *ns += (**p - '0') * scale;
        (*p)++;
    }
    return n ? 0 : -1;
}

static int leap(long y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int iso_parse(const char *s, int64_t *out)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const char *p = s;
    long y = digits(&p, 4);
    if (y < 1970 || *p++ != '-')
        return -1;
    long mo = digits(&p, 2);
    if (mo < 1 || mo > 12 || *p++ != '-')
        return -1;
    long d = digits(&p, 2);
    if (d < 1 || d > mdays[mo - 1] + (mo == 2 && leap(y)))
        return -1;
    if (*p != 'T' && *p != 't' && *p != ' ')
        return -1;
    p++;
    long h = digits(&p, 2);
    if (h < 0 || h > 23 || *p++ != ':')
        return -1;
    long mi = digits(&p, 2);
    if (mi < 0 || mi > 59)
        return -1;
    long sec = 0;
    if (*p == ':') {
        p++;
        sec = digits(&p, 2);
        if (sec < 0 || sec > 59)
            return -1;
    }
    int64_t frac;
    if (fraction(&p, &frac))
        return -1;
    long zone = 0; /* seconds east of UTC */
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p++ == '-' ? -1 : 1;
        long zh = digits(&p, 2);
        if (zh < 0 || zh > 23)
            return -1;
        if (*p == ':')
            p++;
        long zm = digits(&p, 2);
        if (zm < 0 || zm > 59)
            return -1;
        zone = sign * (zh * 3600 + zm * 60);
    }
    if (*p)
        return -1;
    struct tm tm = {0};
    tm.tm_year = (int)(y - 1900);
    tm.tm_mon = (int)(mo - 1);
    tm.tm_mday = (int)d;
    tm.tm_hour = (int)h;
    tm.tm_min = (int)mi;
    tm.tm_sec = (int)sec;
    int64_t t = (int64_t)timegm(&tm) - zone;
    if (t <= 0 || t >= MAX_EPOCH)
        return -1;
    *out = t * NS + frac;
    return 0;
}

static int epoch_parse(const char *s, int64_t *out)
{
    const char *p = s;
    int64_t v = 0;
    int n = 0;
    while (*p >= '0' && *p <= '9') {
        v = v * 10 + (*p++ - '0');
        if (++n > 12 || v >= MAX_EPOCH)
            return -1;
    }
    int64_t frac;
    if (!n || fraction(&p, &frac) || *p || (v == 0 && frac == 0))
        return -1;
    *out = v * NS + frac;
    return 0;
}

int correlate_time_parse(const char *s, int64_t *ns, struct err *e)
{
    if (!s || !*s)
        return err_set(e, ERR_PARSE, "empty time");
    /* ISO-8601 has a '-' after the year; epoch seconds never do */
    int iso = strlen(s) > 4 && s[4] == '-';
    if ((iso ? iso_parse(s, ns) : epoch_parse(s, ns)) != 0)
        return err_set(e, ERR_PARSE,
                       "'%.64s' is not a time (ISO-8601 such as 2026-12-05T09:14:02.5Z, or "
                       "epoch seconds such as 1796462042.5; years 1970..2262)",
                       s);
    return 0;
}

int correlate_span_parse(const char *s, struct correlate_span *out, struct err *e)
{
    const char *comma = s ? strchr(s, ',') : NULL;
    if (!comma || strchr(comma + 1, ','))
        return err_set(e, ERR_PARSE, "a span is START,END (two times separated by one comma)");
    char a[64];
    size_t n = (size_t)(comma - s);
    if (n >= sizeof a)
        return err_set(e, ERR_PARSE, "span start too long");
    memcpy(a, s, n);
    a[n] = '\0';
    struct correlate_span sp;
    if (correlate_time_parse(a, &sp.start_ns, e) != 0 ||
        correlate_time_parse(comma + 1, &sp.end_ns, e) != 0)
        return -1;
    if (sp.end_ns <= sp.start_ns)
        return err_set(e, ERR_PARSE, "the span's end must come after its start");
    *out = sp;
    return 0;
}

static int64_t seconds_ns(double s)
{
    if (!(s > 0) || s >= (double)MAX_EPOCH)
        return 0;
    return (int64_t)llround(s * 1e9);
}

struct correlate_span correlate_span_of_seconds(double start_s, double end_s)
{
    struct correlate_span sp = {seconds_ns(start_s), seconds_ns(end_s)};
    if (!sp.start_ns || sp.end_ns < sp.start_ns)
        sp.end_ns = 0; /* no start, or an end before it: the end is not known */
    return sp;
}
