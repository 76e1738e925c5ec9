#!/bin/sh
# Fails when the layering of shared/DESIGN.md is broken:
#  - only tui/ may include curses;
#  - remote/ includes nothing from probes/, playbook/, tui/;
#  - probes/ nothing from playbook/, tui/;  playbook/ nothing from tui/.
set -u
root=${1:-.}
fail=0
check() { # folder pattern message
    hits=$(grep -rnE "$2" "$root/$1" --include='*.c' --include='*.h' 2>/dev/null)
    if [ -n "$hits" ]; then
        echo "layering: $3"; echo "$hits"; fail=1
    fi
}
for d in remote probes playbook; do
    check "$d" '#[[:space:]]*include[[:space:]]*[<"](n?curses(w)?/)?n?curses(w)?\.h|#[[:space:]]*include[[:space:]]*[<"](panel|menu|form|term)\.h' "$d/ includes curses (only tui/ may)"
done
check remote '#[[:space:]]*include[[:space:]]*"(probes|playbook|tui)/' "remote/ includes an upper layer"
check probes '#[[:space:]]*include[[:space:]]*"(playbook|tui)/' "probes/ includes an upper layer"
check playbook '#[[:space:]]*include[[:space:]]*"tui/' "playbook/ includes tui/"
[ "$fail" = 0 ] && echo "layering: ok"
exit $fail
