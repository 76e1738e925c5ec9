#!/bin/bash
# Lab self-test on the kernel backend (labels lab, kernel): brings up its own lab inside
# User-Mode Linux (tests/lab/natlab up --backend kernel) and checks from the HOST console what only
# the kernel backend shows: ssh into the guest's gateways over the tap, real XFRM states with encap
# espinudp whose counters move, tunnelscope running on the host console; then the complete
# `natlab selftest` inside the guest: every fact of the lab (kernel XFRM checks in place of the
# ipsec0 ones) and all eight faults on the real kernel dataplane (iptables-legacy rules, netem
# for lossy-wan, XFRM counters).  Always tears the lab down and checks that nothing is left.
# NATLAB_KERNEL_QUICK=1: an opt-in quick mode for development (selftest --facts-only, then only
# esp-drop-to-b and lossy-wan, checked here on `ip -s xfrm state`); CI runs the complete test.
# Args: tunnelscope binary, source dir.
set -u
bin=${1:-}
src=${2:-$(cd "$(dirname "$0")/../.." && pwd)}
natlab=$src/tests/lab/natlab
export NATLAB_ID=sk$$
t0=$SECONDS
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

# xfrm_keys GW: every enc/auth/aead key of GW's real XFRM states (`ip xfrm state` prints them
# unless told nokeys), as lower-case hex without 0x, one a line.
xfrm_keys() {
    "$natlab" ssh "$1" 'sudo -n ip xfrm state' |
        awk '$1 ~ /^(enc|auth|auth-trunc|aead|comp)$/ {
                 for (i = 2; i <= NF; i++) if ($i ~ /^0x[0-9a-fA-F]+$/) print tolower(substr($i, 3)) }'
}
# leaks FILE_OR_DIR WORD...: the WORDs (case-insensitive, fixed strings) found in it, one a line.
# A key is looked for by its first 16 hex digits, so that a key cut, or printed with 0x, in
# upper case or in a longer run of hex, is still found.
leaks() {
    local where=$1 w; shift
    for w in "$@"; do
        if [ -d "$where" ]; then grep -rqaiF -- "$w" "$where" && echo "$w"
        else grep -qaiF -- "$w" "$where" && echo "$w"; fi
    done
    return 0
}
# key_scan (issue 9): `tunnelscope diagnose --bundle` against gateways with real kernel XFRM
# states (real ESP keys), then the keys read on the gateways and looked for in every file of the
# bundle folder, in the .tar.gz's uncompressed content and in the debug log; the lab's PSK too.
key_scan() {
    local tk k keys psk words found files na nb
    tk=$(mktemp -d /tmp/ts-keyscan.XXXXXX)
    na=$(xfrm_keys gw-a | wc -l); nb=$(xfrm_keys gw-b | wc -l)
    keys=$( { xfrm_keys gw-a; xfrm_keys gw-b; } | sort -u)
    TUNNELSCOPE_DEBUG=$tk/debug.log "$natlab" exec "$bin" diagnose --capture-seconds 3 \
        --bundle "$tk/bundle" gw-a gw-b >"$tk/diag.out" 2>"$tk/diag.err"
    echo "key scan: diagnose exit $?, $(wc -c <"$tk/diag.out") bytes of report; $(grep -m 1 '^RESULT' "$tk/diag.out")"
    # the keys after the run as well (a rekey during it would bring new ones)
    keys=$(printf '%s\n' "$keys" $(xfrm_keys gw-a; xfrm_keys gw-b) | grep . | sort -u)
    "$natlab" ssh gw-a 'sudo -n ip xfrm state' >"$tk/keyed.gw-a"
    psk=$("$natlab" gw gw-a cat /etc/swanctl/swanctl.conf | sed -n 's/^[[:space:]]*secret = "\(.*\)"[[:space:]]*$/\1/p' | head -n 1)
    words=()
    for k in $keys; do words+=("${k:0:16}"); done
    # one key per SA direction (AES-GCM: aead only), the same on both ends: 2 distinct keys here
    check "key scan: real ESP keys read on the gateways with ip xfrm state (gw-a $na, gw-b $nb; ${#words[@]} distinct)" \
        test "$na" -ge 2 -a "$nb" -ge 2 -a "${#words[@]}" -ge 2
    check "key scan: the lab's PSK read from gw-a's swanctl.conf" test -n "$psk"
    [ -n "$psk" ] && words+=("$psk")
    check "key scan: control: the scan finds gw-a's keys in gw-a's keyed listing" \
        test -n "$(leaks "$tk/keyed.gw-a" "${words[@]}")"
    check "key scan: the bundle folder and its .tar.gz were written" test -d "$tk/bundle" -a -f "$tk/bundle.tar.gz"
    check "key scan: the bundle holds both gateways' raw outputs (>= 5 files each)" \
        test "$(find "$tk/bundle/raw/gw-a" -type f 2>/dev/null | wc -l)" -ge 5 -a "$(find "$tk/bundle/raw/gw-b" -type f 2>/dev/null | wc -l)" -ge 5
    files=$(find "$tk/bundle" -type f | wc -l)
    found=$(leaks "$tk/bundle" "${words[@]}")
    check "key scan: no ESP key nor the PSK in any of the bundle's $files files" test -z "$found"
    [ -z "$found" ] || echo "found in the bundle: $found"
    tar -xzOf "$tk/bundle.tar.gz" >"$tk/tgz.content" 2>/dev/null
    found=$(leaks "$tk/tgz.content" "${words[@]}")
    check "key scan: no ESP key nor the PSK in the .tar.gz's uncompressed content ($(wc -c <"$tk/tgz.content") bytes)" \
        test -s "$tk/tgz.content" -a -z "$found"
    # diagnose reads SA counters from swanctl: today no command of a bundle lists XFRM states;
    # should one come, it must say nokeys
    check "key scan: no command of the bundle lists XFRM states without 'nokeys' (raw/index.json)" \
        bash -c '! grep -o "\"command\": \"[^\"]*xfrm[^\"]*state[^\"]*\"" "$1" | grep -qv nokeys' _ "$tk/bundle/raw/index.json"
    check "key scan: the debug log (TUNNELSCOPE_DEBUG) was written" test -s "$tk/debug.log"
    found=$(leaks "$tk/debug.log" "${words[@]}")
    check "key scan: no ESP key nor the PSK in the debug log ($(wc -c <"$tk/debug.log" 2>/dev/null || echo 0) bytes)" test -z "$found"
    check "key scan: bundle files and debug log owner-only" \
        test -z "$(find "$tk/bundle" "$tk/bundle.tar.gz" "$tk/debug.log" -perm /077 ! -type l)"
    # `tunnelscope probe` is the path that does list XFRM states (ip -s xfrm state list nokeys)
    TUNNELSCOPE_DEBUG=$tk/debug-probe.log "$natlab" exec "$bin" probe --raw gw-a >"$tk/probe-a.out" 2>&1
    TUNNELSCOPE_DEBUG=$tk/debug-probe.log "$natlab" exec "$bin" probe --raw gw-b >"$tk/probe-b.out" 2>&1
    check "key scan: probe lists the XFRM states with 'nokeys' on both gateways (and they parse)" \
        bash -c 'for f; do grep -q "^probe-line ip-s-xfrm-state exit=0 .*ip -s xfrm state list nokeys" "$f" &&
                 grep -q "^probe ip-s-xfrm-state ok" "$f" || exit 1; done' _ "$tk/probe-a.out" "$tk/probe-b.out"
    found=$(cat "$tk/probe-a.out" "$tk/probe-b.out" "$tk/debug-probe.log" >"$tk/probe-all" 2>/dev/null; leaks "$tk/probe-all" "${words[@]}")
    check "key scan: no ESP key nor the PSK in probe's output nor its debug log" test -s "$tk/debug-probe.log" -a -z "$found"
    [ -z "$found" ] || echo "found in probe's output or debug log: $found"
    rm -rf "$tk"
}

rc=0
if "$natlab" up --backend kernel; then
    echo "test_selftest_kernel: lab up after $(( SECONDS - t0 )) s"
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
        key_scan
    fi
    if [ "${NATLAB_KERNEL_QUICK:-0}" != 1 ]; then
        "$natlab" selftest || rc=1
    else
        "$natlab" selftest --facts-only || rc=1

        # esp-drop-to-b: gw-a's out SA keeps counting, gw-b's in SA freezes, IKE stays up.
        "$natlab" fault esp-drop-to-b
        a0=$(xfrm_packets gw-a out 192.168.77.2); b0=$(xfrm_packets gw-b in 198.51.100.20)
        check "esp-drop-to-b: ping lan-a -> lan-b fails" \
            bash -c '! "$1" gw lan-a ping -q -c 5 -i 0.2 -W 1 10.20.5.10' _ "$natlab"
        a1=$(xfrm_packets gw-a out 192.168.77.2); b1=$(xfrm_packets gw-b in 198.51.100.20)
        check "esp-drop-to-b: gw-a XFRM out grows ($a0 -> $a1), gw-b XFRM in frozen ($b0 -> $b1)" \
            test "${a1:-0}" -ge $(( ${a0:-0} + 5 )) -a "${b1:-x}" = "${b0:-y}"
        sas=$("$natlab" gw gw-b swanctl --list-sas --ike site 2>&1)
        check "esp-drop-to-b: IKE_SA still ESTABLISHED on gw-b" grep -q ESTABLISHED <<<"$sas"
        grep -q ESTABLISHED <<<"$sas" || printf '%s\n' "gw-b's SAs:" "$sas"
        "$natlab" clear esp-drop-to-b
        check "esp-drop-to-b cleared: ping lan-a -> lan-b passes" \
            "$natlab" gw lan-a ping -q -c 3 -i 0.2 -W 2 10.20.5.10

        # lossy-wan: netem on the wan router's links (this kernel has sch_netem).
        "$natlab" fault lossy-wan
        check "lossy-wan: netem qdisc with loss on the wan router" \
            bash -c '"$1" gw wan tc qdisc show dev to-gw-b | grep -q "netem.*loss 30%"' _ "$natlab"
        got=$("$natlab" gw lan-a ping -q -n -c 30 -i 0.05 -W 1 10.20.5.10 2>/dev/null |
              awk '/received/ { for (i = 1; i <= NF; i++) if ($(i+1) ~ /^received/) print $i }')
        check "lossy-wan: some but not all of 30 pings pass (got ${got:-0})" test "${got:-0}" -gt 1 -a "${got:-0}" -lt 29
        "$natlab" clear lossy-wan
        check "lossy-wan cleared: no netem left, pings pass" \
            bash -c '! "$1" gw wan tc qdisc show dev to-gw-b | grep -q netem &&
                     "$1" gw lan-a ping -q -c 3 -i 0.2 -W 2 10.20.5.10' _ "$natlab"
    fi
else
    echo "FAIL: natlab up --backend kernel"
    rc=1
fi

echo "test_selftest_kernel: checks done after $(( SECONDS - t0 )) s"
"$natlab" down
echo "test_selftest_kernel: down after $(( SECONDS - t0 )) s"
left=0
if ip netns list | grep -q "^$NATLAB_ID-"; then echo "FAIL: namespaces left after down"; left=1; fi
if [ -e "$src/tests/lab/work/$NATLAB_ID" ]; then echo "FAIL: work folder left after down"; left=1; fi
if pgrep -f "uml_dir=$src/tests/lab/work/$NATLAB_ID/" >/dev/null; then
    echo "FAIL: UML processes left after down"; left=1
fi
if grep -q "tests/lab/work/$NATLAB_ID" /proc/self/mountinfo; then echo "FAIL: mounts left after down"; left=1; fi
if [ $left = 0 ]; then echo "PASS: down left no namespace, UML process, mount or work folder"; pass=$((pass + 1)); else fail=$((fail + 1)); fi
echo "host-side checks: $pass passed, $fail failed"
[ $fail = 0 ] || rc=1
exit $rc
