#!/usr/bin/env bash
# The metrics endpoint (status = 127.0.0.1:PORT): /metrics in Prometheus text format with the counters
# moving as connections come and go, /healthz (503 while draining after SIGTERM, from the start of
# drainDelay), and the HTTP errors, all parsed by a strict client.
. "$(dirname "$0")/lib.sh"
make_pki
E=$(free_port); S=$(free_port); M=$(free_port); DEAD=$(free_port); R=$(free_port)
echo_server "$E"
cat >"$T/st.conf" <<CONF
foreground = yes
status = $M
[srv]
accept = 127.0.0.1:$S
connect = 127.0.0.1:$E
cert = $PKI/server.crt
key = $PKI/server.key
[res]
accept = 127.0.0.1:$R
connect = 127.0.0.1:$E
cert = $PKI/server.crt
key = $PKI/server.key
[down]
accept = 127.0.0.1:$(free_port)
connect = 127.0.0.1:$DEAD
cert = $PKI/server.crt
key = $PKI/server.key
CONF
start_tlswrap "$T/st.conf" || { not_ok "tlswrap starts"; finish; }
check "status listens on loopback by default" bash -c "ss -Hltn 'sport = :$M' | grep -q '127.0.0.1:$M'"
for i in 1 2 3; do python3 "$TESTS_SRCDIR/integration/tls_client.py" tls "$S" "$PKI/ca.crt" >/dev/null; done
python3 "$TESTS_SRCDIR/integration/tls_client.py" garbage "$S" >/dev/null
DOWN=$(sed -n 's/^accept = 127.0.0.1:\([0-9]*\)$/\1/p' "$T/st.conf" | tail -1)
python3 "$TESTS_SRCDIR/integration/tls_client.py" tls "$DOWN" "$PKI/ca.crt" >/dev/null 2>&1
wait_log "$T/st.conf.log" '\[down\].*closed \(connect failed'
# [res]: a full handshake, then a resumption of its TLS 1.2 ticket, a line echoed on each
res() {
	(echo "ping res"; sleep 1) | timeout 10 openssl s_client -connect "127.0.0.1:$R" -tls1_2 -CAfile "$PKI/ca.crt" \
		-sess_out "$T/res.sess" "$@" 2>/dev/null | grep -E '^(New|Reused),|^ping' | tr '\n' ' '
}
res >/dev/null
check "[res]: the second connection resumes (openssl says Reused)" grep -q '^Reused,.*ping res' <<<"$(res -sess_in "$T/res.sess")"
# bytes are counted when a connection closes
eventually test "$(grep -c '\[res\] #[0-9]* .*closed' "$T/st.conf.log")" -eq 2
python3 "$TESTS_SRCDIR/integration/status_client.py" "$M" >"$T/scrape.out" 2>&1
check "the strict client accepts every response and the metrics text" test $? -eq 0
metric() { grep -E "^$1 " "$T/scrape.out" | awk '{print $2}'; }
check "connections_total counts the four connections to [srv]" test "$(metric 'tlswrap_connections_total\{service="srv"\}')" = 4
check "connections_open is back to 0" test "$(metric 'tlswrap_connections_open\{service="srv"\}')" = 0
check "the garbage handshake is counted" test "$(metric 'tlswrap_handshake_failures_total\{service="srv",reason="handshake"\}')" = 1
check "the unreachable backend is counted" test "$(metric 'tlswrap_handshake_failures_total\{service="down",reason="connect"\}')" = 1
check "bytes each way" test "$(metric 'tlswrap_bytes_total\{service="srv",direction="to_plain"\}')" = 42
check "bytes each way: to_tls too" test "$(metric 'tlswrap_bytes_total\{service="srv",direction="to_tls"\}')" = 42
check "a full handshake is not counted as resumed" test "$(metric 'tlswrap_sessions_resumed_total\{service="srv"\}')" = 0
check "the resumed connection to [res] is counted" test "$(metric 'tlswrap_sessions_resumed_total\{service="res"\}')" -ge 1
check "... once: the full handshake before it is not" test "$(metric 'tlswrap_sessions_resumed_total\{service="res"\}')" = 1
# two connections of "ping res\n" each way
check "[res] bytes to_plain" test "$(metric 'tlswrap_bytes_total\{service="res",direction="to_plain"\}')" -gt 0
check "[res] bytes to_tls" test "$(metric 'tlswrap_bytes_total\{service="res",direction="to_tls"\}')" -gt 0
check "[res] bytes: exactly the two lines each way" test "$(metric 'tlswrap_bytes_total\{service="res",direction="to_plain"\}') $(metric 'tlswrap_bytes_total\{service="res",direction="to_tls"\}')" = "18 18"
check "certificate not-after as a Unix time" test "$(metric 'tlswrap_certificate_not_after_seconds\{service="srv"\}')" -gt "$(date +%s)"
# slow clients that fill every slot and hold it are pushed out by a new client, so a scraper is answered
check "/healthz answers 20 of 20 times while 200 stalled clients are held open" \
	python3 "$TESTS_SRCDIR/integration/status_slow.py" "$M" 200 20
# draining after SIGTERM: /healthz says so (503), /metrics still answers, until the last connection ends
check "/healthz answers 200 ok while serving" bash -c "[ \"\$(curl -s -w ' %{http_code}' http://127.0.0.1:$M/healthz)\" = 'ok
 200' ]"
mark_log "$T/st.conf.log"
bg python3 -c "
import socket, ssl, sys, time
ctx = ssl.create_default_context(cafile='$PKI/ca.crt')
s = ctx.wrap_socket(socket.create_connection(('127.0.0.1', $S)), server_hostname='localhost')
time.sleep(30)"
wait_log_since_mark "$T/st.conf.log" '\[srv\] #[0-9]+ .*established'
kill -TERM "$TLSWRAP_PID"
wait_log "$T/st.conf.log" 'no longer accepting; waiting up to'
check "while draining, /healthz answers 503 stopping" bash -c "[ \"\$(curl -s -w ' %{http_code}' http://127.0.0.1:$M/healthz)\" = 'stopping
 503' ]"
check "while draining, /metrics still answers 200" bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$M/metrics)\" = 200 ]"
kill -TERM "$TLSWRAP_PID"
wait_log "$T/st.conf.log" 'tlswrap stopped'
# drainDelay: after SIGTERM, /healthz fails at once but connections are still accepted that long
M2=$(free_port); S2=$(free_port)
cat >"$T/dd.conf" <<CONF
foreground = yes
status = $M2
drainDelay = 3
[srv]
accept = 127.0.0.1:$S2
connect = 127.0.0.1:$E
cert = $PKI/server.crt
key = $PKI/server.key
CONF
start_tlswrap "$T/dd.conf" || { not_ok "tlswrap with drainDelay starts"; finish; }
kill -TERM "$TLSWRAP_PID"
check "drainDelay: SIGTERM says how long it goes on accepting" wait_log "$T/dd.conf.log" \
	'Terminated: /healthz answers 503; accepting for 3s more \(drainDelay; again to exit now\)'
check "drainDelay: /healthz answers 503 at once" bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$M2/healthz)\" = 503 ]"
check "drainDelay: a connection is still served meanwhile" \
	python3 "$TESTS_SRCDIR/integration/tls_client.py" tls "$S2" "$PKI/ca.crt" >/dev/null
check "drainDelay: then it stops accepting" wait_log "$T/dd.conf.log" 'Terminated: (shutting down|no longer accepting)' 10
check "drainDelay: and exits" wait_log "$T/dd.conf.log" 'tlswrap stopped'
finish
