/* Fuzz target: nft and iptables-save parsers.  Invariants: no crash, no
 * leak; on error no rule is kept; positions are within their chain. */
#include <stdint.h>
#include <stdlib.h>

#include "probes/firewall.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct fw_fact *f)
{
    for (size_t i = 0; i < f->n_rule; i++) {
        if (f->rule[i].pos > i)
            abort();
        (void)fw_nat_exemption_before(f, i, "10.10.0.0/16", "10.20.0.0/16");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *t = (const char *)data;
    struct err e = {0};
    struct fw_fact f;
    if (nft_parse_ruleset(t, size, &f, &e) != 0 && f.n_rule != 0)
        abort();
    check(&f);
    fw_fact_free(&f);
    if (iptables_parse_save(t, size, &f, &e) != 0 && f.n_rule != 0)
        abort();
    check(&f);
    fw_fact_free(&f);
    return 0;
}
