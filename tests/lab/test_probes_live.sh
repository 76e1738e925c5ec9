#!/bin/bash
# probes/ live against both lab gateways (issue 4), through `tunnelscope probe`
# over the lab's real ssh: every probe gives its fact, and the facts equal the
# lab's known truth (tests/lab/natlab: gw-a 192.168.77.2 behind nat-a
# 203.0.113.10, gw-b 198.51.100.20, 10.10.0.0/16 <-> 10.20.0.0/16, ESP-in-UDP,
# IKE aes256gcm16-prfsha256-modp2048, dpd_delay 30s, rekey 4h / 1h; libipsec
# backend: TUN ipsec0 MTU 1400, routes in table 220).
# One lab for the whole script (own NATLAB_ID), always taken down.
set -u
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
src=${2:-$(cd "$(dirname "$0")/../.." && pwd)}
natlab=$src/tests/lab/natlab
export NATLAB_ID=pb$(( $$ % 100000 ))
export TUNNELSCOPE=$bin
unset SSH_AUTH_SOCK
pass=0 failn=0
check() { if eval "$2"; then echo "ok: $1"; pass=$((pass + 1)); else echo "FAIL: $1"; failn=$((failn + 1)); fi; }
tmp=$(mktemp -d)
cleanup() { "$natlab" down >/dev/null 2>&1; rm -rf "$tmp"; }
trap cleanup EXIT
if ! "$natlab" up > "$tmp/up.log" 2>&1; then
    cat "$tmp/up.log"; echo "FAIL: natlab up"; echo "0 passed, 1 failed"; exit 1
fi
loga=$("$natlab" paths | sed -n 's/^gw-a_charon_log=//p')
logb=$("$natlab" paths | sed -n 's/^gw-b_charon_log=//p')
# a little traffic first, so that counters move
"$natlab" gw lan-a ping -c 3 -i 0.2 -W 1 10.20.5.10 >/dev/null 2>&1

ts() { timeout 200 "$natlab" exec "$bin" "$@"; }
ts probe --raw --route-to 10.20.5.10 --route-from 10.10.0.1 --log-file "$loga" --ping --df-sweep gw-a \
    > "$tmp/a" 2> "$tmp/a.err"; rca=$?
ts probe --raw --route-to 10.10.5.10 --route-from 10.20.0.1 --log-file "$logb" gw-b \
    > "$tmp/b" 2> "$tmp/b.err"; rcb=$?
has() { grep -qE -- "$2" "$tmp/$1"; }
cat "$tmp/a.err" "$tmp/b.err" >&2

for g in a b; do
    check "gw-$g: the peer was reached" '[ $rc'$g' != 3 ]'
    for p in swanctl-list-sas-raw swanctl-list-conns-raw ip-s-xfrm-state ip-xfrm-policy xfrm_stat \
             ss-ulnp nft-list-ruleset iptables-save sysctl-udp-timeouts conntrack-udp ip-o-link \
             daemon-log ip-route-get; do
        check "gw-$g: probe $p gives its fact" "has $g '^probe $p ok'"
    done
    check "gw-$g: strongSwan found" "has $g '^daemon strongswan$'"
    check "gw-$g: charon on UDP/500 and UDP/4500" "has $g '^udp-listen 500 [1-9][0-9]* charon' && has $g '^udp-listen 4500 [1-9][0-9]* charon'"
    check "gw-$g: IKE proposal as configured" "has $g '^ike site state ESTABLISHED version 2 .* proposal AES_GCM_16-256/PRF_HMAC_SHA2_256/MODP_2048 '"
    check "gw-$g: connection timers as configured" "has $g '^conn site .* dpd-delay 30 rekey-time 14400 '"
    check "gw-$g: child rekey time as configured" "has $g '^conn-child site/net .* rekey-time 3600$'"
    check "gw-$g: ESP in UDP" "has $g '^child site/net state INSTALLED mode TUNNEL encap yes '"
    check "gw-$g: ipsec0 MTU 1400" "has $g '^link ipsec0 mtu 1400 up'"
    check "gw-$g: the protected route goes through ipsec0, table 220" "has $g '^route .* dev ipsec0 .* table 220$'"
    check "gw-$g: no kernel SA with libipsec" "has $g '^xfrm states 0 policies 0$'"
    check "gw-$g: conntrack UDP timeouts read" "has $g '^ct-timeouts udp [0-9]+ stream [0-9]+$'"
    check "gw-$g: commands ran with sudo and timeout" "has $g '^probe-line swanctl-list-sas-raw exit=0 sudo -n timeout '"
done
check "gw-a: 192.168.77.2 -> 198.51.100.20, behind NAT, initiator" \
    "has a '^ike site .* local 192.168.77.2:4500 remote 198.51.100.20:4500 initiator yes nat-local yes '"
check "gw-b: sees gw-a through the NAT, not behind NAT itself" \
    "has b '^ike site .* local 198.51.100.20:4500 remote 203.0.113.10:4500 initiator no nat-local no nat-remote yes '"
check "gw-a: selectors 10.10.0.0/16 -> 10.20.0.0/16" "has a 'local-ts 10.10.0.0/16 remote-ts 10.20.0.0/16$'"
check "gw-b: selectors 10.20.0.0/16 -> 10.10.0.0/16" "has b 'local-ts 10.20.0.0/16 remote-ts 10.10.0.0/16$'"
check "gw-a: counters moved with the pings" "has a '^child-traffic site/net bytes-in [1-9][0-9]* packets-in [1-9]'"
spi_a_out=$(sed -n 's/^child site\/net .* spi-out \([0-9a-f]*\) .*/\1/p' "$tmp/a" | head -1)
spi_b_in=$(sed -n 's/^child site\/net .* spi-in \([0-9a-f]*\) .*/\1/p' "$tmp/b" | head -1)
check "gw-a's outbound SPI is gw-b's inbound SPI ($spi_a_out)" '[ -n "$spi_a_out" ] && [ "$spi_a_out" = "$spi_b_in" ]'
check "gw-a: NAT detection in the daemon log" "has a '^log nat-local [1-9]'"
check "gw-b: remote NAT in the daemon log" "has b '^log nat-remote [1-9]'"
check "gw-a: ping through the tunnel from 10.10.0.1" "has a '^ping 10.20.5.10 from 10.10.0.1 transmitted 3 received 3 '"
check "gw-a: DF sweep finds 1372 (+28 = ipsec0's 1400) with the local error" \
    "has a '^df-sweep best-payload 1372 best-packet 1400 local-mtu 1400 '"
cat "$tmp/a"
echo "$pass passed, $failn failed"
[ "$failn" = 0 ]
