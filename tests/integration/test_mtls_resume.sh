#!/usr/bin/env bash
# Resumption on services that verify client certificates: TLS 1.2 (session ID and ticket) and TLS 1.3
# (ticket) sessions resume, and every resumption is judged again on the certificate chain kept with the
# session: the allow rule is logged, a certificate that has expired since is refused, a revoked one is
# refused after the CRL is reloaded, verifyPeer, pins and checkHost changed by a reload refuse a resumption,
# a PSK handshake never stands for a session offered beside it, a chain through an intermediate is kept
# whole, and a session whose chain is not kept (another instance's ticket) falls back to a full handshake.
# openssl s_client is the client.
. "$(dirname "$0")/lib.sh"

# A root CA, an intermediate that issues the clients (CAfile holds the root only: the clients send the
# intermediate), and the intermediate's CRL. `soon` expires SOON seconds after it is made.
SOON=25
P=$T/p
mkdir -p "$P"
(
	cd "$P" || exit 1
	set -e
	key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null; }
	key root
	openssl req -x509 -new -key root.key -out root.crt -days 30 -subj "/CN=mtls-resume root" \
		-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
	key inter
	openssl req -new -key inter.key -out inter.csr -subj "/CN=mtls-resume intermediate" 2>/dev/null
	printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n' >inter.ext
	openssl x509 -req -in inter.csr -CA root.crt -CAkey root.key -CAcreateserial -out inter.crt -days 30 \
		-extfile inter.ext 2>/dev/null
	key server
	openssl req -new -key server.key -out server.csr -subj "/CN=localhost" 2>/dev/null
	printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >server.ext
	openssl x509 -req -in server.csr -CA root.crt -CAkey root.key -CAcreateserial -out server.crt -days 30 \
		-extfile server.ext 2>/dev/null
	mkdir -p db/new
	: >db/index.txt
	echo 1000 >db/serial
	echo 01 >db/crlnumber
	cat >inter.cnf <<EOF
[ca]
default_ca = this
[this]
database = $P/db/index.txt
new_certs_dir = $P/db/new
serial = $P/db/serial
crlnumber = $P/db/crlnumber
certificate = $P/inter.crt
private_key = $P/inter.key
default_md = sha256
default_days = 30
default_crl_days = 30
unique_subject = no
policy = any
[any]
organizationalUnitName = optional
commonName = supplied
EOF
	printf 'extendedKeyUsage=clientAuth\n' >client.ext
	issue() { # NAME SUBJECT [openssl ca options]
		local name=$1 subj=$2
		shift 2
		key "$name"
		openssl req -new -key "$name.key" -out "$name.csr" -subj "$subj" 2>/dev/null
		openssl ca -batch -notext -config inter.cnf -in "$name.csr" -out "$name.crt" -extfile client.ext "$@" 2>/dev/null
	}
	issue client "/OU=ops/CN=client"
	issue doomed "/OU=ops/CN=doomed"
	issue outsider "/OU=other/CN=outsider"
	issue soon "/OU=ops/CN=soon" -enddate "$(date -u -d "+$SOON seconds" +%Y%m%d%H%M%SZ)"
	openssl ca -config inter.cnf -gencrl -out inter.crl 2>/dev/null
	key rogue # self-signed: no CA vouches for it
	openssl req -x509 -new -key rogue.key -out rogue.crt -days 30 -subj "/OU=ops/CN=rogue" 2>/dev/null
) || { not_ok "certificates made"; finish; }
SOON_END=$(( $(date +%s) + SOON ))

E=$(free_port)
read -r M M2 OPT MP <<<"$(free_ports 4)"
PSKHEX=$(openssl rand -hex 32)
(umask 077 && echo "ops-psk:$PSKHEX" >"$T/psk.txt")
echo_server "$E"
(umask 077 && openssl rand -base64 48 >"$T/ticket.key")
conf() { # NAME PORT: an mTLS service allowing OU=ops
	printf '[%s]\naccept = 127.0.0.1:%s\nconnect = 127.0.0.1:%s\ncert = %s/server.crt\nkey = %s/server.key\n' \
		"$1" "$2" "$E" "$P" "$P"
	printf 'CAfile = %s/root.crt\nCRLfile = %s/inter.crl\nverifyChain = yes\nrequireCert = yes\nallowOU = ops\n' "$P" "$P"
	printf 'ticketKeyFile = %s/ticket.key\n' "$T"
}
{
	echo "foreground = yes"
	conf m "$M"
	printf '[opt]\naccept = 127.0.0.1:%s\nconnect = 127.0.0.1:%s\ncert = %s/server.crt\nkey = %s/server.key\n' \
		"$OPT" "$E" "$P" "$P"
	printf 'CAfile = %s/root.crt\nverifyChain = yes\nrequireCert = no\n' "$P"
	# an mTLS service that also takes PSK suites (and so, a client with no certificate is refused)
	conf pskm "$MP"
	printf 'PSKsecrets = %s/psk.txt\nciphers = ECDHE-ECDSA-AES128-GCM-SHA256:PSK-AES128-GCM-SHA256\n' "$T"
} >"$T/m.conf"
start_tlswrap "$T/m.conf" || { not_ok "tlswrap starts"; finish; }
LOG=$T/m.conf.log

# sclient PORT MODE SESSFILE CERT [extra args]: one connection offering SESSFILE's session if there is one, as
# CERT (or none for "-"); prints "New" or "Reused" and the echo. MODE: tls1_2, tls1_2-id (no tickets: the
# session-ID cache), tls1_3.
sclient() {
	local port=$1 mode=$2 sess=$3 cert=$4
	shift 4
	local args=(-connect "127.0.0.1:$port" -CAfile "$P/root.crt" -sess_out "$sess.new")
	[ -s "$sess" ] && args+=(-sess_in "$sess")
	case $mode in
	tls1_2) args+=(-tls1_2) ;;
	tls1_2-id) args+=(-tls1_2 -no_ticket) ;;
	tls1_3) args+=(-tls1_3) ;;
	esac
	[ "$cert" = - ] || args+=(-cert "$P/$cert.crt" -key "$P/$cert.key" -cert_chain "$P/inter.crt")
	(echo "ping $port"; sleep 1) | timeout 10 openssl s_client "${args[@]}" "$@" 2>/dev/null |
		grep -E '^(New|Reused),|^ping' | tr '\n' ' '
	[ -s "$sess.new" ] && mv "$sess.new" "$sess"
	rm -f "$sess.new"
}
lacks() { ! grep -q -- "$1" <<<"$2"; }
MODES="tls1_2 tls1_2-id tls1_3"
ver() { case $1 in tls1_3) echo 'TLSv1\.3' ;; *) echo 'TLSv1\.2' ;; esac; }

# the sessions of `soon` are made first: it expires while the rest runs
for m in $MODES; do
	rm -f "$T/soon-$m"
	out=$(sclient "$M" "$m" "$T/soon-$m" soon)
	check "$m: a certificate valid for ${SOON}s more gets in" grep -q '^New,.*ping' <<<"$out"
done

for m in $MODES; do
	rm -f "$T/s-$m"
	mark_log "$LOG"
	first=$(sclient "$M" "$m" "$T/s-$m" client)
	check "$m: the first connection is a full handshake, let in" grep -q '^New,.*ping' <<<"$first"
	check "$m: ... logged with its rule, not resumed" wait_log_since_mark "$LOG" \
		"\[m\] .*established $(ver "$m") .*peer=\"OU=ops, CN=client\" rule=\"allowOU=ops\"\$"
	mark_log "$LOG"
	second=$(sclient "$M" "$m" "$T/s-$m" client)
	check "$m: the second connection resumes the session (openssl says Reused), let in" grep -q '^Reused,.*ping' <<<"$second"
	check "$m: ... logged as resumed, with the client and the rule that let it in" wait_log_since_mark "$LOG" \
		"\[m\] .*established $(ver "$m") .*peer=\"OU=ops, CN=client\" rule=\"allowOU=ops\" resumed\$"
	third=$(sclient "$M" "$m" "$T/s-$m" client)
	check "$m: and again (a TLS 1.3 resumption's new ticket keeps the chain too)" grep -q '^Reused,.*ping' <<<"$third"
done
check "the resumptions are counted in the log" test "$(grep -c '\[m\] .* resumed$' "$LOG")" -eq 6

# an outsider's certificate is refused by the allow rule; its chain is dropped from the store, so its session
# does not resume: offered again, it makes a full handshake and is refused again
for m in $MODES; do
	rm -f "$T/o-$m"
	out=$(sclient "$M" "$m" "$T/o-$m" outsider)
	check "$m: a certificate no allow rule matches gets no data through" lacks ping "$out"
	check "$m: ... (the client holds the refused handshake's session)" test -s "$T/o-$m"
	mark_log "$LOG"
	out=$(sclient "$M" "$m" "$T/o-$m" outsider)
	check "$m: ... nor by offering that session" lacks ping "$out"
	check "$m: ... which does not resume (its chain was dropped): a full handshake" grep -q '^New,' <<<"$out"
	check "$m: ... judged again and refused" wait_log_since_mark "$LOG" \
		'\[m\] #[0-9]+ .*closed \(peer refused: no allow rule or pin matched \(subject "OU=other, CN=outsider"'
done

# requireCert = no: an anonymous session keeps nothing to judge again, so it is not resumed
rm -f "$T/anon"
sclient "$OPT" tls1_3 "$T/anon" - >/dev/null
mark_log "$LOG"
out=$(sclient "$OPT" tls1_3 "$T/anon" -)
check "requireCert = no: an anonymous client's next connection is a full handshake" grep -q '^New,.*ping' <<<"$out"
check "requireCert = no: ... logged as anonymous" wait_log_since_mark "$LOG" \
	'\[opt\] .*established .*rule="anonymous \(requireCert = no\)"$'

# requireCert = no: a certificate no CA vouches for is refused by the verdict after the handshake (the
# client keeps no session of a refused handshake: OpenSSL drops it on the alert)
for m in tls1_2 tls1_3; do
	rm -f "$T/r-$m"
	out=$(sclient "$OPT" "$m" "$T/r-$m" rogue -cert_chain /dev/null)
	check "$m: requireCert = no: an untrusted certificate gets no data through" lacks ping "$out"
done

# a second instance under the same ticket key decrypts the tickets, but keeps no chain for them: the client
# makes a full handshake there (and is judged on the certificate it presents)
{ echo "foreground = yes"; conf m2 "$M2"; } >"$T/m2.conf"
"$TLSWRAP" -f "$T/m2.conf" >"$T/m2.conf.log" 2>&1 &
PIDS+=($!)
wait_log "$T/m2.conf.log" 'started, pid' || not_ok "second instance starts"
for m in tls1_2 tls1_3; do
	cp "$T/s-$m" "$T/x-$m"
	out=$(sclient "$M2" "$m" "$T/x-$m" client)
	check "$m: a ticket from another instance makes a full handshake there, let in" grep -q '^New,.*ping' <<<"$out"
done

# `soon` has expired: its sessions are refused on resumption, by the verdict on the kept chain
while [ "$(date +%s)" -le "$SOON_END" ]; do sleep 1; done
for m in $MODES; do
	mark_log "$LOG"
	out=$(sclient "$M" "$m" "$T/soon-$m" soon)
	check "$m: a session whose certificate has expired since gets no data through" lacks ping "$out"
	check "$m: ... refused on resumption: the kept certificate has expired" wait_log_since_mark "$LOG" \
		'\[m\] #[0-9]+ .*closed \(peer refused: certificate verification failed: The certificate validity has expired'
done

# revoked: the CRL is reloaded; the doomed client's sessions (their tickets survive the reload: ticketKeyFile)
# are refused on resumption
for m in $MODES; do
	rm -f "$T/d-$m"
	sclient "$M" "$m" "$T/d-$m" doomed >/dev/null
	check "$m: doomed's session resumes before its revocation" grep -q '^Reused,.*ping' <<<"$(sclient "$M" "$m" "$T/d-$m" doomed)"
done
(cd "$P" && openssl ca -config inter.cnf -revoke doomed.crt 2>/dev/null && openssl ca -config inter.cnf -gencrl -out inter.crl 2>/dev/null) ||
	not_ok "doomed revoked"
mark_log "$LOG"
kill -HUP "$TLSWRAP_PID"
wait_log_since_mark "$LOG" 'configuration reloaded' || not_ok "reload"
for m in $MODES; do
	mark_log "$LOG"
	out=$(sclient "$M" "$m" "$T/d-$m" doomed)
	check "$m: a revoked client offering its session gets no data through" lacks ping "$out"
	# tickets resume and are judged again; the session-ID cache is a configuration's own (a full handshake)
	how='peer refused'
	[ "$m" = tls1_2-id ] && how='TLS handshake failed'
	check "$m: ... refused ($how): revoked" wait_log_since_mark "$LOG" \
		"\\[m\\] #[0-9]+ .*closed \\($how: certificate verification failed: The certificate has been revoked"
done
# the good client's sessions resume across the reload, judged by the new configuration
for m in tls1_2 tls1_3; do
	mark_log "$LOG"
	out=$(sclient "$M" "$m" "$T/s-$m" client)
	check "$m: after the reload the client's session resumes" grep -q '^Reused,.*ping' <<<"$out"
	check "$m: ... logged with its rule" wait_log_since_mark "$LOG" \
		"\[m\] .*established $(ver "$m") .*peer=\"OU=ops, CN=client\" rule=\"allowOU=ops\" resumed\$"
done
# (a session-ID cache is a configuration's own: that client makes a full handshake)
check "tls1_2-id: after the reload the client is let in" grep -q 'ping' <<<"$(sclient "$M" tls1_2-id "$T/s-tls1_2-id" client)"

# a session found for the ClientHello but not resumed, as the client asked for a PSK suite only: the handshake
# is keyed by the PSK, so the session's kept chain does not stand for the client. Anyone who saw the victim's
# session ID (sent in the clear) and holds a PSK would otherwise get in as the victim, without a certificate.
rm -f "$T/v-psk"
out=$(sclient "$MP" tls1_2-id "$T/v-psk" client)
check "PSK + mTLS service: the victim gets in with its certificate (full handshake)" grep -q '^New,.*ping' <<<"$out"
check "PSK + mTLS service: ... and resumes its session" grep -q '^Reused,.*ping' <<<"$(sclient "$MP" tls1_2-id "$T/v-psk" client)"
mark_log "$LOG"
out=$(sclient "$MP" tls1_2-id "$T/v-psk" - -cipher PSK-AES128-GCM-SHA256 -psk "$PSKHEX" -psk_identity ops-psk)
check "PSK + mTLS service: a PSK client offering the victim's session ID gets a full PSK handshake" \
	grep -q '^New,' <<<"$out"
check "PSK + mTLS service: ... and no data through (requireCert: no certificate)" lacks ping "$out"
check "PSK + mTLS service: ... refused as having no certificate, not let in as the victim" wait_log_since_mark "$LOG" \
	'\[pskm\] #[0-9]+ .*closed \(peer refused: no certificate presented'
check "PSK + mTLS service: ... and never logged as the victim" eval "! since_mark '$LOG' 'pskm.*CN=client'"

stop_checked "$LOG"

# verifyPeer, pins and checkHost are judged again on resumption: each lets the client in and resumes; a reload
# that changes the rule (the tickets survive it: ticketKeyFile) refuses the same session on resumption
pin_of() { openssl x509 -in "$P/$1.crt" -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64; }
read -r VP PN CH <<<"$(free_ports 3)"
rules() { # PEERFILE PIN HOST
	echo "foreground = yes"
	printf '[vp]\naccept = 127.0.0.1:%s\nconnect = 127.0.0.1:%s\ncert = %s/server.crt\nkey = %s/server.key\n' "$VP" "$E" "$P" "$P"
	printf 'CAfile = %s\nverifyPeer = yes\nrequireCert = yes\nticketKeyFile = %s/ticket.key\n' "$1" "$T"
	for svc in pn ch; do
		port=$PN; [ $svc = ch ] && port=$CH
		printf '[%s]\naccept = 127.0.0.1:%s\nconnect = 127.0.0.1:%s\ncert = %s/server.crt\nkey = %s/server.key\n' "$svc" "$port" "$E" "$P" "$P"
		printf 'CAfile = %s/root.crt\nverifyChain = yes\nrequireCert = yes\nticketKeyFile = %s/ticket.key\n' "$P" "$T"
		[ $svc = pn ] && printf 'pinSHA256 = sha256//%s\n' "$2"
		[ $svc = ch ] && printf 'checkHost = %s\n' "$3"
	done
}
cat "$P/client.crt" "$P/inter.crt" >"$T/peers.pem"
cat "$P/outsider.crt" "$P/inter.crt" >"$T/others.pem"
rules "$T/peers.pem" "$(pin_of client)" client >"$T/rules.conf"
start_tlswrap "$T/rules.conf" || { not_ok "rules instance starts"; finish; }
RLOG=$T/rules.conf.log
for m in tls1_2 tls1_3; do
	for svc in vp pn ch; do
		port=$VP; [ $svc = pn ] && port=$PN; [ $svc = ch ] && port=$CH
		rm -f "$T/$svc-$m"
		check "$m [$svc]: the client gets in" grep -q '^New,.*ping' <<<"$(sclient "$port" "$m" "$T/$svc-$m" client)"
		mark_log "$RLOG"
		check "$m [$svc]: ... and resumes" grep -q '^Reused,.*ping' <<<"$(sclient "$port" "$m" "$T/$svc-$m" client)"
		check "$m [$svc]: ... logged as resumed" wait_log_since_mark "$RLOG" "\[$svc\] .*established .* resumed\$"
	done
done
rules "$T/others.pem" "$(pin_of outsider)" someone-else >"$T/rules.conf"
mark_log "$RLOG"
kill -HUP "$TLSWRAP_PID"
wait_log_since_mark "$RLOG" 'configuration reloaded' || not_ok "rules reload"
for m in tls1_2 tls1_3; do
	for svc in vp pn ch; do
		port=$VP; [ $svc = pn ] && port=$PN; [ $svc = ch ] && port=$CH
		case $svc in
		vp) why='verifyPeer: certificate is not in CAfile' ;;
		pn) why='no allow rule or pin matched' ;;
		ch) why='name check failed' ;;
		esac
		mark_log "$RLOG"
		out=$(sclient "$port" "$m" "$T/$svc-$m" client)
		check "$m [$svc] after the rule changed: the client's session resumes (openssl says Reused)" \
			grep -q '^Reused,' <<<"$out"
		check "$m [$svc]: ... and gets no data through" lacks ping "$out"
		check "$m [$svc]: ... refused on resumption ($why)" wait_log_since_mark "$RLOG" \
			"\[$svc\] #[0-9]+ .*closed \(peer refused: $why"
	done
done
stop_checked "$RLOG"
finish
