#!/bin/bash
# tunnelscope exec: command line, output prefixes, terminal safety, exit statuses
# (with the local transport and a refused loopback connection: no network).
set -u
bin=$1
fail=0
check() { if ! eval "$2"; then echo "FAIL: $1"; fail=1; else echo "ok: $1"; fi; }
export HOME=$(mktemp -d)
trap 'rm -rf "$HOME"' EXIT
unset TUNNELSCOPE_SSH_CONFIG TUNNELSCOPE_KNOWN_HOSTS

out=$("$bin" exec --help); rc=$?
check "--help exits 0" '[ $rc = 0 ]'
check "--help names the options" 'grep -q -- --accept-new-hostkey <<<"$out" && grep -q -- --known-hosts <<<"$out" && grep -q -- "-F SSH_CONFIG" <<<"$out"'
check "main --help lists exec" '"$bin" --help | grep -q "^  exec "'

for args in "" "local" "local --" "-- true" "--timeout 0 local -- true" "--timeout x local -- true" \
            "--bogus local -- true" "-F" "gw;x -- true" "local local -- true"; do
    # shellcheck disable=SC2086
    "$bin" exec $args >/dev/null 2>&1; rc=$?
    check "usage error exits 64: exec $args" '[ $rc = 64 ]'
done

out=$("$bin" exec local -- 'echo one; echo two >&2; printf "no newline"' 2>/dev/null); rc=$?
check "local command exits 0" '[ $rc = 0 ]'
check "stdout lines are prefixed" 'grep -qx "local| one" <<<"$out"'
check "stderr lines are marked" 'grep -qx "local|! two" <<<"$out"'
check "last partial line is printed" 'grep -qx "local| no newline" <<<"$out"'

out=$("$bin" exec local -- printf '%s\n' "it's" 'a;b' 2>/dev/null)
check "several words are passed as they are" 'grep -qx "local| it'"'"'s" <<<"$out" && grep -qx "local| a;b" <<<"$out"'

out=$("$bin" exec local -- 'printf "\033]0;pwned\007\033[2Jx\n"' 2>/dev/null)
check "escape sequences never reach the terminal raw" '! grep -q $'"'"'\x1b'"'"' <<<"$out" && grep -q "\\\\x1b" <<<"$out"'

err=$("$bin" exec local -- 'exit 4' 2>&1 >/dev/null); rc=$?
check "a failed command exits 1" '[ $rc = 1 ]'
check "the failure names the peer and status" 'grep -q "local: exit status 4" <<<"$err"'

err=$("$bin" exec --timeout 1 local -- 'sleep 20' 2>&1 >/dev/null); rc=$?
check "a timed-out command exits 1" '[ $rc = 1 ]'
check "the time limit is named" 'grep -q "time limit of 1 s" <<<"$err"'

mkdir "$HOME/save"
"$bin" exec --save "$HOME/save" local -- 'printf "\324\303\262\241\000x"' >/dev/null 2>&1; rc=$?
check "--save writes stdout byte for byte" '[ $rc = 0 ] && [ "$(od -An -tx1 "$HOME/save/local.out" | tr -d " \n")" = d4c3b2a10078 ]'
port=1 # tcpmux: nothing listens there on loopback
err=$("$bin" exec -F /dev/null local "127.0.0.1:$port" -- true 2>&1 >/dev/null); rc=$?
check "an unreachable peer exits 3 (worst status wins)" '[ $rc = 3 ]'
check "connection refused is said" 'grep -q "refused" <<<"$err"'
exit $fail
