#!/usr/bin/env bash
# The core tunnel: client and server services chained, verification refusals, failures of peers
# and backends, timeouts, and that none of it costs the process or a file descriptor.
. "$(dirname "$0")/lib.sh"
PY="python3 $TESTS_SRCDIR/integration/tls_client.py"
make_pki
E=$(free_port); DEAD=$(free_port)
echo_server "$E"
for v in S1 S2 S3 S4 S5 S6 S7 C1 C2 C3 C4 C5 C6 C7 C8 C9 SILENT; do eval "$v=$(free_port)"; done
# a backend that never answers and never closes: after the client's half-close only TIMEOUTclose ends it
bg python3 -c "
import socket, time
srv = socket.create_server(('127.0.0.1', $SILENT))
held = []
while True:
    held.append(srv.accept()[0])
"
wait_port "$SILENT"
conf=$T/tunnel.conf
cat >"$conf" <<CONF
foreground = yes
debug = info
; defaults for every service below
TIMEOUTconnect = 2

[srv]
accept = 127.0.0.1:$S1
connect = 127.0.0.1:$E
cert = $PKI/server.crt
key = $PKI/server.key
[cli]
client = yes
accept = 127.0.0.1:$C1
connect = localhost:$S1
CAfile = $PKI/ca.crt
[cli-ip]
client = yes
accept = 127.0.0.1:$C8
connect = 127.0.0.1:$S1
CAfile = $PKI/ca.crt

[srv-other-ca]
accept = 127.0.0.1:$S2
connect = 127.0.0.1:$E
cert = $PKI/other.crt
key = $PKI/other.key
[cli-untrusted]
client = yes
accept = 127.0.0.1:$C2
connect = localhost:$S2
CAfile = $PKI/ca.crt
[cli-noverify]
client = yes
accept = 127.0.0.1:$C5
connect = localhost:$S2
verifyChain = no

[srv-wrong-name]
accept = 127.0.0.1:$S3
connect = 127.0.0.1:$E
cert = $PKI/wrong.crt
key = $PKI/wrong.key
[cli-wrongname]
client = yes
accept = 127.0.0.1:$C3
connect = localhost:$S3
CAfile = $PKI/ca.crt
[cli-checkhost]
client = yes
accept = 127.0.0.1:$C4
connect = localhost:$S3
CAfile = $PKI/ca.crt
checkHost = wrong.example

[cli-system-store]
client = yes
accept = 127.0.0.1:$C6
connect = localhost:$S1

[srv-backend-down]
accept = 127.0.0.1:$S4
connect = 127.0.0.1:$DEAD
cert = $PKI/server.crt
[srv-failover]
accept = 127.0.0.1:$S5
connect = 127.0.0.1:$DEAD
connect = 127.0.0.1:$E
cert = $PKI/server.crt
key = $PKI/server.key

[srv-timeouts]
accept = 127.0.0.1:$S6
connect = 127.0.0.1:$E
cert = $PKI/server.crt
key = $PKI/server.key
TIMEOUTbusy = 1
TIMEOUTidle = 2
[cli-idle]
client = yes
accept = 127.0.0.1:$C7
connect = localhost:$S6
CAfile = $PKI/ca.crt
TIMEOUTidle = 1

[srv-silent]
accept = 127.0.0.1:$S7
connect = 127.0.0.1:$SILENT
cert = $PKI/server.crt
key = $PKI/server.key
TIMEOUTclose = 1
[cli-silent]
client = yes
accept = 127.0.0.1:$C9
connect = localhost:$S7
CAfile = $PKI/ca.crt
TIMEOUTclose = 1
CONF
# server.crt also holds no key: srv-backend-down needs one
cat "$PKI/server.crt" "$PKI/server.key" >"$PKI/server-with-key.pem"
chmod 600 "$PKI/server-with-key.pem"
sed -i "s|^cert = $PKI/server.crt\$|&|" "$conf"
sed -i "/^\[srv-backend-down\]/,/^\[/ s|^cert = .*|cert = $PKI/server-with-key.pem|" "$conf"

check "--check accepts the configuration" "$TLSWRAP" --check "$conf"
start_tlswrap "$conf" || { not_ok "tlswrap starts"; finish; }
LOG=$conf.log
fds() { ls /proc/"$TLSWRAP_PID"/fd | wc -l; }
fd_base=$(fds)

# -- the chain, both ways, byte-identical ------------------------------------------------------------
check "100 MB through client -> server chain and back, byte-identical" $PY bulk "$C1" 100
# new connections get a TLS 1.3 ticket from the server service while data is already flowing
for i in 1 2 3 4 5; do
	check "10 MB chain, connection $i (resumed after the first)" $PY bulk "$C1" 10
done
check "chain logged the negotiated version, suite and verified peer" \
	grep -Eq '\[cli\] #[0-9]+ .*established TLSv1\.3 TLS1-3-[A-Z0-9-]+ to 127\.0\.0\.1:'"$S1"' peer="CN=localhost"' "$LOG"
check "close line reports bytes each way" grep -Eq '\[cli\] #[0-9]+ .*closed \(done\); to_tls=104857600 to_plain=104857600 bytes' "$LOG"
check "IP address connect verified against the IP SAN" $PY line "$C8"
check "python ssl into server mode" $PY tls "$S1" "$PKI/ca.crt"

# -- verification ---------------------------------------------------------------------------------
check "untrusted CA: nothing comes through" bash -c "! $PY line $C2"
check "untrusted CA: refusal names the reason" wait_log "$LOG" '\[cli-untrusted\].*closed \(TLS handshake failed: certificate verification failed: .*not correctly signed'
check "wrong host name: nothing comes through" bash -c "! $PY line $C3"
check "wrong host name: refusal names the reason" wait_log "$LOG" '\[cli-wrongname\].*closed \(TLS handshake failed: certificate verification failed: .*(CN|name)'
check "checkHost accepts the certificate's own name" $PY line "$C4"
check "verifyChain = no connects to an untrusted server" $PY line "$C5"
check "default client verifies against the system store: test CA refused" bash -c "! $PY line $C6"
check "system store refusal logged" wait_log "$LOG" '\[cli-system-store\].*closed \(TLS handshake failed: certificate verification failed'

# -- backends and peers misbehaving ---------------------------------------------------------------------
check "backend down: client's connection is closed" bash -c "! $PY tls $S4 $PKI/ca.crt"
check "backend down: logged with errno text" wait_log "$LOG" '\[srv-backend-down\].*closed \(connect failed: 127\.0\.0\.1:'"$DEAD"': Connection refused'
check "connect failover: second address used" $PY tls "$S5" "$PKI/ca.crt"
check "connect failover: first failure logged" grep -q "\[srv-failover\].*connect 127.0.0.1:$DEAD: Connection refused" "$LOG"
check "garbage on the TLS port: connection closed" $PY garbage "$S1"
check "garbage on the TLS port: handshake failure logged" wait_log "$LOG" '\[srv\].*closed \(TLS handshake failed: '
check "stalled handshake dropped after TIMEOUTbusy" $PY idle "$S6" 10
check "stalled handshake: TIMEOUTbusy logged" wait_log "$LOG" '\[srv-timeouts\].*closed \(TIMEOUTbusy'
check "idle relay dropped after TIMEOUTidle" bash -c "exec 3<>/dev/tcp/127.0.0.1/$C7; echo hi >&3; timeout 8 cat <&3 >/dev/null"
check "idle timeout logged" wait_log "$LOG" '\[cli-idle\].*closed \(TIMEOUTidle'

check "half-closed client, silent backend: dropped after TIMEOUTclose" timeout 20 python3 -c "
import socket
s = socket.create_connection(('127.0.0.1', $C9))
s.sendall(b'request\\n')
s.shutdown(socket.SHUT_WR)
s.settimeout(15)
assert s.recv(100) == b''  # closed by tlswrap, not by the silent backend
"
# both halves of the chain wait TIMEOUTclose = 1 for the silent backend's side: either may give up first (with
# several workers they run on different threads)
check "TIMEOUTclose logged" wait_log "$LOG" '\[(cli|srv)-silent\].*closed \(TIMEOUTclose'

# -- the process survived and gave everything back --------------------------------------------------------
check "still serving after all of the above" $PY line "$C1"
sleep_until_fds() { local i; for i in $(seq 50); do [ "$(fds)" -le "$fd_base" ] && return 0; sleep 0.1; done; echo "# fds now $(fds), at start $fd_base" >&2; ls -l /proc/"$TLSWRAP_PID"/fd >&2; return 1; }
check "no file descriptor leaked" sleep_until_fds
check "process alive" kill -0 "$TLSWRAP_PID"
kill -TERM "$TLSWRAP_PID"
check "SIGTERM: exits 0" wait "$TLSWRAP_PID"
finish
