#!/bin/bash
# tunnelscope diagnose: command line contract and "could not diagnose" (exit 3)
# without any network: a refused loopback port and the local machine.
TS=${1:?tunnelscope binary}
pass=0 fail=0
check() { # expected-status description command...
    local want=$1 what=$2
    shift 2
    "$@" >/tmp/ts-diag-cli.out 2>/tmp/ts-diag-cli.err
    local rc=$?
    if [ "$rc" = "$want" ]; then echo "PASS: $what"; pass=$((pass + 1))
    else echo "FAIL: $what (exit $rc, expected $want)"; sed 's/^/    /' /tmp/ts-diag-cli.err | head -5; fail=$((fail + 1)); fi
}
check 0 "--help" "$TS" diagnose --help
grep -q -- "--capture-seconds" /tmp/ts-diag-cli.out && { echo "PASS: help names the options"; pass=$((pass+1)); } ||
    { echo "FAIL: help lacks --capture-seconds"; fail=$((fail+1)); }
check 64 "one peer only" "$TS" diagnose gw-a
check 64 "three peers" "$TS" diagnose a b c
check 64 "same peer twice" "$TS" diagnose gw-a gw-a
check 64 "bad --capture-seconds" "$TS" diagnose --capture-seconds 0 a b
check 64 "--json with --markdown" "$TS" diagnose --json --markdown a b
check 64 "unknown option" "$TS" diagnose --frobnicate a b
check 64 "--one-end with two peers" "$TS" diagnose --one-end a b
check 64 "--one-end without a peer" "$TS" diagnose --one-end
# one end that cannot be reached: could not diagnose, and no step claims the other end
check 3 "--one-end, unreachable peer gives exit 3" "$TS" diagnose --json --one-end --capture-seconds 1 127.0.0.1:1
if jq -e '([.steps[0].findings[].id] | index("peer.unreachable")) != null and
          (.peers[1].collected == false)' /tmp/ts-diag-cli.out >/dev/null; then
    echo "PASS: --one-end JSON: peer.unreachable, the other end not collected"; pass=$((pass + 1))
else echo "FAIL: --one-end JSON"; head -c 600 /tmp/ts-diag-cli.out; fail=$((fail + 1)); fi
# B refuses the connection: could not diagnose, said in the JSON too
check 3 "unreachable peer gives exit 3" "$TS" diagnose --json --capture-seconds 1 local 127.0.0.1:1
if jq -e '.result == "cannot_diagnose" and .exit_status == 3 and
          ([.steps[0].findings[].id] | index("peer.unreachable")) != null' /tmp/ts-diag-cli.out >/dev/null; then
    echo "PASS: JSON names peer.unreachable"; pass=$((pass + 1))
else echo "FAIL: JSON lacks peer.unreachable"; head -c 600 /tmp/ts-diag-cli.out; fail=$((fail + 1)); fi
[ -s /tmp/ts-diag-cli.err ] && grep -q "step" /tmp/ts-diag-cli.err &&
    { echo "FAIL: progress printed with --json"; fail=$((fail + 1)); } || { echo "PASS: no progress with --json"; pass=$((pass + 1)); }
rm -f /tmp/ts-diag-cli.out /tmp/ts-diag-cli.err
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
