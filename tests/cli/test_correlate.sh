#!/bin/bash
# tunnelscope correlate on the lab's real two-end captures: table, JSON, exit codes.
set -euo pipefail
bin=$1 src=$2
fx=$src/tests/fixtures/pcap
fail() { echo "FAIL: $*"; exit 1; }
out=$("$bin" correlate --name-a gw-a --name-b gw-b "$fx/lab-gw-a.pcap" "$fx/lab-gw-b.pcap") && rc=0 || rc=$?
[ "$rc" = 2 ] || fail "exit $rc, expected 2 (loss found)"
grep -qE '^  gw-a -> gw-b +2 ' <<<"$out" || fail "no gw-a -> gw-b row: $out"
grep -qE '^  gw-b -> gw-a +2 +[0-9]+ +[0-9]+ +0 ' <<<"$out" || fail "loss reported toward gw-a"
json=$("$bin" correlate --json --name-a gw-a --name-b gw-b "$fx/lab-gw-a.pcap" "$fx/lab-gw-b.pcap") || true
python3 - "$json" <<'PY' || fail "json"
import json, sys
j = json.loads(sys.argv[1])
assert j["schema"] == "tunnelscope.correlate/1"
ab, ba = j["directions"]
assert ab["direction"] == "a->b" and ab["label"] == "gw-a -> gw-b"
assert ab["lost"] >= 30 and ba["lost"] == 0, (ab["lost"], ba["lost"])
assert ab["sent"] == ab["received"] + ab["lost"] + ab["outside"]
assert j["ends"]["a"]["local"] == "192.168.77.2" and j["ends"]["b"]["local"] == "198.51.100.20"
assert len(j["spis"]) == 4
assert ab["ike"]["requests_matched"] == 2
PY
"$bin" correlate "$fx/lab-gw-a.pcap" >/dev/null 2>&1 && rc=0 || rc=$?
[ "$rc" = 64 ] || fail "one file: exit $rc"
"$bin" correlate --window 100 "$fx/lab-gw-a.pcap" "$fx/lab-gw-b.pcap" >/dev/null 2>&1 && rc=0 || rc=$?
[ "$rc" = 64 ] || fail "bad window: exit $rc"
"$bin" correlate /nonexistent.pcap "$fx/lab-gw-b.pcap" >/dev/null 2>&1 && rc=0 || rc=$?
[ "$rc" = 3 ] || fail "missing file: exit $rc"
"$bin" correlate --help | grep -q 'usage: tunnelscope correlate' || fail "help"
echo "correlate cli: ok"
