#!/usr/bin/env bash
# The fleet recipe of etc/fleet: two tlswrap instances behind HAProxy (TCP, send-proxy-v2, health
# checks on /healthz), sharing one ticketKeyFile. A session issued by one instance resumes on the
# other (TLS 1.3 and 1.2, both ways); each instance logs the client's own address from the PROXY
# header; and an instance drained with SIGTERM while requests keep coming through HAProxy loses
# none: its /healthz answers 503 and it goes on accepting for drainDelay, HAProxy takes it out on
# the 503 meanwhile, and the request it was in the middle of completes.
. "$(dirname "$0")/lib.sh"
command -v haproxy >/dev/null || skip_all "haproxy not installed"
make_pki
read -r F FA FB PA PB SA SB E <<<"$(free_ports 8)"
openssl rand -base64 48 >"$T/ticket.key" && chmod 600 "$T/ticket.key"
echo_server "$E"

# one instance: NAME ACCEPT STATUS (as etc/fleet/edge-1.conf, in the foreground, on test ports)
instance() {
	cat >"$T/$1.conf" <<-CONF
	foreground = yes
	status = 127.0.0.1:$3
	drainDelay = 3
	[web]
	accept = 127.0.0.1:$2
	acceptProxy = yes
	connect = 127.0.0.1:$E
	cert = $PKI/server.crt
	key = $PKI/server.key
	ticketKeyFile = $T/ticket.key
	CONF
	start_tlswrap "$T/$1.conf"
}
instance a "$PA" "$SA" || { not_ok "instance a starts"; finish; }
PID_A=$TLSWRAP_PID
instance b "$PB" "$SB" || { not_ok "instance b starts"; finish; }
PID_B=$TLSWRAP_PID
LOG_A=$T/a.conf.log LOG_B=$T/b.conf.log

# HAProxy as in etc/fleet/haproxy.cfg, with checks every 200 ms, and a frontend for each instance
# alone, for the resumption checks
cat >"$T/haproxy.cfg" <<CFG
global
	stats socket $T/haproxy.sock level admin
defaults
	mode tcp
	timeout connect 2s
	timeout client 30s
	timeout server 30s
	retries 3
	option redispatch 1
frontend tls_in
	bind 127.0.0.1:$F
	default_backend tlswrap
frontend only_a
	bind 127.0.0.1:$FA
	default_backend a
frontend only_b
	bind 127.0.0.1:$FB
	default_backend b
backend tlswrap
	balance roundrobin
	option httpchk
	http-check send meth GET uri /healthz ver HTTP/1.1 hdr Host tlswrap
	http-check expect status 200
	default-server send-proxy-v2 check inter 200ms fall 1 rise 2
	server edge-a 127.0.0.1:$PA check port $SA
	server edge-b 127.0.0.1:$PB check port $SB
backend a
	server edge-a 127.0.0.1:$PA send-proxy-v2
backend b
	server edge-b 127.0.0.1:$PB send-proxy-v2
CFG
haproxy -c -q -f "$T/haproxy.cfg" || { not_ok "haproxy accepts its test configuration"; finish; }
bg haproxy -db -f "$T/haproxy.cfg"
HAPROXY_PID=$LAST_PID
wait_port "$F" || { not_ok "haproxy listens"; finish; }

# server_state NAME: HAProxy's status of server NAME in backend tlswrap (UP, DOWN, ...)
server_state() {
	python3 - "$T/haproxy.sock" "$1" <<-'PY'
	import socket, sys
	s = socket.socket(socket.AF_UNIX)
	s.connect(sys.argv[1])
	s.sendall(b"show stat\n")
	data = b""
	while chunk := s.recv(65536):
	    data += chunk
	lines = data.decode().splitlines()
	cols = lines[0].lstrip("# ").split(",")
	for line in lines[1:]:
	    f = dict(zip(cols, line.split(",")))
	    if f.get("pxname") == "tlswrap" and f.get("svname") == sys.argv[2]:
	        print(f["status"], f.get("check_status", ""), f.get("check_code", ""))
	PY
}
is_state() { server_state "$1" | grep -q "^$2"; }
check "HAProxy sees both instances up through /healthz" eventually bash -c "$(declare -f server_state is_state); T='$T'; is_state edge-a UP && is_state edge-b UP"

# ---- sessions resume across instances, and each logs the client's own address ----------------------
client() { python3 "$TESTS_SRCDIR/integration/fleet_client.py" "$@"; }
for v in 1.3 1.2; do
	out=$(client resume "$PKI/ca.crt" "$v" "$FA" "$FB")
	check "TLS $v: a session issued by instance a resumes on instance b ($out)" grep -q 'reused=yes' <<<"$out"
	me1=$(sed -n 's/.*me1=\([^ ]*\).*/\1/p' <<<"$out")
	me2=$(sed -n 's/.*me2=\([^ ]*\).*/\1/p' <<<"$out")
	check "TLS $v: instance a logs the client's own address $me1 (PROXY v2 from HAProxy)" \
		wait_log "$LOG_A" "\[web\] #[0-9]+ $me1: established TLSv$v "
	check "TLS $v: instance b logs the client $me2 and the resumption" \
		wait_log "$LOG_B" "\[web\] #[0-9]+ $me2: established TLSv$v .* resumed$"
	out=$(client resume "$PKI/ca.crt" "$v" "$FB" "$FA")
	check "TLS $v: and one issued by b resumes on a ($out)" grep -q 'reused=yes' <<<"$out"
done

# ---- draining: requests keep coming through HAProxy while instance a stops ---------------------------
bg client loop "$PKI/ca.crt" "$F" "$T/stop"
LOOP_PID=$LAST_PID
served() { grep -c "\[web\] #[0-9]* .*: established" "$1"; }
a0=$(served "$LOG_A") b0=$(served "$LOG_B")
check "the balancer sends requests to both instances" eventually bash -c \
	"[ \$(grep -c '\[web\] #[0-9]* .*: established' '$LOG_A') -ge $((a0 + 20)) ] &&
	 [ \$(grep -c '\[web\] #[0-9]* .*: established' '$LOG_B') -ge $((b0 + 20)) ]"
# a request in flight on instance a: its first half now, its second half after the SIGTERM
bg client hold "$PKI/ca.crt" "$FA" "$T/go"
HOLD_OUT=$T/bg$((${#PIDS[@]} - 1)).out
HOLD_PID=$LAST_PID
check "a request is in flight on instance a" wait_log "$HOLD_OUT" '^first half: ok'
kill -TERM "$PID_A"
check "SIGTERM: instance a goes on accepting for drainDelay" wait_log "$LOG_A" 'accepting for 3s more \(drainDelay'
check "while draining, /healthz answers 503 stopping" bash -c \
	"curl -s -o '$T/healthz' -w '%{http_code}' http://127.0.0.1:$SA/healthz | grep -q '^503$' && grep -q '^stopping$' '$T/healthz'"
check "HAProxy marks instance a down through /healthz (L7 status 503)" eventually bash -c \
	"$(declare -f server_state is_state); T='$T'; server_state edge-a | grep -q '^DOWN L7STS 503'"
check "after drainDelay, instance a stops accepting and waits for its connection" \
	wait_log "$LOG_A" 'no longer accepting; waiting up to [0-9]+s for [0-9]+ connections'
b1=$(served "$LOG_B")
check "the requests go on to instance b" eventually bash -c \
	"[ \$(grep -c '\[web\] #[0-9]* .*: established' '$LOG_B') -ge $((b1 + 20)) ]"
touch "$T/go"
wait "$HOLD_PID"
check "the request in flight on the drained instance completes" grep -q '^held: ok' "$HOLD_OUT"
check "instance a exits once its last connection is done" wait_log "$LOG_A" 'tlswrap stopped'
wait "$PID_A"
check "instance a exits 0 after the drain" test $? = 0
check "with no connection cut short" eval "! has '$LOG_A' 'TIMEOUTclose passed|shutting down'"
touch "$T/stop"
wait "$LOOP_PID"
LOOP_OUT=$T/bg$(($(printf '%s\n' "${PIDS[@]}" | grep -n -x "$LOOP_PID" | cut -d: -f1) - 1)).out
sed 's/^/# /' "$LOOP_OUT"
check "no request through HAProxy failed while instance a drained" grep -q '^requests=[0-9]* errors=0$' "$LOOP_OUT"
# a second SIGTERM during drainDelay exits at once
kill -TERM "$PID_B"
check "instance b: SIGTERM starts its drainDelay" wait_log "$LOG_B" 'accepting for 3s more \(drainDelay'
kill -TERM "$PID_B"
check "instance b: a second SIGTERM exits at once" wait_log "$LOG_B" 'Terminated again: exiting now' 2
wait "$PID_B"
check "instance b exits 0" test $? = 0
check "no sanitizer report in the instances' logs" \
	eval "! grep -E -q 'AddressSanitizer|LeakSanitizer|ThreadSanitizer|runtime error:' '$LOG_A' '$LOG_B'"
kill "$HAPROXY_PID" 2>/dev/null
finish
