/* Kernel XFRM facts from netlink (NETLINK_XFRM, libmnl): the source used when
 * tunnelscope runs on the gateway itself (`local` peer).
 *
 * Two halves:
 *  - xfrm_nl_dump(): one XFRM_MSG_GETSA or XFRM_MSG_GETPOLICY dump request
 *    (NLM_F_DUMP), every reply datagram kept verbatim in a buffer (sequence
 *    number and port id checked, multi-part until NLMSG_DONE, NLMSG_ERROR
 *    reported, bounded in size and time).  Needs CAP_NET_ADMIN.
 *  - xfrm_nl_parse_states() / xfrm_nl_parse_policies(): pure parsers of those
 *    bytes into the same struct xfrm_fact that probes/xfrm.h's text parsers
 *    fill from `ip -s xfrm state list nokeys` / `ip -s xfrm policy`, field by
 *    field as iproute2 6.1 prints them (tests/unit/test_xfrm_nl.c compares
 *    both sources of the same moment).  Every message and attribute is
 *    validated before use; truncated, garbled or hostile bytes give an error
 *    (ERR_TRUNCATED, ERR_PARSE, ERR_UNSUPPORTED), never a guessed number.
 *
 * Key material: of XFRMA_ALG_AEAD / CRYPT / AUTH / AUTH_TRUNC only the
 * algorithm name is read; the key bytes are length-checked and never copied.
 * The kernel does send the keys in a GETSA dump: xfrm_nl_dump() overwrites
 * them in each reply datagram (xfrm_nl_scrub_keys()) before it keeps the
 * datagram, and wipes its receive buffer, so the raw bytes it returns (and
 * the fixtures made from them) hold no key.
 *
 * Differences from the text, by construction: the netlink source knows every
 * field (the non -s text does not print an index, a zero template SPI or
 * "level required": those stay unknown/empty there).  Times are formatted with
 * localtime_r() as iproute2 does, so they depend on TZ like `ip` does.  Two
 * rare selector parts cannot match the text, as the message does not carry
 * what `ip` looks up on its machine: an interface ("dev if3" where `ip`
 * prints "dev eth0") and an upper protocol missing from the built-in table of
 * /etc/protocols names (printed as its number). */
#ifndef TS_XFRM_NL_H
#define TS_XFRM_NL_H

#include <stddef.h>

#include "probes/xfrm.h"
#include "remote/buf.h"

enum xfrm_nl_kind {
    XFRM_NL_STATES,     /* XFRM_MSG_GETSA */
    XFRM_NL_POLICIES,   /* XFRM_MSG_GETPOLICY */
};

/* Limits of one dump (a gateway with tens of thousands of SAs fits). */
#define XFRM_NL_DUMP_MAX (64u << 20)     /* bytes */
#define XFRM_NL_TIMEOUT_MS 5000          /* without a reply datagram */

/* Pure: a sequence of netlink messages as received for a dump (the reply
 * datagrams one after the other), ending with NLMSG_DONE.  Replaces f->sa
 * (or f->pol); on error that list is left empty. */
int xfrm_nl_parse_states(const void *buf, size_t len, struct xfrm_fact *f, struct err *e);
int xfrm_nl_parse_policies(const void *buf, size_t len, struct xfrm_fact *f, struct err *e);

/* Overwrites, in place, the key bytes of every XFRMA_ALG_AEAD / CRYPT / AUTH /
 * AUTH_TRUNC / COMP attribute of the messages in buf with the fixed pattern
 * fa 4e fa 4e ... (lengths kept).  Returns how many keys it overwrote, or -1
 * when the messages could not be walked to the end: then every byte of buf
 * after the last whole message is zeroed. */
int xfrm_nl_scrub_keys(void *buf, size_t len);

/* Runs one dump in the caller's network namespace, appending the reply
 * datagrams (keys scrubbed) to raw.  0 / -1: ERR_SUDO for EPERM/EACCES (not
 * root), ERR_IO, ERR_TIMEOUT, ERR_TRUNCATED (over XFRM_NL_DUMP_MAX), ERR_PARSE
 * (a reply that is not a well-formed netlink message of this dump). */
int xfrm_nl_dump(enum xfrm_nl_kind kind, struct buf *raw, struct err *e);

/* Both dumps and both parses into f (emptied first); on error f is empty. */
int xfrm_nl_collect(struct xfrm_fact *f, struct err *e);

#endif
