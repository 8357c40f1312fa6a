#!/usr/bin/env bash
# Who gets in: chain verification with CRLs and validity dates, stunnel's verify levels, requireCert,
# allow rules (allowCN/OU/DNS/URI/IP) and pinSHA256, checkHost/checkIP/checkEmail in both modes, and
# ALPN. Certificates are made at test time (trust_pki.sh); clients are openssl s_client with a client
# certificate, curl, and plain sockets through tlswrap client tunnels; servers are real TLS servers.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/trust_pki.sh"
PY="python3 $TESTS_SRCDIR/integration/tls_client.py"
make_trust_pki
E=$(free_port)
echo_server "$E"
PING="ping through tlswrap $$"
printf '%s\n' "$PING" >"$T/ping.txt"

# -- helpers -------------------------------------------------------------------------------------------
# LOG is the tlswrap log the checks read; MARK its line count when the last attempt started, so
# new_log only looks at what that attempt (and later ones) caused.
LOG=/dev/null
MARK=0
mark() { MARK=$(wc -l <"$LOG"); }
# new_log PATTERN: until a line of LOG after MARK matches the extended regex PATTERN (10 s)
new_log() {
	local deadline=$((SECONDS + 10))
	while [ $SECONDS -le "$deadline" ]; do
		tail -n +$((MARK + 1)) "$LOG" | grep -Eq -- "$1" && return 0
		sleep 0.05
	done
	echo "# no line matching '$1' in $LOG after line $MARK:" >&2
	tail -n +$((MARK + 1)) "$LOG" | tail -n 5 >&2
	return 1
}
# no_new_log PATTERN: no line after MARK matches (call after the attempt is over)
no_new_log() { ! tail -n +$((MARK + 1)) "$LOG" | grep -Eq -- "$1"; }
# re TEXT: TEXT as an extended regex matching itself
re() { printf '%s' "$1" | sed 's/[][\.*^$+?(){}|]/\\&/g'; }

# sclient PORT [ARGS...]: openssl s_client to 127.0.0.1:PORT sends $PING; 0 when it comes back (the
# client is then stopped), 1 when the connection ends without it, 2 when neither happens in 10 s.
# Its output is in $SC_OUT. Sets MARK first.
SC_N=0
sclient() {
	local port=$1 pid deadline=$((SECONDS + 10))
	shift
	mark
	SC_N=$((SC_N + 1))
	SC_OUT=$T/sclient$SC_N.out
	: >"$SC_OUT"
	openssl s_client -connect "127.0.0.1:$port" -quiet "$@" <"$T/ping.txt" >"$SC_OUT" 2>&1 &
	pid=$!
	PIDS+=("$pid")
	while [ $SECONDS -le "$deadline" ]; do
		if grep -qx -- "$PING" "$SC_OUT"; then
			kill "$pid" 2>/dev/null
			wait "$pid" 2>/dev/null
			return 0
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid" 2>/dev/null
			grep -qx -- "$PING" "$SC_OUT" && return 0
			return 1
		fi
		sleep 0.05
	done
	kill "$pid" 2>/dev/null
	echo "# s_client to $port neither echoed nor closed in 10 s" >&2
	return 2
}
# as NAME PORT [ARGS...]: sclient presenting certificate NAME ("none": no certificate)
as() {
	local name=$1 port=$2
	shift 2
	if [ "$name" = none ]; then
		sclient "$port" -CAfile "$TP/ca.crt" "$@"
	else
		sclient "$port" -CAfile "$TP/ca.crt" -cert "$TP/$name.crt" -key "$TP/$name.key" "$@"
	fi
}
# admit NAME PORT: NAME's data is echoed through; refuse NAME PORT: the connection closes with nothing echoed
admit() { as "$@"; }
refuse() {
	as "$@"
	[ $? -eq 1 ] && ! grep -qx -- "$PING" "$SC_OUT"
}
# pyline PORT: a plain line through a tlswrap client tunnel comes back; pynothing PORT: nothing does
# (both set MARK first)
pyline() { mark; $PY line "$1" >/dev/null; }
pynothing() { mark; test "$($PY line "$1")" = "<nothing>"; }

ESTAB='established TLSv1\.3 [A-Z0-9-]+ to 127\.0\.0\.1:[0-9]+'
CHAINFAIL='closed \(TLS handshake failed: certificate verification failed: '
REFUSED='closed \(peer refused: '
CLIENT_DN='O=tlswrap tests, OU=ops, CN=client'

# -- server mode: one tlswrap, a service per policy ------------------------------------------------
read -r P_CHAIN P_OPT P_V0 P_V1 P_V2 P_V3 P_V4 P_CN P_OU P_DNS P_URI P_IP P_PIN P_PINCHAIN P_EMAILREQ P_EMAILOPT \
	<<<"$(free_ports 16)"
cat "$TP/ca.crt" "$TP/client.crt" >"$T/ca+client.pem"
PIN_CLIENT=$(pin client); PIN_STRANGER=$(pin stranger)
cat >"$T/srv.conf" <<CONF
foreground = yes
debug = info
connect = 127.0.0.1:$E
cert = $TP/server.crt
key = $TP/server.key
[chain]
accept = 127.0.0.1:$P_CHAIN
verifyChain = yes
CAfile = $TP/ca.crt
CRLfile = $TP/crls.pem
[optional]
accept = 127.0.0.1:$P_OPT
verifyChain = yes
requireCert = no
CAfile = $TP/ca.crt
CRLfile = $TP/crls.pem
[verify0]
accept = 127.0.0.1:$P_V0
verify = 0
[verify1]
accept = 127.0.0.1:$P_V1
verify = 1
CAfile = $TP/ca.crt
[verify2]
accept = 127.0.0.1:$P_V2
verify = 2
CAfile = $TP/ca.crt
[verify3]
accept = 127.0.0.1:$P_V3
verify = 3
CAfile = $T/ca+client.pem
[verify4]
accept = 127.0.0.1:$P_V4
verify = 4
CAfile = $TP/client.crt
[allow-cn]
accept = 127.0.0.1:$P_CN
verifyChain = yes
CAfile = $TP/ca.crt
allowCN = client
[allow-ou]
accept = 127.0.0.1:$P_OU
verifyChain = yes
CAfile = $TP/ca.crt
allowOU = payments
[allow-dns]
accept = 127.0.0.1:$P_DNS
verifyChain = yes
CAfile = $TP/ca.crt
allowDNS = *.example.org
[allow-uri]
accept = 127.0.0.1:$P_URI
verifyChain = yes
CAfile = $TP/ca.crt
allowCN = nobody
allowURI = spiffe://example.org/ns/prod/sa/api
[allow-ip]
accept = 127.0.0.1:$P_IP
verifyChain = yes
CAfile = $TP/ca.crt
allowIP = 10.9.8.7
[pin]
accept = 127.0.0.1:$P_PIN
pinSHA256 = $PIN_STRANGER
[pin-chain]
accept = 127.0.0.1:$P_PINCHAIN
verifyChain = yes
CAfile = $TP/ca.crt
pinSHA256 = $PIN_STRANGER
pinSHA256 = $PIN_CLIENT
allowCN = pay-client
[email-required]
accept = 127.0.0.1:$P_EMAILREQ
verifyChain = yes
CAfile = $TP/ca.crt
checkEmail = alice@EXAMPLE.org
[email-optional]
accept = 127.0.0.1:$P_EMAILOPT
verifyChain = yes
requireCert = no
CAfile = $TP/ca.crt
checkEmail = alice@example.org
checkHost = a.example.org
CONF
start_tlswrap "$T/srv.conf" || { not_ok "server config starts"; finish; }
LOG=$T/srv.conf.log

# 1. verifyChain + CAfile + CRLfile (crls.pem holds other-ca's CRL, then ca's); requireCert defaults to
# yes, so every failure ends the handshake itself
check "chain: good client accepted" admit client "$P_CHAIN"
check "chain: logged with subject and rule=verifyChain" new_log "\[chain\] #[0-9]+ [0-9.:]+: $ESTAB peer=\"$CLIENT_DN\" rule=\"verifyChain\"\$"
# other-ca's CRL revokes serial 1000, which the good client also carries: a CRL counts only for its issuer
check "chain: another issuer's CRL entry for the same serial is not held against it" no_new_log 'revoked'
check "chain: revoked client refused, nothing echoed" refuse revoked "$P_CHAIN"
check "chain: refusal gives mbedTLS's revocation words" new_log "\[chain\] .*${CHAINFAIL}The certificate has been revoked \(is on a CRL\)\)"
check "chain: no backend connection for a refused client" no_new_log '\[chain\] .*established'
# over TLS 1.3 mbedTLS sends its alert for a failed client certificate under the handshake keys while
# the client already reads with the application keys: OpenSSL reports "bad record mac". TLS 1.2 shows
# the real alert.
check "chain: revoked client over TLS 1.2 refused" refuse revoked "$P_CHAIN" -tls1_2
check "chain: TLS 1.2 client is told certificate_revoked (alert 44)" grep -q 'alert certificate revoked' "$SC_OUT"
check "chain: expired client refused" refuse expired "$P_CHAIN"
check "chain: expired logged" new_log "\[chain\] .*${CHAINFAIL}The certificate validity has expired\)"
check "chain: not-yet-valid client refused" refuse future "$P_CHAIN"
check "chain: not-yet-valid logged" new_log "\[chain\] .*${CHAINFAIL}The certificate validity starts in the future\)"
check "chain: client of another CA refused (same CN as the good one)" refuse stranger "$P_CHAIN"
check "chain: other CA logged" new_log "\[chain\] .*${CHAINFAIL}The certificate is not correctly signed by the trusted CA\)"
check "chain: client certificate with EKU serverAuth only refused" refuse serveronly "$P_CHAIN"
check "chain: wrong key usage logged with mbedTLS's words" new_log "\[chain\] .*${CHAINFAIL}Usage does not match the extendedKeyUsage extension\)"
check "chain: client without a certificate refused" refuse none "$P_CHAIN"
check "chain: missing certificate logged" new_log '\[chain\] .*closed \(TLS handshake failed: .*No client certification received'

# 2. requireCert = no: a certificate is optional, but one that is presented must verify
check "requireCert=no: anonymous client accepted" admit none "$P_OPT"
check "requireCert=no: logged as anonymous" new_log "\[optional\] .*$ESTAB rule=\"anonymous \(requireCert = no\)\"\$"
check "requireCert=no: good certificate accepted" admit client "$P_OPT"
check "requireCert=no: good certificate logged rule=verifyChain" new_log "\[optional\] .*$ESTAB peer=\"$CLIENT_DN\" rule=\"verifyChain\"\$"
check "requireCert=no: expired certificate refused" refuse expired "$P_OPT"
check "requireCert=no: expired logged as refused" new_log "\[optional\] .*${REFUSED}certificate verification failed: The certificate validity has expired\)"
check "requireCert=no: the client is told bad_certificate (alert 42)" grep -q 'alert bad certificate' "$SC_OUT"
check "requireCert=no: revoked certificate refused (CRLs apply)" refuse revoked "$P_OPT"
check "requireCert=no: revocation logged" new_log "\[optional\] .*${REFUSED}certificate verification failed: The certificate has been revoked \(is on a CRL\)\)"
check "requireCert=no: certificate with EKU serverAuth only refused" refuse serveronly "$P_OPT"
check "requireCert=no: wrong key usage logged" new_log "\[optional\] .*${REFUSED}certificate verification failed: Usage does not match the extendedKeyUsage extension\)"
check "requireCert=no: certificate of another CA refused" refuse stranger "$P_OPT"
check "requireCert=no: other CA logged" new_log "\[optional\] .*${REFUSED}certificate verification failed: The certificate is not correctly signed by the trusted CA\)"

# 3. stunnel's verify levels
check "verify=0: a client of another CA is let in unjudged" admit stranger "$P_V0"
check "verify=0: no certificate asked for, no rule logged" new_log "\[verify0\] .*$ESTAB\$"
check "verify=1: anonymous client accepted" admit none "$P_V1"
check "verify=1: logged as anonymous" new_log "\[verify1\] .*rule=\"anonymous \(requireCert = no\)\""
check "verify=1: certificate of another CA refused" refuse stranger "$P_V1"
check "verify=1: refusal logged" new_log "\[verify1\] .*${REFUSED}certificate verification failed: The certificate is not correctly signed"
check "verify=2: good client accepted" admit client "$P_V2"
check "verify=2: logged rule=verifyChain" new_log "\[verify2\] .*peer=\"$CLIENT_DN\" rule=\"verifyChain\"\$"
check "verify=2: client without a certificate refused" refuse none "$P_V2"
check "verify=2: missing certificate logged" new_log '\[verify2\] .*closed \(TLS handshake failed: .*No client certification received'
check "verify=2: certificate of another CA refused" refuse stranger "$P_V2"
check "verify=2: other CA logged" new_log "\[verify2\] .*${CHAINFAIL}The certificate is not correctly signed by the trusted CA\)"
check "verify=3: client that verifies and is listed accepted" admit client "$P_V3"
check "verify=3: logged" new_log "\[verify3\] .*peer=\"$CLIENT_DN\" rule=\"verifyChain\"\$"
check "verify=3: client that verifies but is not listed refused" refuse payments "$P_V3"
check "verify=3: refusal names verifyPeer (not in CAfile/CApath)" new_log '\[verify3\] .*closed \(.*(verifyPeer|not in CAfile)'
check "verify=4: listed client accepted although its CA is not in CAfile" admit client "$P_V4"
check "verify=4: logged rule=verifyPeer" new_log "\[verify4\] .*peer=\"$CLIENT_DN\" rule=\"verifyPeer\"\$"
check "verify=4: unlisted client of the same CA refused" refuse payments "$P_V4"
check "verify=4: refusal logged" new_log "\[verify4\] .*${REFUSED}verifyPeer: certificate is not in CAfile/CApath\)"
check "verify=4: client without a certificate refused" refuse none "$P_V4"
check "verify=4: missing certificate logged" new_log "\[verify4\] .*${REFUSED}no certificate presented\)"

# 4. allow rules and pins (server mode)
check "allowCN: matching CN accepted" admit client "$P_CN"
check "allowCN: logged rule=allowCN=client" new_log "\[allow-cn\] .*peer=\"$CLIENT_DN\" rule=\"allowCN=client\"\$"
check "allowCN: other CN refused" refuse payments "$P_CN"
check "allowCN: refusal names the subject" new_log "\[allow-cn\] .*${REFUSED}no allow rule or pin matched \(subject \"OU=payments, CN=pay-client\"\)\)"
check "allowCN: matching CN from another CA refused (rules add to the chain)" refuse stranger "$P_CN"
check "allowCN: refused by chain verification" new_log "\[allow-cn\] .*${CHAINFAIL}The certificate is not correctly signed"
check "allowOU: matching OU accepted" admit payments "$P_OU"
check "allowOU: logged rule=allowOU=payments" new_log "\[allow-ou\] .*rule=\"allowOU=payments\"\$"
check "allowOU: other OU refused" refuse client "$P_OU"
check "allowOU: refusal logged" new_log "\[allow-ou\] .*${REFUSED}no allow rule or pin matched \(subject \"$CLIENT_DN\"\)\)"
check "allowDNS: *.example.org lets a.example.org in" admit dns-a "$P_DNS"
check "allowDNS: logged rule=allowDNS=*.example.org" new_log "\[allow-dns\] .*peer=\"CN=svc-a\" rule=\"allowDNS=\*\.example\.org\"\$"
check "allowDNS: a.b.example.org refused (one label only)" refuse dns-ab "$P_DNS"
check "allowDNS: refusal logged" new_log "\[allow-dns\] .*${REFUSED}no allow rule or pin matched \(subject \"CN=svc-ab\"\)\)"
check "allowURI: SPIFFE ID accepted" admit spiffe-api "$P_URI"
check "allowURI: logged rule=allowURI=..." new_log "\[allow-uri\] .*rule=\"allowURI=$(re spiffe://example.org/ns/prod/sa/api)\"\$"
check "allowURI: other SPIFFE ID refused" refuse spiffe-web "$P_URI"
check "allowURI: refusal logged" new_log "\[allow-uri\] .*${REFUSED}no allow rule or pin matched \(subject \"CN=web\"\)\)"
check "allowIP: matching IP SAN accepted" admit ip "$P_IP"
check "allowIP: logged rule=allowIP=10.9.8.7" new_log "\[allow-ip\] .*rule=\"allowIP=10\.9\.8\.7\"\$"
check "allowIP: certificate without that IP refused" refuse client "$P_IP"
check "allowIP: refusal logged" new_log "\[allow-ip\] .*${REFUSED}no allow rule or pin matched"
check "pinSHA256 alone: pinned client of an untrusted CA accepted" admit stranger "$P_PIN"
check "pinSHA256 alone: logged with the pin's first 20 characters" new_log "\[pin\] .*peer=\"CN=client\" rule=\"pinSHA256=$(re "${PIN_STRANGER:8:20}")\.\.\.\"\$"
check "pinSHA256 alone: same subject, other key refused" refuse stranger2 "$P_PIN"
check "pinSHA256 alone: refusal logged" new_log "\[pin\] .*${REFUSED}no allow rule or pin matched \(subject \"CN=client\"\)\)"
check "pinSHA256 alone: requireCert defaults to yes" refuse none "$P_PIN"
check "pinSHA256 alone: missing certificate logged" new_log "\[pin\] .*${REFUSED}no certificate presented\)"
check "pin + chain: second pin matches" admit client "$P_PINCHAIN"
check "pin + chain: logged with that pin" new_log "\[pin-chain\] .*rule=\"pinSHA256=$(re "${PIN_CLIENT:8:20}")\.\.\.\"\$"
check "pin + chain: an allow rule of another kind matches too" admit payments "$P_PINCHAIN"
check "pin + chain: logged rule=allowCN" new_log "\[pin-chain\] .*rule=\"allowCN=pay-client\"\$"
check "pin + chain: pinned key with a bad chain refused" refuse stranger "$P_PINCHAIN"
check "pin + chain: refused by chain verification" new_log "\[pin-chain\] .*${CHAINFAIL}The certificate is not correctly signed"
check "pin + chain: verified client matching no rule refused" refuse dns-a "$P_PINCHAIN"
check "pin + chain: refusal logged" new_log "\[pin-chain\] .*${REFUSED}no allow rule or pin matched \(subject \"CN=svc-a\"\)\)"
# checkEmail/checkHost apply to the client certificate in server mode
check "server checkEmail: email SAN accepted (domain case ignored)" admit alice "$P_EMAILREQ"
check "server checkEmail: logged" new_log "\[email-required\] .*peer=\"CN=alice\" rule=\"verifyChain\"\$"
check "server checkEmail: certificate without it refused" refuse client "$P_EMAILREQ"
check "server checkEmail: refused inside the handshake (requireCert)" new_log "\[email-required\] .*${CHAINFAIL}The certificate Common Name \(CN\) does not match with the expected CN\)"
check "server checkEmail/checkHost, any matches: email" admit alice "$P_EMAILOPT"
check "server checkEmail/checkHost, any matches: DNS SAN" admit dns-a "$P_EMAILOPT"
check "server checkEmail/checkHost: neither refused" refuse client "$P_EMAILOPT"
check "server checkEmail/checkHost: refusal logged" new_log "\[email-optional\] .*${REFUSED}name check failed: certificate matches no checkHost/checkIP/checkEmail\)"

# -- 5. client mode: real TLS servers behind tlswrap client tunnels ----------------------------------
read -r B_SELF B_SRV B_MAIL B_EKU <<<"$(free_ports 4)"
bg $PY sniserver "$B_SELF" "$TP/selfsigned.crt" "$TP/selfsigned.key" "$T/sni-self"
bg $PY sniserver "$B_SRV" "$TP/server.crt" "$TP/server.key" "$T/sni-srv"
bg $PY sniserver "$B_MAIL" "$TP/mailsrv.crt" "$TP/mailsrv.key" "$T/sni-mail"
bg $PY sniserver "$B_EKU" "$TP/clientonly.crt" "$TP/clientonly.key" "$T/sni-eku"
for p in "$B_SELF" "$B_SRV" "$B_MAIL" "$B_EKU"; do wait_port "$p"; done
read -r C_PIN C_PINBAD C_PINHOST C_HOST2 C_HOSTBAD C_MAIL C_MAILCASE C_EKU <<<"$(free_ports 8)"
PIN_SELF=$(pin selfsigned)
cat >"$T/cli.conf" <<CONF
foreground = yes
client = yes
[pin-only]
accept = 127.0.0.1:$C_PIN
connect = 127.0.0.1:$B_SELF
sni = not-the-certificate-name.example
pinSHA256 = $PIN_SELF
[pin-wrong]
accept = 127.0.0.1:$C_PINBAD
connect = localhost:$B_SELF
pinSHA256 = $PIN_CLIENT
[pin-checkhost]
accept = 127.0.0.1:$C_PINHOST
connect = localhost:$B_SELF
pinSHA256 = $PIN_SELF
checkHost = other.example
[checkhost-second]
accept = 127.0.0.1:$C_HOST2
connect = 127.0.0.1:$B_SRV
CAfile = $TP/ca.crt
checkHost = wrong.example
checkHost = localhost
[checkhost-none]
accept = 127.0.0.1:$C_HOSTBAD
connect = 127.0.0.1:$B_SRV
CAfile = $TP/ca.crt
checkHost = wrong.example
checkHost = also-wrong.example
[checkemail]
accept = 127.0.0.1:$C_MAIL
connect = 127.0.0.1:$B_MAIL
CAfile = $TP/ca.crt
checkEmail = ops@EXAMPLE.ORG
[checkemail-case]
accept = 127.0.0.1:$C_MAILCASE
connect = 127.0.0.1:$B_MAIL
CAfile = $TP/ca.crt
checkEmail = OPS@example.org
[wrong-usage]
accept = 127.0.0.1:$C_EKU
connect = localhost:$B_EKU
CAfile = $TP/ca.crt
CONF
start_tlswrap "$T/cli.conf" || { not_ok "client config starts"; finish; }
LOG=$T/cli.conf.log
check "client pin, no CAfile: self-signed server accepted" pyline "$C_PIN"
check "client pin: no host-name check without checkHost (sni names another host)" \
	new_log "\[pin-only\] .*$ESTAB peer=\"CN=localhost\" rule=\"pinSHA256=$(re "${PIN_SELF:8:20}")\.\.\.\"\$"
check "client pin: wrong pin refused" pynothing "$C_PINBAD"
check "client pin: refusal logged" new_log "\[pin-wrong\] .*${REFUSED}no allow rule or pin matched \(subject \"CN=localhost\"\)\)"
check "client pin + checkHost: right key, wrong name refused" pynothing "$C_PINHOST"
check "client pin + checkHost: refusal logged" new_log "\[pin-checkhost\] .*${REFUSED}name check failed: certificate matches no checkHost/checkIP/checkEmail\)"
check "client checkHost repeated: the second one matches" pyline "$C_HOST2"
check "client checkHost repeated: logged rule=verifyChain" new_log "\[checkhost-second\] .*$ESTAB peer=\"CN=localhost\" rule=\"verifyChain\"\$"
check "client checkHost: none matches, refused" pynothing "$C_HOSTBAD"
check "client checkHost: refused in the handshake" new_log "\[checkhost-none\] .*${CHAINFAIL}The certificate Common Name \(CN\) does not match with the expected CN\)"
check "client checkEmail: email SAN matches (domain case ignored)" pyline "$C_MAIL"
check "client checkEmail: logged" new_log "\[checkemail\] .*peer=\"CN=mail\.example\.org\" rule=\"verifyChain\"\$"
check "client checkEmail: local part differs in case, refused" pynothing "$C_MAILCASE"
check "client checkEmail: refusal logged" new_log "\[checkemail-case\] .*${CHAINFAIL}The certificate Common Name"
check "client: server certificate with EKU clientAuth only refused" pynothing "$C_EKU"
check "client: wrong key usage logged with mbedTLS's words" new_log "\[wrong-usage\] .*${CHAINFAIL}Usage does not match the extendedKeyUsage extension\)"

# -- 6. ALPN -------------------------------------------------------------------------------------------
# tlswrap server with alpn = h2,http/1.1 in front of nginx speaking h2c (prior knowledge): curl's h2
# goes through unchanged
read -r A_H2 A_ECHO A_ONLY N <<<"$(free_ports 4)"
HAVE_H2C=
if command -v nginx >/dev/null && nginx -V 2>&1 | grep -q http_v2; then
	HAVE_H2C=1
	mkdir -p "$T/nginx"
	cat >"$T/nginx/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
pid $T/nginx/nginx.pid;
error_log $T/nginx/error.log;
events { worker_connections 64; }
http {
	access_log $T/nginx/access.log;
	client_body_temp_path $T/nginx/body;
	proxy_temp_path $T/nginx/proxy;
	fastcgi_temp_path $T/nginx/fastcgi;
	uwsgi_temp_path $T/nginx/uwsgi;
	scgi_temp_path $T/nginx/scgi;
	server {
		listen 127.0.0.1:$N http2;
		location / { return 200 "hello over \$server_protocol\n"; }
	}
}
CONF
	bg nginx -p "$T/nginx" -e "$T/nginx/error.log" -c "$T/nginx/nginx.conf"
	wait_port "$N" || not_ok "nginx (h2c backend) starts"
fi
cat >"$T/alpn.conf" <<CONF
foreground = yes
cert = $TP/server.crt
key = $TP/server.key
[alpn-h2]
accept = 127.0.0.1:$A_H2
connect = 127.0.0.1:$N
alpn = h2,http/1.1
[alpn-echo]
accept = 127.0.0.1:$A_ECHO
connect = 127.0.0.1:$E
alpn = h2,http/1.1
[alpn-only-h2]
accept = 127.0.0.1:$A_ONLY
connect = 127.0.0.1:$E
alpn = h2
CONF
start_tlswrap "$T/alpn.conf" || { not_ok "alpn config starts"; finish; }
LOG=$T/alpn.conf.log
if [ -n "$HAVE_H2C" ]; then
	mark
	got=$(curl -sS --max-time 10 --http2 --resolve "localhost:$A_H2:127.0.0.1" --cacert "$TP/ca.crt" -w '%{http_version}' "https://localhost:$A_H2/" 2>&1)
	check "alpn: curl --http2 through tlswrap gets nginx's h2 answer" test "$got" = "hello over HTTP/2.0
2"
	check "alpn: h2 negotiated and logged" new_log "\[alpn-h2\] .*$ESTAB alpn=h2( |$)"
else
	echo "# nginx with http_v2 not available: h2 end to end not tested"
fi
check "alpn: client offering h2 gets h2" admit none "$A_ECHO" -alpn h2
check "alpn: alpn=h2 logged" new_log "\[alpn-echo\] .*$ESTAB alpn=h2( |$)"
check "alpn: client offering http/1.1 gets http/1.1" admit none "$A_ECHO" -alpn http/1.1
check "alpn: alpn=http/1.1 logged" new_log "\[alpn-echo\] .*$ESTAB alpn=http/1\.1\$"
check "alpn: client listing http/1.1 before h2 served" admit none "$A_ECHO" -alpn http/1.1,h2
check "alpn: the server's order decides: h2" new_log "\[alpn-echo\] .*$ESTAB alpn=h2( |$)"
check "alpn: client without ALPN still served" admit none "$A_ECHO"
check "alpn: no alpn= logged then" new_log "\[alpn-echo\] .*$ESTAB\$"
# mbedTLS as a server refuses a client whose ALPN list shares nothing with its own (RFC 7301 3.2):
# alert no_application_protocol, no fallback to no ALPN
check "alpn: server accepting only h2, client offering only http/1.1: refused" refuse none "$A_ONLY" -alpn http/1.1
check "alpn: the client is told no_application_protocol (alert 120)" grep -q 'no application protocol' "$SC_OUT"
check "alpn: mismatch logged" new_log '\[alpn-only-h2\] .*closed \(TLS handshake failed: SSL - No ALPN protocols supported that the client advertises\)'

# client mode: tlswrap offers h2 to openssl s_server (-rev echoes lines reversed)
read -r S_BOTH S_HTTP1 C_ALPN C_ALPNX <<<"$(free_ports 4)"
bg openssl s_server -accept "127.0.0.1:$S_BOTH" -cert "$TP/server.crt" -key "$TP/server.key" -alpn h2,http/1.1 -rev -quiet
bg openssl s_server -accept "127.0.0.1:$S_HTTP1" -cert "$TP/server.crt" -key "$TP/server.key" -alpn http/1.1 -rev -quiet
S_HTTP1_OUT=$T/bg$((${#PIDS[@]} - 1)).out
wait_port "$S_BOTH"
wait_port "$S_HTTP1"
cat >"$T/alpncli.conf" <<CONF
foreground = yes
client = yes
CAfile = $TP/ca.crt
alpn = h2
[alpn-client]
accept = 127.0.0.1:$C_ALPN
connect = localhost:$S_BOTH
[alpn-client-mismatch]
accept = 127.0.0.1:$C_ALPNX
connect = localhost:$S_HTTP1
CONF
start_tlswrap "$T/alpncli.conf" || { not_ok "alpn client config starts"; finish; }
LOG=$T/alpncli.conf.log
REVERSED="lennut eht hguorht olleh"
mark
check "alpn client: data reaches s_server and back" test "$($PY line "$C_ALPN")" = "$REVERSED"
check "alpn client: h2 negotiated with s_server and logged" new_log "\[alpn-client\] .*$ESTAB peer=\"CN=localhost\" rule=\"verifyChain\" alpn=h2( |$)"
# OpenSSL 3.0's s_server, finding no protocol in common, does not carry on without ALPN: it sends the
# no_application_protocol alert, which mbedTLS reports only as "a fatal alert"
mark
check "alpn client, server offers only http/1.1: nothing gets through" test "$($PY line "$C_ALPNX")" = "<nothing>"
check "alpn client, no common protocol: handshake failed on the server's alert" \
	new_log "\[alpn-client-mismatch\] .*closed \(TLS handshake failed: SSL - A fatal alert message was received from our peer\)"
check "alpn client, no common protocol: s_server refused for ALPN" wait_log "$S_HTTP1_OUT" 'tls_handle_alpn:no application protocol'
finish
