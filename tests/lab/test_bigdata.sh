#!/bin/bash
# Huge outputs through the parsers (issue 9): real tools' outputs made at test time in network
# namespaces of our own (tests/lab/gen-bigdata: thousands of XFRM policies, an nftables ruleset of
# several MB, thousands of iptables rules, of UDP listeners, of conntrack entries) plus
# swanctl/`ip -s xfrm state` listings built from real fixture blocks (no esp4, no charon here).
#  1. each output through the collect path's parser (bench_bigdata: probe_parse()), counts exact;
#  2. `tunnelscope probe local` run inside the namespaces: the real collect path (commands,
#     8 MiB output limit, netlink dumps, parsers) gives the same counts;
#  3. past the 8 MiB limit (60 000 policies: `ip xfrm policy` prints ~9 MB): the text probe says
#     the output was too large instead of parsing a cut listing; netlink still counts them all.
# Args: tunnelscope binary, source dir.  Root; touches only its own namespaces.
set -u
bin=$1 src=$2
bench=$(dirname "$bin")/tests/bench_bigdata
gen=$src/tests/lab/gen-bigdata
export NATLAB_ID=${NATLAB_ID:-bd$$}
if [ "$(id -u)" != 0 ]; then echo "test_bigdata: needs root"; exit 1; fi
[ -x "$bench" ] || { echo "test_bigdata: $bench not built"; exit 1; }
tmp=$(mktemp -d /tmp/ts-bigdata.XXXXXX)
d=$tmp/d
cleanup() { "$gen" down "$d" >/dev/null 2>&1; rm -rf "$tmp"; }
trap cleanup EXIT INT TERM

pass=0 fail=0
check() {   # check "what" CMD...
    local what=$1; shift
    if "$@" >/dev/null 2>&1; then echo "PASS: $what"; pass=$((pass + 1)); else echo "FAIL: $what"; fail=$((fail + 1)); fi
}
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }   # field NAME LINE

t0=$SECONDS
"$gen" up "$d" || { echo "FAIL: gen-bigdata up"; exit 1; }
source "$d/expected.sh"
ns=$(cat "$d/ns")
echo "test_bigdata: outputs made in $(( SECONDS - t0 )) s: $(cd "$d" && wc -c -- *.txt | tr '\n' ';')"

# 1. each output through the parser
r=$("$bench" xfrm-policy "$d/ip-xfrm-policy.txt"); echo "$r"
check "ip xfrm policy, $POLICIES real policies: parsed, $POLICIES counted" \
    test "$(field status "$r")/$(field policies "$r")" = "ok/$POLICIES"
r=$("$bench" nft "$d/nft-list-ruleset.txt"); echo "$r"
check "nft list ruleset, $NFT_RULES rules + 1 ($(field bytes "$r") bytes): all counted, $NFT_IPSEC NAT-T accepts" \
    test "$(field status "$r")/$(field chains "$r")/$(field rules "$r")/$(field ipsec_accept "$r")" = "ok/1/$((NFT_RULES + 1))/$NFT_IPSEC"
r=$("$bench" iptables "$d/iptables-save.txt"); echo "$r"
check "iptables-save, $IPT_RULES rules: all counted, $IPT_IPSEC NAT-T accepts" \
    test "$(field status "$r")/$(field chains "$r")/$(field rules "$r")/$(field ipsec_accept "$r")" = "ok/3/$IPT_RULES/$IPT_IPSEC"
r=$("$bench" ss "$d/ss-ulnp.txt"); echo "$r"
check "ss -ulnp, $((UDP + 2)) UDP sockets: the one on 500 and the one on 4500 are seen wherever ss lists them" \
    test "$(field status "$r")/$(field port500 "$r")/$(field port4500 "$r")/$(field more "$r")" = "ok/1/1/1"
r=$("$bench" conntrack "$d/conntrack-L-p-udp.txt"); echo "$r"
check "conntrack -L, $CT flows: $CT_IKE to 4500 kept, the rest counted, total = conntrack's own summary" \
    test "$(field status "$r")/$(field ike_kept "$r")/$(field other "$r")/$(field shown "$r")" = "ok/$CT_IKE/$((CT - CT_IKE))/$CT"
cut=$tmp/conntrack-cut.txt
{ head -n $((CT / 2)) "$d/conntrack-L-p-udp.txt"; tail -n 1 "$d/conntrack-L-p-udp.txt"; } >"$cut"
r=$("$bench" conntrack "$cut"); echo "$r"
check "conntrack -L cut to half its lines (summary kept): an error that says so, no count" \
    test "$(field status "$r")" = error
r=$("$bench" xfrm-state "$d/ip-s-xfrm-state.synth.txt"); echo "$r"
check "ip -s xfrm state, $STATES states (fixture block repeated): $STATES counted" \
    test "$(field status "$r")/$(field states "$r")" = "ok/$STATES"
r=$("$bench" swanctl-sas "$d/swanctl-list-sas-raw.synth.txt"); echo "$r"
check "swanctl --list-sas --raw, $IKE_SAS IKE SAs / $CHILDREN CHILD_SAs (fixture blocks repeated): all counted" \
    test "$(field status "$r")/$(field ike_sas "$r")/$(field child_sas "$r")" = "ok/$IKE_SAS/$CHILDREN"
head -c $(( $(wc -c <"$d/swanctl-list-sas-raw.synth.txt") / 2 )) "$d/swanctl-list-sas-raw.synth.txt" >"$tmp/sas-cut.txt"
r=$("$bench" swanctl-sas "$tmp/sas-cut.txt"); echo "$r"
check "swanctl --list-sas --raw cut in the middle: an error, no count" test "$(field status "$r")" = error

# 2. the real collect path inside the namespaces
t1=$SECONDS
ip netns exec "$ns-x" timeout 120 "$bin" probe --no-sudo local >"$tmp/probe-x.out" 2>&1
echo "test_bigdata: probe in $ns-x: exit $?, $(( SECONDS - t1 )) s"
px=$tmp/probe-x.out
check "probe: xfrm policies $POLICIES (netlink)" grep -qx "xfrm states 0 policies $POLICIES" "$px"
check "probe: ip xfrm policy text probe ok" grep -qx "probe ip-xfrm-policy ok" "$px"
check "probe: nft ruleset parsed" grep -qx "probe nft-list-ruleset ok" "$px"
check "probe: $NFT_IPSEC nft NAT-T rules listed" test "$(grep -c '^ipsec-rule nft tsbig/input ' "$px")" = "$NFT_IPSEC"
check "probe: the UDP/500 and UDP/4500 listeners found among $((UDP + 2))" \
    bash -c 'grep -qx "udp-listen 500 1 python3" "$1" && grep -qx "udp-listen 4500 1 python3" "$1"' _ "$px"
check "probe: conntrack parsed, $CT_IKE NAT-T flows listed" \
    bash -c 'grep -qx "probe conntrack-udp ok" "$1" && test "$(grep -c "^conntrack 127.0.0.1:[0-9]*>127.0.0.1:4500 " "$1")" = "$2"' _ "$px" "$CT_IKE"
[ $fail = 0 ] || grep '^probe \|^xfrm states\|^udp-listen' "$px"
ip netns exec "$ns-i" timeout 60 "$bin" probe --no-sudo local >"$tmp/probe-i.out" 2>&1
check "probe: iptables-save parsed, $IPT_IPSEC iptables NAT-T rules listed" \
    bash -c 'grep -qx "probe iptables-save ok" "$1" && test "$(grep -c "^ipsec-rule iptables filter/INPUT " "$1")" = "$2"' _ "$tmp/probe-i.out" "$IPT_IPSEC"

# 3. past the collect path's 8 MiB limit per output
more=60000
awk -v n="$more" -v off="$POLICIES" 'BEGIN { for (i = off; i < off + n; i++) { a = int(i / 256) % 256; b = i % 256
    printf "xfrm policy add src 10.%d.%d.0/24 dst 172.17.%d.%d/32 dir in tmpl src 198.51.100.1 dst 192.0.2.1 proto esp reqid %d mode tunnel\n", a, b, a, b, i + 1 } }' \
    >"$tmp/more.batch"
ip -n "$ns-x" -batch "$tmp/more.batch"
total=$(( POLICIES + more ))
bytes=$(ip -n "$ns-x" xfrm policy | wc -c)
echo "test_bigdata: $total policies, ip xfrm policy prints $bytes bytes"
t1=$SECONDS
ip netns exec "$ns-x" timeout 120 "$bin" probe --no-sudo --no-netlink local >"$tmp/probe-big.out" 2>&1
echo "test_bigdata: probe --no-netlink: exit $?, $(( SECONDS - t1 )) s"
grep '^probe ip-xfrm-policy\|^xfrm states' "$tmp/probe-big.out"
check "over 8 MiB ($bytes bytes): the text probe says the output is too large" \
    grep -q "^probe ip-xfrm-policy .*more than 8 MiB" "$tmp/probe-big.out"
check "over 8 MiB: no count made from a cut listing (policies 0, not a part)" \
    grep -qx "xfrm states 0 policies 0" "$tmp/probe-big.out"
ip netns exec "$ns-x" timeout 120 "$bin" probe --no-sudo local >"$tmp/probe-nl.out" 2>&1
check "over 8 MiB: the netlink dump counts all $total" grep -qx "xfrm states 0 policies $total" "$tmp/probe-nl.out"

echo "test_bigdata: $(( SECONDS - t0 )) s, $pass passed, $fail failed"
[ $fail = 0 ]
