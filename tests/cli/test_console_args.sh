#!/bin/bash
# `tunnelscope PEER_A PEER_B [options]`: the console's command line (no network, no terminal).
set -u
bin=$1
fail=0
check() { if ! eval "$2"; then echo "FAIL: $1"; fail=1; else echo "ok: $1"; fi; }

out=$("$bin" --help); rc=$?
check "--help names the console form" 'grep -q "PEER_A PEER_B" <<<"$out"'
out=$("$bin" console --help); rc=$?
check "console --help exits 0" '[ $rc = 0 ]'
for o in -F --known-hosts --accept-new-hostkey --conn; do
    check "console --help documents $o" 'grep -q -- "$o" <<<"$out"'
done
err=$("$bin" gw-a 2>&1 >/dev/null); rc=$?
check "one peer exits 64" '[ $rc = 64 ]'
check "one peer says two are needed" 'grep -q "two peers" <<<"$err"'
err=$("$bin" diagnoze gw-a gw-b 2>&1 >/dev/null); rc=$?
check "a mistyped command with two peers exits 64" '[ $rc = 64 ]'
check "a mistyped command is named" 'grep -q "diagnoze" <<<"$err"'
err=$("$bin" gw-a gw-a 2>&1 >/dev/null); rc=$?
check "the same peer twice exits 64" '[ $rc = 64 ]'
err=$("$bin" gw-a gw-b --bogus 2>&1 >/dev/null); rc=$?
check "an unknown option exits 64" '[ $rc = 64 ] && grep -q -- "--bogus" <<<"$err"'
err=$("$bin" gw-a gw-b --capture-limit 0 2>&1 >/dev/null); rc=$?
check "a zero capture limit exits 64" '[ $rc = 64 ]'
err=$("$bin" gw-a gw-b -F 2>&1 >/dev/null); rc=$?
check "-F without a value exits 64" '[ $rc = 64 ]'
err=$("$bin" local 'bad peer' </dev/null 2>&1 >/dev/null); rc=$?
check "a bad peer spec exits 64" '[ $rc = 64 ]'
err=$("$bin" -F /dev/null gw-a gw-b </dev/null 2>&1 >/dev/null); rc=$?
check "without a terminal it says so and exits 64" '[ $rc = 64 ] && grep -q "needs a terminal" <<<"$err"'
exit $fail
