/* The console drawn into memory (tmux's screen-write idea): view_build()
 * turns a model and the interaction state into a grid of cells, each one
 * character of UTF-8 text and a role.  Pure: no terminal, no clock, no I/O;
 * tests assert on the rows.  draw_view() (tui/draw.h) is the only code that
 * puts a view on a terminal, and the only code that maps roles to colours. */
#ifndef TS_VIEW_H
#define TS_VIEW_H

#include <stdint.h>

#include "remote/buf.h"
#include "tui/model.h"
#include "tui/ui.h"

enum role {
    ROLE_NORMAL = 0,
    ROLE_TITLE,    /* the title bar */
    ROLE_HEADING,  /* pane titles, column heads */
    ROLE_BORDER,
    ROLE_OK,
    ROLE_INFO,
    ROLE_WARN,
    ROLE_FAIL,
    ROLE_LOSS,     /* a packet that never arrived, loss figures */
    ROLE_DIM,
    ROLE_SELECTED, /* the selection in the focused pane */
    ROLE_CURRENT,  /* the selection in a pane without focus, the running step */
    ROLE_KEY,      /* a key name in the status line and help */
    ROLE_A,        /* end A's name */
    ROLE_B,        /* end B's name */
    ROLE_COUNT
};

const char *role_name(int role);

struct vcell {
    char ch[5];    /* one UTF-8 character, "" for the right half of a wide one */
    uint8_t role;
};

struct view {
    int rows, cols;
    struct vcell *cell; /* rows * cols; NULL when out of memory */
    int page;           /* rows of the packet view (PgUp/PgDn step) */
    int wide;           /* the wide layout was used */
    int detail_max;     /* lines of the finding's text below the room it has (its scroll range) */
    int help_max;       /* keys of the help below the room it has */
};

/* Lays the console out for a rows x cols terminal.  On out of memory the
 * view has cell == NULL (draw_view then draws nothing). */
struct view view_build(const struct model *m, const struct ui_state *ui, int rows, int cols);
void view_free(struct view *v);
/* What the interaction state needs to know of the last view (the packet
 * page, the scroll ranges of the finding's text and the help). */
void view_feedback(const struct view *v, struct ui_state *ui);

/* Row r as text (UTF-8, trailing blanks removed) appended to out.  0 / -1. */
int view_row_text(const struct view *v, int r, struct buf *out);
/* The whole view as text, one line per row.  0 / -1. */
int view_text(const struct view *v, struct buf *out);
/* Role of the cell at (r, c), -1 outside. */
int view_role_at(const struct view *v, int r, int c);
/* First row (from `from`) whose text contains needle; its column in *col
 * (in cells).  -1 when none. */
int view_find(const struct view *v, int from, const char *needle, int *col);

#endif
