#!/bin/bash
# Interop matrix: tlswrap against real TLS peers, for every peer x certificate type (RSA-2048, EC P-256) x
# TLS version (1.2, 1.3). The peer pins the version; tlswrap keeps its default (1.2 and 1.3 allowed), which
# is what a ClientHello offering both looks like.
#   client mode (plaintext in, TLS out): openssl s_server -www, nginx (ssl_protocols), stunnel4 server
#     (sslVersionMin/Max); openssl s_server -serverpref at TLS 1.2 with RSA
#   server mode (TLS in, plaintext out): openssl s_client, curl, nginx as a TLS client (proxy_pass https),
#     stunnel4 client
#   mutual TLS with an RSA and an EC client certificate: s_client -> tlswrap (verifyChain) and
#     tlswrap (cert/key) -> s_server -Verify 1
# Every TLS hop runs through a small relay (tls_sniff.py, below) that reads the cleartext part of the
# handshake: the version the server chose and, at TLS 1.2, the signature scheme of the ServerKeyExchange
# (and of a client's CertificateVerify). At TLS 1.3 those messages are encrypted; there the openssl peers'
# -trace and "Signature type" output show the scheme.
# Regression guarded: mbedTLS 3.6 offers rsa_pss_rsae_* in a ClientHello allowing 1.2 and 1.3, but its TLS 1.2
# client rejects an RSA-PSS ServerKeyExchange (Mbed-TLS/mbedtls#10668); tlswrap offers rsa_pkcs1_* first so a
# TLS 1.2 server following the client's order signs with PKCS#1 v1.5. Without that, every "rsa 1.2" client
# mode check below fails with "TLS handshake failed: SSL - A field in a message was incorrect ...".
. "$(dirname "$0")/lib.sh"

for tool in openssl curl python3; do
	command -v "$tool" >/dev/null || skip_all "$tool not installed"
done
STUNNEL=$(command -v stunnel4 || command -v stunnel || true)
NGINX=$(command -v nginx || PATH=$PATH:/usr/sbin:/sbin command -v nginx || true)
[ -n "$STUNNEL" ] || skip_all "stunnel4 not installed"
[ -n "$NGINX" ] || skip_all "nginx not installed"

# deadline for each wait, in seconds (an ASan+UBSan build is slower)
DL=10
[ -n "${TLSWRAP_SANITIZED:-}" ] && DL=30

KEYS="rsa ec"
VERS="12 13"

# ---------------------------------------------------------------------------------------------------------------
# helpers

# poll SECONDS CMD...: until CMD succeeds (0) or the deadline passes (1)
poll() {
	local deadline=$((SECONDS + $1)); shift
	while [ $SECONDS -le "$deadline" ]; do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}

# ports NAME...: P[NAME] = a free port for each NAME, all distinct (lib.sh's free_ports, in one python run)
declare -A P
ports() {
	local got i names=("$@")
	read -ra got <<<"$(free_ports "$#")"
	[ "${#got[@]}" -eq "$#" ] || { echo "# could not pick $# free ports" >&2; exit 1; }
	for i in "${!names[@]}"; do
		P[${names[$i]}]=${got[$i]}
	done
}

# tcp_open PORT: something accepts on 127.0.0.1:PORT (bash's /dev/tcp: no process start)
tcp_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# (LOG: tlswrap's log, SNIFF: the relay's, both set when the processes start, below)
# svc_log SVC: the tlswrap log lines of service SVC
svc_log() { grep -F "[$1] " "$LOG"; }
# svc_has SVC ERE: one of SVC's log lines matches ERE (if not, SVC's lines go to stderr)
svc_has() {
	svc_log "$1" | grep -Eq -- "$2" && return 0
	svc_log "$1" | sed 's/^/# tlswrap: /' >&2
	return 1
}
# closed_count SVC: how many connection ends SVC logged
closed_count() { svc_log "$1" | grep -Ec '#[0-9]+ .*closed \('; }
# wait_closed SVC [N]: until SVC logged the end of N connections (default 1)
wait_closed() {
	poll "$DL" eval "[ \$(closed_count '$1') -ge ${2:-1} ]" && return 0
	echo "# [$1] never logged ${2:-1} closed connection(s):" >&2
	svc_log "$1" | tail -n 5 >&2
	return 1
}
# sniffed SVC ERE: the line the relay in front of SVC logged for its connection matches ERE. The relay logs
# once per connection, when both directions of the handshake went past their cleartext part (or the
# connection ended): this waits for that line, then matches.
sniffed() {
	if ! poll "$DL" eval "grep -q '^$1 #' '$SNIFF'"; then
		echo "# relay [$1]: no connection logged" >&2
		return 1
	fi
	grep -Eq -- "^$1 #[0-9]+ .*$2" "$SNIFF" && return 0
	echo "# relay [$1]: $(grep "^$1 #" "$SNIFF")" >&2
	return 1
}
# same FILE1 FILE2: byte-identical, non-empty
same() { [ -s "$1" ] && cmp -s "$1" "$2"; }
# hasF FILE STRING: FILE has a line holding STRING
hasF() { grep -Fq -- "$2" "$1" 2>/dev/null; }
# payload NAME BYTES: random bytes in $T/NAME.in
payload() { head -c "$2" /dev/urandom >"$T/$1.in"; }

# tcp_echo PORT NAME: send $T/NAME.in over plain TCP to 127.0.0.1:PORT while reading back as many bytes into
# $T/NAME.out (the far end is an echo server), then close
tcp_echo() {
	local n
	n=$(stat -c %s "$T/$2.in")
	(
		exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
		cat "$T/$2.in" >&3 &
		timeout "$DL" head -c "$n" <&3 >"$T/$2.out"
		rc=$?
		kill $! 2>/dev/null
		wait
		exit $rc
	) 2>"$T/$2.err"
}

# s_client_echo SVC PORT NAME [s_client args...]: send a line through openssl s_client -brief to SVC on PORT
# (which relays to the echo server). Output in $T/NAME.out (expected: $T/NAME.exp), the -brief summary
# ("Protocol version:", "Signature type:") in $T/NAME.err. stdin stays open until the echo came back or SVC
# logged the connection's end, then s_client closes.
s_client_echo() {
	local svc=$1 p=$2 name=$3; shift 3
	local msg="matrix $name $RANDOM$RANDOM" n
	n=$(closed_count "$svc")
	printf '%s\n' "$msg" >"$T/$name.exp"
	: >"$T/$name.out"
	{
		printf '%s\n' "$msg"
		poll "$DL" eval "hasF '$T/$name.out' '$msg' || [ \$(closed_count '$svc') -gt $n ]"
	} | timeout "$DL" openssl s_client -connect "127.0.0.1:$p" -servername localhost -brief -no_ign_eof \
		-CAfile "$PKI/ca.pem" -verify_return_error "$@" >"$T/$name.out" 2>"$T/$name.err"
}

# trace_sigs FILE: from openssl -trace output, one line per signed handshake message:
#   "Sent|Received ServerKeyExchange|CertificateVerify SCHEME"
trace_sigs() {
	awk '/^Sent Record/ { dir = "Sent" } /^Received Record/ { dir = "Received" }
		/^ +(ServerKeyExchange|CertificateVerify), Length=/ { msg = $1; sub(/,$/, "", msg) }
		msg != "" && /^ +Signature Algorithm: [a-z0-9_]+ \(0x/ { print dir, msg, $3; msg = "" }' "$1"
}
# traced NAME Sent|Received MESSAGE SCHEME_ERE: s_server NAME's trace shows MESSAGE signed with a scheme
# matching SCHEME_ERE (waits for MESSAGE's signature line, then matches)
traced() {
	local name=$1 what="$2 $3"
	if ! poll "$DL" eval "trace_sigs '$A/$name.log' | grep -q '^$what '"; then
		echo "# s_server $name: no $what traced" >&2
		return 1
	fi
	trace_sigs "$A/$name.log" | grep -Eq -- "^$what $4\$" && return 0
	echo "# s_server $name signed: $(trace_sigs "$A/$name.log" | tr '\n' ';')" >&2
	return 1
}

# the signature schemes that may sign a TLS 1.2 handshake for each key type (no RSA-PSS at 1.2: that is the
# point), and the RSA-PSS ones TLS 1.3 requires for an RSA key
SIG12_rsa='rsa_pkcs1_sha(256|384|512)'
SIG12_ec='ecdsa_secp(256r1_sha256|384r1_sha384|521r1_sha512)'
PSS='rsa_pss_rsae_sha(256|384|512)'
# s_client -brief names the server's signature: "Signature type: RSA-PSS" (TLS 1.3) or "RSA" (PKCS#1, 1.2)
declare -A BRIEF=([rsa12]=RSA [rsa13]=RSA-PSS [ec12]=ECDSA [ec13]=ECDSA)

# ---------------------------------------------------------------------------------------------------------------
# PKI: per key type a CA, a server certificate (localhost, 127.0.0.1) and a client certificate, all of that type

make_matrix_pki() {
	local d=$T/pki
	mkdir -p "$d"
	(
		cd "$d" || exit 1
		newkey() { if [ "$1" = rsa ]; then echo "-newkey rsa:2048"; else echo "-newkey ec -pkeyopt ec_paramgen_curve:P-256"; fi; }
		for k in $KEYS; do
			# shellcheck disable=SC2046
			openssl req -x509 $(newkey "$k") -nodes -keyout "ca-$k.key" -out "ca-$k.crt" -days 30 \
				-subj "/CN=tlswrap matrix $k CA" 2>/dev/null || exit 1
			for who in server client; do
				if [ $who = server ]; then
					subj="/CN=localhost/O=tlswrap $k"; ext="subjectAltName=DNS:localhost,IP:127.0.0.1"
				else
					subj="/CN=client-$k/O=tlswrap tests"; ext="extendedKeyUsage=clientAuth"
				fi
				# shellcheck disable=SC2046
				openssl req $(newkey "$k") -nodes -keyout "$who-$k.key" -out "$who-$k.csr" -subj "$subj" 2>/dev/null || exit 1
				printf '%s\n' "$ext" >"$who-$k.ext"
				openssl x509 -req -in "$who-$k.csr" -CA "ca-$k.crt" -CAkey "ca-$k.key" -CAcreateserial \
					-out "$who-$k.crt" -days 30 -extfile "$who-$k.ext" 2>/dev/null || exit 1
			done
		done
		cat ca-rsa.crt ca-ec.crt >ca.pem
		openssl x509 -in server-rsa.crt -noout -text | grep -q 'Public-Key: (2048 bit)' || exit 1
		openssl x509 -in server-ec.crt -noout -text | grep -q 'NIST CURVE: P-256' || exit 1
	) || { echo "# PKI generation failed" >&2; exit 1; }
	PKI=$d
}
make_pki_start=$SECONDS
make_matrix_pki
ok "PKI: RSA-2048 and EC P-256 CAs, server and client certificates ($((SECONDS - make_pki_start)) s)"

# ---------------------------------------------------------------------------------------------------------------
# the handshake relay

cat >"$T/tls_sniff.py" <<'EOF'
# tls_sniff.py LOG NAME:LISTEN:TARGET...: a TCP relay per NAME (127.0.0.1:LISTEN -> 127.0.0.1:TARGET) that
# reads the cleartext part of the TLS handshake going through, and appends one line per connection to LOG:
#   NAME #N version=TLSv1.2 suite=0xc030 ske=SCHEME cv=SCHEME certreq=LIST offered=LIST
# ske: the ServerKeyExchange signature (TLS 1.2), cv: the client's CertificateVerify (TLS 1.2), certreq: the
# schemes in the server's CertificateRequest (TLS 1.2), offered: the ClientHello's signature_algorithms, in
# order; "-" when not seen. Prints "ready" once every port listens. One thread, asyncio.
import asyncio, sys

SCHEMES = {
    0x0201: 'rsa_pkcs1_sha1', 0x0203: 'ecdsa_sha1', 0x0401: 'rsa_pkcs1_sha256', 0x0501: 'rsa_pkcs1_sha384',
    0x0601: 'rsa_pkcs1_sha512', 0x0403: 'ecdsa_secp256r1_sha256', 0x0503: 'ecdsa_secp384r1_sha384',
    0x0603: 'ecdsa_secp521r1_sha512', 0x0804: 'rsa_pss_rsae_sha256', 0x0805: 'rsa_pss_rsae_sha384',
    0x0806: 'rsa_pss_rsae_sha512', 0x0807: 'ed25519', 0x0808: 'ed448', 0x0809: 'rsa_pss_pss_sha256',
    0x080a: 'rsa_pss_pss_sha384', 0x080b: 'rsa_pss_pss_sha512',
}
VERSIONS = {0x0301: 'TLSv1.0', 0x0302: 'TLSv1.1', 0x0303: 'TLSv1.2', 0x0304: 'TLSv1.3'}


def scheme(b):
    v = int.from_bytes(b[:2], 'big')
    return SCHEMES.get(v, '0x%04x' % v)


def u(b, off, n):
    return int.from_bytes(b[off:off + n], 'big'), off + n


def exts(b, off):
    """yield (type, data) of a hello's extensions starting at off"""
    if off + 2 > len(b):
        return
    total, off = u(b, off, 2)
    end = off + total
    while off + 4 <= end:
        t, off = u(b, off, 2)
        n, off = u(b, off, 2)
        yield t, b[off:off + n]
        off += n


def scheme_list(b):
    n = int.from_bytes(b[:2], 'big')
    return ','.join(scheme(b[i:i + 2]) for i in range(2, 2 + n, 2))


class Conn:
    def __init__(self, name, n):
        self.name, self.n = name, n
        self.info = {'version': '-', 'suite': '-', 'ske': '-', 'cv': '-', 'certreq': '-', 'offered': '-'}
        self.logged = False

    def msg(self, t, m):
        try:
            if t == 1:  # ClientHello
                off = 2 + 32
                sid, off = u(m, off, 1); off += sid
                ns, off = u(m, off, 2); off += ns
                nc, off = u(m, off, 1); off += nc
                for et, d in exts(m, off):
                    if et == 13:
                        self.info['offered'] = scheme_list(d)
            elif t == 2:  # ServerHello (or HelloRetryRequest)
                ver, off = u(m, 0, 2)
                off += 32
                sid, off = u(m, off, 1); off += sid
                suite, off = u(m, off, 2)
                off += 1
                for et, d in exts(m, off):
                    if et == 43:
                        ver = int.from_bytes(d[:2], 'big')
                self.info['version'] = VERSIONS.get(ver, '0x%04x' % ver)
                self.info['suite'] = '0x%04x' % suite
            elif t == 12:  # ServerKeyExchange: ECDHE params, then the signature's scheme
                if m[0] == 3:
                    plen = m[3]
                    self.info['ske'] = scheme(m[4 + plen:6 + plen])
                else:
                    self.info['ske'] = 'unparsed'
            elif t == 13:  # CertificateRequest (TLS 1.2): types, then the schemes
                nt = m[0]
                self.info['certreq'] = scheme_list(m[1 + nt:])
            elif t == 15:  # CertificateVerify in the clear: the client's, at TLS 1.2
                self.info['cv'] = scheme(m[:2])
        except IndexError:
            pass

    def log(self, out):
        if not self.logged:
            self.logged = True
            i = self.info
            out.write('%s #%d version=%s suite=%s ske=%s cv=%s certreq=%s offered=%s\n' % (
                self.name, self.n, i['version'], i['suite'], i['ske'], i['cv'], i['certreq'], i['offered']))
            out.flush()


class Direction:
    """TLS records of one direction: handshake messages until the first record of another type"""

    def __init__(self, conn):
        self.conn, self.buf, self.hs, self.done = conn, b'', b'', False

    def feed(self, data):
        if self.done:
            return
        self.buf += data
        while len(self.buf) >= 5:
            n = int.from_bytes(self.buf[3:5], 'big')
            if len(self.buf) < 5 + n:
                return
            typ, frag, self.buf = self.buf[0], self.buf[5:5 + n], self.buf[5 + n:]
            if typ != 22:
                self.done, self.buf = True, b''
                return
            self.hs += frag
            while len(self.hs) >= 4:
                ml = int.from_bytes(self.hs[1:4], 'big')
                if len(self.hs) < 4 + ml:
                    break
                self.conn.msg(self.hs[0], self.hs[4:4 + ml])
                self.hs = self.hs[4 + ml:]


async def main():
    out = open(sys.argv[1], 'a')
    counts = {}

    async def pipe(reader, writer, d, c, other, peer_writer):
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                d.feed(data)
                if d.done and other.done:
                    c.log(out)
                writer.write(data)
                await writer.drain()
            if writer.can_write_eof():
                writer.write_eof()
        except (OSError, RuntimeError):
            # a reset: end both sides
            writer.close()
            peer_writer.close()

    def serve(name, target):
        async def handle(creader, cwriter):
            counts[name] = counts.get(name, 0) + 1
            c = Conn(name, counts[name])
            try:
                sreader, swriter = await asyncio.open_connection('127.0.0.1', target)
            except OSError as e:
                out.write('%s #%d connect to %d failed: %s\n' % (name, c.n, target, e))
                out.flush()
                cwriter.close()
                return
            c2s, s2c = Direction(c), Direction(c)
            await asyncio.gather(pipe(creader, swriter, c2s, c, s2c, cwriter),
                                 pipe(sreader, cwriter, s2c, c, c2s, swriter))
            c.log(out)
            cwriter.close()
            swriter.close()
        return handle

    servers = []
    for spec in sys.argv[2:]:
        name, listen, target = spec.split(':')
        servers.append(await asyncio.start_server(serve(name, int(target)), '127.0.0.1', int(listen)))
    print('ready', flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
EOF

# ---------------------------------------------------------------------------------------------------------------
# services
#   client mode, per KEY and VER: c_ss (s_server -www), c_ngx (nginx), c_st (stunnel server), c_mtls (s_server
#     -Verify 1 -rev, tlswrap presents client-KEY); plus c_pref (s_server -serverpref, rsa 1.2) and c_pref12 (the
#     same with sslVersionMax = TLSv1.2 on tlswrap's side)
#   server mode, per KEY and VER: s_sc (s_client), s_curl (curl -> http backend), s_ngx (nginx proxy_pass https
#     -> http backend), s_st (stunnel client), s_mtls (s_client with client-KEY, verifyChain)
# tlswrap service SVC listens on P[tw:SVC]; its TLS side goes through the relay SVC on P[sn:SVC].

CLIENT_SVCS=() SERVER_SVCS=()
for k in $KEYS; do
	for v in $VERS; do
		CLIENT_SVCS+=("c_ss_$k$v" "c_ngx_$k$v" "c_st_$k$v" "c_mtls_$k$v")
		SERVER_SVCS+=("s_sc_$k$v" "s_curl_$k$v" "s_ngx_$k$v" "s_st_$k$v" "s_mtls_$k$v")
	done
done
CLIENT_SVCS+=(c_pref c_pref12)
SS_NAMES=()
for k in $KEYS; do
	for v in $VERS; do SS_NAMES+=("ss_$k$v" "ssv_$k$v"); done
done
SS_NAMES+=(pref pref12)

mkdir -p "$T/www"
head -c 200000 /dev/urandom >"$T/www/blob.bin"

# ---------------------------------------------------------------------------------------------------------------
# start everything: ports, configurations and processes of one attempt live in $A. About 100 ports are picked
# before anything binds them, so another test's connection may take one in between: when a start fails on
# "Address already in use", the attempt is stopped and made again with other ports.

# run NAME CMD...: start CMD in the background, output in $A/NAME.out; its pid in RUN_PID[NAME]
declare -A RUN_PID
run() {
	local name=$1; shift
	"$@" >"$A/$name.out" 2>&1 &
	RUN_PID[$name]=$!
	PIDS+=("$!")
}
# up NAME FILE ERE: until FILE has a line matching ERE (0), or process NAME ended or $DL passed (1)
up() {
	local deadline=$((SECONDS + DL))
	while :; do
		grep -Eq -- "$3" "$2" 2>/dev/null && return 0
		kill -0 "${RUN_PID[$1]}" 2>/dev/null || break
		[ $SECONDS -le "$deadline" ] || break
		sleep 0.05
	done
	grep -Eq -- "$3" "$2" 2>/dev/null && return 0
	echo "# $1 did not start (no '$3' in $2):" >&2
	tail -n 5 "$2" >&2 2>/dev/null
	return 1
}
# up_port NAME PORT: until 127.0.0.1:PORT accepts (0), or process NAME ended or $DL passed (1)
up_port() {
	local deadline=$((SECONDS + DL))
	until tcp_open "$2"; do
		if ! kill -0 "${RUN_PID[$1]}" 2>/dev/null || [ $SECONDS -gt "$deadline" ]; then
			echo "# $1 did not start (port $2):" >&2
			tail -n 5 "$A/$1.out" >&2
			return 1
		fi
		sleep 0.05
	done
}

# ss NAME KEY ARGS...: openssl s_server with the KEY server certificate. -trace goes to stdout, into $A/NAME.log
# with the rest, line-buffered by stdbuf (a -msgfile is written out only 8 KiB at a time)
ss() {
	local name=$1 k=$2; shift 2
	stdbuf -oL openssl s_server -cert "$PKI/server-$k.crt" -key "$PKI/server-$k.key" -trace "$@" >"$A/$name.log" 2>&1 &
	RUN_PID[$name]=$!
	PIDS+=("$!")
}

write_configs() {
	local k v s b
	# nginx: a TLS server per KEY/VER (client mode), and a plain HTTP server per KEY/VER that proxies to tlswrap
	# over TLS (server mode)
	mkdir -p "$A/ngx/body" "$A/ngx/proxy" "$A/ngx/fastcgi" "$A/ngx/uwsgi" "$A/ngx/scgi"
	{
		cat <<EOF
daemon off;
worker_processes 1;
pid $A/nginx.pid;
error_log $A/nginx.err notice;
events { worker_connections 64; }
http {
	access_log off;
	client_body_temp_path $A/ngx/body;
	proxy_temp_path $A/ngx/proxy;
	fastcgi_temp_path $A/ngx/fastcgi;
	uwsgi_temp_path $A/ngx/uwsgi;
	scgi_temp_path $A/ngx/scgi;
EOF
		for k in $KEYS; do
			for v in $VERS; do
				cat <<EOF
	server {
		listen 127.0.0.1:${P[ngx:$k$v]} ssl;
		ssl_certificate $PKI/server-$k.crt;
		ssl_certificate_key $PKI/server-$k.key;
		ssl_protocols TLSv1.${v#1};
		location / { return 200 "nginx $k$v \$ssl_protocol\n"; }
	}
	server {
		listen 127.0.0.1:${P[ngxc:$k$v]};
		location / {
			proxy_pass https://127.0.0.1:${P[sn:s_ngx_$k$v]};
			proxy_ssl_protocols TLSv1.${v#1};
			proxy_ssl_verify on;
			proxy_ssl_trusted_certificate $PKI/ca.pem;
			proxy_ssl_name localhost;
			proxy_ssl_server_name on;
			proxy_buffering off;
		}
	}
EOF
			done
		done
		echo "}"
	} >"$A/nginx.conf"

	# stunnel4: a TLS server per KEY/VER (client mode, to the echo backend) and a TLS client per KEY/VER (server
	# mode, to tlswrap), the version pinned with sslVersionMin/Max
	{
		printf 'foreground = yes\npid =\noutput = %s\ndebug = info\n' "$A/stunnel.log"
		for k in $KEYS; do
			for v in $VERS; do
				cat <<EOF
[sts_$k$v]
accept = 127.0.0.1:${P[sts:$k$v]}
connect = 127.0.0.1:${P[echo]}
cert = $PKI/server-$k.crt
key = $PKI/server-$k.key
sslVersionMin = TLSv1.${v#1}
sslVersionMax = TLSv1.${v#1}
[stc_$k$v]
client = yes
accept = 127.0.0.1:${P[stc:$k$v]}
connect = 127.0.0.1:${P[sn:s_st_$k$v]}
sni = localhost
sslVersionMin = TLSv1.${v#1}
sslVersionMax = TLSv1.${v#1}
CAfile = $PKI/ca.pem
verifyChain = yes
checkHost = localhost
EOF
			done
		done
	} >"$A/stunnel.conf"

	# tlswrap: every service in one process; client mode keeps the default versions (1.2 and 1.3)
	{
		printf 'foreground = yes\ndebug = info\n'
		for s in "${CLIENT_SVCS[@]}"; do
			printf '[%s]\nclient = yes\naccept = 127.0.0.1:%s\nconnect = localhost:%s\nCAfile = %s\n' \
				"$s" "${P[tw:$s]}" "${P[sn:$s]}" "$PKI/ca.pem"
			case $s in
			c_mtls_*) k=${s#c_mtls_}; k=${k%1?}; printf 'cert = %s\nkey = %s\n' "$PKI/client-$k.crt" "$PKI/client-$k.key" ;;
			c_pref12) printf 'sslVersionMax = TLSv1.2\n' ;;
			esac
		done
		for s in "${SERVER_SVCS[@]}"; do
			k=${s##*_}; k=${k%1?}
			case $s in s_curl_* | s_ngx_*) b=${P[http]} ;; *) b=${P[echo]} ;; esac
			printf '[%s]\naccept = 127.0.0.1:%s\nconnect = 127.0.0.1:%s\ncert = %s\nkey = %s\n' \
				"$s" "${P[tw:$s]}" "$b" "$PKI/server-$k.crt" "$PKI/server-$k.key"
			case $s in s_mtls_*) printf 'verifyChain = yes\nCAfile = %s\n' "$PKI/ca.pem" ;; esac
		done
	} >"$A/tlswrap.conf"
}

# start_all: one attempt; 0 when every process is up
start_all() {
	local names=(echo http pref pref12) s k v n rc=0
	for s in "${CLIENT_SVCS[@]}" "${SERVER_SVCS[@]}"; do names+=("tw:$s" "sn:$s"); done
	for k in $KEYS; do
		for v in $VERS; do names+=("ss:$k$v" "ssv:$k$v" "ngx:$k$v" "ngxc:$k$v" "sts:$k$v" "stc:$k$v"); done
	done
	ports "${names[@]}"
	write_configs

	# the relay: in front of the peer (client mode) or of tlswrap (server mode)
	local sniff_args=() target
	for s in "${CLIENT_SVCS[@]}"; do
		case $s in
		c_ss_*) target=${P[ss:${s#c_ss_}]} ;;
		c_ngx_*) target=${P[ngx:${s#c_ngx_}]} ;;
		c_st_*) target=${P[sts:${s#c_st_}]} ;;
		c_mtls_*) target=${P[ssv:${s#c_mtls_}]} ;;
		c_pref | c_pref12) target=${P[${s#c_}]} ;;
		esac
		sniff_args+=("$s:${P[sn:$s]}:$target")
	done
	for s in "${SERVER_SVCS[@]}"; do sniff_args+=("$s:${P[sn:$s]}:${P[tw:$s]}"); done
	: >"$SNIFF"

	run echo python3 "$TESTS_SRCDIR/integration/echo_server.py" "${P[echo]}"
	run http python3 -u -m http.server --bind 127.0.0.1 --directory "$T/www" "${P[http]}"
	run relay python3 "$T/tls_sniff.py" "$SNIFF" "${sniff_args[@]}"
	for k in $KEYS; do
		for v in $VERS; do
			ss "ss_$k$v" "$k" -accept "127.0.0.1:${P[ss:$k$v]}" -www "-tls1_${v#1}"
			ss "ssv_$k$v" "$k" -accept "127.0.0.1:${P[ssv:$k$v]}" -rev "-tls1_${v#1}" -Verify 1 -CAfile "$PKI/ca.pem"
		done
	done
	ss pref rsa -accept "127.0.0.1:${P[pref]}" -www -tls1_2 -serverpref
	ss pref12 rsa -accept "127.0.0.1:${P[pref12]}" -www -tls1_2 -serverpref
	run nginx "$NGINX" -p "$A/ngx" -e "$A/nginx.err" -c "$A/nginx.conf"
	run stunnel "$STUNNEL" "$A/stunnel.conf"
	run tlswrap "$TLSWRAP" -f "$A/tlswrap.conf"
	LOG=$A/tlswrap.out
	TLSWRAP_PID=${RUN_PID[tlswrap]}

	up tlswrap "$LOG" 'started, pid' || rc=1
	up relay "$A/relay.out" '^ready$' || rc=1
	for n in "${SS_NAMES[@]}"; do up "$n" "$A/$n.log" '^ACCEPT$' || rc=1; done
	up nginx "$A/nginx.err" 'start worker process' || rc=1
	up stunnel "$A/stunnel.log" 'Accepting new connections' || rc=1
	up_port echo "${P[echo]}" || rc=1
	up_port http "${P[http]}" || rc=1
	return $rc
}

# stop_attempt: end the processes of a failed attempt
stop_attempt() {
	local p keep=()
	for p in "${RUN_PID[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${RUN_PID[@]}"; do wait "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do [[ " ${RUN_PID[*]} " == *" $p "* ]] || keep+=("$p"); done
	PIDS=("${keep[@]}")
	RUN_PID=()
}

attempt=1
while :; do
	A=$T/try$attempt
	mkdir -p "$A"
	SNIFF=$A/sniff.log
	start_all && break
	if [ "$attempt" -ge 3 ] || ! grep -rqi 'address already in use' "$A"; then
		not_ok "every peer started (attempt $attempt; see $A)"
		finish
	fi
	echo "# attempt $attempt: a port was taken meanwhile ($(grep -rhi -m1 'address already in use' "$A" | head -n 1)); again with other ports"
	stop_attempt
	attempt=$((attempt + 1))
done
ok "every peer started: tlswrap with $(grep -c '^\[' "$A/tlswrap.conf") services, the relay, ${#SS_NAMES[@]} s_server, nginx (8 servers), stunnel (8 services), echo and http backends"

# alive: tlswrap still runs (checked before each group, so a crash ends the test at once instead of after
# every wait of every check)
alive() {
	kill -0 "$TLSWRAP_PID" 2>/dev/null && return 0
	not_ok "tlswrap still running (it exited; see $LOG)"
	tail -n 20 "$LOG" >&2
	finish
}

# stunnel_conn_has SERVICE ERE: stunnel's log for the (last) connection of SERVICE has a line matching ERE
# (stunnel tags each connection's lines with its number: "LOG5[12]: Service [x] accepted connection")
stunnel_conn_has() {
	local id
	id=$(sed -n "s/.*LOG[0-9]\[\([0-9]*\)\]: Service \[$1\] accepted connection.*/\1/p" "$A/stunnel.log" | tail -n 1)
	[ -n "$id" ] && grep -E "LOG[0-9]\\[$id\\]: " "$A/stunnel.log" | grep -Eq -- "$2"
}

# expect_sig SVC LABEL KEY VER: the relay saw the version, and at TLS 1.2 a ServerKeyExchange signed with the
# scheme the key type allows at 1.2 (PKCS#1 v1.5 for RSA)
expect_sig() {
	local svc=$1 label=$2 k=$3 v=$4 sig
	if [ "$v" = 12 ]; then
		sig=SIG12_$k
		check "$label: on the wire TLSv1.2, ServerKeyExchange signed ${!sig}" \
			sniffed "$svc" "version=TLSv1\\.2 .* ske=${!sig} "
	else
		# the CertificateVerify is encrypted; with an RSA key, TLS 1.3 allows only RSA-PSS to sign it
		check "$label: on the wire TLSv1.3, no ServerKeyExchange" sniffed "$svc" "version=TLSv1\\.3 .* ske=- "
	fi
}

# ---------------------------------------------------------------------------------------------------------------
# 1. client mode: plaintext in, tlswrap connects with TLS (offering 1.2 and 1.3) to a peer pinned to one version

for k in $KEYS; do
	for v in $VERS; do
		alive
		ver=TLSv1.${v#1}
		est="established TLSv1\\.${v#1} [A-Z0-9-]+ to [^ ]+ peer=\"CN=localhost, O=tlswrap $k\""

		# s_server -www: the page it serves describes the session
		svc=c_ss_$k$v; label="client mode -> s_server -www $k $ver"
		timeout "$DL" curl -sS -o "$T/$svc.out" "http://127.0.0.1:${P[tw:$svc]}/" 2>"$T/$svc.err"
		check "$label: page served, s_server reports Protocol $ver" has "$T/$svc.out" "^ +Protocol +: $ver\$"
		wait_closed "$svc"
		check "$label: tlswrap logged $ver and the $k certificate" svc_has "$svc" "$est"
		expect_sig "$svc" "$label" "$k" "$v"
		if [ "$k" = rsa ] && [ "$v" = 13 ]; then
			check "$label: s_server signed its CertificateVerify with RSA-PSS" \
				traced "ss_$k$v" Sent CertificateVerify "$PSS"
		elif [ "$k" = rsa ]; then
			check "$label: s_server signed its ServerKeyExchange with PKCS#1 v1.5" \
				traced "ss_$k$v" Sent ServerKeyExchange "$SIG12_rsa"
		else
			if [ "$v" = 12 ]; then msg=ServerKeyExchange; else msg=CertificateVerify; fi
			check "$label: s_server signed its $msg with ECDSA" traced "ss_$k$v" Sent $msg "$SIG12_ec"
		fi

		# nginx (ssl_protocols pinned): the body names the protocol nginx negotiated
		svc=c_ngx_$k$v; label="client mode -> nginx $k $ver"
		timeout "$DL" curl -sS -o "$T/$svc.out" "http://127.0.0.1:${P[tw:$svc]}/" 2>"$T/$svc.err"
		printf 'nginx %s %s\n' "$k$v" "$ver" >"$T/$svc.exp"
		check "$label: body 'nginx $k$v $ver'" same "$T/$svc.out" "$T/$svc.exp"
		wait_closed "$svc"
		check "$label: tlswrap logged $ver and the $k certificate" svc_has "$svc" "$est"
		expect_sig "$svc" "$label" "$k" "$v"

		# stunnel server (sslVersionMin/Max pinned) -> echo backend
		svc=c_st_$k$v; label="client mode -> stunnel server $k $ver -> echo"
		payload "$svc" 100000
		tcp_echo "${P[tw:$svc]}" "$svc"
		check "$label: 100000 bytes back intact" same "$T/$svc.out" "$T/$svc.in"
		wait_closed "$svc"
		check "$label: tlswrap logged $ver and the $k certificate" svc_has "$svc" "$est"
		check "$label: tlswrap relayed 100000 bytes each way" \
			svc_has "$svc" "closed \\([^)]+\\); to_tls=100000 to_plain=100000 bytes"
		check "$label: stunnel logged a $ver session" stunnel_conn_has "sts_$k$v" "$ver ciphersuite"
		expect_sig "$svc" "$label" "$k" "$v"
	done
done

# s_server -serverpref at TLS 1.2 with RSA: the server's own order wins, and OpenSSL puts rsa_pss_rsae_* before
# rsa_pkcs1_*. With tlswrap offering 1.2 and 1.3 (so RSA-PSS is in its signature_algorithms) the server signs
# its ServerKeyExchange with RSA-PSS, which mbedTLS 3.6.6's TLS 1.2 client refuses (Mbed-TLS/mbedtls#10668).
# tlswrap then connects again offering TLS 1.2 only (no RSA-PSS in that ClientHello), and keeps doing so for
# that service; nginx with ssl_prefer_server_ciphers on (Debian's default) behaves the same way. With
# sslVersionMax = TLSv1.2, mbedTLS offers no RSA-PSS from the start.
alive
label="client mode -> s_server -serverpref rsa TLSv1.2"
timeout "$DL" curl -sS -o "$T/c_pref.out" "http://127.0.0.1:${P[tw:c_pref]}/" 2>"$T/c_pref.err"
wait_closed c_pref
check "$label (tlswrap offers 1.2+1.3): page served, s_server reports Protocol TLSv1.2" \
	has "$T/c_pref.out" '^ +Protocol +: TLSv1\.2$'
check "$label: the RSA-PSS ServerKeyExchange was refused and tlswrap offered TLS 1.2 only" \
	eval "traced pref Sent ServerKeyExchange '$PSS' &&
		svc_has c_pref 'the TLS 1.2 server signed with RSA-PSS, which mbedTLS refuses after offering TLS 1.3'"
check "$label: tlswrap logged TLSv1.2" svc_has c_pref 'established TLSv1\.2 .*peer="CN=localhost, O=tlswrap rsa"'
timeout "$DL" curl -sS -o "$T/c_pref2.out" "http://127.0.0.1:${P[tw:c_pref]}/" 2>>"$T/c_pref.err"
wait_closed c_pref 2
check "$label: the next connection offers TLS 1.2 only at once (no second refusal)" \
	eval "has '$T/c_pref2.out' '^ +Protocol +: TLSv1\\.2\$' &&
		[ \$(svc_log c_pref | grep -c 'TLS handshake failed') -eq 0 ] &&
		[ \$(svc_log c_pref | grep -c 'signed with RSA-PSS') -eq 1 ]"
# the server is upgraded to TLS 1.3 on the same port: its TLS 1.2 answer to the TLS 1.2-only offer carries the
# downgrade mark (RFC 8446 4.1.3), so tlswrap refuses to settle for TLS 1.2 and offers TLS 1.3 again
label="client mode -> the same server upgraded to TLS 1.3"
kill "${RUN_PID[pref]}" 2>/dev/null
wait "${RUN_PID[pref]}" 2>/dev/null
ss pref rsa -accept "127.0.0.1:${P[pref]}" -www
wait_port "${P[pref]}" "$DL"
timeout "$DL" curl -sS -o "$T/c_pref3.out" "http://127.0.0.1:${P[tw:c_pref]}/" 2>>"$T/c_pref.err"
wait_closed c_pref 3
check "$label: page served over TLS 1.3" has "$T/c_pref3.out" '^ +Protocol +: TLSv1\.3$'
check "$label: tlswrap saw the downgrade mark and offered TLS 1.3 again" \
	eval "svc_has c_pref 'the server supports TLS 1.3 now: offering it again' &&
		svc_has c_pref 'established TLSv1\\.3 .*peer=\"CN=localhost, O=tlswrap rsa\"'"
label="client mode (sslVersionMax = TLSv1.2) -> s_server -serverpref rsa TLSv1.2"
timeout "$DL" curl -sS -o "$T/c_pref12.out" "http://127.0.0.1:${P[tw:c_pref12]}/" 2>"$T/c_pref12.err"
check "$label: page served, s_server reports Protocol TLSv1.2" has "$T/c_pref12.out" '^ +Protocol +: TLSv1\.2$'
wait_closed c_pref12
check "$label: tlswrap logged TLSv1.2" svc_has c_pref12 'established TLSv1\.2 .*peer="CN=localhost, O=tlswrap rsa"'
offers_no_pss() { sniffed "$1" 'offered=[^ ]*rsa_pkcs1_sha256' && ! grep -Eq "^$1 #.*offered=[^ ]*rsa_pss" "$SNIFF"; }
check "$label: tlswrap offered rsa_pkcs1_* and no rsa_pss_*" offers_no_pss c_pref12
check "$label: s_server signed its ServerKeyExchange with PKCS#1 v1.5" \
	traced pref12 Sent ServerKeyExchange "$SIG12_rsa"

# ---------------------------------------------------------------------------------------------------------------
# 2. server mode: a TLS client pinned to one version -> tlswrap -> plaintext backend

for k in $KEYS; do
	for v in $VERS; do
		alive
		ver=TLSv1.${v#1}
		est="established TLSv1\\.${v#1} [A-Z0-9-]+ to 127\\.0\\.0\\.1:"

		# openssl s_client -brief -> echo
		svc=s_sc_$k$v; label="s_client -tls1_${v#1} -> server mode $k -> echo"
		s_client_echo "$svc" "${P[sn:$svc]}" "$svc" "-tls1_${v#1}"
		wait_closed "$svc"
		check "$label: echoed line comes back intact" same "$T/$svc.out" "$T/$svc.exp"
		check "$label: s_client reports Protocol version $ver" has "$T/$svc.err" "^Protocol version: $ver\$"
		check "$label: s_client reports Signature type ${BRIEF[$k$v]}" has "$T/$svc.err" "^Signature type: ${BRIEF[$k$v]}\$"
		check "$label: tlswrap logged $ver" svc_has "$svc" "$est${P[echo]}"
		expect_sig "$svc" "$label" "$k" "$v"

		# curl -> http backend
		svc=s_curl_$k$v; label="curl $ver -> server mode $k -> http.server"
		if [ "$v" = 12 ]; then cv=(--tlsv1.2 --tls-max 1.2); else cv=(--tlsv1.3); fi
		timeout "$DL" curl -sS -v --fail "${cv[@]}" --cacert "$PKI/ca.pem" -o "$T/$svc.out" \
			--resolve "localhost:${P[sn:$svc]}:127.0.0.1" "https://localhost:${P[sn:$svc]}/blob.bin" 2>"$T/$svc.err"
		check "$label: 200000-byte file identical" same "$T/$svc.out" "$T/www/blob.bin"
		check "$label: curl reports a $ver connection" has "$T/$svc.err" "SSL connection using $ver "
		wait_closed "$svc"
		check "$label: tlswrap logged $ver" svc_has "$svc" "$est${P[http]}"
		expect_sig "$svc" "$label" "$k" "$v"

		# nginx proxy_pass https (proxy_ssl_protocols pinned, proxy_ssl_verify on) -> http backend
		svc=s_ngx_$k$v; label="nginx proxy_ssl $ver -> server mode $k -> http.server"
		timeout "$DL" curl -sS --fail -o "$T/$svc.out" "http://127.0.0.1:${P[ngxc:$k$v]}/blob.bin" 2>"$T/$svc.err"
		check "$label: 200000-byte file identical" same "$T/$svc.out" "$T/www/blob.bin"
		wait_closed "$svc"
		check "$label: tlswrap logged $ver" svc_has "$svc" "$est${P[http]}"
		expect_sig "$svc" "$label" "$k" "$v"

		# stunnel client (sslVersionMin/Max pinned, verifyChain) -> echo
		svc=s_st_$k$v; label="stunnel client $ver -> server mode $k -> echo"
		payload "$svc" 100000
		tcp_echo "${P[stc:$k$v]}" "$svc"
		check "$label: 100000 bytes back intact" same "$T/$svc.out" "$T/$svc.in"
		wait_closed "$svc"
		check "$label: tlswrap logged $ver" svc_has "$svc" "$est${P[echo]}"
		check "$label: tlswrap relayed 100000 bytes each way" \
			svc_has "$svc" "closed \\([^)]+\\); to_tls=100000 to_plain=100000 bytes"
		check "$label: stunnel logged a $ver session" stunnel_conn_has "stc_$k$v" "$ver ciphersuite"
		expect_sig "$svc" "$label" "$k" "$v"
	done
done

# ---------------------------------------------------------------------------------------------------------------
# 3. mutual TLS, an RSA and an EC client certificate, both directions

for k in $KEYS; do
	for v in $VERS; do
		alive
		ver=TLSv1.${v#1}

		# s_client with client-KEY -> tlswrap (verifyChain = yes, CAfile) -> echo
		svc=s_mtls_$k$v; label="mTLS: s_client -tls1_${v#1} with cert client-$k -> server mode $k (verifyChain)"
		s_client_echo "$svc" "${P[sn:$svc]}" "$svc" "-tls1_${v#1}" -cert "$PKI/client-$k.crt" -key "$PKI/client-$k.key"
		wait_closed "$svc"
		check "$label: echoed line comes back intact" same "$T/$svc.out" "$T/$svc.exp"
		check "$label: tlswrap logged $ver and peer CN=client-$k" \
			svc_has "$svc" "established TLSv1\\.${v#1} [A-Z0-9-]+ to [^ ]+ peer=\"CN=client-$k, O=tlswrap tests\""
		if [ "$v" = 12 ]; then
			sig=SIG12_$k
			check "$label: on the wire TLSv1.2, client CertificateVerify signed ${!sig}" \
				sniffed "$svc" "version=TLSv1\\.2 .* cv=${!sig} "
		else
			check "$label: on the wire TLSv1.3" sniffed "$svc" "version=TLSv1\\.3 "
		fi

		# tlswrap with cert/key client-KEY -> s_server -Verify 1 -rev
		svc=c_mtls_$k$v; label="mTLS: client mode with cert client-$k -> s_server -Verify 1 -rev $k $ver"
		printf 'mtls %s %s\n' "$k$v" "$RANDOM$RANDOM" >"$T/$svc.in"
		rev <"$T/$svc.in" >"$T/$svc.exp"
		tcp_echo "${P[tw:$svc]}" "$svc"
		check "$label: line comes back reversed" same "$T/$svc.out" "$T/$svc.exp"
		check "$label: s_server verified CN=client-$k" has "$A/ssv_$k$v.log" "^depth=0 CN = client-$k, O = tlswrap tests\$"
		check "$label: s_server reports Protocol version $ver" has "$A/ssv_$k$v.log" "^Protocol version: $ver\$"
		wait_closed "$svc"
		check "$label: tlswrap logged $ver" svc_has "$svc" "established TLSv1\\.${v#1} .*peer=\"CN=localhost, O=tlswrap $k\""
		if [ "$k" = rsa ] && [ "$v" = 13 ]; then
			check "$label: tlswrap signed its CertificateVerify with RSA-PSS" \
				traced "ssv_$k$v" Received CertificateVerify "$PSS"
		else
			sig=SIG12_$k
			check "$label: tlswrap signed its CertificateVerify with ${!sig}" \
				traced "ssv_$k$v" Received CertificateVerify "${!sig}"
		fi
	done
done

# ---------------------------------------------------------------------------------------------------------------
# orderly stop: every connection above ended, SIGTERM exits 0 (and clean under ASan/UBSan)

stop_checked "$LOG" "$DL"

finish
