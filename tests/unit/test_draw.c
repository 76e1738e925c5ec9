/* tui/draw: roles to attributes (colour, NO_COLOR, monochrome) and a view put
 * on a curses window, read back from the window. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui/draw.h"

static SCREEN *open_term(const char *term, FILE **out)
{
    *out = fopen("/dev/null", "w");
    assert_non_null(*out);
    SCREEN *s = newterm(term, *out, stdin);
    assert_non_null(s);
    set_term(s);
    return s;
}

static void close_term(SCREEN *s, FILE *out)
{
    endwin();
    delscreen(s);
    fclose(out);
}

static void test_no_color_maps_roles_to_bold_reverse_dim(void **state)
{
    setenv("NO_COLOR", "1", 1);
    FILE *out;
    SCREEN *s = open_term("xterm-256color", &out);
    assert_int_equal(draw_init(), 0);
    assert_int_equal(draw_role_attr(ROLE_LOSS), A_REVERSE | A_BOLD);
    assert_int_equal(draw_role_attr(ROLE_SELECTED), A_REVERSE);
    assert_int_equal(draw_role_attr(ROLE_DIM), A_DIM);
    assert_int_equal(draw_role_attr(ROLE_FAIL) & A_COLOR, 0);
    close_term(s, out);
    unsetenv("NO_COLOR");
}

static void test_monochrome_terminal_gets_no_colour(void **state)
{
    unsetenv("NO_COLOR");
    FILE *out;
    SCREEN *s = open_term("vt100", &out);
    assert_int_equal(draw_init(), 0);
    for (int r = 0; r < ROLE_COUNT; r++)
        assert_int_equal(draw_role_attr(r) & A_COLOR, 0);
    close_term(s, out);
}

static void test_colour_terminal_gets_colour_pairs(void **state)
{
    unsetenv("NO_COLOR");
    FILE *out;
    SCREEN *s = open_term("xterm-256color", &out);
    assert_int_equal(draw_init(), 1);
    assert_int_not_equal(draw_role_attr(ROLE_LOSS) & A_COLOR, 0);
    assert_int_not_equal(draw_role_attr(ROLE_FAIL) & A_COLOR, draw_role_attr(ROLE_OK) & A_COLOR);
    close_term(s, out);
}

static void test_draw_view_puts_every_cell_with_its_role(void **state)
{
    setenv("NO_COLOR", "1", 1);
    FILE *out;
    SCREEN *s = open_term("xterm-256color", &out);
    draw_init();
    int rows, cols;
    getmaxyx(stdscr, rows, cols);
    struct model m;
    memset(&m, 0, sizeof m);
    m.conn = "net-net";
    m.end[0].name = "gw-a";
    m.end[1].name = "gw-b";
    m.step[2] = STEP_FAILED;
    struct ui_state ui;
    ui_init(&ui, 0);
    struct view v = view_build(&m, &ui, rows, cols);
    draw_view(stdscr, &v);
    char line[256];
    mvinnstr(0, 0, line, cols < 255 ? cols : 255);
    assert_non_null(strstr(line, "conn net-net"));
    int col;
    int r = view_find(&v, 5, "2 UDP/4500 reachability", &col);
    assert_true(r > 0);
    int fc;
    int fr = view_find(&v, r, "failure", &fc);
    assert_int_equal(fr, r);
    chtype ch = mvinch(r, fc);
    assert_int_equal((char)(ch & A_CHARTEXT), 'f');
    assert_int_equal(ch & (A_BOLD | A_UNDERLINE), A_BOLD | A_UNDERLINE);
    view_free(&v);
    close_term(s, out);
    unsetenv("NO_COLOR");
}

int main(void)
{
    setlocale(LC_ALL, "C.UTF-8");
    setenv("LINES", "24", 1);
    setenv("COLUMNS", "80", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_color_maps_roles_to_bold_reverse_dim),
        cmocka_unit_test(test_monochrome_terminal_gets_no_colour),
        cmocka_unit_test(test_colour_terminal_gets_colour_pairs),
        cmocka_unit_test(test_draw_view_puts_every_cell_with_its_role),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
