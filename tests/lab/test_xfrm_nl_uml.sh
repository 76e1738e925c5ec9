#!/bin/bash
# The netlink XFRM probe live in the UML guest (real kernel ESP-in-UDP through NAT):
# `tests/fixtures/xfrm_nl/capture --check` boots the guest, brings up two charons with the
# lab's addresses and selectors, and checks the netlink facts of both gateways against the
# lab's truth: every SPI equal to `ip xfrm state`'s, encap espinudp 4500/4500 on every SA,
# policies 10.10.0.0/16 <=> 10.20.0.0/16 (out, in, fwd).  It takes 1-4 minutes (UML boot and
# process creation are slow), so CI runs it only with NATLAB_KERNEL_FULL=1, like the full
# kernel selftest.  Needs root and user-mode-linux.
set -u
src=${2:-$(cd "$(dirname "$0")/../.." && pwd)}
if [ "${NATLAB_KERNEL_FULL:-0}" != 1 ]; then
    echo "SKIP: set NATLAB_KERNEL_FULL=1 to run the UML netlink check"; exit 0
fi
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 0; }
[ -x /usr/bin/linux.uml ] || { echo "FAIL: /usr/bin/linux.uml missing"; exit 1; }
XNL_TIMEOUT=400 bash "$src/tests/fixtures/xfrm_nl/capture" --check 2>&1 | grep -v '^plugin\|^opening'
rc=${PIPESTATUS[0]}
[ "$rc" = 0 ] && echo "1 passed, 0 failed" || echo "0 passed, 1 failed"
exit "$rc"
