#!/usr/bin/env bash
# Broken configurations are refused: one line naming file:line (or the path), exit status 1, fast.
. "$(dirname "$0")/lib.sh"
make_pki
P=$(free_port); B=$(free_port)

# expect_error NAME PATTERN CONFIG-TEXT: tlswrap (and --check) exit 1 within a second with PATTERN
expect_error() {
	local name=$1 pat=$2 conf=$T/bad-$PASSED-$FAILED.conf mode out rc t0 ms
	printf '%s\n' "$3" >"$conf"
	for mode in --check -f; do
		t0=$(date +%s%N)
		out=$(timeout 5 "$TLSWRAP" $mode "$conf" 2>&1 </dev/null)
		rc=$?
		ms=$((($(date +%s%N) - t0) / 1000000))
		pat_full="${pat//@FILE@/$conf}"
		if [ "$rc" -eq 1 ] && [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] && grep -Eq -- "$pat_full" <<<"$out" && [ "$ms" -lt 1000 ]; then
			ok "$name ($mode)"
		else
			not_ok "$name ($mode): exit $rc after ${ms}ms, said: $out"
		fi
	done
}

SRV="[s]
accept = 127.0.0.1:$P
connect = 127.0.0.1:$B"

expect_error "unknown option" "^tlswrap: @FILE@:5: unknown option 'frobnicate'\$" "foreground = yes
$SRV
frobnicate = 1"
expect_error "missing '='" "^tlswrap: @FILE@:5: syntax error" "$SRV
cert = $PKI/server.crt
this line has no equals sign"
expect_error "bad yes/no value" "@FILE@:2: client: expected yes or no, got 'maybe'" "[s]
client = maybe"
expect_error "bad debug level" "@FILE@:1: debug: expected 0-7 or emerg..debug, got 'loud'" "debug = loud
$SRV"
expect_error "bad port" "@FILE@:2: accept: bad port '70000'" "[s]
accept = 127.0.0.1:70000"
expect_error "bad address" "@FILE@:3: connect: bad character ' ' in host" "[s]
accept = $P
connect = bad host:80"
expect_error "missing connect" "@FILE@:1: service \\[s\\] has no 'connect'" "[s]
accept = $P
cert = $PKI/server.crt"
expect_error "missing accept" "@FILE@:1: service \\[s\\] has no 'accept'" "[s]
client = yes
connect = 127.0.0.1:$B"
expect_error "server without cert" "@FILE@:1: server service \\[s\\] needs 'cert'" "$SRV"
expect_error "global option inside a section" "@FILE@:5: 'pid' is a global option" "$SRV
cert = $PKI/server.crt
pid = /tmp/x.pid"
expect_error "TLS 1.1 is refused" "@FILE@:5: sslVersionMin: TLSv1.1 is not supported" "$SRV
cert = $PKI/server.crt
sslVersionMin = TLSv1.1"
expect_error "a cipher string that selects nothing: the line of ciphers" "@FILE@:6: \\[s\\] ciphers: 'NOPE-CIPHER' selects no cipher suite mbedTLS has \\(skipped, as OpenSSL skips what it does not have: NOPE-CIPHER\\)" "$SRV
cert = $PKI/server.crt
key = $PKI/server.key
ciphers = NOPE-CIPHER"
expect_error "missing certificate file: the line of cert" "@FILE@:4: \\[s\\] cert $T/nope.crt: No such file or directory" "$SRV
cert = $T/nope.crt"
printf 'not a certificate\n' >"$T/garbage.pem"
expect_error "unparsable certificate: the line of cert" "@FILE@:4: \\[s\\] cert $T/garbage.pem: .*(PEM|ASN1|X509)" "$SRV
cert = $T/garbage.pem"
expect_error "unparsable key: the line of key" "@FILE@:5: \\[s\\] key $T/garbage.pem: " "$SRV
cert = $PKI/server.crt
key = $T/garbage.pem"
expect_error "key does not match the certificate: the line of key" "@FILE@:5: \\[s\\] key $PKI/client.key does not match the certificate" "$SRV
cert = $PKI/server.crt
key = $PKI/client.key"
expect_error "unparsable CAfile: the line of CAfile" "@FILE@:6: \\[s\\] CAfile $T/garbage.pem: " "$SRV
cert = $PKI/server.crt
key = $PKI/server.key
CAfile = $T/garbage.pem"
chmod 000 "$PKI/client.key"
if [ "$(id -u)" -ne 0 ]; then
	expect_error "unreadable key" "key $PKI/client.key: Permission denied" "$SRV
cert = $PKI/client.crt
key = $PKI/client.key"
fi
chmod 600 "$PKI/client.key"
expect_error "duplicate section" "@FILE@:6: duplicate section \\[s\\]" "$SRV
cert = $PKI/server.crt
key = $PKI/server.key
[s]
accept = 1"
expect_error "section without options" "@FILE@:6: section \\[empty\\] has no options" "$SRV
cert = $PKI/server.crt
key = $PKI/server.key
[empty]"
expect_error "checkHost without verification" "@FILE@:1: service \\[c\\]: checkHost/checkIP/checkEmail need verifyChain, verifyPeer or pinSHA256" "[c]
client = yes
accept = $P
connect = 127.0.0.1:$B
verifyChain = no
checkHost = example.com"
expect_error "sni naming a missing primary" "@FILE@:1: service \\[s\\]: sni: no service named \\[x\\]" "[s]
connect = 127.0.0.1:$B
cert = $PKI/server.crt
key = $PKI/server.key
sni = x:y.example"
expect_error "secondary service with its own accept" "@FILE@:6: service \\[b\\]: a secondary service" "$SRV
cert = $PKI/server.crt
key = $PKI/server.key
[b]
accept = 1
connect = 127.0.0.1:$B
cert = $PKI/server.crt
key = $PKI/server.key
sni = s:b.example"
expect_error "bad logFormat" "@FILE@:1: logFormat: expected text or json, got 'xml'" "logFormat = xml
$SRV"
expect_error "bad status address" "@FILE@:1: status: bad port 'no-such-service'" "status = 127.0.0.1:no-such-service
$SRV"
expect_error "connect: a port name not in /etc/services" "@FILE@:3: connect: bad port 'no-such-service' \\(1-65535, or a service name in /etc/services\\)" "[s]
accept = $P
connect = 127.0.0.1:no-such-service
cert = $PKI/server.crt"
expect_error "no services" "@FILE@: no services defined" "foreground = yes"
expect_error "no sections and no connect: the whole advice" \
	"^tlswrap: @FILE@: no services defined: add a \\[section\\] with accept and connect \\(or, for inetd mode, connect or exec without any section\\)\$" \
	"foreground = yes
debug = info
cert = $PKI/server.crt
key = $PKI/server.key"

# two services on one accept address: found by --check too, before any bind, at the line of the second
# service's accept, naming the first and its line
CK="cert = $PKI/server.crt
key = $PKI/server.key"
expect_error "two services on one accept address: the line of [b]'s accept, naming [a]'s" \
	"^tlswrap: @FILE@:10: \\[b\\] accept 127\\.0\\.0\\.1:$P: \\[a\\] listens there already \\(@FILE@:2: accept 127\\.0\\.0\\.1:$P\\)" "[a]
accept = 127.0.0.1:$P
connect = 127.0.0.1:$B
$CK
[b]
connect = 127.0.0.1:$B
$CK
accept = 127.0.0.1:$P"
expect_error "a wildcard accept and a loopback one on the same port clash" \
	"^tlswrap: @FILE@:8: \\[b\\] accept 127\\.0\\.0\\.1:$P: \\[a\\] listens there already \\(@FILE@:2: accept \\*:$P\\)" "[a]
accept = $P
connect = 127.0.0.1:$B
$CK
[b]
connect = 127.0.0.1:$B
accept = 127.0.0.1:$P
$CK"

# connect = /path is a Unix socket (it used to be refused as a bad port)
printf '[s]\naccept = 127.0.0.1:%s\nconnect = /run/app.sock\n%s\n' "$P" "$CK" >"$T/unix-connect.conf"
out=$(timeout 5 "$TLSWRAP" --check "$T/unix-connect.conf" 2>&1); rc=$?
check "connect = /run/app.sock is a Unix socket: --check passes" \
	test "$rc" -eq 0 -a "$out" = "$T/unix-connect.conf: OK (1 service)"
[ "$rc" -eq 0 ] || echo "# said: $out"

# bad values of the stunnel options, each at its own line
BASE="$SRV
$CK"
expect_error "bad socket: the line of socket" "^tlswrap: @FILE@:6: socket: expected a, l or r before ':', got 'x:SO_KEEPALIVE=yes'\$" "$BASE
socket = x:SO_KEEPALIVE=yes"
expect_error "unknown socket option: the line of socket" "^tlswrap: @FILE@:7: socket: unknown option 'SO_NOPE'\$" "$BASE
socket = a:SO_KEEPALIVE=yes
socket = r:SO_NOPE=1"
expect_error "bad socket option value: the line of socket" "^tlswrap: @FILE@:6: socket: SO_KEEPALIVE expects yes or no, got 'maybe'\$" "$BASE
socket = l:SO_KEEPALIVE=maybe"
expect_error "unknown options name: the line of options" "^tlswrap: @FILE@:7: options: unknown option 'FOO'" "$BASE
options = NO_TICKET
options = FOO"
expect_error "bad failover: the line of failover" "^tlswrap: @FILE@:6: failover: expected rr or prio, got 'random'\$" "$BASE
failover = random"
expect_error "bad log: the line of log" "^tlswrap: @FILE@:2: log: expected append or overwrite, got 'rotate'\$" "foreground = yes
log = rotate
$BASE"
expect_error "bad foreground: the line of foreground" "^tlswrap: @FILE@:1: foreground: expected yes, quiet or no, got 'maybe'\$" "foreground = maybe
$BASE"
expect_error "unknown curve: the line of curves" "^tlswrap: @FILE@:6: curves: unknown curve 'P-999'" "$BASE
curves = X25519:P-999"
expect_error "empty curves: the line of curves" "^tlswrap: @FILE@:6: curves: empty list\$" "$BASE
curves ="
expect_error "short ticketKeySecret: the line of ticketKeySecret" \
	"^tlswrap: @FILE@:6: ticketKeySecret: expected 32 or 64 hexadecimal digits \\(16 or 32 bytes\\), got 2\$" "$BASE
ticketKeySecret = 12
ticketMacSecret = 00112233445566778899aabbccddeeff"
expect_error "non-hex ticketKeySecret: the line of ticketKeySecret" "^tlswrap: @FILE@:7: ticketKeySecret: expected 32 or 64 hexadecimal digits" "$BASE
ticketMacSecret = 00112233445566778899aabbccddeeff
ticketKeySecret = zz112233445566778899aabbccddeeff"
expect_error "bad local: the line of local" "^tlswrap: @FILE@:6: local: bad character ' ' in host of 'bad host'\$" "$BASE
local = bad host"
expect_error "setuid in a section whose accept is not a Unix socket" \
	"^tlswrap: @FILE@:[0-9]+: service \\[s\\]: setuid/setgid in a section set the owner of a Unix accept socket" "$BASE
setuid = nobody"

out=$(timeout 5 "$TLSWRAP" -f "$T/does-not-exist.conf" 2>&1); rc=$?
check "missing config file: exit 1 naming the path" test "$rc" -eq 1 -a "$out" = "tlswrap: $T/does-not-exist.conf: No such file or directory"

# a directory where a file is expected, or the other way round: the option, the path and what is wrong
mkdir -p "$T/adir"
chmod 700 "$T/adir"
OWN="cert = $PKI/server.crt
key = $PKI/server.key"
expect_error "cert is a directory" "^tlswrap: @FILE@:4: \[s\] cert $T/adir: is a directory, not a file\$" "$SRV
cert = $T/adir"
expect_error "key is a directory" "^tlswrap: @FILE@:5: \[s\] key $T/adir: is a directory, not a file\$" "$SRV
cert = $PKI/server.crt
key = $T/adir"
expect_error "CAfile is a directory" "^tlswrap: @FILE@:6: \[s\] CAfile $T/adir: is a directory, not a file\$" "$SRV
$OWN
CAfile = $T/adir"
expect_error "CRLfile is a directory" "^tlswrap: @FILE@:7: \[s\] CRLfile $T/adir: is a directory, not a file\$" "$SRV
$OWN
CAfile = $PKI/ca.crt
CRLfile = $T/adir
verifyChain = yes"
expect_error "PSKsecrets is a directory" "^tlswrap: @FILE@:4: \[s\] PSKsecrets $T/adir: is a directory, not a file\$" "$SRV
PSKsecrets = $T/adir"
expect_error "ticketKeyFile is a directory" "^tlswrap: @FILE@:6: \[s\] ticketKeyFile $T/adir: is a directory, not a file\$" "$SRV
$OWN
ticketKeyFile = $T/adir"
expect_error "CApath missing" "^tlswrap: @FILE@:6: \[s\] CApath $T/nonexistent: No such file or directory\$" "$SRV
$OWN
CApath = $T/nonexistent"
expect_error "CApath is a file" "^tlswrap: @FILE@:6: \[s\] CApath $PKI/ca.crt: not a directory\$" "$SRV
$OWN
CApath = $PKI/ca.crt"
expect_error "CRLpath is a file" "^tlswrap: @FILE@:7: \[s\] CRLpath $PKI/ca.crt: not a directory\$" "$SRV
$OWN
CAfile = $PKI/ca.crt
CRLpath = $PKI/ca.crt
verifyChain = yes"

# ticketKeyFile: longer than fits (here base64 whose first 511 bytes decode cleanly) is refused, never
# cut to what fits
openssl rand -base64 432 >"$T/ticket-long.key"
chmod 600 "$T/ticket-long.key"
expect_error "ticketKeyFile over 511 bytes" "^tlswrap: @FILE@:6: \\[s\\] ticketKeyFile $T/ticket-long.key: longer than 511 bytes" "$SRV
$OWN
ticketKeyFile = $T/ticket-long.key"

# 5,000 sections: looked up by name and checked for clashing listeners in one pass each (this took
# seconds under ASan while each section was compared with every other one), and a duplicate or a
# clash at the very end is still found
python3 -c "
for i in range(5000):
    print('[s%d]\\naccept = 127.0.0.1:%d\\nconnect = 127.0.0.1:80\\nclient = yes\\nverifyChain = no' % (i, 20000 + i))
" >"$T/many.conf"
out=$(timeout 60 "$TLSWRAP" --check "$T/many.conf" 2>&1); rc=$?
check "5,000 sections: --check completes and counts them" test "$rc: $out" = "0: $T/many.conf: OK (5000 services)"
cp "$T/many.conf" "$T/manydup.conf"
printf '[s17]\naccept = 127.0.0.1:1\nconnect = 127.0.0.1:80\n' >>"$T/manydup.conf"
out=$(timeout 60 "$TLSWRAP" --check "$T/manydup.conf" 2>&1); rc=$?
check "5,000 sections: a duplicate at the end names both lines" \
	test "$rc: $out" = "1: tlswrap: $T/manydup.conf:25001: duplicate section [s17] (first at line 86)"
cp "$T/many.conf" "$T/manyclash.conf"
printf '[last]\naccept = 127.0.0.1:20017\nconnect = 127.0.0.1:80\nclient = yes\nverifyChain = no\n' >>"$T/manyclash.conf"
out=$(timeout 60 "$TLSWRAP" --check "$T/manyclash.conf" 2>&1); rc=$?
check "5,000 sections: a clashing listener at the end is found" \
	grep -q "^tlswrap: $T/manyclash.conf:25002: \\[last\\] accept 127.0.0.1:20017: \\[s17\\] listens there already" <<<"$out"

# accept address in use: bind it with another process first
bg python3 -c "import socket,time; s=socket.socket(); s.bind(('127.0.0.1',$P)); s.listen(); time.sleep(60)"
wait_port "$P"
printf '%s\ncert = %s\nkey = %s\n' "$SRV" "$PKI/server.crt" "$PKI/server.key" >"$T/inuse.conf"
out=$(timeout 5 "$TLSWRAP" -f "$T/inuse.conf" 2>&1); rc=$?
check "accept address in use: exit 1 with the line of accept and errno text" \
	grep -Eq "^tlswrap: $T/inuse.conf:2: \[s\] accept 127.0.0.1:$P: Address already in use\$" <<<"$out"
check "accept address in use: exit status 1" test "$rc" -eq 1
out=$(timeout 5 "$TLSWRAP" --check "$T/inuse.conf" 2>&1); rc=$?
check "--check validates without binding (address in use is fine)" test "$rc" -eq 0
# the status endpoint's address in use: the same, naming the line of `status`
Q=$(free_port)
printf 'foreground = yes\n\nstatus = 127.0.0.1:%s\n[s]\naccept = 127.0.0.1:%s\nconnect = 127.0.0.1:%s\ncert = %s\nkey = %s\n' \
	"$P" "$Q" "$B" "$PKI/server.crt" "$PKI/server.key" >"$T/statusinuse.conf"
out=$(timeout 5 "$TLSWRAP" "$T/statusinuse.conf" 2>&1); rc=$?
check "status address in use: exit 1 with file:line and errno text" \
	test "$rc" -eq 1 -a "$out" = "tlswrap: $T/statusinuse.conf:3: status 127.0.0.1:$P: Address already in use"

# command-line flags
out=$(timeout 5 "$TLSWRAP" --client --accept 127.0.0.1:$P 2>&1); rc=$?
check "flags: missing connect refused" test "$rc" -eq 1 -a -n "$(grep -F "has no 'connect'" <<<"$out")"
out=$(timeout 5 "$TLSWRAP" --client --accept 127.0.0.1:$B --bogus 1 2>&1); rc=$?
check "flags: unknown option refused" test "$rc" -eq 1 -a -n "$(grep -F "unknown option '--bogus'" <<<"$out")"
out=$(timeout 5 "$TLSWRAP" --client --accept 127.0.0.1:$B --connect 127.0.0.1:1 --TIMEOUTIDLE x 2>&1); rc=$?
check "flags: bad value refused" test "$rc" -eq 1 -a -n "$(grep -F "TIMEOUTidle: expected a number of seconds" <<<"$out")"
check "--version names tlswrap and mbedTLS" bash -c "'$TLSWRAP' --version | grep -q 'Mbed TLS 3\.'"
check "--help exits 0" bash -c "'$TLSWRAP' --help | grep -q 'usage: tlswrap'"
check "no arguments: usage and exit 1" bash -c "! '$TLSWRAP' 2>/dev/null"
finish
