#!/usr/bin/env bash
# Running tlswrap as people do: a one-off tunnel from flags, a daemon with a pid file and a log
# file, log reopening, and client-side options (sni, checkIP, CApath, verifyPeer, TLS versions).
. "$(dirname "$0")/lib.sh"
PY="python3 $TESTS_SRCDIR/integration/tls_client.py"
make_pki
E=$(free_port); S=$(free_port); C=$(free_port)
echo_server "$E"
cat >"$T/srv.conf" <<CONF
foreground = yes
debug = debug
[srv]
accept = 127.0.0.1:$S
connect = 127.0.0.1:$E
cert = $PKI/server.crt
key = $PKI/server.key
CONF
start_tlswrap "$T/srv.conf" || { not_ok "server starts"; finish; }
SLOG=$T/srv.conf.log

# -- one-off tunnel from the command line ------------------------------------------------------------
bg "$TLSWRAP" --client --accept "127.0.0.1:$C" --connect "localhost:$S" --CAfile "$PKI/ca.crt" --sni localhost
FLAGS_OUT=$T/bg$((${#PIDS[@]} - 1)).out
wait_log "$FLAGS_OUT" 'started, pid'
check "flags: one-off client tunnel carries data" $PY line "$C"
check "flags: logs to stderr in the foreground" wait_log "$FLAGS_OUT" '\[tunnel\] #1 .*established TLSv1\.3'
kill "${PIDS[-1]}"

# -- client options --------------------------------------------------------------------------------
mkdir -p "$T/capath"
cp "$PKI/ca.crt" "$T/capath/"
C2=$(free_port); C3=$(free_port); C4=$(free_port); C5=$(free_port); C6=$(free_port); C7=$(free_port)
cat >"$T/cli.conf" <<CONF
foreground = yes
debug = info
[capath]
client = yes
accept = 127.0.0.1:$C2
connect = localhost:$S
CApath = $T/capath
[checkip]
client = yes
accept = 127.0.0.1:$C3
connect = localhost:$S
CAfile = $PKI/ca.crt
checkIP = 127.0.0.1
[checkip-wrong]
client = yes
accept = 127.0.0.1:$C4
connect = localhost:$S
CAfile = $PKI/ca.crt
checkIP = 10.1.2.3
[verifypeer]
client = yes
accept = 127.0.0.1:$C5
connect = localhost:$S
verifyChain = no
verifyPeer = yes
CAfile = $PKI/server.crt
[verifypeer-miss]
client = yes
accept = 127.0.0.1:$C6
connect = localhost:$S
verifyChain = no
verifyPeer = yes
CAfile = $PKI/client.crt
[tls12]
client = yes
accept = 127.0.0.1:$C7
connect = localhost:$S
CAfile = $PKI/ca.crt
sslVersion = TLSv1.2
CONF
start_tlswrap "$T/cli.conf" || { not_ok "client config starts"; finish; }
CLOG=$T/cli.conf.log
check "CApath: verifies against a directory of CA certificates" $PY line "$C2"
check "checkIP: matching IP SAN accepted" $PY line "$C3"
check "checkIP: other IP refused" bash -c "! $PY line $C4"
check "checkIP: refusal names the mismatch" wait_log "$CLOG" '\[checkip-wrong\].*closed \(TLS handshake failed: certificate verification failed: .*CN'
check "verifyPeer: server certificate listed in CAfile accepted" $PY line "$C5"
check "verifyPeer: a second connection (resumed) is accepted too" $PY line "$C5"
check "verifyPeer: unlisted server certificate refused" bash -c "! $PY line $C6"
check "verifyPeer: refusal names the reason" wait_log "$CLOG" '\[verifypeer-miss\].*closed \(peer refused: verifyPeer: certificate is not in CAfile/CApath'
check "sslVersion = TLSv1.2 negotiates TLS 1.2" $PY line "$C7"
check "TLS 1.2 logged with an ECDHE suite" wait_log "$CLOG" '\[tls12\].*established TLSv1\.2 TLS-ECDHE-ECDSA-WITH-'

# -- SNI: default from the connect host, set explicitly, or disabled ------------------------------------
N=$(free_port); C8=$(free_port); C9=$(free_port); C10=$(free_port); C11=$(free_port)
bg $PY sniserver "$N" "$PKI/server.crt" "$PKI/server.key" "$T/sni.seen"
wait_port "$N"
: >"$T/sni.seen"
cat >"$T/sni.conf" <<CONF
foreground = yes
client = yes
CAfile = $PKI/ca.crt
[sni-default]
accept = 127.0.0.1:$C8
connect = localhost:$N
[sni-set]
accept = 127.0.0.1:$C9
connect = localhost:$N
sni = custom.example
checkHost = localhost
[sni-off]
accept = 127.0.0.1:$C10
connect = localhost:$N
sni =
[sni-names-the-peer]
accept = 127.0.0.1:$C11
connect = 127.0.0.1:$N
sni = other.example
CONF
start_tlswrap "$T/sni.conf" || not_ok "sni config starts"
$PY line "$C8" >/dev/null && $PY line "$C9" >/dev/null && $PY line "$C10" >/dev/null
check "sni: defaults to the connect host, can be set, empty disables it" \
	test "$(tr '\n' ' ' <"$T/sni.seen")" = "localhost custom.example <none> "
check "sni: without checkHost the certificate must match the sni name" bash -c "! $PY line $C11"
check "sni: name mismatch logged" wait_log "$T/sni.conf.log" '\[sni-names-the-peer\].*certificate verification failed: .*CN' 

# -- daemon mode: pid file, log file, SIGUSR1 reopen, SIGTERM removes the pid file ------------------------
D=$(free_port)
cat >"$T/daemon.conf" <<CONF
pid = $T/tlswrap.pid
output = $T/daemon.log
[d]
accept = 127.0.0.1:$D
connect = 127.0.0.1:$E
cert = $PKI/server.crt
key = $PKI/server.key
CONF
"$TLSWRAP" "$T/daemon.conf" >"$T/daemon.stdout" 2>&1
rc=$?
check "daemon: the starting process exits 0 at once" test "$rc" -eq 0
check "daemon: pid file written" wait_log "$T/tlswrap.pid" '^[0-9]+$'
DPID=$(cat "$T/tlswrap.pid" 2>/dev/null || echo 0)
PIDS+=("$DPID")
check "daemon: process runs detached (another session, no terminal)" \
	test "$(ps -o sid= -p "$DPID" | tr -d ' ')" != "$(ps -o sid= -p $$ | tr -d ' ')" -a "$(ps -o tty= -p "$DPID" | tr -d ' ')" = "?"
check "daemon: serves" $PY tls "$D" "$PKI/ca.crt"
check "daemon: logs to the output file" wait_log "$T/daemon.log" '\[d\] #1 .*established'
mv "$T/daemon.log" "$T/daemon.log.1"
kill -USR1 "$DPID"
check "SIGUSR1: log file reopened" wait_log "$T/daemon.log" 'SIGUSR1: log reopened'
kill -TERM "$DPID"
gone() { local i; for i in $(seq 100); do kill -0 "$DPID" 2>/dev/null || return 0; sleep 0.05; done; return 1; }
check "SIGTERM: daemon exits" gone
check "SIGTERM: pid file removed" test ! -e "$T/tlswrap.pid"
check "nothing printed on the terminal by the daemon" test ! -s "$T/daemon.stdout"
finish
