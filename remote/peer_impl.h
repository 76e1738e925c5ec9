/* Internals shared by remote/peer.c (common parts, SSH) and remote/peer_local.c.
 * Not for other modules: use remote/peer.h. */
#ifndef TS_PEER_IMPL_H
#define TS_PEER_IMPL_H

#include <stdint.h>
#include <sys/types.h>

#include <libssh/callbacks.h>
#include <libssh/libssh.h>

#include "remote/peer.h"

struct rcmd {
    struct peer *peer;        /* NULL once detached */
    struct rcmd *next;        /* the peer's list */
    struct rcmd_opts o;       /* o.command points at command */
    char *command;
    char *line;               /* what is sent */
    char *peer_name;          /* kept for messages after the peer is gone */
    unsigned limit_s;
    int sudo;
    enum rcmd_state state;
    struct rcmd_result res;
    int64_t start_mono, end_mono;
    int64_t deadline;         /* monotonic ms: limit + grace */
    int64_t stop_deadline;
    int stop_requested, stop_sent, stopped_for_limit;
    /* ssh */
    ssh_channel ch;
    struct ssh_channel_callbacks_struct cb;
    int opened, got_exit, got_eof, got_close;
    /* local */
    pid_t pid;
    int fd_out, fd_err, fd_in; /* fd_in: the command's stdin, closed to stop it */
    int reaped, wstatus, stop_escalated;
};

struct peer {
    struct peer_spec spec;
    struct peer_opts opts;    /* strings point at the copies below */
    char *ssh_config;
    char *known_hosts_opt;
    enum peer_state state;
    struct err err;
    char *fingerprint;
    char *trusted_fp;         /* peer_trust_hostkey() */
    char *known_hosts_file;
    struct rcmd *cmds;
    /* ssh */
    ssh_session s;
    ssh_event event;
    struct ssh_callbacks_struct scb;
    int64_t deadline;         /* connect + auth */
    int auth_stage;
    int methods;
};

int64_t peer_now_ms(void);
void peer_cmd_finish(struct rcmd *c, int code, const char *msg);
void peer_cmd_output(struct rcmd *c, int is_stderr, const char *data, size_t len);
void peer_fail_cmds(struct peer *p, int code, const char *msg);

void peer_ssh_teardown(struct peer *p, int polite);
void peer_ssh_release(struct rcmd *c, int ask_end);

size_t peer_local_pollfds(struct peer *p, struct pollfd *fds, size_t max);
void peer_local_dispatch(struct peer *p, const struct pollfd *fds, size_t n);
int peer_local_timeout_ms(const struct peer *p);
void peer_local_begin(struct peer *p, struct rcmd *c);
void peer_local_stop(struct rcmd *c);
void peer_local_release(struct rcmd *c);

#endif
