#include "tui/peer_args.h"

#include <stdio.h>
#include <string.h>

int peer_args_has_value(const char *a)
{
    return !strcmp(a, "-F") || !strcmp(a, "--known-hosts");
}

int peer_args_take(int argc, char **argv, int *i, struct peer_opts *o, const char *prog)
{
    const char *a = argv[*i];
    if (!strcmp(a, "--accept-new-hostkey")) {
        o->accept_new_hostkey = 1;
        return 1;
    }
    if (!peer_args_has_value(a))
        return 0;
    if (*i + 1 >= argc) {
        fprintf(stderr, "%s: %s needs a value\n", prog, a);
        return -1;
    }
    const char *v = argv[++*i];
    if (!strcmp(a, "-F"))
        o->ssh_config = v;
    else
        o->known_hosts = v;
    return 1;
}
