#!/bin/bash
# tunnelscope diagnose local PEER on the lab: tunnelscope runs on gw-a itself (inside its
# namespaces, as root, commands run locally without ssh) and reaches gw-b over ssh on the
# management bridge with gw-a root's own ~/.ssh; healthy, then esp-drop-to-b.
TS=${1:?tunnelscope binary}
SRC=${2:?source dir}
export NATLAB_ID=lo$$
. "$SRC/tests/e2e/diagnose_lib.sh"

lab up --dpd 10 >/dev/null || { echo "FAIL: lab up"; exit 1; }

# diag_local NAME [diagnose options...]: on gw-a, JSON in $WORK/NAME.json, exit status in $RC
diag_local() {
    local name=$1
    shift
    traffic_start
    lab gw gw-a env -u TUNNELSCOPE_SSH_CONFIG -u TUNNELSCOPE_KNOWN_HOSTS HOME=/root \
        "$TS" diagnose --json --capture-seconds "${CAPTURE:-5}" "$@" local gw-b \
        > "$WORK/$name.json" 2> "$WORK/$name.err"
    RC=$?
    traffic_stop
    echo "--- $name: exit $RC; steps:"
    jq -r '.steps[] | "    \(.step). \(.name): \(.status)"' "$WORK/$name.json" 2>/dev/null ||
        { echo "    (no JSON)"; sed 's/^/    /' "$WORK/$name.err" | head -20; }
    jq -r '.steps[].findings[] | select(.severity == "failure" or .severity == "warning") |
           "    [\(.severity)] \(.id): \(.title)"' "$WORK/$name.json" 2>/dev/null
}

diag_local healthy
expect_exit healthy 0
expect_principal healthy none 0
peers=$(jq -r '[.peers[].name] | join(" ")' "$WORK/healthy.json" 2>/dev/null)
[ "$peers" = "local gw-b" ] && ok "healthy: peers $peers" || ko "healthy: peers '$peers', expected 'local gw-b'"
conn=$(jq -r '[.peers[].connection] | join(" ")' "$WORK/healthy.json" 2>/dev/null)
[ "$conn" = "site site" ] && ok "healthy: connection site on both ends" || ko "healthy: connections '$conn'"
bad=$(jq -r '[.steps[] | select(.status != "ok" and .status != "info") | .name] | join(" ")' "$WORK/healthy.json")
[ -z "$bad" ] && ok "healthy: every step ok or info" || ko "healthy: steps not ok/info: $bad"

lab fault esp-drop-to-b >/dev/null
diag_local esp-drop-to-b
expect_principal esp-drop-to-b reach.esp_lost_a_to_b 2
expect_only_failures esp-drop-to-b reach.esp_lost_a_to_b
expect_exit esp-drop-to-b 2
lab clear esp-drop-to-b >/dev/null

finish
