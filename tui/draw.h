/* Puts a struct view on a curses window: the only code that draws, and the
 * only code that knows colours.  Roles map to colour pairs, or, with NO_COLOR
 * set or on a monochrome terminal, to bold / reverse / dim. */
#ifndef TS_DRAW_H
#define TS_DRAW_H

#include <curses.h>

#include "tui/view.h"

/* Sets up the role attributes once curses is started (start_color when the
 * terminal has colours and NO_COLOR is not set).  Returns 1 when colours are
 * used, 0 for monochrome. */
int draw_init(void);
/* The attribute a role is drawn with (after draw_init). */
attr_t draw_role_attr(int role);
/* Draws v into win (to be followed by wnoutrefresh/doupdate: curses sends
 * only the cells that changed since the last refresh). */
void draw_view(WINDOW *win, const struct view *v);

#endif
