#!/bin/bash
# Interop: tlswrap against real TLS peers on 127.0.0.1.
#   server mode: openssl s_client (TLS 1.2/1.3), curl (HTTP backend), python3 ssl
#   client mode: openssl s_server (-www, -rev; TLS 1.2/1.3), nginx (fetched with curl over plain HTTP)
#   stunnel4 on the other end in both directions, TLS 1.2 and 1.3
#   client certificates both ways, cipher selection (ciphersuites / ciphers)
# One tlswrap process runs every service; each check uses its own service so its log lines are its own.
. "$(dirname "$0")/lib.sh"

for tool in openssl curl python3; do
	command -v "$tool" >/dev/null || skip_all "$tool not installed"
done
STUNNEL=$(command -v stunnel4 || command -v stunnel || true)
NGINX=$(command -v nginx || PATH=$PATH:/usr/sbin:/sbin command -v nginx || true)

make_pki

# ---------------------------------------------------------------------------------------------------------------
# local helpers

# poll SECONDS CMD...: until CMD succeeds (0) or the deadline passes (1)
poll() {
	local deadline=$((SECONDS + $1)); shift
	while [ $SECONDS -le "$deadline" ]; do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}

# port VAR: a free port, distinct from every port this test already took
USED_PORTS=" "
port() {
	local p
	while :; do
		p=$(free_port)
		case $USED_PORTS in *" $p "*) continue ;; esac
		break
	done
	USED_PORTS="$USED_PORTS$p "
	printf -v "$1" '%s' "$p"
}

LOG=$T/tlswrap.conf.log
# svc_log SVC: the tlswrap log lines of service SVC
svc_log() { grep -F "[$1] " "$LOG"; }
# svc_has SVC ERE: one of SVC's log lines matches ERE
svc_has() { svc_log "$1" | grep -Eq -- "$2"; }
# closed_count SVC: how many connection ends SVC logged
closed_count() { svc_log "$1" | grep -Ec '#[0-9]+ .*closed \(' ; }
# wait_closed SVC [N]: until SVC logged the end of N connections (default 1)
wait_closed() {
	poll 10 eval "[ \$(closed_count '$1') -ge ${2:-1} ]" && return 0
	echo "# [$1] never logged ${2:-1} closed connection(s):" >&2
	tail -n 20 "$LOG" >&2
	return 1
}
# same FILE1 FILE2: byte-identical, non-empty
same() { [ -s "$1" ] && cmp -s "$1" "$2"; }
# hasF FILE STRING: FILE has a line holding STRING
hasF() { grep -Fq -- "$2" "$1" 2>/dev/null; }

# s_client_echo SVC PORT NAME [s_client args...]: send a line through openssl s_client to tlswrap's SVC on PORT
# (which relays to the echo server). Output in $T/NAME.out (expected: $T/NAME.exp), stderr in $T/NAME.err.
# stdin stays open until the echo came back or SVC logged the connection's end, then s_client closes.
s_client_echo() {
	local svc=$1 p=$2 name=$3; shift 3
	local msg="interop $name $RANDOM$RANDOM" n
	n=$(closed_count "$svc")
	printf '%s\n' "$msg" >"$T/$name.exp"
	: >"$T/$name.out"
	{
		printf '%s\n' "$msg"
		poll 10 eval "hasF '$T/$name.out' '$msg' || [ \$(closed_count '$svc') -gt $n ]"
	} | timeout 10 openssl s_client -connect "127.0.0.1:$p" -servername localhost -quiet -no_ign_eof \
		-CAfile "$PKI/ca.crt" -verify_return_error "$@" >"$T/$name.out" 2>"$T/$name.err"
}

cat >"$T/tcp_roundtrip.py" <<'EOF'
# tcp_roundtrip.py PORT IN OUT: send IN over plain TCP (then half-close), write what comes back until EOF to OUT
import socket, sys, threading
port, inp, outp = int(sys.argv[1]), sys.argv[2], sys.argv[3]
data = open(inp, 'rb').read()
s = socket.create_connection(('127.0.0.1', port), timeout=10)
def send():
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
t = threading.Thread(target=send, daemon=True)
t.start()
got = []
try:
    while True:
        b = s.recv(65536)
        if not b:
            break
        got.append(b)
except OSError as e:
    print('recv: %s' % e, file=sys.stderr)
open(outp, 'wb').write(b''.join(got))
EOF
cat >"$T/tls_echo.py" <<'EOF'
# tls_echo.py PORT CAFILE SNI IN OUT: verifying TLS client; sends IN, reads as many bytes back into OUT,
# prints "VERSION CIPHER" of the session
import socket, ssl, sys
port, ca, sni, inp, outp = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
ctx = ssl.create_default_context(cafile=ca)
assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
data = open(inp, 'rb').read()
got = b''
with socket.create_connection(('127.0.0.1', port), timeout=10) as raw:
    with ctx.wrap_socket(raw, server_hostname=sni) as s:
        print(s.version(), s.cipher()[0])
        s.sendall(data)
        while len(got) < len(data):
            b = s.recv(65536)
            if not b:
                break
            got += b
open(outp, 'wb').write(got)
EOF
# tcp_roundtrip PORT NAME: send $T/NAME.in through 127.0.0.1:PORT, output in $T/NAME.out
tcp_roundtrip() { timeout 10 python3 "$T/tcp_roundtrip.py" "$1" "$T/$2.in" "$T/$2.out" 2>"$T/$2.err"; }
# mbed_suite OPENSSL_NAME: the mbedTLS name of an OpenSSL/IANA cipher suite name (the common AEAD ones)
mbed_suite() {
	local n=$1
	if [[ $n =~ ^TLS_(.*)$ ]]; then
		n=${BASH_REMATCH[1]}; echo "TLS1-3-${n//_/-}"
	elif [[ $n =~ ^(ECDHE-(ECDSA|RSA))-AES(128|256)-GCM-(SHA256|SHA384)$ ]]; then
		echo "TLS-${BASH_REMATCH[1]}-WITH-AES-${BASH_REMATCH[3]}-GCM-${BASH_REMATCH[4]}"
	elif [[ $n =~ ^(ECDHE-(ECDSA|RSA))-CHACHA20-POLY1305$ ]]; then
		echo "TLS-${BASH_REMATCH[1]}-WITH-CHACHA20-POLY1305-SHA256"
	else
		echo "unmapped-$n"
	fi
}
# payload NAME BYTES: random bytes in $T/NAME.in
payload() { head -c "$2" /dev/urandom >"$T/$1.in"; }

# ---------------------------------------------------------------------------------------------------------------
# ports, backends and peers

port P_ECHO; port P_HTTP
port S_12; port S_13; port S_CURL; port S_PY; port S_MTLS; port S_AES128; port S_ECDSA128; port S_ST12; port S_ST13
port C_SS12; port C_SS13; port C_REV; port C_NGINX; port C_ST12; port C_ST13; port C_CERT; port C_NOCERT
port SS12; port SS13; port SREV; port SVERIFY; port NGX
port STC12; port STC13; port STS12; port STS13

echo_server "$P_ECHO" || { not_ok "echo backend started"; finish; }

mkdir -p "$T/www"
head -c 300000 /dev/urandom >"$T/www/blob.bin"
bg python3 -m http.server --bind 127.0.0.1 --directory "$T/www" "$P_HTTP"

# openssl s_server peers for client mode
ss() { # PORT NAME ARGS...
	local p=$1 name=$2; shift 2
	openssl s_server -accept "127.0.0.1:$p" -cert "$PKI/server.crt" -key "$PKI/server.key" "$@" \
		>"$T/$name.log" 2>&1 &
	PIDS+=("$!")
}
ss "$SS12" ss12 -www -tls1_2
ss "$SS13" ss13 -www -tls1_3
ss "$SREV" srev -rev -tls1_3
ss "$SVERIFY" sverify -www -Verify 1 -CAfile "$PKI/ca.crt"

if [ -n "$NGINX" ]; then
	mkdir -p "$T/ngx/body" "$T/ngx/proxy" "$T/ngx/fastcgi" "$T/ngx/uwsgi" "$T/ngx/scgi"
	cat >"$T/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $T/nginx.pid;
error_log $T/nginx.err;
events { worker_connections 64; }
http {
	access_log off;
	client_body_temp_path $T/ngx/body;
	proxy_temp_path $T/ngx/proxy;
	fastcgi_temp_path $T/ngx/fastcgi;
	uwsgi_temp_path $T/ngx/uwsgi;
	scgi_temp_path $T/ngx/scgi;
	server {
		listen 127.0.0.1:$NGX ssl;
		ssl_certificate $PKI/server.crt;
		ssl_certificate_key $PKI/server.key;
		ssl_protocols TLSv1.2 TLSv1.3;
		location / { return 200 "hello from nginx\n"; }
	}
}
EOF
	bg "$NGINX" -p "$T/ngx" -e "$T/nginx.err" -c "$T/nginx.conf"
fi

if [ -n "$STUNNEL" ]; then
	cat >"$T/stunnel.conf" <<EOF
foreground = yes
pid =
output = $T/stunnel.log
debug = info
[stc12]
client = yes
accept = 127.0.0.1:$STC12
connect = 127.0.0.1:$S_ST12
sslVersion = TLSv1.2
CAfile = $PKI/ca.crt
verifyChain = yes
checkHost = localhost
[stc13]
client = yes
accept = 127.0.0.1:$STC13
connect = 127.0.0.1:$S_ST13
sslVersion = TLSv1.3
CAfile = $PKI/ca.crt
verifyChain = yes
checkHost = localhost
[sts12]
accept = 127.0.0.1:$STS12
connect = 127.0.0.1:$P_ECHO
cert = $PKI/server.crt
key = $PKI/server.key
sslVersion = TLSv1.2
[sts13]
accept = 127.0.0.1:$STS13
connect = 127.0.0.1:$P_ECHO
cert = $PKI/server.crt
key = $PKI/server.key
sslVersion = TLSv1.3
EOF
	bg "$STUNNEL" "$T/stunnel.conf"
fi

# ---------------------------------------------------------------------------------------------------------------
# tlswrap: every service in one process

srv() { # NAME ACCEPT CONNECT [extra lines...]
	printf '[%s]\naccept = 127.0.0.1:%s\nconnect = 127.0.0.1:%s\ncert = %s\nkey = %s\n' \
		"$1" "$2" "$3" "$PKI/server.crt" "$PKI/server.key"
	shift 3
	[ $# -gt 0 ] && printf '%s\n' "$@"
	return 0
}
cli() { # NAME ACCEPT CONNECTPORT [extra lines...]
	printf '[%s]\nclient = yes\naccept = 127.0.0.1:%s\nconnect = localhost:%s\nCAfile = %s\n' \
		"$1" "$2" "$3" "$PKI/ca.crt"
	shift 3
	[ $# -gt 0 ] && printf '%s\n' "$@"
	return 0
}
{
	printf 'foreground = yes\ndebug = info\n'
	srv s12 "$S_12" "$P_ECHO"
	srv s13 "$S_13" "$P_ECHO"
	srv curl "$S_CURL" "$P_HTTP"
	srv py "$S_PY" "$P_ECHO"
	srv mtls "$S_MTLS" "$P_ECHO" "verifyChain = yes" "CAfile = $PKI/ca.crt"
	srv aes128 "$S_AES128" "$P_ECHO" "ciphersuites = TLS_AES_128_GCM_SHA256"
	srv ecdsa128 "$S_ECDSA128" "$P_ECHO" "sslVersion = TLSv1.2" "ciphers = ECDHE-ECDSA-AES128-GCM-SHA256"
	srv st12 "$S_ST12" "$P_ECHO"
	srv st13 "$S_ST13" "$P_ECHO"
	cli c_ss12 "$C_SS12" "$SS12"
	cli c_ss13 "$C_SS13" "$SS13"
	cli c_rev "$C_REV" "$SREV"
	cli c_nginx "$C_NGINX" "$NGX"
	cli c_st12 "$C_ST12" "$STS12"
	cli c_st13 "$C_ST13" "$STS13"
	cli c_cert "$C_CERT" "$SVERIFY" "cert = $PKI/client.crt" "key = $PKI/client.key"
	cli c_nocert "$C_NOCERT" "$SVERIFY"
} >"$T/tlswrap.conf"

if ! start_tlswrap "$T/tlswrap.conf"; then
	not_ok "tlswrap started"
	finish
fi
ok "tlswrap started with $(grep -c '^\[' "$T/tlswrap.conf") services"

wait_port "$P_HTTP" || not_ok "http.server backend started"
for n in ss12 ss13 srev sverify; do
	wait_log "$T/$n.log" '^ACCEPT' || not_ok "openssl s_server $n started"
done

# ---------------------------------------------------------------------------------------------------------------
# 1. server mode

for v in 12 13; do
	svc=s$v; var=S_$v; ver=TLSv1.${v#1}
	s_client_echo "$svc" "${!var}" "sclient$v" "-tls1_${v#1}"
	wait_closed "$svc"
	check "s_client -tls1_${v#1} -> server mode: echoed line comes back intact" same "$T/sclient$v.out" "$T/sclient$v.exp"
	check "s_client -tls1_${v#1} -> server mode: tlswrap logged $ver" \
		svc_has "$svc" "#[0-9]+ .*: established $ver [A-Z0-9-]+ to 127\\.0\\.0\\.1:$P_ECHO"
	check "s_client -tls1_${v#1} -> server mode: closed line counts the bytes" \
		svc_has "$svc" "closed \\([^)]+\\); to_tls=$(stat -c %s "$T/sclient$v.exp") to_plain=$(stat -c %s "$T/sclient$v.exp") bytes"
done

timeout 10 curl -sS --fail --cacert "$PKI/ca.crt" -o "$T/curl.out" \
	--resolve "localhost:$S_CURL:127.0.0.1" "https://localhost:$S_CURL/blob.bin" 2>"$T/curl.err"
check "curl -> server mode -> http.server: 300000-byte file identical (curl exit $?)" same "$T/curl.out" "$T/www/blob.bin"
wait_closed curl
check "curl -> server mode: established logged" svc_has curl "established TLSv1\\.[23] "

payload py 65536
timeout 10 python3 "$T/tls_echo.py" "$S_PY" "$PKI/ca.crt" localhost "$T/py.in" "$T/py.out" >"$T/py.session" 2>"$T/py.err"
check "python3 ssl (verifying) -> server mode: 64 KiB echoed intact" same "$T/py.out" "$T/py.in"
wait_closed py
read -r py_ver py_cipher <"$T/py.session" || true
check "python3 ssl -> server mode: tlswrap logged the version python saw (${py_ver:-none})" \
	svc_has py "established ${py_ver:-none} "
# python names TLS 1.3 suites TLS_AES_256_GCM_SHA384, mbedTLS TLS1-3-AES-256-GCM-SHA384
check "python3 ssl -> server mode: tlswrap logged the suite python saw (${py_cipher:-none})" \
	svc_has py "established ${py_ver:-none} $(mbed_suite "${py_cipher:-none}") "

# ---------------------------------------------------------------------------------------------------------------
# 2. client mode into openssl s_server and nginx

for v in 12 13; do
	var=C_SS$v; ver=TLSv1.${v#1}
	timeout 10 curl -sS -o "$T/c_ss$v.out" "http://127.0.0.1:${!var}/" 2>"$T/c_ss$v.err"
	check "curl -> client mode -> s_server -www -tls1_${v#1}: page reports Protocol $ver" \
		has "$T/c_ss$v.out" "^ +Protocol +: $ver\$"
	wait_closed "c_ss$v"
	var=SS$v
	check "client mode -> s_server -tls1_${v#1}: tlswrap logged $ver and the verified server" \
		svc_has "c_ss$v" "established $ver [A-Z0-9-]+ to [^ ]*:${!var} peer=\"CN=localhost\""
	ossl=$(sed -n 's/^ *Cipher *: //p' "$T/c_ss$v.out" | head -n 1)
	check "client mode -> s_server -tls1_${v#1}: log shows the cipher s_server chose (${ossl:-none})" \
		svc_has "c_ss$v" "established $ver $(mbed_suite "$ossl") "
done

printf 'hello interop\n' >"$T/rev.in"
printf 'poretni olleh\n' >"$T/rev.exp"
timeout 10 python3 - "$C_REV" "$T/rev.in" "$T/rev.out" <<'EOF' 2>"$T/rev.err"
import socket, sys
port, inp, outp = int(sys.argv[1]), sys.argv[2], sys.argv[3]
data = open(inp, 'rb').read()
s = socket.create_connection(('127.0.0.1', port), timeout=10)
s.sendall(data)
got = b''
while len(got) < len(data):
    b = s.recv(4096)
    if not b:
        break
    got += b
s.close()
open(outp, 'wb').write(got)
EOF
check "client mode -> s_server -rev: line comes back reversed" same "$T/rev.out" "$T/rev.exp"
wait_closed c_rev
check "client mode -> s_server -rev: s_server saw TLSv1.3" has "$T/srev.log" '^Protocol version: TLSv1\.3$'
check "client mode -> s_server -rev: tlswrap logged TLSv1.3" svc_has c_rev "established TLSv1\\.3 .*peer=\"CN=localhost\""

if [ -n "$NGINX" ]; then
	if wait_port "$NGX"; then
		timeout 10 curl -sS -o "$T/nginx.out" "http://127.0.0.1:$C_NGINX/" 2>"$T/nginx.curl.err"
		printf 'hello from nginx\n' >"$T/nginx.exp"
		check "curl -> client mode -> nginx ssl: body is 'hello from nginx'" same "$T/nginx.out" "$T/nginx.exp"
		wait_closed c_nginx
		check "client mode -> nginx: tlswrap logged TLSv1.3 and CN=localhost" \
			svc_has c_nginx "established TLSv1\\.3 [A-Z0-9-]+ to .*peer=\"CN=localhost\""
	else
		not_ok "nginx started (see $T/nginx.err)"
	fi
else
	echo "# nginx not installed: skipping the nginx checks"
fi

# ---------------------------------------------------------------------------------------------------------------
# 3. stunnel4 on the other end, both directions

if [ -n "$STUNNEL" ]; then
	if wait_log "$T/stunnel.log" 'Configuration successful' 10; then
		for v in 12 13; do
			ver=TLSv1.${v#1}
			# (a) stunnel client -> tlswrap server -> echo
			var=STC$v
			payload "stc$v" 200000
			tcp_roundtrip "${!var}" "stc$v"
			check "stunnel client ($ver) -> tlswrap server -> echo: 200000 bytes intact" same "$T/stc$v.out" "$T/stc$v.in"
			wait_closed "st$v"
			check "stunnel client ($ver) -> tlswrap server: tlswrap logged $ver" svc_has "st$v" "established $ver "
			check "stunnel client ($ver) -> tlswrap server: relayed 200000 bytes each way" \
				svc_has "st$v" "closed \\([^)]+\\); to_tls=200000 to_plain=200000 bytes"
			# (b) tlswrap client -> stunnel server -> echo
			var=C_ST$v
			payload "cst$v" 200000
			tcp_roundtrip "${!var}" "cst$v"
			check "tlswrap client -> stunnel server ($ver) -> echo: 200000 bytes intact" same "$T/cst$v.out" "$T/cst$v.in"
			wait_closed "c_st$v"
			check "tlswrap client -> stunnel server ($ver): tlswrap logged $ver and CN=localhost" \
				svc_has "c_st$v" "established $ver [A-Z0-9-]+ to .*peer=\"CN=localhost\""
			check "tlswrap client -> stunnel server ($ver): relayed 200000 bytes each way" \
				svc_has "c_st$v" "closed \\([^)]+\\); to_tls=200000 to_plain=200000 bytes"
		done
		check "stunnel logged TLSv1.2 and TLSv1.3 sessions" \
			eval "has '$T/stunnel.log' 'TLSv1\\.2 ciphersuite' && has '$T/stunnel.log' 'TLSv1\\.3 ciphersuite'"
	else
		not_ok "stunnel started (see $T/stunnel.log)"
	fi
else
	echo "# stunnel4 not installed: skipping the stunnel checks"
fi

# ---------------------------------------------------------------------------------------------------------------
# 4. client certificates

s_client_echo mtls "$S_MTLS" mtls_cert -cert "$PKI/client.crt" -key "$PKI/client.key"
wait_closed mtls
check "verifyChain server: s_client with a client cert gets its echo" same "$T/mtls_cert.out" "$T/mtls_cert.exp"
check "verifyChain server: log shows peer=\"CN=client...\"" svc_has mtls 'established TLSv1\.3 [A-Z0-9-]+ to .*peer="CN=client'
s_client_echo mtls "$S_MTLS" mtls_nocert
wait_closed mtls 2
check "verifyChain server: s_client without a cert gets no data back" eval "[ ! -s '$T/mtls_nocert.out' ]"
# the refused connection is the one after the accepted one: its lines only
nocert_id=$(svc_log mtls | sed -n 's/.*\] #\([0-9]*\) .*/\1/p' | sort -un | tail -n 1)
nocert_lines() { svc_log mtls | grep -F "#$nocert_id "; }
check "verifyChain server: refused without a cert (closed with a reason, never established)" \
	eval "nocert_lines | grep -Eq 'closed \\([^)]+\\)' && ! nocert_lines | grep -q established"

timeout 10 curl -sS -o "$T/c_cert.out" "http://127.0.0.1:$C_CERT/" 2>"$T/c_cert.err"
check "tlswrap client with cert/key -> s_server -Verify 1: page served" has "$T/c_cert.out" '^ +Protocol +: TLSv1\.[23]$'
check "tlswrap client with cert/key -> s_server -Verify 1: s_server verified CN=client" \
	has "$T/sverify.log" '^depth=0 CN = client, O = tlswrap tests$'
wait_closed c_cert
check "tlswrap client with cert/key -> s_server -Verify 1: tlswrap logged established" \
	svc_has c_cert 'established TLSv1\.[23] '
timeout 10 curl -sS -o "$T/c_nocert.out" "http://127.0.0.1:$C_NOCERT/" 2>"$T/c_nocert.err"
check "tlswrap client without cert -> s_server -Verify 1: no page" eval "! has '$T/c_nocert.out' Protocol"
wait_closed c_nocert
# with TLS 1.3 the client finishes its handshake before the server checks the certificate, so tlswrap
# logs "established" and then the server's fatal alert as the close reason (nothing reaches the client)
check "tlswrap client without cert -> s_server -Verify 1: tlswrap logged the server's alert, relayed nothing back" \
	svc_has c_nocert 'closed \((TLS handshake failed|TLS read|peer refused): [^)]*alert[^)]*\); to_tls=[0-9]+ to_plain=0 bytes'

# ---------------------------------------------------------------------------------------------------------------
# 5. cipher selection

s_client_echo aes128 "$S_AES128" aes128 -tls1_3
wait_closed aes128
check "ciphersuites = TLS_AES_128_GCM_SHA256: echo intact" same "$T/aes128.out" "$T/aes128.exp"
check "ciphersuites = TLS_AES_128_GCM_SHA256: log shows TLS1-3-AES-128-GCM-SHA256" \
	svc_has aes128 'established TLSv1\.3 TLS1-3-AES-128-GCM-SHA256 '

s_client_echo ecdsa128 "$S_ECDSA128" ecdsa128 -tls1_2
wait_closed ecdsa128
check "sslVersion = TLSv1.2 + ciphers = ECDHE-ECDSA-AES128-GCM-SHA256: echo intact" same "$T/ecdsa128.out" "$T/ecdsa128.exp"
check "ciphers = ECDHE-ECDSA-AES128-GCM-SHA256: log shows TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256" \
	svc_has ecdsa128 'established TLSv1\.2 TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256 '
s_client_echo ecdsa128 "$S_ECDSA128" ecdsa128_13 -tls1_3
wait_closed ecdsa128 2
check "sslVersion = TLSv1.2: s_client -tls1_3 refused, no data back" eval "[ ! -s '$T/ecdsa128_13.out' ]"
check "sslVersion = TLSv1.2: only the TLS 1.2 connection was established" \
	eval "[ \$(svc_log ecdsa128 | grep -c established) -eq 1 ] && [ \$(svc_log ecdsa128 | grep -c 'closed (') -eq 2 ]"

# ---------------------------------------------------------------------------------------------------------------
# orderly stop: every connection above ended, SIGTERM exits 0 (and clean under ASan/UBSan)

stop_checked "$LOG" 10

finish
