/* The remote capture command: interface from the route to the peer, filter
 * restricted to IKE and ESP, small snap length, under sudo -n and timeout so
 * that it ends on its own on the peer (DESIGN.md "Captures", "Peers"). */
#include "probes/capture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "remote/buf.h"

static int ifname_ok(const char *s, size_t n)
{
    if (n == 0 || n > 15)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == '_'))
            return 0;
    }
    return 1;
}

int capture_route_cmd(const char *peer_addr, char **out, struct err *e)
{
    struct capture_addr a;
    if (!peer_addr || capture_addr_parse(peer_addr, &a) != 0)
        return err_set(e, ERR_USAGE, "not an IP address: '%s'", peer_addr ? peer_addr : "");
    char txt[64];
    capture_addr_str(&a, txt, sizeof txt);
    struct buf b = BUF_INIT;
    if (buf_printf(&b, "ip route get %s", txt) != 0) {
        buf_free(&b);
        return err_set(e, ERR_INTERNAL, "out of memory");
    }
    *out = buf_take(&b);
    return 0;
}

int capture_route_iface(const char *text, size_t len, char *ifname, size_t size, struct err *e)
{
    /* "198.51.100.20 via 192.0.2.1 dev eth0 src 192.0.2.10 uid 0\n    cache\n" */
    size_t i = 0;
    while (i < len) {
        while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n'))
            i++;
        size_t w = i;
        while (i < len && text[i] != ' ' && text[i] != '\t' && text[i] != '\n')
            i++;
        if (i - w == 3 && !memcmp(text + w, "dev", 3)) {
            while (i < len && (text[i] == ' ' || text[i] == '\t'))
                i++;
            size_t v = i;
            while (i < len && text[i] != ' ' && text[i] != '\t' && text[i] != '\n')
                i++;
            if (!ifname_ok(text + v, i - v))
                return err_set(e, ERR_PARSE, "ip route get: bad interface name after 'dev'");
            if (i - v + 1 > size)
                return err_set(e, ERR_INTERNAL, "interface name buffer too small");
            memcpy(ifname, text + v, i - v);
            ifname[i - v] = '\0';
            return 0;
        }
    }
    if (memmem(text, len, "RTNETLINK", 9) || memmem(text, len, "unreachable", 11))
        return err_set(e, ERR_NOT_FOUND, "ip route get: no route to the peer");
    return err_set(e, ERR_PARSE, "ip route get: no 'dev' in the output");
}

int capture_cmd_build(const struct capture_cmd_opts *o, char **out, struct err *e)
{
    if (!o->iface || !ifname_ok(o->iface, strlen(o->iface)))
        return err_set(e, ERR_USAGE, "bad interface name");
    if (o->seconds == 0 || o->seconds > 86400)
        return err_set(e, ERR_USAGE, "capture duration must be 1..86400 s");
    if (o->snaplen < -1 || o->snaplen > (int)CAPTURE_MAX_CAPLEN)
        return err_set(e, ERR_USAGE, "bad snap length %d", o->snaplen);
    int snap = o->snaplen == 0 ? CAPTURE_SNAPLEN_DEFAULT : o->snaplen == -1 ? 0 : o->snaplen;
    struct buf b = BUF_INIT;
    /* -U: flush per packet; --immediate-mode: no kernel buffering delay;
     * -s 0 means the whole packet; -w - writes pcap to stdout.
     * timeout --foreground: stay in the caller's process group, so that
     * stopping the command (remote/'s watcher signals its process group)
     * reaches tcpdump too; without it timeout makes a group of its own and
     * tcpdump outlives the stop until the time limit. */
    int r = buf_printf(&b, "%stimeout --foreground -k 5 %u tcpdump -i %s -U --immediate-mode -s %d -w - '%s'",
                       o->sudo ? "sudo -n " : "", o->seconds, o->iface, snap, CAPTURE_FILTER);
    if (r != 0) {
        buf_free(&b);
        return err_set(e, ERR_INTERNAL, "out of memory");
    }
    *out = buf_take(&b);
    return 0;
}
