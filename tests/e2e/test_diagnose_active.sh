#!/bin/bash
# tunnelscope diagnose --active on the lab: the DF sweep finds no black hole on
# the healthy lab, and names the PMTU black hole (step 4) under pmtu-blackhole.
TS=${1:?tunnelscope binary}
SRC=${2:?source dir}
export NATLAB_ID=da$$
. "$SRC/tests/e2e/diagnose_lib.sh"

lab up >/dev/null || { echo "FAIL: lab up"; exit 1; }

diag healthy-active --active
expect_exit healthy-active 0
expect_principal healthy-active none 0
expect_finding healthy-active mtu.sweep_ok info

lab fault pmtu-blackhole >/dev/null
diag pmtu-blackhole --active
expect_principal pmtu-blackhole mtu.blackhole 4
expect_only_failures pmtu-blackhole mtu.blackhole
mss=$(jq -r '[.steps[].findings[] | select(.id == "mtu.blackhole") | .decision][0]' "$WORK/pmtu-blackhole.json")
case "$mss" in *"--set-mss "[0-9]*) ok "pmtu-blackhole: MSS to clamp to is given" ;; *) ko "pmtu-blackhole: no MSS in: $mss" ;; esac
lab clear pmtu-blackhole >/dev/null

finish
