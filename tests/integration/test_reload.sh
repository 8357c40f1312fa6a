#!/usr/bin/env bash
# SIGHUP reload: new certificates for new connections while old ones carry on byte-identical, a broken
# configuration keeps the running one, services added and removed, no refused connection meanwhile.
. "$(dirname "$0")/lib.sh"
PY="python3 $TESTS_SRCDIR/integration/tls_client.py"
make_pki
E=$(free_port); S=$(free_port); C=$(free_port); A=$(free_port)
echo_server "$E"
# sandbox = no: services are added on new ports, which a sandboxed tlswrap cannot bind after start
# (test_sandbox.sh covers reloads inside the sandbox)
write_conf() { # write_conf CERT-NAME [extra services]; $GLOBALS and $SRV_HOST change the head
	cat >"$T/reload.conf" <<CONF
foreground = yes
sandbox = no
${GLOBALS:-}
[srv]
accept = ${SRV_HOST:-127.0.0.1}:$S
connect = 127.0.0.1:$E
cert = $PKI/$1.crt
key = $PKI/$1.key
[cli]
client = yes
accept = 127.0.0.1:$C
connect = localhost:$S
CAfile = $PKI/ca.crt
verifyChain = no
${2:-}
CONF
}
write_conf server
start_tlswrap "$T/reload.conf" || { not_ok "tlswrap starts"; finish; }
LOG=$T/reload.conf.log
subject() { timeout 10 openssl s_client -connect "127.0.0.1:$S" -CAfile "$PKI/ca.crt" </dev/null 2>/dev/null | sed -n 's/^subject=//p'; }
check "before: the first certificate" test "$(subject)" = "CN = localhost"

# a slow transfer through the chain that spans the reload
python3 - "$C" >"$T/slow.out" 2>&1 <<'PY' &
import hashlib, socket, sys, time, threading
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=60)
blocks = [hashlib.sha256(str(i).encode()).digest() * 2048 for i in range(60)]  # 60 x 64 KiB
got = bytearray()
def reader():
    while True:
        d = s.recv(65536)
        if not d:
            break
        got.extend(d)
t = threading.Thread(target=reader); t.start()
print("started", flush=True)
for b in blocks:
    s.sendall(b)
    time.sleep(0.05)  # 3 s in all
s.shutdown(socket.SHUT_WR)
t.join()
print("identical" if bytes(got) == b"".join(blocks) else f"DIFFERENT {len(got)}", flush=True)
PY
SLOW=$!; PIDS+=("$SLOW")
wait_log "$T/slow.out" started
# a steady connection loop during the reload: every attempt must be accepted
python3 - "$S" "$T/steady.stop" >"$T/steady.out" 2>&1 <<'PY' &
import os, socket, sys, time
port, stop = int(sys.argv[1]), sys.argv[2]
ok = refused = 0
while not os.path.exists(stop):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        ok += 1
    except OSError:
        refused += 1
    time.sleep(0.005)
print(f"ok {ok} refused {refused}", flush=True)
PY
STEADY=$!; PIDS+=("$STEADY")

# 1. a broken configuration keeps the running one
cp "$T/reload.conf" "$T/good.conf"
printf '[broken]\naccept = nonsense port\n' >>"$T/reload.conf"
kill -HUP "$TLSWRAP_PID"
check "broken reload: refused with file:line" wait_log "$LOG" "reload failed, still serving the previous configuration: $T/reload.conf:[0-9]+: "
check "broken reload: still the first certificate" test "$(subject)" = "CN = localhost"
# a directory given as a certificate: refused by name, nothing allocated from its "size"
cp "$T/good.conf" "$T/reload.conf"
mkdir -p "$T/certdir"
sed -i "0,/^cert = .*/s||cert = $T/certdir|" "$T/reload.conf"
kill -HUP "$TLSWRAP_PID"
check "cert as a directory on reload: refused with file:line and the reason" \
	wait_log "$LOG" "reload failed, still serving the previous configuration: $T/reload.conf:[0-9]+: \\[[a-z]+\\] cert $T/certdir: is a directory, not a file"
check "cert as a directory on reload: still serving" test "$(subject)" = "CN = localhost"
# a file that lost its sections describes an inetd service: no daemon can reload into that
printf 'cert = %s\nkey = %s\nconnect = 127.0.0.1:%s\n' "$PKI/server.crt" "$PKI/server.key" "$E" >"$T/reload.conf"
kill -HUP "$TLSWRAP_PID"
check "sectionless reload: refused" \
	wait_log "$LOG" "reload failed, still serving the previous configuration: $T/reload.conf has no sections \(inetd mode\)"
check "sectionless reload: still serving" test "$(subject)" = "CN = localhost"

# 2. a good one: another certificate, and a service added
write_conf wrong "[added]
accept = 127.0.0.1:$A
connect = 127.0.0.1:$E
cert = $PKI/server.crt
key = $PKI/server.key"
kill -HUP "$TLSWRAP_PID"
check "reload logged" wait_log "$LOG" 'SIGHUP: configuration reloaded \(3 services'
check "after: new connections get the new certificate" test "$(subject)" = "CN = wrong.example"
check "added service accepts" $PY tls "$A" "$PKI/ca.crt"
check "the transfer started before the reload completes byte-identical" wait_log "$T/slow.out" '^identical$' 30

# 3. the added service removed again
write_conf server
kill -HUP "$TLSWRAP_PID"
wait_log "$LOG" 'SIGHUP: configuration reloaded \(2 services'
check "removed service no longer listens" bash -c "! python3 -c \"import socket; socket.create_connection(('127.0.0.1', $A), 2)\" 2>/dev/null"

# 4. globals: debug and logFormat apply at once, a restart-only one is named; the same address under
#    another name keeps its listener (the steady loop above would see a refusal otherwise)
same_addr=$(python3 -c "import socket; print(socket.getaddrinfo('localhost', $S, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0][4][0])")
GLOBALS="debug = debug
logFormat = json
pid = $T/later.pid" SRV_HOST=$([ "$same_addr" = 127.0.0.1 ] && echo localhost || echo 127.0.0.1) write_conf server
mark_log "$LOG"
kill -HUP "$TLSWRAP_PID"
# both listening at once is impossible: success means the listener was carried over
check "accept = localhost:P after 127.0.0.1:P: the reload succeeds, keeping the listener" \
	wait_log_since_mark "$LOG" 'SIGHUP: configuration reloaded \(2 services'
check "globals: debug applies at once" wait_log "$LOG" 'SIGHUP: debug level is now 7'
check "globals: logFormat applies at once" wait_log "$LOG" 'SIGHUP: logFormat is now json'
check "globals: a changed pid is named as needing a restart" \
	wait_log "$LOG" 'WARN SIGHUP: pid differs from the running value; it takes effect at the next start'
check "globals: and not written" test ! -e "$T/later.pid"
$PY tls "$S" "$PKI/ca.crt" >/dev/null
check "globals: connection records are JSON now" wait_log "$LOG" '"event":"close","service":"srv"'
check "globals: debug lines are logged now" wait_log "$LOG" 'DEBUG \[srv\] #[0-9]+ 127\.0\.0\.1:[0-9]+: accepted'
touch "$T/steady.stop"
wait "$STEADY"
check "no connection refused during the reloads ($(cat "$T/steady.out"))" grep -q 'refused 0$' "$T/steady.out"
check "still serving" $PY line "$C"
kill -TERM "$TLSWRAP_PID"
check "exits 0 (no leak reports under ASan)" wait "$TLSWRAP_PID"
finish
