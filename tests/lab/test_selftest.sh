#!/bin/bash
# Lab self-test (label lab): brings up its own lab instance, runs `natlab selftest` (every fact of
# the lab and every fault's symptom), and always tears the instance down.  Then checks that `down`
# left nothing behind.  Args (from ctest): tunnelscope binary, source dir.
set -u
bin=${1:-}
src=${2:-$(cd "$(dirname "$0")/../.." && pwd)}
natlab=$src/tests/lab/natlab
export NATLAB_ID=st$$
[ -n "$bin" ] && export TUNNELSCOPE=$bin
if [ "$(id -u)" != 0 ]; then echo "test_selftest: needs root"; exit 1; fi

cleanup() { "$natlab" down >/dev/null 2>&1 || true; }
trap cleanup EXIT INT TERM

rc=0
if "$natlab" up; then
    "$natlab" status
    "$natlab" selftest || rc=1
else
    echo "FAIL: natlab up"
    rc=1
fi

# `down` must leave nothing: no namespace, process, mount or work folder.
pids=$(for ns in $(ip netns list | awk -v id="$NATLAB_ID-" 'index($1, id) == 1 { print $1 }'); do ip netns pids "$ns"; done)
"$natlab" down
left=0
if ip netns list | grep -q "^$NATLAB_ID-"; then echo "FAIL: namespaces left after down"; left=1; fi
if [ -e "$src/tests/lab/work/$NATLAB_ID" ]; then echo "FAIL: work folder left after down"; left=1; fi
if grep -q "tests/lab/work/$NATLAB_ID" /proc/self/mountinfo; then echo "FAIL: mounts left after down"; left=1; fi
for p in $pids; do
    if [ -d "/proc/$p" ] && [ "$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null)" != Z ]; then
        echo "FAIL: process $p of the lab left after down: $(tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null)"; left=1
    fi
done
if [ $left = 0 ]; then echo "PASS: down left no namespace, process, mount or work folder"; else rc=1; fi
exit $rc
