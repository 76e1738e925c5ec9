#!/bin/bash
# tunnelscope diagnose local PEER on the lab: tunnelscope runs on gw-a itself (inside its
# namespaces, as root, commands run locally without ssh) and reaches gw-b over ssh on the
# management bridge with gw-a root's own ~/.ssh; healthy, then esp-drop-to-b.
TS=${1:?tunnelscope binary}
SRC=${2:?source dir}
export NATLAB_ID=lo$$
. "$SRC/tests/e2e/diagnose_lib.sh"

lab up --dpd 10 >/dev/null || { echo "FAIL: lab up"; exit 1; }

# on gw-a, as its root, with its own ~/.ssh (natlab gives it one for gw-b)
run_diagnose() {
    lab gw gw-a env -u TUNNELSCOPE_SSH_CONFIG -u TUNNELSCOPE_KNOWN_HOSTS HOME=/root "$TS" diagnose "$@" local gw-b
}

diag healthy
expect_exit healthy 0
expect_principal healthy none 0
peers=$(jq -r '[.peers[].name] | join(" ")' "$WORK/healthy.json" 2>/dev/null)
[ "$peers" = "local gw-b" ] && ok "healthy: peers $peers" || ko "healthy: peers '$peers', expected 'local gw-b'"
conn=$(jq -r '[.peers[].connection] | join(" ")' "$WORK/healthy.json" 2>/dev/null)
[ "$conn" = "site site" ] && ok "healthy: connection site on both ends" || ko "healthy: connections '$conn'"
expect_steps_ok healthy

scenario_esp_drop_to_b

finish
