#!/bin/bash
# `tunnelscope probe local` takes the kernel XFRM fact from netlink (issue 4), on this
# host's real kernel, in a network namespace of its own: policies (in/out, block with an
# upper-layer selector, IPv6) and larval SAs (ip xfrm state allocspi; this kernel has no
# esp4 for full ESP states: those are checked in the UML guest by
# tests/lab/test_xfrm_nl_uml.sh).  Checks: the output says "xfrm-source netlink", the
# xfrm-sa / xfrm-policy lines equal those of the text source (--no-netlink) of the same
# moment, and an unprivileged run says why netlink was not used.  Needs root.
set -u
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 0; }
tmp=$(mktemp -d)
chmod 755 "$tmp"
trap 'rm -rf "$tmp"' EXIT
unshare -n bash -u -c '
bin=$1 tmp=$2
pass=0 failn=0
check() { if eval "$2"; then echo "ok: $1"; pass=$((pass + 1)); else echo "FAIL: $1"; failn=$((failn + 1)); fi; }
ip link set lo up
ip xfrm policy add src 10.10.0.0/16 dst 10.20.0.0/16 dir out priority 383615 \
    tmpl src 192.0.2.1 dst 198.51.100.20 proto esp reqid 1 mode tunnel
ip xfrm policy add src 10.20.0.0/16 dst 10.10.0.0/16 dir in priority 383615 \
    tmpl src 198.51.100.20 dst 192.0.2.1 proto esp reqid 1 mode tunnel
ip xfrm policy add src 10.10.5.0/24 dst 10.20.5.0/24 proto udp dport 53 dir out action block priority 100
ip xfrm policy add src fd00:a::/64 dst fd00:b::/64 dir out \
    tmpl src 2001:db8:a::2 dst 2001:db8:b::2 proto esp reqid 2 mode tunnel
spi=$(ip xfrm state allocspi src 198.51.100.20 dst 192.0.2.1 proto esp | awk "/spi/ { print \$4 }")
ip xfrm state allocspi src 2001:db8:b::2 dst 2001:db8:a::2 proto esp >/dev/null
timeout 120 "$bin" probe --no-sudo local > "$tmp/nl.txt" 2> "$tmp/nl.err"
timeout 120 "$bin" probe --no-sudo --no-netlink local > "$tmp/text.txt" 2> "$tmp/text.err"
grep "^xfrm" "$tmp/nl.txt"
check "netlink is the source on the local peer" "grep -qx \"xfrm-source netlink\" $tmp/nl.txt"
check "--no-netlink: the text is the source" "grep -qx \"xfrm-source text\" $tmp/text.txt"
check "2 states 4 policies" "grep -qx \"xfrm states 2 policies 4\" $tmp/nl.txt"
check "the larval SA of ip xfrm state allocspi (${spi#0x})" "grep -q \"^xfrm-sa 198.51.100.20>192.0.2.1 spi ${spi#0x} \" $tmp/nl.txt"
check "the block policy with its upper-layer selector" \
    "grep -q \"^xfrm-policy 10.10.5.0/24>10.20.5.0/24 proto udp dport 53 dir out action block priority 100 \" $tmp/nl.txt"
check "the IPv6 policy and its template" \
    "grep -q \"^xfrm-policy fd00:a::/64>fd00:b::/64 dir out action allow .* tmpl 2001:db8:a::2>2001:db8:b::2 reqid 2\" $tmp/nl.txt"
grep "^xfrm-\(sa\|policy\)" "$tmp/nl.txt" > "$tmp/nl.x"
grep "^xfrm-\(sa\|policy\)" "$tmp/text.txt" > "$tmp/text.x"
check "netlink and text give the same XFRM facts" "[ -s $tmp/nl.x ] && diff $tmp/nl.x $tmp/text.x"
# a dump of many parts (the kernel splits it over several datagrams): 400 more policies
# and 150 larval SAs, about 140 KiB of netlink messages
for i in $(seq 1 400); do
    echo "xfrm policy add src 10.$((i / 250 + 100)).$((i % 250)).0/24 dst 10.200.0.0/16 dir out priority $i tmpl src 192.0.2.1 dst 198.51.100.20 proto esp reqid $i mode tunnel"
done > "$tmp/batch"
for i in $(seq 1 150); do
    echo "xfrm state allocspi src 192.0.2.1 dst 198.51.100.$((i + 50)) proto esp"
done >> "$tmp/batch"
ip -batch "$tmp/batch" >/dev/null
timeout 120 "$bin" probe --no-sudo local > "$tmp/nl2.txt" 2>&1
timeout 120 "$bin" probe --no-sudo --no-netlink local > "$tmp/text2.txt" 2>&1
check "multi-part dump: 152 states 404 policies from netlink" \
    "grep -qx \"xfrm-source netlink\" $tmp/nl2.txt && grep -qx \"xfrm states 152 policies 404\" $tmp/nl2.txt"
grep "^xfrm-\(sa\|policy\)" "$tmp/nl2.txt" > "$tmp/nl2.x"
grep "^xfrm-\(sa\|policy\)" "$tmp/text2.txt" > "$tmp/text2.x"
check "multi-part dump: netlink and text give the same XFRM facts" "diff -q $tmp/nl2.x $tmp/text2.x"
# not root: the kernel refuses the dump, and the output says so
timeout 120 setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all \
    "$bin" probe --no-sudo local > "$tmp/user.txt" 2>&1
grep "^xfrm-source" "$tmp/user.txt"
check "unprivileged: netlink refused, the reason printed" \
    "grep -q \"^xfrm-source [a-z]* (netlink: .*Operation not permitted)\" $tmp/user.txt"
echo "$pass passed, $failn failed"
[ "$failn" = 0 ]
' _ "$bin" "$tmp"
