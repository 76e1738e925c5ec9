#include "tui/view.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "tui/safe_text.h"

const char *role_name(int role)
{
    static const char *const names[ROLE_COUNT] = {
        "normal", "title", "heading", "border", "ok", "info", "warn", "fail",
        "loss", "dim", "selected", "current", "key", "a", "b",
    };
    return role >= 0 && role < ROLE_COUNT ? names[role] : "?";
}

/* ---- glyphs: UTF-8 and ASCII ------------------------------------------- */

enum glyph {
    G_H, G_V, G_TL, G_TR, G_BL, G_BR, G_ARROW_AB, G_ARROW_BA, G_LOST, G_OK, G_WARN, G_FAIL,
    G_RUN, G_PENDING, G_SKIP, G_MARK, G_DOT, G_ELLIPSIS, G_UP, G_DOWN, G_COUNT
};

static const char *const glyph_utf8[G_COUNT] = {
    "─", "│", "┌", "┐", "└", "┘", "─▶", "◀─", "✗", "✓", "!", "✗", "●", "·", "-", "▶", "●", "…", "▲", "▼",
};
static const char *const glyph_ascii[G_COUNT] = {
    "-", "|", "+", "+", "+", "+", "->", "<-", "X", "+", "!", "X", "*", ".", "-", ">", "*", "...", "^", "v",
};
static const char *const spark_utf8[8] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
static const char spark_ascii[] = "_.:-=+*#";

struct ctx {
    struct view *v;
    const struct model *m;
    const struct ui_state *ui;
    int ascii;
    struct buf tmp; /* scratch for sanitising */
};

static const char *G(const struct ctx *c, enum glyph g)
{
    return c->ascii ? glyph_ascii[g] : glyph_utf8[g];
}

/* ---- cells ------------------------------------------------------------- */

static struct vcell *cell(struct view *v, int r, int col)
{
    if (r < 0 || r >= v->rows || col < 0 || col >= v->cols)
        return NULL;
    return &v->cell[(size_t)r * (size_t)v->cols + (size_t)col];
}

/* Decodes one valid UTF-8 character (safe_text made it valid); returns its length. */
static size_t utf8_next(const char *s, uint32_t *cp)
{
    const unsigned char *p = (const unsigned char *)s;
    if (p[0] < 0x80) {
        *cp = p[0];
        return 1;
    }
    size_t n = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : 2;
    uint32_t c = p[0] & (n == 4 ? 0x07u : n == 3 ? 0x0fu : 0x1fu);
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            *cp = '?';
            return 1;
        }
        c = (c << 6) | (p[i] & 0x3fu);
    }
    *cp = c;
    return n;
}

static int cp_width(uint32_t cp)
{
    if (cp < 0x80)
        return 1;
    int w = wcwidth((wchar_t)cp);
    return w < 0 ? 1 : w;
}

/* Writes already-safe UTF-8 at (r, col), at most maxw cells.  Returns cells used. */
static int put_raw(struct ctx *c, int r, int col, int maxw, int role, const char *s)
{
    int used = 0;
    while (*s && used < maxw) {
        uint32_t cp;
        size_t n = utf8_next(s, &cp);
        int w = cp_width(cp);
        if (w == 0) { /* combining: dropped, the base character stands */
            s += n;
            continue;
        }
        if (used + w > maxw)
            break;
        struct vcell *x = cell(c->v, r, col + used);
        if (!x)
            break;
        if (c->ascii && cp >= 0x80) {
            strcpy(x->ch, "?");
        } else {
            memcpy(x->ch, s, n);
            x->ch[n] = '\0';
        }
        x->role = (uint8_t)role;
        if (w == 2) {
            struct vcell *y = cell(c->v, r, col + used + 1);
            if (y) {
                y->ch[0] = '\0';
                y->role = (uint8_t)role;
            }
        }
        used += c->ascii ? 1 : w;
        s += n;
    }
    return used;
}

/* Writes remote (or any outside) text, made terminal-safe first. */
static int put(struct ctx *c, int r, int col, int maxw, int role, const char *s)
{
    if (!s)
        return 0;
    buf_reset(&c->tmp);
    if (safe_text(s, strlen(s), 0, &c->tmp))
        return 0;
    return put_raw(c, r, col, maxw, role, c->tmp.data);
}

static int putf(struct ctx *c, int r, int col, int maxw, int role, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
static int putf(struct ctx *c, int r, int col, int maxw, int role, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    return put(c, r, col, maxw, role, line);
}

/* Cells that already-safe UTF-8 takes (as put_raw counts them). */
static int text_cells(const struct ctx *c, const char *s)
{
    int used = 0;
    while (*s) {
        uint32_t cp;
        s += utf8_next(s, &cp);
        int w = cp_width(cp);
        used += w == 0 ? 0 : c->ascii ? 1 : w;
    }
    return used;
}

/* Like put(), but text longer than maxw is cut with an ellipsis at its end,
 * so that whatever follows in the row keeps its place. */
static int put_fit(struct ctx *c, int r, int col, int maxw, int role, const char *s)
{
    if (!s || maxw <= 0)
        return 0;
    buf_reset(&c->tmp);
    if (safe_text(s, strlen(s), 0, &c->tmp))
        return 0;
    if (text_cells(c, c->tmp.data) <= maxw)
        return put_raw(c, r, col, maxw, role, c->tmp.data);
    const char *el = G(c, G_ELLIPSIS);
    int ew = text_cells(c, el);
    if (maxw <= ew)
        return put_raw(c, r, col, maxw, role, c->tmp.data);
    int n = put_raw(c, r, col, maxw - ew, role, c->tmp.data);
    return n + put_raw(c, r, col + n, ew, role, el);
}

static void fill(struct ctx *c, int r, int col, int w, int role, const char *g)
{
    for (int i = 0; i < w; i++)
        put_raw(c, r, col + i, 1, role, g);
}

static void set_role(struct ctx *c, int r, int col, int w, int role)
{
    for (int i = 0; i < w; i++) {
        struct vcell *x = cell(c->v, r, col + i);
        if (x)
            x->role = (uint8_t)role;
    }
}

/* A horizontal rule with a title on it. */
static void rule(struct ctx *c, int r, int col, int w, const char *title, int title_role)
{
    fill(c, r, col, w, ROLE_BORDER, G(c, G_H));
    if (title && w > 6) {
        put_raw(c, r, col + 1, 1, ROLE_BORDER, " ");
        int n = put(c, r, col + 2, w - 4, title_role, title);
        put_raw(c, r, col + 2 + n, 1, ROLE_BORDER, " ");
    }
}

/* Word-wraps text into rows [r, r_end) at col, width w; returns the next free row. */
static int wrap(struct ctx *c, int r, int r_end, int col, int w, int role, const char *text,
                int indent)
{
    if (!text || w <= indent + 4)
        return r;
    buf_reset(&c->tmp);
    if (safe_text(text, strlen(text), 1, &c->tmp))
        return r;
    char *s = buf_take(&c->tmp);
    char *p = s;
    int first = 1;
    while (*p && r < r_end) {
        int lw = w - (first ? 0 : indent);
        int lc = col + (first ? 0 : indent);
        /* take as many whole words as fit in lw cells (bytes are a bound on cells) */
        size_t len = strcspn(p, "\n");
        size_t take = len;
        int cells = 0;
        size_t i = 0, last_space = 0;
        while (i < len) {
            uint32_t cp;
            size_t n = utf8_next(p + i, &cp);
            if (cells + 1 > lw)
                break;
            if (cp == ' ')
                last_space = i;
            cells += c->ascii ? 1 : cp_width(cp);
            i += n;
        }
        if (i < len) {
            take = last_space > 0 ? last_space : i;
        }
        char save = p[take];
        p[take] = '\0';
        put_raw(c, r, lc, lw, role, p);
        p[take] = save;
        p += take;
        while (*p == ' ')
            p++;
        if (*p == '\n')
            p++;
        r++;
        first = 0;
    }
    free(s);
    return r;
}

/* ---- text of values ---------------------------------------------------- */

static void human(char *out, size_t n, int64_t v)
{
    if (v < 0)
        snprintf(out, n, "?");
    else if (v < 10000)
        snprintf(out, n, "%" PRId64, v);
    else if (v < 10000000)
        snprintf(out, n, "%.1fk", (double)v / 1e3);
    else if (v < 10000000000LL)
        snprintf(out, n, "%.1fM", (double)v / 1e6);
    else
        snprintf(out, n, "%.1fG", (double)v / 1e9);
}

static const char *transport_text(int t)
{
    switch (t) {
    case MT_UDP4500: return "ESP-in-UDP/4500";
    case MT_RAW_ESP: return "raw ESP (IP 50)";
    default: return "transport ?";
    }
}

static int status_role(enum step_status s)
{
    switch (s) {
    case STEP_OK: return ROLE_OK;
    case STEP_INFO: return ROLE_INFO;
    case STEP_WARNING: return ROLE_WARN;
    case STEP_FAILED: return ROLE_FAIL;
    case STEP_RUNNING: return ROLE_CURRENT;
    default: return ROLE_DIM;
    }
}

static const char *status_glyph(const struct ctx *c, enum step_status s)
{
    switch (s) {
    case STEP_OK:
    case STEP_INFO: return G(c, G_OK);
    case STEP_WARNING: return G(c, G_WARN);
    case STEP_FAILED: return G(c, G_FAIL);
    case STEP_RUNNING: return G(c, G_RUN);
    case STEP_SKIPPED: return G(c, G_SKIP);
    default: return G(c, G_PENDING);
    }
}

static const char *status_text(enum step_status s)
{
    return s == STEP_FAILED ? "failure" : step_status_name(s);
}

static int sev_role(enum severity s)
{
    switch (s) {
    case SEV_OK: return ROLE_OK;
    case SEV_INFO: return ROLE_INFO;
    case SEV_WARNING: return ROLE_WARN;
    default: return ROLE_FAIL;
    }
}

static const char *sev_glyph(const struct ctx *c, enum severity s)
{
    switch (s) {
    case SEV_OK:
    case SEV_INFO: return G(c, G_OK);
    case SEV_WARNING: return G(c, G_WARN);
    default: return G(c, G_FAIL);
    }
}

static const char *capture_text(int s)
{
    switch (s) {
    case MC_STARTING: return "starting";
    case MC_RUNNING: return "running";
    case MC_PAUSED: return "view paused";
    case MC_STOPPED: return "stopped";
    default: return "off";
    }
}

/* ---- header ------------------------------------------------------------ */

static void header_end(struct ctx *c, int r, int side)
{
    const struct model_end *e = &c->m->end[side];
    int x = 0, w = c->v->cols;
    x += put_raw(c, r, x, w - x, side ? ROLE_B : ROLE_A, side ? " B " : " A ");
    x += put(c, r, x, 20, side ? ROLE_B : ROLE_A, e->name ? e->name : "?");
    x += 2;
    switch (e->link) {
    case ML_CONNECTING:
        put_raw(c, r, x, w - x, ROLE_DIM, "connecting...");
        return;
    case ML_HOSTKEY:
        put_raw(c, r, x, w - x, ROLE_WARN, "host key not known: answer below");
        return;
    case ML_FAILED:
    case ML_DISCONNECTED:
        x += put_raw(c, r, x, w - x, ROLE_FAIL, e->link == ML_FAILED ? "FAILED" : "DISCONNECTED");
        if (e->error) {
            x += put_raw(c, r, x, w - x, ROLE_FAIL, ": ");
            put(c, r, x, w - x, ROLE_FAIL, e->error);
        }
        return;
    case ML_READY:
        break;
    }
    x += put(c, r, x, 12, e->daemon ? ROLE_NORMAL : ROLE_DIM, e->daemon ? e->daemon : "daemon ?");
    x += 2;
    x += put_raw(c, r, x, w - x, ROLE_DIM, "IKE ");
    x += put(c, r, x, 14, e->ike_state && !strcmp(e->ike_state, "ESTABLISHED") ? ROLE_OK : ROLE_WARN,
             e->ike_state ? e->ike_state : "none");
    x += 2;
    x += put_raw(c, r, x, w - x, ROLE_DIM, "CHILD ");
    x += put(c, r, x, 12, e->child_state && !strcmp(e->child_state, "INSTALLED") ? ROLE_OK : ROLE_WARN,
             e->child_state ? e->child_state : "none");
    x += 2;
    put_raw(c, r, x, w - x, e->behind_nat == TRI_YES ? ROLE_INFO : ROLE_DIM,
            e->behind_nat == TRI_YES ? "behind NAT" : e->behind_nat == TRI_NO ? "not behind NAT" : "NAT ?");
}

static void header(struct ctx *c)
{
    const struct model *m = c->m;
    int w = c->v->cols;
    fill(c, 0, 0, w, ROLE_TITLE, " ");
    char el[32];
    long s = (long)m->elapsed_s;
    snprintf(el, sizeof el, "%02ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    int x = 0;
    if (w >= 100) {
        x += put_raw(c, 0, 0, w, ROLE_TITLE, " tunnelscope ");
        x += put_raw(c, 0, x, w - x, ROLE_TITLE, G(c, G_V));
    }
    x += put_raw(c, 0, x, w - x, ROLE_TITLE, " conn ");
    x += put(c, 0, x, 24, ROLE_TITLE, m->conn ? m->conn : "?");
    x += put_raw(c, 0, x, w - x, ROLE_TITLE, " ");
    x += put_raw(c, 0, x, w - x, ROLE_TITLE, G(c, G_V));
    x += putf(c, 0, x, w - x, ROLE_TITLE, " %s ", transport_text(m->transport));
    x += put_raw(c, 0, x, w - x, ROLE_TITLE, G(c, G_V));
    x += putf(c, 0, x, w - x, ROLE_TITLE, " %s ", el);
    x += put_raw(c, 0, x, w - x, ROLE_TITLE, G(c, G_V));
    x += putf(c, 0, x, w - x, ROLE_TITLE, " capture %s", capture_text(m->capture));
    if (m->capture == MC_RUNNING || m->capture == MC_PAUSED || m->capture == MC_STOPPED)
        putf(c, 0, x, w - x, ROLE_TITLE, " %.0fs", m->capture_s);
    header_end(c, 1, 0);
    header_end(c, 2, 1);
}

/* ---- playbook ---------------------------------------------------------- */

static void steps_list(struct ctx *c, int r, int col, int w)
{
    const struct model *m = c->m;
    for (int s = STEP_FIRST; s <= STEP_LAST; s++, r++) {
        enum step_status st = m->step[s];
        int sel = c->ui->step_sel == s;
        int focus = c->ui->pane == PANE_STEPS;
        int x = col;
        x += put_raw(c, r, x, 2, m->running_step == s ? ROLE_CURRENT : ROLE_NORMAL,
                     m->running_step == s ? G(c, G_MARK) : " ");
        /* the status (glyph, blank, "warning") keeps the last 10 cells of
         * the column; a title too long for the rest is cut with an ellipsis */
        int sw = 10;
        char title[96];
        snprintf(title, sizeof title, "%d %s", s, step_title(s));
        x += put_fit(c, r, x, w - (x - col) - sw - 1, ROLE_NORMAL, title);
        int sx = col + w - sw;
        if (sx < x + 1)
            sx = x + 1;
        int gx = sx + put_raw(c, r, sx, 2, status_role(st), status_glyph(c, st));
        put_raw(c, r, gx + 1, sw - 2, status_role(st), status_text(st));
        if (sel)
            set_role(c, r, col, w, focus ? ROLE_SELECTED : ROLE_CURRENT);
    }
}

/* Findings list of the selected step at [r, r_end); returns the next row. */
static int findings_list(struct ctx *c, int r, int r_end, int col, int w)
{
    const struct model *m = c->m;
    size_t idx[64];
    size_t n = ui_step_findings(m, c->ui->step_sel, idx, 64);
    if (n > 64)
        n = 64;
    int s = c->ui->step_sel;
    if (n == 0) {
        const char *why = m->step[s] == STEP_RUNNING ? (m->activity ? m->activity : "running")
                          : m->step[s] == STEP_PENDING ? "not run yet"
                                                       : "no findings";
        put(c, r, col + 1, w - 1, ROLE_DIM, why);
        return r + 1;
    }
    /* keep the selection visible */
    int avail = r_end - r;
    size_t sel = (size_t)c->ui->finding_sel < n ? (size_t)c->ui->finding_sel : n - 1;
    size_t top = sel >= (size_t)avail ? sel - (size_t)avail + 1 : 0;
    for (size_t i = top; i < n && r < r_end; i++, r++) {
        const struct finding *f = &m->findings->v[idx[i]];
        int x = col + 1;
        x += put_raw(c, r, x, 2, sev_role(f->sev), sev_glyph(c, f->sev));
        x += 1;
        put_fit(c, r, x, w - (x - col), ROLE_NORMAL, f->title);
        if (i == sel)
            set_role(c, r, col, w, c->ui->pane == PANE_FINDINGS ? ROLE_SELECTED : ROLE_CURRENT);
    }
    return r;
}

/* The selected finding in full from row r; returns the next free row. */
static int finding_text(struct ctx *c, int r, int r_end, int col, int w)
{
    const struct model *m = c->m;
    size_t idx[64];
    size_t n = ui_step_findings(m, c->ui->step_sel, idx, 64);
    if (n > 64)
        n = 64;
    if (n == 0 || r >= r_end)
        return r;
    size_t sel = (size_t)c->ui->finding_sel < n ? (size_t)c->ui->finding_sel : n - 1;
    const struct finding *f = &m->findings->v[idx[sel]];
    int x = col + put_raw(c, r, col, w, sev_role(f->sev), sev_glyph(c, f->sev));
    x += put_raw(c, r, x, 1, ROLE_NORMAL, " ");
    x += put_raw(c, r, x, w - (x - col), sev_role(f->sev), severity_name(f->sev));
    x += put_raw(c, r, x, 2, ROLE_NORMAL, "  ");
    put(c, r, x, w - (x - col), ROLE_DIM, f->id);
    r++;
    r = wrap(c, r, r_end, col, w, ROLE_HEADING, f->title, 2);
    if (f->decision && r < r_end) {
        int dx = col + put_raw(c, r, col, w, ROLE_KEY, "Decision: ");
        r = wrap(c, r, r_end, dx, w - (dx - col), ROLE_NORMAL, f->decision, 0);
    }
    if (f->n_ev && r < r_end)
        put_raw(c, r++, col, w, ROLE_DIM, "Evidence:");
    for (size_t i = 0; i < f->n_ev && r < r_end; i++) {
        const struct evidence *e = &f->ev[i];
        int ex = col + 1;
        ex += put(c, r, ex, 16, e->peer ? ROLE_HEADING : ROLE_DIM, e->peer ? e->peer : "both");
        ex += put_raw(c, r, ex, 2, ROLE_DIM, ": ");
        put(c, r, ex, w - (ex - col), ROLE_DIM, e->source);
        r++;
        if (e->detail)
            r = wrap(c, r, r_end, col + 3, w - 3, ROLE_NORMAL, e->detail, 0);
    }
    return r;
}

#define DETAIL_MAX_LINES 400

/* The selected finding in rows [r, r_end): laid out on a scratch grid of
 * the same width, then the lines from ui->detail_top copied in; when it is
 * longer than its room, the last row says so and which key shows the rest. */
static void finding_detail(struct ctx *c, int r, int r_end, int col, int w)
{
    int h = r_end - r;
    if (h <= 0 || w <= 0)
        return;
    struct view *v = c->v;
    struct view s = {.rows = DETAIL_MAX_LINES, .cols = v->cols};
    s.cell = calloc((size_t)s.rows * (size_t)s.cols, sizeof *s.cell);
    if (!s.cell)
        return;
    for (size_t i = 0; i < (size_t)s.rows * (size_t)s.cols; i++)
        strcpy(s.cell[i].ch, " "); /* "" is the right half of a wide character: never a blank */
    c->v = &s;
    int used = finding_text(c, 0, s.rows, col, w);
    c->v = v;
    int more = used > h ? used - (h - 1) : 0; /* the last row tells of the rest */
    int top = c->ui->detail_top < more ? c->ui->detail_top : more;
    if (top < 0)
        top = 0;
    int shown = more ? h - 1 : h;
    for (int i = 0; i < shown && top + i < used; i++)
        for (int x = col; x < col + w && x < v->cols; x++) {
            struct vcell *to = cell(v, r + i, x);
            if (to)
                *to = s.cell[(size_t)(top + i) * (size_t)s.cols + (size_t)x];
        }
    if (more) {
        char t[96];
        snprintf(t, sizeof t, "%s lines %d-%d of %d  %s", top < more ? G(c, G_DOWN) : G(c, G_UP), top + 1,
                 top + shown, used,
                 top == 0 ? (c->v->wide && c->ui->pane != PANE_FINDINGS ? "Tab to the findings, PgDn: more"
                                                                          : "PgDn: more")
                 : top < more ? "PgUp/PgDn"
                              : "PgUp: back");
        put_raw(c, r_end - 1, col, w, ROLE_DIM, t);
    }
    if (v->detail_max < more)
        v->detail_max = more;
    free(s.cell);
}

static void playbook_pane(struct ctx *c, int r0, int r1, int wide)
{
    int w = c->v->cols;
    char title[64];
    snprintf(title, sizeof title, "Playbook: step %d %s", c->ui->step_sel, step_title(c->ui->step_sel));
    rule(c, r0, 0, w, title, ROLE_HEADING);
    int r = r0 + 1;
    if (wide) {
        int lw = w * 2 / 5;
        if (lw > 60)
            lw = 60;
        steps_list(c, r, 0, lw);
        rule(c, r + 5, 0, lw, "Findings", ROLE_HEADING);
        findings_list(c, r + 6, r1, 0, lw);
        for (int y = r; y < r1; y++)
            put_raw(c, y, lw, 1, ROLE_BORDER, G(c, G_V));
        finding_detail(c, r, r1, lw + 2, w - lw - 2);
        return;
    }
    steps_list(c, r, 0, w);
    r += 5;
    rule(c, r++, 0, w, "Findings", ROLE_HEADING);
    int list_end = r + 3 < r1 ? r + 3 : r1;
    r = findings_list(c, r, list_end, 0, w);
    if (r < r1)
        fill(c, r++, 0, w, ROLE_BORDER, G(c, G_H));
    finding_detail(c, r, r1, 0, w);
}

/* ---- the two ends ------------------------------------------------------ */

/* The packets per second of the last minute, in as many cells as there
 * are (at most one per second): each cell covers ceil(60 / cells) seconds,
 * the newest at the right, so that the line always spans the last minute. */
static void sparkline(struct ctx *c, int r, int col, int w, int side, uint32_t spi)
{
    if (w <= 0 || !c->m->tl)
        return;
    uint32_t rate[TL_RATE_SECONDS];
    timeline_spi_rate(c->m->tl, side, spi, c->m->now_ns, rate);
    if (w > TL_RATE_SECONDS)
        w = TL_RATE_SECONDS;
    int per = (TL_RATE_SECONDS + w - 1) / w;      /* seconds per cell */
    int cells = (TL_RATE_SECONDS + per - 1) / per; /* <= w */
    uint64_t sum[TL_RATE_SECONDS] = {0}, max = 0;
    for (int i = 0; i < cells; i++) {
        /* cell i (from the left) ends (cells - i - 1) * per seconds ago */
        int hi = TL_RATE_SECONDS - (cells - 1 - i) * per, lo = hi - per < 0 ? 0 : hi - per;
        for (int k = lo; k < hi; k++)
            sum[i] += rate[k];
        if (sum[i] > max)
            max = sum[i];
    }
    for (int i = 0; i < cells; i++) {
        if (!sum[i]) {
            put_raw(c, r, col + i, 1, ROLE_DIM, c->ascii ? " " : G(c, G_PENDING));
            continue;
        }
        int level = (int)(sum[i] * 7 / max);
        char a[2] = {spark_ascii[level], 0};
        put_raw(c, r, col + i, 1, ROLE_OK, c->ascii ? a : spark_utf8[level]);
    }
}

static void sa_rows(struct ctx *c, int r, int side, int col, int w, int nrows)
{
    const struct model_end *e = &c->m->end[side];
    if (e->n_sa == 0) {
        put_raw(c, r, col, w, ROLE_DIM, e->link == ML_READY ? "no CHILD SA" : "-");
        return;
    }
    for (size_t i = 0; i < e->n_sa && (int)i < nrows; i++) {
        const struct model_sa *sa = &e->sa[i];
        char b[16], p[16];
        human(b, sizeof b, sa->bytes);
        human(p, sizeof p, sa->packets);
        int x = col;
        x += putf(c, r + (int)i, x, w, ROLE_NORMAL, "%-3s %08" PRIx32 " %6sB %6sp ", sa->out ? "out" : "in",
                  sa->spi, b, p);
        sparkline(c, r + (int)i, x, w - (x - col), side, sa->spi);
    }
}

static const char *ike_exchange(uint8_t x)
{
    switch (x) {
    case 34: return "SA_INIT";
    case 35: return "AUTH";
    case 36: return "CHILD_SA";
    case 37: return "INFO";
    default: return "?";
    }
}

static void pkt_text(const struct tl_pkt *p, char *out, size_t n)
{
    switch (p->kind) {
    case CAPTURE_ESP:
        snprintf(out, n, "ESP %08" PRIx32 " #%" PRIu32 " %u", p->spi, p->seq, p->len);
        break;
    case CAPTURE_IKE:
        snprintf(out, n, "IKE %s %s #%" PRIu32 " %u", ike_exchange(p->exchange),
                 (p->ike_flags & CAPTURE_IKE_F_RESPONSE) ? "resp" : "req", p->seq, p->len);
        break;
    case CAPTURE_KEEPALIVE:
        snprintf(out, n, "NAT keepalive");
        break;
    case CAPTURE_FRAGMENT:
        snprintf(out, n, "fragment %u", p->len);
        break;
    default:
        snprintf(out, n, "%s %u", capture_kind_name(p->kind), p->len);
        break;
    }
}

static void packet_row(struct ctx *c, int r, const struct tl_row *row, int x0, int tw, int half, int gw)
{
    const struct timeline *tl = c->m->tl;
    int64_t t0 = timeline_start(tl);
    int64_t ts = timeline_row_ts(row);
    double rel = t0 ? (double)(ts - t0) / 1e9 : 0.0;
    putf(c, r, x0, tw, ROLE_DIM, "%8.3f", rel);
    int dir = timeline_row_dir(tl, row);
    int both = row->have == 3u;
    int lost = (row->flags & TL_ROW_LOST) != 0;
    for (int x = 0; x < 2; x++) {
        int col = x0 + (x ? tw + half + gw : tw);
        char t[96];
        if (row->have & (1u << x)) {
            pkt_text(&row->p[x], t, sizeof t);
            int len = (int)strlen(t); /* ASCII */
            /* A's packets lean on the gutter, B's start from it */
            int at = x == 0 && len < half - 1 ? col + half - 1 - len : col + 1;
            put(c, r, at, half - 1, ROLE_NORMAL, t);
            continue;
        }
        int other = 1 - x;
        int receiver = dir == TL_AB ? 1 : dir == TL_BA ? 0 : -1;
        if (!timeline_matchable(row->p[other].kind))
            continue;
        if (receiver == x && lost) {
            int n = put_raw(c, r, col + 1, half - 1, ROLE_LOSS, G(c, G_LOST));
            if (row->p[other].kind == CAPTURE_ESP)
                putf(c, r, col + 1 + n, half - 1 - n, ROLE_LOSS, " LOST #%" PRIu32 " never arrived",
                     row->p[other].seq);
            else if (row->p[other].kind == CAPTURE_IKE)
                putf(c, r, col + 1 + n, half - 1 - n, ROLE_LOSS, " LOST IKE #%" PRIu32 " never arrived",
                     row->p[other].seq);
            else
                put_raw(c, r, col + 1 + n, half - 1 - n, ROLE_LOSS, " LOST keepalive never arrived");
            set_role(c, r, col, half, ROLE_LOSS);
        } else if (receiver == x && (row->flags & TL_ROW_OUTSIDE)) {
            put_raw(c, r, col + 1, half - 1, ROLE_DIM, "(not capturing)");
        } else if (receiver == x) {
            put_raw(c, r, col + 1, half - 1, ROLE_DIM, G(c, G_ELLIPSIS));
        } else if (receiver == other) {
            int seen = timeline_covered(tl, x, row->p[other].ts_ns);
            put_raw(c, r, col + 1, half - 1, ROLE_DIM, seen ? "(not seen sent)" : "(not capturing)");
        }
    }
    const char *g = dir == TL_AB ? G(c, G_ARROW_AB) : dir == TL_BA ? G(c, G_ARROW_BA) : NULL;
    if (g)
        put_raw(c, r, x0 + tw + half + (gw - 2) / 2, gw, lost ? ROLE_LOSS : both ? ROLE_OK : ROLE_DIM, g);
}

static void filter_text(const struct ui_state *ui, char *out, size_t n)
{
    const struct ui_filter *f = &ui->filter;
    size_t o = 0;
    out[0] = '\0';
    if (f->kind != FILTER_KIND_ALL)
        o += (size_t)snprintf(out + o, n - o, " %s", capture_kind_name(f->kind));
    if (f->has_spi && o < n)
        o += (size_t)snprintf(out + o, n - o, " spi %08" PRIx32, f->spi);
    if (f->dir >= 0 && o < n)
        o += (size_t)snprintf(out + o, n - o, " %s", f->dir == TL_AB ? "A->B" : "B->A");
    if (f->lost_only && o < n)
        snprintf(out + o, n - o, " lost-only");
}

static int ends_pane(struct ctx *c, int r0, int r1)
{
    const struct model *m = c->m;
    const struct ui_state *ui = c->ui;
    int w = c->v->cols;
    int tw = 9, gw = 4;
    int half = (w - tw - gw) / 2;
    int x0 = 0;
    if (half > 64) { /* wide: keep the two halves close, centred */
        half = 64;
        x0 = (w - tw - gw - 2 * half) / 2;
    }
    int bx = x0 + tw + half + gw;
    /* titles */
    fill(c, r0, 0, w, ROLE_BORDER, G(c, G_H));
    for (int x = 0; x < 2; x++) {
        int col = x ? bx : x0 + tw;
        char t[96];
        snprintf(t, sizeof t, " %s %s ", x ? "B" : "A", m->end[x].name ? m->end[x].name : "?");
        int n = put(c, r0, col + 1, half - 2, x ? ROLE_B : ROLE_A, t);
        if (m->end[x].link == ML_DISCONNECTED || m->end[x].link == ML_FAILED)
            put_raw(c, r0, col + 1 + n, half - 2 - n, ROLE_FAIL, " disconnected ");
    }
    int r = r0 + 1;
    /* SAs */
    int nsa = (int)(m->end[0].n_sa > m->end[1].n_sa ? m->end[0].n_sa : m->end[1].n_sa);
    if (nsa < 1)
        nsa = 1;
    if (nsa > 2 && r1 - r0 < 20)
        nsa = 2;
    put_raw(c, r, x0, tw, ROLE_DIM, "SAs");
    for (int x = 0; x < 2; x++)
        sa_rows(c, r, x, x ? bx + 1 : x0 + tw + 1, half - 1, nsa);
    r += nsa;
    /* column heads and the filter */
    fill(c, r, 0, w, ROLE_BORDER, G(c, G_H));
    put_raw(c, r, x0, tw, ROLE_HEADING, "time s");
    char f[96];
    filter_text(ui, f, sizeof f);
    int hx = x0 + tw + 1;
    hx += put_raw(c, r, hx, half, ROLE_HEADING, " packets ");
    if (f[0]) {
        hx += put_raw(c, r, hx, half, ROLE_WARN, " filter:");
        hx += put_raw(c, r, hx, half, ROLE_WARN, f);
        hx += put_raw(c, r, hx, 1, ROLE_WARN, " ");
    }
    if (ui->paused)
        hx += put_raw(c, r, hx + 1, 12, ROLE_WARN, " PAUSED ") + 1;
    if (!ui->follow)
        put_raw(c, r, hx + 1, w - hx - 1, ROLE_WARN, " scrolled back (End: follow) ");
    r++;
    int page = r1 - r;
    if (page < 1)
        return 1;
    const struct timeline *tl = m->tl;
    if (!tl || timeline_end(tl) == timeline_first(tl)) {
        const char *hint = m->capture == MC_STARTING ? "starting the capture on both ends..."
                           : m->capture == MC_RUNNING ? "capturing: no IKE/ESP packet yet"
                                                      : "no capture yet: press c to capture at both ends";
        put_raw(c, r, x0 + tw + 1, w - x0 - tw - 1, ROLE_DIM, hint);
        return page;
    }
    /* rows that pass the filter, the last one at the anchor */
    uint64_t first = timeline_first(tl), end = timeline_end(tl);
    if (ui->paused && ui->pause_end < end)
        end = ui->pause_end;
    uint64_t last = ui->follow ? end : ui->anchor + 1;
    if (last > end)
        last = end;
    if (last < first)
        last = first;
    uint64_t *pick = calloc((size_t)page, sizeof *pick);
    if (!pick)
        return page;
    int n = 0;
    for (uint64_t a = last; a > first && n < page;) {
        a--;
        const struct tl_row *row = timeline_row(tl, a);
        if (row && ui_filter_match(&ui->filter, tl, row))
            pick[n++] = a;
    }
    if (n == 0)
        put_raw(c, r, x0 + tw + 1, w - x0 - tw - 1, ROLE_DIM, "no packet matches the filter (x clears it)");
    for (int i = n - 1; i >= 0; i--, r++)
        packet_row(c, r, timeline_row(tl, pick[i]), x0, tw, half, gw);
    free(pick);
    return page;
}

/* ---- totals, status, overlays ------------------------------------------ */

static void totals(struct ctx *c, int r)
{
    int w = c->v->cols;
    int x = 0;
    for (int d = 0; d < 2; d++) {
        char dn[32];
        snprintf(dn, sizeof dn, "%s%s%s", d ? "B" : "A", c->ascii ? "->" : "→", d ? "A" : "B");
        x += put_raw(c, r, x, w - x, ROLE_HEADING, d ? "  " : " ");
        x += put_raw(c, r, x, w - x, ROLE_HEADING, dn);
        if (!c->m->tl) {
            x += put_raw(c, r, x, w - x, ROLE_DIM, " no capture");
            continue;
        }
        const struct tl_totals *t = timeline_totals(c->m->tl, d);
        char s[16], rc[16], l[16];
        human(s, sizeof s, (int64_t)t->sent);
        human(rc, sizeof rc, (int64_t)t->received);
        human(l, sizeof l, (int64_t)t->lost);
        x += putf(c, r, x, w - x, ROLE_NORMAL, " sent %s recv %s ", s, rc);
        /* lost among the packets sent while the receiver was capturing
         * (`tunnelscope correlate`'s loss%: lost / (sent - outside)) */
        uint64_t den = t->sent > t->outside ? t->sent - t->outside : 0;
        double pct = den ? 100.0 * (double)t->lost / (double)den : 0.0;
        x += putf(c, r, x, w - x, t->lost ? ROLE_LOSS : ROLE_OK, "lost %s (%.1f%%)", l, pct);
    }
}

static void status_line(struct ctx *c, int r)
{
    const struct model *m = c->m;
    const struct ui_state *ui = c->ui;
    int w = c->v->cols;
    struct kv { const char *k, *what; int dim; } keys[12];
    int n = 0;
    keys[n++] = (struct kv){"?", "help", 0};
    keys[n++] = (struct kv){"q", "quit", 0};
    keys[n++] = (struct kv){"Tab", "pane", 0};
    if (ui->pane == PANE_CAPTURE) {
        keys[n++] = (struct kv){"PgUp", "back", 0};
        keys[n++] = (struct kv){"k/s/d/l", "filter", 0};
        keys[n++] = (struct kv){"p", ui->paused ? "resume" : "pause", 0};
    } else {
        keys[n++] = (struct kv){"Up/Dn", "select", 0};
        keys[n++] = (struct kv){"r", "re-run", m->running_step != 0};
    }
    int cap = m->capture == MC_RUNNING || m->capture == MC_PAUSED || m->capture == MC_STARTING;
    keys[n++] = (struct kv){"c", cap ? "stop" : "capture", 0};
    keys[n++] = (struct kv){"m", "MTU", 0};
    keys[n++] = (struct kv){"e", m->export_unavailable ? "export n/a" : "export", m->export_unavailable != NULL};
    const char *msg = m->message;
    if (!msg && m->running_step && m->activity)
        msg = m->activity;
    int mcells = 0;
    if (msg) {
        buf_reset(&c->tmp);
        if (safe_text(msg, strlen(msg), 0, &c->tmp) == 0)
            mcells = text_cells(c, c->tmp.data);
    }
    if (msg && m->message_fresh) {
        /* a new outcome (an export's folder, an error) is read in full:
         * the keys after "?:help" give way to it for a few seconds */
        int kw = 0, keep = 0;
        for (int i = 0; i < n; i++) {
            kw += 2 + (int)strlen(keys[i].k) + (int)strlen(keys[i].what);
            if (i == 0 || kw + 2 + mcells <= w)
                keep = i + 1;
            else
                break;
        }
        n = keep;
    }
    int x = 0;
    for (int i = 0; i < n && x < w; i++) {
        x += put_raw(c, r, x, w - x, ROLE_NORMAL, " ");
        x += put_raw(c, r, x, w - x, keys[i].dim ? ROLE_DIM : ROLE_KEY, keys[i].k);
        x += put_raw(c, r, x, w - x, ROLE_DIM, ":");
        x += put_raw(c, r, x, w - x, keys[i].dim ? ROLE_DIM : ROLE_NORMAL, keys[i].what);
    }
    if (msg && w - x > 8) {
        int mx = w - mcells - 1;
        if (mx < x + 2)
            mx = x + 2;
        put_fit(c, r, mx, w - mx, ROLE_WARN, msg);
    }
}

static void box(struct ctx *c, int r0, int c0, int h, int w, const char *title)
{
    for (int r = r0; r < r0 + h; r++)
        fill(c, r, c0, w, ROLE_NORMAL, " ");
    fill(c, r0, c0, w, ROLE_BORDER, G(c, G_H));
    fill(c, r0 + h - 1, c0, w, ROLE_BORDER, G(c, G_H));
    for (int r = r0; r < r0 + h; r++) {
        put_raw(c, r, c0, 1, ROLE_BORDER, G(c, G_V));
        put_raw(c, r, c0 + w - 1, 1, ROLE_BORDER, G(c, G_V));
    }
    put_raw(c, r0, c0, 1, ROLE_BORDER, G(c, G_TL));
    put_raw(c, r0, c0 + w - 1, 1, ROLE_BORDER, G(c, G_TR));
    put_raw(c, r0 + h - 1, c0, 1, ROLE_BORDER, G(c, G_BL));
    put_raw(c, r0 + h - 1, c0 + w - 1, 1, ROLE_BORDER, G(c, G_BR));
    if (title) {
        int n = put_raw(c, r0, c0 + 2, w - 4, ROLE_HEADING, " ");
        n += put(c, r0, c0 + 2 + n, w - 6, ROLE_HEADING, title);
        put_raw(c, r0, c0 + 2 + n, 1, ROLE_HEADING, " ");
    }
}

static void overlay(struct ctx *c)
{
    const struct model *m = c->m;
    int R = c->v->rows, C = c->v->cols;
    int w = C - 4 < 84 ? C - 4 : 84;
    int x0 = (C - w) / 2;
    if (m->hostkey.pending) {
        const struct model_end *e = &m->end[m->hostkey.side];
        int h = 10, r0 = (R - h) / 2, r = r0 + 1;
        box(c, r0, x0, h, w, m->hostkey.changed ? "HOST KEY CHANGED" : "Unknown host key");
        int in = x0 + 2, iw = w - 4;
        char t[160];
        snprintf(t, sizeof t, "%s %s (%s) offers a host key that is %s.", m->hostkey.side ? "B" : "A",
                 e->name ? e->name : "?", m->hostkey.side ? "right" : "left",
                 m->hostkey.changed ? "NOT the one in known_hosts" : "not in known_hosts");
        r = wrap(c, r, r0 + h - 1, in, iw, m->hostkey.changed ? ROLE_FAIL : ROLE_WARN, t, 0);
        put(c, r++, in + 2, iw - 2, ROLE_HEADING, m->hostkey.fingerprint ? m->hostkey.fingerprint : "?");
        snprintf(t, sizeof t, "Check it with the gateway's owner. Known hosts file: %s",
                 m->hostkey.known_hosts ? m->hostkey.known_hosts : "?");
        r = wrap(c, r, r0 + h - 2, in, iw, ROLE_NORMAL, t, 0);
        if (m->hostkey.changed)
            put_raw(c, r0 + h - 2, in, iw, ROLE_FAIL, "Refused (possible man in the middle).  n: close   q: quit");
        else
            put_raw(c, r0 + h - 2, in, iw, ROLE_KEY, "y: trust it and add it   n: refuse   q: quit");
        return;
    }
    switch (c->ui->modal) {
    case MODAL_HELP: {
        int n = 0;
        while (ui_keys[n].key)
            n++;
        int h = n + 4 < R - 2 ? n + 4 : R - 2;
        int r0 = (R - h) / 2;
        int room = h - 3; /* keys between the top border and the last two rows */
        int more = n > room ? n - room : 0;
        int top = c->ui->help_top < more ? c->ui->help_top : more;
        if (top < 0)
            top = 0;
        box(c, r0, x0, h, w, "Keys");
        for (int i = 0; i < room && top + i < n; i++) {
            put_raw(c, r0 + 1 + i, x0 + 2, 10, ROLE_KEY, ui_keys[top + i].key);
            put_fit(c, r0 + 1 + i, x0 + 13, w - 15, ROLE_NORMAL, ui_keys[top + i].what);
        }
        if (more) {
            char t[96];
            snprintf(t, sizeof t, "%s keys %d-%d of %d  Up/Down: scroll  any other key closes this help",
                     top < more ? G(c, G_DOWN) : G(c, G_UP), top + 1, top + room, n);
            put_raw(c, r0 + h - 2, x0 + 2, w - 4, ROLE_DIM, t);
        } else {
            put_raw(c, r0 + h - 2, x0 + 2, w - 4, ROLE_DIM, "any key closes this help");
        }
        c->v->help_max = more;
        return;
    }
    case MODAL_QUIT: {
        int h = 6, r0 = (R - h) / 2;
        box(c, r0, x0, h, w, "Quit?");
        wrap(c, r0 + 1, r0 + 4, x0 + 2, w - 4, ROLE_WARN,
             "A capture is running on both gateways. Quit stops it and the remote tcpdump.", 0);
        put_raw(c, r0 + 4, x0 + 2, w - 4, ROLE_KEY, "y: quit   any other key: stay");
        return;
    }
    case MODAL_SWEEP: {
        int h = 7, r0 = (R - h) / 2;
        box(c, r0, x0, h, w, "Active MTU sweep");
        wrap(c, r0 + 1, r0 + 5, x0 + 2, w - 4, ROLE_WARN,
             "The sweep sends DF pings of growing size through the tunnel from each end: "
             "real traffic on a production tunnel. Run it now?",
             0);
        put_raw(c, r0 + 5, x0 + 2, w - 4, ROLE_KEY, "y: run the sweep   any other key: cancel");
        return;
    }
    }
}

/* ---- the whole screen -------------------------------------------------- */

#define MIN_ROWS 16
#define MIN_COLS 60

struct view view_build(const struct model *m, const struct ui_state *ui, int rows, int cols)
{
    struct view v = {0};
    if (rows < 1 || cols < 1)
        return v;
    v.rows = rows;
    v.cols = cols;
    v.cell = calloc((size_t)rows * (size_t)cols, sizeof *v.cell);
    if (!v.cell)
        return v;
    for (size_t i = 0; i < (size_t)rows * (size_t)cols; i++)
        strcpy(v.cell[i].ch, " ");
    struct ctx c = {&v, m, ui, ui->ascii, BUF_INIT};
    if (rows < MIN_ROWS || cols < MIN_COLS) {
        char t[96];
        snprintf(t, sizeof t, "tunnelscope needs %dx%d (now %dx%d)", MIN_COLS, MIN_ROWS, cols, rows);
        wrap(&c, 0, rows, 0, cols, ROLE_WARN, t, 0);
        buf_free(&c.tmp);
        return v;
    }
    header(&c);
    int body0 = 3, body1 = rows - 2;
    v.wide = cols >= 120 && rows >= 34;
    if (v.wide) {
        int split = body0 + (body1 - body0) * 11 / 20;
        v.page = ends_pane(&c, body0, split);
        playbook_pane(&c, split, body1, 1);
    } else {
        /* tabs: the playbook (steps, findings) or the packets */
        int x = 0;
        int pk = ui->pane == PANE_CAPTURE;
        x += put_raw(&c, body0, x, cols, ROLE_NORMAL, " ");
        x += put_raw(&c, body0, x, cols - x, pk ? ROLE_DIM : ROLE_SELECTED, " Playbook ");
        x += put_raw(&c, body0, x, cols - x, ROLE_NORMAL, " ");
        x += put_raw(&c, body0, x, cols - x, pk ? ROLE_SELECTED : ROLE_DIM, " Packets A|B ");
        put_raw(&c, body0, x + 1, cols - x - 1, ROLE_DIM, "(Tab switches)");
        if (pk)
            v.page = ends_pane(&c, body0 + 1, body1);
        else
            playbook_pane(&c, body0 + 1, body1, 0);
    }
    totals(&c, rows - 2);
    status_line(&c, rows - 1);
    overlay(&c);
    buf_free(&c.tmp);
    return v;
}

void view_feedback(const struct view *v, struct ui_state *ui)
{
    if (v->page > 0)
        ui->page = v->page;
    ui->detail_max = v->detail_max;
    ui->wide = v->wide;
    ui->help_max = v->help_max;
    if (ui->detail_top > ui->detail_max)
        ui->detail_top = ui->detail_max;
    if (ui->help_top > ui->help_max)
        ui->help_top = ui->help_max;
}

void view_free(struct view *v)
{
    if (!v)
        return;
    free(v->cell);
    v->cell = NULL;
}

int view_row_text(const struct view *v, int r, struct buf *out)
{
    if (!v->cell || r < 0 || r >= v->rows)
        return buf_append(out, "", 0);
    size_t start = out->len;
    for (int x = 0; x < v->cols; x++)
        if (buf_puts(out, v->cell[(size_t)r * (size_t)v->cols + (size_t)x].ch))
            return -1;
    while (out->len > start && out->data[out->len - 1] == ' ')
        out->data[--out->len] = '\0';
    return 0;
}

int view_text(const struct view *v, struct buf *out)
{
    for (int r = 0; r < v->rows; r++)
        if (view_row_text(v, r, out) || buf_append(out, "\n", 1))
            return -1;
    return 0;
}

int view_role_at(const struct view *v, int r, int c)
{
    if (!v->cell || r < 0 || r >= v->rows || c < 0 || c >= v->cols)
        return -1;
    return v->cell[(size_t)r * (size_t)v->cols + (size_t)c].role;
}

int view_find(const struct view *v, int from, const char *needle, int *col)
{
    struct buf b = BUF_INIT;
    for (int r = from < 0 ? 0 : from; r < v->rows; r++) {
        buf_reset(&b);
        if (view_row_text(v, r, &b))
            break;
        const char *p = b.data ? strstr(b.data, needle) : NULL;
        if (p) {
            /* bytes to cells */
            int cells = 0;
            for (const char *q = b.data; q < p;) {
                uint32_t cp;
                q += utf8_next(q, &cp);
                cells++;
            }
            /* the right halves of wide characters are empty cells */
            if (col)
                *col = cells;
            buf_free(&b);
            return r;
        }
    }
    buf_free(&b);
    return -1;
}
