/* Fuzz target: playbook/collect's readers of remote output (ss, strongswan.conf,
 * sysctl, nft, iptables-save, ip route/link, charon log, ping) and the batch
 * splitter, on arbitrary bytes.  Invariants: no crash, no read past the input,
 * numbers either absent (-1) or within their range, sections inside the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "playbook/batch.h"
#include "playbook/collect.h"
#include "remote/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* an exact-size copy: ASan catches any read past the end */
    char *t = malloc(size + 1);
    if (!t)
        return 0;
    memcpy(t, data, size);
    t[size] = '\0';
    static const enum probe_kind kinds[] = {PROBE_SS,  PROBE_SWCONF,   PROBE_SYSCTL, PROBE_NFT,    PROBE_IPT,
                                            PROBE_LOG, PROBE_ROUTE_TS, PROBE_SAS,    PROBE_CONNS,  PROBE_LOG_NEW};
    struct collect_side s;
    memset(&s, 0, sizeof s);
    s.f.udp_timeout = s.f.keepalive_s = s.f.outer_mtu = -1;
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
        collect_parse(&s, kinds[k], (int)(size % 3), ERR_NONE, t, size, t);
    collect_link_mtu(&s, t, size, "wan0");
    if (s.f.udp_timeout < -1 || s.f.keepalive_s < -1 || s.f.outer_mtu < -1 || s.f.fw.n_nat > PF_MAX_RULES)
        abort();
    int mtu;
    int r = collect_ping_result(size & 1, t, size, &mtu);
    if (r < 0 || r > 3 || mtu < -1)
        abort();
    size_t st, ln;
    int status;
    for (int id = 0; id < 4; id++)
        if (batch_section(t, size, "n0nce", id, &st, &ln, &status) >= 0 && (st > size || ln > size - st))
            abort();
    sa_fact_free(&s.sas);
    sa_fact_free(&s.sas_before);
    conn_fact_free(&s.conns);
    strpool_free(&s.pool);
    free(t);
    return 0;
}
