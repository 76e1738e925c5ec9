#!/bin/bash
# Evidence bundles from the lab (issue 8): `diagnose --bundle` after each
# scenario (healthy, esp-drop-to-b, udp4500-drop-to-a), then on every bundle:
# `verify` passes (folder and .tar.gz), `replay --check` recomputes the
# correlation from the two pcaps and the findings from the raw outputs and
# pcaps (the steps run offline) and finds both equal, the lab's PSK appears in
# no file (nor in the packed .tar.gz), a tampered file makes `verify` fail
# naming it; under esp-drop-to-b, two half-bundles taken at the same time
# (`diagnose --one-end`, one per gateway) say what the other end must supply,
# and merged they give a verifiable two-end bundle whose playbook (run again
# on both halves) finds reach.esp_lost_a_to_b.
# One lab instance of its own (NATLAB_ID), always torn down.
TS=${1:?tunnelscope binary}
SRC=${2:?source dir}
export NATLAB_ID=bd$$
export TUNNELSCOPE="$TS"
NATLAB="$SRC/tests/lab/natlab"
WORK=$(mktemp -d /tmp/ts-bundle-e2e.XXXXXX)
chmod 700 "$WORK"
pass=0
fail=0
TRAFFIC_PID=""
lab() { "$NATLAB" "$@"; }
ok() { echo "PASS: $*"; pass=$((pass + 1)); }
ko() { echo "FAIL: $*"; fail=$((fail + 1)); }
traffic_stop() {
    [ -n "$TRAFFIC_PID" ] && { kill "$TRAFFIC_PID" 2>/dev/null; wait "$TRAFFIC_PID" 2>/dev/null; }
    TRAFFIC_PID=""
}
cleanup() {
    traffic_stop
    lab down >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

lab up >/dev/null || { echo "FAIL: lab up"; echo "0 passed, 1 failed"; exit 1; }
labwork=$(lab paths | sed -n 's/^work=//p')
psk=$(cat "$labwork/psk")
[ -n "$psk" ] && ok "the lab's PSK found in its generated config (${#psk} characters)" || ko "no lab PSK"
printf '# the lab PSK\n%s\n' "$psk" > "$WORK/secrets"

# bundle NAME [diagnose options...]: diagnose with traffic flowing, bundle in $WORK/NAME
bundle() {
    local name=$1
    shift
    lab gw lan-a timeout 30 ping -q -i 0.05 -s 200 10.20.5.10 >/dev/null 2>&1 &
    TRAFFIC_PID=$!
    lab exec tunnelscope diagnose --json --capture-seconds "${CAPTURE:-5}" \
        --bundle "$WORK/$name" --secrets "$WORK/secrets" "$@" gw-a gw-b \
        > "$WORK/$name.json" 2> "$WORK/$name.err"
    RC=$?
    traffic_stop
    if [ -d "$WORK/$name" ] && [ -f "$WORK/$name.tar.gz" ]; then
        ok "$name: bundle written (diagnose exit $RC)"
    else
        ko "$name: no bundle (diagnose exit $RC)"; sed 's/^/    /' "$WORK/$name.err" | tail -5
        return 1
    fi
}

# checks NAME: every check that every bundle must pass
checks() {
    local name=$1 b=$WORK/$1 out
    if out=$("$TS" verify --secrets "$WORK/secrets" "$b" 2>&1); then ok "$name: verify (folder)"
    else ko "$name: verify (folder): $out"; fi
    if out=$("$TS" verify --secrets "$WORK/secrets" "$b.tar.gz" 2>&1); then ok "$name: verify (.tar.gz)"
    else ko "$name: verify (.tar.gz): $out"; fi
    out=$("$TS" replay --check "$b.tar.gz" 2>&1); rc=$?
    if [ $rc = 0 ] && grep -q "correlation: recomputed from both pcaps, equal" <<<"$out"; then
        ok "$name: replay --check: correlation recomputed and equal"
    else ko "$name: replay --check (exit $rc): $(tr '\n' ' ' <<<"$out")"; fi
    # the five steps run again offline on the recorded outputs and pcaps: the same findings
    if grep -q "^findings: recomputed from the raw outputs and pcaps, equal to findings.json" <<<"$out" &&
        ! grep -q "^note:" <<<"$out"; then
        ok "$name: replay --check: findings recomputed offline and equal"
    else ko "$name: replay --check findings: $(grep -E '^(findings|note):' <<<"$out" | tr '\n' ' ')"; fi
    # the PSK, anywhere: every file of the folder, and the packed archive's content
    if grep -rqaF -- "$psk" "$b"; then ko "$name: the lab PSK is in $(grep -rlaF -- "$psk" "$b" | head -1)"
    else ok "$name: no file holds the lab PSK"; fi
    if gzip -dc "$b.tar.gz" | grep -qaF -- "$psk"; then ko "$name: the lab PSK is in the .tar.gz"
    else ok "$name: the .tar.gz does not hold the lab PSK"; fi
    # owner-only
    local loose
    loose=$(find "$b" "$b.tar.gz" \( -type f -perm /077 \) -o \( -type d -perm /077 \) | head -1)
    [ -z "$loose" ] && ok "$name: owner-only permissions" || ko "$name: $loose is not owner-only"
    # every raw output carries peer, command, times, exit status
    local bad
    bad=$(jq -r '.[] | select(.peer == null or .command == null or .started == null or .ended == null
                 or (has("exit_status") | not)) | .file' "$b/raw/index.json" | head -1)
    n=$(jq length "$b/raw/index.json")
    [ -z "$bad" ] && [ "$n" -gt 5 ] && ok "$name: $n raw outputs, each with peer, command, times, exit status" ||
        ko "$name: raw/index.json incomplete ($n entries, first bad: $bad)"
    # report.md states per-direction numbers and the principal finding
    if grep -q '^- \*\*gw-a\*\* -> \*\*gw-b\*\*: UDP/4500 from .* received by gw-b (' "$b/report.md" &&
        grep -q '^- \*\*gw-b\*\* -> \*\*gw-a\*\*: UDP/4500 from .* received by gw-a (' "$b/report.md"; then
        ok "$name: report.md has both directions"
    else ko "$name: report.md lacks per-direction numbers"; fi
    # tamper: one byte of gw-b's pcap
    cp -a "$b" "$b.tampered"
    printf 'X' | dd of="$b.tampered/pcap/gw-b.pcap" bs=1 seek=40 conv=notrunc 2>/dev/null
    out=$("$TS" verify "$b.tampered" 2>&1); rc=$?
    if [ $rc = 2 ] && grep -q "pcap/gw-b.pcap" <<<"$out"; then ok "$name: tampered pcap: verify fails naming it"
    else ko "$name: tampered pcap: verify exit $rc: $out"; fi
    rm -rf "$b.tampered"
}

bundle healthy && checks healthy
lab fault esp-drop-to-b >/dev/null
if bundle esp-drop-to-b; then
    checks esp-drop-to-b
    p=$(jq -r '.principal.id // "none"' "$WORK/esp-drop-to-b/findings.json")
    [ "$p" != none ] && grep -q "$p" "$WORK/esp-drop-to-b/report.md" &&
        ok "esp-drop-to-b: report.md names the principal finding $p" ||
        ko "esp-drop-to-b: principal $p not in report.md"
    sent=$(jq -r '.directions[0].sent' "$WORK/esp-drop-to-b/correlation.json")
    recv=$(jq -r '.directions[0].received' "$WORK/esp-drop-to-b/correlation.json")
    [ "${sent:-0}" -gt 0 ] && [ "$recv" = 0 ] &&
        ok "esp-drop-to-b: correlation.json: $sent ESP sent by gw-a, none received by gw-b" ||
        ko "esp-drop-to-b: correlation.json: sent $sent received $recv gw-a -> gw-b"
    grep -q "$sent ESP packets sent by gw-a between .* 0 received by gw-b" "$WORK/esp-drop-to-b/report.md" &&
        ok "esp-drop-to-b: report.md states those numbers" || ko "esp-drop-to-b: report.md lacks the numbers"
fi
# half-bundles: each site runs its own end at the same time, then merge
lab gw lan-a timeout 30 ping -q -i 0.05 -s 200 10.20.5.10 >/dev/null 2>&1 &
TRAFFIC_PID=$!
half_pids=()
for gw in gw-a gw-b; do
    lab exec tunnelscope diagnose --json --one-end --capture-seconds 5 --bundle "$WORK/half-$gw" \
        --secrets "$WORK/secrets" "$gw" > "$WORK/half-$gw.json" 2> "$WORK/half-$gw.err" &
    half_pids+=($!)
done
wait "${half_pids[@]}"
traffic_stop
for gw in gw-a gw-b; do
    h=$WORK/half-$gw
    if [ -f "$h.tar.gz" ] && "$TS" verify --secrets "$WORK/secrets" "$h.tar.gz" >/dev/null 2>&1; then
        ok "half-bundle of $gw written and verified"
    else ko "half-bundle of $gw: $(tail -3 "$h.err" | tr '\n' ' ')"; continue; fi
    n=$(jq '[.steps[].findings[] | select(.id | endswith(".other_end_needed"))] | length' "$h/findings.json")
    sup=$(jq -r '.one_end.other_end_must_supply // ""' "$h/findings.json")
    [ "$n" = 5 ] && grep -q -- "--one-end" <<<"$sup" && grep -q "Only $gw's end was collected" "$h/report.md" && grep -q -- "--one-end" "$h/report.md" &&
        jq -e '.peers[1].collected == false' "$h/manifest.json" >/dev/null &&
        ok "half-bundle of $gw: each step says what needs the other end; findings.json and report.md say what the other site must supply" ||
        ko "half-bundle of $gw: other_end_needed $n, must_supply '$sup'"
    p=$(jq -r '.principal.id // "none"' "$h/findings.json")
    [ "$p" = none ] || [ "${p%%.*}" != reach ] && ok "half-bundle of $gw: no reachability verdict from one end ($p)" ||
        ko "half-bundle of $gw: principal $p from one end"
    out=$("$TS" replay --check "$h.tar.gz" 2>&1); rc=$?
    [ $rc = 0 ] && grep -q "^findings: recomputed from the raw outputs and pcaps, equal" <<<"$out" &&
        ok "half-bundle of $gw: replay --check recomputes its findings" ||
        ko "half-bundle of $gw: replay --check (exit $rc): $(tr '\n' ' ' <<<"$out")"
done
out=$("$TS" merge --secrets "$WORK/secrets" "$WORK/half-gw-a.tar.gz" "$WORK/half-gw-b.tar.gz" \
    --bundle "$WORK/merged" 2>&1); rc=$?
if [ -d "$WORK/merged" ] && jq -e '[.steps[].findings[].id] | index("reach.esp_lost_a_to_b")' \
    "$WORK/merged/findings.json" >/dev/null; then
    ok "merge (exit $rc): the whole playbook on both halves finds reach.esp_lost_a_to_b"
else ko "merge (exit $rc): $(tr '\n' ' ' <<<"$out") $(jq -c '[.steps[].findings[].id]' "$WORK/merged/findings.json" 2>&1)"; fi
if [ -d "$WORK/merged" ]; then
    checks merged
    jq -e '.peers | all(.collected)' "$WORK/merged/manifest.json" >/dev/null &&
        ok "merged: both ends collected" || ko "merged: manifest peers $(jq -c .peers "$WORK/merged/manifest.json")"
fi
lab clear esp-drop-to-b >/dev/null
lab fault udp4500-drop-to-a >/dev/null
CAPTURE=8 bundle udp4500-drop-to-a && checks udp4500-drop-to-a
lab clear udp4500-drop-to-a >/dev/null

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
