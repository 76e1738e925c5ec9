#include "probes/swanctl.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probes/textscan.h"
#include "probes/vici_raw.h"

/* ---- raw (vici) form ---------------------------------------------------- */

static int raw_str(char *dst, size_t n, const struct vici_node *sec, const char *key,
                   struct err *e)
{
    const char *v = vici_get(sec, key);
    if (!v)
        return 0;
    if (fact_copy(dst, n, v, strlen(v)) != 0)
        return err_set(e, ERR_PARSE, "%s: value too long (%zu bytes)", key, strlen(v));
    return 0;
}

static int raw_num(struct opt_u64 *o, const struct vici_node *sec, const char *key,
                   struct err *e)
{
    const char *v = vici_get(sec, key);
    if (!v)
        return 0;
    if (fact_parse_u64(v, strlen(v), &o->v) != 0)
        return err_set(e, ERR_PARSE, "%s: not a number: '%.40s'", key, v);
    o->known = true;
    return 0;
}

static int raw_hex(struct opt_u64 *o, const struct vici_node *sec, const char *key,
                   struct err *e)
{
    const char *v = vici_get(sec, key);
    if (!v)
        return 0;
    if (fact_parse_hex_u64(v, strlen(v), &o->v) != 0)
        return err_set(e, ERR_PARSE, "%s: not a hexadecimal SPI: '%.40s'", key, v);
    o->known = true;
    return 0;
}

/* vici adds these flags only when set: absent is "no". */
static int raw_flag(enum tri *t, const struct vici_node *sec, const char *key, struct err *e)
{
    const char *v = vici_get(sec, key);
    if (!v) {
        *t = TRI_NO;
        return 0;
    }
    if (strcmp(v, "yes") == 0)
        *t = TRI_YES;
    else if (strcmp(v, "no") == 0)
        *t = TRI_NO;
    else
        return err_set(e, ERR_PARSE, "%s: expected yes or no, got '%.40s'", key, v);
    return 0;
}

static int raw_ts(struct ts_list *l, const struct vici_node *sec, const char *key,
                  struct err *e)
{
    const struct vici_node *n = vici_find(sec, key);
    if (!n)
        return 0;
    if (n->type != VICI_LIST)
        return err_set(e, ERR_PARSE, "%s: expected a list", key);
    for (size_t i = 0; i < n->n; i++)
        if (ts_list_add(l, n->item[i], strlen(n->item[i])) != 0)
            return err_set(e, ERR_PARSE, "%s: item too long", key);
    return 0;
}

static void join_list(char *dst, size_t n, const struct vici_node *sec, const char *key)
{
    const struct vici_node *l = vici_find(sec, key);
    dst[0] = '\0';
    if (!l || l->type != VICI_LIST)
        return;
    size_t used = 0;
    for (size_t i = 0; i < l->n && used < n; i++) {
        int w = snprintf(dst + used, n - used, "%s%s", i ? " " : "", l->item[i]);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

/* The human form's proposal: ENCR[-KEYSIZE][/INTEG[-KEYSIZE]][/PRF][/DH][/ESN] */
static int raw_proposal(char *dst, size_t n, const struct vici_node *sec, struct err *e)
{
    static const struct {
        const char *key, *sep;
    } parts[] = {
        {"encr-alg", ""},   {"encr-keysize", "-"}, {"integ-alg", "/"},
        {"integ-keysize", "-"}, {"prf-alg", "/"},   {"dh-group", "/"},
    };
    size_t used = 0;
    dst[0] = '\0';
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        const char *v = vici_get(sec, parts[i].key);
        if (!v)
            continue;
        const char *sep = used ? parts[i].sep : "";
        int w = snprintf(dst + used, n - used, "%s%s", sep, v);
        if (w < 0 || (size_t)w >= n - used)
            return err_set(e, ERR_PARSE, "proposal too long");
        used += (size_t)w;
    }
    const char *esn = vici_get(sec, "esn");
    if (esn && strcmp(esn, "1") == 0 && used + 5 < n) {
        memcpy(dst + used, "/ESN", 5);
    }
    return 0;
}

static int child_from_raw(const struct vici_node *c, struct child_sa *ch, struct err *e)
{
    if (!vici_get(c, "name") && fact_copy(ch->name, sizeof ch->name, c->name, strlen(c->name)))
        return err_set(e, ERR_PARSE, "CHILD_SA name too long");
    if (raw_str(ch->name, sizeof ch->name, c, "name", e) || raw_num(&ch->uniqueid, c, "uniqueid", e) ||
        raw_num(&ch->reqid, c, "reqid", e) || raw_str(ch->state, sizeof ch->state, c, "state", e) ||
        raw_str(ch->mode, sizeof ch->mode, c, "mode", e) ||
        raw_str(ch->protocol, sizeof ch->protocol, c, "protocol", e) ||
        raw_flag(&ch->encap, c, "encap", e) || raw_hex(&ch->spi_in, c, "spi-in", e) ||
        raw_hex(&ch->spi_out, c, "spi-out", e) ||
        raw_proposal(ch->proposal, sizeof ch->proposal, c, e) ||
        raw_num(&ch->bytes_in, c, "bytes-in", e) || raw_num(&ch->packets_in, c, "packets-in", e) ||
        raw_num(&ch->use_in, c, "use-in", e) || raw_num(&ch->bytes_out, c, "bytes-out", e) ||
        raw_num(&ch->packets_out, c, "packets-out", e) || raw_num(&ch->use_out, c, "use-out", e) ||
        raw_num(&ch->rekey_time, c, "rekey-time", e) || raw_num(&ch->life_time, c, "life-time", e) ||
        raw_num(&ch->install_time, c, "install-time", e) ||
        raw_ts(&ch->local_ts, c, "local-ts", e) || raw_ts(&ch->remote_ts, c, "remote-ts", e))
        return err_wrap(e, "CHILD_SA %s", c->name);
    return 0;
}

static int ike_from_raw(const struct vici_node *s, struct ike_sa *ike, struct err *e)
{
    if (fact_copy(ike->name, sizeof ike->name, s->name, strlen(s->name)) != 0)
        return err_set(e, ERR_PARSE, "IKE_SA name too long");
    if (raw_num(&ike->uniqueid, s, "uniqueid", e) || raw_num(&ike->version, s, "version", e) ||
        raw_str(ike->state, sizeof ike->state, s, "state", e) ||
        raw_str(ike->local_host, sizeof ike->local_host, s, "local-host", e) ||
        raw_num(&ike->local_port, s, "local-port", e) ||
        raw_str(ike->local_id, sizeof ike->local_id, s, "local-id", e) ||
        raw_str(ike->remote_host, sizeof ike->remote_host, s, "remote-host", e) ||
        raw_num(&ike->remote_port, s, "remote-port", e) ||
        raw_str(ike->remote_id, sizeof ike->remote_id, s, "remote-id", e) ||
        raw_flag(&ike->initiator, s, "initiator", e) ||
        raw_hex(&ike->initiator_spi, s, "initiator-spi", e) ||
        raw_hex(&ike->responder_spi, s, "responder-spi", e) ||
        raw_flag(&ike->nat_local, s, "nat-local", e) ||
        raw_flag(&ike->nat_remote, s, "nat-remote", e) ||
        raw_flag(&ike->nat_fake, s, "nat-fake", e) || raw_flag(&ike->nat_any, s, "nat-any", e) ||
        raw_proposal(ike->proposal, sizeof ike->proposal, s, e) ||
        raw_num(&ike->established, s, "established", e) ||
        raw_num(&ike->rekey_time, s, "rekey-time", e) ||
        raw_num(&ike->reauth_time, s, "reauth-time", e))
        return err_wrap(e, "IKE_SA %s", s->name);
    if (!vici_get(s, "state") || !vici_get(s, "version"))
        return err_set(e, ERR_PARSE, "IKE_SA %s: no state or version: not a list-sa event",
                       s->name);
    join_list(ike->tasks_active, sizeof ike->tasks_active, s, "tasks-active");
    const struct vici_node *children = vici_find(s, "child-sas");
    if (children && children->type != VICI_SECTION)
        return err_set(e, ERR_PARSE, "IKE_SA %s: child-sas is not a section", s->name);
    for (size_t i = 0; children && i < children->n; i++) {
        const struct vici_node *c = &children->kid[i];
        if (c->type != VICI_SECTION)
            return err_set(e, ERR_PARSE, "IKE_SA %s: child-sas holds a non-section '%s'",
                           s->name, c->name);
        struct child_sa *ch = ike_sa_add_child(ike);
        if (!ch)
            return err_set(e, ERR_INTERNAL, "out of memory");
        if (child_from_raw(c, ch, e) != 0)
            return err_wrap(e, "IKE_SA %s", s->name);
    }
    return 0;
}

/* Runs the vici parser and checks the shape: events named `event`, then one
 * reply named `reply`, last. */
static int raw_messages(const char *text, size_t len, const char *event, const char *reply,
                        struct vici_msg **m, size_t *n, struct err *e)
{
    if (vici_raw_parse(text, len, m, n, e) != 0)
        return err_wrap(e, "swanctl %s --raw", reply);
    for (size_t i = 0; i < *n; i++) {
        const char *l = (*m)[i].label;
        if (strcmp(l, reply) == 0 && i == *n - 1)
            return 0;
        if (strcmp(l, event) != 0) {
            err_set(e, ERR_UNSUPPORTED, "swanctl --raw: unexpected message '%s' (expected %s)", l,
                    event);
            goto fail;
        }
    }
    err_set(e, ERR_TRUNCATED, "swanctl --raw: no '%s' at the end: output cut short", reply);
fail:
    vici_msgs_free(*m, *n);
    *m = NULL;
    *n = 0;
    return -1;
}

/* Calls each() on every top-level section of the events of a --raw output
 * (every message but the closing reply).  0 / -1. */
static int raw_each_section(const char *text, size_t len, const char *event, const char *reply,
                            const char *what, int (*each)(const struct vici_node *sec, void *ud, struct err *e),
                            void *ud, struct err *e)
{
    struct vici_msg *m;
    size_t n;
    if (raw_messages(text, len, event, reply, &m, &n, e) != 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i + 1 < n; i++) {
        const struct vici_node *root = &m[i].root;
        for (size_t k = 0; rc == 0 && k < root->n; k++) {
            if (root->kid[k].type != VICI_SECTION)
                rc = err_set(e, ERR_PARSE, "%s: '%s' is not %s", event, root->kid[k].name, what);
            else
                rc = each(&root->kid[k], ud, e);
        }
    }
    vici_msgs_free(m, n);
    return rc;
}

static int sas_raw_each(const struct vici_node *sec, void *ud, struct err *e)
{
    struct ike_sa *ike = sa_fact_add_ike(ud);
    if (!ike)
        return err_set(e, ERR_INTERNAL, "out of memory");
    return ike_from_raw(sec, ike, e);
}

int swanctl_parse_sas_raw(const char *text, size_t len, struct sa_fact *out, struct err *e)
{
    memset(out, 0, sizeof *out);
    out->source = SA_SRC_SWANCTL_RAW;
    if (raw_each_section(text, len, "list-sa event", "list-sas reply", "an IKE_SA section", sas_raw_each,
                         out, e) != 0) {
        sa_fact_free(out);
        return err_wrap(e, "swanctl --list-sas --raw");
    }
    return 0;
}

static int version_from(struct opt_u64 *o, const char *v)
{
    if (!v)
        return 0;
    if (strcmp(v, "IKEv1") == 0)
        *o = OPT_U64(1);
    else if (strcmp(v, "IKEv2") == 0)
        *o = OPT_U64(2);
    else if (strcmp(v, "IKEv1/2") == 0 || strcmp(v, "IKE") == 0)
        *o = OPT_UNKNOWN;
    else
        return -1;
    return 0;
}

/* local-1 {id=... class=pre-shared key ...} */
static int auth_from_raw(const struct vici_node *s, char *auth, size_t an, char *id, size_t idn,
                         struct err *e)
{
    if (raw_str(auth, an, s, "class", e) || raw_str(id, idn, s, "id", e))
        return -1;
    return 0;
}

static int conn_from_raw(const struct vici_node *s, struct conn_conf *c, struct err *e)
{
    if (fact_copy(c->name, sizeof c->name, s->name, strlen(s->name)) != 0)
        return err_set(e, ERR_PARSE, "connection name too long");
    if (version_from(&c->version, vici_get(s, "version")) != 0)
        return err_set(e, ERR_PARSE, "connection %s: unknown version '%.20s'", s->name,
                       vici_get(s, "version"));
    if (raw_ts(&c->local_addrs, s, "local_addrs", e) || raw_ts(&c->remote_addrs, s, "remote_addrs", e) ||
        raw_num(&c->local_port, s, "local_port", e) || raw_num(&c->remote_port, s, "remote_port", e) ||
        raw_num(&c->dpd_delay, s, "dpd_delay", e) || raw_num(&c->dpd_timeout, s, "dpd_timeout", e) ||
        raw_num(&c->rekey_time, s, "rekey_time", e) || raw_num(&c->reauth_time, s, "reauth_time", e) ||
        raw_num(&c->keyingtries, s, "keyingtries", e))
        return err_wrap(e, "connection %s", s->name);
    const char *encap = vici_get(s, "encap");
    if (encap)
        c->encap_forced = strcmp(encap, "yes") == 0 ? TRI_YES : TRI_NO;
    join_list(c->proposals, sizeof c->proposals, s, "proposals");
    for (size_t i = 0; i < s->n; i++) {
        const struct vici_node *k = &s->kid[i];
        if (k->type != VICI_SECTION)
            continue;
        if (strncmp(k->name, "local", 5) == 0 && !c->local_auth[0]) {
            if (auth_from_raw(k, c->local_auth, sizeof c->local_auth, c->local_id,
                              sizeof c->local_id, e))
                return err_wrap(e, "connection %s", s->name);
        } else if (strncmp(k->name, "remote", 6) == 0 && !c->remote_auth[0]) {
            if (auth_from_raw(k, c->remote_auth, sizeof c->remote_auth, c->remote_id,
                              sizeof c->remote_id, e))
                return err_wrap(e, "connection %s", s->name);
        }
    }
    const struct vici_node *children = vici_find(s, "children");
    for (size_t i = 0; children && children->type == VICI_SECTION && i < children->n; i++) {
        const struct vici_node *k = &children->kid[i];
        if (k->type != VICI_SECTION)
            return err_set(e, ERR_PARSE, "connection %s: children holds '%s'", s->name, k->name);
        struct child_conf *ch = conn_conf_add_child(c);
        if (!ch)
            return err_set(e, ERR_INTERNAL, "out of memory");
        if (fact_copy(ch->name, sizeof ch->name, k->name, strlen(k->name)) != 0 ||
            raw_str(ch->mode, sizeof ch->mode, k, "mode", e) ||
            raw_num(&ch->rekey_time, k, "rekey_time", e) || raw_num(&ch->life_time, k, "life_time", e) ||
            raw_num(&ch->rekey_bytes, k, "rekey_bytes", e) ||
            raw_num(&ch->rekey_packets, k, "rekey_packets", e) ||
            raw_str(ch->dpd_action, sizeof ch->dpd_action, k, "dpd_action", e) ||
            raw_str(ch->close_action, sizeof ch->close_action, k, "close_action", e) ||
            raw_str(ch->start_action, sizeof ch->start_action, k, "start_action", e) ||
            raw_ts(&ch->local_ts, k, "local-ts", e) || raw_ts(&ch->remote_ts, k, "remote-ts", e))
            return err_wrap(e, "connection %s child %s", s->name, k->name);
        join_list(ch->esp_proposals, sizeof ch->esp_proposals, k, "esp_proposals");
    }
    return 0;
}

static int conns_raw_each(const struct vici_node *sec, void *ud, struct err *e)
{
    struct conn_conf *c = conn_fact_add_conn(ud);
    if (!c)
        return err_set(e, ERR_INTERNAL, "out of memory");
    return conn_from_raw(sec, c, e);
}

int swanctl_parse_conns_raw(const char *text, size_t len, struct conn_fact *out, struct err *e)
{
    memset(out, 0, sizeof *out);
    out->source = SA_SRC_SWANCTL_RAW;
    if (raw_each_section(text, len, "list-conn event", "list-conns reply", "a connection section",
                         conns_raw_each, out, e) != 0) {
        conn_fact_free(out);
        return err_wrap(e, "swanctl --list-conns --raw");
    }
    return 0;
}

/* ---- human form --------------------------------------------------------- */

/* "Ns" -> N; the whole token must be digits then 's'. */
static int secs(struct span t, struct opt_u64 *o)
{
    if (t.len < 2 || t.p[t.len - 1] != 's')
        return -1;
    if (fact_parse_u64(t.p, t.len - 1, &o->v) != 0)
        return -1;
    o->known = true;
    return 0;
}

/* Parses the comma-separated timers of "established 4s ago, rekeying in 13s,
 * reauth in 9s" / "installed 4s ago, rekeying in 3308s, expires in 3956s". */
static int text_timers(struct span line, struct opt_u64 *since, struct opt_u64 *rekey,
                       struct opt_u64 *reauth, struct opt_u64 *expires)
{
    struct span part;
    while (span_split(&line, ", ", &part)) {
        struct span w1, w2, w3;
        struct span p = part;
        span_word(&p, &w1);
        span_word(&p, &w2);
        span_word(&p, &w3);
        if ((span_eq(w1, "established") || span_eq(w1, "installed")) && span_eq(w3, "ago")) {
            if (secs(w2, since))
                return -1;
        } else if (span_eq(w1, "rekeying") && span_eq(w2, "in")) {
            if (secs(w3, rekey))
                return -1;
        } else if (span_eq(w1, "reauth") && span_eq(w2, "in") && reauth) {
            if (secs(w3, reauth))
                return -1;
        } else if (span_eq(w1, "expires") && span_eq(w2, "in") && expires) {
            if (secs(w3, expires))
                return -1;
        }
        /* other parts (future versions) are left alone */
    }
    return 0;
}

/* "'gw-a' @ 192.168.77.2[4500]" (after "local "/"remote "). */
static int text_endpoint(struct span s, char *id, size_t idn, char *host, size_t hn,
                         struct opt_u64 *port)
{
    span_trim(&s);
    if (s.len < 2 || s.p[0] != '\'')
        return -1;
    /* the closing quote comes after the opening one (not the opening one itself) */
    const char *at = span_rfind((struct span){s.p + 1, s.len - 1}, "' @ ");
    if (!at)
        return -1;
    if (fact_copy(id, idn, s.p + 1, (size_t)(at - s.p - 1)) != 0)
        return -1;
    struct span r = {at + 4, (size_t)(s.p + s.len - at - 4)};
    const char *lb = memchr(r.p, '[', r.len);
    if (!lb)
        return -1;
    const char *rb = memchr(lb, ']', (size_t)(r.p + r.len - lb));
    if (!rb)
        return -1;
    if (fact_copy(host, hn, r.p, (size_t)(lb - r.p)) != 0 || lb == r.p)
        return -1;
    if (fact_parse_u64(lb + 1, (size_t)(rb - lb - 1), &port->v) != 0)
        return -1;
    port->known = true;
    return 0;
}

/* "in  b4b5b1ad,      0 bytes,     0 packets,     5s ago" */
static int text_traffic(struct span s, struct opt_u64 *spi, struct opt_u64 *bytes,
                        struct opt_u64 *packets, struct opt_u64 *use)
{
    struct span part;
    int i = 0;
    while (span_split(&s, ",", &part)) {
        span_trim(&part);
        struct span w1, w2;
        struct span p = part;
        span_word(&p, &w1);
        span_word(&p, &w2);
        if (i == 0) {
            /* SPI[/CPI] [(mark)] */
            const char *slash = memchr(w1.p, '/', w1.len);
            size_t n = slash ? (size_t)(slash - w1.p) : w1.len;
            if (fact_parse_hex_u64(w1.p, n, &spi->v) != 0)
                return -1;
            spi->known = true;
        } else if (span_eq(w2, "bytes")) {
            if (fact_parse_u64(w1.p, w1.len, &bytes->v) != 0)
                return -1;
            bytes->known = true;
        } else if (span_eq(w2, "packets")) {
            if (fact_parse_u64(w1.p, w1.len, &packets->v) != 0)
                return -1;
            packets->known = true;
        } else if (span_eq(w2, "ago")) {
            if (secs(w1, use))
                return -1;
        }
        i++;
    }
    return bytes->known && packets->known ? 0 : -1;
}

static int text_ts(struct span s, struct ts_list *l)
{
    struct span w;
    while (span_word(&s, &w)) {
        if (w.len && w.p[w.len - 1] == ',')
            w.len--;
        if (w.len && ts_list_add(l, w.p, w.len) != 0)
            return -1;
    }
    return 0;
}

/* "site: #1, ESTABLISHED, IKEv2, 14e9a375ed2ab505_i* dd01419038dcd3b0_r" */
static int text_ike_header(struct span s, struct ike_sa *ike)
{
    const char *sep = span_find(s, ": #");
    if (!sep || sep == s.p)
        return -1;
    if (fact_copy(ike->name, sizeof ike->name, s.p, (size_t)(sep - s.p)) != 0)
        return -1;
    struct span r = {sep + 3, (size_t)(s.p + s.len - sep - 3)};
    struct span id, state, ver, spis;
    if (!span_split(&r, ", ", &id) || !span_split(&r, ", ", &state) ||
        !span_split(&r, ", ", &ver))
        return -1;
    spis = r;
    if (fact_parse_u64(id.p, id.len, &ike->uniqueid.v) != 0)
        return -1;
    ike->uniqueid.known = true;
    if (fact_copy(ike->state, sizeof ike->state, state.p, state.len) != 0)
        return -1;
    if (span_eq(ver, "IKEv1"))
        ike->version = OPT_U64(1);
    else if (span_eq(ver, "IKEv2"))
        ike->version = OPT_U64(2);
    else
        return -1;
    struct span si, sr;
    if (!span_word(&spis, &si) || !span_word(&spis, &sr))
        return -1;
    bool star_i = si.len > 3 && si.p[si.len - 1] == '*';
    if (star_i)
        si.len--;
    if (sr.len > 0 && sr.p[sr.len - 1] == '*')
        sr.len--;
    if (si.len < 3 || memcmp(si.p + si.len - 2, "_i", 2) != 0 || sr.len < 3 ||
        memcmp(sr.p + sr.len - 2, "_r", 2) != 0)
        return -1;
    if (fact_parse_hex_u64(si.p, si.len - 2, &ike->initiator_spi.v) != 0 ||
        fact_parse_hex_u64(sr.p, sr.len - 2, &ike->responder_spi.v) != 0)
        return -1;
    ike->initiator_spi.known = ike->responder_spi.known = true;
    ike->initiator = star_i ? TRI_YES : TRI_NO;
    return 0;
}

/* "net: #1, reqid 1, INSTALLED, TUNNEL-in-UDP, ESP:AES_GCM_16-128" */
static int text_child_header(struct span s, struct child_sa *ch)
{
    const char *sep = span_find(s, ": #");
    if (!sep || sep == s.p)
        return -1;
    if (fact_copy(ch->name, sizeof ch->name, s.p, (size_t)(sep - s.p)) != 0)
        return -1;
    struct span r = {sep + 3, (size_t)(s.p + s.len - sep - 3)};
    struct span part;
    int i = 0;
    while (span_split(&r, ", ", &part)) {
        struct span w = part;
        struct span w1, w2;
        span_word(&w, &w1);
        span_word(&w, &w2);
        if (i == 0) {
            if (fact_parse_u64(part.p, part.len, &ch->uniqueid.v) != 0)
                return -1;
            ch->uniqueid.known = true;
        } else if (span_eq(w1, "reqid")) {
            if (fact_parse_u64(w2.p, w2.len, &ch->reqid.v) != 0)
                return -1;
            ch->reqid.known = true;
        } else if (i == 2) {
            if (fact_copy(ch->state, sizeof ch->state, part.p, part.len) != 0)
                return -1;
        } else if (i == 3) {
            const char *udp = span_find(part, "-in-UDP");
            ch->encap = udp ? TRI_YES : TRI_NO;
            size_t n = udp ? (size_t)(udp - part.p) : part.len;
            if (fact_copy(ch->mode, sizeof ch->mode, part.p, n) != 0)
                return -1;
        } else if (i == 4) {
            const char *colon = memchr(part.p, ':', part.len);
            if (!colon)
                return -1;
            if (fact_copy(ch->protocol, sizeof ch->protocol, part.p, (size_t)(colon - part.p)) ||
                fact_copy(ch->proposal, sizeof ch->proposal, colon + 1,
                          (size_t)(part.p + part.len - colon - 1)))
                return -1;
        }
        i++;
    }
    return i >= 5 ? 0 : -1;
}

int swanctl_parse_sas_text(const char *text, size_t len, struct sa_fact *out, struct err *e)
{
    memset(out, 0, sizeof *out);
    out->source = SA_SRC_SWANCTL_TEXT;
    struct span all = {text, len}, line;
    size_t lineno = 0;
    struct ike_sa *ike = NULL;
    struct child_sa *ch = NULL;
    while (span_line(&all, &line)) {
        lineno++;
        size_t ind = span_indent(&line);
        span_trim(&line);
        if (line.len == 0)
            continue;
        struct span rest = line, w1;
        span_word(&rest, &w1);
        int bad = 0;
        if (ind == 0) {
            ike = sa_fact_add_ike(out);
            ch = NULL;
            if (!ike) {
                err_set(e, ERR_INTERNAL, "out of memory");
                goto fail;
            }
            if (text_ike_header(line, ike) != 0) {
                err_set(e, lineno == 1 ? ERR_UNSUPPORTED : ERR_PARSE,
                        "line %zu is not an IKE_SA header: %.*s", lineno, SPAN_FMT(line));
                goto fail;
            }
            continue;
        }
        if (!ike) {
            err_set(e, ERR_UNSUPPORTED, "line %zu: indented text before any IKE_SA", lineno);
            goto fail;
        }
        if (ind == 2) {
            ch = NULL;
            if (span_eq(w1, "local"))
                bad = text_endpoint(rest, ike->local_id, sizeof ike->local_id, ike->local_host,
                                    sizeof ike->local_host, &ike->local_port);
            else if (span_eq(w1, "remote"))
                bad = text_endpoint(rest, ike->remote_id, sizeof ike->remote_id,
                                    ike->remote_host, sizeof ike->remote_host, &ike->remote_port);
            else if (span_eq(w1, "established"))
                bad = text_timers(line, &ike->established, &ike->rekey_time, &ike->reauth_time,
                                  NULL);
            else if (span_eq(w1, "active:")) {
                span_trim(&rest);
                fact_copy(ike->tasks_active, sizeof ike->tasks_active, rest.p, rest.len);
            } else if (span_eq(w1, "queued:") || span_eq(w1, "passive:"))
                ; /* task queues other than the active one are not facts */
            else if (span_find(line, ": #")) {
                ch = ike_sa_add_child(ike);
                if (!ch) {
                    err_set(e, ERR_INTERNAL, "out of memory");
                    goto fail;
                }
                bad = text_child_header(line, ch);
            } else if (memchr(line.p, '/', line.len) && !memchr(line.p, ' ', line.len))
                bad = fact_copy(ike->proposal, sizeof ike->proposal, line.p, line.len);
            else
                bad = -1;
        } else if (ind == 4 && ch) {
            if (span_eq(w1, "installed"))
                bad = text_timers(line, &ch->install_time, &ch->rekey_time, NULL, &ch->life_time);
            else if (span_eq(w1, "in"))
                bad = text_traffic(rest, &ch->spi_in, &ch->bytes_in, &ch->packets_in, &ch->use_in);
            else if (span_eq(w1, "out"))
                bad = text_traffic(rest, &ch->spi_out, &ch->bytes_out, &ch->packets_out,
                                   &ch->use_out);
            else if (span_eq(w1, "local"))
                bad = text_ts(rest, &ch->local_ts);
            else if (span_eq(w1, "remote"))
                bad = text_ts(rest, &ch->remote_ts);
            /* other CHILD_SA detail lines (marks, interface ids) are ignored */
        } else {
            bad = -1;
        }
        if (bad) {
            err_set(e, ERR_PARSE, "line %zu not understood: %.*s", lineno, SPAN_FMT(line));
            goto fail;
        }
    }
    for (size_t i = 0; i < out->n_ike; i++)
        for (size_t k = 0; k < out->ike[i].n_child; k++)
            if (!out->ike[i].child[k].bytes_in.known || !out->ike[i].child[k].bytes_out.known) {
                err_set(e, ERR_TRUNCATED, "CHILD_SA %s of %s has no traffic lines: output cut short?",
                        out->ike[i].child[k].name, out->ike[i].name);
                goto fail;
            }
    return 0;
fail:
    sa_fact_free(out);
    return err_wrap(e, "swanctl --list-sas");
}

/* "IKEv2, no reauthentication, rekeying every 14400s, dpd delay 30s" */
static int text_conn_header(struct span s, struct conn_conf *c)
{
    const char *sep = span_find(s, ": ");
    if (!sep || sep == s.p)
        return -1;
    if (fact_copy(c->name, sizeof c->name, s.p, (size_t)(sep - s.p)) != 0)
        return -1;
    struct span r = {sep + 2, (size_t)(s.p + s.len - sep - 2)};
    struct span part;
    int i = 0;
    while (span_split(&r, ", ", &part)) {
        struct span p = part, w1, w2, w3;
        span_word(&p, &w1);
        span_word(&p, &w2);
        span_word(&p, &w3);
        if (i == 0) {
            if (!span_eq(part, "IKEv1") && !span_eq(part, "IKEv2") && !span_eq(part, "IKEv1/2") &&
                !span_eq(part, "IKE"))
                return -1;
            c->version = span_eq(part, "IKEv1") ? OPT_U64(1)
                         : span_eq(part, "IKEv2") ? OPT_U64(2)
                                                  : OPT_UNKNOWN;
        } else if (span_eq(part, "no reauthentication")) {
            c->reauth_time = OPT_U64(0);
        } else if (span_eq(w1, "reauthentication") && span_eq(w2, "every")) {
            if (secs(w3, &c->reauth_time))
                return -1;
        } else if (span_eq(part, "no rekeying")) {
            c->rekey_time = OPT_U64(0);
        } else if (span_eq(w1, "rekeying") && span_eq(w2, "every")) {
            if (secs(w3, &c->rekey_time))
                return -1;
        } else if (span_eq(w1, "dpd") && span_eq(w2, "delay")) {
            if (secs(w3, &c->dpd_delay))
                return -1;
        }
        i++;
    }
    return i > 0 ? 0 : -1;
}

static int text_child_conf_header(struct span s, struct child_conf *ch)
{
    const char *sep = span_find(s, ": ");
    if (!sep || sep == s.p)
        return -1;
    if (fact_copy(ch->name, sizeof ch->name, s.p, (size_t)(sep - s.p)) != 0)
        return -1;
    struct span r = {sep + 2, (size_t)(s.p + s.len - sep - 2)};
    struct span part;
    int i = 0;
    while (span_split(&r, ", ", &part)) {
        struct span p = part, w1, w2, w3, w4;
        span_word(&p, &w1);
        span_word(&p, &w2);
        span_word(&p, &w3);
        span_word(&p, &w4);
        if (i == 0) {
            if (fact_copy(ch->mode, sizeof ch->mode, part.p, part.len) != 0)
                return -1;
        } else if (span_eq(part, "no rekeying")) {
            ch->rekey_time = OPT_U64(0);
        } else if (span_eq(w1, "rekeying") && span_eq(w2, "every")) {
            if (secs(w3, &ch->rekey_time))
                return -1;
        } else if (span_eq(w1, "dpd") && span_eq(w2, "action") && span_eq(w3, "is")) {
            if (fact_copy(ch->dpd_action, sizeof ch->dpd_action, w4.p, w4.len))
                return -1;
        } else if (span_eq(w1, "close") && span_eq(w2, "action") && span_eq(w3, "is")) {
            if (fact_copy(ch->close_action, sizeof ch->close_action, w4.p, w4.len))
                return -1;
        }
        i++;
    }
    return i > 0 ? 0 : -1;
}

static int text_addr_list(struct span s, struct ts_list *l)
{
    struct span w;
    while (span_word(&s, &w)) {
        while (w.len && w.p[w.len - 1] == ',')
            w.len--;
        if (w.len && ts_list_add(l, w.p, w.len) != 0)
            return -1;
    }
    return 0;
}

int swanctl_parse_conns_text(const char *text, size_t len, struct conn_fact *out, struct err *e)
{
    memset(out, 0, sizeof *out);
    out->source = SA_SRC_SWANCTL_TEXT;
    struct span all = {text, len}, line;
    size_t lineno = 0;
    struct conn_conf *c = NULL;
    struct child_conf *ch = NULL;
    int auth_side = 0; /* 1 local, 2 remote: the "id:" line that follows */
    while (span_line(&all, &line)) {
        lineno++;
        size_t ind = span_indent(&line);
        span_trim(&line);
        if (line.len == 0)
            continue;
        struct span rest = line, w1;
        span_word(&rest, &w1);
        int bad = 0;
        if (ind == 0) {
            c = conn_fact_add_conn(out);
            ch = NULL;
            auth_side = 0;
            if (!c) {
                err_set(e, ERR_INTERNAL, "out of memory");
                goto fail;
            }
            if (text_conn_header(line, c) != 0) {
                err_set(e, lineno == 1 ? ERR_UNSUPPORTED : ERR_PARSE,
                        "line %zu is not a connection header: %.*s", lineno, SPAN_FMT(line));
                goto fail;
            }
            continue;
        }
        if (!c) {
            err_set(e, ERR_UNSUPPORTED, "line %zu: indented text before any connection", lineno);
            goto fail;
        }
        if (ind == 2) {
            ch = NULL;
            auth_side = 0;
            if (span_eq(w1, "local:"))
                bad = text_addr_list(rest, &c->local_addrs);
            else if (span_eq(w1, "remote:"))
                bad = text_addr_list(rest, &c->remote_addrs);
            else if ((span_eq(w1, "local") || span_eq(w1, "remote")) &&
                     line.p[line.len - 1] == ':' && span_find(line, " authentication:")) {
                auth_side = span_eq(w1, "local") ? 1 : 2;
                char *dst = auth_side == 1 ? c->local_auth : c->remote_auth;
                size_t dn = auth_side == 1 ? sizeof c->local_auth : sizeof c->remote_auth;
                struct span a = rest;
                span_trim(&a);
                const char *end = span_find(a, " authentication:");
                bad = fact_copy(dst, dn, a.p, (size_t)(end - a.p));
            } else if (span_find(line, ": ")) {
                ch = conn_conf_add_child(c);
                if (!ch) {
                    err_set(e, ERR_INTERNAL, "out of memory");
                    goto fail;
                }
                bad = text_child_conf_header(line, ch);
            } else {
                bad = -1;
            }
        } else if (ind == 4 && ch) {
            if (span_eq(w1, "local:"))
                bad = text_ts(rest, &ch->local_ts);
            else if (span_eq(w1, "remote:"))
                bad = text_ts(rest, &ch->remote_ts);
        } else if (ind == 4 && auth_side) {
            if (span_eq(w1, "id:")) {
                span_trim(&rest);
                char *dst = auth_side == 1 ? c->local_id : c->remote_id;
                size_t dn = auth_side == 1 ? sizeof c->local_id : sizeof c->remote_id;
                bad = fact_copy(dst, dn, rest.p, rest.len);
            }
        } else if (ind < 4) {
            bad = -1;
        }
        if (bad) {
            err_set(e, ERR_PARSE, "line %zu not understood: %.*s", lineno, SPAN_FMT(line));
            goto fail;
        }
    }
    return 0;
fail:
    conn_fact_free(out);
    return err_wrap(e, "swanctl --list-conns");
}
