/* The incident console: both peers, the diagnosis session, the two-end
 * capture and the terminal in one poll() loop (no threads).  Each iteration
 * dispatches what fired, merges the redraw requests into one dirty flag and
 * draws at most ~10 times a second (tmux's server_client_check_redraw). */
#ifndef TS_CONSOLE_H
#define TS_CONSOLE_H

#include "remote/peer.h"

struct console_opts {
    const char *peer[2];        /* specs of A and B */
    struct peer_opts popts;     /* -F, --known-hosts, --accept-new-hostkey */
    const char *conn;           /* --conn NAME, NULL: discover */
    unsigned capture_limit_s;   /* a capture ends on the peers after this long; 0: 600 */
    int no_capture;             /* do not start the capture on start */
    int no_diagnose;            /* do not run the steps on start */
};

/* Runs the console on the terminal until the user quits.  Returns a process
 * exit status (tui/exitcodes.h). */
int console_run(const struct console_opts *o);

#endif
