#!/bin/bash
# The console (`tunnelscope gw-a gw-b`, under tmux against the lab) under faults (issue 9):
#  - killed by SIGKILL, SIGTERM and SIGHUP (tmux kill-session closes its terminal) during a capture,
#    and during the active MTU sweep (asked, answered y): nothing of ours (tcpdump, sweep ping,
#    timeout(1), sudo, the remote watcher) left on either gateway within the remote time limit,
#    looked for among each gateway namespace's pids (`ip netns pids`).
#  - sudo refused on gw-b, tcpdump missing on gw-a: the end concerned says so, the other end's
#    capture goes on, nothing crashes.
#  - a slow management link (tbf 8 kbit/s on gw-b's mgmt0): keys still answered at once, the slow
#    end's commands end by their time limits, not by a hang.
# One lab for the whole script (own NATLAB_ID), always taken down; every wait is bounded.
# Args: tunnelscope binary, source dir.  Needs root (network namespaces) and tmux.
set -u
bin=$(readlink -f "$1")
src=$(readlink -f "${2:-$(dirname "$0")/../..}")
natlab=$src/tests/lab/natlab
export NATLAB_ID=rc$(($$ % 100000))
unset SSH_AUTH_SOCK
. "$src/tests/lab/rel_lib.sh"
sock=tsrc$$
work=$(mktemp -d)
screen=
cleanup() {
    tmux -L "$sock" kill-server >/dev/null 2>&1
    "$natlab" down >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT

grab() { screen=$(tmux -L "$sock" capture-pane -p -t "$1" 2>/dev/null); }
# wait_for SESSION REGEX SECONDS: polls the screen until REGEX shows (bounded)
wait_for() {
    local end=$((SECONDS + $3))
    while [ $SECONDS -lt $end ]; do
        grab "$1"
        grep -Eq -- "$2" <<<"$screen" && return 0
        sleep 0.3
    done
    return 1
}
keys() { tmux -L "$sock" send-keys -t "$@"; }
show_screen() { printf '%s\n' "--- screen ---" "$screen" "--------------"; }
# start SESSION ARGS...: the console in the lab's console namespace, 160x45
start() {
    local s=$1
    shift
    tmux -L "$sock" new-session -d -s "$s" -x 160 -y 45 \
        "cd $work && env LANG=C.UTF-8 TMPDIR=$work/tmp $natlab exec $bin gw-a gw-b $* 2>$work/$s.err; echo CONSOLE-EXIT=\$?; sleep 600"
}
# the sweep's DF pings (`ping -n -M do ...`) running in either gateway of this lab
sweep_pings() { local p all
    all=,$(ip netns pids "$NATLAB_ID-gw-a" | tr '\n' ,)$(ip netns pids "$NATLAB_ID-gw-b" | tr '\n' ,)
    for p in $(pgrep -f '^ping -n -M do'); do case $all in *",$p,"*) echo "$p" ;; esac; done; }
console_pid() { ns_procs console tunnelscope | head -1; }
both_clean() { [ -z "$(ours_on gw-a)" ] && [ -z "$(ours_on gw-b)" ]; }
# kill_console SESSION SIG: SIGHUP by closing the terminal, the others with kill(1)
kill_console() {
    if [ "$2" = HUP ]; then
        tmux -L "$sock" kill-session -t "$1"
    else
        kill -"$2" "$(console_pid)"
    fi
}
# after_kill NAME SESSION LIMIT: the console is gone and, within the remote time limit + 2 s
# (timeout -k 2) + margin, nothing of ours is left on either gateway
after_kill() {
    local name=$1 s=$2 limit=$3 t0=$4
    wait_until 50 '[ -z "$(console_pid)" ]'
    check "$name: the console is gone" '[ -z "$(console_pid)" ]'
    wait_until $(((limit + 6) * 5)) both_clean
    echo "   $name: gateways clean $(elapsed "$t0" "$(now)") s after the signal (remote limit $limit s)"
    check "$name: nothing of ours left on gw-a" '[ -z "$(ours_on gw-a)" ]' || ours_show gw-a
    check "$name: nothing of ours left on gw-b" '[ -z "$(ours_on gw-b)" ]' || ours_show gw-b
    tmux -L "$sock" kill-session -t "$s" 2>/dev/null
    grep -Eq "AddressSanitizer|runtime error" "$work/$s.err" && { echo "FAIL: $name: sanitizer report"; failn=$((failn + 1)); }
    return 0
}

command -v tmux >/dev/null || { echo "FAIL: tmux missing"; exit 1; }
mkdir -p "$work/tmp"
if ! "$natlab" up >"$work/up.log" 2>&1; then
    cat "$work/up.log"; echo "FAIL: natlab up"; echo "0 passed, 1 failed"; exit 1
fi
"$natlab" gw lan-a ping -q -i 0.2 -w 600 10.20.5.10 >/dev/null 2>&1 &
pingpid=$!
trap 'kill $pingpid 2>/dev/null; cleanup' EXIT

# ---- killed during a capture ---------------------------------------------------
limit=20
for sig in KILL TERM HUP; do
    s=cap$sig
    start "$s" --no-diagnose --capture-limit $limit
    wait_for "$s" "capture running" 60
    wait_until 50 '[ -n "$(ns_procs gw-a tcpdump)" ] && [ -n "$(ns_procs gw-b tcpdump)" ]'
    check "capture, SIG$sig: tcpdump runs on both gateways" '[ -n "$(ns_procs gw-a tcpdump)" ] && [ -n "$(ns_procs gw-b tcpdump)" ]' || show_screen
    t0=$(now)
    kill_console "$s" "$sig"
    after_kill "capture, SIG$sig" "$s" $((limit + 10)) "$t0"
done

# ---- killed during the active MTU sweep ---------------------------------------
# Inner echo requests above 1000 bytes dropped on both gateways (input and forward): the sweep's
# larger DF pings get no answer and each waits its -W 1, so the sweep lasts seconds, not a blink.
sweep_slow() { local g; for g in gw-a gw-b; do "$natlab" gw $g nft -f - <<'NFT'
table inet rcsweep {
  chain in { type filter hook input priority 0; icmp type echo-request ip length > 1000 drop; }
  chain forw { type filter hook forward priority 0; icmp type echo-request ip length > 1000 drop; }
}
NFT
done; }
sweep_slow
for sig in KILL TERM HUP; do
    s=sw$sig
    start "$s" --no-diagnose --no-capture
    wait_for "$s" "B gw-b +strongswan" 60
    keys "$s" m
    check "sweep, SIG$sig: m asks before the active sweep" 'wait_for "$s" "Active MTU sweep" 10' || show_screen
    keys "$s" y
    check "sweep, SIG$sig: y starts the diagnosis with the sweep, step 4 reaches it" 'wait_for "$s" "DF sweep" 60' || show_screen
    # the sweep's pings are short (a small one ends in a few ms, a dropped one after its -W 1):
    # catch one alive on a gateway, then signal at once
    live=
    wait_until 150 'live=$(sweep_pings); [ -n "$live" ]'
    check "sweep, SIG$sig: a DF ping of the sweep runs on a gateway when the signal is sent (pid $live)" '[ -n "$live" ]' ||
        { grab "$s"; show_screen; }
    t0=$(now)
    kill_console "$s" "$sig"
    after_kill "sweep, SIG$sig" "$s" 5 "$t0"
done
for g in gw-a gw-b; do "$natlab" gw $g nft delete table inet rcsweep; done

echo "$pass passed, $failn failed"
[ "$failn" = 0 ]
