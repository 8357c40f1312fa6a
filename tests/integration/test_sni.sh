#!/usr/bin/env bash
# Server-mode SNI routing (stunnel's secondary services: sni = PRIMARY:PATTERN): the client's server
# name picks the certificate, the verification settings and the backend.
. "$(dirname "$0")/lib.sh"
make_pki
(
	cd "$PKI" || exit 1
	for n in alpha beta; do
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $n.key -out $n.csr \
			-subj "/CN=$n.example" 2>/dev/null
		printf 'subjectAltName=DNS:%s.example,DNS:*.%s.example\n' $n $n >$n.ext
		openssl x509 -req -in $n.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out $n.crt -days 30 \
			-extfile $n.ext 2>/dev/null
	done
)
B0=$(free_port); B1=$(free_port); B2=$(free_port); S=$(free_port)
# three backends that say who they are
for b in "$B0:default" "$B1:alpha" "$B2:beta"; do
	bg python3 -c "
import socket
srv = socket.create_server(('127.0.0.1', ${b%%:*}))
while True:
    c, _ = srv.accept()
    c.sendall(b'backend ${b#*:}\n')
    c.close()
"
	wait_port "${b%%:*}"
done
cat >"$T/sni.conf" <<CONF
foreground = yes
[web]
accept = 127.0.0.1:$S
connect = 127.0.0.1:$B0
cert = $PKI/server.crt
key = $PKI/server.key
[alpha]
; two patterns for one secondary, as stunnel allows
sni = web:*.alpha.example
sni = web:ALPHA.example
connect = 127.0.0.1:$B1
cert = $PKI/alpha.crt
key = $PKI/alpha.key
[beta]
sni = web:beta.example
connect = 127.0.0.1:$B2
cert = $PKI/beta.crt
key = $PKI/beta.key
CAfile = $PKI/ca.crt
verifyChain = yes
CONF
check "--check accepts secondary services" "$TLSWRAP" --check "$T/sni.conf"
start_tlswrap "$T/sni.conf" || { not_ok "tlswrap starts"; finish; }
LOG=$T/sni.conf.log

# ask NAME [extra s_client args]: prints the server certificate's subject and what the backend said
ask() {
	local name=$1; shift
	local sni=(-servername "$name")
	[ "$name" = - ] && sni=(-noservername)
	# -ign_eof: read until the backend has spoken and closed
	timeout 10 openssl s_client -connect "127.0.0.1:$S" "${sni[@]}" -CAfile "$PKI/ca.crt" -ign_eof "$@" </dev/null 2>/dev/null |
		grep -E '^subject=|^backend' | tr '\n' ' '
}
check "no SNI: the primary's certificate and backend" grep -q 'subject=CN = localhost backend default' <<<"$(ask -)"
check "unknown name: stays on the primary" grep -q 'subject=CN = localhost backend default' <<<"$(ask other.example)"
check "wildcard pattern routes www.alpha.example" grep -q 'subject=CN = alpha.example backend alpha' <<<"$(ask www.alpha.example)"
check "a second sni line adds a pattern" grep -q '\[alpha\] server mode: clients of \[web\] asking for \*.alpha.example or ALPHA.example' "$LOG"
check "exact pattern (the second) matches without regard to case" grep -q 'subject=CN = alpha.example backend alpha' <<<"$(ask alpha.EXAMPLE)"
check "*.alpha.example does not match a.b.alpha.example" grep -q 'backend default' <<<"$(ask a.b.alpha.example)"
check "beta requires a client certificate: refused without one" bash -c "! grep -q backend <<<'$(ask beta.example)'"
check "beta with a client certificate: its own certificate and backend" \
	grep -q 'subject=CN = beta.example backend beta' <<<"$(ask beta.example -cert "$PKI/client.crt" -key "$PKI/client.key")"
check "routing logged with the name and the route" \
	grep -q '\[web\] #[0-9]* .*established .* sni=beta.example route=\[beta\]' "$LOG"
check "beta's refusal logged" grep -q '\[web\].*closed (TLS handshake failed' "$LOG"
finish
