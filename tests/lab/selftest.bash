# natlab selftest — sourced by tests/lab/natlab (uses its functions and variables).
# Asserts every fact of the lab and the symptom of every fault on the running lab, printing one
# PASS/FAIL line per assertion and "N passed, N failed" at the end.  Leaves the lab healthy.

ST_PASS=0
ST_FAIL=0

st_check() {   # st_check "what" CMD...: PASS when CMD succeeds
    local what=$1; shift
    if "$@" >/dev/null 2>&1; then
        echo "PASS: $what"; ST_PASS=$((ST_PASS + 1))
    else
        echo "FAIL: $what"; ST_FAIL=$((ST_FAIL + 1))
    fi
}
st_not() { ! "$@"; }
st_grep() { has "$@"; }

# pings: number of echo replies from SRC_NODE to DST (count, interval, size args optional); empty
# when ping printed no statistics.  Parsed by bash: no awk process (costly under UML).
st_pings() {
    local node=$1 dst=$2 out; shift 2
    out=$(nsx "$node" ping -q -n -W 1 "$@" "$dst" 2>/dev/null) || true
    [[ $out =~ ([0-9]+)\ (packets\ )?received ]] && echo "${BASH_REMATCH[1]}"
    return 0
}
st_ping_ok() { [ "$(st_pings "$1" "$2" -c 3 -i 0.2)" = 3 ]; }
st_ping_fails() { local n; n=$(st_pings "$1" "$2" -c 3 -i 0.2); [ "${n:-0}" = 0 ]; }  # no route: no stats line
# (the bound is scaled like wait_until's: NATLAB_TIME_SCALE under UML)
st_sudo_fast() { local t0; t0=$(now_ms); lab_ssh "$1" 'sudo -n true' && (( $(now_ms) - t0 < 3000 * ${NATLAB_TIME_SCALE:-1} )); }

# st_counter GW in|out: packets of the CHILD_SA 'net' in that direction (from --raw)
st_counter() {
    local out; out=$(swanctl_gw "$1" --list-sas --raw 2>/dev/null) || true
    [[ $out =~ packets-$2=([0-9]+) ]] && echo "${BASH_REMATCH[1]}"
    return 0
}

st_log_mark() { wc -l < "$W/$1/log/charon.log"; }
st_log_since() { tail -n +"$(( $2 + 1 ))" "$W/$1/log/charon.log"; }
st_log_has() { has "$3" st_log_since "$1" "$2"; }

st_healthy() {   # wait (bounded) for the CHILD_SA on both ends, then pings both ways
    wait_until 20 child_installed gw-a && wait_until 5 child_installed gw-b &&
        wait_until 5 st_ping_ok lan-a $LAN_B_HOST && st_ping_ok lan-b $LAN_A_HOST
}

# st_known_host_real GW: the known_hosts line of GW holds GW's host key (from its key file, or,
# on the kernel backend's host console, as its sshd presents it to ssh-keyscan).
st_known_host_real() {
    local key f=$W/$1/etc/ssh_host_ed25519_key.pub
    if [ -f "$f" ]; then read -r _ key _ <"$f"
    else key=$(console_exec ssh-keyscan -t ed25519 "${MGMT[$1]}" 2>/dev/null) && key=${key##* }; fi
    [ -n "$key" ] && grep -qF " $key" "$W/console/home/.ssh/known_hosts"
}

st_both_ike() { ike_established gw-a && ike_established gw-b; }
st_ping_both_ways() { st_ping_ok lan-a $LAN_B_HOST && st_ping_ok lan-b $LAN_A_HOST; }

# Each section says when it starts (seconds since the selftest began), so a slow one shows.
st_section() { echo "--- $* (at $(( ($(now_ms) - ST_T0) / 1000 )) s)"; }

# st_in_ns PID NODE: process PID runs in NODE's network namespace (same nsfs inode; no process).
st_in_ns() { [ -n "$1" ] && [ "/proc/$1/ns/net" -ef "/run/netns/$(ns "$2")" ]; }

# st_part TEXT NAME: the lines of TEXT between "@NAME" and the next "@..." line.
st_part() {
    local t=$'\n'$1
    [[ $t == *$'\n'@$2$'\n'* ]] || return 0
    t=$'\n'${t#*$'\n'@$2$'\n'}
    t=${t%%$'\n'@*}
    printf '%s\n' "${t#$'\n'}"
}

# st_count REGEX TEXT: how many lines of TEXT match REGEX.
st_count() {
    local re=$1 line n=0 IFS=$'\n' lines
    local -
    set -f
    lines=($2)
    for line in "${lines[@]}"; do [[ $line =~ $re ]] && n=$((n + 1)); done
    echo "$n"
}

selftest_facts() {
    st_section "topology and daemons"
    local n gw netns; netns=$(ip netns list 2>&1)
    for n in "${NODES[@]}"; do
        st_check "namespace $(ns "$n") exists" matches "^$(ns "$n")( |$)" "$netns"
    done
    for gw in "${GWS[@]}"; do
        st_check "$gw: charon runs in $(ns "$gw")" st_in_ns "$(gw_charon_pid "$gw")" "$gw"
        st_check "$gw: sshd runs in $(ns "$gw")" st_in_ns "$(gw_sshd_pid "$gw")" "$gw"
        # Everything seen from inside the gateway, in one visit (processes cost under UML).
        local dp=xfrm; [ "$(state_get dataplane)" = libipsec ] && dp=ipsec0
        local in; in=$(gwx "$gw" sh -c '
            echo @tcp; ss -ltnH; echo @udp; ss -ulnpH
            echo @vici; [ -S /var/run/charon.vici ] && echo socket
            echo @hostname; read -r h </proc/sys/kernel/hostname; echo "$h"
            echo @ipv6; read -r v </proc/sys/net/ipv6/conf/all/disable_ipv6; echo "$v"
            echo @dp; if [ "$1" = ipsec0 ]; then ip link show ipsec0; else ip -s xfrm state; fi' _ "$dp" 2>&1) || true
        st_check "$gw: sshd listens on ${MGMT[$gw]}:22" matches "${MGMT[$gw]//./\\.}:22 " "$(st_part "$in" tcp)"
        st_check "$gw: charon listens on UDP 500 and 4500" \
            test "$(st_count ":(500|4500) .*charon" "$(st_part "$in" udp)")" -ge 2
        st_check "$gw: private /run holds its own vici socket" test "$(st_part "$in" vici)" = socket
        st_check "$gw: hostname is $gw" test "$(st_part "$in" hostname)" = "$gw"
        st_check "$gw: IPv6 disabled" test "$(st_part "$in" ipv6)" = 1
        if [ $dp = ipsec0 ]; then
            st_check "$gw: kernel-libipsec TUN device ipsec0 exists" matches "^[0-9]+: ipsec0:" "$(st_part "$in" dp)"
        else
            st_check "$gw: kernel XFRM states are ESP in UDP (encap type espinudp)" \
                matches "encap type espinudp sport 4500 dport 4500" "$(st_part "$in" dp)"
        fi
    done
    st_check "the two charons are different processes" test "$(gw_charon_pid gw-a)" != "$(gw_charon_pid gw-b)"

    st_section "IKE, NAT-T, ESP"
    st_check "gw-a logs 'local host is behind NAT'" grep -q "local host is behind NAT" "$W/gw-a/log/charon.log"
    st_check "gw-b logs 'remote host is behind NAT'" grep -q "remote host is behind NAT" "$W/gw-b/log/charon.log"
    # One --list-sas and one --raw per gateway for all the checks below (each swanctl run is three
    # processes, and processes are what costs under UML).
    local -A sas raw
    for gw in "${GWS[@]}"; do
        sas[$gw]=$(swanctl_gw "$gw" --list-sas 2>&1) || true
        raw[$gw]=$(swanctl_gw "$gw" --list-sas --raw 2>&1) || true
    done
    for gw in "${GWS[@]}"; do
        st_check "$gw: IKE_SA ESTABLISHED" matches "ESTABLISHED" "${sas[$gw]}"
        st_check "$gw: CHILD_SA INSTALLED, TUNNEL-in-UDP" matches "INSTALLED, TUNNEL-in-UDP" "${sas[$gw]}"
        st_check "$gw: ESP is AES-GCM" matches "ESP:AES_GCM_16-256" "${sas[$gw]}"
        st_check "$gw: IKE floated to UDP 4500" matches "local  '$gw' @ [0-9.]+\[4500\]" "${sas[$gw]}"
        st_check "$gw: --raw shows encap=yes" matches "encap=yes" "${raw[$gw]}"
    done
    st_check "gw-a: --raw shows nat-local=yes" matches "nat-local=yes" "${raw[gw-a]}"
    st_check "gw-b sees gw-a at the NAT's address 203.0.113.10:4500" \
        matches "remote 'gw-a' @ 203\.0\.113\.10\[4500\]" "${sas[gw-b]}"
    st_check "gw-a: local_ts 10.10.0.0/16, remote_ts 10.20.0.0/16" \
        matches "local-ts=\[10\.10\.0\.0/16\] remote-ts=\[10\.20\.0\.0/16\]" "${raw[gw-a]}"
    st_check "gw-a: dpd_delay is the configured $(gw_dpd gw-a)s" \
        st_grep "dpd_delay = $(gw_dpd gw-a)s" gwx gw-a cat /etc/swanctl/swanctl.conf
    st_check "gw-a: keep_alive is the configured $(gw_keepalive gw-a)s" \
        st_grep "keep_alive = $(gw_keepalive gw-a)s" gwx gw-a cat /etc/strongswan.conf
    if [ "$(state_get dataplane)" = libipsec ]; then
        st_check "gw-a: route to 10.20.5.10 from 10.10.0.1 via ipsec0 (table 220)" \
            st_grep "dev ipsec0 table 220" gwx gw-a ip route get 10.20.5.10 from 10.10.0.1
        st_check "gw-b: route to 10.10.5.10 from 10.20.0.1 via ipsec0 (table 220)" \
            st_grep "dev ipsec0 table 220" gwx gw-b ip route get 10.10.5.10 from 10.20.0.1
    else
        st_check "gw-a: XFRM policy out 10.10.0.0/16 -> 10.20.0.0/16" \
            st_grep "src 10\.10\.0\.0/16 dst 10\.20\.0\.0/16" gwx gw-a ip xfrm policy
    fi

    st_section "data plane"
    local a0 b0
    a0=$(st_counter gw-a out); b0=$(st_counter gw-b in)
    st_check "ping lan-a 10.10.5.10 -> lan-b 10.20.5.10 passes" st_ping_ok lan-a $LAN_B_HOST
    st_check "ping lan-b -> lan-a passes" st_ping_ok lan-b $LAN_A_HOST
    st_check "gw-a out and gw-b in packet counters grew by the pings" \
        test "$(st_counter gw-a out)" -ge $((a0 + 3)) -a "$(st_counter gw-b in)" -ge $((b0 + 3))
    st_check "ping -M do -s 1372 lan-a -> lan-b passes (healthy PMTU)" \
        test "$(st_pings lan-a $LAN_B_HOST -c 2 -i 0.2 -M do -s 1372)" = 2
    st_check "management network is not routed: lan-a cannot reach 10.99.0.1" st_ping_fails lan-a $CONSOLE_MGMT
    st_check "management network is not routed: console cannot reach lan-a" st_ping_fails console $LAN_A_HOST

    # The kernel backend's console is on the host (tests/lab/uml/natlab-uml runs this part there).
    [ "${ST_SSH_ON_HOST:-0}" = 1 ] || selftest_ssh
}

# The console's view: real ssh with the lab's config, key and known_hosts.
selftest_ssh() {
    st_section "ssh from the console"
    st_check "ssh gw-a 'swanctl --list-sas' shows gw-a's own daemon" \
        st_grep "local  'gw-a' @ 192\.168\.77\.2" lab_ssh gw-a 'swanctl --list-sas'
    st_check "ssh gw-b 'swanctl --list-sas' shows gw-b's own daemon" \
        st_grep "local  'gw-b' @ 198\.51\.100\.20" lab_ssh gw-b 'swanctl --list-sas'
    st_check "exec: plain 'ssh gw-a' (no -F) finds the lab config and known_hosts" \
        test "$(console_exec ssh gw-a hostname 2>/dev/null)" = gw-a
    st_check "exec: TUNNELSCOPE_SSH_CONFIG and TUNNELSCOPE_KNOWN_HOSTS point at the lab files" \
        console_exec sh -c 'test -f "$TUNNELSCOPE_SSH_CONFIG" && test -f "$TUNNELSCOPE_KNOWN_HOSTS" && test "$HOME/.ssh/config" -ef "$TUNNELSCOPE_SSH_CONFIG"'
    st_check "known_hosts holds gw-a's real host key" st_known_host_real gw-a
    st_check "host key checking is on: an empty known_hosts is refused" \
        st_not console_exec ssh -o UserKnownHostsFile=/dev/null gw-a true
    st_check "password authentication is refused" \
        st_not console_exec ssh -o PubkeyAuthentication=no -o PreferredAuthentications=password,keyboard-interactive gw-b true
    st_check "sudo -n works on gw-a without stalling (< 3 s)" \
        st_sudo_fast gw-a
    st_check "gw-a has tcpdump, conntrack, nft, iptables, ip, ss, swanctl on PATH over ssh" \
        lab_ssh gw-a 'command -v tcpdump conntrack nft iptables ip ss swanctl sudo timeout'
    local ts; ts=$(console_exec sh -c 'command -v tunnelscope' 2>/dev/null || true)
    if [ -n "$ts" ]; then
        st_check "exec: tunnelscope is on PATH ($ts) and runs" console_exec tunnelscope --version
    fi
}

selftest_faults() {
    local a0 b0 m ma mb
    st_section "fault esp-drop-to-b"
    cmd_fault esp-drop-to-b >/dev/null
    a0=$(st_counter gw-a out); b0=$(st_counter gw-b in)
    st_check "esp-drop-to-b: ping lan-a -> lan-b fails" st_ping_fails lan-a $LAN_B_HOST
    st_check "esp-drop-to-b: gw-a out counter grows" test "$(st_counter gw-a out)" -ge $((a0 + 3))
    st_check "esp-drop-to-b: gw-b in counter freezes" test "$(st_counter gw-b in)" = "$b0"
    st_check "esp-drop-to-b: IKE stays up on both ends" st_both_ike
    st_check "esp-drop-to-b: IKE still passes (an IKE rekey completes)" \
        has "rekey completed successfully" gwx gw-a timeout 20 swanctl --rekey --ike site
    st_check "esp-drop-to-b: the wan router's rule dropped the ESP packets" \
        test "$(fw_fault_hits wan esp-drop-to-b)" -ge 3
    cmd_clear esp-drop-to-b >/dev/null
    st_check "esp-drop-to-b cleared: pings pass" st_healthy

    st_section "fault udp4500-drop-to-a"
    cmd_fault udp4500-drop-to-a >/dev/null
    a0=$(st_counter gw-a in); b0=$(st_counter gw-b in)
    st_check "udp4500-drop-to-a: ping lan-a -> lan-b fails" st_ping_fails lan-a $LAN_B_HOST
    st_check "udp4500-drop-to-a: gw-b in counter grows (requests arrive)" test "$(st_counter gw-b in)" -ge $((b0 + 3))
    st_check "udp4500-drop-to-a: gw-a in counter freezes (replies lost)" test "$(st_counter gw-a in)" = "$a0"
    cmd_clear udp4500-drop-to-a >/dev/null
    st_check "udp4500-drop-to-a cleared: pings pass" st_healthy

    st_section "fault nat-expiry (timeout ${NATLAB_NAT_TIMEOUT:-10} s)"
    cmd_fault nat-expiry >/dev/null
    st_check "nat-expiry: gw-a keepalives off" st_grep "keep_alive = 0s" gwx gw-a cat /etc/strongswan.conf
    st_check "nat-expiry: nat-a UDP conntrack timeout is ${NATLAB_NAT_TIMEOUT:-10}" \
        test "$(nsx nat-a sysctl -n net.netfilter.nf_conntrack_udp_timeout_stream)" = "${NATLAB_NAT_TIMEOUT:-10}"
    # lan-a's ping refreshes the mapping (gw-a's ESP out through nat-a), so lan-b's ping runs on a
    # fresh one: the checks before this one may take longer than the timeout under UML, and with
    # keepalives and DPD off nothing else would refresh it.
    st_check "nat-expiry: works at first (lan-a -> lan-b, then lan-b -> lan-a)" \
        wait_until 10 st_ping_both_ways
    st_check "nat-expiry: the NAT mapping of UDP/4500 expires when idle" \
        wait_until $(( ${NATLAB_NAT_TIMEOUT:-10} + 8 )) st_not st_grep "sport=4500" nsx nat-a conntrack -L -p udp
    st_check "nat-expiry: then lan-b -> lan-a dies" st_ping_fails lan-b $LAN_A_HOST
    cmd_clear nat-expiry >/dev/null
    st_check "nat-expiry cleared: pings pass, timeouts restored" \
        bash -c '[ "$1" != "$2" ]' _ "$(nsx nat-a sysctl -n net.netfilter.nf_conntrack_udp_timeout_stream)" "${NATLAB_NAT_TIMEOUT:-10}"
    st_check "nat-expiry cleared: pings pass" st_healthy

    st_section "fault pmtu-blackhole"
    cmd_fault pmtu-blackhole >/dev/null
    st_check "pmtu-blackhole: small pings pass" st_ping_ok lan-a $LAN_B_HOST
    st_check "pmtu-blackhole: ping -M do -s 1372 fails" \
        test "$(st_pings lan-a $LAN_B_HOST -c 2 -i 0.2 -M do -s 1372)" = 0
    st_check "pmtu-blackhole: the wan router dropped ICMP frag-needed" \
        test "$(fw_fault_hits wan pmtu-blackhole)" -ge 1
    cmd_clear pmtu-blackhole >/dev/null
    st_check "pmtu-blackhole cleared: ping -M do -s 1372 passes" \
        test "$(st_pings lan-a $LAN_B_HOST -c 2 -i 0.2 -M do -s 1372)" = 2

    st_section "fault ts-mismatch"
    ma=$(st_log_mark gw-a); mb=$(st_log_mark gw-b)
    cmd_fault ts-mismatch >/dev/null
    st_check "ts-mismatch: IKE_SA up on gw-a" wait_until 10 ike_established gw-a
    st_check "ts-mismatch: IKE_SA up on gw-b" ike_established gw-b
    st_check "ts-mismatch: no CHILD_SA on gw-a" st_not child_installed gw-a
    st_check "ts-mismatch: gw-a logs TS_UNACCEPTABLE" st_log_has gw-a "$ma" "TS_UNACCEPTABLE"
    st_check "ts-mismatch: gw-b logs unacceptable traffic selectors" st_log_has gw-b "$mb" "traffic selectors .* unacceptable"
    st_check "ts-mismatch: ping lan-a -> lan-b fails" st_ping_fails lan-a $LAN_B_HOST
    cmd_clear ts-mismatch >/dev/null
    st_check "ts-mismatch cleared: CHILD_SA back, pings pass" st_healthy

    st_section "fault no-nat-exemption"
    cmd_fault no-nat-exemption >/dev/null
    st_check "no-nat-exemption: CHILD_SA still installed" child_installed gw-a
    st_check "no-nat-exemption: ping lan-a -> lan-b fails" st_ping_fails lan-a $LAN_B_HOST
    st_check "no-nat-exemption: the SNAT rule caught the traffic" \
        test "$(fw_fault_hits gw-a no-nat-exemption)" -ge 1
    cmd_clear no-nat-exemption >/dev/null
    st_check "no-nat-exemption cleared: pings pass" st_healthy

    st_section "fault lossy-wan (${NATLAB_LOSS:-30} %)"
    cmd_fault lossy-wan >/dev/null
    local got; got=$(st_pings lan-a $LAN_B_HOST -c 40 -i 0.05)
    st_check "lossy-wan: some but not all of 40 pings pass (got $got)" test "${got:-0}" -gt 2 -a "${got:-0}" -lt 38
    cmd_clear lossy-wan >/dev/null
    st_check "lossy-wan cleared: pings pass" st_healthy

    st_section "fault aggressive-dpd"
    ma=$(st_log_mark gw-a); mb=$(st_log_mark gw-b)
    cmd_fault aggressive-dpd >/dev/null
    st_check "aggressive-dpd: dpd_delay 2s on gw-a" st_grep "dpd_delay = 2s" gwx gw-a cat /etc/swanctl/swanctl.conf
    st_check "aggressive-dpd: lossy-wan is active with it" fault_on lossy-wan
    st_check "aggressive-dpd: DPD requests every few seconds" wait_until 30 st_log_has gw-a "$ma" "sending DPD request"
    st_check "aggressive-dpd: the tunnel flaps (a side gives up after retransmits)" \
        wait_until 60 bash -c 'tail -n +$(( $2 + 1 )) "$1/gw-a/log/charon.log" | grep -q "giving up after" ||
                                tail -n +$(( $3 + 1 )) "$1/gw-b/log/charon.log" | grep -q "giving up after"' _ "$W" "$ma" "$mb"
    cmd_clear aggressive-dpd >/dev/null
    st_check "aggressive-dpd cleared: no fault left" test -z "$(ls "$W/state" | grep '^fault\.' || true)"
    st_check "aggressive-dpd cleared: pings pass" st_healthy
}

# selftest_run [--facts-only] [--ssh-on-host]: --ssh-on-host leaves out the console's ssh checks,
# which the kernel backend runs on the host console (selftest_host_console).
selftest_run() {
    local facts_only=0 a
    for a in "$@"; do
        case $a in
            --facts-only) facts_only=1 ;;
            --ssh-on-host) ST_SSH_ON_HOST=1 ;;
            *) die "selftest: unknown argument '$a'" ;;
        esac
    done
    ST_T0=$(now_ms)
    export NATLAB_NAT_TIMEOUT=${NATLAB_NAT_TIMEOUT:-6}
    echo "natlab selftest: lab $NATLAB_ID, backend $(state_get backend)"
    cmd_clear >/dev/null
    st_check "lab is healthy at start" st_healthy
    selftest_facts
    # --facts-only: no fault (tests/lab/test_selftest_kernel.sh's opt-in quick mode, NATLAB_KERNEL_QUICK=1).
    [ "$facts_only" = 1 ] || selftest_faults
    echo "natlab selftest: $(( ($(now_ms) - ST_T0) / 1000 )) s"
    echo "$ST_PASS passed, $ST_FAIL failed"
    [ "$ST_FAIL" = 0 ]
}

# The kernel backend's console checks, run on the HOST console (whose ssh crosses the tap into the
# UML guest): called by tests/lab/uml/natlab-uml before the guest's `selftest --ssh-on-host`.
selftest_host_console() {
    ST_T0=$(now_ms)
    local NATLAB_TIME_SCALE=${NATLAB_GUEST_TIME_SCALE:-10}   # the far end is the slow guest
    echo "natlab selftest: lab $NATLAB_ID, backend kernel, host console"
    selftest_ssh
    echo "natlab selftest (host console): $(( ($(now_ms) - ST_T0) / 1000 )) s, $ST_PASS passed, $ST_FAIL failed"
    [ "$ST_FAIL" = 0 ]
}
