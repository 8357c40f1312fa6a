#!/usr/bin/env bash
# Many concurrent TLS connections in one process, memory per idle connection, and running out of
# file descriptors (EMFILE) without losing the process.
#   SCALE_N  connections to hold at once (default 10,000, or as many as the hard fd limit allows:
#            tlswrap needs 2 fds per relayed connection, and not even root may raise the hard limit
#            in some containers; 20,000 here gives 9,900)
. "$(dirname "$0")/lib.sh"
hard=$(ulimit -Hn)
[ "$hard" = unlimited ] && hard=1048576
fit=$(( (hard - 200) / 2 / 100 * 100 ))
N=${SCALE_N:-$(( fit < 10000 ? fit : 10000 ))}
[ "$N" -lt 10000 ] && [ -z "${SCALE_N:-}" ] && echo "# hard fd limit $hard: holding $N connections instead of 10,000"
make_pki
E=$(free_port); S=$(free_port)
bg python3 "$TESTS_SRCDIR/integration/echo_async.py" "$E"
wait_port "$E"
cat >"$T/scale.conf" <<CONF
foreground = yes
[srv]
accept = 127.0.0.1:$S
connect = 127.0.0.1:$E
cert = $PKI/server.crt
key = $PKI/server.key
CONF
start_tlswrap "$T/scale.conf" || { not_ok "tlswrap starts"; finish; }
rss() { awk '/^VmRSS/ {print $2}' /proc/"$TLSWRAP_PID"/status; }
fds() { ls /proc/"$TLSWRAP_PID"/fd | wc -l; }
rss0=$(rss); fd0=$(fds)
bg python3 "$TESTS_SRCDIR/integration/many_conns.py" "$S" "$PKI/ca.crt" "$N" "$T/ready" "$T/release"
client=$LAST_PID
check "$N TLS connections established and echoing at once" wait_log "$T/ready" "^open $N\$" 600
rss1=$(rss); fd1=$(fds)
per=$(( (rss1 - rss0) / N ))
echo "# $N connections: RSS $rss0 -> $rss1 KiB ($per KiB per connection), fds $fd0 -> $fd1"
check "two fds per relayed connection" test "$fd1" -eq $((fd0 + 2 * N))
if [ -z "${TLSWRAP_SANITIZED:-}" ]; then
	check "idle established connection costs at most 45 KiB resident ($per KiB)" test "$per" -le 45
fi
touch "$T/release"
check "all connections still echo, then close" wait "$client"
back() { local i; for i in $(seq 100); do [ "$(fds)" -le "$fd0" ] && return 0; sleep 0.1; done; echo "# fds $(fds) vs $fd0" >&2; return 1; }
check "every fd given back after the clients closed" back
check "every connection logged its close" test "$(grep -c 'closed (' "$T/scale.conf.log")" -eq "$N"

# -- EMFILE: a second instance with a tiny descriptor limit ------------------------------------------------
S2=$(free_port)
sed "s/:$S\$/:$S2/" "$T/scale.conf" >"$T/emfile.conf"
prlimit --nofile=32:32 "$TLSWRAP" -f "$T/emfile.conf" >"$T/emfile.conf.log" 2>&1 &
EPID=$!; PIDS+=("$EPID")
wait_log "$T/emfile.conf.log" 'started, pid'
python3 - "$S2" "$T/emfile.conf.log" <<'PY' >"$T/emfile.out" 2>&1
import socket, sys, time
port, log = int(sys.argv[1]), sys.argv[2]
held = []
for i in range(40):  # more than the limit allows
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    held.append(s)
deadline = time.time() + 10
while "pausing accepts" not in open(log).read():
    if time.time() > deadline:
        sys.exit("no EMFILE back-off logged")
    time.sleep(0.05)
for s in held:
    s.close()
print("held", len(held))
PY
check "EMFILE: logged and backed off" grep -q 'accept: Too many open files.*pausing accepts' "$T/emfile.conf.log"
check "EMFILE: still serving once descriptors are free" python3 "$TESTS_SRCDIR/integration/tls_client.py" tls "$S2" "$PKI/ca.crt"
check "EMFILE: process alive" kill -0 "$EPID"
finish
