/* Probe runner: the command of every per-peer fact, and the collection of
 * all facts of one peer through remote/.
 *
 * Each probe is a command spec (exact shell text, sudo or not, time limit)
 * plus one of the pure parsers of probes/.  probe_collect() starts all of
 * them at once on one peer, keeps every raw output (after redact_text()) with
 * its command line, start/end time and exit status, and parses it into the
 * peer's facts.  A probe that could not give its fact says why (tool missing,
 * sudo refused, time limit, parse error): the playbook turns that into a
 * finding, it never passes silently. */
#ifndef TS_PROBE_H
#define TS_PROBE_H

#include <time.h>

#include "probes/daemonlog.h"
#include "probes/firewall.h"
#include "probes/ipsec_sa.h"
#include "probes/libreswan.h"
#include "probes/netstate.h"
#include "probes/ping.h"
#include "probes/xfrm.h"
#include "remote/peer.h"

enum probe_id {
    PROBE_SWANCTL_SAS,      /* swanctl --list-sas --raw */
    PROBE_SWANCTL_CONNS,    /* swanctl --list-conns --raw */
    PROBE_XFRM_STATE,       /* ip -s xfrm state list nokeys */
    PROBE_XFRM_POLICY,      /* ip xfrm policy */
    PROBE_XFRM_STAT,        /* cat /proc/net/xfrm_stat */
    PROBE_SS_UDP,           /* ss -ulnp */
    PROBE_NFT,              /* nft list ruleset */
    PROBE_IPTABLES,         /* iptables-save */
    PROBE_CT_TIMEOUTS,      /* sysctl net.netfilter.nf_conntrack_udp_timeout{,_stream} */
    PROBE_CONNTRACK,        /* conntrack -L -p udp */
    PROBE_LINKS,            /* ip -o link */
    PROBE_LOG,              /* journalctl (charon/pluto) or the configured log file */
    PROBE_ROUTE,            /* ip route get REMOTE from LOCAL (needs both addresses) */
    PROBE_LSW_STATUS,       /* ipsec whack --status (Libreswan; exit 127 where `ipsec` is not Libreswan's) */
    PROBE_LSW_TRAFFIC,      /* ipsec whack --trafficstatus (Libreswan) */
    PROBE_COUNT,
};

enum probe_status {
    PROBE_NOT_RUN = 0,      /* not asked (e.g. no addresses for the route probe) */
    PROBE_OK,               /* ran and parsed */
    PROBE_TOOL_MISSING,     /* exit 127 / "command not found" / no such file */
    PROBE_SUDO_REFUSED,
    PROBE_TIMED_OUT,
    PROBE_FAILED,           /* ran, non-zero exit with no usable output */
    PROBE_PARSE_ERROR,      /* output not understood (err says why) */
    PROBE_UNREACHABLE,      /* the peer could not be reached / dropped */
    PROBE_OTHER_DAEMON,     /* the other IKE daemon's probe on a peer that runs one
                             * (swanctl on a Libreswan peer, whack on a strongSwan
                             * one): nothing missing, err says which daemon runs */
};

/* Output kept per probe command (stdout, and stderr apart).  An output past it
 * is not parsed: the probe's status is PROBE_PARSE_ERROR with ERR_TRUNCATED
 * ("more than 8 MiB of output"), never a fact counted from a cut listing. */
#define PROBE_OUTPUT_MAX (8u << 20)

struct probe_spec {
    enum probe_id id;
    const char *name;       /* "swanctl-list-sas" (also the evidence file name) */
    const char *command;    /* shell text; NULL for probes built from options */
    int sudo;
    unsigned time_limit_s;
};

/* The table, indexed by enum probe_id. */
const struct probe_spec *probe_spec_get(enum probe_id id);
const char *probe_status_name(enum probe_status s);

/* One command's evidence, as kept for the bundle (redacted). */
struct probe_raw {
    char name[32];
    char *line;                  /* exact line sent to the peer (with sudo/timeout) */
    int sudo;
    struct timespec started, ended;   /* CLOCK_REALTIME */
    int exit_status;             /* -1 when none */
    char exit_signal[16];
    int timed_out;
    char *out;                   /* stdout after redaction (NUL-terminated) */
    char *err_out;               /* stderr after redaction */
    int redactions;              /* replacements redact_text() made */
    enum probe_status status;
    struct err err;              /* why, when status is not OK */
};

enum daemon_kind {
    DAEMON_UNKNOWN = 0,
    DAEMON_STRONGSWAN,           /* swanctl answered (taken first when both answer) */
    DAEMON_LIBRESWAN,            /* `ipsec whack --status` answered (pluto running) */
    DAEMON_NONE,                 /* neither: tools missing or their daemon not running */
};
const char *daemon_kind_name(enum daemon_kind d);  /* "unknown", "strongswan", "libreswan", "none" */

/* Where the kernel XFRM fact (states and policies) came from. */
enum xfrm_source {
    XFRM_SOURCE_NONE = 0,        /* neither source gave it */
    XFRM_SOURCE_TEXT,            /* `ip -s xfrm state list nokeys` / `ip xfrm policy` */
    XFRM_SOURCE_NETLINK,         /* XFRM_MSG_GETSA / GETPOLICY dumps (local peer) */
};
const char *xfrm_source_name(enum xfrm_source s);   /* "none", "text", "netlink" */

/* Everything known of one peer.  A fact is valid when raw[id].status is
 * PROBE_OK. */
struct peer_facts {
    char peer[64];
    enum daemon_kind daemon;
    struct sa_fact sas;              /* swanctl's, or Libreswan's status + trafficstatus */
    struct conn_fact conns;
    /* A Libreswan peer: the rest of `ipsec whack --status` (version, NAT-T,
     * keep-alive, listeners, and per connection lsw.x[i] in step with
     * conns.conn[i]); its SAs and connections are moved into sas/conns. */
    struct libreswan_status lsw;
    struct xfrm_fact xfrm;           /* states and policies */
    struct xfrm_stat_fact xstat;
    struct udp_listen_fact udp;
    struct fw_fact nft, ipt;
    struct ct_timeout_fact ct_timeouts;
    struct ct_fact ct;
    struct link_fact links;
    struct log_fact log;
    struct route_fact route;
    struct probe_raw raw[PROBE_COUNT];
    /* On a `local` peer the XFRM fact comes from netlink (probes/xfrm_nl.h)
     * when the dumps succeed (root), else from the text commands, which run
     * in both cases: their output is the evidence.  xfrm_nl_err says why
     * netlink was not used (empty when it was, or for an SSH peer). */
    enum xfrm_source xfrm_source;
    struct err xfrm_nl_err;
};

struct probe_opts {
    const char *route_to;        /* a remote protected host, e.g. "10.20.5.10" */
    const char *route_from;      /* a local protected address, e.g. "10.10.0.1" */
    const char *log_file;        /* the daemon's log file when it is not in the journal */
    unsigned log_lines;          /* 0 means 2000 */
    const char *const *secrets;  /* known secrets to redact (NULL-terminated), may be NULL */
    int no_sudo;                 /* run everything without sudo (already root, or to test) */
    int no_netlink;              /* local peer: XFRM fact from the text commands only */
};

/* Builds the shell text of a probe with the options (route, log). */
int probe_command(enum probe_id id, const struct probe_opts *o, struct buf *out, struct err *e);

/* Pure: classifies a finished command (exit status, stderr) and, when it ran,
 * parses its (redacted) stdout into f.  Sets f->raw[id].status and .err.
 * Exposed so that tests and `replay` can feed saved outputs. */
void probe_parse(enum probe_id id, const char *out, size_t out_len, const char *err_out,
                 int exit_status, struct peer_facts *f);
/* Pure: once every probe is parsed, settles which IKE daemon the peer runs
 * (strongSwan, Libreswan, none) and marks the other daemon's probes
 * PROBE_OTHER_DAEMON.  probe_collect() calls it; tests and replay that feed
 * probe_parse() call it themselves. */
void probe_settle_daemon(struct peer_facts *f);

/* Commands at once on one peer (OpenSSH refuses more than MaxSessions, 10 by default). */
#define PROBE_PARALLEL_MAX 6

/* Runs every probe on a peer (connecting it when needed) and waits, bounded
 * by the probes' time limits.  0 when the peer was reached (some probes may
 * still have failed: see raw[].status); -1 with e when it was not. */
int probe_collect(struct peer *p, const struct probe_opts *o, struct peer_facts *f,
                  struct err *e);
void peer_facts_free(struct peer_facts *f);

/* ---- active probes (only when asked) ------------------------------------ */

/* DF sweep by binary search over ICMP payload sizes: a pure state machine. */
struct df_sweep {
    unsigned lo, hi;             /* payload sizes: lo passed (or floor), hi the first known failure + 1 */
    unsigned best;               /* largest payload that passed, 0 when none */
    struct opt_u64 local_mtu;    /* "local error: message too long, mtu=N" */
    struct opt_u64 frag_mtu;     /* "Frag needed and DF set (mtu = N)" */
    char frag_from[FACT_ADDR_MAX];
    unsigned steps;
    bool tried_known;            /* the size just under a reported MTU was tried */
};

/* Sizes are ICMP payloads (IPv4: packet = payload + 28). */
void df_sweep_init(struct df_sweep *s, unsigned lo, unsigned hi);
/* Next payload size to try, or 0 when done. */
unsigned df_sweep_next(const struct df_sweep *s);
/* Feeds the result of a one-packet `ping -M do -s SIZE`. */
void df_sweep_feed(struct df_sweep *s, unsigned size, const struct ping_fact *p);

/* Blocking drivers over one READY (or connectable) peer, for the headless
 * diagnosis: a ping through the tunnel, and the DF sweep (at most one probe
 * every `gap_ms` milliseconds, each ping bounded by timeout). */
int probe_ping(struct peer *p, const struct probe_opts *o, unsigned count,
               struct ping_fact *out, struct probe_raw *raw, struct err *e);
int probe_df_sweep(struct peer *p, const struct probe_opts *o, unsigned gap_ms,
                   struct df_sweep *out, struct err *e);

void probe_raw_clear(struct probe_raw *r);

#endif
