#!/bin/bash
# `tunnelscope probe local` against live Libreswan plutos (Debian bookworm's
# libreswan 4.10 fetched with apt-get download, run unpacked in two network
# namespaces of this machine: tests/lab/libreswan-netns).  This host's kernel
# has no esp4, so IKE is live and no Child SA is: what is checked is daemon
# detection, whack --status / --trafficstatus through the probe runner, and
# pluto's log file (the logfile= of its ipsec.conf) with its events.
# Then west's pluto is stopped: the probe says "daemon none".
set -u
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
src=${2:-$(cd "$(dirname "$0")/../.." && pwd)}
lsw=$src/tests/lab/libreswan-netns
export LSWNS_ID=tsl$(( $$ % 100000 ))
pass=0 failn=0
check() { if eval "$2"; then echo "ok: $1"; pass=$((pass + 1)); else echo "FAIL: $1"; failn=$((failn + 1)); fi; }
W=$(mktemp -d /tmp/ts-lsw-probe.XXXXXX)
cleanup() { "$lsw" down "$W" >/dev/null 2>&1; rm -rf "$W"; }
trap cleanup EXIT
if ! timeout 180 "$lsw" up "$W" > "$W/up.log" 2>&1; then
    cat "$W/up.log"; echo "FAIL: two plutos with their outcomes"; echo "0 passed, 1 failed"; exit 1
fi
# `ipsec` on PATH is Libreswan's, pointed at that side's pluto; IPSEC_CONF is
# where the log probe finds logfile= (as Libreswan's own ipsec script does)
ts() { # side args...
    local s=$1; shift
    PATH=$W/bin-$s:$PATH IPSEC_CONF=$W/$s/ipsec.conf timeout 120 \
        ip netns exec "$LSWNS_ID-${s:0:1}" "$bin" probe --no-sudo --raw "$@" local
}
ts west > "$W/w" 2> "$W/w.err"; rcw=$?
ts east > "$W/e" 2> "$W/e.err"; rce=$?
has() { grep -q -- "$2" "$W/$1"; }
for s in w e; do
    check "$s: Libreswan found" "has $s '^daemon libreswan$'"
    check "$s: whack --status and --trafficstatus give their facts" \
        "has $s '^probe ipsec-whack-status ok$' && has $s '^probe ipsec-whack-trafficstatus ok$'"
    check "$s: swanctl's probes are the other daemon's" \
        "has $s '^probe swanctl-list-sas-raw other-daemon' && has $s '^probe swanctl-list-conns-raw other-daemon'"
    check "$s: pluto's version" "has $s '^libreswan version 4.10 '"
    check "$s: the log probe gave its fact (pluto's logfile=: no journal here)" "has $s '^probe daemon-log ok$'"
done
check "west: every probe gave its fact (exit 0)" '[ $rcw = 0 ]'
check "east: every probe gave its fact (exit 0)" '[ $rce = 0 ]'
check "west: IKE SA of good established, IKEv2, to 198.51.100.3:500" \
    "has w '^ike good state ESTABLISHED version 2 .*remote 198.51.100.3:500 '"
check "west: gone still connecting" "has w '^ike gone state CONNECTING '"
check "west: conn good, DPD delay 3 s, selectors as configured" \
    "has w '^conn good remote-addrs 198.51.100.3 dpd-delay 3 ' && has w '^conn-child good/.* local-ts 10.10.0.0/16 remote-ts 10.20.0.0/16 '"
check "west log: NO_PROPOSAL_CHOSEN" "has w '^log no-proposal [1-9]'"
check "west log: AUTHENTICATION_FAILED" "has w '^log auth-failed [1-9]'"
check "west log: TS_UNACCEPTABLE" "has w '^log ts-unacceptable [1-9]'"
check "west log: retransmits and the give-up" "has w '^log retransmit [1-9]' && has w '^log give-up [1-9]'"
check "west log: IKE SAs established" "has w '^log ike-established [1-9]'"
check "west log: no DPD invented" "has w '^log dpd 0$'"
check "east log: its refusals (proposal, authentication, selectors)" \
    "has e '^log no-proposal [1-9]' && has e '^log auth-failed [1-9]' && has e '^log ts-unacceptable [1-9]'"
# pluto stopped: neither daemon answers
"$W/bin-west/ipsec" whack --shutdown >/dev/null 2>&1
for _ in $(seq 50); do [ -S "$W/west/run/pluto.ctl" ] || break; sleep 0.2; done
ts west > "$W/w2" 2> "$W/w2.err"; rcw2=$?
check "west, pluto stopped: daemon none" "has w2 '^daemon none$'"
check "west, pluto stopped: whack says Pluto is not running" \
    "has w2 '^probe ipsec-whack-status failed .*Pluto is not running'"
check "west, pluto stopped: exit 1 (a probe did not give its fact)" '[ $rcw2 = 1 ]'
[ "$failn" = 0 ] || { cat "$W/w" "$W/w.err" "$W/w2"; }
echo "$pass passed, $failn failed"
[ "$failn" = 0 ]
