/* `tunnelscope replay BUNDLE`: an evidence bundle reopened with no network:
 * its findings, both ends and both captures in the console's model, and the
 * correlation recomputed from the pcaps and compared with the saved one. */
#include "tui/cmds.h"

#include <curses.h>
#include <getopt.h>
#include <langinfo.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "playbook/bundle.h"
#include "playbook/replay.h"
#include "tui/draw.h"
#include "tui/exitcodes.h"
#include "tui/replay_model.h"
#include "tui/safe_text.h"
#include "tui/ui.h"
#include "tui/view.h"

static void replay_usage(FILE *out)
{
    fprintf(out,
            "usage: tunnelscope replay [--check | --json | --view [--size COLSxROWS]] BUNDLE\n"
            "\n"
            "Reopens an evidence bundle (its folder or its .tar.gz) with no network: the\n"
            "bundle is verified against its manifest, then the five steps' findings, both\n"
            "ends and both captures are loaded as the console shows them live.\n"
            "\n"
            "  --check        recompute with no network and compare with what the bundle\n"
            "                 saved: the correlation from both pcaps, the findings by running\n"
            "                 the five steps again on the recorded outputs and pcaps; prints\n"
            "                 OK or the first difference (its JSON path)\n"
            "  --json         the same as a JSON document (bundle, peers, saved findings, check)\n"
            "  --view         print the console's screen for the bundle as text (the default\n"
            "                 when not on a terminal; on a terminal: the console itself)\n"
            "  --size CxR     screen size for --view (default 120x40)\n"
            "\n"
            "Exit status: 0 recomputed results equal the saved ones (or the bundle loaded),\n"
            "2 they differ or the bundle does not verify, 3 nothing could be recomputed\n"
            "(findings not made by the five steps and no capture of each end), 64 bad\n"
            "command line.\n");
}

static int print_view(const struct bundle *b, int cols, int rows)
{
    struct replay_model rm;
    struct err e = {0};
    if (replay_model_load(b, &rm, &e)) {
        fprintf(stderr, "tunnelscope replay: %s\n", e.msg);
        return TS_EXIT_FAILURE;
    }
    struct ui_state ui;
    ui_init(&ui, 0);
    ui.pane = PANE_FINDINGS;
    const struct finding *p = findings_principal(bundle_findings(b));
    ui.step_sel = p ? p->step : STEP_FIRST;
    struct view v = view_build(&rm.m, &ui, rows, cols);
    struct buf out = BUF_INIT;
    int rc = !v.cell || view_text(&v, &out) ? TS_EXIT_INTERNAL : TS_EXIT_OK;
    if (!rc)
        fwrite(out.data, 1, out.len, stdout);
    buf_free(&out);
    view_free(&v);
    replay_model_free(&rm);
    return rc;
}

/* The console on the bundle: the same view and keys as live, with no network.
 * Actions that need a peer (capture, re-run, sweep, export) only say so. */
static int run_console(const struct bundle *b)
{
    struct replay_model rm;
    struct err e = {0};
    if (replay_model_load(b, &rm, &e)) {
        fprintf(stderr, "tunnelscope replay: %s\n", e.msg);
        return TS_EXIT_FAILURE;
    }
    setlocale(LC_ALL, "");
    const char *cs = nl_langinfo(CODESET);
    struct ui_state ui;
    ui_init(&ui, !(cs && (!strcmp(cs, "UTF-8") || !strcmp(cs, "utf8"))));
    const struct finding *p = findings_principal(bundle_findings(b));
    ui.step_sel = p ? p->step : STEP_FIRST;
    if (!initscr()) {
        replay_model_free(&rm);
        return TS_EXIT_INTERNAL;
    }
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    set_escdelay(25);
    curs_set(0);
    draw_init();
    for (;;) {
        int rows, cols;
        getmaxyx(stdscr, rows, cols);
        struct view v = view_build(&rm.m, &ui, rows, cols);
        view_feedback(&v, &ui);
        draw_view(stdscr, &v);
        view_free(&v);
        wnoutrefresh(stdscr);
        doupdate();
        int ch = getch();
        if (ch == ERR)
            continue;
        if (ch == KEY_RESIZE) {
            clearok(curscr, TRUE);
            continue;
        }
        int r = tui_handle_key(&ui, &rm.m, ch);
        if (r & TUI_QUIT)
            break;
        if (r & TUI_ACTION) {
            ui.action = ACT_NONE;
            rm.m.message = "replay: no peer to talk to (this is a recorded bundle)";
        }
    }
    endwin();
    replay_model_free(&rm);
    return TS_EXIT_OK;
}

int cmd_replay(int argc, char **argv)
{
    static const struct option opts[] = {
        {"check", no_argument, NULL, 'c'},
        {"json", no_argument, NULL, 'j'},
        {"view", no_argument, NULL, 'v'},
        {"size", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int check = 0, json = 0, view = 0, cols = 120, rows = 40, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            check = 1;
            break;
        case 'j':
            json = 1;
            break;
        case 'v':
            view = 1;
            break;
        case 's':
            if (sscanf(optarg, "%dx%d", &cols, &rows) != 2 || cols < 40 || rows < 12 ||
                cols > 1000 || rows > 1000) {
                fprintf(stderr, "tunnelscope replay: --size wants COLSxROWS, e.g. 120x40\n");
                return TS_EXIT_USAGE;
            }
            break;
        case 'h':
            replay_usage(stdout);
            return TS_EXIT_OK;
        default:
            replay_usage(stderr);
            return TS_EXIT_USAGE;
        }
    }
    if (optind != argc - 1 || check + json + view > 1) {
        replay_usage(stderr);
        return TS_EXIT_USAGE;
    }
    const char *path = argv[optind];
    struct stat st;
    if (lstat(path, &st)) {
        fprintf(stderr, "tunnelscope replay: %s: no such bundle\n", path);
        return TS_EXIT_USAGE;
    }
    struct err e = {0};
    struct bundle *b = bundle_open(path, &e);
    if (!b) {
        fprintf(stderr, "tunnelscope replay: %s: %s\n", path, e.msg);
        return TS_EXIT_FAILURE;
    }
    int rc;
    if (check || json) {
        struct replay_check rc_ = {0};
        if (replay_check_run(b, &rc_, &e)) {
            fprintf(stderr, "tunnelscope replay: %s: %s\n", path, e.msg);
            bundle_free(b);
            return TS_EXIT_FAILURE;
        }
        rc = !rc_.correlation_checked && !rc_.findings_checked ? TS_EXIT_NODIAG
             : replay_check_ok(&rc_)                          ? TS_EXIT_OK
                                                              : TS_EXIT_FAILURE;
        if (json) {
            json_t *doc = replay_check_json(b, &rc_);
            char *s = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
            if (s)
                printf("%s\n", s);
            else
                rc = TS_EXIT_INTERNAL;
            free(s);
            json_decref(doc);
        } else {
            if (rc_.correlation_checked)
                printf("correlation: %s%s\n", rc_.correlation_equal ? "recomputed from both pcaps, equal to correlation.json" : "DIFFERS: ",
                       rc_.correlation_equal ? "" : rc_.correlation_diff);
            else
                printf("correlation: not recomputed (the bundle lacks a capture of each end)\n");
            if (rc_.findings_checked)
                printf("findings: %s%s\n",
                       rc_.findings_equal ? "recomputed from the raw outputs and pcaps, equal to findings.json"
                                          : "DIFFER: ",
                       rc_.findings_equal ? "" : rc_.findings_diff);
            else
                printf("findings: not recomputed (%s)\n", rc_.findings_why);
            if (rc_.unused_records)
                printf("note: %zu raw output%s not asked for by the steps (a step re-run before the export?)\n",
                       rc_.unused_records, rc_.unused_records > 1 ? "s" : "");
            printf("%s\n", rc == TS_EXIT_OK ? "OK" : rc == TS_EXIT_NODIAG ? "NOTHING RECOMPUTED" : "MISMATCH");
        }
        replay_check_free(&rc_);
    } else if (!view && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO)) {
        rc = run_console(b);
    } else {
        rc = print_view(b, cols, rows);
    }
    bundle_free(b);
    return rc;
}
