# Shell helpers shared by the reliability lab tests (issue 9): tests/lab/test_rel_*.sh and
# tests/e2e/test_rel_console*.sh source this file.  Not a test itself (no test_ prefix).
# The caller sets NATLAB_ID and natlab (the natlab script) before using the lab helpers.

pass=${pass:-0} failn=${failn:-0}
# check NAME EXPR: evaluates EXPR; counts and prints ok/FAIL (returns EXPR's truth)
check() { if eval "$2"; then echo "ok: $1"; pass=$((pass + 1)); else echo "FAIL: $1"; failn=$((failn + 1)); return 1; fi; }
# wait_until N EXPR: polls EXPR every 0.2 s, at most N times
wait_until() { local n=$1; shift; for _ in $(seq "$n"); do eval "$*" && return 0; sleep 0.2; done; return 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }

# Live processes named $2 in node $1.  The gateways have no PID namespace of their own, so a bare
# `pgrep -x tcpdump` inside one would also see other labs' processes: the node's network
# namespace's pids (`ip netns pids`) restrict it to this lab.
ns_procs() { local p; for p in $(ip netns pids "$NATLAB_ID-$1" 2>/dev/null); do
    [ "$(cat /proc/"$p"/comm 2>/dev/null)" = "$2" ] && \
        ! grep -q '^State:.*[ZX]' /proc/"$p"/status 2>/dev/null && echo "$p"; done; }
# Anything of ours on a gateway: tcpdump, a ping of the MTU sweep, or a process whose command line
# is remote/'s wrapper (`sudo -n timeout -k 2 N sh -c WATCH tunnelscope CMD`: sudo, timeout(1),
# the watcher shell and its children).  pgrep restricted to the gateway's pids.
ours_on() {
    local pids p
    pids=$(ip netns pids "$NATLAB_ID-$1" 2>/dev/null | tr '\n' ',')
    pids=${pids%,}
    [ -n "$pids" ] || return 0
    for p in $(pgrep -x tcpdump) $(pgrep -f '^ping -n -M do') $(pgrep -f ' tunnelscope '); do
        case ",$pids," in *",$p,"*)
            grep -q '^State:.*[ZX]' /proc/"$p"/status 2>/dev/null || echo "$p" ;;
        esac
    done | sort -u
}
# what ours_on found, for a failure message
ours_show() { local p; for p in $(ours_on "$1"); do
    echo "   $1 pid $p: $(tr '\0' ' ' < /proc/"$p"/cmdline 2>/dev/null | cut -c1-150)"; done; }

# hide GW DIR NAME / unhide GW DIR: NAME vanishes from DIR inside GW's own mount namespace only.
# DIR's content is bind-mounted aside (under the gateway's private /run), a tmpfs is put over DIR and
# filled with links to all of it (one cp -as) but NAME.  /bin and /sbin are links to /usr/... here.
# With a 4th argument, NAME becomes a link to that file instead (e.g. busybox as `ip`).
hide() {
    "$natlab" gw "$1" sh -c 'd=$1 n=$2 with=$3 real=/run/ts-hide$(echo "$1" | tr / -) b=/usr/bin
        [ "$d" = /usr/bin ] && b=$real
        mkdir -p "$real" && mount --bind "$d" "$real" && mount -t tmpfs -o mode=755 ts-hide "$d" &&
        "$b/cp" -as "$real/." "$d/" && "$b/rm" -f "$d/$n" &&
        if [ -n "$with" ]; then "$b/ln" -s "$with" "$d/$n"; fi' hide "$2" "$3" "${4:-}"
}
unhide() {
    # two calls: the first one's shell runs from the bind mount, which stays busy until it exits
    "$natlab" gw "$1" umount "$2"
    "$natlab" gw "$1" sh -c 'real=/run/ts-hide$(echo "$1" | tr / -); umount "$real" && rmdir "$real"' unhide "$2"
}

# ---- diagnose under faults (the caller sets $tmp, and pingpid= diagpid= for its cleanup) -------
traffic() {   # pings lan-a -> lan-b through the tunnel for $1 s at most
    "$natlab" gw lan-a ping -q -i 0.05 -s 200 -w "$1" 10.20.5.10 >/dev/null 2>&1 &
    pingpid=$!
}
traffic_stop() { [ -n "$pingpid" ] && kill "$pingpid" 2>/dev/null; wait "$pingpid" 2>/dev/null; pingpid=; }
# diag NAME CAPTURE_S: tunnelscope diagnose --json; $tmp/NAME.json, .err, $rc.  In the background
# when DIAG_BG=1 (then diag_wait NAME).
diag() {
    local name=$1 cap=$2
    "$natlab" exec tunnelscope diagnose --json --capture-seconds "$cap" gw-a gw-b \
        > "$tmp/$name.json" 2> "$tmp/$name.err" &
    diagpid=$!
    [ "${DIAG_BG:-0}" = 1 ] || diag_wait "$name"
}
diag_wait() {
    wait "$diagpid"; rc=$?; diagpid=
    echo "   $1: exit $rc; findings:"
    jq -r '.steps[].findings[] | "      [\(.severity)] \(.id): \(.title)"' "$tmp/$1.json" 2>/dev/null ||
        sed 's/^/      /' "$tmp/$1.err" | head -20
}
jqf() { jq -r "$@" 2>/dev/null; }
finding() { jqf --arg id "$2" '[.steps[].findings[] | select(.id == $id) | .title] | join("\n")' "$tmp/$1.json"; }
# NAME STEP: "severity id" of every finding of that step
step_findings() { jqf --argjson k "$2" '.steps[] | select(.step == $k) | .findings[] | "\(.severity) \(.id)"' "$tmp/$1.json"; }
step_status() { jqf --argjson k "$2" '.steps[] | select(.step == $k) | .status' "$tmp/$1.json"; }
peer_a() { jqf '.peers[0] | "\(.connection) \(.ike.state) \(.child.state)"' "$tmp/$1.json"; }
# step 2 calls something a loss, or fails
step2_loss() { step_findings "$1" 2 | grep -E '^failure |lost|loss'; }
no_crash() {   # diagnose ended by itself, not by a bug, and its JSON is whole
    cur=$1
    check "$1: no crash (exit $rc, no sanitizer report, JSON parses)" \
        '[ "$rc" -ge 0 ] && [ "$rc" -le 3 ] && ! grep -Eq "AddressSanitizer|LeakSanitizer|runtime error" "$tmp/$cur.err" &&
         jq -e .schema "$tmp/$cur.json" >/dev/null'
    wait_until 50 '[ -z "$(ours_on gw-a)" ] && [ -z "$(ours_on gw-b)" ]'
    check "$1: nothing of ours left on either gateway" '[ -z "$(ours_on gw-a)" ] && [ -z "$(ours_on gw-b)" ]'
}
spis() {   # NAME DIR: "spi sent received lost" lines of that direction
    jqf ".reachability.$2.spis[] | \"\(.spi) \(.sent) \(.received) \(.lost)\"" "$tmp/$1.json"
}
