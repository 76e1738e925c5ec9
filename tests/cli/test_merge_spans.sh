#!/bin/bash
# merge correlates the two halves within each half's declared capture span
# (session.json's capture_window: when that end's tcpdump was capturing), not
# within the span of the packets it happens to hold; a half without one falls
# back to its packets' span and the merged report says so.
# The halves are cut from the esp-drop-to-b sample (a real lab incident: gw-b
# received nothing; A->B 64 lost and 11 outside gw-b's capture span): each
# keeps one end's outputs, capture and session entry, with a manifest written
# again for it.  Needs jq and sha256sum.
set -u
bin=$1
src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
check() { if eval "$2"; then echo "ok: $1"; else echo "FAIL: $1"; fail=1; fi; }
for t in jq sha256sum; do command -v $t >/dev/null || { echo "FAIL: $t missing"; exit 1; }; done

tar xzf "$src/assets/samples/esp-drop-to-b.tar.gz" -C "$work"
full=$work/esp-drop-to-b

# half SIDE OUT [JQ filter on that side's capture_window]: the half-bundle of one end
half() {
    local side=$1 out=$2 win=${3:-.} other name
    other=$([ "$side" = a ] && echo b || echo a)
    name=$(jq -r --arg s "$other" '.peers[] | select(.side == $s) | .name' "$full/manifest.json")
    rm -rf "$out"
    mkdir -p "$out/raw" "$out/pcap"
    cp -r "$full/raw/$(jq -r --arg s "$side" '.peers[] | select(.side == $s) | .dir' "$full/manifest.json")" "$out/raw/"
    jq --arg s "$side" '[.[] | select(.side == $s)]' "$full/raw/index.json" >"$out/raw/index.json"
    jq --arg s "$side" '[.[] | select(.side == $s)]' "$full/pcap/index.json" >"$out/pcap/index.json"
    cp "$full/pcap/$(jq -r --arg s "$side" '.peers[] | select(.side == $s) | .dir' "$full/manifest.json").pcap" "$out/pcap/"
    cp "$full/findings.json" "$out/"
    jq --arg s "$other" --arg n "$name" \
        '.peers |= map(if .side == $s then .collected = false | .connected = false | .capture_window = null else . end)' \
        "$full/session.json" | jq --arg s "$side" ".peers |= map(if .side == \$s then .capture_window |= ($win) else . end)" \
        >"$out/session.json"
    (cd "$out" && find . -type f ! -name manifest.json | sed 's|^\./||' | sort | while read -r f; do
        jq -n --arg p "$f" --arg h "$(sha256sum "$f" | cut -d' ' -f1)" --argjson z "$(stat -c %s "$f")" \
            '{path: $p, sha256: $h, size: $z}'
    done | jq -s . >"$work/files.json")
    jq --arg s "$other" --slurpfile f "$work/files.json" \
        '.peers |= map(if .side == $s then .collected = false else . end) | .complete = false | .files = $f[0]' \
        "$full/manifest.json" >"$out/manifest.json"
}
lost() { jq -r '.directions[0] | "\(.lost) \(.outside)"' "$1/correlation.json"; }

check "the sample: A->B 64 lost, 11 outside gw-b's span" '[ "$(lost "$full")" = "64 11" ]'

half a "$work/ha"
half b "$work/hb"
check "the halves verify" '"$bin" verify "$work/ha" >/dev/null && "$bin" verify "$work/hb" >/dev/null'
out=$("$bin" merge "$work/ha" "$work/hb" --bundle "$work/m1" 2>&1)
check "merged with the declared spans as taken: 64 lost, 11 outside (as the two-end run)" \
    '[ "$(lost "$work/m1")" = "64 11" ]' || echo "$out"

# gw-b declares it captured only the first 3 s of its window: what A sent later is outside, not lost
half b "$work/hb3" '.end_s = .start_s + 3'
out=$("$bin" merge "$work/ha" "$work/hb3" --bundle "$work/m2" 2>&1)
read -r l2 o2 <<<"$(lost "$work/m2")"
check "gw-b's declared span cut to 3 s: fewer lost ($l2), more outside ($o2), same total" \
    '[ "$l2" -lt 64 ] && [ "$l2" -gt 0 ] && [ $((l2 + o2)) = 75 ]' || echo "$out"
check "the merged session.json keeps gw-b's declared span" \
    '[ "$(jq -r ".peers[1].capture_window | .end_s - .start_s | floor" "$work/m2/session.json")" = 3 ]'
check "replay --check passes on that merge" '"$bin" replay --check "$work/m2" >/dev/null 2>&1'

# gw-b's half declares no span: its packets' span, and the report says so
half b "$work/hbn" 'null'
out=$("$bin" merge "$work/ha" "$work/hbn" --bundle "$work/m3" 2>&1)
check "a half without a declared span merges" '[ -d "$work/m3" ]' || echo "$out"
check "the merged report says gw-b's half declared no span" \
    'grep -q "gw-b.s half-bundle declares no capture span" "$work/m3/report.md"'
exit $fail
