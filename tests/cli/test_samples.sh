#!/bin/bash
# The sample bundles of assets/samples/ (real lab incidents) open without root,
# network or lab: verify passes, replay --check recomputes the correlation from
# their pcaps and the findings from their raw outputs and pcaps (the five steps
# run offline) and finds both equal, replay --view shows both ends.
set -u
bin=$1
src=$2
fail=0
n=0
check() { if eval "$2"; then echo "ok: $1"; else echo "FAIL: $1"; fail=1; fi; }
for s in "$src"/assets/samples/*.tar.gz; do
    name=$(basename "$s")
    n=$((n + 1))
    out=$("$bin" verify "$s" 2>&1); rc=$?
    check "$name: verify" '[ $rc = 0 ]'
    out=$("$bin" replay --check "$s" 2>&1); rc=$?
    check "$name: replay --check: correlation" '[ $rc = 0 ] && grep -q "equal to correlation.json" <<<"$out"'
    check "$name: replay --check: findings recomputed offline" \
        'grep -q "^findings: recomputed from the raw outputs and pcaps, equal to findings.json" <<<"$out"'
    out=$("$bin" replay --view --size 120x40 "$s" 2>&1); rc=$?
    check "$name: replay --view shows both ends" '[ $rc = 0 ] && grep -q "A gw-a" <<<"$out" && grep -q "B gw-b" <<<"$out"'
done
check "at least one sample bundle" '[ $n -ge 1 ]'
exit $fail
