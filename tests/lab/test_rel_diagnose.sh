#!/bin/bash
# Faults under `tunnelscope diagnose` against the lab (issue 9): sudo refused on one gateway, tcpdump
# missing on one, swanctl missing on one, the IKE daemon restarted during the capture, and CHILD_SAs
# rekeyed during the capture (short rekey_time).  Each: the outcome asserted on diagnose's JSON,
# nothing crashes (no exit 70, no sanitizer report), nothing of ours left on the gateways, and the
# gateway restored.  A tool is made missing by hiding it inside the gateway's own mount namespace
# (a tmpfs over its folder holding links to everything else), the real binary untouched.
# One lab for the faults, one with `natlab up --rekey` for the rekeys; always taken down; every
# wait is bounded.
set -u
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
src=${2:-$(cd "$(dirname "$0")/../.." && pwd)}
natlab=$src/tests/lab/natlab
export NATLAB_ID=rd$(( $$ % 100000 ))
export TUNNELSCOPE=$bin
unset SSH_AUTH_SOCK
pass=0 failn=0
. "$src/tests/lab/rel_lib.sh"   # check, wait_until, ns_procs, ours_on, hide/unhide, diag and its readers
tmp=$(mktemp -d)
pingpid= diagpid=
cleanup() {
    [ -n "$diagpid" ] && kill -KILL "$diagpid" 2>/dev/null
    [ -n "$pingpid" ] && kill "$pingpid" 2>/dev/null
    "$natlab" down >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT
lab_up() {
    if ! "$natlab" up "$@" > "$tmp/up.log" 2>&1; then
        cat "$tmp/up.log"; echo "FAIL: natlab up $*"; echo "$pass passed, $((failn + 1)) failed"; exit 1
    fi
}
lab_up

# --- sudo refused on gw-b (a sudoers without any rule, bind-mounted in gw-b's own mount namespace)
"$natlab" gw gw-b sh -c 'printf "Defaults !syslog\n" > /run/ts-sudoers && chmod 440 /run/ts-sudoers &&
    mount --bind /run/ts-sudoers /etc/sudoers'
traffic 30
diag nosudo 4
traffic_stop
"$natlab" gw gw-b umount /etc/sudoers
no_crash nosudo
check "sudo refused: exit 3 (could not diagnose)" '[ $rc = 3 ]'
check "sudo refused: peer.no_sudo names gw-b" 'grep -q "^gw-b: sudo -n refused" <<<"$(finding nosudo peer.no_sudo)"'
check "sudo refused: it is the principal finding" '[ "$(jqf .principal.id "$tmp/nosudo.json")" = peer.no_sudo ]'
check "sudo refused: gw-b is not said to run no IKE daemon, nor gw-a to have no connection" \
      '[ -z "$(finding nosudo transport.no_daemon)$(finding nosudo transport.no_conn)" ]'
check "sudo refused: gw-a's facts are still reported (connection, IKE SA, CHILD SA)" \
      '[ "$(peer_a nosudo)" = "site ESTABLISHED INSTALLED" ]'
check "sudo restored on gw-b" '"$natlab" gw gw-b sudo -n true'

# --- tcpdump missing on gw-a: the capture cannot run, said as such; the other steps still run
hide gw-a /usr/bin tcpdump
check "tcpdump hidden on gw-a (and only there)" '! "$natlab" gw gw-a sh -c "command -v tcpdump" >/dev/null &&
      "$natlab" gw gw-b sh -c "command -v tcpdump" >/dev/null'
traffic 30
diag notcpdump 4
traffic_stop
unhide gw-a /usr/bin
no_crash notcpdump
check "tcpdump missing: exit 1 or 2, not 'could not diagnose'" '[ $rc = 1 ] || [ $rc = 2 ]'
check "tcpdump missing: reach.not_run names gw-a and tcpdump" \
      'grep -q "tcpdump on gw-a.*tcpdump" <<<"$(finding notcpdump reach.not_run)"'
check "tcpdump missing: no loss invented for step 2" '[ -z "$(step2_loss notcpdump)" ]'
check "tcpdump missing: steps 1, 3 and 5 still ran" \
      '! { step_status notcpdump 1; step_status notcpdump 3; step_status notcpdump 5; } | grep -Eq "pending|skipped"'
check "tcpdump back on gw-a" '"$natlab" gw gw-a sh -c "command -v tcpdump" >/dev/null'

# --- swanctl missing on gw-b
hide gw-b /usr/sbin swanctl
traffic 30
diag noswanctl 4
traffic_stop
unhide gw-b /usr/sbin
no_crash noswanctl
check "swanctl missing: exit 3" '[ $rc = 3 ]'
check "swanctl missing: a step-1 failure names gw-b's missing IKE tools" \
      'grep -q "^gw-b: no IKE daemon" <<<"$(finding noswanctl transport.no_daemon)" &&
       jqf ".steps[0].findings[] | select(.id == \"transport.no_daemon\") | .evidence[].source" "$tmp/noswanctl.json" |
       grep -q swanctl'
check "swanctl missing: gw-a's facts are still reported" \
      '[ "$(peer_a noswanctl)" = "site ESTABLISHED INSTALLED" ]'
check "swanctl back on gw-b" '"$natlab" gw gw-b swanctl --version >/dev/null'

# --- gw-a's IKE daemon restarted during the capture: new IKE and CHILD SAs (new SPIs), followed
work=$("$natlab" paths | sed -n 's/^work=//p')
charon=${NATLAB_CHARON:-/usr/lib/ipsec/charon}
traffic 40
DIAG_BG=1 diag restart 15
wait_until 100 '[ -n "$(ns_procs gw-a tcpdump)" ] && [ -n "$(ns_procs gw-b tcpdump)" ]'
sleep 2
old=$(cat "$work/gw-a/run/charon.pid")
kill "$old"
wait_until 50 '! kill -0 "$old" 2>/dev/null'
check "restart: gw-a's charon stopped during the capture" '! kill -0 "$old" 2>/dev/null && [ -n "$(ns_procs gw-a tcpdump)" ]'
setsid "$natlab" gw gw-a "$charon" </dev/null >> "$work/gw-a/log/charon.stderr" 2>&1 &
wait_until 50 '[ -S "$work/gw-a/run/charon.vici" ] && "$natlab" gw gw-a swanctl --stats >/dev/null 2>&1'
"$natlab" gw gw-a swanctl --load-all >/dev/null 2>&1    # start_action=start: gw-a initiates again
wait_until 75 '"$natlab" gw gw-a swanctl --list-sas --child net 2>/dev/null | grep -q INSTALLED'
check "restart: a new CHILD_SA is up before the capture ends" \
      '[ -n "$(ns_procs gw-a tcpdump)" ] && "$natlab" gw gw-a swanctl --list-sas --child net | grep -q INSTALLED'
diag_wait restart
traffic_stop
no_crash restart
check "restart: exit 0 or 1 (a warning at most)" '[ $rc = 0 ] || [ $rc = 1 ]'
check "restart: the re-established SAs are said (timers.sa_churn)" '[ -n "$(finding restart timers.sa_churn)" ]'
check "restart: and not denied by the timers summary" '! grep -q "no SA churn" <<<"$(finding restart timers.ok)"'
check "restart: no loss and no failure in step 2" '[ -z "$(step2_loss restart)" ]'
new_out=$(jqf '.peers[0].child.spi_out' "$tmp/restart.json") new_in=$(jqf '.peers[0].child.spi_in' "$tmp/restart.json")
echo "   restart: gw-a's SPIs after: out $new_out, in $new_in; a_to_b: $(spis restart a_to_b | tr '\n' ';') b_to_a: $(spis restart b_to_a | tr '\n' ';')"
check "restart: old and new SPIs both seen in each direction" \
      '[ "$(spis restart a_to_b | wc -l)" -ge 2 ] && [ "$(spis restart b_to_a | wc -l)" -ge 2 ]'
check "restart: the new SPIs are followed (packets matched on both ends, none lost)" \
      'spis restart a_to_b | awk -v s="$new_out" "\$1 == s && \$3 > 0 && \$4 == 0 { f = 1 } END { exit !f }" &&
       spis restart b_to_a | awk -v s="$new_in" "\$1 == s && \$3 > 0 && \$4 == 0 { f = 1 } END { exit !f }"'
check "restart: no ESP counted lost in either direction" \
      '[ "$(jqf ".reachability.a_to_b.esp_lost + .reachability.b_to_a.esp_lost" "$tmp/restart.json")" = 0 ]'

# --- CHILD_SAs rekeyed during the capture (rekey_time 8 s on both ends): every SPI followed
"$natlab" down >/dev/null 2>&1
lab_up --rekey 8
traffic 40
diag rekey 15
traffic_stop
no_crash rekey
echo "   rekey: a_to_b: $(spis rekey a_to_b | tr '\n' ';') b_to_a: $(spis rekey b_to_a | tr '\n' ';')"
check "rekey: exit 0 or 1" '[ $rc = 0 ] || [ $rc = 1 ]'
check "rekey: several SPIs in each direction within the capture" \
      '[ "$(spis rekey a_to_b | wc -l)" -ge 2 ] && [ "$(spis rekey b_to_a | wc -l)" -ge 2 ]'
# (an SPI whose few packets were all in flight when the capture stopped is not counted)
check "rekey: every SPI seen on both ends, none with a packet lost" \
      '! { spis rekey a_to_b; spis rekey b_to_a; } | awk "(\$2 >= 5 && \$3 == 0) || \$4 != 0 { bad = 1 } END { exit !bad }"'
check "rekey: the rekey is not called a loss (no loss or failure in step 2)" '[ -z "$(step2_loss rekey)" ]'
# Not checked: that the SPIs of the SA listing match those the capture followed.  With
# rekey_time 8 s a rekey can fall between the end of the capture and the listing (seen in
# a clean-clone CI run), so the listed SPIs need not have carried a packet in the window;
# the two checks above already show the new SPIs followed on both ends.

echo "$pass passed, $failn failed"
[ "$failn" = 0 ]
