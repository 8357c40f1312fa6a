#!/usr/bin/env bash
# Session resumption: server cache and tickets (TLS 1.2 and 1.3), shared ticket keys, client-side
# resumption, and that a ticket from a service that judges no certificate opens none that does.
. "$(dirname "$0")/lib.sh"
make_pki
E=$(free_port); S=$(free_port); S2=$(free_port); M=$(free_port); C=$(free_port); N=$(free_port)
echo_server "$E"
openssl rand -base64 48 >"$T/ticket.key"
chmod 600 "$T/ticket.key"
cat >"$T/sess.conf" <<CONF
foreground = yes
[srv]
accept = 127.0.0.1:$S
connect = 127.0.0.1:$E
cert = $PKI/server.crt
key = $PKI/server.key
ticketKeyFile = $T/ticket.key
[mtls]
accept = 127.0.0.1:$M
connect = 127.0.0.1:$E
cert = $PKI/server.crt
key = $PKI/server.key
CAfile = $PKI/ca.crt
verifyChain = yes
[nocache]
accept = 127.0.0.1:$N
connect = 127.0.0.1:$E
cert = $PKI/server.crt
key = $PKI/server.key
sessionCacheSize = 0
[cli]
client = yes
accept = 127.0.0.1:$C
connect = localhost:$S
CAfile = $PKI/ca.crt
CONF
start_tlswrap "$T/sess.conf" || { not_ok "tlswrap starts"; finish; }
LOG=$T/sess.conf.log
# a second instance with the same ticket key
sed -e "s/:$S\$/:$S2/" -e "/^\[mtls\]/,\$d" "$T/sess.conf" >"$T/sess2.conf"
"$TLSWRAP" -f "$T/sess2.conf" >"$T/sess2.conf.log" 2>&1 &
PIDS+=($!)
wait_log "$T/sess2.conf.log" 'started, pid'

# sclient PORT VERSION SESSFILE [extra args]: one connection; prints "New" or "Reused" and the echo
sclient() {
	local port=$1 ver=$2 sess=$3; shift 3
	local in=()
	[ -s "$sess" ] && in=(-sess_in "$sess")
	# stdin stays open a moment so the echo can come back before s_client closes
	(echo "ping $port"; sleep 1) | timeout 10 openssl s_client -connect "127.0.0.1:$port" "-$ver" -CAfile "$PKI/ca.crt" \
		-sess_out "$sess.new" "${in[@]}" "$@" 2>/dev/null | grep -E '^(New|Reused),|^ping' | tr '\n' ' '
	[ -s "$sess.new" ] && mv "$sess.new" "$sess"
}
for v in tls1_2 tls1_3; do
	rm -f "$T/s-$v"
	first=$(sclient "$S" "$v" "$T/s-$v")
	second=$(sclient "$S" "$v" "$T/s-$v")
	check "$v: first connection is a full handshake" grep -q '^New,.*ping' <<<"$first"
	check "$v: second connection resumes (openssl says Reused)" grep -q '^Reused,.*ping' <<<"$second"
	third=$(sclient "$S2" "$v" "$T/s-$v")
	check "$v: another instance with the same ticketKeyFile resumes it" grep -q '^Reused,.*ping' <<<"$third"
done
# the shared key outlives mbedTLS's own key lifetime (sessionCacheTimeout): a short-lived pair of instances
S3=$(free_port); S4=$(free_port)
for p in "$S3" "$S4"; do
	printf 'foreground = yes\n[k]\naccept = 127.0.0.1:%s\nconnect = 127.0.0.1:%s\ncert = %s\nkey = %s\nticketKeyFile = %s\nsessionCacheTimeout = 2\n' \
		"$p" "$E" "$PKI/server.crt" "$PKI/server.key" "$T/ticket.key" >"$T/k$p.conf"
	"$TLSWRAP" -f "$T/k$p.conf" >"$T/k$p.conf.log" 2>&1 &
	PIDS+=($!)
	wait_log "$T/k$p.conf.log" 'started, pid'
done
sleep 3 # past the 2 s lifetime of the first key: mbedTLS would have replaced it by now
rm -f "$T/s-life"
sclient "$S3" tls1_3 "$T/s-life" >/dev/null
check "shared ticket key still shared after its lifetime" grep -q '^Reused,' <<<"$(sclient "$S4" tls1_3 "$T/s-life")"
check "resumed handshakes are logged as such" wait_log "$LOG" '\[srv\] #[0-9]+ .*established TLSv1\.3 .* resumed$'
rm -f "$T/s-id"
sclient "$S" tls1_2 "$T/s-id" -no_ticket >/dev/null
check "TLS 1.2 session-ID cache resumes" grep -q '^Reused,' <<<"$(sclient "$S" tls1_2 "$T/s-id" -no_ticket)"
rm -f "$T/s-nc"
sclient "$N" tls1_2 "$T/s-nc" -no_ticket >/dev/null
check "sessionCacheSize = 0: no session-ID resumption" grep -q '^New,' <<<"$(sclient "$N" tls1_2 "$T/s-nc" -no_ticket)"

# client certificates: sessions resume, each resumption judged again (test_mtls_resume.sh has the details)
for v in tls1_2 tls1_3; do
	rm -f "$T/m-$v"
	first=$(sclient "$M" "$v" "$T/m-$v" -cert "$PKI/client.crt" -key "$PKI/client.key")
	second=$(sclient "$M" "$v" "$T/m-$v" -cert "$PKI/client.crt" -key "$PKI/client.key")
	check "$v mTLS: allowed client gets in" grep -q '^New,.*ping' <<<"$first"
	check "$v mTLS: allowed client resumes its session" grep -q '^Reused,.*ping' <<<"$second"
	out=$(sclient "$M" "$v" "$T/none-$v")
	check "$v mTLS: a client without a certificate or session is refused" bash -c "! grep -q ping <<<'$out'"
done
check "mTLS refusals logged" wait_log "$LOG" '\[mtls\].*closed \(TLS handshake failed'

# an allow rule is judged on every connection: a client it refuses gets no way in by offering a ticket under
# the same ticketKeyFile from an open service of the instance (it decrypts, but no certificate is kept with
# it: a full handshake follows, which the allow rule refuses)
(
	cd "$PKI" || exit 1
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout intruder.key -out intruder.csr \
		-subj "/CN=intruder/O=tlswrap tests" 2>/dev/null &&
		printf 'extendedKeyUsage=clientAuth\n' >intruder.ext &&
		openssl x509 -req -in intruder.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out intruder.crt -days 30 \
			-extfile intruder.ext 2>/dev/null
) || not_ok "intruder certificate made"
AO=$(free_port); AL=$(free_port)
cat >"$T/allow.conf" <<CONF
foreground = yes
[open]
accept = 127.0.0.1:$AO
connect = 127.0.0.1:$E
cert = $PKI/server.crt
key = $PKI/server.key
ticketKeyFile = $T/ticket.key
[allow]
accept = 127.0.0.1:$AL
connect = 127.0.0.1:$E
cert = $PKI/server.crt
key = $PKI/server.key
CAfile = $PKI/ca.crt
verifyChain = yes
requireCert = yes
allowCN = client
ticketKeyFile = $T/ticket.key
CONF
start_tlswrap "$T/allow.conf" || not_ok "allow instance starts"
ALOG=$T/allow.conf.log
lacks() { ! grep -q -- "$1" <<<"$2"; }
for v in tls1_2 tls1_3; do
	rm -f "$T/a-$v" "$T/o-$v"
	mark_log "$ALOG"
	out=$(sclient "$AL" "$v" "$T/a-$v" -cert "$PKI/client.crt" -key "$PKI/client.key")
	check "$v allowCN: the allowed client gets in" grep -q 'ping' <<<"$out"
	check "$v allowCN: logged with its rule" wait_log_since_mark "$ALOG" \
		'\[allow\] .*peer="CN=client, O=tlswrap tests" rule="allowCN=client"$'
	# a ticket the instance itself would decrypt: proven by [open] resuming it
	sclient "$AO" "$v" "$T/o-$v" >/dev/null
	cp "$T/o-$v" "$T/o-$v.stolen"
	check "$v allowCN: the ticket from [open] is good there" grep -q '^Reused,.*ping' <<<"$(sclient "$AO" "$v" "$T/o-$v")"
	mark_log "$ALOG"
	out=$(sclient "$AL" "$v" "$T/o-$v.stolen" -cert "$PKI/intruder.crt" -key "$PKI/intruder.key")
	check "$v allowCN: a refused client offering a ticket from [open] gets no data through" lacks 'ping' "$out"
	check "$v allowCN: ... and is refused by the allow rule" wait_log_since_mark "$ALOG" \
		'\[allow\] #[0-9]+ .*closed \(peer refused: no allow rule or pin matched \(subject "[^"]*CN=intruder'
done
check "allowCN: [open]'s tickets resumed nothing on [allow]" lacks '\[allow\] .* resumed$' "$(cat "$ALOG")"

# client side: the second connection through the client service resumes
for i in 1 2 3; do python3 "$TESTS_SRCDIR/integration/tls_client.py" line "$C" >/dev/null; done
check "client mode: later connections resume the saved session" \
	test "$(grep -c '\[cli\] #[0-9]* .*established .* resumed$' "$LOG")" -ge 2

# a refused server must not get in by resuming the session of the refused handshake (TLS 1.2)
PIN_GOOD=$(openssl x509 -in "$PKI/server.crt" -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64)
CP1=$(free_port); CP2=$(free_port)
cat >"$T/pin.conf" <<CONF
foreground = yes
client = yes
sslVersion = TLSv1.2
[badpin]
accept = 127.0.0.1:$CP1
connect = 127.0.0.1:$S
pinSHA256 = sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
[goodpin]
accept = 127.0.0.1:$CP2
connect = 127.0.0.1:$S
pinSHA256 = sha256//$PIN_GOOD
CONF
start_tlswrap "$T/pin.conf" || not_ok "pin instance starts"
for i in 1 2 3; do python3 "$TESTS_SRCDIR/integration/tls_client.py" line "$CP1" >/dev/null; done
check "TLS 1.2: a refused server stays refused on later connections (no resumption of its session)" \
	test "$(grep -c '\[badpin\].*closed (peer refused: no allow rule or pin matched' "$T/pin.conf.log")" -eq 3
for i in 1 2; do python3 "$TESTS_SRCDIR/integration/tls_client.py" line "$CP2" >/dev/null; done
check "TLS 1.2: an accepted server's session is resumed" wait_log "$T/pin.conf.log" '\[goodpin\].*established TLSv1\.2 .*rule="resumed session".* resumed$'

# a reload reads ticketKeyFile again: tickets under the old key stop resuming, those under the new one
# resume (no session-ID cache, so only the ticket can resume a TLS 1.2 session here)
RK=$(free_port); RK2=$(free_port)
(umask 077 && openssl rand -base64 48 >"$T/rk.key")
printf 'foreground = yes\n[rk]\naccept = 127.0.0.1:%s\nconnect = 127.0.0.1:%s\ncert = %s\nkey = %s\nticketKeyFile = %s\nsessionCacheSize = 0\n' \
	"$RK" "$E" "$PKI/server.crt" "$PKI/server.key" "$T/rk.key" >"$T/rk.conf"
start_tlswrap "$T/rk.conf" || not_ok "ticket-key reload instance starts"
RK_PID=$TLSWRAP_PID
for v in tls1_2 tls1_3; do
	rm -f "$T/rk-$v"
	sclient "$RK" "$v" "$T/rk-$v" >/dev/null
	check "$v: a session under the first ticket key resumes" grep -q '^Reused,.*ping' <<<"$(sclient "$RK" "$v" "$T/rk-$v")"
	cp "$T/rk-$v" "$T/rk-old-$v"
done
openssl rand -base64 48 >"$T/rk.key" # rewritten in place (mode 600 kept), as an operator would
mark_log "$T/rk.conf.log"
kill -HUP "$RK_PID"
check "ticketKeyFile changed: SIGHUP reloads" wait_log_since_mark "$T/rk.conf.log" 'SIGHUP: configuration reloaded'
# the same file on a fresh instance: proves the reloaded key is the file's, not a random one
sed "s/:$RK\$/:$RK2/" "$T/rk.conf" >"$T/rk2.conf"
"$TLSWRAP" -f "$T/rk2.conf" >"$T/rk2.conf.log" 2>&1 &
PIDS+=($!)
wait_log "$T/rk2.conf.log" 'started, pid'
for v in tls1_2 tls1_3; do
	check "$v: after the reload a ticket under the old key does not resume" \
		grep -q '^New,.*ping' <<<"$(sclient "$RK" "$v" "$T/rk-old-$v")"
	rm -f "$T/rk-new-$v"
	sclient "$RK" "$v" "$T/rk-new-$v" >/dev/null
	cp "$T/rk-new-$v" "$T/rk-new2-$v"
	check "$v: a session made after the reload resumes" grep -q '^Reused,.*ping' <<<"$(sclient "$RK" "$v" "$T/rk-new-$v")"
	check "$v: ... and so does it on another instance started on the new key file" \
		grep -q '^Reused,.*ping' <<<"$(sclient "$RK2" "$v" "$T/rk-new2-$v")"
done

# rotation keeping the previous key (etc/fleet/README.md): with the file "B, then A", B issues and a
# ticket under A still resumes; once the file is B alone, A's tickets make a full handshake and B's resume
cp "$T/rk.key" "$T/rk-a.key" # the key the instance runs on now: A
for v in tls1_2 tls1_3; do
	rm -f "$T/rk-a-$v"
	sclient "$RK" "$v" "$T/rk-a-$v" >/dev/null
	cp "$T/rk-a-$v" "$T/rk-a2-$v"
done
openssl rand -base64 48 >"$T/rk-b.key"
cat "$T/rk-b.key" "$T/rk-a.key" >"$T/rk.key"
mark_log "$T/rk.conf.log"
kill -HUP "$RK_PID"
check "ticketKeyFile with the previous key: SIGHUP reloads" wait_log_since_mark "$T/rk.conf.log" 'SIGHUP: configuration reloaded'
for v in tls1_2 tls1_3; do
	check "$v: a ticket under the previous key (line 2) resumes" grep -q '^Reused,.*ping' <<<"$(sclient "$RK" "$v" "$T/rk-a-$v")"
	rm -f "$T/rk-b-$v"
	sclient "$RK" "$v" "$T/rk-b-$v" >/dev/null
done
cat "$T/rk-b.key" >"$T/rk.key"
mark_log "$T/rk.conf.log"
kill -HUP "$RK_PID"
check "previous key removed: SIGHUP reloads" wait_log_since_mark "$T/rk.conf.log" 'SIGHUP: configuration reloaded'
for v in tls1_2 tls1_3; do
	check "$v: previous key removed: its ticket makes a full handshake" \
		grep -q '^New,.*ping' <<<"$(sclient "$RK" "$v" "$T/rk-a2-$v")"
	check "$v: a ticket issued while both keys were there (under line 1) resumes" \
		grep -q '^Reused,.*ping' <<<"$(sclient "$RK" "$v" "$T/rk-b-$v")"
done
{ cat "$T/rk-b.key" "$T/rk-a.key" "$T/rk-a.key"; } >"$T/rk3.key" && chmod 600 "$T/rk3.key"
{ cat "$T/rk-b.key"; echo 'c2hvcnQ='; } >"$T/rk4.key" && chmod 600 "$T/rk4.key"
for k in rk3 rk4; do
	sed "s|$T/rk.key|$T/$k.key|" "$T/rk.conf" >"$T/$k.conf"
	eval "out_$k=\$(\"\$TLSWRAP\" --check \"\$T/$k.conf\" 2>&1)"
done
check "ticketKeyFile of three lines refused" grep -q "ticketKeyFile $T/rk3.key: more than two lines" <<<"$out_rk3"
check "ticketKeyFile with a short previous key refused" \
	grep -q "ticketKeyFile $T/rk4.key line 2 (the previous key): expected base64 of at least 36 bytes" <<<"$out_rk4"

chmod 644 "$T/ticket.key"
out=$("$TLSWRAP" --check "$T/sess.conf" 2>&1)
check "world-readable ticketKeyFile refused" grep -q "ticketKeyFile $T/ticket.key is readable by others" <<<"$out"
finish
