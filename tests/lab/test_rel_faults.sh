#!/bin/bash
# Reliability faults against the lab (issue 9), through `tunnelscope exec` (remote/'s libssh path):
# a streamed capture on both gateways ended by SIGTERM, SIGHUP and SIGKILL of tunnelscope (nothing
# of ours left on either gateway after the remote timeout); one gateway's management link cut
# mid-stream (nft drop on its mgmt0) and restored; a slow (tbf 64 kbit/s) and a lossy (nft numgen
# 40 %) management link; a tool missing; huge, non-UTF-8 and ANSI-laden remote output; host keys
# marked @revoked; hostile peer names and ssh config host names (no shell ever runs them).
# One lab for the whole script (own NATLAB_ID), always taken down; every wait is bounded.
set -u
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
src=${2:-$(cd "$(dirname "$0")/../.." && pwd)}
natlab=$src/tests/lab/natlab
export NATLAB_ID=rf$(( $$ % 100000 ))
export TUNNELSCOPE=$bin
unset SSH_AUTH_SOCK
pass=0 failn=0
. "$src/tests/lab/rel_lib.sh"   # check, wait_until, now, elapsed, lt, ns_procs, ours_on
tmp=$(mktemp -d)
bgpid=
cleanup() {
    [ -n "$bgpid" ] && kill -KILL "$bgpid" 2>/dev/null
    "$natlab" down >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT
ts() { "$natlab" exec "$bin" "$@"; }
if ! "$natlab" up > "$tmp/up.log" 2>&1; then
    cat "$tmp/up.log"; echo "FAIL: natlab up"; echo "0 passed, 1 failed"; exit 1
fi
"$natlab" gw lan-a ping -q -c 400 -i 0.2 10.20.5.10 >/dev/null 2>&1 &
pingpid=$!

# --- tunnelscope ended by a signal during a two-end capture: nothing of ours remains
for sig in TERM HUP KILL; do
    ts exec --timeout 5 gw-a gw-b -- tcpdump -U -i any -w - udp port 4500 > "$tmp/cap.$sig" 2>&1 &
    bgpid=$!
    wait_until 60 '[ -n "$(ns_procs gw-a tcpdump)" ] && [ -n "$(ns_procs gw-b tcpdump)" ]'
    check "SIG$sig: the capture runs on both gateways" '[ -n "$(ns_procs gw-a tcpdump)" ] && [ -n "$(ns_procs gw-b tcpdump)" ]'
    victim=$(ns_procs console tunnelscope)
    t0=$(now)
    kill -"$sig" $victim 2>/dev/null
    wait_until 50 '! kill -0 $bgpid 2>/dev/null'
    check "SIG$sig: tunnelscope is gone" '! kill -0 $bgpid 2>/dev/null'
    kill -KILL "$bgpid" 2>/dev/null; wait "$bgpid" 2>/dev/null; bgpid=
    # remote timeout 5 s + timeout(1)'s -k 2 s + margin
    wait_until 60 '[ -z "$(ours_on gw-a)" ] && [ -z "$(ours_on gw-b)" ]'
    echo "   after SIG$sig: gateways clean after $(elapsed "$t0" "$(now)") s"
    check "SIG$sig: nothing of ours left on gw-a" '[ -z "$(ours_on gw-a)" ]'
    check "SIG$sig: nothing of ours left on gw-b" '[ -z "$(ours_on gw-b)" ]'
done

# --- gw-b's management link cut mid-stream, then restored
mgmt_cut() { "$natlab" gw gw-b nft -f - <<'NFT'
table inet relcut {
  chain in { type filter hook input priority -10; iifname "mgmt0" drop; }
  chain out { type filter hook output priority -10; oifname "mgmt0" drop; }
}
NFT
}
mgmt_uncut() { "$natlab" gw gw-b nft delete table inet relcut; }
t0=$(now)
ts exec --timeout 12 gw-a gw-b -- 'for i in $(seq 10); do echo tick $i; sleep 1; done' > "$tmp/cut.out" 2>&1 &
bgpid=$!
wait_until 50 'grep -q "^gw-b| tick 2" "$tmp/cut.out"'
mgmt_cut
wait_until 150 '! kill -0 $bgpid 2>/dev/null'
alive=0; kill -0 "$bgpid" 2>/dev/null && alive=1
wait "$bgpid"; rc=$?; bgpid=
t1=$(now)
mgmt_uncut
echo "   cut run: $(elapsed "$t0" "$t1") s, exit $rc:"; grep -v "| tick" "$tmp/cut.out" | head -5
check "link cut: tunnelscope ends by itself (no hang)" '[ $alive = 0 ]'
check "link cut: the other end ran to its end" 'grep -qx "gw-a| tick 10" "$tmp/cut.out"'
check "link cut: the cut end stops mid-way" '! grep -qx "gw-b| tick 10" "$tmp/cut.out"'
check "link cut: the cut end is named and reported (time limit / connection lost), exit non-zero" \
      '[ $rc != 0 ] && grep -Eq "(time limit.*|connection lost.*|gw-b: .*)gw-b|gw-b.*(time limit|connection lost|timed out)" "$tmp/cut.out"'
for _ in 1 2 3; do   # the first try may still meet the old connection's remains
    out=$(ts exec --timeout 10 gw-b -- echo back 2>&1); rc=$?
    [ $rc = 0 ] && break
    sleep 1
done
check "link restored: gw-b answers again" '[ $rc = 0 ] && grep -qx "gw-b| back" <<<"$out"' || echo "$out"

# --- a slow management link (tbf 64 kbit/s on gw-b's mgmt0): a big output times out cleanly
"$natlab" gw gw-b tc qdisc add dev mgmt0 root tbf rate 64kbit burst 4kb latency 2s
t0=$(now)
err=$(ts exec --timeout 6 gw-b -- 'seq 1 400000' 2>&1 >/dev/null); rc=$?
t1=$(now)
"$natlab" gw gw-b tc qdisc del dev mgmt0 root
echo "   slow link: $(elapsed "$t0" "$t1") s, exit $rc: $(head -c 200 <<<"$err")"
check "slow link: the command fails (exit 1, or 3 when even the login timed out)" '[ $rc = 1 ] || [ $rc = 3 ]'
check "slow link: the limit reached is named with the peer" 'grep -Eq "time limit.*gw-b|gw-b: timed out connecting" <<<"$err"'
check "slow link: bounded (under 30 s)" 'lt "$(elapsed "$t0" "$t1")" 30'

# --- a lossy management link (40 % of gw-b's mgmt packets dropped both ways)
"$natlab" gw gw-b nft -f - <<'NFT'
table inet relloss {
  chain in { type filter hook input priority -10; iifname "mgmt0" numgen random mod 100 < 40 drop; }
  chain out { type filter hook output priority -10; oifname "mgmt0" numgen random mod 100 < 40 drop; }
}
NFT
t0=$(now)
err=$(ts exec --timeout 4 gw-b -- 'sleep 30' 2>&1 >/dev/null); rc=$?
t1=$(now)
"$natlab" gw gw-b nft delete table inet relloss
echo "   lossy link: $(elapsed "$t0" "$t1") s, exit $rc: $(head -c 200 <<<"$err")"
check "lossy link: the command ends with an error (time limit or connect timeout)" \
      '[ $rc != 0 ] && grep -Eq "time limit|timed out|connection lost" <<<"$err"'
check "lossy link: bounded (under 45 s)" 'lt "$(elapsed "$t0" "$t1")" 45'

# --- a tool missing on the gateway: clear error, exit 1, no crash
err=$(ts exec gw-a -- 'PATH=/nonexistent; tcpdump -w - udp' 2>&1 >/dev/null); rc=$?
check "tcpdump missing: exit 1" '[ $rc = 1 ]'
check "tcpdump missing: 'command not found' is said" 'grep -q "command not found on gw-a" <<<"$err"'
err=$(ts exec gw-a -- 'PATH=/nonexistent; swanctl --list-sas' 2>&1 >/dev/null); rc=$?
check "swanctl missing: exit 1 and named" '[ $rc = 1 ] && grep -q "command not found on gw-a.*swanctl" <<<"$err"'

# --- huge, non-UTF-8 and escape-laden output
out=$(ts exec --timeout 60 gw-a gw-b -- 'seq 1 100000; head -c 2000000 /dev/zero | tr "\0" x; echo' 2>"$tmp/huge.err"); rc=$?
check "huge output: exit 0" '[ $rc = 0 ]' || head -5 "$tmp/huge.err"
echo "   huge output: $(wc -c <<<"$out") bytes printed"
check "huge output: every line arrived from both ends" '[ "$(grep -Ec "^gw-a\| [0-9]+$" <<<"$out")" = 100000 ] && [ "$(grep -Ec "^gw-b\| [0-9]+$" <<<"$out")" = 100000 ]'
check "huge output: the 2 MB line arrived whole" '[ "$(grep "^gw-b| x" <<<"$out" | tr -cd x | wc -c)" = 2000000 ]'
ts exec gw-a -- 'printf "\033]0;pwned\007\033[2J\033[31mred\033[0m \377\376 bad utf8 \300\200 \233[1m c1\r\n"; printf "\033]52;c;cHduZWQ=\007\n" >&2' > "$tmp/esc.out" 2>&1; rc=$?
check "hostile output: exit 0" '[ $rc = 0 ]'
check "hostile output: no raw ESC byte reaches the terminal" '! grep -q $'"'"'\x1b'"'"' "$tmp/esc.out"'
check "hostile output: no raw C1 CSI (0x9b) nor BEL byte" '! LC_ALL=C grep -q $'"'"'[\x9b\x07]'"'"' "$tmp/esc.out"'
check "hostile output: the text around them is kept" 'grep -q "red" "$tmp/esc.out" && grep -q "bad utf8" "$tmp/esc.out"'

# --- host keys: revoked (with or without a matching plain line), never accepted
kh=$("$natlab" paths | sed -n 's/^known_hosts=//p')
work=$("$natlab" paths | sed -n 's/^work=//p')
pub=$(cut -d' ' -f1,2 "$work/gw-a/etc/ssh_host_ed25519_key.pub")
fp=$(ssh-keygen -lf "$work/gw-a/etc/ssh_host_ed25519_key.pub" | awk '{print $2}')
{ cat "$kh"; printf '@revoked gw-a,10.99.0.2 %s\n' "$pub"; } > "$tmp/kh_revoked"
err=$(ts exec --known-hosts "$tmp/kh_revoked" gw-a -- true 2>&1 >/dev/null); rc=$?
check "revoked host key (also listed as known) is refused, exit 3" '[ $rc = 3 ]' || { echo "   rc=$rc: $err"; tail -3 "$tmp/kh_revoked"; }
check "revoked host key is said, with its fingerprint" 'grep -q "REVOKED" <<<"$err" && grep -qF "$fp" <<<"$err"' || echo "$err"
printf '@revoked * %s\n' "$pub" > "$tmp/kh_revoked_only"
cp "$tmp/kh_revoked_only" "$tmp/kh_revoked_only.orig"
err=$(ts exec --known-hosts "$tmp/kh_revoked_only" --accept-new-hostkey gw-a -- true 2>&1 >/dev/null); rc=$?
check "--accept-new-hostkey never takes a revoked key" '[ $rc = 3 ] && grep -q "REVOKED" <<<"$err"'
check "nothing was added to known_hosts for it" 'cmp -s "$tmp/kh_revoked_only" "$tmp/kh_revoked_only.orig"'

# --- hostile peer names never reach a shell: refused, and no marker appears anywhere
marker=/tmp/ts-relpwn-$NATLAB_ID
rm -f "$marker"
for hostile in "gw-a;touch $marker" "\$(touch $marker)" "\`touch $marker\`" "gw-a|touch $marker" \
               "gw-a&&touch $marker" $'gw-a\ntouch '"$marker" "-oProxyCommand=touch $marker" \
               "gw-a touch $marker" "gw-a'\$(touch $marker)'"; do
    ts exec --timeout 5 "$hostile" -- true >/dev/null 2>"$tmp/inj.err"; rc=$?
    check "hostile peer name refused as usage (64): $(printf %q "$hostile" | cut -c1-40)" '[ $rc = 64 ]'
done
check "no marker file on this machine" '[ ! -e "$marker" ]'
check "no marker file on gw-a" '! "$natlab" gw gw-a test -e "$marker"'
check "no marker file on gw-b" '! "$natlab" gw gw-b test -e "$marker"'
# a hostile HostName in an ssh config alias: libssh connects to no such host, nothing runs
cfg=$("$natlab" paths | sed -n 's/^ssh_config=//p')
{ cat "$cfg"; printf 'Host evil\n  HostName gw-a;touch %s\n' "$marker"; } > "$tmp/cfg_evil"
ts exec -F "$tmp/cfg_evil" --timeout 5 evil -- true >/dev/null 2>&1; rc=$?
check "a hostile HostName fails to connect (exit 3 or 64), nothing runs" '[ $rc = 3 ] || [ $rc = 64 ]'
check "still no marker file anywhere" '[ ! -e "$marker" ] && ! "$natlab" gw gw-a test -e "$marker"'

kill "$pingpid" 2>/dev/null; wait "$pingpid" 2>/dev/null
echo "$pass passed, $failn failed"
[ "$failn" = 0 ]
