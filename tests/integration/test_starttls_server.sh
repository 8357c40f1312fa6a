#!/usr/bin/env bash
# STARTTLS in server mode: tlswrap speaks the plaintext opening (greeting, capabilities with STARTTLS),
# upgrades on STARTTLS and relays to a plain backend whose own greeting the client never sees.
. "$(dirname "$0")/lib.sh"
make_pki
conf="$T/srv.conf"
printf 'foreground = yes\ncert = %s\nkey = %s\n' "$PKI/server.crt" "$PKI/server.key" >"$conf"
declare -A S
for proto in smtp imap pop3; do
	b=$(free_port); S[$proto]=$(free_port)
	bg python3 "$TESTS_SRCDIR/integration/mail_server.py" "$proto" "$b" "$PKI/server.crt" "$PKI/server.key" \
		"$T/$proto-backend.log" plain
	wait_port "$b"
	printf '[%s]\naccept = 127.0.0.1:%s\nconnect = 127.0.0.1:%s\nprotocol = %s\n' "$proto" "${S[$proto]}" "$b" "$proto" >>"$conf"
done
start_tlswrap "$conf" || { not_ok "tlswrap starts"; finish; }
LOG=$conf.log
for proto in smtp imap pop3; do
	out=$( (echo "hello $proto inside"; sleep 1) | timeout 10 openssl s_client -starttls "$proto" \
		-connect "127.0.0.1:${S[$proto]}" -CAfile "$PKI/ca.crt" -verify_return_error -quiet 2>/dev/null | tr -d '\r')
	check "$proto: openssl s_client -starttls upgrades and reaches the plain backend" \
		grep -qE "^(250 )?plain: hello $proto inside\$" <<<"$out"
	check "$proto: the backend's own greeting is not shown inside the session" bash -c "! grep -q 'backend ready\|backend ESMTP' <<<'$out'"
	check "$proto: established with TLS 1.3" wait_log "$LOG" "\\[$proto\\] #[0-9]+ .*established TLSv1\\.3"
done
# plaintext commands before STARTTLS are refused, QUIT works, and nothing may follow STARTTLS in plaintext
plain() { # plain PORT LINES...: send each line, print every reply
	python3 - "$@" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
time.sleep(0.2)
for line in sys.argv[2:]:
    s.sendall(line.encode().replace(b"\\n", b"\n"))
    time.sleep(0.2)
s.shutdown(socket.SHUT_WR)
data = b""
try:
    while chunk := s.recv(4096):
        data += chunk
except OSError:
    pass
print(data.decode(errors="replace").replace("\r", ""), end="")
PY
}
out=$(plain "${S[smtp]}" $'MAIL FROM:<a@b>\r\n' $'EHLO me\r\n' $'QUIT\r\n')
check "smtp: MAIL before STARTTLS is refused with 530" grep -q '^530 5.7.0 Must issue a STARTTLS command first' <<<"$out"
check "smtp: EHLO offers STARTTLS" grep -q '^250-STARTTLS' <<<"$out"
check "smtp: QUIT answers 221" grep -q '^221 ' <<<"$out"
out=$(plain "${S[imap]}" $'a1 LOGIN u p\r\n' $'a2 CAPABILITY\r\n' $'a3 LOGOUT\r\n')
check "imap: LOGIN before STARTTLS is refused" grep -q '^a1 NO \[PRIVACYREQUIRED\]' <<<"$out"
check "imap: CAPABILITY lists STARTTLS" grep -q '^\* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED' <<<"$out"
out=$(plain "${S[pop3]}" $'USER u\r\n' $'CAPA\r\n' $'QUIT\r\n')
check "pop3: USER before STLS is refused" grep -q '^-ERR STLS first' <<<"$out"
check "pop3: CAPA lists STLS" grep -qx 'STLS' <<<"$out"
plain "${S[smtp]}" $'STARTTLS\r\nMAIL FROM:<injected@x>\r\n' >/dev/null
check "smtp: plaintext after STARTTLS (command injection) closes the connection" \
	wait_log "$LOG" '\[smtp\].*closed \(STARTTLS: plaintext sent after the STARTTLS command\)'
check "smtp: and nothing reached the backend" bash -c "! grep -q injected '$T/smtp-backend.log'"
if command -v swaks >/dev/null; then
	out=$(timeout 20 swaks --server 127.0.0.1 --port "${S[smtp]}" --tls --tls-verify --tls-ca-path "$PKI/ca.crt" \
		--quit-after RCPT --to user@example.test --from a@example.test 2>&1)
	check "swaks --tls: the upgrade succeeds and the session continues inside TLS" grep -q 'plain: EHLO' <<<"$out"
else
	echo "# swaks not installed: skipped"
fi
finish
