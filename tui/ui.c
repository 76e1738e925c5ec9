#include "tui/ui.h"

#include <string.h>

const struct ui_keyhelp ui_keys[] = {
    {"?", "this help (any key closes it)"},
    {"Tab", "next pane: steps, findings, packets (Shift-Tab: back)"},
    {"Up/Down", "select a step / a finding, scroll the packets"},
    {"1-5", "select a step"},
    {"Enter", "show the selected step's findings"},
    {"r", "re-run the selected step"},
    {"c", "start / stop the two-end capture"},
    {"p", "pause / resume the packet view (capture keeps recording)"},
    {"PgUp/PgDn", "scroll the packets (findings pane: the finding's text)"},
    {"Home/End", "oldest packet / follow the newest"},
    {"k", "filter packets by kind: ESP, IKE, keepalive, fragment"},
    {"s", "filter packets by SPI (cycles through the SPIs seen)"},
    {"d", "filter packets by direction: A->B, B->A"},
    {"l", "show lost packets only"},
    {"x", "clear the packet filters"},
    {"m", "active MTU sweep (asks first: sends traffic on the tunnel)"},
    {"e", "export the evidence bundle"},
    {"q", "quit (asks while capturing; remote processes are stopped)"},
    {NULL, NULL},
};

void ui_init(struct ui_state *ui, int ascii)
{
    memset(ui, 0, sizeof *ui);
    ui->step_sel = STEP_FIRST;
    ui->follow = 1;
    ui->filter.dir = -1;
    ui->ascii = ascii;
    ui->page = 10;
}

void ui_follow_diagnosis(struct ui_state *ui, const struct model *m)
{
    if (ui->user_moved)
        return;
    const struct finding *p = m->findings ? findings_principal(m->findings) : NULL;
    int step = p ? p->step : m->running_step;
    if (step < STEP_FIRST || step > STEP_LAST || step == ui->step_sel)
        return;
    ui->step_sel = step;
    ui->finding_sel = 0;
    ui->detail_top = 0;
    if (p) {
        size_t idx[64];
        size_t n = ui_step_findings(m, step, idx, 64);
        for (size_t i = 0; i < n && i < 64; i++)
            if (&m->findings->v[idx[i]] == p)
                ui->finding_sel = (int)i;
    }
}

size_t ui_step_findings(const struct model *m, int step, size_t *idx, size_t max)
{
    size_t n = 0;
    if (!m->findings)
        return 0;
    for (size_t i = 0; i < m->findings->n; i++)
        if (m->findings->v[i].step == step) {
            if (n < max)
                idx[n] = i;
            n++;
        }
    return n;
}

int ui_filter_match(const struct ui_filter *f, const struct timeline *tl, const struct tl_row *r)
{
    const struct tl_pkt *p = (r->have & 1u) ? &r->p[0] : &r->p[1];
    if (f->lost_only && !(r->flags & TL_ROW_LOST))
        return 0;
    if (f->kind != FILTER_KIND_ALL && p->kind != f->kind)
        return 0;
    if (f->has_spi && (p->kind != CAPTURE_ESP || p->spi != f->spi))
        return 0;
    if (f->dir >= 0 && timeline_row_dir(tl, r) != f->dir)
        return 0;
    return 1;
}

static uint64_t view_end(const struct ui_state *ui, const struct timeline *tl)
{
    uint64_t end = timeline_end(tl);
    if (ui->paused && ui->pause_end < end)
        end = ui->pause_end;
    return end;
}

/* Moves the anchor by delta matching rows (negative: back in time). */
static void scroll(struct ui_state *ui, const struct model *m, long delta)
{
    const struct timeline *tl = m->tl;
    if (!tl)
        return;
    uint64_t first = timeline_first(tl), end = view_end(ui, tl);
    if (end <= first)
        return;
    uint64_t a = ui->follow ? end - 1 : ui->anchor;
    if (a < first)
        a = first;
    if (a >= end)
        a = end - 1;
    if (delta < 0) {
        /* the anchor is the last row shown: going back a page means the
         * rows above the page become the last ones */
        for (long n = -delta; n > 0 && a > first;) {
            a--;
            const struct tl_row *r = timeline_row(tl, a);
            if (r && ui_filter_match(&ui->filter, tl, r))
                n--;
        }
        ui->follow = 0;
        ui->anchor = a;
        return;
    }
    long n = delta;
    while (n > 0 && a + 1 < end) {
        a++;
        const struct tl_row *r = timeline_row(tl, a);
        if (r && ui_filter_match(&ui->filter, tl, r))
            n--;
    }
    if (a + 1 >= end) {
        ui->follow = 1;
        return;
    }
    ui->anchor = a;
}

static void next_spi(struct ui_state *ui, const struct model *m)
{
    uint32_t spis[64];
    size_t n = 0;
    for (int s = 0; s < 2; s++)
        for (size_t i = 0; i < m->end[s].n_sa && n < 64; i++)
            spis[n++] = m->end[s].sa[i].spi;
    if (m->tl)
        n += timeline_spis(m->tl, spis + n, 64 - n);
    /* first distinct SPI after the current one */
    int found = !ui->filter.has_spi;
    for (size_t i = 0; i < n; i++) {
        int dup = 0;
        for (size_t j = 0; j < i; j++)
            dup |= spis[j] == spis[i];
        if (dup)
            continue;
        if (found) {
            ui->filter.has_spi = 1;
            ui->filter.spi = spis[i];
            return;
        }
        if (spis[i] == ui->filter.spi)
            found = 1;
    }
    ui->filter.has_spi = 0;
    ui->filter.spi = 0;
}

static int capture_running(const struct model *m)
{
    return m->capture == MC_RUNNING || m->capture == MC_PAUSED || m->capture == MC_STARTING;
}

static int act(struct ui_state *ui, int a)
{
    ui->action = a;
    return TUI_HANDLED | TUI_REDRAW | TUI_ACTION;
}

static int modal_key(struct ui_state *ui, const struct model *m, int key)
{
    switch (ui->modal) {
    case MODAL_HELP: {
        /* a help taller than the terminal scrolls; any other key closes it */
        int d = key == UK_UP ? -1 : key == UK_DOWN ? 1 : key == UK_PPAGE ? -10 : key == UK_NPAGE ? 10 : 0;
        if (d && ui->help_max > 0) {
            ui->help_top += d;
            if (ui->help_top > ui->help_max)
                ui->help_top = ui->help_max;
            if (ui->help_top < 0)
                ui->help_top = 0;
            return TUI_HANDLED | TUI_REDRAW;
        }
        ui->modal = MODAL_NONE;
        return TUI_HANDLED | TUI_REDRAW;
    }
    case MODAL_QUIT:
        ui->modal = MODAL_NONE;
        if (key == 'y' || key == 'Y')
            return TUI_HANDLED | TUI_QUIT;
        return TUI_HANDLED | TUI_REDRAW;
    case MODAL_SWEEP:
        ui->modal = MODAL_NONE;
        if (key == 'y' || key == 'Y')
            return act(ui, ACT_SWEEP);
        return TUI_HANDLED | TUI_REDRAW;
    }
    return 0;
}

int tui_handle_key(struct ui_state *ui, const struct model *m, int key)
{
    if (key == UK_RESIZE)
        return TUI_HANDLED | TUI_REDRAW;
    if (m->hostkey.pending) {
        /* nothing else until the host key is answered, explicitly */
        if ((key == 'y' || key == 'Y') && !m->hostkey.changed)
            return act(ui, ACT_HOSTKEY_ACCEPT);
        if (key == 'n' || key == 'N')
            return act(ui, ACT_HOSTKEY_REJECT);
        if (key == 'q')
            return TUI_HANDLED | TUI_QUIT;
        return 0;
    }
    if (ui->modal != MODAL_NONE)
        return modal_key(ui, m, key);

    size_t idx[1];
    size_t nf = ui_step_findings(m, ui->step_sel, idx, 0);
    switch (key) {
    case '?':
        ui->modal = MODAL_HELP;
        ui->help_top = 0;
        return TUI_HANDLED | TUI_REDRAW;
    case 'q':
    case 'Q':
        if (capture_running(m)) {
            ui->modal = MODAL_QUIT;
            return TUI_HANDLED | TUI_REDRAW;
        }
        return TUI_HANDLED | TUI_QUIT;
    case UK_TAB:
        ui->pane = (ui->pane + 1) % PANE_COUNT;
        return TUI_HANDLED | TUI_REDRAW;
    case UK_BTAB:
        ui->pane = (ui->pane + PANE_COUNT - 1) % PANE_COUNT;
        return TUI_HANDLED | TUI_REDRAW;
    case UK_ENTER:
    case '\n':
    case '\r':
        if (ui->pane == PANE_STEPS) {
            ui->pane = PANE_FINDINGS;
            return TUI_HANDLED | TUI_REDRAW;
        }
        return 0;
    case UK_UP:
    case UK_DOWN: {
        int d = key == UK_UP ? -1 : 1;
        if (ui->pane == PANE_STEPS) {
            ui->user_moved = 1;
            int s = ui->step_sel + d;
            if (s < STEP_FIRST || s > STEP_LAST)
                return TUI_HANDLED;
            ui->step_sel = s;
            ui->finding_sel = 0;
            ui->detail_top = 0;
        } else if (ui->pane == PANE_FINDINGS) {
            ui->user_moved = 1;
            int f = ui->finding_sel + d;
            if (f < 0 || (size_t)f >= nf)
                return TUI_HANDLED;
            ui->finding_sel = f;
            ui->detail_top = 0;
        } else {
            scroll(ui, m, d);
        }
        return TUI_HANDLED | TUI_REDRAW;
    }
    case UK_PPAGE:
    case UK_NPAGE:
        if (ui->pane == PANE_FINDINGS || (ui->pane == PANE_STEPS && !ui->wide)) {
            /* the selected finding's text, when it is longer than its room
             * (in the wide layout the packets are on screen too: PgUp/PgDn
             * scroll them unless the findings pane has the focus) */
            int t = ui->detail_top + (key == UK_PPAGE ? -5 : 5);
            if (t > ui->detail_max)
                t = ui->detail_max;
            ui->detail_top = t < 0 ? 0 : t;
            return TUI_HANDLED | TUI_REDRAW;
        }
        scroll(ui, m, key == UK_PPAGE ? -(long)ui->page : (long)ui->page);
        return TUI_HANDLED | TUI_REDRAW;
    case UK_HOME:
        if (m->tl) {
            ui->follow = 0;
            ui->anchor = timeline_first(m->tl);
            scroll(ui, m, (long)ui->page - 1);
        }
        return TUI_HANDLED | TUI_REDRAW;
    case UK_END:
        ui->follow = 1;
        return TUI_HANDLED | TUI_REDRAW;
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
        ui->step_sel = key - '0';
        ui->finding_sel = 0;
        ui->detail_top = 0;
        ui->user_moved = 1;
        return TUI_HANDLED | TUI_REDRAW;
    case 'r':
        if (m->running_step)
            return TUI_HANDLED;
        return act(ui, ACT_RERUN);
    case 'c':
        return act(ui, ACT_CAPTURE_TOGGLE);
    case 'p':
        if (!m->tl)
            return TUI_HANDLED;
        ui->paused = !ui->paused;
        ui->pause_end = timeline_end(m->tl);
        return TUI_HANDLED | TUI_REDRAW;
    case 'm':
        ui->modal = MODAL_SWEEP;
        return TUI_HANDLED | TUI_REDRAW;
    case 'e':
        return act(ui, ACT_EXPORT);
    case 'k': {
        static const int kinds[] = {FILTER_KIND_ALL, CAPTURE_ESP, CAPTURE_IKE, CAPTURE_KEEPALIVE,
                                    CAPTURE_FRAGMENT};
        size_t i = 0;
        while (i < 5 && kinds[i] != ui->filter.kind)
            i++;
        ui->filter.kind = kinds[(i + 1) % 5];
        return TUI_HANDLED | TUI_REDRAW;
    }
    case 's':
        next_spi(ui, m);
        return TUI_HANDLED | TUI_REDRAW;
    case 'd':
        ui->filter.dir = ui->filter.dir == -1 ? TL_AB : ui->filter.dir == TL_AB ? TL_BA : -1;
        return TUI_HANDLED | TUI_REDRAW;
    case 'l':
        ui->filter.lost_only = !ui->filter.lost_only;
        return TUI_HANDLED | TUI_REDRAW;
    case 'x':
        memset(&ui->filter, 0, sizeof ui->filter);
        ui->filter.dir = -1;
        return TUI_HANDLED | TUI_REDRAW;
    }
    return 0;
}
