#!/bin/bash
# Re-creates the sample bundles of this folder from the lab (root; own NATLAB_ID,
# torn down at the end): for each incident, traffic lan-a -> lan-b through the
# tunnel, the fault injected, `tunnelscope diagnose --bundle` with the lab's
# PSK given as a known secret; only the .tar.gz is kept.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
export TUNNELSCOPE=${TUNNELSCOPE:-$src/build/tunnelscope}
export NATLAB_ID=smp$$
lab() { "$src/tests/lab/natlab" "$@"; }
work=$(mktemp -d /tmp/ts-samples.XXXXXX)
trap 'lab down >/dev/null 2>&1; rm -rf "$work"' EXIT
lab up >/dev/null
cat "$(lab paths | sed -n 's/^work=//p')/psk" > "$work/secrets"
for fault in esp-drop-to-b udp4500-drop-to-a; do
    lab fault "$fault" >/dev/null
    lab gw lan-a timeout 20 ping -q -i 0.1 -s 200 10.20.5.10 >/dev/null 2>&1 &
    lab exec tunnelscope diagnose --capture-seconds 8 --bundle "$work/$fault" \
        --secrets "$work/secrets" gw-a gw-b >/dev/null || true
    kill $! 2>/dev/null; wait 2>/dev/null || true
    "$TUNNELSCOPE" verify --secrets "$work/secrets" "$work/$fault.tar.gz"
    rm -f "$here/$fault.tar.gz"
    cp "$work/$fault.tar.gz" "$here/"
    lab clear "$fault" >/dev/null
done
