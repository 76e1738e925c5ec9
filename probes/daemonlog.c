#include "probes/daemonlog.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "probes/textscan.h"

#define LOG_EVENTS_MAX 100000

void log_fact_free(struct log_fact *f)
{
    if (!f)
        return;
    free(f->ev);
    memset(f, 0, sizeof *f);
}

const char *log_kind_name(enum log_kind k)
{
    static const char *names[LOG_KIND_COUNT] = {
        "nat-local", "nat-remote", "keepalive", "dpd", "ts-unacceptable", "no-proposal",
        "auth-failed", "retransmit", "give-up", "ike-established", "child-established",
        "rekey", "delete",
    };
    return k < LOG_KIND_COUNT ? names[k] : "unknown";
}

static bool digits(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)p[i]))
            return false;
    return true;
}

/* "HH:MM:SS" at p -> seconds of day */
static int hms(const char *p, struct opt_u64 *o)
{
    if (!digits(p, 2) || p[2] != ':' || !digits(p + 3, 2) || p[5] != ':' || !digits(p + 6, 2))
        return -1;
    unsigned h = (unsigned)((p[0] - '0') * 10 + (p[1] - '0'));
    unsigned m = (unsigned)((p[3] - '0') * 10 + (p[4] - '0'));
    unsigned s = (unsigned)((p[6] - '0') * 10 + (p[7] - '0'));
    if (h > 23 || m > 59 || s > 60)
        return -1;
    *o = OPT_U64(h * 3600 + m * 60 + s);
    return 0;
}

/* Strips a timestamp at the start of *s: "Dec  5 09:29:05 " (15 chars) or
 * "2026-12-05T09:29:05+0000 " / "...+00:00 " / "...Z ", or pluto's own log
 * file (logfile=, logtime=yes): "Dec  5 15:58:14.912814: " (then the daemon
 * is pluto: no wrapper follows). */
static void strip_time(struct span *s, struct log_event *ev)
{
    static const char *mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    if (s->len >= 16 && s->p[3] == ' ') {
        for (size_t i = 0; i < 12; i++) {
            if (memcmp(s->p, mon[i], 3) != 0 || !(s->p[4] == ' ' || isdigit((unsigned char)s->p[4])) ||
                !isdigit((unsigned char)s->p[5]) || hms(s->p + 7, &ev->tod) != 0)
                continue;
            if (s->p[15] == ' ') {
                fact_copy(ev->time, sizeof ev->time, s->p, 15);
                s->p += 16;
                s->len -= 16;
                return;
            }
            size_t k = 16;  /* pluto: fraction of a second, ": " */
            while (k < s->len && k < 26 && isdigit((unsigned char)s->p[k]))
                k++;
            if (s->p[15] == '.' && k > 16 && k + 1 < s->len && s->p[k] == ':' && s->p[k + 1] == ' ') {
                fact_copy(ev->time, sizeof ev->time, s->p, k);
                fact_copy(ev->daemon, sizeof ev->daemon, "pluto", 5);
                s->p += k + 2;
                s->len -= k + 2;
                return;
            }
            ev->tod = OPT_UNKNOWN;
            return;
        }
    }
    if (s->len >= 20 && digits(s->p, 4) && s->p[4] == '-' && s->p[7] == '-' && s->p[10] == 'T' &&
        hms(s->p + 11, &ev->tod) == 0) {
        const char *sp = memchr(s->p, ' ', s->len);
        if (sp && (size_t)(sp - s->p) < sizeof ev->time) {
            fact_copy(ev->time, sizeof ev->time, s->p, (size_t)(sp - s->p));
            s->len -= (size_t)(sp - s->p) + 1;
            s->p = sp + 1;
            return;
        }
    }
}

/* After a timestamp, a syslog/journal wrapper "host daemon[pid]: " */
static void strip_wrapper(struct span *s, struct log_event *ev)
{
    struct span r = *s, host, tag;
    if (!span_word(&r, &host))
        return;
    if (host.len > 1 && host.p[host.len - 1] == ':') {
        tag = host;  /* no host name: "charon[2428]: ..." */
    } else if (!span_word(&r, &tag) || tag.len < 2 || tag.p[tag.len - 1] != ':') {
        return;
    }
    const char *br = memchr(tag.p, '[', tag.len);
    size_t nl = br ? (size_t)(br - tag.p) : tag.len - 1;
    struct span name = {tag.p, nl};
    if (!span_starts(name, "charon") && !span_eq(name, "pluto") && !span_eq(name, "ipsec") &&
        !span_eq(name, "strongswan") && !span_eq(name, "libreswan"))
        return;
    fact_copy(ev->daemon, sizeof ev->daemon, name.p, name.len);
    while (r.len && r.p[0] == ' ') {
        r.p++;
        r.len--;
    }
    *s = r;
}

/* "09[IKE] " */
static bool strip_thread(struct span *s)
{
    size_t i = 0;
    while (i < s->len && i < 3 && isdigit((unsigned char)s->p[i]))
        i++;
    if (i == 0 || i + 5 > s->len || s->p[i] != '[')
        return false;
    const char *close = memchr(s->p + i, ']', s->len - i);
    if (!close || close - s->p > 10)
        return false;
    size_t adv = (size_t)(close - s->p) + 1;
    if (adv < s->len && s->p[adv] == ' ')
        adv++;
    s->p += adv;
    s->len -= adv;
    return true;
}

/* "<site|1> " */
static void strip_ike(struct span *s, struct log_event *ev)
{
    if (!s->len || s->p[0] != '<')
        return;
    const char *close = memchr(s->p, '>', s->len);
    if (!close)
        return;
    struct span in = {s->p + 1, (size_t)(close - s->p - 1)};
    const char *bar = memchr(in.p, '|', in.len);
    if (bar) {
        fact_copy(ev->conn, sizeof ev->conn, in.p, (size_t)(bar - in.p));
        span_u64((struct span){bar + 1, (size_t)(in.p + in.len - bar - 1)}, &ev->ike_id);
    }
    size_t adv = (size_t)(close - s->p) + 1;
    if (adv < s->len && s->p[adv] == ' ')
        adv++;
    s->p += adv;
    s->len -= adv;
}

/* Libreswan: "\"westnet-eastnet\" #1: message" */
static void strip_pluto_conn(struct span *s, struct log_event *ev)
{
    if (!s->len || s->p[0] != '"')
        return;
    const char *q = memchr(s->p + 1, '"', s->len - 1);
    if (!q)
        return;
    fact_copy(ev->conn, sizeof ev->conn, s->p + 1, (size_t)(q - s->p - 1));
    struct span r = {q + 1, (size_t)(s->p + s->len - q - 1)};
    const char *colon = span_find(r, ": ");
    if (colon) {
        const char *hash = memchr(r.p, '#', (size_t)(colon - r.p));
        if (hash) {
            struct span id = {hash + 1, 0};
            while (id.p + id.len < colon && isdigit((unsigned char)id.p[id.len]))
                id.len++;
            span_u64(id, &ev->ike_id);
        }
        r.len -= (size_t)(colon + 2 - r.p);
        r.p = colon + 2;
    }
    *s = r;
}

static bool classify(struct span m, struct log_event *ev)
{
    if (span_find(m, "local host is behind NAT") || span_find(m, "i am NATed")) {
        ev->kind = LOG_NAT_LOCAL;
    } else if (span_find(m, "remote host is behind NAT") || span_find(m, "peer is NATed")) {
        ev->kind = LOG_NAT_REMOTE;
    } else if (span_find(m, "sending keep alive") || span_find(m, "sending NAT-T Keep-Alive")) {
        ev->kind = LOG_KEEPALIVE;
    } else if (span_find(m, "TS_UNACCEPTABLE") ||
               (span_starts(m, "traffic selectors ") && span_find(m, " unacceptable")) ||
               span_find(m, "connection found with compatible Traffic Selectors")) {
        /* pluto's responder: "No IKEv2 connection found with compatible Traffic Selectors" */
        ev->kind = LOG_TS_UNACCEPTABLE;
    } else if (span_find(m, "NO_PROPOSAL_CHOSEN") || span_find(m, "no acceptable proposal") ||
               span_find(m, "no matching proposal")) {
        ev->kind = LOG_NO_PROPOSAL;
    } else if (span_find(m, "AUTHENTICATION_FAILED") ||
               (span_find(m, "authentication of") && span_find(m, "failed"))) {
        ev->kind = LOG_AUTH_FAILED;
    } else if (span_starts(m, "retransmit ") && span_find(m, " of request with message ID ")) {
        ev->kind = LOG_RETRANSMIT;
        span_u64_after(m, "retransmit ", &ev->n);
        span_u64_after(m, "message ID ", &ev->msgid);
    } else if (span_find(m, "giving up after ")) {
        ev->kind = LOG_GIVE_UP;
        span_u64_after(m, "giving up after ", &ev->n);
    } else if (span_find(m, " timeout exceeded after ") && span_find(m, " retransmits")) {
        /* pluto: "STATE_V2_PARENT_I1: 10 second timeout exceeded after 5 retransmits." */
        ev->kind = LOG_GIVE_UP;
        span_u64_after(m, " timeout exceeded after ", &ev->n);
    } else if ((span_find(m, "retransmission") && !span_find(m, "exhausted retransmission")) ||
               span_find(m, "retransmitting")) {
        /* pluto: "STATE_V2_PARENT_I2: retransmission; will wait 0.5 seconds for response";
         * "discarding duplicate packet -- exhausted retransmission" sends nothing */
        ev->kind = LOG_RETRANSMIT;
    } else if (span_starts(m, "IKE_SA ") && span_find(m, " established between ")) {
        ev->kind = LOG_IKE_ESTABLISHED;
    } else if (span_find(m, "CHILD_SA ") && span_find(m, " established with SPIs ")) {
        ev->kind = LOG_CHILD_ESTABLISHED;
    } else if (span_find(m, "established IKE SA") || span_find(m, "established Child SA") ||
               span_find(m, "IPsec SA established") || span_starts(m, "IKE SA established")) {
        /* pluto: "initiator established IKE SA; ...", "responder established Child SA using #6;
         * ... {ESPinUDP/ESN=>0x... DPD=active}", IKEv1 "IKE SA established {auth=...}" and
         * "IPsec SA established tunnel mode {...}": before DPD, which their "DPD=" names */
        ev->kind = span_find(m, "IPsec SA") || span_find(m, "Child SA") ? LOG_CHILD_ESTABLISHED
                                                                         : LOG_IKE_ESTABLISHED;
    } else if ((span_find(m, "DPD") && !span_find(m, "DPD=")) || span_find(m, "R_U_THERE") ||
               span_find(m, "liveness") ||
               ((span_find(m, "INFORMATIONAL request") || span_find(m, "INFORMATIONAL response")) &&
                span_find(m, " [ ]"))) {
        ev->kind = LOG_DPD;
    } else if (span_find(m, "rekeyed") || span_find(m, "REKEY_SA") ||
               (span_find(m, "rekeying") && !span_find(m, "scheduling"))) {
        ev->kind = LOG_REKEY;
    } else if (span_starts(m, "closing CHILD_SA") || span_starts(m, "deleting IKE_SA") ||
               span_starts(m, "received DELETE") || span_starts(m, "sending DELETE") ||
               span_find(m, "deleting state") || span_find(m, "deleting connection")) {
        ev->kind = LOG_DELETE;
    } else {
        return false;
    }
    fact_copy(ev->msg, sizeof ev->msg, m.p, m.len);
    return true;
}

int daemonlog_parse(const char *text, size_t len, struct log_fact *out, struct err *e)
{
    memset(out, 0, sizeof *out);
    struct span all = {text, len}, line;
    size_t looked = 0;
    size_t cap = 0;
    while (span_line(&all, &line)) {
        span_trim(&line);
        if (line.len == 0)
            continue;
        if (span_starts(line, "-- ")) {  /* journalctl "-- No entries --", "-- Boot ..." */
            looked++;
            continue;
        }
        out->lines++;
        struct log_event ev = {0};
        struct span m = line;
        strip_time(&m, &ev);
        if (ev.time[0] && !ev.daemon[0])
            strip_wrapper(&m, &ev);
        bool thread = strip_thread(&m);
        bool recognised = thread || ev.daemon[0];
        if (!recognised) {
            out->other++;
            continue;
        }
        looked++;
        strip_ike(&m, &ev);
        if (!strcmp(ev.daemon, "pluto"))
            strip_pluto_conn(&m, &ev);
        if (!classify(m, &ev)) {
            out->other++;
            continue;
        }
        if (out->n >= LOG_EVENTS_MAX) {
            out->other++;
            continue;
        }
        if (out->n == cap) {
            size_t nc = cap ? cap * 2 : 32;
            struct log_event *p = realloc(out->ev, nc * sizeof *p);
            if (!p) {
                log_fact_free(out);
                return err_set(e, ERR_INTERNAL, "out of memory");
            }
            out->ev = p;
            cap = nc;
        }
        out->ev[out->n++] = ev;
        out->count[ev.kind]++;
    }
    if (out->lines > 0 && looked == 0) {
        log_fact_free(out);
        return err_set(e, ERR_UNSUPPORTED, "daemon log: no line looks like a charon/pluto log line");
    }
    return 0;
}
