#!/bin/bash
# The man page renders without groff warnings and documents every command,
# every exit status and the environment that --help names.
set -u
bin=$1 src=$2
page=$src/assets/tunnelscope.1
fail=0
check() { if eval "$2"; then echo "ok: $1"; else echo "FAIL: $1"; fail=1; fi; }

warn=$(LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z "$page" 2>&1)
check "renders without warnings" '[ -z "$warn" ]'
[ -n "$warn" ] && echo "$warn"
text=$(LC_ALL=C.UTF-8 MANWIDTH=80 man -l "$page" 2>/dev/null | col -b)
check "man -l renders" '[ -n "$text" ]'
cmds=$(sed -n "/^COMMANDS/,/^COMMON OPTIONS/p" <<<"$text")
for c in $("$bin" --help | sed -n '/^Commands:/,/^$/p' | awk 'NR>1 && NF {print $1}'); do
    check "documents command $c" 'grep -Eq "^ {7}(.*, )?$c\b" <<<"$cmds"'
done
for code in 0 1 2 3 64 70; do
    check "documents exit status $code" 'grep -Eq "^ +$code\b" <<<"$(sed -n "/EXIT STATUS/,/ENVIRONMENT/p" <<<"$text")"'
done
for v in NO_COLOR TUNNELSCOPE_SSH_CONFIG TUNNELSCOPE_KNOWN_HOSTS TUNNELSCOPE_DEBUG; do
    check "documents $v" 'grep -q "$v" <<<"$text"'
done
exit $fail
