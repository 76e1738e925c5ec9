# Shared by tests/e2e/test_diagnose_*.sh: one lab per script, traffic through
# the tunnel while tunnelscope diagnose runs, assertions on its JSON.
# Sourced; expects $TS (tunnelscope binary) and $SRC (source dir).
set -u
NATLAB="$SRC/tests/lab/natlab"
export TUNNELSCOPE="$TS"
pass=0
fail=0
WORK=$(mktemp -d /tmp/ts-diag.XXXXXX)
TRAFFIC_PID=""

lab() { "$NATLAB" "$@"; }

cleanup() {
    traffic_stop
    lab down >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

ok() { echo "PASS: $*"; pass=$((pass + 1)); }
ko() { echo "FAIL: $*"; fail=$((fail + 1)); }

# Pings from lan-a to lan-b through the tunnel (bounded by -w), so that the
# capture sees ESP both ways.
traffic_start() {
    rm -f "$WORK/traffic.pid"
    lab gw lan-a sh -c "echo \$\$ > '$WORK/traffic.pid'; exec ping -q -i 0.05 -s ${1:-200} -w 120 10.20.5.10" \
        >"$WORK/traffic.log" 2>&1 &
    TRAFFIC_PID=$!
    for _ in 1 2 3 4 5 6 7 8 9 10; do [ -s "$WORK/traffic.pid" ] && break; sleep 0.1; done
}
traffic_stop() {
    if [ -s "$WORK/traffic.pid" ]; then kill -INT "$(cat "$WORK/traffic.pid")" 2>/dev/null || true; fi
    if [ -n "$TRAFFIC_PID" ]; then wait "$TRAFFIC_PID" 2>/dev/null || true; fi
    [ -s "$WORK/traffic.log" ] && grep -h "transmitted" "$WORK/traffic.log" | sed 's/^/    traffic lan-a -> lan-b: /'
    rm -f "$WORK/traffic.log"
    TRAFFIC_PID=""
    rm -f "$WORK/traffic.pid"
}

# run_diagnose [diagnose options...]: tunnelscope diagnose of gw-a and gw-b from
# the console (a test may define its own: test_diagnose_local.sh runs it on gw-a).
run_diagnose() { lab exec tunnelscope diagnose "$@" gw-a gw-b; }

# diag NAME [diagnose options...]: runs the diagnosis with traffic flowing,
# JSON in $WORK/NAME.json, exit status in $RC.
diag() {
    local name=$1
    shift
    traffic_start
    local t0 t1
    t0=$(date +%s.%N)
    run_diagnose --json --capture-seconds "${CAPTURE:-5}" "$@" > "$WORK/$name.json" 2> "$WORK/$name.err"
    RC=$?
    t1=$(date +%s.%N)
    traffic_stop
    echo "--- $name: exit $RC in $(echo "$t1 - $t0" | bc) s; steps:"
    jq -r '.steps[] | "    \(.step). \(.name): \(.status) (\(.seconds // "-") s)"' "$WORK/$name.json" 2>/dev/null ||
        { echo "    (no JSON)"; sed 's/^/    /' "$WORK/$name.err" | head -20; }
    jq -r '.steps[].findings[] | select(.severity == "failure" or .severity == "warning") |
           "    [\(.severity)] \(.id): \(.title)"' "$WORK/$name.json" 2>/dev/null
}

# expect_principal NAME ID STEP
expect_principal() {
    local got step
    got=$(jq -r '.principal.id // "none"' "$WORK/$1.json" 2>/dev/null)
    step=$(jq -r '.principal.step // 0' "$WORK/$1.json" 2>/dev/null)
    case " $2 " in
    *" $got "*) if [ "$step" = "$3" ]; then ok "$1: principal $got (step $step)"
                else ko "$1: principal $got at step $step, expected step $3"; fi ;;
    *) ko "$1: principal is $got (step $step), expected $2 (step $3)" ;;
    esac
}

# expect_finding NAME ID [SEVERITY]
expect_finding() {
    local sev
    sev=$(jq -r --arg id "$2" '[.steps[].findings[] | select(.id == $id) | .severity][0] // "absent"' \
        "$WORK/$1.json" 2>/dev/null)
    if [ "$sev" = absent ] || { [ -n "${3:-}" ] && [ "$sev" != "$3" ]; }; then
        ko "$1: finding $2 ${3:-} not raised (got: $sev)"
    else
        ok "$1: finding $2 ($sev)"
    fi
}

# expect_only_failures NAME ID...: no failure outside the list (nothing invented)
expect_only_failures() {
    local name=$1 id bad=""
    shift
    for id in $(jq -r '[.steps[].findings[] | select(.severity == "failure") | .id] | unique | .[]' \
        "$WORK/$name.json" 2>/dev/null); do
        case " $* " in *" $id "*) ;; *) bad="$bad $id" ;; esac
    done
    if [ -z "$bad" ]; then ok "$name: no other failure"; else ko "$name: unexpected failures:$bad"; fi
}

# log_count GW PATTERN: lines of the gateway's charon log matching PATTERN
# grep -c prints 0 and exits 1 when nothing matches: keep its one number only
log_count() {
    local c
    c=$(lab gw "$1" grep -c -- "$2" /var/log/charon.log 2>/dev/null)
    c=${c%%$'\n'*}
    echo "${c:-0}"
}

# wait_log GW PATTERN BEFORE MAX_S: until more than BEFORE lines match (bounded)
wait_log() {
    local i=0 max=$(( $4 * 2 ))
    while [ "$i" -lt "$max" ]; do
        [ "$(log_count "$1" "$2")" -gt "$3" ] && return 0
        sleep 0.5
        i=$((i + 1))
    done
    return 1
}

# expect_steps_ok NAME: every step ok or info
expect_steps_ok() {
    local bad
    bad=$(jq -r '[.steps[] | select(.status != "ok" and .status != "info") | .name] | join(" ")' "$WORK/$1.json")
    [ -z "$bad" ] && ok "$1: every step ok or info" || ko "$1: steps not ok/info: $bad"
}

# scenario_esp_drop_to_b: the fault injected, diagnosed, asserted, cleared
scenario_esp_drop_to_b() {
    lab fault esp-drop-to-b >/dev/null
    diag esp-drop-to-b
    expect_principal esp-drop-to-b reach.esp_lost_a_to_b 2
    expect_only_failures esp-drop-to-b reach.esp_lost_a_to_b
    expect_exit esp-drop-to-b 2
    lab clear esp-drop-to-b >/dev/null
}

expect_exit() {
    if [ "$RC" = "$2" ]; then ok "$1: exit status $RC"; else ko "$1: exit status $RC, expected $2"; fi
}

finish() {
    echo "$pass passed, $fail failed"
    [ "$fail" = 0 ]
}
