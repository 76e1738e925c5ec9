/* IKE daemon log lines as timestamped events.
 *
 * Reads strongSwan charon logs as written by its filelog (with or without a
 * `time_format` of "%b %e %T"), by syslog ("Dec  5 09:29:05 host charon[42]:
 * ..."), or by journald (`journalctl -o short-iso`: "2026-12-05T09:29:05+0000
 * host charon-systemd[42]: ..."), and Libreswan pluto lines in the same
 * wrappers.  Only lines that matter to the diagnosis become events; the
 * others are counted. */
#ifndef TS_DAEMONLOG_H
#define TS_DAEMONLOG_H

#include "probes/fact.h"

enum log_kind {
    LOG_NAT_LOCAL,          /* "local host is behind NAT, sending keep alives" */
    LOG_NAT_REMOTE,         /* "remote host is behind NAT" */
    LOG_KEEPALIVE,          /* "sending keep alive to ..." */
    LOG_DPD,                /* liveness check: empty INFORMATIONAL, "sending DPD request", R_U_THERE */
    LOG_TS_UNACCEPTABLE,
    LOG_NO_PROPOSAL,        /* NO_PROPOSAL_CHOSEN */
    LOG_AUTH_FAILED,
    LOG_RETRANSMIT,         /* n = retransmit number, msgid = message ID */
    LOG_GIVE_UP,            /* "giving up after N retransmits" (n = N) */
    LOG_IKE_ESTABLISHED,
    LOG_CHILD_ESTABLISHED,
    LOG_REKEY,              /* rekey started or done */
    LOG_DELETE,             /* closing/deleting an SA, DELETE sent or received */
    LOG_KIND_COUNT,
};

struct log_event {
    char time[32];               /* as printed ("Dec  5 09:29:05", "2026-12-05T09:29:05+0000"), "" when none */
    struct opt_u64 tod;          /* seconds since midnight, from `time` */
    enum log_kind kind;
    char daemon[16];             /* "charon", "charon-systemd", "pluto", "" (filelog) */
    char conn[FACT_NAME_MAX];    /* IKE_SA name ("site"), Libreswan connection name */
    struct opt_u64 ike_id;       /* <site|1> -> 1, Libreswan #N */
    struct opt_u64 n, msgid;
    char msg[FACT_TEXT_MAX];     /* the message (cut to fit) */
};

struct log_fact {
    size_t n;
    struct log_event *ev;
    size_t lines;                /* log lines read */
    size_t other;                /* lines that were no event */
    size_t count[LOG_KIND_COUNT];
};

/* 0 on success (no events is fine: "-- No entries --" or a quiet log);
 * ERR_UNSUPPORTED when no line looks like a daemon log line. */
int daemonlog_parse(const char *text, size_t len, struct log_fact *out, struct err *e);
void log_fact_free(struct log_fact *f);
const char *log_kind_name(enum log_kind k);

#endif
