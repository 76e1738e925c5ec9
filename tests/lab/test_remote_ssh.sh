#!/bin/bash
# remote/ against the lab's real sshd daemons (issue 3), through `tunnelscope exec`:
# both gateways at once, a streamed capture on gw-a while gw-b works, host keys (unknown,
# accepted, changed), a wrong user key, time limits, sudo refused, parallelism, a dropped
# connection, and no tcpdump left on a gateway after the console is SIGKILLed.
# One lab for the whole script (own NATLAB_ID), always taken down.
set -u
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
src=${2:-$(cd "$(dirname "$0")/../.." && pwd)}
natlab=$src/tests/lab/natlab
export NATLAB_ID=rm$(( $$ % 100000 ))
export TUNNELSCOPE=$bin
unset SSH_AUTH_SOCK
pass=0 failn=0
check() { if eval "$2"; then echo "ok: $1"; pass=$((pass + 1)); else echo "FAIL: $1"; failn=$((failn + 1)); fi; }
tmp=$(mktemp -d)
cleanup() {
    # processes of ours still running (the SIGKILL test's leftovers, if any)
    [ -n "${bgpid:-}" ] && kill "$bgpid" 2>/dev/null
    "$natlab" down >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }
# ts ARGS...: tunnelscope in the lab's console namespace (ssh config, known_hosts, HOME set)
ts() { "$natlab" exec "$bin" "$@"; }
# pids of processes named $2 inside node $1's network namespace
ns_procs() { local p; for p in $(ip netns pids "$NATLAB_ID-$1" 2>/dev/null); do
    [ "$(cat /proc/"$p"/comm 2>/dev/null)" = "$2" ] && \
        ! grep -q '^State:.*[ZX]' /proc/"$p"/status 2>/dev/null && echo "$p"; done; }

# pids of processes whose command line is exactly $2 inside node $1's network namespace
ns_cmd() { local p; for p in $(ip netns pids "$NATLAB_ID-$1" 2>/dev/null); do
    [ "$( { tr '\0' ' ' < /proc/"$p"/cmdline; } 2>/dev/null)" = "$2 " ] && echo "$p"; done; }

if ! "$natlab" up > "$tmp/up.log" 2>&1; then
    cat "$tmp/up.log"
    echo "FAIL: natlab up"
    echo "0 passed, 1 failed"
    exit 1
fi
cfg=$("$natlab" paths | sed -n 's/^ssh_config=//p')
kh=$("$natlab" paths | sed -n 's/^known_hosts=//p')
work=$("$natlab" paths | sed -n 's/^work=//p')

# --- both gateways at once, a command on each
out=$(ts exec gw-a gw-b -- 'hostname; id -un' 2>"$tmp/err"); rc=$?
check "a command on both gateways exits 0" '[ $rc = 0 ]'
check "gw-a answered as itself" 'grep -qx "gw-a| gw-a" <<<"$out"'
check "gw-b answered as itself" 'grep -qx "gw-b| gw-b" <<<"$out"'

# --- parallelism: the same command on two peers runs at the same time on both, not one after
# the other.  The gateways share this machine's clock, so compare when each one started and
# ended its 5 s command (wall-clock totals depend too much on the load: sshd starting root's
# shell is slow here, the same for one peer or two).
# shellcheck disable=SC2016
t0=$(now); ts exec gw-a -- 'sleep 5' >/dev/null 2>&1; t1=$(now)
out=$(ts exec gw-a gw-b -- 'date +%s.%N; sleep 5; date +%s.%N' 2>&1); t2=$(now)
sa=$(grep '^gw-a|' <<<"$out" | sed -n '1s/.*| //p'); ea=$(grep '^gw-a|' <<<"$out" | sed -n '2s/.*| //p')
sb=$(grep '^gw-b|' <<<"$out" | sed -n '1s/.*| //p'); eb=$(grep '^gw-b|' <<<"$out" | sed -n '2s/.*| //p')
echo "   one peer $(elapsed "$t0" "$t1")s, two peers $(elapsed "$t1" "$t2")s;" \
     "gw-a ran $sa..$ea, gw-b ran $sb..$eb"
overlap() { awk -v sa="$sa" -v ea="$ea" -v sb="$sb" -v eb="$eb" \
    'BEGIN { s = sa > sb ? sa : sb; e = ea < eb ? ea : eb; exit !(e - s > 3) }'; }
check "the two commands ran at the same time (overlap over 3 of their 5 s)" \
      '[ -n "$sa" ] && [ -n "$sb" ] && [ -n "$ea" ] && [ -n "$eb" ] && overlap'

# --- a streamed capture from gw-a while commands run on gw-b (one loop, one process)
"$natlab" gw lan-a ping -q -c 60 -i 0.25 10.20.5.10 >/dev/null 2>&1 &
pingpid=$!
mkdir -p "$tmp/cap"
# shellcheck disable=SC2016
out=$(ts exec --save "$tmp/cap" --timeout 15 gw-a gw-b -- \
    'case $(hostname) in
       gw-a) timeout 5 tcpdump --immediate-mode -U -i any -w - udp port 4500 ;;
       gw-b) for i in 1 2 3; do echo tick $i >&2; sleep 1; done ;;
     esac' 2>&1); rc=$?
kill "$pingpid" 2>/dev/null; wait "$pingpid" 2>/dev/null
magic=$(head -c 4 "$tmp/cap/gw-a.out" 2>/dev/null | od -An -tx1 | tr -d ' \n')
size=$(stat -c %s "$tmp/cap/gw-a.out" 2>/dev/null || echo 0)
echo "   gw-a capture: $size bytes, magic $magic"
check "the capture from gw-a starts with the pcap magic" '[ "$magic" = d4c3b2a1 ]'
check "the capture holds packets, not only the header" '[ "$size" -gt 100 ]'
check "gw-b kept working meanwhile (3 ticks)" '[ "$(grep -c "^gw-b|! tick" <<<"$out")" = 3 ]' || echo "$out"
check "the capture ended by its own timeout (124) is reported" 'grep -q "gw-a: exit status 124" <<<"$out"'

# --- ProxyJump (libssh 0.10 runs it as a ProxyCommand): gw-b reached through gw-a
{ cat "$cfg"; printf 'Host gw-b-via-a\n    HostName 10.99.0.3\n    User root\n    IdentityFile %s\n    ProxyCommand ssh -F %s -W [%%h]:%%p gw-a\n' \
    "$(dirname "$kh")/id_ed25519" "$cfg"; } > "$tmp/config_jump"
out=$(ts exec -F "$tmp/config_jump" gw-b-via-a -- hostname 2>&1); rc=$?
check "a peer behind a ProxyCommand answers" '[ $rc = 0 ] && grep -qx "gw-b-via-a| gw-b" <<<"$out"' || echo "$out"

# --- unknown host key: refused, fingerprint printed, accepted only when asked
: > "$tmp/kh_empty"
fp=$(ssh-keygen -lf "$work/gw-a/etc/ssh_host_ed25519_key.pub" | awk '{print $2}')
err=$(ts exec --known-hosts "$tmp/kh_empty" gw-a -- true 2>&1 >/dev/null); rc=$?
check "unknown host key exits 3" '[ $rc = 3 ]'
check "unknown host key prints the SHA256 fingerprint" 'grep -qF "$fp" <<<"$err"'
check "unknown host key says how to accept it" 'grep -q -- "--accept-new-hostkey" <<<"$err"'
check "nothing was written without the flag" '[ ! -s "$tmp/kh_empty" ]'
ts exec --known-hosts "$tmp/kh_empty" --accept-new-hostkey gw-a -- true >/dev/null 2>&1; rc=$?
check "--accept-new-hostkey connects" '[ $rc = 0 ]'
check "--accept-new-hostkey wrote the key" '[ -s "$tmp/kh_empty" ]'
ts exec --known-hosts "$tmp/kh_empty" gw-a -- true >/dev/null 2>&1; rc=$?
check "the accepted key is known afterwards" '[ $rc = 0 ]'

# --- changed host key: refused loudly, no override
ssh-keygen -q -t ed25519 -N '' -f "$tmp/otherkey"
printf 'gw-a,10.99.0.2 %s\n' "$(cut -d' ' -f1,2 "$tmp/otherkey.pub")" > "$tmp/kh_changed"
err=$(ts exec --known-hosts "$tmp/kh_changed" gw-a -- true 2>&1 >/dev/null); rc=$?
check "changed host key exits 3" '[ $rc = 3 ]'
check "changed host key is said loudly" 'grep -q "HOST KEY CHANGED" <<<"$err" && grep -qF "$fp" <<<"$err"'
ts exec --known-hosts "$tmp/kh_changed" --accept-new-hostkey gw-a -- true >/dev/null 2>&1; rc=$?
check "--accept-new-hostkey does not override a changed key" '[ $rc = 3 ]'

# --- wrong user key.  libssh 0.10 ignores IdentitiesOnly and also tries ~/.ssh/id_*, so the
# console's own key would rescue the login: use a HOME whose ~/.ssh has only the wrong key.
mkdir -p "$tmp/wronghome/.ssh"
ssh-keygen -q -t ed25519 -N '' -f "$tmp/wronghome/.ssh/id_ed25519"
sed "s|IdentityFile .*|IdentityFile $tmp/wronghome/.ssh/id_ed25519|" "$cfg" > "$tmp/config_wrongkey"
err=$("$natlab" exec env HOME="$tmp/wronghome" "$bin" exec -F "$tmp/config_wrongkey" --known-hosts "$kh" \
      gw-a -- true 2>&1 >/dev/null); rc=$?
echo "   $err"
check "a key the gateway does not accept exits 3" '[ $rc = 3 ]'
check "auth failure lists what the server offers" 'grep -q "authentication failed" <<<"$err" && grep -q "offers publickey" <<<"$err"'

# --- time limit
t0=$(now); err=$(ts exec --timeout 2 gw-a -- sleep 30 2>&1 >/dev/null); rc=$?; t1=$(now)
check "a command past its time limit exits 1" '[ $rc = 1 ]'
check "the time limit is reported" 'grep -q "time limit of 2 s" <<<"$err"'
check "the time limit ended it (well before the command's 30 s)" 'lt "$(elapsed "$t0" "$t1")" 15'

# --- sudo refused on gw-b (a sudoers without root in gw-b's own mount namespace)
"$natlab" gw gw-b sh -c 'printf "Defaults !syslog\n" > /run/ts-sudoers && chmod 440 /run/ts-sudoers &&
    mount --bind /run/ts-sudoers /etc/sudoers'
out=$(ts exec --sudo gw-a gw-b -- id -u 2>&1); rc=$?
"$natlab" gw gw-b umount /etc/sudoers
check "sudo on gw-a works" 'grep -qx "gw-a| 0" <<<"$out"'
check "sudo refused on gw-b exits 3" '[ $rc = 3 ]'
check "sudo refusal is named as such" 'grep -q "sudo refused on gw-b" <<<"$out"'

# --- a dropped connection: gw-b's session dies, gw-a goes on
ts exec gw-a gw-b -- 'sleep 3.25; echo finished' > "$tmp/drop.out" 2>&1 &
bgpid=$!
for _ in $(seq 80); do [ -n "$(ns_cmd gw-b 'sleep 3.25')" ] && break; sleep 0.1; done
for p in $(ns_procs gw-b sshd); do
    grep -q listener /proc/"$p"/cmdline 2>/dev/null || kill "$p" 2>/dev/null
done
wait "$bgpid"; rc=$?; bgpid=
check "a dropped peer makes exec exit 3" '[ $rc = 3 ]'
check "the drop is reported as a lost connection" 'grep -q "gw-b.*connection lost" "$tmp/drop.out"'
check "the other peer finished its command" 'grep -qx "gw-a| finished" "$tmp/drop.out"'

# --- a link that dies silently (packets dropped, no RST): TCP keepalives notice it
# shellcheck disable=SC2016
ts exec --timeout 90 gw-a gw-b -- 'case $(hostname) in gw-a) sleep 12; echo finished ;; gw-b) sleep 80 ;; esac' \
    > "$tmp/silent.out" 2>&1 &
bgpid=$!
for _ in $(seq 80); do [ -n "$(ns_cmd gw-b 'sleep 80')" ] && break; sleep 0.1; done
"$natlab" gw gw-b nft -f - <<'NFT'
table inet tsblk {
  chain in { type filter hook input priority -10; tcp dport 22 drop; }
  chain out { type filter hook output priority -10; tcp sport 22 drop; }
}
NFT
t0=$(now)
wait "$bgpid"; rc=$?; bgpid=
t1=$(now)
"$natlab" gw gw-b nft delete table inet tsblk
echo "   silent drop noticed after $(elapsed "$t0" "$t1") s"
check "a silently dead link makes exec exit 3" '[ $rc = 3 ]'
check "the dead link is reported as a lost connection" 'grep -q "gw-b: connection lost" "$tmp/silent.out"'
check "the dead link is noticed within 45 s" 'lt "$(elapsed "$t0" "$t1")" 45'
check "the other peer finished meanwhile" 'grep -qx "gw-a| finished" "$tmp/silent.out"'

# --- SIGKILL of the console during a stream: no tcpdump left on the gateway
ts exec --save "$tmp/cap" --timeout 6 gw-a -- tcpdump -U -i any -w - udp port 4500 >/dev/null 2>&1 &
bgpid=$!
for _ in $(seq 50); do [ -n "$(ns_procs gw-a tcpdump)" ] && break; sleep 0.1; done
check "the capture runs on gw-a" '[ -n "$(ns_procs gw-a tcpdump)" ]'
victim=$(ns_procs console tunnelscope)
kill -KILL $victim 2>/dev/null
wait "$bgpid" 2>/dev/null; bgpid=
t0=$(now); gone=""
for _ in $(seq 100); do   # the remote timeout (6 s) + timeout's -k 2 s + margin
    [ -z "$(ns_procs gw-a tcpdump)" ] && { gone=$(elapsed "$t0" "$(now)"); break; }
    sleep 0.1
done
echo "   tcpdump gone ${gone:-never} s after SIGKILL"
check "no tcpdump left on gw-a after the console was SIGKILLed" '[ -n "$gone" ] && [ -z "$(ns_procs gw-a tcpdump)" ]'

echo "$pass passed, $failn failed"
[ "$failn" = 0 ]
