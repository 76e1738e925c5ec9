#!/bin/bash
# tunnelscope correlate's counts equal the ground truth of bench_gen_pairs exactly, on small
# generated pairs: loss one way and both ways, PMTU-style loss of large packets, duplicates,
# reordering (jitter larger than the packet gap), clock offset, NAT rebinding mid-capture,
# capture windows that start and end at different times, rekeys, a 32-bit sequence wrap.
set -euo pipefail
bin=$1 src=$2
gen=$(dirname "$bin")/tests/bench_gen_pairs
[ -x "$gen" ] || { echo "FAIL: $gen not built"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 failn=0
scenario() { # name, generator options...
    local name=$1; shift
    "$gen" "$@" "$tmp/a.pcap" "$tmp/b.pcap" "$tmp/truth.json"
    local grace
    grace=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["grace_ns"] // 1000000)' "$tmp/truth.json")
    "$bin" correlate --json --grace "$grace" "$tmp/a.pcap" "$tmp/b.pcap" > "$tmp/c.json" || [ $? = 2 ]
    if out=$(python3 "$src/tests/bench/compare_truth.py" "$tmp/truth.json" "$tmp/c.json"); then
        echo "PASS $name: $out"; pass=$((pass + 1))
    else
        echo "FAIL $name:"; echo "$out" | head -20; failn=$((failn + 1))
    fi
}
scenario "loss A->B only, large packets lost, NAT rebinding, rekey, duplicates, B starts late" \
    --packets 150000 --dup 0.002 --rebind-ms 700 --rekey-ms 600 --grace-ms 300 --seed 7
scenario "loss both ways, no clock offset, A starts late and B stops early" \
    --packets 150000 --loss-ab 0.02 --loss-ba 0.05 --big-above 0 --offset-ms 0 \
    --a-start-ms 200 --b-start-ms 0 --b-stop-ms 1200 --grace-ms 100 --seed 11
scenario "heavy reordering (jitter 3 ms at 10 us gaps), B's clock 40 s behind" \
    --packets 120000 --jitter-us 3000 --offset-ms -40000 --grace-ms 200 --seed 3
scenario "sequence numbers wrap past 2^32, rekey, 8 SPIs per direction" \
    --packets 150000 --seq-start 0xfffff000 --spis 8 --rekey-ms 900 --grace-ms 200 --seed 5
echo "$pass passed, $failn failed"
[ "$failn" = 0 ]
