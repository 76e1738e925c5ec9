#!/bin/bash
# The console (`tunnelscope gw-a gw-b`, under tmux against the lab) under faults (issue 9):
#  - killed by SIGKILL, SIGTERM and SIGHUP (tmux kill-session closes its terminal) during a capture,
#    and during the active MTU sweep (asked, answered y): nothing of ours (tcpdump, sweep ping,
#    timeout(1), sudo, the remote watcher) left on either gateway within the remote time limit,
#    looked for among each gateway namespace's pids (`ip netns pids`).
#  - sudo refused on gw-b, tcpdump missing on gw-a: the end concerned says so, the other end's
#    capture goes on, nothing crashes.
#  - a slow management link (tbf 8 kbit/s on gw-b's mgmt0) during a capture: keys still answered at
#    once, the captures end by their limit, not by a hang; nothing left behind.
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
    check "sweep, SIG$sig: a DF ping of the sweep runs on a gateway when the signal is sent (pid $(echo $live))" '[ -n "$live" ]' ||
        { grab "$s"; show_screen; }
    t0=$(now)
    kill_console "$s" "$sig"
    after_kill "sweep, SIG$sig" "$s" 5 "$t0"
done
for g in gw-a gw-b; do "$natlab" gw $g nft delete table inet rcsweep; done

# ---- sudo refused on gw-b, then tcpdump missing on gw-a, while the console runs ------------
"$natlab" gw gw-b sh -c 'printf "Defaults !syslog\n" > /run/ts-sudoers && chmod 440 /run/ts-sudoers &&
    mount --bind /run/ts-sudoers /etc/sudoers'
start nosudo --no-diagnose --capture-limit 30
check "sudo refused on gw-b: the console says so for gw-b" 'wait_for nosudo "gw-b: capture ended: sudo refused on gw-b" 60' || show_screen
check "sudo refused on gw-b: gw-b's header says sudo refused, not 'no IKE daemon found'" \
      'wait_for nosudo "B gw-b +sudo refused" 15 && ! grep -q "no IKE daemo" <<<"$screen"' || show_screen
check "sudo refused on gw-b: gw-a's capture still runs" \
      'wait_until 50 "[ -n \"\$(ns_procs gw-a tcpdump)\" ]" && wait_for nosudo "A gw-a +strongswan +IKE ESTABLISHED" 15' || show_screen
keys nosudo q y
check "sudo refused on gw-b: q y quits with status 0 (no crash)" 'wait_for nosudo "CONSOLE-EXIT=0" 20' || show_screen
"$natlab" gw gw-b umount /etc/sudoers
tmux -L "$sock" kill-session -t nosudo
hide gw-a /usr/bin tcpdump
start notcpdump --no-diagnose --capture-limit 30
check "tcpdump missing on gw-a: the console names gw-a and tcpdump" \
      'wait_for notcpdump "gw-a: capture ended: command not found on gw-a: .*tcpdump" 60' || show_screen
check "tcpdump missing on gw-a: gw-b's capture still runs, both ends connected" \
      'wait_until 50 "[ -n \"\$(ns_procs gw-b tcpdump)\" ]" && grep -Eq "B gw-b +strongswan +IKE ESTABLISHED" <<<"$screen" && grep -Eq "A gw-a +strongswan" <<<"$screen"'
keys notcpdump q y
check "tcpdump missing on gw-a: q y quits with status 0 (no crash)" 'wait_for notcpdump "CONSOLE-EXIT=0" 20' || show_screen
tmux -L "$sock" kill-session -t notcpdump
unhide gw-a /usr/bin
grep -Eq "AddressSanitizer|runtime error" "$work/nosudo.err" "$work/notcpdump.err" && { echo "FAIL: sanitizer report"; failn=$((failn + 1)); }
wait_until 50 both_clean
check "after both: nothing of ours left on the gateways" both_clean

# ---- a slow management link (tbf 8 kbit/s on gw-b's mgmt0) while the console captures ----------
start slow --no-diagnose --capture-limit 10
wait_for slow "capture running" 60
"$natlab" gw gw-b tc qdisc add dev mgmt0 root tbf rate 8kbit burst 2kb latency 2s
slowest=0
for _ in 1 2 3 4 5; do
    sleep 3
    t0=$(now)
    keys slow '?'
    wait_for slow "export the evidence bundle" 3
    t1=$(now)
    keys slow z
    slowest=$(awk -v a="$(elapsed "$t0" "$t1")" -v m="$slowest" 'BEGIN { print (a > m ? a : m) }')
done
echo "   slow link: the slowest answer to '?' took $slowest s (tmux polling included)"
check "slow link: every key answered within 2 s" 'lt "$slowest" 2'
check "slow link: the captures end by their limit (capture stopped), the console still runs" \
      'wait_for slow "capture stopped" 40 && [ -n "$(console_pid)" ]' || show_screen
"$natlab" gw gw-b tc qdisc del dev mgmt0 root
keys slow q
check "slow link: q quits with status 0 (no crash)" 'wait_for slow "CONSOLE-EXIT=0" 30' || show_screen
grep -Eq "AddressSanitizer|runtime error" "$work/slow.err" && { echo "FAIL: slow: sanitizer report"; failn=$((failn + 1)); }
wait_until 100 both_clean
check "slow link: nothing of ours left on the gateways" both_clean

echo "$pass passed, $failn failed"
[ "$failn" = 0 ]
