#!/usr/bin/env bash
# inetd mode: a configuration without sections (or --inetd) serves one connection on stdin/stdout, as
# stunnel does, in server and in client mode.
. "$(dirname "$0")/lib.sh"
make_pki
E=$(free_port); I=$(free_port); I2=$(free_port); S=$(free_port)
echo_server "$E"
printf 'output = %s/inetd.log\ncert = %s\nkey = %s\nconnect = 127.0.0.1:%s\n' "$T" "$PKI/server.crt" "$PKI/server.key" "$E" \
	>"$T/inetd.conf"
check "--check: a file without sections is one inetd service" bash -c "'$TLSWRAP' --check '$T/inetd.conf' | grep -q 'OK (1 service, inetd mode)'"
# a minimal inetd: each connection to PORT runs tlswrap with the socket as stdin, stdout and stderr
inetd() { # inetd PORT ARGS...
	local port=$1; shift
	bg python3 -c "
import socket, subprocess, sys
srv = socket.create_server(('127.0.0.1', $port))
while True:
    c, _ = srv.accept()
    subprocess.Popen(sys.argv[1:], stdin=c, stdout=c, stderr=c)
    c.close()
" "$@"
	wait_port "$port"
}
inetd "$I" "$TLSWRAP" "$T/inetd.conf"
check "server mode: a TLS client is served through inetd" python3 "$TESTS_SRCDIR/integration/tls_client.py" tls "$I" "$PKI/ca.crt"
check "logged to the output file, not onto the client's socket" wait_log "$T/inetd.log" '\[inetd\] #1 .*established TLSv1\.3'
inetd_child_gone() { ! pgrep -f "^$TLSWRAP $T/inetd.conf" >/dev/null; }
check "tlswrap exits when the connection ends" eventually inetd_child_gone
# an error before serving goes to the log, never onto the client's socket (inetd made it stderr)
I4=$(free_port); I5=$(free_port)
printf 'output = %s/inetd4.log\ncert = %s/missing.crt\nkey = %s\nconnect = 127.0.0.1:%s\n' "$T" "$PKI" "$PKI/server.key" "$E" \
	>"$T/inetd4.conf"
printf 'cert = %s\nbogus = 1\nconnect = 127.0.0.1:%s\n' "$PKI/server.crt" "$E" >"$T/inetd5.conf"
inetd "$I4" "$TLSWRAP" "$T/inetd4.conf"
inetd "$I5" "$TLSWRAP" "$T/inetd5.conf"
read_all() { python3 -c "
import socket, sys
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=10)
data = b''
while chunk := s.recv(4096):
    data += chunk
print(repr(data))" "$1"; }
check "a certificate error: the client reads nothing" test "$(read_all "$I4")" = "b''"
check "and the error is in the output file" wait_log "$T/inetd4.log" "ERROR $T/inetd4.conf:2: \\[inetd\\] cert $PKI/missing.crt: No such file"
check "a configuration error before the log is open: the client reads nothing either" test "$(read_all "$I5")" = "b''"
# client mode through --inetd with a sectioned file (no accept needed), to a tlswrap server
cat >"$T/srv.conf" <<CONF
foreground = yes
[srv]
accept = 127.0.0.1:$S
connect = 127.0.0.1:$E
cert = $PKI/server.crt
key = $PKI/server.key
CONF
start_tlswrap "$T/srv.conf" || not_ok "server starts"
printf 'output = %s/inetd2.log\n[c]\nclient = yes\nconnect = localhost:%s\nCAfile = %s\n' "$T" "$S" "$PKI/ca.crt" >"$T/cli.conf"
inetd "$I2" "$TLSWRAP" --inetd "$T/cli.conf"
check "client mode with --inetd: plaintext in, TLS out" python3 "$TESTS_SRCDIR/integration/tls_client.py" line "$I2"
out=$(printf 'foreground = yes\n[a]\naccept = 1\nconnect = 2\ncert = %s\n[b]\naccept = 3\nconnect = 4\ncert = %s\n' "$PKI/server.crt" "$PKI/server.crt" >"$T/two.conf"; "$TLSWRAP" --inetd "$T/two.conf" 2>&1 </dev/null)
check "--inetd with two services is refused" grep -q -- "--inetd needs exactly one service" <<<"$out"
# inetd mode drops privileges too: an exec'd program reports whom it runs as
if [ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1; then
	I3=$(free_port)
	chmod 755 "$T" "$PKI"
	printf 'output = %s/inetd3.log\nsetuid = nobody\nsetgid = nogroup\ncert = %s\nkey = %s\nexec = /usr/bin/id\nexecArgs = id -un\n' \
		"$T" "$PKI/server.crt" "$PKI/server.key" >"$T/inetd3.conf"
	inetd "$I3" "$TLSWRAP" "$T/inetd3.conf"
	out=$(python3 - "$I3" "$PKI/ca.crt" <<'PY'
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10), server_hostname="localhost")
data = b""
while chunk := s.recv(100):
    data += chunk
print(data.decode().strip())
PY
)
	check "inetd mode: setuid applies (the program runs as nobody)" test "$out" = nobody
fi
finish
