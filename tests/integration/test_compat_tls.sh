#!/usr/bin/env bash
# stunnel's TLS options as tlswrap takes them, against real peers: options = NAME / -NAME, sslVersion*,
# sessionResume, ticketKeySecret/ticketMacSecret, CRLpath, curves, PSK keys written in hex (one PSKsecrets
# file for stunnel4, openssl and tlswrap), OpenSSL cipher strings in 'ciphers', renegotiation and fips.
. "$(dirname "$0")/lib.sh"
make_pki
E=$(free_port)
# this test needs some 70 ports: taken from one python run (python starts slowly on a busy machine), as
# free_port would give them: distinct, and handed out to no other test within the hour
read -ra POOL <<<"$(free_ports 75)"
POOL_I=0
# port NAME: the next port of the pool in P[NAME] (and in $PORT)
declare -A P
port() {
	PORT=${POOL[POOL_I]:?port pool exhausted}
	POOL_I=$((POOL_I + 1))
	P[$1]=$PORT
}
port dummy
DUMMY=$PORT # the accept port of configurations only checked, never run
echo_server "$E"

# --- helpers ------------------------------------------------------------------------------------------

# sc PORT ARGS...: one openssl s_client connection that sends a line and closes as soon as its echo is
# back (or s_client gave up); its whole output is in $SC_OUT, SC_OK=1 when the echo came back
SC_N=0
sc() {
	local port=$1 w st deadline=$((SECONDS + 15)); shift
	SC_N=$((SC_N + 1))
	SC_OUT=$T/sc$SC_N.out
	local fifo=$T/sc$SC_N.in line="echo-$SC_N-$port"
	mkfifo "$fifo"
	: >"$SC_OUT"
	timeout 20 openssl s_client -connect "127.0.0.1:$port" "$@" <"$fifo" >"$SC_OUT" 2>&1 &
	local pid=$!
	PIDS+=("$pid")
	exec {w}>"$fifo"
	echo "$line" >&"$w"
	while ! grep -qx -- "$line" "$SC_OUT"; do
		st=Z
		read -r _ _ st _ 2>/dev/null <"/proc/$pid/stat"
		if [ "$st" = Z ] || [ $SECONDS -gt "$deadline" ]; then break; fi
		sleep 0.02
	done
	exec {w}>&-
	wait "$pid" 2>/dev/null
	unset 'PIDS[-1]' # waited for: nothing left to kill at exit
	rm -f "$fifo"
	SC_OK=0
	grep -qx -- "$line" "$SC_OUT" && SC_OK=1
	return 0
}
# sc_is [echo|noecho] [+ERE|-ERE]...: the last sc got its echo back (or not), its output has every +ERE and no
# -ERE; otherwise says what is missing and shows the s_client output
sc_is() {
	local a bad=0
	for a in "$@"; do
		case $a in
		echo) [ "$SC_OK" = 1 ] || { echo "# the echo did not come back" >&2; bad=1; } ;;
		noecho) [ "$SC_OK" = 0 ] || { echo "# the echo came back" >&2; bad=1; } ;;
		+*) grep -Eq -- "${a#+}" "$SC_OUT" || { echo "# no '${a#+}'" >&2; bad=1; } ;;
		-*) ! grep -Eq -- "${a#-}" "$SC_OUT" || { echo "# unexpected '${a#-}'" >&2; bad=1; } ;;
		esac
	done
	[ "$bad" = 0 ] && return 0
	echo "# s_client output ($SC_OUT):" >&2
	grep -vE '^( {4}[0-9a-f]{4} - |-----|[A-Za-z0-9+/=]{64}$)' "$SC_OUT" | tail -n 25 | sed 's/^/#   /' >&2
	return 1
}
echoed() { sc_is echo "$@"; }
refused() { sc_is noecho "$@"; }

# conf NAME LINES...: a configuration file $T/NAME.conf made of LINES; its path in $CONF
conf() {
	local f=$T/$1.conf; shift
	printf '%s\n' "$@" >"$f"
	CONF=$f
}
# line_of FILE TEXT: the number of the (first) line of FILE that is exactly TEXT
line_of() { grep -nxF -- "$2" "$1" | head -n1 | cut -d: -f1; }
# svc_lines NAME PORT: the lines of a server service on 127.0.0.1:PORT in front of the echo server
svc_lines() {
	printf '%s\n' "[$1]" "accept = 127.0.0.1:$2" "connect = 127.0.0.1:$E" "cert = $PKI/server.crt" "key = $PKI/server.key"
}
# refuses FILE TEXT [LINE-TEXT]: tlswrap --check FILE fails saying TEXT, on a line starting FILE:LINE: where
# LINE is the line of FILE that is LINE-TEXT, when given
refuses() {
	local f=$1 want=$2 at="" out rc
	[ $# -ge 3 ] && at="$f:$(line_of "$f" "$3"): "
	out=$("$TLSWRAP" --check "$f" 2>&1)
	rc=$?
	[ "$rc" -ne 0 ] && grep -F -- "$at" <<<"$out" | grep -qF -- "$want" && ! sanitizer_report <<<"$out" && return 0
	echo "# wanted a refusal with: ${at}... $want (exit $rc), got:" >&2
	sed 's/^/#   /' <<<"$out" >&2
	return 1
}
sanitizer_report() { grep -Eq 'AddressSanitizer|LeakSanitizer|ThreadSanitizer|runtime error:'; }
# accepts FILE: tlswrap --check FILE says OK
accepts() {
	local out
	out=$("$TLSWRAP" --check "$1" 2>&1) && grep -q ': OK (' <<<"$out" && ! sanitizer_report <<<"$out" && return 0
	echo "# --check $1 failed:" >&2
	sed 's/^/#   /' <<<"$out" >&2
	return 1
}
# bad_svc LINE...: a configuration of one good server service plus LINE...; its path in $CONF
BAD_N=0
bad_svc() {
	BAD_N=$((BAD_N + 1))
	local f=$T/bad$BAD_N.conf
	{
		echo "foreground = yes"
		svc_lines svc "$DUMMY"
		printf '%s\n' "$@"
	} >"$f"
	CONF=$f
}
# pytls PORT:MIN:MAX...: python's ssl (verifying the server) at versions MIN..MAX (TLSv1_2, TLSv1_3), one
# connection each; prints "PORT:MIN:MAX VERSION" once an echo came back, or "PORT:MIN:MAX refused: why"
pytls() {
	python3 - "$PKI/ca.crt" "$@" <<'PY'
import socket, ssl, sys
for arg in sys.argv[2:]:
    port, lo, hi = arg.split(":")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(sys.argv[1])
    ctx.minimum_version = getattr(ssl.TLSVersion, lo)
    ctx.maximum_version = getattr(ssl.TLSVersion, hi)
    try:
        with socket.create_connection(("127.0.0.1", int(port)), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as s:
                s.sendall(b"py\n")
                data = b""
                while not data.endswith(b"\n"):
                    chunk = s.recv(100)
                    if not chunk:
                        break
                    data += chunk
                print(arg, s.version() if data == b"py\n" else "no echo")
    except (ssl.SSLError, OSError) as e:
        print(arg, "refused:", e)
PY
}
# line_back PORT FILTER: a plain line through a client service on PORT comes back as FILTER makes it (cat:
# unchanged, an echo server; rev: reversed, openssl s_server -rev) (bash's /dev/tcp: no process to start)
line_back() {
	local fd reply="" line="through $1"
	exec {fd}<>"/dev/tcp/127.0.0.1/$1" || return 1
	printf '%s\n' "$line" >&"$fd"
	IFS= read -r -t 10 reply <&"$fd"
	exec {fd}>&-
	[ "$reply" = "$("$2" <<<"$line")" ] || { echo "# through $1: got '$reply'" >&2; return 1; }
}
through() { line_back "$1" cat; }
reversed() { line_back "$1" rev; }
is() { [ "$1" = "$2" ] || { echo "# got '$1', wanted '$2'" >&2; return 1; }; }
starts() { [[ $1 == "$2"* ]] || { echo "# got '$1', wanted '$2...'" >&2; return 1; }; }
not() { ! "$@"; }
count() { grep -cE -- "$2" "$1"; }

# --- certificates for CRLpath: a small 'openssl ca' with a good and a revoked client certificate ---------
CA=$T/crlca
mkdir -p "$CA/newcerts"
: >"$CA/index.txt"
echo 1000 >"$CA/serial"
echo 1000 >"$CA/crlnumber"
cat >"$CA/ca.cnf" <<CNF
[ ca ]
default_ca = crlca
[ crlca ]
dir = $CA
database = \$dir/index.txt
new_certs_dir = \$dir/newcerts
certificate = \$dir/ca.crt
private_key = \$dir/ca.key
serial = \$dir/serial
crlnumber = \$dir/crlnumber
default_md = sha256
default_days = 30
default_crl_days = 30
policy = any
unique_subject = no
[ any ]
commonName = supplied
[ client ]
extendedKeyUsage = clientAuth
CNF
(
	cd "$CA" || exit 1
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.crt -days 30 \
		-subj "/CN=tlswrap crl test ca" 2>/dev/null || exit 1
	for n in good revoked; do
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $n.key -out $n.csr -subj "/CN=$n" 2>/dev/null &&
			openssl ca -batch -config ca.cnf -extensions client -in $n.csr -out $n.crt 2>/dev/null || exit 1
	done
	openssl ca -batch -config ca.cnf -revoke revoked.crt -crl_reason keyCompromise 2>/dev/null &&
		openssl ca -batch -config ca.cnf -gencrl -out crl.pem 2>/dev/null
) || { not_ok "CRL test CA made with openssl ca"; finish; }
# as stunnel expects (hash.r0, beside the CA certificate as hash.0), and plainly (DER, beside a text file)
mkdir -p "$T/crl-hash" "$T/crl-plain" "$T/crl-bad"
cp "$CA/crl.pem" "$T/crl-hash/$(openssl crl -in "$CA/crl.pem" -hash -noout).r0"
cp "$CA/ca.crt" "$T/crl-hash/$(openssl x509 -in "$CA/ca.crt" -hash -noout).0"
openssl crl -in "$CA/crl.pem" -outform DER -out "$T/crl-plain/revoked.crl"
echo "CRLs of the test CA" >"$T/crl-plain/README"
cp "$CA/ca.crt" "$T/crl-plain/ca.pem"
printf -- '-----BEGIN X509 CRL-----\nbm90IGEgQ1JM\n-----END X509 CRL-----\n' >"$T/crl-bad/broken.r0"

# --- PSK keys: one file for stunnel4, openssl and tlswrap -----------------------------------------------
HEX16=$(openssl rand -hex 16)
HEX24=$(openssl rand -hex 24)
COLON24=$(sed 's/../&:/g; s/:$//' <<<"$HEX24")
TEXTKEY=text-key-of-twenty-four!
ODDKEY=0123456789abcdef0123456789abcdef0 # 33 hex digits: an odd count, so text
hex_of() { printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n'; }
printf 'hexid:%s\ncolonid:%s\ntextid:%s\noddid:%s\n' "$HEX16" "$COLON24" "$TEXTKEY" "$ODDKEY" >"$T/psk.txt"
chmod 600 "$T/psk.txt"

# --- ticket secrets: the same bytes written with and without colons, and a different pair ---------------
TKEY=$(openssl rand -hex 32)
TMAC=$(openssl rand -hex 16)
colons() { sed 's/../&:/g; s/:$//' <<<"$1"; }
OKEY=$(openssl rand -hex 32)
OMAC=$(openssl rand -hex 16)

# --- the main instance ----------------------------------------------------------------------------------
port s_server
SS=$PORT # openssl s_server showing the ClientHello extensions of tlswrap clients
port stunnel
ST=$PORT # stunnel4's PSK server
MAIN=$T/main.conf
# srv NAME LINES...: a server service on a fresh port P[NAME]
srv() {
	port "$1"
	svc_lines "$1" "${P[$1]}"
	shift
	[ $# -eq 0 ] || printf '%s\n' "$@"
}
# cli NAME CONNECT-PORT LINES...: a client service on a fresh port P[NAME]
cli() {
	port "$1"
	printf '%s\n' "[$1]" "client = yes" "accept = 127.0.0.1:${P[$1]}" "connect = localhost:$2" "CAfile = $PKI/ca.crt"
	shift 2
	[ $# -eq 0 ] || printf '%s\n' "$@"
}
ORDER=ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256
CBC=ECDHE-ECDSA-AES128-SHA256
{
	echo "foreground = yes"
	echo "fips = no"
	# 1. options
	srv v12 "options = no_tlsv1_3"
	srv v13 "options = NO_TLSv1_2"
	srv v13back "options = -NO_TLSv1_3" "options = NO_TLSv1_3"
	srv noticket "options = NO_TICKET"
	srv order-default "ciphers = $ORDER"
	srv order-server "ciphers = $ORDER" "options = CIPHER_SERVER_PREFERENCE"
	srv order-client "ciphers = $ORDER" "options = -CIPHER_SERVER_PREFERENCE"
	srv order-both "ciphers = $ORDER" "options = CIPHER_SERVER_PREFERENCE" "options = -CIPHER_SERVER_PREFERENCE"
	srv order-both2 "ciphers = $ORDER" "options = -CIPHER_SERVER_PREFERENCE" "options = CIPHER_SERVER_PREFERENCE"
	srv ext-default "ciphers = $CBC"
	srv noems "ciphers = $CBC" "options = NO_EXTENDED_MASTER_SECRET"
	srv noetm "ciphers = $CBC" "options = NO_ENCRYPT_THEN_MAC"
	srv canames "CAfile = $PKI/ca.crt" "verifyChain = yes"
	srv nocanames "CAfile = $PKI/ca.crt" "verifyChain = yes" "options = DISABLE_TLSEXT_CA_NAMES"
	srv noops "options = NO_SSLv2" "options = NO_SSLv3" "options = NO_TLSv1" "options = NO_TLSv1_1" \
		"options = NO_COMPRESSION" "options = SINGLE_DH_USE" "options = SINGLE_ECDH_USE" "options = ALL" \
		"options = MICROSOFT_SESS_ID_BUG" "options = DONT_INSERT_EMPTY_FRAGMENTS" "options = TLS_D5_BUG" \
		"options = NO_DTLSv1" "options = COOKIE_EXCHANGE" "renegotiation = no"
	# 2. versions
	srv vall "sslVersion = all"
	srv vminall "sslVersionMin = all"
	srv vmaxall "sslVersionMax = all"
	srv vpin12 "sslVersion = TLSv1.2"
	# 3. sessionResume
	srv resume
	srv noresume "sessionResume = no"
	cli cli-resume "${P[resume]}"
	cli cli-noresume "${P[resume]}" "sessionResume = no"
	cli cli-resume12 "${P[v12]}"
	cli cli-noresume12 "${P[v12]}" "sessionResume = no"
	# NO_TICKET on a client, and a client as is, both to openssl s_server
	cli cli-plain "$SS" "sslVersion = TLSv1.2"
	cli cli-noticket "$SS" "sslVersion = TLSv1.2" "options = NO_TICKET"
	# 4. shared ticket secrets (the other instance has them without colons)
	srv tka "ticketKeySecret = $(colons "$TKEY")" "ticketMacSecret = $(colons "$TMAC")"
	# 5. CRLpath
	srv crl-none "CAfile = $CA/ca.crt" "verifyChain = yes"
	srv crl-hash "CAfile = $CA/ca.crt" "verifyChain = yes" "CRLpath = $T/crl-hash"
	srv crl-plain "CAfile = $CA/ca.crt" "verifyChain = yes" "CRLpath = $T/crl-plain"
	# 6. curves
	srv p384 "curves = P-384"
	srv p256 "curves = prime256v1"
	srv curvelist "curves = X448:P-521"
	# 7. PSK
	port psk
	printf '%s\n' "[psk]" "accept = 127.0.0.1:${P[psk]}" "connect = 127.0.0.1:$E" "PSKsecrets = $T/psk.txt"
	port to-stunnel12
	printf '%s\n' "[to-stunnel12]" "client = yes" "accept = 127.0.0.1:${P[to-stunnel12]}" "connect = 127.0.0.1:$ST" \
		"PSKsecrets = $T/psk.txt" "PSKidentity = hexid" "sslVersion = TLSv1.2"
	port to-stunnel13
	printf '%s\n' "[to-stunnel13]" "client = yes" "accept = 127.0.0.1:${P[to-stunnel13]}" "connect = 127.0.0.1:$ST" \
		"PSKsecrets = $T/psk.txt" "PSKidentity = colonid" "sslVersion = TLSv1.3"
	# 8. cipher strings
	srv c-high "ciphers = HIGH:!aNULL:!MD5"
	srv c-aesgcm "ciphers = ECDHE+AESGCM"
	srv c-default "ciphers = DEFAULT"
	srv c-lacks "ciphers = HIGH:!aNULL:!MD5:!DES-CBC3-SHA:!RC4-SHA:!NULL-SHA:EDH-RSA-DES-CBC3-SHA"
	port c-psk
	printf '%s\n' "[c-psk]" "accept = 127.0.0.1:${P[c-psk]}" "connect = 127.0.0.1:$E" "PSKsecrets = $T/psk.txt" \
		"ciphers = PSK"
} >"$MAIN"
start_tlswrap "$MAIN" || { not_ok "tlswrap starts with the stunnel TLS options"; finish; }
LOG=$MAIN.log
MAIN_PID=$TLSWRAP_PID

# ======== 1. options = NAME / -NAME ========
sc "${P[v12]}" -tls1_3
check "options = no_tlsv1_3 (lower case): a TLS 1.3-only client is refused" refused
sc "${P[v12]}"
check "options = NO_TLSv1_3: a client offering both gets TLS 1.2" echoed '+^New, TLSv1\.2,'
sc "${P[v13]}" -tls1_2
check "options = NO_TLSv1_2: a TLS 1.2-only client is refused" refused
sc "${P[v13]}" -tls1_3
check "options = NO_TLSv1_2: TLS 1.3 still served" echoed '+^New, TLSv1\.3,'
sc "${P[v13back]}" -tls1_3
check "options = -NO_TLSv1_3 wins over a later NO_TLSv1_3 line: TLS 1.3 served" echoed '+^New, TLSv1\.3,'

# NO_TICKET on a server: no ticket, but TLS 1.2 session IDs still resume; TLS 1.3 has nothing to resume with
rm -f "$T/nt12"
sc "${P[noticket]}" -tls1_2 -sess_out "$T/nt12"
check "options = NO_TICKET: TLS 1.2 server issues no ticket" echoed '+^New, TLSv1\.2,' '-TLS session ticket'

sc "${P[noticket]}" -tls1_2 -sess_in "$T/nt12"
check "options = NO_TICKET: TLS 1.2 session-ID resumption still works" echoed '+^Reused, TLSv1\.2,'
rm -f "$T/nt13"
sc "${P[noticket]}" -tls1_3 -sess_out "$T/nt13"
check "options = NO_TICKET: TLS 1.3 server sends no NewSessionTicket" echoed '+^New, TLSv1\.3,' '-New Session Ticket arrived'
check "options = NO_TICKET: ... so s_client saved no TLS 1.3 session" test ! -s "$T/nt13"
sc "${P[resume]}" -tls1_2
check "control: a default server issues a TLS 1.2 ticket" echoed '+TLS session ticket:'

# NO_TICKET on a client: its ClientHello carries no session_ticket extension (openssl s_server -tlsextdebug)
SS_FIFO=$T/ss.in
mkfifo "$SS_FIFO"
SS_LOG=$T/bg${#PIDS[@]}.out
bg openssl s_server -4 -accept "$SS" -cert "$PKI/server.crt" -key "$PKI/server.key" -tlsextdebug -rev <>"$SS_FIFO"
wait_port "$SS" || not_ok "openssl s_server starts"
ss_hello() { # SERVICE: one connection through a tlswrap client service to s_server; $T/hello.SERVICE gets the
	# extensions of its ClientHello
	local before closed
	before=$(wc -l <"$SS_LOG")
	closed=$(count "$SS_LOG" '^CONNECTION CLOSED')
	through "${P[$1]}" 2>/dev/null # s_server -rev sends the line back reversed
	eventually test "$(count "$SS_LOG" '^CONNECTION CLOSED')" -gt "$closed"
	tail -n +$((before + 1)) "$SS_LOG" | grep 'TLS client extension' >"$T/hello.$1"
}
# hello_has SERVICE [+EXT|-EXT]...: the ClientHello of SERVICE's last connection had (+) or lacked (-) extension EXT
hello_has() {
	local f=$T/hello.$1 a bad=0
	shift
	[ -s "$f" ] || { echo "# s_server saw no ClientHello" >&2; return 1; }
	for a in "$@"; do
		case $a in
		+*) grep -q "\"${a#+}\"" "$f" || bad=1 ;;
		-*) ! grep -q "\"${a#-}\"" "$f" || bad=1 ;;
		esac
	done
	[ "$bad" = 0 ] || sed 's/^/#   /' "$f" >&2
	[ "$bad" = 0 ]
}
ss_hello cli-plain
check "control: a tlswrap client offers a session ticket (s_server -tlsextdebug)" hello_has cli-plain '+session ticket'
ss_hello cli-noticket
check "options = NO_TICKET: a tlswrap client offers no session ticket" hello_has cli-noticket '-session ticket' \
	'+signature algorithms'

# server or client preference for TLS 1.2 suites
CLIENT_ORDER=ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384
for s in order-default:AES256 order-server:AES256 order-client:AES128 order-both:AES128 order-both2:AES128; do
	name=${s%%:*} want=${s#*:}
	sc "${P[$name]}" -tls1_2 -cipher "$CLIENT_ORDER"
	case $name in
	order-default) what="default: the server's TLS 1.2 suite order wins" ;;
	order-server) what="options = CIPHER_SERVER_PREFERENCE: the server's order still wins" ;;
	order-client) what="options = -CIPHER_SERVER_PREFERENCE: the client's order wins" ;;
	order-both) what="-CIPHER_SERVER_PREFERENCE after CIPHER_SERVER_PREFERENCE: the client's order wins" ;;
	order-both2) what="-CIPHER_SERVER_PREFERENCE before CIPHER_SERVER_PREFERENCE: still the client's order" ;;
	esac
	check "$what" echoed "+Cipher is ECDHE-ECDSA-$want-GCM-SHA"
done

# extended master secret and encrypt-then-mac (a CBC suite, where ETM applies), from s_client -tlsextdebug
sc "${P[ext-default]}" -tls1_2 -tlsextdebug
check "control: a TLS 1.2 server answers extended master secret and encrypt-then-mac" \
	echoed '+"extended master secret"' '+"encrypt-then-mac"' '+Extended master secret: yes'
sc "${P[noems]}" -tls1_2 -tlsextdebug
check "options = NO_EXTENDED_MASTER_SECRET: no EMS extension, s_client says EMS no" \
	echoed '-"extended master secret"' '+Extended master secret: no' '+"encrypt-then-mac"'
sc "${P[noetm]}" -tls1_2 -tlsextdebug
check "options = NO_ENCRYPT_THEN_MAC: no encrypt-then-mac extension (EMS still there)" \
	echoed '-"encrypt-then-mac"' '+"extended master secret"'

# CA names in the CertificateRequest
# (mbedTLS sends no certificate_authorities in a TLS 1.3 CertificateRequest at all: the control is TLS 1.2's)
sc "${P[canames]}" -tls1_2 -cert "$PKI/client.crt" -key "$PKI/client.key"
check "tls1_2 control: the CertificateRequest names the CA" \
	echoed '+^Acceptable client certificate CA names' '+^CN = tlswrap test ca$'
for v in tls1_2 tls1_3; do
	sc "${P[nocanames]}" -$v -cert "$PKI/client.crt" -key "$PKI/client.key"
	check "$v options = DISABLE_TLSEXT_CA_NAMES: no CA names sent" echoed '+^No client certificate CA names sent'
done

sc "${P[noops]}"
check "no-op options (NO_SSLv2 .. NO_TLSv1_1, NO_COMPRESSION, SINGLE_*_USE, ALL, bug workarounds, DTLS) and renegotiation = no: service works" \
	echoed '+^New, TLSv1\.3,'

bad_svc "options = -NO_SSLv3"
check "options = -NO_SSLv3 refused naming the line" refuses "$CONF" "options: -NO_SSLv3 is refused: SSLv3 is never enabled" "options = -NO_SSLv3"
bad_svc "options = ALLOW_UNSAFE_LEGACY_RENEGOTIATION"
check "options = ALLOW_UNSAFE_LEGACY_RENEGOTIATION refused naming the line, with the reason" \
	refuses "$CONF" "options: ALLOW_UNSAFE_LEGACY_RENEGOTIATION is not supported: renegotiation" "options = ALLOW_UNSAFE_LEGACY_RENEGOTIATION"
bad_svc "options = NO_SUCH_OPTION"
check "options = NO_SUCH_OPTION refused naming the line" refuses "$CONF" "options: unknown option 'NO_SUCH_OPTION'" "options = NO_SUCH_OPTION"

# ======== 2. sslVersion, sslVersionMin, sslVersionMax ========
declare -A PY
while read -r key result; do PY[$key]=$result; done < <(pytls "${P[vall]}:TLSv1_2:TLSv1_2" "${P[vall]}:TLSv1_3:TLSv1_3" \
	"${P[vminall]}:TLSv1_2:TLSv1_2" "${P[vminall]}:TLSv1_3:TLSv1_3" "${P[vmaxall]}:TLSv1_2:TLSv1_2" \
	"${P[vmaxall]}:TLSv1_3:TLSv1_3" "${P[vpin12]}:TLSv1_2:TLSv1_3" "${P[vpin12]}:TLSv1_3:TLSv1_3")
for s in vall vminall vmaxall; do
	check "[$s] ($(grep -A5 "^\[$s\]" "$MAIN" | grep '^sslVersion')): TLS 1.2 allowed (python ssl)" \
		is "${PY[${P[$s]}:TLSv1_2:TLSv1_2]-}" TLSv1.2
	check "[$s]: TLS 1.3 allowed (python ssl)" is "${PY[${P[$s]}:TLSv1_3:TLSv1_3]-}" TLSv1.3
done
check "sslVersion = TLSv1.2 pins: TLS 1.2 served" is "${PY[${P[vpin12]}:TLSv1_2:TLSv1_3]-}" TLSv1.2
check "sslVersion = TLSv1.2 pins: a TLS 1.3-only client refused" starts "${PY[${P[vpin12]}:TLSv1_3:TLSv1_3]-}" refused
for v in SSLv3 TLSv1 TLSv1.1; do
	bad_svc "sslVersion = $v"
	check "sslVersion = $v refused with the reason" refuses "$CONF" "sslVersion: $v is not supported" "sslVersion = $v"
done
bad_svc "sslVersionMin = TLSv1"
check "sslVersionMin = TLSv1 refused" refuses "$CONF" "sslVersionMin: TLSv1 is not supported" "sslVersionMin = TLSv1"

# ======== 3. sessionResume ========
for v in tls1_2 tls1_3; do
	rm -f "$T/r-$v" "$T/nr-$v" "$T/nrid-$v"
	sc "${P[resume]}" -$v -sess_out "$T/r-$v"
	sc "${P[resume]}" -$v -sess_in "$T/r-$v"
	check "$v control: sessionResume default resumes" echoed '+^Reused,'
	sc "${P[noresume]}" -$v -sess_out "$T/nr-$v"
	# (TLS 1.3: no ticket comes, so s_client may have nothing to offer; it offers what it has)
	in=()
	[ -s "$T/nr-$v" ] && in=(-sess_in "$T/nr-$v")
	sc "${P[noresume]}" -$v "${in[@]}"
	check "$v sessionResume = no: the second connection is a full handshake too" echoed '+^New,'
	[ "$v" = tls1_2 ] || check "$v sessionResume = no: no ticket sent" echoed '-New Session Ticket arrived'
done
rm -f "$T/nrid"
sc "${P[noresume]}" -tls1_2 -no_ticket -sess_out "$T/nrid"
sc "${P[noresume]}" -tls1_2 -no_ticket -sess_in "$T/nrid"
check "tls1_2 sessionResume = no: no session-ID resumption either" echoed '+^New,'
sc "${P[noresume]}" -tls1_2
check "tls1_2 sessionResume = no: no ticket issued" echoed '-TLS session ticket:'

for s in cli-resume cli-noresume cli-resume12 cli-noresume12; do
	for i in 1 2 3; do through "${P[$s]}" || not_ok "[$s] connection $i gets through"; done
done
wait_log "$LOG" "\[cli-noresume12\] #[0-9]+ .*established" >/dev/null
eventually test "$(count "$LOG" '\[cli-noresume12\] #[0-9]+ .*established')" -eq 3
check "control: a client resumes its later connections (TLS 1.3)" \
	test "$(count "$LOG" '\[cli-resume\] #[0-9]+ .*established TLSv1\.3 .* resumed$')" -ge 2
check "control: a client resumes its later connections (TLS 1.2)" \
	test "$(count "$LOG" '\[cli-resume12\] #[0-9]+ .*established TLSv1\.2 .* resumed$')" -ge 2
# full_every_time SERVICE VERSION: SERVICE's 3 connections were established at VERSION, none resumed
full_every_time() {
	is "$(count "$LOG" "\[$1\] #[0-9]+ .*established TLSv$2 ")" 3 && is "$(count "$LOG" "\[$1\] #[0-9]+ .* resumed$")" 0
}
check "sessionResume = no: a client makes a full handshake every time (TLS 1.3)" full_every_time cli-noresume 1.3
check "sessionResume = no: a client makes a full handshake every time (TLS 1.2)" full_every_time cli-noresume12 1.2

# ======== 4. ticketKeySecret + ticketMacSecret ========
# (the second instance also has a CRLpath service for section 5, whose directory gets its CRL later)
port tkb
port tkc
port crl-late
mkdir -p "$T/crl-late"
cp "$CA/ca.crt" "$T/crl-late/ca.pem"
{
	echo "foreground = yes"
	svc_lines tkb "${P[tkb]}"
	printf '%s\n' "ticketKeySecret = $TKEY" "ticketMacSecret = $TMAC"
	svc_lines tkc "${P[tkc]}"
	printf '%s\n' "ticketKeySecret = $OKEY" "ticketMacSecret = $OMAC"
	svc_lines crl-late "${P[crl-late]}"
	printf '%s\n' "CAfile = $CA/ca.crt" "verifyChain = yes" "CRLpath = $T/crl-late"
} >"$T/tk.conf"
start_tlswrap "$T/tk.conf" || not_ok "second instance (ticket secrets, CRLpath read at load) starts"
TK_PID=$TLSWRAP_PID
for v in tls1_2 tls1_3; do
	for dir in tka:tkb tkb:tka; do
		from=${dir%%:*} to=${dir#*:}
		rm -f "$T/tk-$v-$from"
		sc "${P[$from]}" -$v -sess_out "$T/tk-$v-$from"
		sc "${P[$to]}" -$v -sess_in "$T/tk-$v-$from"
		check "$v: a ticket from [$from] resumes on [$to] (same secrets, other process)" echoed '+^Reused,'
	done
	sc "${P[tkc]}" -$v -sess_in "$T/tk-$v-tka"
	check "$v: a ticket from [tka] does not resume on [tkc] (other secrets)" echoed '+^New,'
done
bad_svc "ticketKeySecret = $TKEY"
check "ticketKeySecret alone refused naming the section" refuses "$CONF" "service [svc]: ticketKeySecret and ticketMacSecret go together"
bad_svc "ticketMacSecret = $TMAC"
check "ticketMacSecret alone refused naming the section" refuses "$CONF" "service [svc]: ticketKeySecret and ticketMacSecret go together"
bad_svc "ticketKeySecret = $(openssl rand -hex 20)" "ticketMacSecret = $TMAC"
check "ticketKeySecret of 20 bytes refused" refuses "$CONF" "ticketKeySecret: expected 32 or 64 hexadecimal digits"
conf cli-tk "foreground = yes" "[c]" "client = yes" "accept = 127.0.0.1:$DUMMY" "connect = 127.0.0.1:$E" "verifyChain = no" \
	"ticketKeySecret = $TKEY"
check "client mode: ticketKeySecret alone is ignored, as in stunnel" accepts "$CONF"

# ======== 5. CRLpath ========
for s in crl-none crl-hash crl-plain; do
	sc "${P[$s]}" -cert "$CA/good.crt" -key "$CA/good.key"
	check "[$s]: a good client certificate is accepted" echoed
done
sc "${P[crl-none]}" -cert "$CA/revoked.crt" -key "$CA/revoked.key"
check "control: without CRLpath the revoked certificate is accepted" echoed
for s in crl-hash crl-plain; do
	case $s in
	crl-hash) what="CRLpath with hash.r0 (PEM, as stunnel names it) beside a CA certificate" ;;
	crl-plain) what="CRLpath with a plainly named DER CRL beside a text file and a certificate" ;;
	esac
	for v in tls1_2 tls1_3; do
		mark_log "$LOG"
		sc "${P[$s]}" -$v -cert "$CA/revoked.crt" -key "$CA/revoked.key"
		check "$v $what: a revoked client certificate gets nothing through" refused
		check "$v $what: ... and is logged as revoked" wait_log_since_mark "$LOG" \
			"\[$s\] #[0-9]+ .*closed \((peer refused|TLS handshake failed): certificate verification failed.*revoked"
	done
done
# the directory is read when the configuration is loaded: a CRL put there later counts from the next reload
sc "${P[crl-late]}" -cert "$CA/revoked.crt" -key "$CA/revoked.key"
check "CRLpath without a CRL yet: the revoked certificate is accepted" echoed
cp "$CA/crl.pem" "$T/crl-late/late.crl"
sc "${P[crl-late]}" -cert "$CA/revoked.crt" -key "$CA/revoked.key"
check "CRLpath: a CRL added while running is not read before a reload" echoed
mark_log "$T/tk.conf.log"
kill -HUP "$TK_PID"
check "CRLpath: SIGHUP reloads" wait_log_since_mark "$T/tk.conf.log" 'SIGHUP: configuration reloaded'
sc "${P[crl-late]}" -cert "$CA/revoked.crt" -key "$CA/revoked.key"
check "CRLpath: after the reload the revoked certificate is refused" refused
sc "${P[crl-late]}" -cert "$CA/good.crt" -key "$CA/good.key"
check "CRLpath: ... and the good one still accepted" echoed
{ echo "foreground = yes"; svc_lines crl "$DUMMY"; printf '%s\n' "CAfile = $CA/ca.crt" "verifyChain = yes" "CRLpath = $T/crl-bad"; } >"$T/crlbad.conf"
check "CRLpath: a file saying BEGIN X509 CRL that does not parse is an error" refuses "$T/crlbad.conf" "CRLpath: CRL"
check "CRLpath: ... the error names the file" refuses "$T/crlbad.conf" "$T/crl-bad/broken.r0"

# ======== 6. curves ========
# (TLS 1.2 clients list P-256 too: the server's ECDSA certificate is on P-256, which a TLS 1.2 client must
# accept in supported_groups, in OpenSSL as in mbedTLS)
sc "${P[p384]}" -tls1_2 -groups X25519:P-256
check "tls1_2 curves = P-384: a client without P-384 is refused (no shared group)" refused
sc "${P[p384]}" -tls1_2 -groups X25519:P-256:P-384
check "tls1_2 curves = P-384: a client offering P-384 gets it" echoed '+Server Temp Key: ECDH, (secp384r1|P-384)'
sc "${P[p384]}" -tls1_3 -groups X25519
check "tls1_3 curves = P-384: a client with only X25519 is refused" refused
sc "${P[p384]}" -tls1_3 -groups P-384
check "tls1_3 curves = P-384: a client with P-384 gets it" echoed '+Server Temp Key: ECDH, (secp384r1|P-384)'
sc "${P[p384]}" -tls1_3 -groups X25519:P-384
check "tls1_3 curves = P-384: a client sharing X25519 first gets P-384 (HelloRetryRequest)" \
	echoed '+Server Temp Key: ECDH, (secp384r1|P-384)'

sc "${P[p256]}" -groups X25519:P-256
check "curves = prime256v1: P-256 negotiated" echoed '+Server Temp Key: ECDH, (prime256v1|P-256)'
sc "${P[curvelist]}" -groups X25519:P-521
check "curves = X448:P-521: the shared P-521 negotiated" echoed '+Server Temp Key: ECDH, (secp521r1|P-521)'
sc "${P[curvelist]}" -groups X25519:X448
check "curves = X448:P-521: X448 negotiated" echoed '+Server Temp Key: X448'
# the defaults (bench/crypto.sh's figures): a TLS 1.2 server takes P-256 and ChaCha20-Poly1305 by its own order;
# a TLS 1.3 client sharing only X25519 (OpenSSL's default) keeps it, without a HelloRetryRequest
sc "${P[resume]}" -tls1_2
check "default server, TLS 1.2: P-256 and ChaCha20-Poly1305 first (client lists X25519 and AES-GCM first)" \
	echoed '+Server Temp Key: ECDH, (prime256v1|P-256)' '+Cipher is ECDHE-ECDSA-CHACHA20-POLY1305'
sc "${P[resume]}" -tls1_3 -groups X25519:P-256 -msg
check "default server, TLS 1.3: the client's X25519 share is taken" echoed '+Server Temp Key: X25519'
check "default server, TLS 1.3: ... without a HelloRetryRequest (one ClientHello)" \
	test "$(grep -c 'Handshake .*ClientHello' "$SC_OUT")" = 1
sc "${P[p384]}" -tls1_3 -groups X25519:P-384 -msg
check "control: a HelloRetryRequest shows as a second ClientHello" test "$(grep -c 'Handshake .*ClientHello' "$SC_OUT")" = 2
{
	echo "foreground = yes"
	i=0
	for c in X25519 P-256 prime256v1 secp256r1 P-384 P-521 X448 brainpoolP256r1 brainpoolP384r1 brainpoolP512r1 \
		ffdhe2048 ffdhe3072 ffdhe4096 ffdhe6144 ffdhe8192 X25519:P-384:ffdhe2048; do
		i=$((i + 1))
		port "curve$i"
		svc_lines "curve$i" "$PORT"
		echo "curves = $c"
	done
} >"$T/curves.conf"
check "curves: every name stunnel users write is accepted" accepts "$T/curves.conf"
bad_svc "curves = P-999"
check "curves = P-999 refused naming the line" refuses "$CONF" "curves: unknown curve 'P-999'" "curves = P-999"

# ======== 7. PSK keys in hex, shared with stunnel4 and openssl ========
ST_LOG=$T/bg${#PIDS[@]}.out
port st-client13
port st-client12
cat >"$T/stunnel.conf" <<CONF
foreground = yes
pid =
debug = notice
[psk-server]
accept = 127.0.0.1:$ST
connect = 127.0.0.1:$E
PSKsecrets = $T/psk.txt
[client13]
client = yes
accept = 127.0.0.1:${P[st-client13]}
connect = 127.0.0.1:${P[psk]}
PSKsecrets = $T/psk.txt
PSKidentity = textid
[client12]
client = yes
accept = 127.0.0.1:${P[st-client12]}
connect = 127.0.0.1:${P[psk]}
PSKsecrets = $T/psk.txt
PSKidentity = hexid
sslVersion = TLSv1.2
CONF
bg stunnel4 "$T/stunnel.conf"
wait_port "$ST" || not_ok "stunnel4 starts"
wait_port "${P[st-client12]}" || not_ok "stunnel4's client services listen"
check "tlswrap client -> stunnel4 server, TLS 1.2, hex key" through "${P[to-stunnel12]}"
check "... stunnel took identity hexid" wait_log "$ST_LOG" 'PSK identity "hexid"'
check "... tlswrap negotiated TLS 1.2 with a PSK suite" wait_log "$LOG" '\[to-stunnel12\] #[0-9]+ .*established TLSv1\.2 TLS-[A-Z0-9-]*PSK'
check "tlswrap client -> stunnel4 server, TLS 1.3, hex key with colons" through "${P[to-stunnel13]}"
check "... stunnel took identity colonid" wait_log "$ST_LOG" 'PSK identity "colonid"'
check "... tlswrap negotiated TLS 1.3" wait_log "$LOG" '\[to-stunnel13\] #[0-9]+ .*established TLSv1\.3 '
check "stunnel4 client -> tlswrap server, TLS 1.3, text key" through "${P[st-client13]}"
check "... tlswrap took identity textid" wait_log "$LOG" '\[psk\] #[0-9]+ .*established TLSv1\.3 .*rule="PSK identity=textid"'
check "stunnel4 client -> tlswrap server, TLS 1.2, hex key" through "${P[st-client12]}"
check "... tlswrap took identity hexid" wait_log "$LOG" '\[psk\] #[0-9]+ .*established TLSv1\.2 .*rule="PSK identity=hexid"'
for v in tls1_2 tls1_3; do
	sc "${P[psk]}" -$v -psk_identity hexid -psk "$HEX16"
	check "$v openssl -psk HEX (as written in the file) -> tlswrap" echoed
	sc "${P[psk]}" -$v -psk_identity colonid -psk "$HEX24"
	check "$v openssl -psk HEX -> tlswrap, the file's key written with colons" echoed
	sc "${P[psk]}" -$v -psk_identity hexid -psk "$(hex_of "$HEX16")"
	check "$v the hex key is not its text" refused
	sc "${P[psk]}" -$v -psk_identity oddid -psk "$(hex_of "$ODDKEY")"
	check "$v an odd number of hex digits is text" echoed
done
printf 'short:%s\n' "$(openssl rand -hex 15)" >"$T/short.txt"
chmod 600 "$T/short.txt"
bad_svc "PSKsecrets = $T/short.txt"
check "a 30-hex-digit key is refused" refuses "$CONF" "$T/short.txt:1: key shorter than 16 bytes (hexadecimal: 32 digits at least)"
printf 'long:%s\n' "$(openssl rand -hex 49)" >"$T/long.txt"
chmod 600 "$T/long.txt"
bad_svc "PSKsecrets = $T/long.txt"
check "a 49-byte hex key is refused" refuses "$CONF" "$T/long.txt:1: key longer than 48 bytes"
printf 'max:%s\nmin:%s\n' "$(openssl rand -hex 48)" "$(openssl rand -hex 16)" >"$T/edge.txt"
chmod 600 "$T/edge.txt"
bad_svc "PSKsecrets = $T/edge.txt"
check "16- and 48-byte hex keys are accepted" accepts "$CONF"

# ======== 8. OpenSSL cipher strings ========
sc "${P[c-high]}" -tls1_2 -cipher ECDHE-ECDSA-AES128-SHA
check "ciphers = HIGH:!aNULL:!MD5: a HIGH CBC suite negotiated" echoed '+Cipher is ECDHE-ECDSA-AES128-SHA$'
sc "${P[c-aesgcm]}" -tls1_2 -cipher ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES256-GCM-SHA384
check "ciphers = ECDHE+AESGCM: the AES-GCM suite negotiated, not ChaCha20" echoed '+Cipher is ECDHE-ECDSA-AES256-GCM-SHA384'
sc "${P[c-aesgcm]}" -tls1_2 -cipher ECDHE-ECDSA-CHACHA20-POLY1305
check "ciphers = ECDHE+AESGCM: a ChaCha20-only client refused" refused
sc "${P[c-lacks]}" -tls1_2 -cipher ECDHE-ECDSA-AES128-SHA
check "ciphers naming suites mbedTLS lacks (!DES-CBC3-SHA, EDH-RSA-DES-CBC3-SHA ...): a HIGH suite negotiated" \
	echoed '+Cipher is ECDHE-ECDSA-AES128-SHA$'
sc "${P[c-default]}" -tls1_2 -cipher ECDHE-ECDSA-AES256-SHA384
check "ciphers = DEFAULT: a suite from OpenSSL's DEFAULT negotiated" echoed '+Cipher is ECDHE-ECDSA-AES256-SHA384'
sc "${P[c-psk]}" -tls1_2 -psk_identity hexid -psk "$HEX16" -cipher PSK
check "ciphers = PSK (PSKsecrets): a PSK suite negotiated" echoed '+Cipher is [A-Z0-9-]*PSK-'
out=$("$TLSWRAP" --check "$MAIN" 2>&1)
printf '%s\n' "$out" >"$T/check.out"
# suites_of SERVICE: the TLS 1.2 suites --check printed for SERVICE, one a line
suites_of() { sed -n "s/^\[$1\] cipher suites: //p" "$T/check.out" | tr -d ' ' | tr ',' '\n' | grep '_WITH_'; }
# like_openssl SERVICE STRING: tlswrap's TLS 1.2 suites for SERVICE are openssl's for STRING, in openssl's order,
# less those mbedTLS lacks (IANA names; openssl spells TLS_DHE_PSK_WITH_AES_*_CCM_8 as TLS_PSK_DHE_...)
like_openssl() {
	local mine theirs
	mine=$(suites_of "$1")
	theirs=$(openssl ciphers -stdname "$2" | awk '{print $1}' | sed 's/^TLS_PSK_DHE_/TLS_DHE_PSK_/' | grep '_WITH_')
	[ -n "$mine" ] && [ "$(grep -xF -- "$mine" <<<"$theirs")" = "$mine" ] && return 0
	echo "# [$1] tlswrap: $(tr '\n' ' ' <<<"$mine")" >&2
	echo "# openssl ciphers '$2': $(tr '\n' ' ' <<<"$theirs")" >&2
	return 1
}
check "--check lists [c-high]'s suites: openssl's HIGH:!aNULL:!MD5 in its order" like_openssl c-high 'HIGH:!aNULL:!MD5'
check "--check lists [c-aesgcm]'s suites: openssl's ECDHE+AESGCM in its order" like_openssl c-aesgcm 'ECDHE+AESGCM'
check "--check lists [c-default]'s suites: openssl's DEFAULT in its order" like_openssl c-default DEFAULT
check "--check lists [c-psk]'s suites: openssl's PSK in its order" like_openssl c-psk PSK
check "... [c-aesgcm]'s list holds ECDHE-ECDSA AES-GCM" grep -qx TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 <(suites_of c-aesgcm)
check "... [c-aesgcm]'s list holds nothing but ECDHE AES-GCM" \
	not grep -qvE '^TLS_ECDHE_(ECDSA|RSA)_WITH_AES_(128|256)_GCM_SHA(256|384)$' <(suites_of c-aesgcm)
check "--check prints no suite list for services without ciphers" not grep -q '^\[resume\] cipher suites' "$T/check.out"
bad_svc "ciphers = ECDHE+AESGCM:!AESGCM"
check "ciphers selecting nothing refused naming the line" refuses "$CONF" "ciphers: 'ECDHE+AESGCM:!AESGCM' selects no cipher suite" \
	"ciphers = ECDHE+AESGCM:!AESGCM"
check "--check lists [c-lacks]'s suites: openssl's for the same string, names mbedTLS lacks skipped as openssl skips them" \
	like_openssl c-lacks 'HIGH:!aNULL:!MD5:!DES-CBC3-SHA:!RC4-SHA:!NULL-SHA:EDH-RSA-DES-CBC3-SHA'
check "--check notes the words [c-lacks]'s string skips" \
	grep -qxF "[c-lacks] ciphers: skipped DES-CBC3-SHA, RC4-SHA, NULL-SHA, EDH-RSA-DES-CBC3-SHA (no suite mbedTLS has, nor a keyword: they select nothing, as OpenSSL skips what it does not have)" "$T/check.out"
check "--check notes nothing for [c-high]'s string (keywords only)" not grep -q '^\[c-high\] ciphers:' "$T/check.out"
bad_svc "ciphers = DES-CBC3-SHA:NOSUCHKEYWORD"
check "ciphers naming only what mbedTLS lacks refused naming the line (OpenSSL: no cipher match)" refuses "$CONF" \
	"ciphers: 'DES-CBC3-SHA:NOSUCHKEYWORD' selects no cipher suite mbedTLS has (skipped, as OpenSSL skips what it does not have: DES-CBC3-SHA, NOSUCHKEYWORD)" \
	"ciphers = DES-CBC3-SHA:NOSUCHKEYWORD"

# ======== 9. renegotiation, fips ========
bad_svc "renegotiation = yes"
check "renegotiation = yes refused with its reason" refuses "$CONF" "renegotiation = yes is not supported: tlswrap never renegotiates" \
	"renegotiation = yes"
conf fips-yes "fips = yes" "foreground = yes" "$(svc_lines svc "$DUMMY")"
check "fips = yes refused" refuses "$CONF" "mbedTLS has no FIPS 140 mode" "fips = yes"
check "fips = no and renegotiation = no accepted (the main configuration)" accepts "$MAIN"

# ======== 10. securityLevel: OpenSSL's levels, for the own certificate, peer chains, groups and suites ========
SEC=$T/sec
mkdir -p "$SEC"
(
	cd "$SEC" || exit 1
	# leaf NAME CA-BASE DIGEST KEYOPTS...: a localhost certificate for a new key, signed by CA-BASE with DIGEST
	leaf() {
		local n=$1 ca=$2 md=$3
		shift 3
		openssl req -newkey "$@" -nodes -keyout "$n.key" -out "$n.csr" -subj /CN=localhost 2>/dev/null &&
			printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$n.ext" &&
			openssl x509 -req -in "$n.csr" -CA "$ca.crt" -CAkey "$ca.key" -CAcreateserial -"$md" -days 5 \
				-extfile "$n.ext" -out "$n.crt" 2>/dev/null
	}
	cp "$PKI/ca.crt" "$PKI/ca.key" .
	leaf rsa1024 ca sha256 rsa:1024 && leaf rsa2048 ca sha256 rsa:2048 && leaf rsa3072 ca sha256 rsa:3072 &&
		leaf sha1 ca sha1 ec -pkeyopt ec_paramgen_curve:P-256 || exit 1
	# a P-384 CA signing with SHA-384, for level 4 (192 bits)
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes -keyout ca384.key -out ca384.crt -days 5 \
		-sha384 -subj "/CN=tlswrap test ca384" 2>/dev/null &&
		leaf p384 ca384 sha384 ec -pkeyopt ec_paramgen_curve:P-384 || exit 1
	chmod 600 ./*.key
) || { not_ok "securityLevel test certificates made"; finish; }
# own SUFFIX CERT-BASE LINE...: a server configuration with the certificate SEC/CERT-BASE and LINE...; path in $CONF
own() {
	conf "own-$1" "foreground = yes" "[svc]" "accept = 127.0.0.1:$DUMMY" "connect = 127.0.0.1:$E" \
		"cert = $SEC/$2.crt" "key = $SEC/$2.key" "${@:3}"
}
own 1024 rsa1024
check "securityLevel 2 (default): a 1024-bit RSA own key refused at --check, naming the cert line (as stunnel: ee key too small)" \
	refuses "$CONF" "[svc] cert $SEC/rsa1024.crt: its key is a 1024-bit RSA key; securityLevel 2 needs 2048 bits at least (OpenSSL: ee key too small)" \
	"cert = $SEC/rsa1024.crt"
own 1024-l1 rsa1024 "securityLevel = 1"
check "securityLevel = 1: a 1024-bit RSA own key accepted" accepts "$CONF"
own 1024-cipher rsa1024 "ciphers = DEFAULT:@SECLEVEL=1"
check "ciphers = ...:@SECLEVEL=1 sets the level as in OpenSSL: a 1024-bit RSA own key accepted" accepts "$CONF"
own 2048-l3 rsa2048 "securityLevel = 3"
check "securityLevel = 3: a 2048-bit RSA own key refused" refuses "$CONF" "securityLevel 3 needs 3072 bits at least" \
	"cert = $SEC/rsa2048.crt"
own 3072-l3 rsa3072 "securityLevel = 3"
check "securityLevel = 3: a 3072-bit RSA own key accepted" accepts "$CONF"
conf own-p256-l4 "foreground = yes" "[svc]" "accept = 127.0.0.1:$DUMMY" "connect = 127.0.0.1:$E" "cert = $PKI/server.crt" \
	"key = $PKI/server.key" "securityLevel = 4"
check "securityLevel = 4: a P-256 own key refused" refuses "$CONF" "its key is a 256-bit EC key; securityLevel 4 needs 384 bits" \
	"cert = $PKI/server.crt"
own p384-l4 p384 "securityLevel = 4"
check "securityLevel = 4: a P-384 own key, signed with SHA-384, accepted" accepts "$CONF"
own p384-l5 p384 "securityLevel = 5"
check "securityLevel = 5: a P-384 own key refused" refuses "$CONF" "securityLevel 5 needs 512 bits" "cert = $SEC/p384.crt"
own sha1 sha1
check "securityLevel 2: an own certificate signed with SHA-1 refused (ee md too weak)" refuses "$CONF" \
	"[svc] cert $SEC/sha1.crt: the certificate is signed with SHA1, worth 63 security bits; securityLevel 2 needs 112 (OpenSSL: ee md too weak)" \
	"cert = $SEC/sha1.crt"
own sha1-l0 sha1 "securityLevel = 0"
check "securityLevel = 0: an own certificate signed with SHA-1 accepted" accepts "$CONF"
own l6 rsa2048 "securityLevel = 6"
check "securityLevel = 6 refused" refuses "$CONF" "securityLevel: expected 0-5, got '6'" "securityLevel = 6"
own curves-l4 p384 "securityLevel = 4" "curves = X25519:P-256"
check "securityLevel = 4 with curves that are all below it refused, naming the line of curves" refuses "$CONF" \
	"curves: securityLevel 4 allows none of X25519:P-256" "curves = X25519:P-256"

# peers: tlswrap clients verifying openssl s_server with weak and strong keys; a level 4 client and the groups
# s_server offers; tlswrap servers at levels 2 and 3 and the suites and tickets s_client gets
read -r S1024 S2048 S384WEAK S384 <<<"$(free_ports 4)"
ss_keep=$T/ss-sec.in
mkfifo "$ss_keep"
# s_server keeps to its own level 0 for the 1024-bit key it must load
bg openssl s_server -4 -accept "$S1024" -cert "$SEC/rsa1024.crt" -key "$SEC/rsa1024.key" -cipher 'DEFAULT:@SECLEVEL=0' -rev <>"$ss_keep"
bg openssl s_server -4 -accept "$S2048" -cert "$SEC/rsa2048.crt" -key "$SEC/rsa2048.key" -rev <>"$ss_keep"
bg openssl s_server -4 -accept "$S384WEAK" -cert "$SEC/p384.crt" -key "$SEC/p384.key" -groups X25519:P-256 -rev <>"$ss_keep"
bg openssl s_server -4 -accept "$S384" -cert "$SEC/p384.crt" -key "$SEC/p384.key" -groups P-384 -rev <>"$ss_keep"
for p in "$S1024" "$S2048" "$S384WEAK" "$S384"; do wait_port "$p" || not_ok "openssl s_server on $p starts"; done
declare -A SP
read -r SP[k1024-l2] SP[k1024-l1] SP[k2048-l3] SP[k2048-l2] SP[g4-weak] SP[g4] SP[s2] SP[s3] <<<"$(free_ports 8)"
seccli() { # NAME S_SERVER-PORT CAFILE LINE...
	printf '%s\n' "[$1]" "client = yes" "accept = 127.0.0.1:${SP[$1]}" "connect = localhost:$2" "CAfile = $3" "${@:4}"
}
secsrv() { # NAME LEVEL
	printf '%s\n' "[$1]" "accept = 127.0.0.1:${SP[$1]}" "connect = 127.0.0.1:$E" "cert = $SEC/rsa3072.crt" \
		"key = $SEC/rsa3072.key" "ciphers = HIGH" "securityLevel = $2"
}
{
	echo "foreground = yes"
	seccli k1024-l2 "$S1024" "$SEC/ca.crt"
	seccli k1024-l1 "$S1024" "$SEC/ca.crt" "securityLevel = 1"
	seccli k2048-l3 "$S2048" "$SEC/ca.crt" "securityLevel = 3"
	seccli k2048-l2 "$S2048" "$SEC/ca.crt"
	seccli g4-weak "$S384WEAK" "$SEC/ca384.crt" "securityLevel = 4"
	seccli g4 "$S384" "$SEC/ca384.crt" "securityLevel = 4"
	secsrv s2 2
	secsrv s3 3
} >"$T/sec.conf"
if start_tlswrap "$T/sec.conf"; then
	SEC_PID=$TLSWRAP_PID
	check "securityLevel 2 (default): a server with a 1024-bit RSA key is refused (verification)" not reversed "${SP[k1024-l2]}"
	check "... the log says why: the key is unacceptable" \
		wait_log "$T/sec.conf.log" '\[k1024-l2\] #[0-9]+ .*TLS handshake failed: .*unacceptable key'
	check "securityLevel = 1: a server with a 1024-bit RSA key is reached" reversed "${SP[k1024-l1]}"
	check "securityLevel = 3: a server with a 2048-bit RSA key is refused" not reversed "${SP[k2048-l3]}"
	check "securityLevel 2: a server with a 2048-bit RSA key is reached" reversed "${SP[k2048-l2]}"
	check "securityLevel = 4: a server offering only X25519 and P-256 is refused (no group of 192 bits)" \
		not reversed "${SP[g4-weak]}"
	check "securityLevel = 4: a P-384 server (SHA-384 chain) offering P-384 is reached" reversed "${SP[g4]}"
	sc "${SP[s3]}" -tls1_2 -cipher AES256-SHA
	check "securityLevel = 3 server: a suite without forward secrecy (AES256-SHA) is refused" refused
	sc "${SP[s2]}" -tls1_2 -cipher AES256-SHA
	check "securityLevel 2 server, the same string: AES256-SHA negotiated" echoed '+Cipher is AES256-SHA$'
	sc "${SP[s3]}" -tls1_2 -cipher ECDHE-RSA-AES256-SHA
	check "securityLevel = 3 server: a forward-secret suite negotiated, and no session ticket issued (level 3)" \
		echoed '+Cipher is ECDHE-RSA-AES256-SHA$' '-TLS session ticket:'
	sc "${SP[s2]}" -tls1_2 -cipher ECDHE-RSA-AES256-SHA
	check "securityLevel 2 server: a session ticket issued" echoed '+TLS session ticket:'
	TLSWRAP_PID=$SEC_PID
	stop_checked "$T/sec.conf.log"
else
	not_ok "tlswrap starts with securityLevel services"
fi

check "tlswrap still running after all of it" kill -0 "$MAIN_PID"
TLSWRAP_PID=$TK_PID
stop_checked "$T/tk.conf.log"
TLSWRAP_PID=$MAIN_PID
stop_checked "$LOG"
finish
