#!/bin/bash
# Lab self-test on the kernel backend (label lab): brings up its own lab inside User-Mode Linux
# (tests/lab/natlab up --backend kernel), runs `natlab selftest` there (every fact and every
# fault, with kernel XFRM checks in place of the ipsec0 ones), then checks from the HOST console
# what only the kernel backend shows: ssh into the guest's gateways over the tap, real XFRM
# states with encap espinudp whose counters move, and tunnelscope running on the host console.
# Always tears the lab down and checks that nothing is left.  Args: tunnelscope binary, source dir.
set -u
bin=${1:-}
src=${2:-$(cd "$(dirname "$0")/../.." && pwd)}
natlab=$src/tests/lab/natlab
export NATLAB_ID=sk$$
[ -n "$bin" ] && export TUNNELSCOPE=$bin
if [ "$(id -u)" != 0 ]; then echo "test_selftest_kernel: needs root"; exit 1; fi

cleanup() { "$natlab" down >/dev/null 2>&1 || true; }
trap cleanup EXIT INT TERM

pass=0 fail=0
check() {   # check "what" CMD...
    local what=$1; shift
    if "$@" >/dev/null 2>&1; then echo "PASS: $what"; pass=$((pass + 1)); else echo "FAIL: $what"; fail=$((fail + 1)); fi
}
# packets GW DIR: packet count of the XFRM state of that direction on GW, seen over ssh.
xfrm_packets() {
    local gw=$1 dir=$2 out
    out=$("$natlab" ssh "$gw" 'ip -s xfrm state list nokeys') || return 1
    # gw-a's out state is src 192.168.77.2; its in state is dst 192.168.77.2 (and so on).
    awk -v me="$3" -v dir="$dir" '
        /^src / { sel = (dir == "out" ? $2 == me : $4 == me) }
        sel && /\(bytes\), [0-9]+\(packets\)/ { sub(/\(packets\)/, "", $2); print $2; exit }' <<<"$out"
}

rc=0
if "$natlab" up --backend kernel; then
    check "host console: ssh gw-a reaches the guest's gw-a" test "$("$natlab" ssh gw-a hostname)" = gw-a
    check "host console: ssh gw-b reaches the guest's gw-b" test "$("$natlab" ssh gw-b hostname)" = gw-b
    check "gw-a: ip xfrm state shows encap type espinudp (real kernel XFRM)" \
        bash -c '"$1" ssh gw-a "ip xfrm state list nokeys" | grep -q "encap type espinudp sport 4500 dport 4500"' _ "$natlab"
    a0=$(xfrm_packets gw-a out 192.168.77.2); b0=$(xfrm_packets gw-b in 198.51.100.20)
    "$natlab" gw lan-a ping -q -c 5 -i 0.2 -W 2 10.20.5.10 >/dev/null 2>&1
    a1=$(xfrm_packets gw-a out 192.168.77.2); b1=$(xfrm_packets gw-b in 198.51.100.20)
    check "XFRM counters move with 5 pings (gw-a out $a0 -> $a1, gw-b in $b0 -> $b1)" \
        test "${a1:-0}" -ge $(( ${a0:-0} + 5 )) -a "${b1:-0}" -ge $(( ${b0:-0} + 5 ))
    if [ -n "$bin" ]; then
        check "host console: tunnelscope runs there ($bin)" "$natlab" exec "$bin" --version
    fi
    "$natlab" selftest || rc=1
else
    echo "FAIL: natlab up --backend kernel"
    rc=1
fi

"$natlab" down
left=0
if ip netns list | grep -q "^$NATLAB_ID-"; then echo "FAIL: namespaces left after down"; left=1; fi
if [ -e "$src/tests/lab/work/$NATLAB_ID" ]; then echo "FAIL: work folder left after down"; left=1; fi
if pgrep -f "uml_dir=$src/tests/lab/work/$NATLAB_ID/" >/dev/null; then
    echo "FAIL: UML processes left after down"; left=1
fi
if [ $left = 0 ]; then echo "PASS: down left no namespace, UML process or work folder"; pass=$((pass + 1)); else fail=$((fail + 1)); fi
echo "host-side checks: $pass passed, $fail failed"
[ $fail = 0 ] || rc=1
exit $rc
