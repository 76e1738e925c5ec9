#!/bin/bash
# The binary's command-line contract: --help, --version, usage errors.
set -u
bin=$1
fail=0
check() { if ! eval "$2"; then echo "FAIL: $1"; fail=1; else echo "ok: $1"; fi; }

out=$("$bin" --help); rc=$?
check "--help exits 0" '[ $rc = 0 ]'
check "--help documents exit codes" 'grep -q "Exit status" <<<"$out"'
check "--help mentions NO_COLOR" 'grep -q NO_COLOR <<<"$out"'
out=$("$bin" --version); rc=$?
check "--version exits 0" '[ $rc = 0 ]'
check "--version prints the version" 'grep -Eq "^tunnelscope [0-9]+\.[0-9]+\.[0-9]+$" <<<"$out"'
"$bin" no-such-command >/dev/null 2>&1; rc=$?
check "unknown command exits 64" '[ $rc = 64 ]'
"$bin" >/dev/null 2>&1; rc=$?
check "no arguments exits 64" '[ $rc = 64 ]'
exit $fail
