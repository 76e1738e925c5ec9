#!/bin/bash
# The console's `e` writes the same bundle as `diagnose --bundle` (issue 8),
# on a lab instance of its own with esp-drop-to-b, under tmux:
#  - after the diagnosis and a re-run of step 2 (a second capture), `e`;
#  - the bundle verifies, and `replay --check` recomputes both the correlation
#    (the console's own captures, with their declared spans) and the findings
#    (the diagnosis's captures and outputs, the re-run done again on its own
#    outputs) equal to the saved ones; the principal finding is the fault's;
#  - session.json: each end's declared span (first byte of the console's pcap
#    stream to the export), the two runs (full, then step 2) with their captures;
#  - raw/index.json: every output with peer, command, start/end, exit status;
#    the console's own outputs labelled origin=console, the re-run step's first
#    outputs labelled superseded (run 0), the re-run's run 1;
#  - how long the export took (pressing e to the message) is printed.
# Args: tunnelscope binary, source dir.  Needs root (network namespaces), tmux, jq.
set -u
bin=$(readlink -f "$1")
src=$(readlink -f "$2")
natlab=$src/tests/lab/natlab
export NATLAB_ID=${NATLAB_ID:-bd1}
sock=tsbd$$
work=$(mktemp -d)
pass=0
fail=0
pingpid=

check() {
    if eval "$2"; then
        echo "PASS: $1"
        pass=$((pass + 1))
    else
        echo "FAIL: $1"
        fail=$((fail + 1))
        [ -n "${screen:-}" ] && printf '%s\n' "--- screen ---" "$screen" "--------------"
        return 1
    fi
}
cleanup() {
    tmux -L "$sock" kill-server >/dev/null 2>&1
    [ -n "$pingpid" ] && kill "$pingpid" >/dev/null 2>&1
    "$natlab" down >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT
grab() { screen=$(tmux -L "$sock" capture-pane -p -t main 2>/dev/null); }
wait_for() {
    local end=$((SECONDS + $2))
    while [ $SECONDS -lt $end ]; do
        grab
        grep -Eq -- "$1" <<<"$screen" && return 0
        sleep 0.3
    done
    return 1
}
keys() { tmux -L "$sock" send-keys -t main "$@"; }

for t in tmux jq; do command -v $t >/dev/null || { echo "FAIL: $t missing"; exit 1; }; done
mkdir -p "$work/tmp"
"$natlab" up >/dev/null || { echo "FAIL: the lab did not come up"; exit 1; }
"$natlab" fault esp-drop-to-b >/dev/null
"$natlab" gw lan-a timeout 400 ping -q -i 0.2 10.20.5.10 >/dev/null 2>&1 &
pingpid=$!
tmux -L "$sock" new-session -d -s main -x 200 -y 50 \
    "cd $work && env LANG=C.UTF-8 TMPDIR=$work/tmp $natlab exec $bin gw-a gw-b --capture-limit 300; echo CONSOLE-EXIT=\$?; sleep 600"

check "step 2 turns to failure" 'wait_for "2 UDP/4500 reachability +✗ failure" 240'
# r is refused while the diagnosis runs: pressed until it is taken
rerun() {
    local end=$((SECONDS + 150))
    while [ $SECONDS -lt $end ]; do
        keys 2 r
        wait_for "re-running step 2" 3 && return 0
    done
    return 1
}
check "r re-runs step 2 once the diagnosis is done" rerun
sleep 3
check "the re-run of step 2 ends in failure again" 'wait_for "2 UDP/4500 reachability +✗ failure" 90'
sleep 2
t0=$(date +%s.%N)
keys e
check "e writes the evidence bundle" 'wait_for "evidence bundle written" 120'
t1=$(date +%s.%N)
bundle=$(ls -d "$work"/tunnelscope-*Z 2>/dev/null | head -1)
echo "INFO: export took $(echo "$t1 - $t0" | bc) s (pressing e to the message, polled every 0.3 s); pcaps: $(du -sh "$bundle/pcap" 2>/dev/null | cut -f1)"
check "the message says the findings can be recomputed" '! grep -q "cannot be recomputed" <<<"$screen"'

check "the bundle verifies" '"$bin" verify "$bundle" >"$work/verify.out" 2>&1' || cat "$work/verify.out"
"$bin" replay --check "$bundle" >"$work/check.out" 2>&1
rc=$?
check "replay --check passes (exit $rc)" '[ $rc = 0 ]' || cat "$work/check.out"
check "replay --check: correlation of the console's captures equal" 'grep -q "equal to correlation.json" "$work/check.out"'
check "replay --check: findings recomputed from the raw outputs and pcaps, equal" \
    'grep -q "^findings: recomputed from the raw outputs and pcaps, equal to findings.json" "$work/check.out"'
"$bin" replay --json "$bundle" >"$work/check.json" 2>/dev/null
check "replay --json: nothing recorded left unused" '[ "$(jq .check.unused_raw_outputs "$work/check.json")" = 0 ]' ||
    jq .check "$work/check.json"
check "the principal finding is the fault's: reach.esp_lost_a_to_b" \
    '[ "$(jq -r .principal.id "$bundle/findings.json")" = reach.esp_lost_a_to_b ]'
check "findings.json is the diagnose JSON" '[ "$(jq -r .schema "$bundle/findings.json")" = tunnelscope.diagnose/1 ]'

# session.json: declared spans, runs
check "session.json: each end's declared span, longer than the diagnosis's captures" \
    'jq -e "[.peers[] | .capture_window.end_s - .capture_window.start_s] | all(. > 20)" "$bundle/session.json" >/dev/null'
check "session.json: the full run, then step 2 re-run, each with both ends' captures" \
    'jq -e "[.runs[] | [.step, (.captures | length), (.captures | map(.role) | unique)]] == [[0,2,[\"diagnosis\"]],[2,2,[\"diagnosis-run1\"]]]" "$bundle/session.json" >/dev/null' ||
    jq -c .runs "$bundle/session.json"
check "pcap/: the console's captures and the diagnosis's two runs, per end" \
    '[ "$(ls "$bundle"/pcap/*.pcap "$bundle"/pcap/diagnosis/*.pcap "$bundle"/pcap/diagnosis-run1/*.pcap | wc -l)" = 6 ]'
idx=$bundle/raw/index.json
check "raw/index.json: every output has peer, command, start, end, exit status" \
    'jq -e "all(.[]; (.peer|type)==\"string\" and (.command|type)==\"string\" and (.started_s>0) and (.ended_s>=.started_s) and has(\"exit_status\"))" "$idx" >/dev/null'
check "raw/index.json: the console's own outputs labelled origin=console" \
    'jq -e "[.[] | select(.origin==\"console\") | .what] | any(startswith(\"swanctl --list-sas\")) and any(startswith(\"tcpdump\"))" "$idx" >/dev/null'
check "raw/index.json: step 2's first outputs superseded (run 0), the re-run's in run 1" \
    'jq -e "([.[] | select(.superseded)] | length > 0 and all(.run == 0 and .step == 2)) and ([.[] | select(.run == 1)] | length > 0 and all(.step == 2 and (.superseded | not)))" "$idx" >/dev/null' ||
    jq -c '[.[] | {what, step, run, superseded, origin}]' "$idx"

keys q
wait_for "Quit\?" 5 && keys y
check "the console quits" 'wait_for "CONSOLE-EXIT=0" 20'
echo "$pass passed, $fail failed"
[ $fail = 0 ]
