#!/bin/bash
# Issue 9, security: no key material in what `tunnelscope exec` prints (the UML fixtures' XFRM
# keys, a swanctl.conf PSK), the debug log and --save files owner-only and never written through
# a symlink, and no predictable temporary file names in the sources.  Local transport only.
set -u
bin=$1
src=$2
fail=0
check() { if ! eval "$2"; then echo "FAIL: $1"; fail=1; else echo "ok: $1"; fi; }
export HOME=$(mktemp -d)
trap 'rm -rf "$HOME"' EXIT
unset TUNNELSCOPE_SSH_CONFIG TUNNELSCOPE_KNOWN_HOSTS TUNNELSCOPE_DEBUG
uml=$src/tests/fixtures/uml

keys=$(ls "$uml"/*/*keys-FAKED.txt)
check "the fixtures hold the fake key pattern (the test can fail)" 'grep -qi fa4efa4e $keys'
out=$("$bin" exec local -- cat $keys 2>&1)
check "exec prints no XFRM key of the fixtures" '! grep -qi fa4efa4e <<<"$out"'
check "exec says what it redacted" 'grep -q "\[REDACTED\]" <<<"$out"'
check "exec keeps the rest of the state lines" 'grep -q "proto esp spi" <<<"$out"'
psk=LabPsk-0123456789abcdef
out=$("$bin" exec local -- printf '%s\n' "connections { }" "secrets {" "  ike-lab {" "    secret = \"$psk\"" "  }" "}" 2>&1)
check "exec prints no swanctl.conf secret" '! grep -q "$psk" <<<"$out"'
check "exec keeps the non-secret lines" 'grep -q "ike-lab {" <<<"$out"'

# debug log: owner-only, not through a symlink
log=$HOME/debug.log
TUNNELSCOPE_DEBUG=$log "$bin" exec -F /dev/null 127.0.0.1:1 -- true >/dev/null 2>&1
check "the debug log is written" '[ -s "$log" ]'
check "the debug log is owner-only (0600)" '[ "$(stat -c %a "$log")" = 600 ]'
check "the debug log holds no key" '! grep -qi fa4efa4e "$log"'
ln -s "$HOME/victim" "$HOME/link.log"
TUNNELSCOPE_DEBUG=$HOME/link.log "$bin" exec -F /dev/null 127.0.0.1:1 -- true >/dev/null 2>&1
check "the debug log is never written through a symlink" '[ ! -e "$HOME/victim" ]'

# --save: owner-only, not through a symlink
mkdir "$HOME/save"
"$bin" exec --save "$HOME/save" local -- 'printf x' >/dev/null 2>&1
check "--save files are owner-only (0600)" '[ "$(stat -c %a "$HOME/save/local.out")" = 600 ]'
mkdir "$HOME/save2"
ln -s "$HOME/victim2" "$HOME/save2/local.out"
"$bin" exec --save "$HOME/save2" local -- 'printf x' >/dev/null 2>&1; rc=$?
check "--save refuses a symlink planted in place of its file" '[ $rc = 64 ] && [ ! -e "$HOME/victim2" ]'

# temporary files: no tmpnam/tempnam/mktemp(3) nor a fixed /tmp path in the sources
bad=$(grep -rnE '\b(tmpnam|tempnam|mktemp)\(|"/tmp/[^"X]*"' "$src"/remote "$src"/probes "$src"/playbook "$src"/tui \
      --include='*.c' | grep -v 'XXXXXX' || true)
check "no predictable temporary file in the sources" '[ -z "$bad" ]' || echo "$bad"
exit $fail
