/* Drives one real diagnosis session (playbook/session.h) on two peers and
 * re-runs single steps on request, for tests/e2e/test_diagnose_rerun.sh:
 *
 *     diag_rerun_driver [--capture-seconds N] PEER_A PEER_B
 *
 * Runs every step, prints the report JSON (compact, one line), then reads
 * commands on stdin, one a line: "rerun N" re-runs step N with
 * diag_rerun_step() and prints the JSON again; "quit" (or EOF) ends.  An error
 * prints {"error": "..."} instead.  The peers come from the ssh config as for
 * `tunnelscope diagnose` ($TUNNELSCOPE_SSH_CONFIG, $TUNNELSCOPE_KNOWN_HOSTS). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "playbook/report.h"
#include "playbook/session.h"
#include "remote/peer.h"

static int run_until_done(struct diag_session *s)
{
    struct pollfd fds[64];
    while (!diag_done(s)) {
        size_t n = diag_pollfds(s, fds, 64);
        int t = diag_timeout_ms(s);
        if (t < 0 || t > 1000)
            t = 1000;
        if (poll(fds, n, t) < 0 && errno != EINTR)
            return -1;
        diag_dispatch(s, fds, n);
    }
    return 0;
}

static void print_report(const struct diag_session *s)
{
    struct report_in r;
    report_from_session(s, &r);
    json_t *j = report_json(&r);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    printf("%s\n", text ? text : "{\"error\": \"out of memory\"}");
    fflush(stdout);
    free(text);
    json_decref(j);
}

int main(int argc, char **argv)
{
    struct diag_opts o = {0};
    int i = 1;
    if (argc > 2 && !strcmp(argv[1], "--capture-seconds")) {
        o.capture_seconds = (unsigned)atoi(argv[2]);
        i = 3;
    }
    if (argc - i != 2) {
        fprintf(stderr, "usage: %s [--capture-seconds N] PEER_A PEER_B\n", argv[0]);
        return 2;
    }
    struct err e = {0};
    struct peer *a = peer_new(argv[i], NULL, &e);
    struct peer *b = a ? peer_new(argv[i + 1], NULL, &e) : NULL;
    struct diag_session *s = b ? diag_new(a, b, &o, &e) : NULL;
    int rc = 1;
    if (!s || diag_start(s, &e) != 0 || run_until_done(s) != 0) {
        fprintf(stderr, "diag_rerun_driver: %s\n", e.msg[0] ? e.msg : "poll failed");
        goto out;
    }
    print_report(s);
    char line[64];
    while (fgets(line, sizeof line, stdin)) {
        int step;
        if (!strncmp(line, "quit", 4))
            break;
        if (sscanf(line, "rerun %d", &step) != 1) {
            printf("{\"error\": \"unknown command\"}\n");
            fflush(stdout);
            continue;
        }
        struct err re = {0};
        if (diag_rerun_step(s, step, &re) != 0 || run_until_done(s) != 0) {
            printf("{\"error\": \"rerun %d: %s\"}\n", step, re.msg);
            fflush(stdout);
            continue;
        }
        print_report(s);
    }
    rc = 0;
out:
    diag_free(s);
    peer_free(a);
    peer_free(b);
    return rc;
}
