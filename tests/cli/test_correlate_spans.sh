#!/bin/bash
# tunnelscope correlate --span-a/--span-b: a generated pair where UDP/4500 toward B is blocked (B
# captures its whole window and holds no packet).  Without spans every packet A sent is 'outside'
# (B's span is unknown) and the table says how to fix it; with the spans the counts equal the
# generator's truth exactly (lost, not outside), in ISO-8601 and in epoch seconds alike.  Bad
# spans are refused with exit 64.
set -euo pipefail
bin=$1 src=$2
gen=$(dirname "$bin")/tests/bench_gen_pairs
[ -x "$gen" ] || { echo "FAIL: $gen not built"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
# B's capture runs 0.5 .. 2.5 s of A's 0 .. 4 s; the clocks agree (nothing matches, so no offset
# can be estimated: the gateways are taken to be NTP-synchronised).
"$gen" --packets 20000 --pps 5000 --blocked-to-b 1 --offset-ms 0 --grace-ms 300 \
    --b-start-ms 500 --b-stop-ms 2500 --seed 9 "$tmp/a.pcap" "$tmp/b.pcap" "$tmp/truth.json"
spans=$(python3 - "$tmp/truth.json" <<'PY'
import json, sys, datetime
t = json.load(open(sys.argv[1]))["spans"]
def iso(ns):
    d = datetime.datetime.fromtimestamp(ns // 10**9, datetime.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S") + ".%09dZ" % (ns % 10**9)
def ep(ns):
    return "%d.%09d" % (ns // 10**9, ns % 10**9)
print(f"{iso(t['a']['start_ns'])},{iso(t['a']['end_ns'])} {ep(t['b']['start_ns'])},{ep(t['b']['end_ns'])}")
PY
)
read -r span_a span_b <<<"$spans"
common=(--grace 300 --local-a 10.1.0.2 --local-b 198.51.100.20 --name-a gw-a --name-b gw-b)

# no span: B has no packet, so nothing it "missed" can be counted
out=$("$bin" correlate "${common[@]}" "$tmp/a.pcap" "$tmp/b.pcap") && rc=0 || rc=$?
[ "$rc" = 0 ] || fail "without spans: exit $rc, expected 0 (nothing counted lost)"
grep -q "gw-b: no packet and no declared span" <<<"$out" || fail "no 'no declared span' line: $out"
grep -q "span from packets" <<<"$out" || fail "A's span not said to come from packets"
grep -q "give --span-b START,END" <<<"$out" || fail "no hint to give --span-b"
grep -qE '^  gw-a -> gw-b +[0-9]+ +[0-9]+ +0 +0 +0\.00% +[1-9][0-9]* ' <<<"$out" || fail "A->B not all outside: $out"

# declared spans: counts equal the truth (lost = sent within B's window)
"$bin" correlate --json "${common[@]}" --span-a "$span_a" --span-b "$span_b" \
    "$tmp/a.pcap" "$tmp/b.pcap" > "$tmp/c.json" && rc=0 || rc=$?
[ "$rc" = 2 ] || fail "with spans: exit $rc, expected 2 (loss found)"
python3 "$src/tests/bench/compare_truth.py" "$tmp/truth.json" "$tmp/c.json" >/dev/null ||
    { python3 "$src/tests/bench/compare_truth.py" "$tmp/truth.json" "$tmp/c.json"; fail "counts differ from the truth"; }
python3 - "$tmp/c.json" "$tmp/truth.json" <<'PY' || fail "json spans"
import json, sys
j, t = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
ab = j["directions"][0]
assert ab["lost"] > 5000 and ab["received"] == 0, ab
b = j["ends"]["b"]["span"]
assert b["how"] == "declared" and b["start_ns"] == t["spans"]["b"]["start_ns"], b
assert b["declared"]["end_ns"] == t["spans"]["b"]["end_ns"], b
assert j["ends"]["a"]["span"]["how"] == "declared"
assert j["common_span"]["start_ns"] == t["spans"]["b"]["start_ns"], j["common_span"]
print(f"gw-a -> gw-b: sent {ab['sent']}, lost {ab['lost']}, outside {ab['outside']}")
PY
out=$("$bin" correlate "${common[@]}" --span-b "$span_b" "$tmp/a.pcap" "$tmp/b.pcap") || true
grep -q "gw-b: .* (2.000 s, declared)" <<<"$out" || fail "B's declared span not shown: $out"

# refused spans
for bad in "2026-12-05T09:14:02Z" "2026-12-05T09:14:02Z,2026-12-05T09:14:01Z" "now,later" \
           "2026-02-30T00:00:00Z,2026-03-01T00:00:00Z" "1796462042,1796462042"; do
    err=$("$bin" correlate --span-a "$bad" "$tmp/a.pcap" "$tmp/b.pcap" 2>&1 >/dev/null) && rc=0 || rc=$?
    [ "$rc" = 64 ] || fail "--span-a '$bad': exit $rc, expected 64"
    grep -q -- "--span-a" <<<"$err" || fail "--span-a '$bad': message does not name the option: $err"
done
"$bin" correlate --help | grep -q -- "--span-b START,END" || fail "--help does not document --span-b"
echo "1 passed, 0 failed"
