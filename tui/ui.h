/* The console's interaction state and its key handler (htop style: the
 * handler changes the state and says what changed; it never draws and never
 * talks to a peer: actions that need the network are left in ui->action for
 * the console loop). */
#ifndef TS_UI_H
#define TS_UI_H

#include <stdint.h>

#include "tui/model.h"

enum ui_pane { PANE_STEPS = 0, PANE_FINDINGS, PANE_CAPTURE, PANE_COUNT };

enum ui_modal {
    MODAL_NONE = 0,
    MODAL_HELP,
    MODAL_QUIT,     /* a capture is running: quit anyway? */
    MODAL_SWEEP,    /* the MTU sweep sends traffic on the tunnel: go? */
    MODAL_HOSTKEY,  /* unknown host key: accept? (from model->hostkey) */
};

/* What the loop has to do after a key (one at a time). */
enum ui_action {
    ACT_NONE = 0,
    ACT_CAPTURE_TOGGLE, /* start, or stop, the two-end capture */
    ACT_RERUN,          /* re-run ui->step_sel */
    ACT_SWEEP,          /* run the MTU sweep (confirmed) */
    ACT_EXPORT,
    ACT_HOSTKEY_ACCEPT, /* write model->hostkey to known_hosts and connect */
    ACT_HOSTKEY_REJECT,
};

/* Packet view filter. */
#define FILTER_KIND_ALL 0
struct ui_filter {
    int kind;          /* FILTER_KIND_ALL or one enum capture_kind */
    int has_spi;
    uint32_t spi;
    int dir;           /* -1 any, TL_AB, TL_BA */
    int lost_only;
};

struct ui_state {
    int pane;          /* focus: enum ui_pane */
    int step_sel;      /* 1..5 */
    int finding_sel;   /* index among the selected step's findings */
    int modal;
    int follow;        /* packet view follows the newest rows */
    uint64_t anchor;   /* when not following: absolute timeline row shown last */
    struct ui_filter filter;
    int paused;        /* the packet view is frozen (capture keeps recording) */
    uint64_t pause_end; /* timeline end when paused */
    int ascii;         /* no UTF-8: ASCII box drawing and glyphs */
    int action;        /* enum ui_action, taken (reset) by the loop */
    int page;          /* rows of the packet view, set by the last view_build */
    int user_moved;    /* the user picked a step: the console stops following the diagnosis */
    int detail_top;    /* first line of the selected finding's text shown (PgUp/PgDn in the findings pane) */
    int detail_max;    /* its largest useful value, set by the last view_build (view_feedback) */
    int wide;          /* the last view had the wide layout (packets and playbook at once) */
    int help_top;      /* first key shown in the help (Up/Down/PgUp/PgDn when it does not fit) */
    int help_max;
};

void ui_init(struct ui_state *ui, int ascii);
/* Until the user picks a step, the selection follows the diagnosis: the step
 * of the principal finding (first failure, else first warning), else the
 * running step. */
void ui_follow_diagnosis(struct ui_state *ui, const struct model *m);

#define TUI_HANDLED 0x1
#define TUI_REDRAW 0x2
#define TUI_QUIT 0x4
#define TUI_ACTION 0x8 /* ui->action was set */

/* Key codes: ncurses KEY_* values for arrows and pages, given as plain ints
 * so that this file stays free of curses.h. */
enum ui_key {
    UK_UP = 0403, UK_DOWN = 0402, UK_LEFT = 0404, UK_RIGHT = 0405,
    UK_HOME = 0406, UK_END = 0550, UK_NPAGE = 0522, UK_PPAGE = 0523,
    UK_BTAB = 0541, UK_ENTER = 0527, UK_RESIZE = 0632,
    UK_ESC = 27, UK_TAB = 9,
};

/* Handles one key against the current model (read only).  Returns
 * TUI_* flags; 0 when the key means nothing now. */
int tui_handle_key(struct ui_state *ui, const struct model *m, int key);

/* Findings of a step, in order: fills idx with up to max indices into
 * m->findings and returns how many there are. */
size_t ui_step_findings(const struct model *m, int step, size_t *idx, size_t max);
/* Whether a timeline row passes the filter. */
int ui_filter_match(const struct ui_filter *f, const struct timeline *tl, const struct tl_row *r);

/* The keys, for the help overlay and the status line. */
struct ui_keyhelp {
    const char *key;
    const char *what;
};
extern const struct ui_keyhelp ui_keys[];

#endif
