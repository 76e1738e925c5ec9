#include "probes/xfrm_nl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/xfrm.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

/* ---- walking messages and attributes ------------------------------------ */

/* The input copied into memory aligned for every struct read from it. */
static void *aligned_copy(const void *buf, size_t len)
{
    void *p = malloc(len ? len : 1);
    if (p && len)
        memcpy(p, buf, len);
    return p;
}

/* The message at off of b[0..len): NULL at the end.  Sets *bad (with e) when
 * what is there is not a whole message. */
static struct nlmsghdr *msg_at(unsigned char *b, size_t len, size_t off, bool *bad,
                               struct err *e, const char *what)
{
    *bad = false;
    if (off >= len)
        return NULL;
    if (len - off < sizeof(struct nlmsghdr)) {
        *bad = true;
        err_set(e, ERR_TRUNCATED, "%s: %zu bytes left at offset %zu, less than a netlink header",
                what, len - off, off);
        return NULL;
    }
    struct nlmsghdr *nlh = (struct nlmsghdr *)(void *)(b + off);
    if (nlh->nlmsg_len < sizeof(struct nlmsghdr)) {
        *bad = true;
        err_set(e, ERR_PARSE, "%s: message at offset %zu has length %" PRIu32, what, off,
                nlh->nlmsg_len);
        return NULL;
    }
    if (nlh->nlmsg_len > len - off) {
        *bad = true;
        err_set(e, ERR_TRUNCATED, "%s: message at offset %zu says %" PRIu32 " bytes, %zu left",
                what, off, nlh->nlmsg_len, len - off);
        return NULL;
    }
    return nlh;
}

static size_t msg_step(const struct nlmsghdr *nlh, size_t off, size_t len)
{
    size_t step = MNL_ALIGN(nlh->nlmsg_len);
    return step > len - off ? len : off + step;
}

/* Calls fn for every attribute of nlh after a fixed header of hdrlen bytes.
 * Every attribute must lie whole inside the message. */
typedef int (*attr_fn)(const struct nlattr *a, void *data, struct err *e);

static int each_attr(const struct nlmsghdr *nlh, size_t hdrlen, attr_fn fn, void *data,
                     struct err *e, const char *what)
{
    size_t start = MNL_NLMSG_HDRLEN + MNL_ALIGN(hdrlen);
    if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN + hdrlen)
        return err_set(e, ERR_TRUNCATED, "%s: message of %" PRIu32 " bytes, shorter than its "
                       "%zu-byte header", what, nlh->nlmsg_len, MNL_NLMSG_HDRLEN + hdrlen);
    const unsigned char *b = (const unsigned char *)nlh;
    size_t end = nlh->nlmsg_len;
    uint64_t seen = 0;
    size_t off = start;
    while (off < end) {
        if (end - off < sizeof(struct nlattr))
            return err_set(e, ERR_TRUNCATED, "%s: %zu stray bytes after the last attribute",
                           what, end - off);
        const struct nlattr *a = (const struct nlattr *)(const void *)(b + off);
        if (a->nla_len < sizeof(struct nlattr) || a->nla_len > end - off)
            return err_set(e, ERR_TRUNCATED, "%s: attribute %u says %u bytes, %zu left", what,
                           (unsigned)mnl_attr_get_type(a), (unsigned)a->nla_len, end - off);
        uint16_t type = mnl_attr_get_type(a);
        if (type < 64) {
            if (seen & ((uint64_t)1 << type))
                return err_set(e, ERR_PARSE, "%s: attribute %u twice", what, (unsigned)type);
            seen |= (uint64_t)1 << type;
        }
        if (fn(a, data, e) != 0)
            return -1;
        size_t step = MNL_ALIGN(a->nla_len);
        off = step > end - off ? end : off + step;
    }
    return 0;
}

/* ---- text as iproute2 6.1 prints it ------------------------------------- */

static int addr_text(uint16_t family, const xfrm_address_t *a, char *dst, size_t n,
                     struct err *e, const char *what)
{
    int af = family == AF_INET ? AF_INET : family == AF_INET6 ? AF_INET6 : -1;
    if (af < 0)
        return err_set(e, ERR_PARSE, "%s: address family %u is neither IPv4 nor IPv6", what,
                       (unsigned)family);
    char tmp[INET6_ADDRSTRLEN];
    if (!inet_ntop(af, a, tmp, sizeof tmp) || fact_copy(dst, n, tmp, strlen(tmp)) != 0)
        return err_set(e, ERR_INTERNAL, "%s: address does not fit", what);
    return 0;
}

/* "10.10.0.0/16" */
static int prefix_text(uint16_t family, const xfrm_address_t *a, unsigned plen, char *dst,
                       size_t n, struct err *e, const char *what)
{
    char tmp[INET6_ADDRSTRLEN + 8];
    if (addr_text(family, a, tmp, sizeof tmp, e, what) != 0)
        return -1;
    if (plen > (family == AF_INET ? 32u : 128u))
        return err_set(e, ERR_PARSE, "%s: prefix length %u", what, plen);
    size_t l = strlen(tmp);
    snprintf(tmp + l, sizeof tmp - l, "/%u", plen);
    return fact_copy(dst, n, tmp, strlen(tmp)) == 0
               ? 0
               : err_set(e, ERR_INTERNAL, "%s: selector does not fit", what);
}

/* strxf_xfrmproto() */
static int xfrmproto_text(uint8_t p, char *dst, size_t n)
{
    char tmp[8];
    const char *s = p == IPPROTO_ESP        ? "esp"
                    : p == IPPROTO_AH       ? "ah"
                    : p == IPPROTO_COMP     ? "comp"
                    : p == IPPROTO_ROUTING  ? "route2"
                    : p == IPPROTO_DSTOPTS  ? "hao"
                                            : NULL;
    if (!s) {
        snprintf(tmp, sizeof tmp, "%u", (unsigned)p);
        s = tmp;
    }
    return fact_copy(dst, n, s, strlen(s));
}

/* xfrm_id_info_print()'s mode */
static void mode_text(uint8_t m, char *dst, size_t n)
{
    static const char *names[] = {"transport", "tunnel", "ro", "in_trigger", "beet"};
    if (m < sizeof names / sizeof names[0])
        snprintf(dst, n, "%s", names[m]);
    else
        snprintf(dst, n, "%u", (unsigned)m);
}

/* getprotobynumber()'s names (Debian netbase /etc/protocols) for the upper
 * protocols a selector names; others are printed as numbers, as iproute2 does
 * for a number /etc/protocols does not list. */
static const char *upper_proto_name(uint8_t p)
{
    switch (p) {
    case 1: return "icmp";
    case 2: return "igmp";
    case 4: return "ipencap";
    case 6: return "tcp";
    case 17: return "udp";
    case 33: return "dccp";
    case 41: return "ipv6";
    case 47: return "gre";
    case 50: return "esp";
    case 51: return "ah";
    case 58: return "ipv6-icmp";
    case 94: return "ipip";
    case 103: return "pim";
    case 108: return "ipcomp";
    case 112: return "vrrp";
    case 132: return "sctp";
    case 135: return "mobility-header";
    case 136: return "udplite";
    default: return NULL;
    }
}

/* The part of xfrm_selector_print() after "dst P/L ": "proto udp dport 53". */
static int upspec_text(const struct xfrm_selector *sel, char *dst, size_t n, struct err *e)
{
    struct buf b = BUF_INIT;
    uint16_t sport = ntohs(sel->sport), dport = ntohs(sel->dport);
    if (sel->proto) {
        const char *name = upper_proto_name(sel->proto);
        if (name)
            buf_printf(&b, "proto %s ", name);
        else
            buf_printf(&b, "proto %u ", (unsigned)sel->proto);
    }
    switch (sel->proto) {
    case IPPROTO_ICMP:
    case IPPROTO_ICMPV6:
        if (sel->sport_mask)
            buf_printf(&b, "type %u ", (unsigned)sport);
        if (sel->dport_mask)
            buf_printf(&b, "code %u ", (unsigned)dport);
        break;
    case IPPROTO_GRE:
        if (sel->sport_mask || sel->dport_mask)
            buf_printf(&b, "key %" PRIu32 " ", ((uint32_t)sport << 16) + dport);
        break;
    case 135: /* IPPROTO_MH */
        if (sel->sport_mask)
            buf_printf(&b, "type %u ", (unsigned)sport);
        break;
    default:
        if (sel->sport_mask)
            buf_printf(&b, "sport %u ", (unsigned)sport);
        if (sel->dport_mask)
            buf_printf(&b, "dport %u ", (unsigned)dport);
        break;
    }
    if (sel->ifindex > 0) /* the name is not in the message: ll_index_to_name()'s fallback */
        buf_printf(&b, "dev if%d ", sel->ifindex);
    size_t l = b.len;
    while (l && b.data[l - 1] == ' ')
        l--;
    int rc = fact_copy(dst, n, b.data ? b.data : "", l);
    buf_free(&b);
    return rc == 0 ? 0 : err_set(e, ERR_PARSE, "selector: upper-layer part too long");
}

static bool selector_is_zero(const struct xfrm_selector *s)
{
    static const struct xfrm_selector zero;
    return memcmp(s, &zero, sizeof zero) == 0;
}

/* strxf_time(): "-" for 0, else localtime "%Y-%m-%d %T" */
static int time_text(uint64_t t, char *dst, size_t n, struct err *e, const char *what)
{
    if (t == 0) {
        snprintf(dst, n, "-");
        return 0;
    }
    struct tm tm;
    time_t tt = (time_t)t;
    if (t > (uint64_t)INT32_MAX * 4 || !localtime_r(&tt, &tm) ||
        strftime(dst, n, "%Y-%m-%d %T", &tm) == 0)
        return err_set(e, ERR_PARSE, "%s: time %" PRIu64 " out of range", what, t);
    return 0;
}

/* ---- states ------------------------------------------------------------- */

struct sa_ctx {
    struct xfrm_sa *sa;
    uint16_t family;
    bool auth_trunc;
};

/* An algorithm attribute: the name (NUL-terminated inside its 64 bytes) and
 * a key length that fits the attribute.  The key itself is not read. */
static int alg_attr(const struct nlattr *a, size_t hdr, char *name_out, struct err *e,
                    const char *what)
{
    size_t plen = mnl_attr_get_payload_len(a);
    if (plen < hdr)
        return err_set(e, ERR_TRUNCATED, "%s: %zu bytes, less than its %zu-byte header", what,
                       plen, hdr);
    const char *p = mnl_attr_get_payload(a);
    char name[sizeof(((struct xfrm_algo *)0)->alg_name)];
    memcpy(name, p, sizeof name);
    if (!memchr(name, '\0', sizeof name) || name[0] == '\0')
        return err_set(e, ERR_PARSE, "%s: algorithm name not terminated or empty", what);
    unsigned int key_bits;
    memcpy(&key_bits, p + offsetof(struct xfrm_algo, alg_key_len), sizeof key_bits);
    if (((uint64_t)key_bits + 7) / 8 > plen - hdr)
        return err_set(e, ERR_TRUNCATED, "%s: key of %u bits in %zu bytes", what, key_bits,
                       plen - hdr);
    if (name_out && fact_copy(name_out, XFRM_ALG_MAX, name, strlen(name)) != 0)
        return err_set(e, ERR_PARSE, "%s: algorithm name too long", what);
    return 0;
}

static int exact(const struct nlattr *a, size_t len, struct err *e, const char *what)
{
    if (mnl_attr_validate2(a, MNL_TYPE_BINARY, len) != 0)
        return err_set(e, mnl_attr_get_payload_len(a) < len ? ERR_TRUNCATED : ERR_PARSE,
                       "%s: %u bytes, expected %zu", what, (unsigned)mnl_attr_get_payload_len(a),
                       len);
    return 0;
}

static int sa_attr(const struct nlattr *a, void *data, struct err *e)
{
    struct sa_ctx *c = data;
    struct xfrm_sa *sa = c->sa;
    const void *p = mnl_attr_get_payload(a);
    size_t plen = mnl_attr_get_payload_len(a);
    switch (mnl_attr_get_type(a)) {
    case XFRMA_ALG_AEAD:
        return alg_attr(a, sizeof(struct xfrm_algo_aead), sa->aead, e, "XFRMA_ALG_AEAD");
    case XFRMA_ALG_CRYPT:
        return alg_attr(a, sizeof(struct xfrm_algo), sa->enc, e, "XFRMA_ALG_CRYPT");
    case XFRMA_ALG_AUTH:
        /* iproute2 prints "auth" only without "auth-trunc": the names are the same */
        return alg_attr(a, sizeof(struct xfrm_algo), c->auth_trunc ? NULL : sa->auth, e,
                        "XFRMA_ALG_AUTH");
    case XFRMA_ALG_AUTH_TRUNC:
        c->auth_trunc = true;
        return alg_attr(a, sizeof(struct xfrm_algo_auth), sa->auth, e, "XFRMA_ALG_AUTH_TRUNC");
    case XFRMA_ALG_COMP:
        return alg_attr(a, sizeof(struct xfrm_algo), NULL, e, "XFRMA_ALG_COMP");
    case XFRMA_ENCAP: {
        struct xfrm_encap_tmpl t;
        if (exact(a, sizeof t, e, "XFRMA_ENCAP") != 0)
            return -1;
        memcpy(&t, p, sizeof t);
        const char *name = t.encap_type == 1   ? "espinudp-nonike"
                           : t.encap_type == 2 ? "espinudp"
                           : t.encap_type == 7 ? "espintcp"
                                               : NULL;
        if (name)
            snprintf(sa->encap_type, sizeof sa->encap_type, "%s", name);
        else
            snprintf(sa->encap_type, sizeof sa->encap_type, "%u", (unsigned)t.encap_type);
        sa->encap = TRI_YES;
        sa->encap_sport = OPT_U64(ntohs(t.encap_sport));
        sa->encap_dport = OPT_U64(ntohs(t.encap_dport));
        return addr_text(c->family, &t.encap_oa, sa->encap_oa, sizeof sa->encap_oa, e,
                         "XFRMA_ENCAP");
    }
    case XFRMA_REPLAY_VAL: {
        struct xfrm_replay_state r;
        if (exact(a, sizeof r, e, "XFRMA_REPLAY_VAL") != 0)
            return -1;
        memcpy(&r, p, sizeof r);
        sa->seq = OPT_U64(r.seq);
        sa->oseq = OPT_U64(r.oseq);
        return 0;
    }
    case XFRMA_REPLAY_ESN_VAL: {
        struct xfrm_replay_state_esn r;
        if (plen < sizeof r)
            return err_set(e, ERR_TRUNCATED, "XFRMA_REPLAY_ESN_VAL: %zu bytes, less than %zu",
                           plen, sizeof r);
        memcpy(&r, p, sizeof r);
        if ((uint64_t)r.bmp_len * sizeof(uint32_t) != plen - sizeof r)
            return err_set(e, ERR_PARSE, "XFRMA_REPLAY_ESN_VAL: bitmap of %" PRIu32
                           " words in %zu bytes", r.bmp_len, plen - sizeof r);
        sa->esn = TRI_YES;
        sa->seq = OPT_U64(r.seq);
        sa->oseq = OPT_U64(r.oseq);
        sa->seq_hi = OPT_U64(r.seq_hi);
        sa->oseq_hi = OPT_U64(r.oseq_hi);
        sa->esn_replay_window = OPT_U64(r.replay_window);
        return 0;
    }
    default:
        /* marks, if_id, lastused, offload, sec ctx, coaddr, ...: not facts;
         * their length still had to fit the message (each_attr) */
        return 0;
    }
}

static int parse_sa_msg(const struct nlmsghdr *nlh, struct xfrm_sa *sa, struct err *e)
{
    struct xfrm_usersa_info info;
    if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof info)
        return err_set(e, ERR_TRUNCATED, "XFRM_MSG_NEWSA: %" PRIu32 " bytes, less than "
                       "xfrm_usersa_info", nlh->nlmsg_len);
    memcpy(&info, mnl_nlmsg_get_payload(nlh), sizeof info);
    if (addr_text(info.family, &info.saddr, sa->src, sizeof sa->src, e, "state src") != 0 ||
        addr_text(info.family, &info.id.daddr, sa->dst, sizeof sa->dst, e, "state dst") != 0)
        return -1;
    if (xfrmproto_text(info.id.proto, sa->proto, sizeof sa->proto) != 0)
        return err_set(e, ERR_PARSE, "state: protocol %u", (unsigned)info.id.proto);
    sa->spi = OPT_U64(ntohl(info.id.spi));
    sa->reqid = OPT_U64(info.reqid);
    mode_text(info.mode, sa->mode, sizeof sa->mode);
    sa->replay_window = OPT_U64(info.replay_window);
    sa->esn = (info.flags & XFRM_STATE_ESN) ? TRI_YES : TRI_NO;
    sa->encap = TRI_NO; /* until an XFRMA_ENCAP says otherwise */
    if (!selector_is_zero(&info.sel)) {
        uint16_t sf = info.sel.family ? info.sel.family : info.family;
        if (prefix_text(sf, &info.sel.saddr, info.sel.prefixlen_s, sa->sel_src,
                        sizeof sa->sel_src, e, "state selector") != 0 ||
            prefix_text(sf, &info.sel.daddr, info.sel.prefixlen_d, sa->sel_dst,
                        sizeof sa->sel_dst, e, "state selector") != 0)
            return -1;
    }
    sa->soft_add_expires = OPT_U64(info.lft.soft_add_expires_seconds);
    sa->hard_add_expires = OPT_U64(info.lft.hard_add_expires_seconds);
    sa->cur_bytes = OPT_U64(info.curlft.bytes);
    sa->cur_packets = OPT_U64(info.curlft.packets);
    if (time_text(info.curlft.add_time, sa->add_time, sizeof sa->add_time, e, "state add") ||
        time_text(info.curlft.use_time, sa->use_time, sizeof sa->use_time, e, "state use"))
        return -1;
    sa->stat_replay_window = OPT_U64(info.stats.replay_window);
    sa->stat_replay = OPT_U64(info.stats.replay);
    sa->stat_failed = OPT_U64(info.stats.integrity_failed);
    struct sa_ctx c = {sa, info.family, false};
    return each_attr(nlh, sizeof info, sa_attr, &c, e, "XFRM_MSG_NEWSA");
}

/* ---- policies ----------------------------------------------------------- */

static int tmpl_attr(struct xfrm_policy *pol, const struct nlattr *a, struct err *e)
{
    size_t plen = mnl_attr_get_payload_len(a);
    if (plen == 0 || plen % sizeof(struct xfrm_user_tmpl) != 0)
        return err_set(e, plen < sizeof(struct xfrm_user_tmpl) ? ERR_TRUNCATED : ERR_PARSE,
                       "XFRMA_TMPL: %zu bytes, not a whole number of %zu-byte templates",
                       plen, sizeof(struct xfrm_user_tmpl));
    const unsigned char *p = mnl_attr_get_payload(a);
    size_t n = plen / sizeof(struct xfrm_user_tmpl);
    for (size_t i = 0; i < n; i++) {
        struct xfrm_user_tmpl u;
        memcpy(&u, p + i * sizeof u, sizeof u);
        if (pol->n_tmpl >= XFRM_TMPL_MAX) {
            pol->more_tmpl = true;
            continue;
        }
        struct xfrm_tmpl *t = &pol->tmpl[pol->n_tmpl++];
        if (addr_text(u.family, &u.saddr, t->src, sizeof t->src, e, "tmpl src") != 0 ||
            addr_text(u.family, &u.id.daddr, t->dst, sizeof t->dst, e, "tmpl dst") != 0)
            return -1;
        if (xfrmproto_text(u.id.proto, t->proto, sizeof t->proto) != 0)
            return err_set(e, ERR_PARSE, "tmpl: protocol %u", (unsigned)u.id.proto);
        t->spi = OPT_U64(ntohl(u.id.spi));
        t->reqid = OPT_U64(u.reqid);
        mode_text(u.mode, t->mode, sizeof t->mode);
        if (u.optional == 0)
            snprintf(t->level, sizeof t->level, "required");
        else if (u.optional == 1)
            snprintf(t->level, sizeof t->level, "use");
        else
            snprintf(t->level, sizeof t->level, "%u", (unsigned)u.optional);
    }
    return 0;
}

static int pol_attr(const struct nlattr *a, void *data, struct err *e)
{
    struct xfrm_policy *pol = data;
    switch (mnl_attr_get_type(a)) {
    case XFRMA_TMPL:
        return tmpl_attr(pol, a, e);
    case XFRMA_POLICY_TYPE: {
        struct xfrm_userpolicy_type t;
        if (exact(a, sizeof t, e, "XFRMA_POLICY_TYPE") != 0)
            return -1;
        memcpy(&t, mnl_attr_get_payload(a), sizeof t);
        if (t.type == XFRM_POLICY_TYPE_MAIN)
            snprintf(pol->ptype, sizeof pol->ptype, "main");
        else if (t.type == XFRM_POLICY_TYPE_SUB)
            snprintf(pol->ptype, sizeof pol->ptype, "sub");
        else
            snprintf(pol->ptype, sizeof pol->ptype, "%u", (unsigned)t.type);
        return 0;
    }
    default:
        return 0;
    }
}

static int parse_pol_msg(const struct nlmsghdr *nlh, struct xfrm_policy *pol, struct err *e)
{
    struct xfrm_userpolicy_info info;
    if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof info)
        return err_set(e, ERR_TRUNCATED, "XFRM_MSG_NEWPOLICY: %" PRIu32 " bytes, less than "
                       "xfrm_userpolicy_info", nlh->nlmsg_len);
    memcpy(&info, mnl_nlmsg_get_payload(nlh), sizeof info);
    if (prefix_text(info.sel.family, &info.sel.saddr, info.sel.prefixlen_s, pol->src,
                    sizeof pol->src, e, "policy selector") != 0 ||
        prefix_text(info.sel.family, &info.sel.daddr, info.sel.prefixlen_d, pol->dst,
                    sizeof pol->dst, e, "policy selector") != 0 ||
        upspec_text(&info.sel, pol->upspec, sizeof pol->upspec, e) != 0)
        return -1;
    uint8_t dir = info.dir;
    pol->socket = dir >= XFRM_POLICY_MAX;
    if (pol->socket)
        dir = (uint8_t)(dir - XFRM_POLICY_MAX);
    static const char *dirs[] = {"in", "out", "fwd"};
    if (dir < 3)
        snprintf(pol->dir, sizeof pol->dir, "%s", dirs[dir]);
    else
        snprintf(pol->dir, sizeof pol->dir, "%u", (unsigned)dir);
    if (info.action == XFRM_POLICY_ALLOW)
        snprintf(pol->action, sizeof pol->action, "allow");
    else if (info.action == XFRM_POLICY_BLOCK)
        snprintf(pol->action, sizeof pol->action, "block");
    else
        snprintf(pol->action, sizeof pol->action, "%u", (unsigned)info.action);
    pol->priority = OPT_U64(info.priority);
    pol->index = OPT_U64(info.index);
    return each_attr(nlh, sizeof info, pol_attr, pol, e, "XFRM_MSG_NEWPOLICY");
}

/* ---- the dump stream ---------------------------------------------------- */

static int parse_stream(const void *buf, size_t len, struct xfrm_fact *f, bool states,
                        struct err *e)
{
    const char *what = states ? "xfrm netlink states" : "xfrm netlink policies";
    uint16_t want = states ? XFRM_MSG_NEWSA : XFRM_MSG_NEWPOLICY;
    unsigned char *b = aligned_copy(buf, len);
    if (!b)
        return err_set(e, ERR_INTERNAL, "out of memory");
    bool done = false, bad = false;
    size_t off = 0, nmsg = 0;
    struct nlmsghdr *nlh;
    int rc = -1;
    while (!done && (nlh = msg_at(b, len, off, &bad, e, what)) != NULL) {
        nmsg++;
        if (nlh->nlmsg_type == NLMSG_DONE) {
            done = true;
        } else if (nlh->nlmsg_type == NLMSG_ERROR) {
            struct nlmsgerr ne;
            if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof ne.error) {
                err_set(e, ERR_TRUNCATED, "%s: NLMSG_ERROR without its error code", what);
                goto out;
            }
            memcpy(&ne.error, mnl_nlmsg_get_payload(nlh), sizeof ne.error);
            if (ne.error == 0)
                err_set(e, ERR_PARSE, "%s: an acknowledgement inside a dump", what);
            else if (ne.error < 0 && ne.error > -4096)
                err_set(e, -ne.error == EPERM || -ne.error == EACCES ? ERR_SUDO : ERR_IO,
                        "%s: the kernel answered: %s", what, strerror(-ne.error));
            else
                err_set(e, ERR_PARSE, "%s: NLMSG_ERROR with error %d", what, ne.error);
            goto out;
        } else if (nlh->nlmsg_type == NLMSG_NOOP) {
            /* nothing */
        } else if (nlh->nlmsg_type == want) {
            if (states) {
                struct xfrm_sa *sa = xfrm_fact_add_sa(f);
                if (!sa) {
                    err_set(e, ERR_INTERNAL, "out of memory");
                    goto out;
                }
                if (parse_sa_msg(nlh, sa, e) != 0) {
                    err_wrap(e, "%s: message %zu", what, nmsg);
                    goto out;
                }
            } else {
                struct xfrm_policy *p = xfrm_fact_add_policy(f);
                if (!p) {
                    err_set(e, ERR_INTERNAL, "out of memory");
                    goto out;
                }
                if (parse_pol_msg(nlh, p, e) != 0) {
                    err_wrap(e, "%s: message %zu", what, nmsg);
                    goto out;
                }
            }
        } else {
            err_set(e, nmsg == 1 ? ERR_UNSUPPORTED : ERR_PARSE,
                    "%s: message %zu has type %u, not a %s", what, nmsg,
                    (unsigned)nlh->nlmsg_type, states ? "state" : "policy");
            goto out;
        }
        off = msg_step(nlh, off, len);
    }
    if (bad)
        goto out;
    if (!done) {
        err_set(e, ERR_TRUNCATED, "%s: no NLMSG_DONE after %zu messages: dump cut short", what,
                nmsg);
        goto out;
    }
    if (off < len) {
        err_set(e, ERR_PARSE, "%s: %zu bytes after NLMSG_DONE", what, len - off);
        goto out;
    }
    rc = 0;
out:
    free(b);
    return rc;
}

int xfrm_nl_parse_states(const void *buf, size_t len, struct xfrm_fact *f, struct err *e)
{
    free(f->sa);
    f->sa = NULL;
    f->n_sa = 0;
    if (parse_stream(buf, len, f, true, e) == 0)
        return 0;
    free(f->sa);
    f->sa = NULL;
    f->n_sa = 0;
    return -1;
}

int xfrm_nl_parse_policies(const void *buf, size_t len, struct xfrm_fact *f, struct err *e)
{
    free(f->pol);
    f->pol = NULL;
    f->n_pol = 0;
    if (parse_stream(buf, len, f, false, e) == 0)
        return 0;
    free(f->pol);
    f->pol = NULL;
    f->n_pol = 0;
    return -1;
}

/* ---- key scrubbing ------------------------------------------------------ */

static void fake_fill(unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (i & 1) ? 0x4e : 0xfa;
}

/* Works on the caller's memory, which may be unaligned: every header is
 * copied out before it is read. */
int xfrm_nl_scrub_keys(void *buf, size_t len)
{
    unsigned char *b = buf;
    size_t off = 0;
    int keys = 0;
    while (off < len) {
        struct nlmsghdr h;
        if (len - off < sizeof h)
            break;
        memcpy(&h, b + off, sizeof h);
        if (h.nlmsg_len < sizeof h || h.nlmsg_len > len - off)
            break;
        size_t end = off + h.nlmsg_len;
        if (h.nlmsg_type == XFRM_MSG_NEWSA || h.nlmsg_type == XFRM_MSG_UPDSA) {
            size_t a = off + MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct xfrm_usersa_info));
            while (a + sizeof(struct nlattr) <= end) {
                struct nlattr at;
                memcpy(&at, b + a, sizeof at);
                if (at.nla_len < sizeof at || at.nla_len > end - a)
                    break;
                size_t hdr = 0;
                switch (at.nla_type & NLA_TYPE_MASK) {
                case XFRMA_ALG_AEAD: hdr = sizeof(struct xfrm_algo_aead); break;
                case XFRMA_ALG_AUTH_TRUNC: hdr = sizeof(struct xfrm_algo_auth); break;
                case XFRMA_ALG_CRYPT:
                case XFRMA_ALG_AUTH:
                case XFRMA_ALG_COMP: hdr = sizeof(struct xfrm_algo); break;
                default: break;
                }
                size_t plen = at.nla_len - sizeof at;
                if (hdr) {
                    /* everything after the fixed part is key, whatever the
                     * key length field says; a short attribute loses all of
                     * its payload after the name */
                    size_t from = plen >= hdr ? hdr : (plen > 64 ? 64 : plen);
                    fake_fill(b + a + sizeof at + from, plen - from);
                    keys++;
                }
                a += MNL_ALIGN(at.nla_len);
            }
            if (a < end) /* a broken attribute or stray bytes: wipe the rest */
                memset(b + a, 0, end - a);
        }
        size_t step = MNL_ALIGN(h.nlmsg_len);
        off = step > len - off ? len : off + step;
    }
    if (off < len) {
        memset(b + off, 0, len - off);
        return -1;
    }
    return keys;
}

/* ---- the dump ----------------------------------------------------------- */

static int dump_once(enum xfrm_nl_kind kind, struct buf *raw, unsigned char *rbuf,
                     size_t rcap, struct err *e, bool *interrupted)
{
    *interrupted = false;
    const char *what = kind == XFRM_NL_STATES ? "XFRM_MSG_GETSA dump" : "XFRM_MSG_GETPOLICY dump";
    struct mnl_socket *nl = mnl_socket_open(NETLINK_XFRM);
    if (!nl) {
        int en = errno;
        return err_set(e, en == EPROTONOSUPPORT ? ERR_UNSUPPORTED : ERR_IO,
                       "%s: netlink socket: %s%s", what, strerror(en),
                       en == EPROTONOSUPPORT ? " (no xfrm_user in this kernel)" : "");
    }
    int rc = -1;
    if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) != 0) {
        err_set(e, ERR_IO, "%s: bind: %s", what, strerror(errno));
        goto out;
    }
    unsigned int portid = mnl_socket_get_portid(nl);
    unsigned char req[MNL_NLMSG_HDRLEN];
    memset(req, 0, sizeof req);
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(req);
    nlh->nlmsg_type = kind == XFRM_NL_STATES ? XFRM_MSG_GETSA : XFRM_MSG_GETPOLICY;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    unsigned int seq = (unsigned int)(now.tv_nsec ^ now.tv_sec) | 1u;
    nlh->nlmsg_seq = seq;
    if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
        int en = errno;
        err_set(e, en == EPERM || en == EACCES ? ERR_SUDO : ERR_IO, "%s: send: %s", what,
                strerror(en));
        goto out;
    }
    size_t start = raw->len;
    for (;;) {
        struct pollfd pfd = {mnl_socket_get_fd(nl), POLLIN, 0};
        int pr = poll(&pfd, 1, XFRM_NL_TIMEOUT_MS);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr < 0) {
            err_set(e, ERR_IO, "%s: poll: %s", what, strerror(errno));
            goto out;
        }
        if (pr == 0) {
            err_set(e, ERR_TIMEOUT, "%s: no answer from the kernel for %d ms", what,
                    XFRM_NL_TIMEOUT_MS);
            goto out;
        }
        ssize_t n = mnl_socket_recvfrom(nl, rbuf, rcap);
        if (n < 0) {
            int en = errno;
            if (en == EINTR || en == EAGAIN)
                continue;
            err_set(e, en == ENOSPC ? ERR_TRUNCATED : ERR_IO, "%s: receive: %s", what,
                    strerror(en));
            goto out;
        }
        xfrm_nl_scrub_keys(rbuf, (size_t)n);
        if (raw->len - start + (size_t)n > XFRM_NL_DUMP_MAX) {
            err_set(e, ERR_TRUNCATED, "%s: more than %u bytes", what, XFRM_NL_DUMP_MAX);
            goto out;
        }
        errno = 0;
        int cr = mnl_cb_run(rbuf, (size_t)n, seq, portid, NULL, NULL);
        if (cr < 0) {
            int en = errno;
            if (en == EINTR) {
                *interrupted = true;
                err_set(e, ERR_IO, "%s: interrupted (the tables changed during the dump)", what);
            } else if (en == ESRCH) {
                err_set(e, ERR_PARSE, "%s: a reply with another sequence number or port", what);
            } else if (en == EPROTO || en == 0) {
                err_set(e, ERR_PARSE, "%s: a malformed reply", what);
            } else {
                err_set(e, en == EPERM || en == EACCES ? ERR_SUDO : ERR_IO,
                        "%s: the kernel answered: %s", what, strerror(en));
            }
            goto out;
        }
        if (buf_append(raw, rbuf, (size_t)n) != 0) {
            err_set(e, ERR_INTERNAL, "out of memory");
            goto out;
        }
        if (cr == MNL_CB_STOP)
            break;
    }
    rc = 0;
out:
    mnl_socket_close(nl);
    return rc;
}

int xfrm_nl_dump(enum xfrm_nl_kind kind, struct buf *raw, struct err *e)
{
    size_t rcap = 64u << 10; /* larger than any dump datagram the kernel builds */
    unsigned char *rbuf = malloc(rcap);
    if (!rbuf)
        return err_set(e, ERR_INTERNAL, "out of memory");
    size_t start = raw->len;
    int rc = -1;
    for (int attempt = 0; attempt < 3; attempt++) {
        bool again = false;
        raw->len = start;
        rc = dump_once(kind, raw, rbuf, rcap, e, &again);
        if (rc == 0 || !again)
            break;
    }
    if (rc != 0) {
        if (raw->data)
            memset(raw->data + start, 0, raw->len - start);
        raw->len = start;
        if (raw->data)
            raw->data[start] = '\0';
    }
    explicit_bzero(rbuf, rcap);
    free(rbuf);
    return rc;
}

int xfrm_nl_collect(struct xfrm_fact *f, struct err *e)
{
    xfrm_fact_free(f);
    struct buf raw = BUF_INIT;
    int rc = -1;
    if (xfrm_nl_dump(XFRM_NL_STATES, &raw, e) != 0 ||
        xfrm_nl_parse_states(raw.data, raw.len, f, e) != 0)
        goto out;
    buf_reset(&raw);
    if (xfrm_nl_dump(XFRM_NL_POLICIES, &raw, e) != 0 ||
        xfrm_nl_parse_policies(raw.data, raw.len, f, e) != 0)
        goto out;
    rc = 0;
out:
    buf_free(&raw);
    if (rc != 0)
        xfrm_fact_free(f);
    return rc;
}
