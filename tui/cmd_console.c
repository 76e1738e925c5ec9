/* tunnelscope PEER_A PEER_B [options]: the incident console. */
#include "tui/cmds.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui/console.h"
#include "tui/exitcodes.h"
#include "tui/peer_args.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: tunnelscope [OPTIONS] PEER_A PEER_B\n"
            "\n"
            "Opens the incident console on the two gateways of a tunnel: both ends side\n"
            "by side (A left, B right) with their SAs and a live capture of IKE/ESP in\n"
            "which a packet sent by one end and received by the other is one row, and a\n"
            "packet that never arrived is marked on the receiving side; the five-step\n"
            "playbook with its findings; sent / received / lost per direction.\n"
            "Press ? in the console for the keys.\n"
            "\n"
            "A PEER is an ssh config alias, [user@]host[:port], or 'local' (this machine).\n"
            "\n"
            "Options:\n"
            "  -F SSH_CONFIG          ssh config file (default: $TUNNELSCOPE_SSH_CONFIG,\n"
            "                         else ~/.ssh/config)\n"
            "  --known-hosts FILE     known_hosts file (default: $TUNNELSCOPE_KNOWN_HOSTS,\n"
            "                         else the config's UserKnownHostsFile, ~/.ssh/known_hosts)\n"
            "  --accept-new-hostkey   accept and record a host key seen for the first time\n"
            "                         without asking (a changed key is always refused)\n"
            "  --conn NAME            the IPsec connection to look at (default: discover)\n"
            "  --capture-limit SEC    a capture ends on the gateways after SEC seconds\n"
            "                         (default 600; 'c' starts a new one)\n"
            "  --no-capture           do not start the capture on start\n"
            "  --no-diagnose          do not run the five steps on start\n"
            "  -h, --help             this help\n"
            "\n"
            "An unknown host key is shown with its fingerprint and accepted only when you\n"
            "answer y.  NO_COLOR is honoured; without a UTF-8 locale the console draws\n"
            "with ASCII.\n");
}

/* argv[0] is "console" or the program name: `tunnelscope PEER_A PEER_B` comes
 * here whole when argv[1] is no command. */
int cmd_console(int argc, char **argv)
{
    struct console_opts o = {0};
    int npeer = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return TS_EXIT_OK;
        }
        int took = peer_args_take(argc, argv, &i, &o.popts, "tunnelscope");
        if (took < 0)
            return TS_EXIT_USAGE;
        if (took)
            continue;
        if (!strcmp(a, "--conn") || !strcmp(a, "--capture-limit")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "tunnelscope: %s needs a value\n", a);
                return TS_EXIT_USAGE;
            }
            const char *v = argv[++i];
            if (!strcmp(a, "--conn")) {
                o.conn = v;
            } else {
                char *end;
                errno = 0;
                unsigned long s = strtoul(v, &end, 10);
                if (errno || end == v || *end || v[0] == '-' || s == 0 || s > 86400) {
                    fprintf(stderr, "tunnelscope: --capture-limit wants 1..86400 seconds, not '%s'\n", v);
                    return TS_EXIT_USAGE;
                }
                o.capture_limit_s = (unsigned)s;
            }
            continue;
        }
        if (!strcmp(a, "--no-capture")) {
            o.no_capture = 1;
            continue;
        }
        if (!strcmp(a, "--no-diagnose")) {
            o.no_diagnose = 1;
            continue;
        }
        if (a[0] == '-') {
            fprintf(stderr, "tunnelscope: unknown option '%s' (try 'tunnelscope --help')\n", a);
            return TS_EXIT_USAGE;
        }
        if (npeer == 2) {
            fprintf(stderr, "tunnelscope: unknown command '%s', or more than two peers (try --help)\n",
                    o.peer[0]);
            return TS_EXIT_USAGE;
        }
        o.peer[npeer++] = a;
    }
    if (npeer != 2) {
        fprintf(stderr, "tunnelscope: the console needs two peers: tunnelscope PEER_A PEER_B (try --help)\n");
        return TS_EXIT_USAGE;
    }
    if (!strcmp(o.peer[0], o.peer[1])) {
        fprintf(stderr, "tunnelscope: PEER_A and PEER_B are the same ('%s')\n", o.peer[0]);
        return TS_EXIT_USAGE;
    }
    return console_run(&o);
}
