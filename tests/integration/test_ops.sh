#!/usr/bin/env bash
# Running as a service: SIGTERM lets connections finish, a second SIGTERM exits at once, SIGUSR2
# lists connections, privileges are dropped after binding, and exposed keys stop a root process.
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
wait "$TLSWRAP_PID"; rc=$?
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
wait "$TLSWRAP_PID"; rc=$?
check "second SIGTERM: exits at once, status 0" test "$rc" -eq 0 -a $((SECONDS - t0)) -le 5
check "second SIGTERM: logged" grep -q 'Terminated again: exiting now' "$T/twice.conf.log"

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

# -- certificate expiry warning ---------------------------------------------------------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/soon.key" -out "$T/soon.crt" \
	-days 5 -subj /CN=soon 2>/dev/null
S5=$(free_port)
printf 'foreground = yes\n[soon]\naccept = 127.0.0.1:%s\nconnect = 127.0.0.1:%s\ncert = %s\nkey = %s\n' \
	"$S5" "$E" "$T/soon.crt" "$T/soon.key" >"$T/soon.conf"
start_tlswrap "$T/soon.conf" || not_ok "expiring instance starts"
check "a certificate expiring within 30 days is warned about at start" \
	wait_log "$T/soon.conf.log" "WARN \[soon\] certificate $T/soon.crt expires in 5 days"
kill "$TLSWRAP_PID"

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
finish
