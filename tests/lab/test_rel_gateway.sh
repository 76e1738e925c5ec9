#!/bin/bash
# Gateway faults under `tunnelscope diagnose` and `probe` against the lab (issue 9), beside
# test_rel_diagnose.sh (which covers sudo refused, tcpdump/swanctl missing, the initiator's daemon
# restarted and rekeys):
#  - an `ip` without `-s` (nor `xfrm`) on gw-b: Debian's BusyBox as `ip`, put first in sudo's
#    secure_path (/usr/local/sbin) inside gw-b's own mount namespace only.  diagnose does not need
#    `ip -s` (its counters come from swanctl; it reads `ip route get` and `ip -o link`, which
#    BusyBox answers): it must still run every step, invent nothing, crash on nothing.  `probe`
#    reads `ip -s xfrm state`: it must name the missing capability.
#  - the responder's (gw-b's) charon stopped and started during the capture, gw-a initiating again
#    (as its DPD restart would, minutes later): new SAs, their SPIs followed, no loss invented,
#    the churn said.
# One lab (own NATLAB_ID), always taken down; every wait is bounded.
# Args: tunnelscope binary, source dir.  Needs root (network namespaces) and busybox.
set -u
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
src=${2:-$(cd "$(dirname "$0")/../.." && pwd)}
natlab=$src/tests/lab/natlab
export NATLAB_ID=rg$(( $$ % 100000 ))
export TUNNELSCOPE=$bin
unset SSH_AUTH_SOCK
pass=0 failn=0
. "$src/tests/lab/rel_lib.sh"   # check, wait_until, ns_procs, ours_on, diag and its readers
tmp=$(mktemp -d)
pingpid= diagpid=
cleanup() {
    [ -n "$diagpid" ] && kill -KILL "$diagpid" 2>/dev/null
    [ -n "$pingpid" ] && kill "$pingpid" 2>/dev/null
    "$natlab" down >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT
busybox=$(command -v busybox) || { echo "FAIL: busybox missing (.ci/install-deps installs it)"; exit 1; }
if ! "$natlab" up > "$tmp/up.log" 2>&1; then
    cat "$tmp/up.log"; echo "FAIL: natlab up"; echo "0 passed, 1 failed"; exit 1
fi

# --- BusyBox's ip on gw-b ---------------------------------------------------------------------
"$natlab" gw gw-b sh -c 'mount -t tmpfs -o mode=755 ts-bbip /usr/local/sbin && ln -s "$1" /usr/local/sbin/ip' bbip "$busybox"
"$natlab" gw gw-b sudo -n ip -s xfrm state list nokeys > "$tmp/bbip.out" 2>&1; bbrc=$?
check "BusyBox ip on gw-b: sudo finds it first and it refuses -s xfrm (exit $bbrc)" \
      '[ $bbrc != 0 ] && grep -q "^BusyBox v" "$tmp/bbip.out" && grep -q "^Usage: ip " "$tmp/bbip.out"'
check "BusyBox ip only on gw-b: gw-a's ip still lists XFRM" '"$natlab" gw gw-a sudo -n ip -s xfrm state >/dev/null'
traffic 30
diag bbip 4
traffic_stop
no_crash bbip
check "BusyBox ip: diagnose ends as on a healthy lab (exit 0)" '[ $rc = 0 ]'
check "BusyBox ip: every step ran" \
      '[ "$(jqf "[.steps[] | select(.status == \"pending\" or .status == \"skipped\")] | length" "$tmp/bbip.json")" = 0 ]'
check "BusyBox ip: no step said it could not run, nothing failed" \
      '! jqf ".steps[].findings[] | \"\(.severity) \(.id)\"" "$tmp/bbip.json" | grep -Eq "^(failure|warning) |not_run"'
check "BusyBox ip: no loss invented for step 2" '[ -z "$(step2_loss bbip)" ]'
check "BusyBox ip: gw-b's link MTU still read (mtu.overhead: path MTU 1500)" \
      'grep -q "path MTU 1500" <<<"$(finding bbip mtu.overhead)"'
"$natlab" exec tunnelscope probe gw-b > "$tmp/probe.out" 2> "$tmp/probe.err"; prc=$?
echo "   probe gw-b: exit $prc; $(grep -m1 ip-s-xfrm-state "$tmp/probe.out" | cut -c1-200)"
check "BusyBox ip: probe ends without a crash (exit $prc)" \
      '[ $prc -le 3 ] && ! grep -Eq "AddressSanitizer|LeakSanitizer|runtime error" "$tmp/probe.err"'
check "BusyBox ip: probe names the missing capability" \
      'grep -q "this ip cannot list XFRM states with statistics (\`ip -s xfrm state list nokeys\` not supported: BusyBox v" "$tmp/probe.out"'
check "BusyBox ip: probe's other facts are still read (swanctl SAs)" 'grep -Eq "^probe swanctl-list-sas-raw ok" "$tmp/probe.out"'
"$natlab" gw gw-b umount /usr/local/sbin
check "BusyBox ip removed from gw-b" '"$natlab" gw gw-b sudo -n ip -s xfrm state >/dev/null'

# --- the responder's (gw-b's) charon restarted during the capture ------------------------------
work=$("$natlab" paths | sed -n 's/^work=//p')
charon=${NATLAB_CHARON:-/usr/lib/ipsec/charon}
traffic 40
DIAG_BG=1 diag restartb 15
wait_until 100 '[ -n "$(ns_procs gw-a tcpdump)" ] && [ -n "$(ns_procs gw-b tcpdump)" ]'
sleep 2
old=$(cat "$work/gw-b/run/charon.pid")
kill "$old"
wait_until 50 '! kill -0 "$old" 2>/dev/null'
check "responder restart: gw-b's charon stopped during the capture" '! kill -0 "$old" 2>/dev/null && [ -n "$(ns_procs gw-b tcpdump)" ]'
setsid "$natlab" gw gw-b "$charon" </dev/null >> "$work/gw-b/log/charon.stderr" 2>&1 &
wait_until 50 '[ -S "$work/gw-b/run/charon.vici" ] && "$natlab" gw gw-b swanctl --stats >/dev/null 2>&1'
"$natlab" gw gw-b swanctl --load-all >/dev/null 2>&1
# gw-b, the responder, cannot initiate (gw-a is behind a NAT: remote_addrs %any) and gw-a keeps its
# SAs until its DPD gives up (retransmissions: minutes with strongSwan's defaults, then
# dpd_action=restart).  gw-a initiates at once here, as that restart (or its operator) would.
"$natlab" gw gw-a swanctl --initiate --child net --timeout 10 > "$tmp/initiate.out" 2>&1
wait_until 50 '"$natlab" gw gw-b swanctl --list-sas --child net 2>/dev/null | grep -q INSTALLED'
check "responder restart: a new CHILD_SA is up before the capture ends" \
      '[ -n "$(ns_procs gw-b tcpdump)" ] && "$natlab" gw gw-b swanctl --list-sas --child net | grep -q INSTALLED'
diag_wait restartb
traffic_stop
no_crash restartb
new_out=$(jqf '.peers[0].child.spi_out' "$tmp/restartb.json") new_in=$(jqf '.peers[0].child.spi_in' "$tmp/restartb.json")
echo "   restartb: gw-a's SPIs after: out $new_out, in $new_in; a_to_b: $(spis restartb a_to_b | tr '\n' ';') b_to_a: $(spis restartb b_to_a | tr '\n' ';')"
check "responder restart: exit 0 or 1 (a warning at most)" '[ $rc = 0 ] || [ $rc = 1 ]'
check "responder restart: the re-established SAs are said (timers.sa_churn)" '[ -n "$(finding restartb timers.sa_churn)" ]'
check "responder restart: and not denied by the timers summary" '! grep -q "no SA churn" <<<"$(finding restartb timers.ok)"'
check "responder restart: no loss and no failure in step 2" '[ -z "$(step2_loss restartb)" ]'
check "responder restart: old and new SPIs both seen in each direction" \
      '[ "$(spis restartb a_to_b | wc -l)" -ge 2 ] && [ "$(spis restartb b_to_a | wc -l)" -ge 2 ]'
check "responder restart: the new SPIs are followed (packets matched on both ends, none lost)" \
      'spis restartb a_to_b | awk -v s="$new_out" "\$1 == s && \$3 > 0 && \$4 == 0 { f = 1 } END { exit !f }" &&
       spis restartb b_to_a | awk -v s="$new_in" "\$1 == s && \$3 > 0 && \$4 == 0 { f = 1 } END { exit !f }"'
check "responder restart: no ESP counted lost in either direction" \
      '[ "$(jqf ".reachability.a_to_b.esp_lost + .reachability.b_to_a.esp_lost" "$tmp/restartb.json")" = 0 ]'

echo "$pass passed, $failn failed"
[ "$failn" = 0 ]
