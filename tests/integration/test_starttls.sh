#!/usr/bin/env bash
# STARTTLS in client mode (protocol = smtp | imap | pop3, stunnel's behaviour): the server's greeting is
# relayed to the local client, tlswrap negotiates the upgrade, and the client's own session then runs
# inside TLS. A server that does not offer or refuses the upgrade gets nothing in plaintext.
. "$(dirname "$0")/lib.sh"
make_pki
conf="$T/st.conf"
printf 'foreground = yes\nclient = yes\nCAfile = %s\n' "$PKI/ca.crt" >"$conf"
declare -A C
for proto in smtp imap pop3; do
	for mode in ok nostarttls refuse long; do
		[ "$proto" = pop3 ] && [ "$mode" = nostarttls ] && continue # POP3 has no capability step here
		[ "$proto" = pop3 ] && [ "$mode" = long ] && continue       # nor a reply of several lines
		m=$(free_port); C[$proto-$mode]=$(free_port)
		bg python3 "$TESTS_SRCDIR/integration/mail_server.py" "$proto" "$m" "$PKI/server.crt" "$PKI/server.key" \
			"$T/$proto-$mode.log" "$mode"
		wait_port "$m"
		printf '[%s-%s]\naccept = 127.0.0.1:%s\nconnect = localhost:%s\nprotocol = %s\n' "$proto" "$mode" \
			"${C[$proto-$mode]}" "$m" "$proto" >>"$conf"
	done
done
SILENT=$(free_port); CS=$(free_port)
bg python3 -c "
import socket
srv = socket.create_server(('127.0.0.1', $SILENT)); held = []
while True: held.append(srv.accept()[0])"
wait_port "$SILENT"
printf '[silent]\naccept = 127.0.0.1:%s\nconnect = localhost:%s\nprotocol = smtp\nTIMEOUTbusy = 1\n' "$CS" "$SILENT" >>"$conf"
start_tlswrap "$conf" || { not_ok "tlswrap starts"; finish; }
LOG=$conf.log
# talk PORT: read the greeting, send a line, print everything received until the server closes
talk() {
	python3 - "$1" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
data = b""
try:
    while b"ready\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    s.sendall(b"hello inside\r\n")
    s.shutdown(socket.SHUT_WR)
    while chunk := s.recv(4096):
        data += chunk
except OSError:
    pass
print(data.decode(errors="replace").replace("\r", ""), end="")
PY
}
greeting() { case $1 in smtp) echo "220-mail.test ESMTP"; echo "220 ready" ;; imap) echo "* OK IMAP4rev1 test ready" ;; pop3) echo "+OK POP3 test ready" ;; esac; }
for proto in smtp imap pop3; do
	out=$(talk "${C[$proto-ok]}")
	check "$proto: the greeting reaches the local client, then its session runs inside TLS" \
		test "$out" = "$(greeting "$proto")
tls: hello inside"
	check "$proto: the server saw TLS" grep -q '^tls up TLSv1.3' "$T/$proto-ok.log"
	check "$proto: established after the upgrade, certificate verified" \
		wait_log "$LOG" "\\[$proto-ok\\] #[0-9]+ .*established TLSv1\\.3 .*peer=\"CN=localhost\""
	talk "${C[$proto-refuse]}" >/dev/null
	check "$proto: a refused upgrade closes the connection with the reply logged" \
		wait_log "$LOG" "\\[$proto-refuse\\].*closed \\(STARTTLS refused: "
	check "$proto: nothing is sent in plaintext after the refusal" wait_log "$T/$proto-refuse.log" "^after refusal: b''$"
done
# replies far larger than a read: consumed line by line, the greeting relayed whole
out=$(talk "${C[smtp-long]}")
check "smtp: a 10,002-line greeting reaches the local client whole, a 1,203-line EHLO reply is taken" \
	test "$(grep -c '^220-greeting line' <<<"$out") $(tail -1 <<<"$out")" = "10000 tls: hello inside"
check "smtp: established after the long replies" wait_log "$LOG" '\[smtp-long\] #[0-9]+ .*established TLSv1\.3'
out=$(talk "${C[imap-long]}")
check "imap: a CAPABILITY reply of 20,002 lines is taken, STARTTLS found among them" \
	test "$(tail -1 <<<"$out")" = "tls: hello inside"
for proto in smtp imap; do
	talk "${C[$proto-nostarttls]}" >/dev/null
	check "$proto: a server that does not offer STARTTLS is refused" \
		wait_log "$LOG" "\\[$proto-nostarttls\\].*closed \\(STARTTLS refused: server does not offer STARTTLS\\)"
done
python3 -c "
import socket
s = socket.create_connection(('127.0.0.1', $CS), timeout=10)
s.recv(100)" 2>/dev/null
check "a server that never greets: dropped after TIMEOUTbusy, named as the STARTTLS opening" \
	wait_log "$LOG" '\[silent\].*closed \(TIMEOUTbusy: STARTTLS opening not finished after 1s\)'
finish
