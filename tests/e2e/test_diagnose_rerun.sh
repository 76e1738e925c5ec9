#!/bin/bash
# Single-step re-run (diag_rerun_step) on the lab, through one real diagnosis
# session kept open by tests/tools/diag_rerun_driver.c: a fault injected (or cleared)
# after the full run shows up in the re-run step only, that step's findings are
# replaced (not added to), and every other step keeps its findings and status.
TS=${1:?tunnelscope binary}
SRC=${2:?source dir}
export NATLAB_ID=rr$$
. "$SRC/tests/e2e/diagnose_lib.sh"
DRIVER=$(dirname "$TS")/tests/diag_rerun_driver
[ -x "$DRIVER" ] || { echo "FAIL: $DRIVER not built"; exit 1; }

lab up --dpd 10 >/dev/null || { echo "FAIL: lab up"; exit 1; }

coproc DRV { lab exec "$DRIVER" --capture-seconds 5 gw-a gw-b 2>"$WORK/driver.err"; }
# answer NAME: the driver's next JSON line into $WORK/NAME.json (bounded)
answer() {
    local line=""
    if ! read -r -t 90 line <&"${DRV[0]}" || [ -z "$line" ]; then
        echo "    (no answer from the driver)"; sed 's/^/    /' "$WORK/driver.err" | tail -5
    fi
    printf '%s\n' "$line" > "$WORK/$1.json"
    echo "--- $1: $(jq -r '[.steps[] | "\(.step):\(.status)"] | join(" ")' "$WORK/$1.json" 2>/dev/null || echo "(no JSON)")"
}
rerun() { # NAME STEP
    echo "rerun $2" >&"${DRV[1]}"
    answer "$1"
}
ids() { jq -r --argjson k "$2" '[.steps[] | select(.step == $k) | .findings[].id] | join(" ")' "$WORK/$1.json"; }
# the steps other than K, their status and findings (timings aside)
others() { jq -cS --argjson k "$2" '[.steps[] | select(.step != $k) | {step, status, findings}]' "$WORK/$1.json"; }
has() { case " $(ids "$1" "$2") " in *" $3 "*) return 0 ;; esac; return 1; }
untouched() { # BEFORE AFTER STEP
    if [ -n "$(others "$1" "$3")" ] && [ "$(others "$1" "$3")" = "$(others "$2" "$3")" ]; then
        ok "$2: steps other than $3 untouched"
    else
        ko "$2: steps other than $3 changed"; diff <(others "$1" "$3" | jq .) <(others "$2" "$3" | jq .) | head -20
    fi
}
no_dups() { # NAME STEP
    local d
    d=$(jq -r --argjson k "$2" '[.steps[] | select(.step == $k) | .findings[].id] | group_by(.) |
        map(select(length > 1) | .[0]) | join(" ")' "$WORK/$1.json")
    [ -z "$d" ] && ok "$1: step $2's findings replaced, none twice" || ko "$1: step $2 holds twice: $d"
}

traffic_start
answer full
has full 2 reach.esp_lost_a_to_b && ko "full: ESP loss on a healthy lab" || ok "full: healthy step 2 ($(ids full 2))"

lab fault esp-drop-to-b >/dev/null
rerun esp 2
has esp 2 reach.esp_lost_a_to_b && ok "esp: re-run step 2 finds reach.esp_lost_a_to_b" ||
    ko "esp: step 2 after the fault: $(ids esp 2)"
no_dups esp 2
untouched full esp 2
lab clear esp-drop-to-b >/dev/null

lab fault no-nat-exemption >/dev/null
rerun nonat 3
has nonat 3 policy.nat_exemption_missing && ok "nonat: re-run step 3 finds policy.nat_exemption_missing" ||
    ko "nonat: step 3 after the fault: $(ids nonat 3)"
untouched esp nonat 3
lab clear no-nat-exemption >/dev/null

# the fault is gone: step 2 again replaces its loss finding; step 3 keeps its
# own (it was not re-run)
traffic_stop
traffic_start
rerun clean 2
has clean 2 reach.esp_lost_a_to_b && ko "clean: step 2 still holds reach.esp_lost_a_to_b" ||
    ok "clean: re-run step 2 after clearing: $(ids clean 2)"
no_dups clean 2
untouched nonat clean 2
has clean 3 policy.nat_exemption_missing && ok "clean: step 3 kept its finding (not re-run)" ||
    ko "clean: step 3 lost its finding"

# step 1 collects everything again (its slower probes in the background)
rerun again1 1
[ "$(jq -r '.steps[0].status' "$WORK/again1.json")" = "$(jq -r '.steps[0].status' "$WORK/clean.json")" ] &&
    [ "$(ids again1 1)" = "$(ids clean 1)" ] && ok "again1: step 1 re-run gives the same findings ($(ids again1 1))" ||
    ko "again1: step 1 changed: $(ids clean 1) -> $(ids again1 1)"
untouched clean again1 1

echo quit >&"${DRV[1]}"
wait "$DRV_PID" 2>/dev/null
traffic_stop
finish
