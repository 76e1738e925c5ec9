/* remote/: run commands on peers, whole or as streams, many peers at once from
 * one poll() loop.  Two transports behind one interface: SSH (libssh,
 * non-blocking) and `local` (fork/exec on this machine).  Knows nothing of
 * IPsec.  No threads: the caller owns the loop.
 *
 * The loop, in the caller:
 *
 *     struct pollfd fds[64]; size_t n = 0; int wait = -1;
 *     for each peer p:  n += peer_pollfds(p, fds + n, 64 - n);
 *                       wait = min_timeout(wait, peer_timeout_ms(p));
 *     ... add the terminal, a timer ...
 *     poll(fds, n, wait);
 *     for each peer p:  peer_dispatch(p, its slice of fds);   (always, even on timeout)
 *
 * or simply peers_poll() when there is nothing else to watch.
 *
 * Lifecycle of a peer: peer_new() parses and resolves the spec (nothing sent
 * yet), peer_connect() starts connecting (non-blocking); the state goes
 * CONNECTING -> AUTHENTICATING -> READY, or FAILED with peer_error() saying
 * why (unreachable, refused, timeout, host key unknown/changed, auth failed
 * with the methods the server offered).  A READY peer that drops goes to
 * FAILED with ERR_DISCONNECTED; peer_connect() again reconnects.  `local`
 * peers are READY at once.
 *
 * Commands (struct rcmd) may be started in any state but FAILED/CLOSED; they
 * wait (QUEUED) until the peer is READY, then each runs on its own channel,
 * many at once per peer.  Every command runs under `timeout -k 2 N` on the
 * peer, so that nothing outlives the console even after SIGKILL or a dropped
 * link, and under a small watcher that ends the command's process group as
 * soon as the command's stdin reaches EOF (rcmd_stop(), channel closed,
 * console gone).  With .sudo the line starts with `sudo -n ` and a refusal is
 * reported as ERR_SUDO. */
#ifndef TS_PEER_H
#define TS_PEER_H

#include <poll.h>
#include <stddef.h>
#include <time.h>

#include "remote/buf.h"
#include "remote/err.h"

/* ---- peer specs --------------------------------------------------------- */

enum peer_kind { PEER_SSH, PEER_LOCAL };

/* "local" | alias | [user@]host[:port] | [user@][v6addr]:port | [user@]v6addr */
struct peer_spec {
    enum peer_kind kind;
    char *name;   /* the spec as written, used as the display name ("gw-a") */
    char *user;   /* NULL when not written */
    char *host;   /* alias, name or address, without brackets; NULL for local */
    int port;     /* 0 when not written */
};

/* Parses text into out (to be released with peer_spec_clear).  Refuses empty
 * parts, bad ports, spaces/control characters and a leading '-' (it would read
 * as an option).  0 / -1 with ERR_USAGE. */
int peer_spec_parse(const char *text, struct peer_spec *out, struct err *e);
void peer_spec_clear(struct peer_spec *s);

/* ---- options ------------------------------------------------------------ */

struct peer_opts {
    /* -F FILE.  NULL: $TUNNELSCOPE_SSH_CONFIG when set, else ~/.ssh/config and
     * /etc/ssh/ssh_config (as libssh reads them). */
    const char *ssh_config;
    /* --known-hosts FILE.  NULL: $TUNNELSCOPE_KNOWN_HOSTS when set, else the
     * config's UserKnownHostsFile, else ~/.ssh/known_hosts. */
    const char *known_hosts;
    int accept_new_hostkey; /* write an unknown key to known_hosts and go on (never a changed one) */
    int interactive;        /* may prompt on the terminal for a key passphrase */
    int connect_timeout_s;  /* TCP + key exchange + auth; 0 means 15 */
};

/* What an SSH peer will use once the ssh config is applied (libssh's own
 * config parser, the same one connecting uses).  Strings are owned. */
struct peer_resolved {
    char *host;          /* HostName (or the spec's host) */
    char *user;
    int port;
    char *identity;      /* first IdentityFile, NULL when none */
    char *known_hosts;   /* the file host keys are checked against (and written to) */
    char *proxy_command; /* NULL when none (ProxyJump appears here as libssh 0.10 turns it into one) */
};
int peer_resolve(const struct peer_spec *spec, const struct peer_opts *opts,
                 struct peer_resolved *out, struct err *e);
void peer_resolved_clear(struct peer_resolved *r);

/* ---- peers -------------------------------------------------------------- */

enum peer_state {
    PEER_IDLE,           /* made, not connecting yet */
    PEER_CONNECTING,     /* TCP / proxy command / key exchange / host key check */
    PEER_AUTHENTICATING,
    PEER_READY,
    PEER_CLOSED,         /* peer_close() */
    PEER_FAILED,         /* see peer_error(); peer_connect() retries */
};

struct peer;

/* spec as for peer_spec_parse; opts may be NULL (defaults) and is copied. */
struct peer *peer_new(const char *spec, const struct peer_opts *opts, struct err *e);
/* Closes cleanly (channels closed so remote processes end) and frees.  Commands
 * still attached end with ERR_DISCONNECTED and stay the caller's to free. */
void peer_free(struct peer *p);

const char *peer_name(const struct peer *p);
enum peer_kind peer_kind(const struct peer *p);
enum peer_state peer_state(const struct peer *p);
const char *peer_state_name(enum peer_state s);
/* Why the peer is FAILED (code ERR_CONNECT, ERR_TIMEOUT, ERR_AUTH,
 * ERR_HOSTKEY_UNKNOWN, ERR_HOSTKEY_CHANGED, ERR_DISCONNECTED, ...). */
const struct err *peer_error(const struct peer *p);
/* "SHA256:..." of the server's host key once seen (also when refused), else NULL. */
const char *peer_hostkey_fingerprint(const struct peer *p);
/* The known_hosts file used for this peer, NULL for local. */
const char *peer_known_hosts(const struct peer *p);
/* The user checked this fingerprint ("SHA256:...", as peer_hostkey_fingerprint()
 * gave it) and trusts it: on the next peer_connect(), an unknown host key with
 * exactly this fingerprint is written to known_hosts and the connection goes
 * on.  Any other unknown key is refused as before, a changed key always.
 * For a console that asks instead of --accept-new-hostkey.  0 / -1. */
int peer_trust_hostkey(struct peer *p, const char *fingerprint, struct err *e);

/* Starts connecting (IDLE, CLOSED or FAILED -> CONNECTING; local -> READY).
 * Does not wait for the network; the one blocking step is libssh resolving
 * the host name (getaddrinfo), instant for addresses and /etc/hosts names.
 * 0 / -1 (bad options, resolution failed: state FAILED).
 * Authentication: ssh-agent ($SSH_AUTH_SOCK), then the IdentityFile keys and
 * ~/.ssh/id_* (libssh 0.10 has no IdentitiesOnly); an encrypted key asks for
 * its passphrase on the terminal only with opts.interactive and a tty.
 * A READY peer's TCP socket has keepalives: a link that dies silently is
 * noticed (FAILED, ERR_DISCONNECTED) within about 25 s. */
int peer_connect(struct peer *p, struct err *e);
/* Stops every command (they end with ERR_DISCONNECTED), closes the channels
 * and the connection.  State CLOSED. */
void peer_close(struct peer *p);

/* Fills up to max entries of fds with what the peer waits for and returns how
 * many it needs (may be more than max: call again with room; 0 when idle). */
size_t peer_pollfds(struct peer *p, struct pollfd *fds, size_t max);
/* Call after every poll() return, whether or not its entries fired, with the
 * entries peer_pollfds() filled (revents set).  Reads everything available
 * (until the transport says "again"), runs callbacks, enforces time limits. */
void peer_dispatch(struct peer *p, const struct pollfd *fds, size_t n);
/* Milliseconds until the peer has something to do without fd activity (a time
 * limit, a connect timeout); -1 when nothing is pending. */
int peer_timeout_ms(const struct peer *p);
/* 1 while the peer is connecting or has commands not yet done. */
int peer_busy(const struct peer *p);

/* ---- commands ----------------------------------------------------------- */

enum rcmd_state {
    RCMD_QUEUED,    /* waiting for the peer to be READY */
    RCMD_STARTING,  /* opening the channel, sending the exec request */
    RCMD_RUNNING,
    RCMD_DONE,      /* see rcmd_result() */
};

#define RCMD_DEFAULT_LIMIT_S 30u

struct rcmd;

/* Bytes exactly as they arrive, is_stderr telling which stream.  Called from
 * peer_dispatch(); must not block.  May call rcmd_stop() on c (not rcmd_free). */
typedef void (*rcmd_data_fn)(struct rcmd *c, int is_stderr, const char *data, size_t len, void *ud);
/* Called once when c reaches RCMD_DONE.  May call rcmd_free(c). */
typedef void (*rcmd_done_fn)(struct rcmd *c, void *ud);

struct rcmd_opts {
    const char *command;     /* shell text for the peer's sh; build it with shquote_*() */
    int sudo;                /* run as root through `sudo -n` (never prompts) */
    unsigned time_limit_s;   /* 0 means RCMD_DEFAULT_LIMIT_S; enforced on the peer by timeout(1) and here */
    rcmd_data_fn on_data;    /* NULL: output is collected into the result; else streamed, not collected */
    rcmd_done_fn on_done;    /* may be NULL */
    void *ud;
    size_t max_output;       /* collected bytes kept per stream, 0 means 64 MiB; past it: .truncated */
};

struct rcmd_result {
    int exit_status;          /* 0..255; -1 when there is none (signal, time limit, never ran) */
    char exit_signal[16];     /* "TERM", "KILL", ... when killed by a signal, else "" */
    int timed_out;            /* the time limit ended it */
    int truncated;            /* collected output went past max_output */
    struct buf out;           /* stdout (collected mode) */
    struct buf err_out;       /* stderr (collected mode; in stream mode the first 4 KiB, for diagnosis) */
    struct timespec started;  /* CLOCK_REALTIME, when the exec request was sent */
    struct timespec ended;    /* CLOCK_REALTIME, when it was seen to end */
    /* ERR_NONE when the command ran to its end (whatever its exit status);
     * else ERR_SUDO (sudo refused), ERR_TIMEOUT, ERR_NOT_FOUND (timeout/sudo
     * missing on the peer), ERR_DISCONNECTED (peer lost/closed), ERR_CONNECT. */
    struct err err;
};

/* Starts (or queues) a command on p.  The caller owns the result and frees it
 * with rcmd_free(), also after the peer was freed.  NULL on error (peer
 * FAILED/CLOSED, bad options). */
struct rcmd *rcmd_start(struct peer *p, const struct rcmd_opts *o, struct err *e);
enum rcmd_state rcmd_state(const struct rcmd *c);
const struct rcmd_result *rcmd_result(const struct rcmd *c);
/* The exact line sent to the peer (with sudo/timeout), for evidence. */
const char *rcmd_line(const struct rcmd *c);
/* The peer it runs on; NULL once that peer was freed. */
struct peer *rcmd_peer(const struct rcmd *c);
/* Ends the command: its stdin is closed (the watcher then sends SIGTERM to
 * its process group), the channel closed after a grace period; local: the
 * same, then SIGTERM/SIGKILL to the process group.
 * The command reaches RCMD_DONE on a later dispatch. */
void rcmd_stop(struct rcmd *c);
/* Stops it when not done, detaches it from its peer, frees it.  NULL ok. */
void rcmd_free(struct rcmd *c);

/* Builds the line rcmd_start() sends:
 * `[sudo -n ]timeout -k 2 N sh -c 'WATCHER' tunnelscope 'CMD'`.
 * Exposed for tests and for evidence.  0 / -1. */
int rcmd_build_line(const struct rcmd_opts *o, struct buf *out, struct err *e);

/* ---- loop helpers built on the above ------------------------------------ */

/* One loop iteration over these peers only: poll at most max_wait_ms (-1:
 * until something happens), then dispatch every peer.  0 / -1 (poll failed). */
int peers_poll(struct peer *const *peers, size_t n, int max_wait_ms, struct err *e);

/* Blocking convenience for front ends and tests: connects the peers not yet
 * connected, runs o on every peer at once (one command each, cmds[i] for
 * peers[i], NULL when it could not start: see peer_error()), and returns when
 * all are done.  The caller frees cmds[i].  0 / -1 (loop failure only). */
int peers_run_all(struct peer *const *peers, size_t n, const struct rcmd_opts *o,
                  struct rcmd **cmds, struct err *e);

#endif
