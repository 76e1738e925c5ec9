/* Exit statuses of every front end, documented in --help and tunnelscope(1). */
#ifndef TS_EXITCODES_H
#define TS_EXITCODES_H

enum {
    TS_EXIT_OK = 0,        /* nothing wrong */
    TS_EXIT_WARNING = 1,   /* warnings found (diagnose), or a remote command exited non-zero (exec) */
    TS_EXIT_FAILURE = 2,   /* failures found */
    TS_EXIT_NODIAG = 3,    /* could not diagnose: cannot connect, host key unknown/changed, no sudo, no IKE daemon */
    TS_EXIT_USAGE = 64,    /* bad command line */
    TS_EXIT_INTERNAL = 70, /* internal error (a bug: please report) */
};

#endif
