/* What the console shows, as plain data: filled by the console loop from the
 * peers, the diagnosis session and the live capture, read by view_build().
 * Strings are borrowed (whoever fills the model owns them) and are remote
 * text: the view passes every one through safe_text().  A test writes a model
 * as a literal. */
#ifndef TS_MODEL_H
#define TS_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "playbook/finding.h"
#include "probes/fact.h"
#include "tui/timeline.h"

enum model_link {
    ML_CONNECTING = 0,
    ML_READY,
    ML_DISCONNECTED, /* was ready, dropped */
    ML_FAILED,       /* could not connect: see error */
    ML_HOSTKEY,      /* waiting for an answer about its host key */
};

enum model_transport { MT_UNKNOWN = 0, MT_UDP4500, MT_RAW_ESP };

enum model_capture {
    MC_OFF = 0,   /* never started */
    MC_STARTING,  /* commands sent, no packet header yet */
    MC_RUNNING,
    MC_PAUSED,    /* the view is frozen, the capture keeps recording */
    MC_STOPPED,
};

#define MODEL_MAX_SA 4

struct model_sa {
    uint32_t spi;
    int out;               /* 1 outbound at this end, 0 inbound */
    int64_t bytes, packets; /* -1 unknown (from the SA counters) */
};

struct model_end {
    const char *name;        /* "gw-a" */
    enum model_link link;
    const char *error;       /* why it failed / dropped, NULL */
    const char *daemon;      /* "strongswan", NULL unknown */
    const char *ike_state;   /* "ESTABLISHED", NULL none */
    const char *child_state; /* "INSTALLED", NULL none */
    enum tri behind_nat;
    int capture;             /* enum model_capture of this end */
    struct model_sa sa[MODEL_MAX_SA];
    size_t n_sa;
};

struct model_hostkey {       /* an unknown host key waiting for an answer */
    int pending;             /* 0: no question */
    int side;                /* 0 A, 1 B */
    const char *fingerprint; /* "SHA256:..." */
    const char *known_hosts; /* the file it would be written to */
    int changed;             /* the key CHANGED: can only be refused */
};

struct model {
    const char *conn;          /* connection name, NULL unknown */
    enum model_transport transport;
    double elapsed_s;          /* since the console started */
    int capture;               /* enum model_capture (both ends) */
    double capture_s;          /* how long it has been capturing */
    struct model_end end[2];
    enum step_status step[STEP_COUNT + 1]; /* [1..5] */
    int running_step;          /* 0 none */
    const char *activity;      /* "collecting facts", "capturing 7 s left", NULL */
    const struct findings *findings; /* may be NULL */
    const struct timeline *tl; /* may be NULL */
    int64_t now_ns;            /* realtime, for the rate sparklines */
    struct model_hostkey hostkey;
    const char *export_unavailable; /* why `e` cannot export now, NULL when it can */
    const char *message;       /* the last action's outcome, NULL */
    int message_fresh;         /* said in the last few seconds: the status line makes room for it */
    int sweep_done;            /* the MTU sweep already ran */
};

#endif
