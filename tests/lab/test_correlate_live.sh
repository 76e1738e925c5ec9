#!/bin/bash
# Live two-end capture in the lab under the esp-drop-to-b fault: tcpdump runs on both gateways
# over real ssh, writing pcap to stdout exactly as tunnelscope's capture command does
# (sudo -n timeout ... tcpdump -U --immediate-mode -s 128 -w - 'udp port 500 or udp port 4500
# or ip proto 50'); `tunnelscope correlate` must then show ESP lost toward gw-b only.
# Second round, the receiver with nothing at all: both captures run only while the fault holds,
# so gw-b captures no ESP; from the packets alone gw-a's ESP is 'outside' gw-b's capture, with
# the spans the test measured (--span-a/--span-b: from tcpdump's 'listening' to its SIGINT) it
# is lost.
# Own lab instance (NATLAB_ID=corlv), always torn down; bounded (captures end by SIGINT, or at 60 s).
set -euo pipefail
bin=$1 src=$2
lab=$src/tests/lab/natlab
export NATLAB_ID=corlv
tmp=$(mktemp -d)
cleanup() { "$lab" down >/dev/null 2>&1 || true; rm -rf "$tmp"; }
trap cleanup EXIT
[ -n "${KEEP:-}" ] && trap - EXIT
fail() { echo "FAIL: $*"; exit 1; }
"$lab" down >/dev/null 2>&1 || true
"$lab" up >/dev/null || fail "natlab up"
# The shell prints its PID (= sudo's after exec) on stderr so that the test can stop exactly that
# capture with SIGINT when the traffic is over; timeout is the safety net.
cmd="sh -c 'echo tspid \$\$ >&2; exec sudo -n timeout -k 5 60 tcpdump -i wan0 -U --immediate-mode -s 128 -w - \"udp port 500 or udp port 4500 or ip proto 50\"'"
timeout 90 "$lab" ssh gw-a "$cmd" > "$tmp/gw-a.pcap" 2> "$tmp/gw-a.err" & pa=$!
timeout 90 "$lab" ssh gw-b "$cmd" > "$tmp/gw-b.pcap" 2> "$tmp/gw-b.err" & pb=$!
# Wait (bounded) until both tcpdumps say they are listening.
for i in $(seq 1 100); do
    grep -q listening "$tmp/gw-a.err" 2>/dev/null && grep -q listening "$tmp/gw-b.err" 2>/dev/null && break
    sleep 0.2
done
grep -q listening "$tmp/gw-a.err" && grep -q listening "$tmp/gw-b.err" || fail "tcpdump did not start"
sleep 0.5
"$lab" gw lan-a ping -q -c 20 -i 0.05 10.20.5.10 >/dev/null || fail "healthy ping"
"$lab" fault esp-drop-to-b >/dev/null
"$lab" gw lan-a ping -q -c 30 -i 0.05 -W 1 10.20.5.10 >/dev/null && fail "pings passed under esp-drop-to-b"
sleep 0.5
"$lab" gw lan-b ping -q -c 20 -i 0.05 -W 1 10.10.5.10 >/dev/null || true  # replies A->B lost
"$lab" clear >/dev/null
# Healthy traffic after the fault, so that both captures visibly cover the lost packets (a
# packet in the last second before the receiver's last packet is not counted lost).
sleep 1.2
"$lab" gw lan-a ping -q -c 10 -i 0.05 10.20.5.10 >/dev/null || fail "ping after clear"
sleep 0.5
for g in gw-a gw-b; do
    pid=$(awk '/^tspid/ {print $2; exit}' "$tmp/$g.err")
    [ -n "$pid" ] && "$lab" gw "$g" kill -INT "$pid" 2>/dev/null || true
done
wait $pa || true
wait $pb || true
for g in gw-a gw-b; do
    [ -s "$tmp/$g.pcap" ] || { cat "$tmp/$g.err"; fail "no capture from $g"; }
done
"$bin" correlate --json --name-a gw-a --name-b gw-b "$tmp/gw-a.pcap" "$tmp/gw-b.pcap" > "$tmp/c.json" && rc=0 || rc=$?
[ "$rc" = 2 ] || fail "correlate exit $rc, expected 2 (loss found)"
python3 - "$tmp/c.json" <<'PY' || fail "correlation"
import json, sys
j = json.load(open(sys.argv[1]))
ab, ba = j["directions"]
print(f"gw-a -> gw-b: sent {ab['sent']} received {ab['received']} lost {ab['lost']}; "
      f"gw-b -> gw-a: sent {ba['sent']} received {ba['received']} lost {ba['lost']}")
assert ab["lost"] >= 50, ab["lost"]            # 30 echo requests + 20 replies under the fault
assert ab["received"] >= 30, ab["received"]    # the healthy pings before and after it
assert ba["lost"] == 0 and ba["sent"] == ba["received"] >= 50, (ba["lost"], ba["sent"], ba["received"])
assert j["ends"]["a"]["local"] == "192.168.77.2" and j["ends"]["b"]["local"] == "198.51.100.20"
assert [p["addr"] for p in j["ends"]["b"]["peer_endpoints"]] == ["203.0.113.10"]
PY

# ---- round 2: gw-b receives nothing while both capture ----
now() { date +%s.%N; }
for g in gw-a gw-b; do : > "$tmp/$g.err"; done
"$lab" fault esp-drop-to-b >/dev/null
timeout 90 "$lab" ssh gw-a "$cmd" > "$tmp/gw-a.2.pcap" 2> "$tmp/gw-a.err" & pa=$!
timeout 90 "$lab" ssh gw-b "$cmd" > "$tmp/gw-b.2.pcap" 2> "$tmp/gw-b.err" & pb=$!
declare -A start stop
for i in $(seq 1 100); do
    for g in gw-a gw-b; do
        [ -z "${start[$g]:-}" ] && grep -q listening "$tmp/$g.err" 2>/dev/null && start[$g]=$(now)
    done
    [ -n "${start[gw-a]:-}" ] && [ -n "${start[gw-b]:-}" ] && break
    sleep 0.1
done
[ -n "${start[gw-a]:-}" ] && [ -n "${start[gw-b]:-}" ] || fail "round 2: tcpdump did not start"
sleep 0.3
"$lab" gw lan-a ping -q -c 40 -i 0.05 -W 1 10.20.5.10 >/dev/null && fail "round 2: pings passed under esp-drop-to-b"
sleep 1.5  # past the 1 s grace: the last echo request is well inside gw-b's capture
for g in gw-a gw-b; do
    pid=$(awk '/^tspid/ {print $2; exit}' "$tmp/$g.err")
    stop[$g]=$(now)
    [ -n "$pid" ] && "$lab" gw "$g" kill -INT "$pid" 2>/dev/null || true
done
wait $pa || true
wait $pb || true
"$lab" clear >/dev/null
for g in gw-a gw-b; do
    [ -s "$tmp/$g.2.pcap" ] || { cat "$tmp/$g.err"; fail "round 2: no capture from $g"; }
done
names=(--name-a gw-a --name-b gw-b --local-a 192.168.77.2 --local-b 198.51.100.20)
"$bin" correlate "${names[@]}" "$tmp/gw-a.2.pcap" "$tmp/gw-b.2.pcap" > "$tmp/c2.txt" && rc=0 || rc=$?
grep -E '^  gw-a -> gw-b ' "$tmp/c2.txt" | sed 's/^/without spans: /'
"$bin" correlate "${names[@]}" --span-a "${start[gw-a]},${stop[gw-a]}" --span-b "${start[gw-b]},${stop[gw-b]}" \
    "$tmp/gw-a.2.pcap" "$tmp/gw-b.2.pcap" > "$tmp/c2s.txt" && rc=0 || rc=$?
grep -E '^  gw-a -> gw-b |declared' "$tmp/c2s.txt" | sed 's/^/with spans:    /'
[ "$rc" = 2 ] || fail "round 2 with spans: correlate exit $rc, expected 2 (loss found)"
"$bin" correlate --json "${names[@]}" --span-a "${start[gw-a]},${stop[gw-a]}" --span-b "${start[gw-b]},${stop[gw-b]}" \
    "$tmp/gw-a.2.pcap" "$tmp/gw-b.2.pcap" > "$tmp/c2s.json" || true
python3 - "$tmp/c2s.json" <<'PY' || fail "round 2 correlation"
import json, sys
j = json.load(open(sys.argv[1]))
ab, ba = j["directions"]
assert j["ends"]["b"]["span"]["how"] == "declared"
assert ab["received"] == 0, ab["received"]
assert ab["lost"] >= 40 and ab["outside"] == 0, (ab["lost"], ab["outside"])   # 40 echo requests, none outside
assert ba["lost"] == 0
print(f"round 2: gw-a -> gw-b sent {ab['sent']} received 0 lost {ab['lost']} outside {ab['outside']}")
PY
grep -qE '^  gw-a -> gw-b +[0-9]+ +[0-9]+ +0 +[1-9][0-9]* +100\.00% +0 ' "$tmp/c2s.txt" ||
    fail "round 2: the table does not show gw-a -> gw-b all lost: $(cat "$tmp/c2s.txt")"
echo "1 passed, 0 failed"
