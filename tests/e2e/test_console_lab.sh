#!/bin/bash
# The console end to end, under tmux, on a lab instance of its own with
# esp-drop-to-b injected: what a person sees (tmux capture-pane -p) and what
# the keys do.  Asserts: an unknown host key is shown with its fingerprint and
# written to known_hosts only after 'y' (that console runs in the C locale:
# an ASCII-only screen); step 2 turns to failure with the
# finding reach.esp_lost_a_to_b; the loss is marked on B's side (the
# receiving side); navigation, re-run, filters, the finding's evidence one
# PgDn away at 80x24, export; resizing keeps a clean
# screen; gw-b's management link cut mid-capture (nft drop on its mgmt0) and
# restored: gw-a's capture goes on (what it sends meanwhile is "not
# capturing" at gw-b, not lost), gw-b is shown DISCONNECTED, a bundle
# exported during the cut holds what gw-b captured before it, the console
# reconnects and gw-b's capture resumes, and the cut session's tcpdump does
# not stay behind; quitting leaves no tcpdump on either gateway.
# Args: tunnelscope binary, source dir.  Needs root (network namespaces).
set -u
bin=$(readlink -f "$1")
src=$(readlink -f "$2")
natlab=$src/tests/lab/natlab
export NATLAB_ID=cs$(($$ % 100000))
sock=tsc$$
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
    mgmt_uncut
    tmux -L "$sock" kill-server >/dev/null 2>&1
    [ -n "$pingpid" ] && kill "$pingpid" >/dev/null 2>&1
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
        sleep 0.5
    done
    return 1
}
# display width of the widest line of the last screen
width() { LC_ALL=C.UTF-8 wc -L <<<"$screen"; }
# wait_gone SESSION REGEX SECONDS: polls until REGEX is no longer on the screen
wait_gone() {
    local end=$((SECONDS + $3))
    while [ $SECONDS -lt $end ]; do
        grab "$1"
        grep -Eq -- "$2" <<<"$screen" || return 0
        sleep 0.3
    done
    return 1
}
keys() { tmux -L "$sock" send-keys -t "$@"; }
# start SESSION COLS ROWS ARGS...: the console inside the lab's console namespace
# (locale C.UTF-8, or $TS_LOCALE_ENV, e.g. LC_ALL=C)
start() {
    local s=$1 x=$2 y=$3
    shift 3
    tmux -L "$sock" new-session -d -s "$s" -x "$x" -y "$y" \
        "cd $work && env LANG=C.UTF-8 ${TS_LOCALE_ENV:-} TMPDIR=$work/tmp $natlab exec $bin gw-a gw-b $*; echo CONSOLE-EXIT=\$?; sleep 600"
}
# tcpdump processes inside this lab's gateways
lab_tcpdumps() {
    local n=0 pid ns
    for pid in $(pgrep -x tcpdump); do
        ns=$(ip netns identify "$pid" 2>/dev/null)
        case $ns in "$NATLAB_ID-gw-a" | "$NATLAB_ID-gw-b") n=$((n + 1)) ;; esac
    done
    echo $n
}

# the number after LABEL on the last screen ("A→B sent 1234" -> 1234; 0 when not there)
count() { local n; n=$(grep -oE "$1 [0-9]+" <<<"$screen" | head -1 | grep -oE "[0-9]+$"); echo "${n:-0}"; }
# packets in a pcap file (tcpdump reading a file: no capture)
pcap_count() { tcpdump -nr "$1" 2>/dev/null | wc -l; }
mgmt_cut() { "$natlab" gw gw-b nft -f - <<'NFT'
table inet tscut {
  chain in { type filter hook input priority -10; iifname "mgmt0" drop; }
  chain out { type filter hook output priority -10; oifname "mgmt0" drop; }
}
NFT
}
mgmt_uncut() { "$natlab" gw gw-b nft delete table inet tscut 2>/dev/null; }

command -v tmux >/dev/null || { echo "FAIL: tmux missing"; exit 1; }
mkdir -p "$work/tmp"
"$natlab" up >/dev/null || { echo "FAIL: the lab did not come up"; exit 1; }

# ---- host keys: asked, shown, written only on y (in the C locale) ----------------
: >"$work/kh"
TS_LOCALE_ENV=LC_ALL=C start hk 100 30 --known-hosts "$work/kh" --no-capture --no-diagnose
check "an unknown host key is shown with its fingerprint" 'wait_for hk "Unknown host key" 60 && grep -Eq "SHA256:[A-Za-z0-9+/]{43}" <<<"$screen"'
check "not a UTF-8 locale: ASCII box drawing, no byte above 127 on the screen" \
      'grep -q "+- Unknown host key -" <<<"$screen" && ! LC_ALL=C grep -q "[^ -~]" <<<"$screen"'
keys hk c Enter x
sleep 1
check "other keys do not accept the host key" '[ ! -s "$work/kh" ]'
keys hk y
check "y trusts the first key, then the second is asked" 'wait_for hk "Unknown host key" 30 && sleep 1 && [ "$(wc -l <"$work/kh")" = 1 ]'
keys hk y
check "both peers connect once both keys are trusted" 'wait_for hk "B gw-b +strongswan +IKE ESTABLISHED" 60 && grep -Eq "A gw-a +strongswan +IKE ESTABLISHED" <<<"$screen"'
check "known_hosts holds both keys" '[ "$(wc -l <"$work/kh")" = 2 ]'
keys hk q
check "q quits at once when nothing is captured" 'wait_for hk "CONSOLE-EXIT=0" 15'
tmux -L "$sock" kill-session -t hk

# ---- esp-drop-to-b: failure at step 2, loss on B's side ------------------------
"$natlab" fault esp-drop-to-b >/dev/null
"$natlab" gw lan-a timeout 240 ping -q -i 0.2 10.20.5.10 >/dev/null 2>&1 &
pingpid=$!
start main 200 50 --capture-limit 300
check "the capture runs on both ends" 'wait_for main "capture running" 90'
# The steps come from the diagnosis engine (playbook/session.h, the same one
# `diagnose` drives): a build without it has no `diagnose` command.
if "$bin" --help | grep -q "^  diagnose "; then
    check "step 2 turns to failure" 'wait_for main "2 UDP/4500 reachability +✗ failure" 240'
    check "the principal finding is shown: reach.esp_lost_a_to_b" 'wait_for main "reach\.esp_lost_a_to_b" 10'
else
    echo "SKIP: step 2 checks: this build has no diagnosis engine (no 'diagnose' command)"
fi
check "A->B loss is counted in the totals" 'wait_for main "A→B sent [0-9.k]+ recv 0 lost [1-9][0-9.k]* \(100\.0%\)" 30'
wait_for main "LOST #" 30
lostline=$(grep -m1 "LOST #" <<<"$screen")
lostcol=$(awk -v l="$lostline" 'BEGIN { print index(l, "LOST #") }')
espcol=$(awk -v l="$lostline" 'BEGIN { print index(l, "ESP ") }')
check "a lost packet is marked on B's side (right half)" '[ -n "$lostline" ] && [ "$lostcol" -gt 100 ]'
check "the same row shows the packet sent at A (left half)" '[ "$espcol" -gt 0 ] && [ "$espcol" -lt 100 ]'
cp /dev/null "$work/screen-200x50.txt" && printf '%s\n' "$screen" >"$work/screen-200x50.txt"

# keys: navigate, filter
keys main 4
check "4 selects step 4" 'wait_for main "Playbook: step 4 MTU" 5'
keys main Down
check "Down moves to step 5" 'wait_for main "Playbook: step 5 Proposals" 5'
wait_gone main "● running" 120 # r waits for the diagnosis to finish
keys main 3 r
check "r re-runs the selected step" 'wait_for main "re-running step 3" 10'
keys main 2 l
check "l filters lost packets only" 'wait_for main "filter: lost-only" 5'
rows=$(grep -cE "^ +[0-9]+\.[0-9]{3} " <<<"$screen")
lostrows=$(grep -cE "^ +[0-9]+\.[0-9]{3} .*LOST (#|IKE #|keepalive)" <<<"$screen")
check "every packet row shown is a lost one" '[ "$rows" -gt 0 ] && [ "$rows" = "$lostrows" ]'
keys main x d d
check "d d filters B->A: no lost row left" 'wait_for main "filter: B->A" 5 && wait_gone main "LOST #" 5'
keys main x PPage
check "PgUp scrolls back through the capture" 'wait_for main "scrolled back" 5'
keys main End
check "End follows again" 'wait_gone main "scrolled back" 5'
keys main '?'
check "? shows every key" 'wait_for main "export the evidence bundle" 5'
keys main z

# resize: 80x24, then back
tmux -L "$sock" resize-window -t main -x 80 -y 24
check "80x24 after a resize: the tabbed layout" 'wait_for main "Playbook +Packets A\|B" 10'
check "80x24: 24 rows, none wider than 80" '[ "$(wc -l <<<"$screen")" -le 24 ] && [ "$(width)" -le 80 ]'
check "80x24: header, totals and keys on screen" 'head -1 <<<"$screen" | grep -q "conn site" && grep -q "A→B sent" <<<"$screen" && tail -1 <<<"$screen" | grep -q "?:help"'
printf '%s\n' "$screen" >"$work/screen-80x24.txt"
check "80x24: the finding's text goes on below its room (PgDn: more)" 'wait_for main "PgDn: more" 10'
keys main NPage
check "80x24: PgDn shows the finding's evidence" 'wait_for main "both: capture A\+B" 5 && grep -q "PgUp" <<<"$screen"'
printf '%s\n' "$screen" >"$work/screen-80x24-evidence.txt"
keys main Tab Tab
check "80x24: Tab shows the packets with the loss on B's side" 'wait_for main "LOST #" 10 && [ "$(awk -v l="$(grep -m1 "LOST #" <<<"$screen")" "BEGIN { print index(l, \"LOST #\") }")" -gt 40 ]'
printf '%s\n' "$screen" >"$work/screen-80x24-packets.txt"
tmux -L "$sock" resize-window -t main -x 200 -y 50
check "back to 200x50: the wide layout, clean" 'wait_for main "Playbook: step" 10 && grep -q "─ A gw-a ─" <<<"$screen" && [ "$(width)" -le 200 ] && [ "$(wc -l <<<"$screen")" -le 50 ]'

# export
keys main e
check "e writes the evidence bundle" 'wait_for main "evidence bundle written" 60'
bundle=$(ls -d "$work"/tunnelscope-site-*Z 2>/dev/null | head -1)
check "the bundle has both pcaps, the findings and a manifest" '[ -n "$bundle" ] && [ -s "$bundle/manifest.json" ] && [ -s "$bundle/findings.json" ] && ls "$bundle"/pcap/*.pcap >/dev/null 2>&1'
check "the bundle verifies" '"$bin" verify "$bundle" >/dev/null 2>&1'

# ---- gw-b's management link cut mid-capture, then restored ----------------------
"$natlab" clear >/dev/null # traffic both ways again: gw-b sends too
check "with the fault cleared, B->A packets are seen" 'sleep 3; wait_for main "B→A sent [1-9]" 30'
grab main
b_before=$(count "B→A sent")
mgmt_cut
check "the cut end is shown DISCONNECTED" 'wait_for main "B gw-b +DISCONNECTED" 60'
check "the other end stays connected" 'grep -Eq "A gw-a +strongswan +IKE ESTABLISHED" <<<"$screen"'
printf '%s\n' "$screen" >"$work/screen-200x50-mgmt-cut.txt"
a_cut=$(count "A→B sent")
lost_cut=$(grep -oE "A→B sent [0-9]+ recv [0-9]+ lost [0-9]+" <<<"$screen" | grep -oE "[0-9]+$")
sleep 4
grab main
check "the other end's capture keeps going (A->B sent $a_cut -> $(count "A→B sent"))" '[ "$(count "A→B sent")" -gt "$a_cut" ]'
check "what A sent while gw-b's link was dead is not called lost (A->B lost stays $lost_cut; no LOST row shown)" \
      '[ "$(grep -oE "A→B sent [0-9]+ recv [0-9]+ lost [0-9]+" <<<"$screen" | grep -oE "[0-9]+$")" = "$lost_cut" ] && ! grep -q "LOST #" <<<"$screen" && grep -q "(not capturing)" <<<"$screen"'
nb=$(ls -d "$work"/tunnelscope-site-*Z 2>/dev/null | wc -l)
keys main e
# (the status line still shows the first export's message: wait for a new folder and its name)
check "e during the cut writes a second bundle" \
      'end=$((SECONDS + 90)); while [ $SECONDS -lt $end ] && [ "$(ls -d "$work"/tunnelscope-site-*Z 2>/dev/null | wc -l)" -le "$nb" ]; do sleep 1; done
       cutbundle=$(ls -dt "$work"/tunnelscope-site-*Z 2>/dev/null | head -1); wait_for main "evidence bundle written: ${cutbundle##*/}" 60'
cutbundle=$(ls -dt "$work"/tunnelscope-site-*Z 2>/dev/null | head -1)
bpcap=$(ls "$cutbundle"/pcap/*gw-b*.pcap 2>/dev/null | head -1)
check "the bundle of the cut verifies" '[ "$cutbundle" != "$bundle" ] && "$bin" verify "$cutbundle" >"$work/verify.out" 2>&1' ||
    { echo "bundles: $bundle, $cutbundle"; head -20 "$work/verify.out"; ls -l "$cutbundle"/pcap/; }
check "it keeps what gw-b captured before the cut ($b_before B->A seen; pcap $(pcap_count "$bpcap"))" \
      '[ -n "$bpcap" ] && [ "$(pcap_count "$bpcap")" -ge "$b_before" ] && [ "$b_before" -gt 0 ]'
grab main
b_cut=$(count "B→A sent")
mgmt_uncut
check "the console reconnects to the cut end" 'wait_for main "B gw-b +strongswan +IKE ESTABLISHED" 90'
check "the cut end's capture resumes (B->A sent grows past $b_cut)" \
      'end=$((SECONDS + 40)); while [ $SECONDS -lt $end ]; do grab main; [ "$(count "B→A sent")" -gt "$b_cut" ] && break; sleep 1; done; [ "$(count "B→A sent")" -gt "$b_cut" ]'
check "the cut session's tcpdump on gw-b does not stay (one per gateway)" \
      'end=$((SECONDS + 40)); while [ $SECONDS -lt $end ] && [ "$(lab_tcpdumps)" != 2 ]; do sleep 1; done; [ "$(lab_tcpdumps)" = 2 ]'

# quit: asks while capturing, then no tcpdump left on either gateway
check "tcpdump runs on both gateways while capturing" '[ "$(lab_tcpdumps)" = 2 ]'
keys main q
check "q asks while a capture runs" 'wait_for main "Quit\?" 5'
keys main y
check "y quits with status 0" 'wait_for main "CONSOLE-EXIT=0" 20'
end=$((SECONDS + 20))
while [ $SECONDS -lt $end ] && [ "$(lab_tcpdumps)" != 0 ]; do sleep 0.5; done
check "no tcpdump left on the gateways" '[ "$(lab_tcpdumps)" = 0 ]'

if [ -n "${TS_SCREENS_DIR:-}" ]; then
    for f in "$work"/screen-*.txt; do
        [ -e "$f" ] && cp "$f" "$TS_SCREENS_DIR/console-${f##*/screen-}"
    done
fi
echo "$pass passed, $fail failed"
[ $fail = 0 ]
