#include "playbook/finding.h"

#include <string.h>

static const char *const sev_names[] = {"ok", "info", "warning", "failure"};

const char *severity_name(enum severity s)
{
    if ((unsigned)s >= sizeof sev_names / sizeof sev_names[0])
        return "unknown";
    return sev_names[s];
}

int severity_parse(const char *s, enum severity *out)
{
    for (size_t i = 0; i < sizeof sev_names / sizeof sev_names[0]; i++)
        if (!strcmp(s, sev_names[i])) {
            *out = (enum severity)i;
            return 0;
        }
    return -1;
}
