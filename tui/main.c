/* tunnelscope: an incident console for site-to-site IPsec/IKEv2 tunnels with NAT-T. */
#include "tui/cmds.h"
#include "tui/exitcodes.h"

#include <stdio.h>
#include <string.h>

const struct cmd ts_cmds[] = {
    {"correlate", "match the ESP packets of two captures (A.pcap B.pcap [--json])", cmd_correlate},
    {"console", "the incident console (the default): [console] PEER_A PEER_B [options]", cmd_console},
    {"diagnose", "five-step diagnosis of the tunnel between two gateways: diagnose PEER_A PEER_B", cmd_diagnose},
    {"exec", "run a command on every peer at once: exec PEER... -- CMD...", cmd_exec},
    {"probe", "collect and print every fact of one gateway: probe [options] PEER", cmd_probe},
    {"verify", "check an evidence bundle's SHA-256 manifest and scan it for keys: verify BUNDLE", cmd_verify},
    {"replay", "reopen an evidence bundle with no network: replay BUNDLE [--check|--json|--view]", cmd_replay},
    {"merge", "combine two half-bundles: merge BUNDLE_A BUNDLE_B --bundle OUT", cmd_merge},
    {NULL, NULL, NULL},
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: tunnelscope [OPTIONS] PEER_A PEER_B   (the console; see 'tunnelscope console --help')\n"
            "       tunnelscope COMMAND [ARGS...]\n"
            "       tunnelscope --help | --version\n"
            "\n"
            "An incident console for site-to-site IPsec/IKEv2 tunnels with NAT traversal:\n"
            "logs into both gateways over SSH, runs a five-step diagnosis (transport,\n"
            "UDP/4500 reachability both ways, selectors/policy/NAT exemption, MTU/MSS,\n"
            "proposals and timers), captures IKE/ESP at both ends and matches them.\n"
            "\n"
            "Commands:\n");
    for (const struct cmd *c = ts_cmds; c->name; c++)
        fprintf(out, "  %-10s %s\n", c->name, c->synopsis);
    fprintf(out,
            "\n"
            "A PEER is an ssh config alias, [user@]host[:port], or 'local' (this machine).\n"
            "Common options: -F SSH_CONFIG, --known-hosts FILE.  'tunnelscope COMMAND --help'\n"
            "describes one command.  NO_COLOR is honoured.\n"
            "\n"
            "Exit status:\n"
            "  0   nothing wrong\n"
            "  1   warnings (diagnose), or a remote command failed (exec)\n"
            "  2   failures found\n"
            "  3   could not diagnose: cannot connect, unknown or changed host key, no sudo,\n"
            "      no IKE daemon\n"
            "  64  bad command line\n"
            "  70  internal error\n"
            "\n"
            "See tunnelscope(1).\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return TS_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return TS_EXIT_OK;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
        printf("tunnelscope %s\n", TS_VERSION);
        return TS_EXIT_OK;
    }
    for (const struct cmd *c = ts_cmds; c->name; c++)
        if (!strcmp(argv[1], c->name))
            return c->run(argc - 1, argv + 1);
    /* not a command: `tunnelscope PEER_A PEER_B [options]` opens the console */
    return cmd_console(argc, argv);
}
