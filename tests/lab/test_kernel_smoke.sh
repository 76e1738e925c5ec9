#!/bin/bash
# Lab test (label lab): the kernel backend's ground truth inside User-Mode Linux.
# Boots the UML guest and runs tests/lab/uml/smoke-guest there: two charons with
# kernel-netlink, IKEv2 PSK through an iptables-legacy MASQUERADE NAT, ESP-in-UDP
# XFRM states whose counters move while pinging, and netem loss on the wan.
# Args: <tunnelscope binary> <source dir>
set -euo pipefail
src=${2:?usage: test_kernel_smoke.sh BINARY SRCDIR}
cd "$src"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
rc=0
tests/lab/uml/boot --timeout 300 -- tests/lab/uml/smoke-guest >"$out" 2>&1 || rc=$?
cat "$out"
[ "$rc" = 0 ] || { echo "FAIL: guest smoke exited $rc"; exit 1; }
grep -q '^== ok$' "$out" || { echo "FAIL: guest smoke did not reach the end"; exit 1; }
grep -q 'local host is behind NAT' "$out" || { echo "FAIL: NAT not detected"; exit 1; }
