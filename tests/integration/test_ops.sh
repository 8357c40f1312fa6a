#!/usr/bin/env bash
# Running as a service: SIGTERM and SIGINT let connections finish, a second SIGTERM exits at once,
# SIGUSR2 lists connections, JSON records, syslog, certificate expiry warnings at start and reload,
# privileges are dropped after binding, and exposed keys stop a root process.
. "$(dirname "$0")/lib.sh"
make_pki
E=$(free_port); S=$(free_port)
echo_server "$E"
conf() { # conf FILE PORT [extra global lines]
	printf 'foreground = yes\n%s\n[srv]\naccept = 127.0.0.1:%s\nconnect = 127.0.0.1:%s\ncert = %s\nkey = %s\n' \
		"${3:-}" "$2" "$E" "$PKI/server.crt" "$PKI/server.key" >"$1"
}
# hold PORT SECONDS OUT: a TLS client that echoes a line, stays SECONDS, echoes again, and closes
hold() {
	python3 - "$1" "$2" "$PKI/ca.crt" >"$3" 2>&1 <<'PY' &
import socket, ssl, sys, time
port, secs, ca = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
ctx = ssl.create_default_context(cafile=ca)
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=30), server_hostname="localhost")
for word in (b"before\n", b"after\n"):
    s.sendall(word)
    got = b""
    while not got.endswith(b"\n"):
        got += s.recv(100)
    print(got.decode().strip(), flush=True)
    time.sleep(secs)
s.close()
PY
	HOLD_PID=$!
	PIDS+=("$HOLD_PID")
}

# reap PID: wait up to 10 s for PID to exit, its status then in $rc; one that stays is killed, rc=255
# (a plain wait would hang the test when a signal is lost)
gone() { local st; st=$(ps -o stat= -p "$1"); [ -z "$st" ] || [ "${st#Z}" != "$st" ]; }
reap() {
	if eventually gone "$1"; then wait "$1"; rc=$?; else kill -KILL "$1"; wait "$1"; rc=255; fi
}

# -- SIGTERM drains -----------------------------------------------------------------------------
conf "$T/drain.conf" "$S"
start_tlswrap "$T/drain.conf" || { not_ok "tlswrap starts"; finish; }
LOG=$T/drain.conf.log
hold "$S" 2 "$T/hold.out"
wait_log "$T/hold.out" '^before$'
kill -USR2 "$TLSWRAP_PID"
check "SIGUSR2 lists the open connection" wait_log "$LOG" '\[srv\] #1 127\.0\.0\.1:[0-9]+: relay for [0-9.]+s; to_tls=7 to_plain=7 bytes'
kill -TERM "$TLSWRAP_PID"
check "SIGTERM: stops accepting, says it waits" wait_log "$LOG" 'no longer accepting; waiting up to 60s for 1 connections'
check "SIGTERM: new connections are refused" bash -c "! python3 -c \"import socket; socket.create_connection(('127.0.0.1', $S), 2)\" 2>/dev/null"
check "SIGTERM: the open connection finishes its work" wait_log "$T/hold.out" '^after$' 10
reap "$TLSWRAP_PID"
check "SIGTERM: exits 0 once the last connection closed" test "$rc" -eq 0
check "SIGTERM: the connection closed normally" grep -q '\[srv\] #1 .*closed (' "$LOG"

# -- a second SIGTERM exits at once ------------------------------------------------------------------
S2=$(free_port)
conf "$T/twice.conf" "$S2"
start_tlswrap "$T/twice.conf" || not_ok "second instance starts"
hold "$S2" 30 "$T/hold2.out"
wait_log "$T/hold2.out" '^before$'
kill -TERM "$TLSWRAP_PID"
wait_log "$T/twice.conf.log" 'no longer accepting'
kill -TERM "$TLSWRAP_PID"
t0=$SECONDS
reap "$TLSWRAP_PID"
check "second SIGTERM: exits at once, status 0" test "$rc" -eq 0 -a $((SECONDS - t0)) -le 5
check "second SIGTERM: logged" grep -q 'Terminated again: exiting now' "$T/twice.conf.log"

# -- SIGINT drains like SIGTERM --------------------------------------------------------------------
# (a background job of a script starts with SIGINT ignored: this also checks that tlswrap still gets it)
S8=$(free_port)
conf "$T/int.conf" "$S8"
start_tlswrap "$T/int.conf" || not_ok "SIGINT instance starts"
hold "$S8" 2 "$T/hold-int.out"
wait_log "$T/hold-int.out" '^before$'
kill -INT "$TLSWRAP_PID"
check "SIGINT: stops accepting, says it waits" wait_log "$T/int.conf.log" 'Interrupt: no longer accepting; waiting up to 60s for 1 connections'
check "SIGINT: new connections are refused" bash -c "! python3 -c \"import socket; socket.create_connection(('127.0.0.1', $S8), 2)\" 2>/dev/null"
check "SIGINT: the open connection finishes its work" wait_log "$T/hold-int.out" '^after$' 10
reap "$TLSWRAP_PID"
check "SIGINT: exits 0 once the last connection closed" test "$rc" -eq 0
check "SIGINT: the connection closed by the client, not cut off" \
	eval "grep -q '\[srv\] #1 .*closed (' '$T/int.conf.log' && ! grep -q 'shutting down' '$T/int.conf.log'"

# -- logFormat = json ------------------------------------------------------------------------------
S6=$(free_port)
conf "$T/json.conf" "$S6" "logFormat = json"
start_tlswrap "$T/json.conf" || not_ok "json instance starts"
python3 "$TESTS_SRCDIR/integration/tls_client.py" tls "$S6" "$PKI/ca.crt" >/dev/null
printf 'not tls at all\n' | timeout 5 python3 -c "import socket,sys; s=socket.create_connection(('127.0.0.1',$S6)); s.sendall(sys.stdin.buffer.read()); s.recv(100)" 2>/dev/null
wait_log "$T/json.conf.log" '"event":"close".*"reason":"TLS handshake failed'
check "logFormat = json: open and close records are JSON objects with the documented fields" python3 - "$T/json.conf.log" <<'PY'
import json, sys
records = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
opens = [r for r in records if r["event"] == "open"]
closes = [r for r in records if r["event"] == "close"]
assert opens and len(closes) >= 2, records
o = opens[0]
for key in ("time", "level", "service", "conn", "peer", "to", "tls_version", "cipher", "resumed"):
    assert key in o, (key, o)
assert o["tls_version"] == "TLSv1.3" and o["service"] == "srv", o
for c in closes:
    for key in ("reason", "bytes_to_tls", "bytes_to_plain", "duration_ms"):
        assert key in c, (key, c)
    assert isinstance(c["bytes_to_tls"], int)
assert any(c["reason"].startswith("TLS handshake failed") for c in closes), closes
PY
kill "$TLSWRAP_PID"
# the optional fields of an open record: a client certificate checked against the CA and an allow
# rule, ALPN and SNI
S7=$(free_port)
printf 'foreground = yes\nlogFormat = json\n[mtls]\naccept = 127.0.0.1:%s\nconnect = 127.0.0.1:%s\ncert = %s\nkey = %s\nCAfile = %s\nrequireCert = yes\nverifyChain = yes\nallowCN = client\nalpn = http/1.1\n' \
	"$S7" "$E" "$PKI/server.crt" "$PKI/server.key" "$PKI/ca.crt" >"$T/json-mtls.conf"
start_tlswrap "$T/json-mtls.conf" || not_ok "json mTLS instance starts"
check "logFormat = json: a client with a certificate, SNI and ALPN gets through" python3 - "$S7" "$PKI" <<'PY'
import socket, ssl, sys
port, pki = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=pki + "/ca.crt")
ctx.load_cert_chain(pki + "/client.crt", pki + "/client.key")
ctx.set_alpn_protocols(["http/1.1"])
with ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10), server_hostname="localhost") as s:
    assert s.selected_alpn_protocol() == "http/1.1", s.selected_alpn_protocol()
    s.sendall(b"mtls\n")
    got = b""
    while not got.endswith(b"\n"):
        chunk = s.recv(100)
        assert chunk, got
        got += chunk
    assert got == b"mtls\n", got
PY
wait_log "$T/json-mtls.conf.log" '"event":"close"'
CLIENT_SERIAL=$(openssl x509 -in "$PKI/client.crt" -noout -serial | sed 's/^serial=//')
check "logFormat = json: the open record carries sni, alpn, peer_subject, peer_serial and rule" \
	python3 - "$T/json-mtls.conf.log" "$CLIENT_SERIAL" <<'PY'
import json, sys
records = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
opens = [r for r in records if r["event"] == "open"]
assert len(opens) == 1, records
o = opens[0]
assert o["service"] == "mtls" and o["level"] == "notice", o
assert o.get("sni") == "localhost", o
assert o.get("alpn") == "http/1.1", o
assert "CN=client" in o.get("peer_subject", ""), o
# hexadecimal bytes separated by colons, the same number as openssl's
serial = o.get("peer_serial", "")
assert serial and all(len(b) == 2 for b in serial.split(":")), o
assert int(serial.replace(":", ""), 16) == int(sys.argv[2], 16), (serial, sys.argv[2])
assert o.get("rule") == "allowCN=client", o
closes = [r for r in records if r["event"] == "close"]
assert len(closes) == 1 and closes[0]["conn"] == o["conn"], records
PY
kill "$TLSWRAP_PID"

# -- certificate expiry warning ---------------------------------------------------------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/soon.key" -out "$T/soon.crt" \
	-days 5 -subj /CN=soon 2>/dev/null
S5=$(free_port)
printf 'foreground = yes\n[soon]\naccept = 127.0.0.1:%s\nconnect = 127.0.0.1:%s\ncert = %s\nkey = %s\n' \
	"$S5" "$E" "$T/soon.crt" "$T/soon.key" >"$T/soon.conf"
start_tlswrap "$T/soon.conf" || not_ok "expiring instance starts"
check "a certificate expiring within 30 days is warned about at start" \
	wait_log "$T/soon.conf.log" "WARN \[soon\] certificate $T/soon.crt expires in 5 days"
mark_log "$T/soon.conf.log"
kill -HUP "$TLSWRAP_PID"
check "the expiry warning comes again after a reload" \
	wait_log_since_mark "$T/soon.conf.log" "WARN \[soon\] certificate $T/soon.crt expires in 5 days"
check "the reload that brought it succeeded, and it warned once per load" \
	test "$(grep -c 'SIGHUP: configuration reloaded' "$T/soon.conf.log")" -eq 1 \
	-a "$(grep -c "certificate $T/soon.crt expires in" "$T/soon.conf.log")" -eq 2
kill "$TLSWRAP_PID"

# -- syslog = yes -----------------------------------------------------------------------------------
# No syslog daemon here: when /dev/log is absent and we are root, a datagram socket of our own stands
# in for it, and is removed at exit whatever happens. A real /dev/log is never touched.
SINK_PY='
import os, signal, socket, sys
path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
try:
    s.bind(path)
except OSError as e:
    open(out, "a").write("# cannot bind %s: %s\n" % (path, e))
    sys.exit(1)
ino = os.stat(path).st_ino
def bye(*_):
    raise SystemExit(0)
signal.signal(signal.SIGTERM, bye)
try:
    with open(out, "a", buffering=1) as f:
        f.write("# bound %d\n" % ino)
        while True:
            f.write(s.recv(65536).decode(errors="replace").replace("\n", "\\n") + "\n")
finally:
    try:
        if os.stat(path).st_ino == ino:
            os.unlink(path)
    except OSError:
        pass
'
DEVLOG_INO=
# remove our /dev/log (only if it is still ours) after lib.sh has stopped every process
devlog_cleanup() {
	if [ -n "$DEVLOG_INO" ] && [ -S /dev/log ] && [ "$(stat -c %i /dev/log)" = "$DEVLOG_INO" ]; then
		rm -f /dev/log
	fi
	DEVLOG_INO=
}
trap 'cleanup; devlog_cleanup' EXIT
if [ -e /dev/log ] || [ -L /dev/log ]; then
	echo "# skip syslog checks: /dev/log exists, and a real syslog socket is not ours to take over"
elif [ "$(id -u)" -ne 0 ]; then
	echo "# skip syslog checks: binding /dev/log needs root"
else
	bg python3 -c "$SINK_PY" /dev/log "$T/syslog.out"
	SINK_PID=$LAST_PID
	if wait_log "$T/syslog.out" '^# bound [0-9]+$' 5; then
		DEVLOG_INO=$(sed -n 's/^# bound //p' "$T/syslog.out")
		S9=$(free_port)
		conf "$T/syslog.conf" "$S9" "syslog = yes"
		"$TLSWRAP" -f "$T/syslog.conf" >"$T/syslog.conf.log" 2>&1 &
		SYSLOG_PID=$!; PIDS+=("$SYSLOG_PID")
		check "syslog = yes: the start is logged to syslog" wait_log "$T/syslog.out" "started, pid $SYSLOG_PID\$"
		# (no wait_port: its probe would be connection #1; the listener is open before "started")
		python3 "$TESTS_SRCDIR/integration/tls_client.py" tls "$S9" "$PKI/ca.crt" >/dev/null
		# daemon.notice is 3*8+5: <29>, then the time stamp, then the ident with the pid
		check "syslog = yes: the established line as daemon.notice, ident tlswrap[PID]" wait_log "$T/syslog.out" \
			"^<29>[A-Z][a-z]{2} [ 0-9]{2} [0-9:]{8} tlswrap\\[$SYSLOG_PID\\]: \\[srv\\] #1 127\\.0\\.0\\.1:[0-9]+: established TLSv1\\.3 "
		check "syslog = yes: the closed line too" wait_log "$T/syslog.out" \
			"^<29>.* tlswrap\\[$SYSLOG_PID\\]: \\[srv\\] #1 127\\.0\\.0\\.1:[0-9]+: closed \\("
		kill -TERM "$SYSLOG_PID" 2>/dev/null
		reap "$SYSLOG_PID"
		kill -TERM "$SINK_PID"
		wait "$SINK_PID"
		devlog_cleanup
	else
		kill "$SINK_PID"
		echo "# skip syslog checks: $(cat "$T/syslog.out" 2>/dev/null)"
	fi
fi

# -- privileges -------------------------------------------------------------------------------------
if [ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1; then
	S3=$(free_port)
	chmod 755 "$T" "$PKI"
	chmod 644 "$PKI/ca.crt"
	mkdir -p "$T/jail"
	conf "$T/privs.conf" "$S3" "setuid = nobody
setgid = nogroup
chroot = $T/jail"
	start_tlswrap "$T/privs.conf" || not_ok "privileged instance starts"
	check "setuid/setgid: runs as nobody after binding" \
		test "$(ps -o user= -p "$TLSWRAP_PID" | tr -d ' ')" = nobody -a "$(ps -o group= -p "$TLSWRAP_PID" | tr -d ' ')" = nogroup
	check "chroot: confined to the jail" test "$(readlink /proc/"$TLSWRAP_PID"/root)" = "$T/jail"
	check "still serves after dropping privileges" python3 "$TESTS_SRCDIR/integration/tls_client.py" tls "$S3" "$PKI/ca.crt"
	kill "$TLSWRAP_PID"
	# a daemon: pid file written as root, removed at exit through the directory held open (the
	# jail hides the path) when the new user may write there, and a warning when it may not
	for who in nobody root; do
		mkdir -p "$T/run-$who"; chown "$who" "$T/run-$who"
		S5=$(free_port)
		printf 'pid = %s/run-%s/t.pid\noutput = %s/daemon-%s.log\nsetuid = nobody\nsetgid = nogroup\nchroot = %s/jail\n[srv]\naccept = 127.0.0.1:%s\nconnect = 127.0.0.1:%s\ncert = %s\nkey = %s\n' \
			"$T" "$who" "$T" "$who" "$T" "$S5" "$E" "$PKI/server.crt" "$PKI/server.key" >"$T/daemon-$who.conf"
		"$TLSWRAP" "$T/daemon-$who.conf"
		check "daemon, pid directory owned by $who: pid file written" wait_log "$T/run-$who/t.pid" '^[0-9]+$'
		DPID=$(cat "$T/run-$who/t.pid" 2>/dev/null || echo 0); PIDS+=("$DPID")
		check "daemon, pid directory owned by $who: the process runs as nobody" \
			test "$(ps -o user= -p "$DPID" | tr -d ' ')" = nobody
		check "daemon, pid directory owned by $who: serves" python3 "$TESTS_SRCDIR/integration/tls_client.py" tls "$S5" "$PKI/ca.crt"
		kill -TERM "$DPID"
		wait_log "$T/daemon-$who.log" 'tlswrap stopped'
	done
	check "pid file removed from a directory the new user may write, despite the chroot" test ! -e "$T/run-nobody/t.pid"
	check "pid file left in a root-only directory: said in the log" \
		grep -q "WARN pid file $T/run-root/t.pid not removed: Permission denied" "$T/daemon-root.log"
	out=$("$TLSWRAP" --check "$T/privs.conf" 2>&1); rc=$?
	conf "$T/badgroup.conf" "$S3" "setgid = no-such-group-here"
	out=$("$TLSWRAP" -f "$T/badgroup.conf" 2>&1); rc=$?
	check "unknown group refused at start" test "$rc" -eq 1 -a -n "$(grep -F "setgid: no group 'no-such-group-here'" <<<"$out")"
	conf "$T/numuid.conf" "$S3" "setuid = 54321"
	out=$("$TLSWRAP" -f "$T/numuid.conf" 2>&1); rc=$?
	check "a numeric setuid with no passwd entry needs setgid" test "$rc" -eq 1 -a -n "$(grep -F 'setuid 54321 has no passwd entry: give setgid too' <<<"$out")"
	# a private key others can read, while staying root
	cp "$PKI/server.key" "$T/open.key"
	chmod 644 "$T/open.key"
	S4=$(free_port)
	sed "s|$PKI/server.key|$T/open.key|" "$T/drain.conf" | sed "s/:$S\$/:$S4/" >"$T/open.conf"
	out=$("$TLSWRAP" -f "$T/open.conf" 2>&1); rc=$?
	check "root with a world-readable key: refused" test "$rc" -eq 1 -a -n "$(grep -F "key $T/open.key is readable by others: refusing to run as root" <<<"$out")"
	out=$("$TLSWRAP" --check "$T/open.conf" 2>&1); rc=$?
	check "--check only warns about it" test "$rc" -eq 0 -a -n "$(grep -F "warning: " <<<"$out")"
	sed "s|^foreground = yes|foreground = yes\nsetuid = nobody|" "$T/open.conf" >"$T/open-nobody.conf"
	chmod 644 "$PKI/server.crt"
	"$TLSWRAP" -f "$T/open-nobody.conf" >"$T/open-nobody.log" 2>&1 &
	p=$!; PIDS+=("$p")
	check "a world-readable key is accepted once privileges are dropped" wait_log "$T/open-nobody.log" 'started, pid'
else
	echo "# privilege tests need root and a 'nobody' user: skipped"
fi

# -- workers: the number set, a gauge and a SIGUSR2 list per worker, kept across a reload -------------------
SW=$(free_port); MW=$(free_port)
conf "$T/w2.conf" "$SW" "workers = 2
status = 127.0.0.1:$MW"
start_tlswrap "$T/w2.conf" || not_ok "workers = 2: tlswrap starts"
LOG=$T/w2.conf.log
check "workers = 2: the start line says 2 workers (whatever TLSWRAP_WORKERS says)" grep -q ', 2 workers) started, pid' "$LOG"
hold "$SW" 3 "$T/w2a.out"; wait_log "$T/w2a.out" '^before$'
hold "$SW" 3 "$T/w2b.out"; wait_log "$T/w2b.out" '^before$'
m=$(curl -s "http://127.0.0.1:$MW/metrics")
check "workers = 2: /metrics has a connection gauge for each worker" \
	test "$(grep -c '^tlswrap_worker_connections_open{worker="[01]"} [0-9]' <<<"$m")" -eq 2
check "workers = 2: ... which add up to the 2 connections held" \
	test "$(awk '/^tlswrap_worker_connections_open\{/ { n += $2 } END { print n + 0 }' <<<"$m")" -eq 2
mark_log "$LOG"
kill -USR2 "$TLSWRAP_PID"
check "workers = 2: SIGUSR2 lists each worker's connections" wait_log_since_mark "$LOG" 'worker 1: [0-9]+ connections open'
check "workers = 2: ... worker 0's too" since_mark "$LOG" 'worker 0: [0-9]+ connections open'
check "workers = 2: ... and both connections" test "$(tail -n +$((LOG_MARK + 1)) "$LOG" | grep -c '\[srv\] #[12] .*relay for')" -eq 2
sed -i 's/^workers = 2$/workers = 1/' "$T/w2.conf"
mark_log "$LOG"
kill -HUP "$TLSWRAP_PID"
check "workers changed on reload: named, it takes effect at the next start" wait_log_since_mark "$LOG" \
	'SIGHUP: workers differs from the running value; it takes effect at the next start'
check "workers changed on reload: the configuration is reloaded" wait_log_since_mark "$LOG" 'configuration reloaded'
check "workers changed on reload: still 2 workers" \
	test "$(curl -s "http://127.0.0.1:$MW/metrics" | grep -c '^tlswrap_worker_connections_open{')" -eq 2
wait_log "$T/w2a.out" '^after$'; wait_log "$T/w2b.out" '^after$'
check "workers = 2: both held connections did their work" grep -q '^after$' "$T/w2b.out"
wait_log "$LOG" '\[srv\] #1 .*closed \(' && wait_log "$LOG" '\[srv\] #2 .*closed \('
stop_checked "$LOG"

S1=$(free_port)
conf "$T/w1.conf" "$S1" "workers = 1"
start_tlswrap "$T/w1.conf" || not_ok "workers = 1: tlswrap starts"
check "workers = 1: the start line says 1 worker" grep -q ', 1 worker) started, pid' "$T/w1.conf.log"
hold "$S1" 0 "$T/w1.out"; wait_log "$T/w1.out" '^after$'
check "workers = 1: a connection is served" grep -q '^after$' "$T/w1.out"
mark_log "$T/w1.conf.log"
kill -USR2 "$TLSWRAP_PID"
check "workers = 1: SIGUSR2 counts the connections without a worker number" wait_log_since_mark "$T/w1.conf.log" \
	'NOTICE [0-9]+ connections open$'
stop_checked "$T/w1.conf.log"
finish
