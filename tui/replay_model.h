/* A bundle reopened in the console (`tunnelscope replay`): the bundle's
 * saved findings, both ends and both captures loaded into the same struct
 * model and struct timeline that the live console fills, with no network.
 * The capture events are read from the bundle's pcaps and fed to the
 * timeline as the live capture feeds them; the timeline is then settled.
 * Each end's IKE/CHILD SA state, NAT side and SA counters come from its last
 * recorded `swanctl --list-sas` output, parsed by the same probes parser. */
#ifndef TS_REPLAY_MODEL_H
#define TS_REPLAY_MODEL_H

#include "playbook/bundle.h"
#include "remote/err.h"
#include "tui/model.h"
#include "tui/timeline.h"

struct replay_model {
    struct model m;
    struct timeline *tl;  /* owned */
    char *message;        /* owned: what is shown ("replay of ... recorded ...") */
    char *conn;           /* owned */
    char ike_state[2][32], child_state[2][32], conn_name[64];
};

/* b must outlive rm (the model borrows its strings).  0 / -1. */
int replay_model_load(const struct bundle *b, struct replay_model *rm, struct err *e);
void replay_model_free(struct replay_model *rm);

#endif
