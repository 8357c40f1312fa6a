#!/usr/bin/env bash
# Pre-shared keys (PSKsecrets, PSKidentity) for TLS 1.2 and 1.3, with openssl as the other end.
. "$(dirname "$0")/lib.sh"
E=$(free_port); S=$(free_port); C=$(free_port); C2=$(free_port)
echo_server "$E"
KEY=0123456789abcdef-psk-key
printf '# identity:key\nclient1:%s\n\nclient2:another-key-of-enough-bytes\n' "$KEY" >"$T/psk.txt"
chmod 600 "$T/psk.txt"
hexkey=$(printf '%s' "$KEY" | od -An -tx1 | tr -d ' \n')
cat >"$T/psk.conf" <<CONF
foreground = yes
[psk-server]
accept = 127.0.0.1:$S
connect = 127.0.0.1:$E
PSKsecrets = $T/psk.txt
[psk-client]
client = yes
accept = 127.0.0.1:$C
connect = 127.0.0.1:$S
PSKsecrets = $T/psk.txt
[psk-client2]
client = yes
accept = 127.0.0.1:$C2
connect = 127.0.0.1:$S
PSKsecrets = $T/psk.txt
PSKidentity = client2
CONF
start_tlswrap "$T/psk.conf" || { not_ok "tlswrap starts"; finish; }
LOG=$T/psk.conf.log
for v in tls1_2 tls1_3; do
	out=$( (echo "psk $v"; sleep 1) | timeout 10 openssl s_client -connect "127.0.0.1:$S" "-$v" -psk_identity client1 \
		-psk "$hexkey" -quiet 2>/dev/null)
	check "$v: openssl with the right key gets through" test "$out" = "psk $v"
	out=$( (echo "psk $v"; sleep 1) | timeout 10 openssl s_client -connect "127.0.0.1:$S" "-$v" -psk_identity client1 \
		-psk 00112233445566778899aabbccddeeff -quiet 2>/dev/null)
	check "$v: a wrong key is refused" test -z "$out"
	out=$( (echo "psk $v"; sleep 1) | timeout 10 openssl s_client -connect "127.0.0.1:$S" "-$v" -psk_identity nobody \
		-psk "$hexkey" -quiet 2>/dev/null)
	check "$v: an unknown identity is refused" test -z "$out"
done
check "TLS 1.2 PSK suite negotiated" grep -q '\[psk-server\].*established TLSv1\.2 TLS-[A-Z0-9-]*PSK-' "$LOG"
check "the identity is logged" grep -q '\[psk-server\].*established TLSv1\.3 .*rule="PSK identity=client1"' "$LOG"
check "refusals logged" test "$(grep -c '\[psk-server\].*closed (TLS handshake failed' "$LOG")" -ge 4
check "the key never appears in the log" bash -c "! grep -q -- '$KEY' '$LOG'"
check "tlswrap client -> tlswrap server with PSK" python3 "$TESTS_SRCDIR/integration/tls_client.py" line "$C"
check "PSKidentity picks the identity presented" python3 "$TESTS_SRCDIR/integration/tls_client.py" line "$C2"
check "server saw the chosen identity" wait_log "$LOG" '\[psk-server\].*rule="PSK identity=client2"'
# openssl s_server as the PSK server, tlswrap as the client
P=$(free_port); C3=$(free_port)
bg openssl s_server -accept "$P" -nocert -psk_identity client1 -psk "$hexkey" -rev -quiet
wait_port "$P"
cat >"$T/psk2.conf" <<CONF
foreground = yes
[to-openssl]
client = yes
accept = 127.0.0.1:$C3
connect = 127.0.0.1:$P
PSKsecrets = $T/psk.txt
CONF
start_tlswrap "$T/psk2.conf" || not_ok "second tlswrap starts"
out=$(python3 -c "
import socket
s = socket.create_connection(('127.0.0.1', $C3), timeout=10)
s.sendall(b'abc\n')
print(s.recv(100).decode().strip())
")
check "tlswrap client -> openssl s_server -psk (reversed line back)" test "$out" = "cba"
# refused configurations
chmod 644 "$T/psk.txt"
out=$("$TLSWRAP" --check "$T/psk.conf" 2>&1)
check "world-readable PSKsecrets refused" grep -q "PSKsecrets $T/psk.txt is accessible by others" <<<"$out"
chmod 600 "$T/psk.txt"
printf 'short:tooshort\n' >"$T/short.txt"; chmod 600 "$T/short.txt"
sed "s|$T/psk.txt|$T/short.txt|" "$T/psk2.conf" >"$T/short.conf"
out=$("$TLSWRAP" --check "$T/short.conf" 2>&1)
check "key shorter than 16 bytes refused with file:line" grep -q "$T/short.txt:1: key shorter than 16 bytes" <<<"$out"
check "the short key is not printed" bash -c "! grep -q tooshort <<<'$out'"
printf 'foreground = yes\n[c]\nclient = yes\naccept = 127.0.0.1:%s\nconnect = 127.0.0.1:%s\nPSKsecrets = %s\nsslVersion = TLSv1.2\nciphers = ECDHE-ECDSA-AES128-GCM-SHA256\n' \
	"$C3" "$P" "$T/psk.txt" >"$T/nopsk.conf"
out=$("$TLSWRAP" --check "$T/nopsk.conf" 2>&1)
check "PSK-only client with only certificate suites refused (it could not verify a certificate)" \
	grep -q "a service trusting only its PSK needs PSK suites" <<<"$out"
finish
