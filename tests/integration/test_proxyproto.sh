#!/usr/bin/env bash
# The PROXY protocol with HAProxy on both sides: tlswrap sends v1/v2 headers that HAProxy parses
# (accept-proxy), and accepts HAProxy's send-proxy-v2 in front (acceptProxy), passing the client on.
. "$(dirname "$0")/lib.sh"
command -v haproxy >/dev/null || skip_all "haproxy not installed"
make_pki
H=$(free_port); F=$(free_port); S1=$(free_port); S2=$(free_port); S3=$(free_port); S4=$(free_port); S5=$(free_port)
# HAProxy as the parser behind tlswrap: it answers with the addresses the PROXY header gave it.
# HAProxy as the sender in front of tlswrap: TCP passthrough to [in-front] with send-proxy-v2.
cat >"$T/haproxy.cfg" <<CFG
defaults
	timeout connect 2s
	timeout client 5s
	timeout server 5s
frontend parser
	mode http
	bind 127.0.0.1:$H accept-proxy
	http-request return status 200 content-type text/plain lf-string "src=%[src]:%[src_port] dst=%[dst]:%[dst_port] authority=%[fc_pp_authority]\n"
frontend sender
	mode tcp
	bind 127.0.0.1:$F
	default_backend to_tlswrap
backend to_tlswrap
	mode tcp
	server t 127.0.0.1:$S3 send-proxy-v2
CFG
haproxy -c -q -f "$T/haproxy.cfg" || { not_ok "haproxy accepts its test configuration"; finish; }
bg haproxy -db -f "$T/haproxy.cfg"
wait_port "$H"
cat >"$T/pp.conf" <<CONF
foreground = yes
cert = $PKI/server.crt
key = $PKI/server.key
[v1]
accept = 127.0.0.1:$S1
connect = 127.0.0.1:$H
protocol = proxy
[v2]
accept = 127.0.0.1:$S2
connect = 127.0.0.1:$H
proxyProtocol = v2
[in-front]
accept = 127.0.0.1:$S3
connect = 127.0.0.1:$H
acceptProxy = yes
protocol = proxy
[direct]
accept = 127.0.0.1:$S4
connect = 127.0.0.1:$H
acceptProxy = yes
[off]
accept = 127.0.0.1:$S5
connect = 127.0.0.1:$H
protocol = proxy
proxyProtocol = no
CONF
start_tlswrap "$T/pp.conf" || { not_ok "tlswrap starts"; finish; }
LOG=$T/pp.conf.log
# ask PORT [SNI]: a TLS client; prints its own port, then what came back
ask() {
	python3 - "$1" "${2:-localhost}" "$PKI/ca.crt" <<'PY'
import socket, ssl, sys
port, name, ca = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context(cafile=ca)
ctx.check_hostname = False
raw = socket.create_connection(("127.0.0.1", port), timeout=10)
print("me=127.0.0.1:%d" % raw.getsockname()[1])
s = ctx.wrap_socket(raw, server_hostname=name)
s.sendall(b"GET / HTTP/1.0\r\n\r\n")
data = b""
try:
    while chunk := s.recv(4096):
        data += chunk
except (ssl.SSLError, OSError):
    pass
print(data.decode(errors="replace"))
PY
}
out=$(ask "$S1")
me=$(sed -n 's/^me=//p' <<<"$out")
check "v1: HAProxy sees the TLS client's own address and port" grep -q "src=$me dst=127.0.0.1:$S1" <<<"$out"
out=$(ask "$S2" sni.example)
me=$(sed -n 's/^me=//p' <<<"$out")
check "v2: HAProxy sees the client's address and port" grep -q "src=$me dst=127.0.0.1:$S2" <<<"$out"
check "v2: the SNI name travels as the authority TLV" grep -q "authority=sni.example" <<<"$out"
out=$(ask "$F")
me=$(sed -n 's/^me=//p' <<<"$out")
check "acceptProxy: HAProxy's header in front gives tlswrap the real client" wait_log "$LOG" "\[in-front\] #[0-9]+ $me: established"
check "acceptProxy: and tlswrap passes that client on to the backend" grep -q "src=$me dst=127.0.0.1:$F" <<<"$out"
out=$(ask "$S4")
check "acceptProxy: a connection without a PROXY header is dropped" bash -c "! grep -q 'src=' <<<'$out'"
check "acceptProxy: the missing header is logged" wait_log "$LOG" '\[direct\].*closed \(bad PROXY header: '
python3 -c "
import socket
s = socket.create_connection(('127.0.0.1', $S4)); s.sendall(b'PROXY TCP4 1.2.3.4 5.6'); s.close()"
check "acceptProxy: half a header then a close is dropped at once" \
	wait_log "$LOG" '\[direct\].*closed \(bad PROXY header: connection closed in the middle of the header' 10
out=$(ask "$S5")
check "proxyProtocol = no turns protocol = proxy off (HAProxy gets no header and refuses)" bash -c "! grep -q 'src=' <<<'$out'"
finish
