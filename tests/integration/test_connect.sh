#!/usr/bin/env bash
# protocol = connect: client mode reaching a TLS origin through a real HTTP proxy (tinyproxy), with and
# without Basic authentication, and every way the proxy can say no.
. "$(dirname "$0")/lib.sh"
command -v tinyproxy >/dev/null || skip_all "tinyproxy not installed"
make_pki
O=$(free_port); P=$(free_port); PA=$(free_port); DEAD=$(free_port); STALL=$(free_port); BAD=$(free_port); HALF=$(free_port)
bg openssl s_server -accept "127.0.0.1:$O" -cert "$PKI/server.crt" -key "$PKI/server.key" -www -quiet
wait_port "$O"
for p in "$P" "$PA"; do
	{
		printf 'Port %s\nListen 127.0.0.1\nPidFile "%s/tp%s.pid"\nLogFile "%s/tp%s.log"\nAllow 127.0.0.1\n' \
			"$p" "$T" "$p" "$T" "$p"
		[ "$p" = "$PA" ] && printf 'BasicAuth user s3cret\n'
	} >"$T/tp$p.conf"
	bg tinyproxy -d -c "$T/tp$p.conf"
	wait_port "$p"
done
# a proxy that never answers, and one that is not HTTP at all
bg python3 -c "
import socket
srv = socket.create_server(('127.0.0.1', $STALL)); held = []
while True: held.append(srv.accept()[0])"
bg python3 -c "
import socket
srv = socket.create_server(('127.0.0.1', $BAD))
while True:
    c, _ = srv.accept(); c.recv(4096); c.sendall(b'SSH-2.0-OpenSSH_9.2\r\n'); c.close()"
bg python3 -c "
import socket
srv = socket.create_server(('127.0.0.1', $HALF))
while True:
    c, _ = srv.accept(); c.recv(4096); c.sendall(b'HTTP/1.1 200 Connection est'); c.close()"
wait_port "$STALL"; wait_port "$BAD"; wait_port "$HALF"
svc() { # svc NAME PROXY-PORT ORIGIN [extra lines]
	printf '[%s]\naccept = 127.0.0.1:%s\nconnect = 127.0.0.1:%s\nprotocolHost = %s\n%s\n' "$1" "$(free_port)" "$2" "$3" "${4:-}"
}
{
	printf 'foreground = yes\nclient = yes\nprotocol = connect\nCAfile = %s\nTIMEOUTbusy = 2\n' "$PKI/ca.crt"
	svc plain "$P" "localhost:$O"
	svc auth "$PA" "localhost:$O" "protocolUsername = user
protocolPassword = s3cret
protocolHeader = X-Tunnel: tlswrap-test"
	svc wrongpass "$PA" "localhost:$O" "protocolUsername = user
protocolPassword = not-the-password"
	svc closedport "$P" "localhost:$DEAD"
	svc stall "$STALL" "localhost:$O"
	svc nothttp "$BAD" "localhost:$O"
	svc halfanswer "$HALF" "localhost:$O"
} >"$T/c.conf"
start_tlswrap "$T/c.conf" || { not_ok "tlswrap starts"; check "a proxy that closes in the middle of its answer: refused" test -z "$(get halfanswer)"
check "  for that reason, not at TIMEOUTbusy" wait_log "$LOG" '\[halfanswer\].*closed \(proxy closed the connection in the middle of its answer'
printf 'foreground = yes\n[c]\nclient = yes\naccept = 1\nconnect = 127.0.0.1:%s\nprotocol = connect\nprotocolHost = localhost:%s\nprotocolHeader = no colon here\nverifyChain = no\n' "$P" "$O" >"$T/badhdr.conf"
check "a malformed protocolHeader is a configuration error" bash -c "! '$TLSWRAP' --check '$T/badhdr.conf' 2>&1 | grep -q OK"
finish; }
LOG=$T/c.conf.log
port_of() { awk -v s="[$1]" '$0 == s {f=1} f && /^accept/ {sub(/.*:/, ""); print; exit}' "$T/c.conf"; }
get() { timeout 10 curl -s "http://127.0.0.1:$(port_of "$1")/" 2>/dev/null; }
check "through the proxy: the origin's page" bash -c "grep -q 's_server -accept' <<<\"\$(curl -s http://127.0.0.1:$(port_of plain)/)\""
check "the origin's certificate verified against protocolHost's name" \
	wait_log "$LOG" '\[plain\] #[0-9]+ .*established TLSv1\.3 .* peer="CN=localhost" rule="verifyChain"'
check "Basic authentication accepted" bash -c "grep -q 's_server -accept' <<<\"\$(curl -s http://127.0.0.1:$(port_of auth)/)\""
check "wrong password: nothing comes through" test -z "$(get wrongpass)"
check "wrong password: the proxy's status line is logged" wait_log "$LOG" '\[wrongpass\].*closed \(proxy refused CONNECT: HTTP/1\.[01] 401 Unauthorized\)'
check "the password never appears in the log" bash -c "! grep -q -e not-the-password -e s3cret '$LOG'"
check "closed origin port: nothing comes through" test -z "$(get closedport)"
check "closed origin port: refusal logged" wait_log "$LOG" '\[closedport\].*closed \(proxy refused CONNECT: HTTP/1\.[01] 5[0-9][0-9] '
check "stalled proxy: connection closed" test -z "$(get stall)"
check "stalled proxy: dropped after TIMEOUTbusy" wait_log "$LOG" '\[stall\].*closed \(TIMEOUTbusy: proxy CONNECT not finished after 2s\)'
check "non-HTTP proxy: refused" test -z "$(get nothttp)"
check "non-HTTP proxy: logged" wait_log "$LOG" '\[nothttp\].*closed \(proxy refused CONNECT: .*non-HTTP'
check "a proxy that closes in the middle of its answer: refused" test -z "$(get halfanswer)"
check "  for that reason, not at TIMEOUTbusy" wait_log "$LOG" '\[halfanswer\].*closed \(proxy closed the connection in the middle of its answer'
printf 'foreground = yes\n[c]\nclient = yes\naccept = 1\nconnect = 127.0.0.1:%s\nprotocol = connect\nprotocolHost = localhost:%s\nprotocolHeader = no colon here\nverifyChain = no\n' "$P" "$O" >"$T/badhdr.conf"
check "a malformed protocolHeader is a configuration error" bash -c "! '$TLSWRAP' --check '$T/badhdr.conf' 2>&1 | grep -q OK"
finish
