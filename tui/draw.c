#include "tui/draw.h"

#include <stdlib.h>
#include <string.h>

#include "tui/ui.h"

/* ui.h spells the curses key codes as plain numbers: they must agree. */
_Static_assert(UK_UP == KEY_UP && UK_DOWN == KEY_DOWN && UK_LEFT == KEY_LEFT && UK_RIGHT == KEY_RIGHT,
               "arrow key codes");
_Static_assert(UK_HOME == KEY_HOME && UK_END == KEY_END && UK_NPAGE == KEY_NPAGE && UK_PPAGE == KEY_PPAGE,
               "page key codes");
_Static_assert(UK_BTAB == KEY_BTAB && UK_ENTER == KEY_ENTER && UK_RESIZE == KEY_RESIZE, "other key codes");

static attr_t role_attr[ROLE_COUNT];

static attr_t mono(int role)
{
    switch (role) {
    case ROLE_TITLE: return A_REVERSE | A_BOLD;
    case ROLE_HEADING: return A_BOLD;
    case ROLE_BORDER: return A_NORMAL;
    case ROLE_OK: return A_NORMAL;
    case ROLE_INFO: return A_NORMAL;
    case ROLE_WARN: return A_BOLD;
    case ROLE_FAIL: return A_BOLD | A_UNDERLINE;
    case ROLE_LOSS: return A_REVERSE | A_BOLD;
    case ROLE_DIM: return A_DIM;
    case ROLE_SELECTED: return A_REVERSE;
    case ROLE_CURRENT: return A_BOLD;
    case ROLE_KEY: return A_BOLD;
    case ROLE_A: return A_BOLD;
    case ROLE_B: return A_BOLD;
    default: return A_NORMAL;
    }
}

int draw_init(void)
{
    const char *nc = getenv("NO_COLOR");
    int colour = !(nc && nc[0]) && has_colors();
    for (int r = 0; r < ROLE_COUNT; r++)
        role_attr[r] = mono(r);
    if (!colour)
        return 0;
    start_color();
    use_default_colors();
    /* pair: fg, bg (-1 the terminal's default) */
    static const struct { int role; short fg, bg; attr_t extra; } map[] = {
        {ROLE_TITLE, COLOR_WHITE, COLOR_BLUE, A_BOLD},
        {ROLE_HEADING, COLOR_CYAN, -1, A_BOLD},
        {ROLE_BORDER, COLOR_BLUE, -1, 0},
        {ROLE_OK, COLOR_GREEN, -1, 0},
        {ROLE_INFO, COLOR_CYAN, -1, 0},
        {ROLE_WARN, COLOR_YELLOW, -1, A_BOLD},
        {ROLE_FAIL, COLOR_RED, -1, A_BOLD},
        {ROLE_LOSS, COLOR_WHITE, COLOR_RED, A_BOLD},
        {ROLE_SELECTED, COLOR_BLACK, COLOR_CYAN, 0},
        {ROLE_CURRENT, COLOR_CYAN, -1, A_BOLD},
        {ROLE_KEY, COLOR_YELLOW, -1, A_BOLD},
        {ROLE_A, COLOR_MAGENTA, -1, A_BOLD},
        {ROLE_B, COLOR_GREEN, -1, A_BOLD},
    };
    short pair = 1;
    for (size_t i = 0; i < sizeof map / sizeof map[0] && pair < COLOR_PAIRS; i++, pair++) {
        if (init_pair(pair, map[i].fg, map[i].bg) == ERR)
            continue;
        role_attr[map[i].role] = COLOR_PAIR(pair) | map[i].extra;
    }
    role_attr[ROLE_DIM] = A_DIM;
    return 1;
}

attr_t draw_role_attr(int role)
{
    return role >= 0 && role < ROLE_COUNT ? role_attr[role] : A_NORMAL;
}

void draw_view(WINDOW *win, const struct view *v)
{
    if (!v->cell)
        return;
    int maxy, maxx;
    getmaxyx(win, maxy, maxx);
    int rows = v->rows < maxy ? v->rows : maxy;
    int cols = v->cols < maxx ? v->cols : maxx;
    for (int r = 0; r < rows; r++) {
        wmove(win, r, 0);
        for (int c = 0; c < cols; c++) {
            const struct vcell *x = &v->cell[(size_t)r * (size_t)v->cols + (size_t)c];
            if (!x->ch[0])
                continue; /* right half of a wide character */
            wattrset(win, draw_role_attr(x->role));
            /* the bottom-right cell: curses would scroll after writing it */
            if (r == maxy - 1 && c == maxx - 1) {
                cchar_t cc;
                wchar_t wc[2] = {0, 0};
                if (mbstowcs(wc, x->ch, 1) == (size_t)-1)
                    wc[0] = L'?';
                setcchar(&cc, wc, draw_role_attr(x->role), 0, NULL);
                mvwins_wch(win, r, c, &cc);
                continue;
            }
            mvwaddstr(win, r, c, x->ch);
        }
    }
    wattrset(win, A_NORMAL);
}
