#!/usr/bin/env bash
# sandbox = yes (the default): after start-up tlswrap keeps, through Landlock, only what reload and log
# reopening need. The kernel refuses it a directory outside (an include on reload); a reload with new files
# in the allowed directories works; one with a certificate outside or a new accept port is refused, in
# words, and the old configuration serves on. With an exec service the filesystem is not restricted (its
# programs inherit the sandbox) but the ports are: seen from inside by the program. sandbox = no restricts
# nothing. One log line says what was applied.
. "$(dirname "$0")/lib.sh"
make_pki
read -r S R E X S2 X2 NEWP <<<"$(free_ports 7)"
mkdir -p "$T/certs" "$T/outside" "$T/bin" "$T/conf"
cp "$PKI"/server.crt "$PKI"/server.key "$PKI"/wrong.crt "$PKI"/wrong.key "$T/certs/"
cp "$PKI"/server.crt "$PKI"/server.key "$T/outside/"
echo "secret" >"$T/outside/secret.txt"
# the probe (an exec program): what it can read and reach, one line each
cat >"$T/bin/probe.sh" <<SH
#!/bin/sh
cat "$T/outside/secret.txt" >/dev/null 2>&1 && echo "outside: read" || echo "outside: denied"
python3 - <<'PY'
import socket
for name, port in (("connect port", $E), ("other port", $X)):
    try:
        socket.create_connection(("127.0.0.1", port), 5).close()
        print(name + ": reached")
    except OSError as e:
        print(name + ": " + (e.strerror or str(e)))
PY
SH
chmod 755 "$T/bin/probe.sh"
python3 - "$X" <<'PY' &
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8); time.sleep(120)
PY
PIDS+=($!)
echo_server "$E"
wait_port "$X"

probe() { # probe PORT: the probe's lines through TLS
	python3 - "$1" <<'PY'
import socket, ssl, sys
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20))
data = b""
try:
    while chunk := s.recv(1000):
        data += chunk
except ssl.SSLError:
    pass
print(data.decode(), end="")
PY
}
peer_cn() { # peer_cn PORT: the CN of the certificate the server at PORT shows
	openssl s_client -connect "127.0.0.1:$1" </dev/null 2>/dev/null | openssl x509 -noout -subject 2>/dev/null |
		sed -n 's/.*CN *= *\([^,/]*\).*/\1/p'
}
relay() { # relay PORT: a line through TLS to the echo server and back
	python3 - "$1" <<'PY'
import socket, ssl, sys
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10))
s.sendall(b"ping\n")
data = b""
while not data.endswith(b"\n"):
    data += s.recv(100)
print(data.decode(), end="")
PY
}
conf() { # conf FILE SANDBOX CERTDIR ACCEPT-PORT-OF-relay [INCLUDE-DIR]
	cat >"$1" <<CONF
foreground = yes
debug = info
sandbox = $2
cert = $3/server.crt
key = $3/server.key
${5:+include = $5}
[web]
accept = 127.0.0.1:$S
connect = 127.0.0.1:$E
[relay]
accept = 127.0.0.1:$4
connect = 127.0.0.1:$E
CONF
}
closed() { ! python3 -c "import socket; socket.create_connection(('127.0.0.1', $1), 2)" 2>/dev/null; }

# -- the default: filesystem and network rules --------------------------------------------------------------
mkdir -p "$T/conf.d" "$T/outside.d"
printf '[inc]\naccept = 127.0.0.1:%s\nconnect = 127.0.0.1:%s\n' "$S2" "$E" >"$T/conf.d/inc.conf"
cp "$T/conf.d/inc.conf" "$T/outside.d/"
C=$T/conf/on.conf
conf "$C" yes "$T/certs" "$R" "$T/conf.d"
start_tlswrap "$C" || { not_ok "tlswrap starts"; finish; }
if has "$C.log" 'sandbox: not applied: the kernel offers no Landlock'; then
	skip_all "the kernel offers no Landlock"
fi
check "one log line says what the sandbox applied" test "$(grep -c 'sandbox:' "$C.log")" = 1
check "... Landlock, its filesystem rules" has "$C.log" 'sandbox: Landlock ABI [0-9]+: filesystem read-only under [0-9]+ paths'
abi=$(sed -n 's/.*sandbox: Landlock ABI \([0-9]*\).*/\1/p' "$C.log")
net=0
if [ "${abi:-0}" -ge 4 ]; then
	net=1
	check "... the accept ports to bind" has "$C.log" "bind ports ([0-9]+ )*$S( [0-9]+)*, connect ports"
	check "... the connect ports" has "$C.log" "connect ports ([0-9]+ )*$E( |\$)"
fi
if has "$C.log" 'sanitizer reports'; then # a sanitized build with log_path: a report at exit must not be lost
	check "a sanitized build's report directory stays writable (a probe file created and removed)" has "$C.log" 'sanitizer reports writable in /[^ ,;]+(,|;|$)'
fi
check "the relay works" test "$(relay "$R")" = ping
check "a service from the include directory works" test "$(relay "$S2")" = ping

# reload: other files in the allowed directories
mark_log "$C.log"
sed -i "s|/server.crt|/wrong.crt|; s|/server.key|/wrong.key|" "$C"
kill -HUP "$TLSWRAP_PID"
check "a reload with new files inside the allowed directories works" wait_log_since_mark "$C.log" 'configuration reloaded'
check "... and serves them" eventually test "$(peer_cn "$S")" = wrong.example

# reload: an include directory outside: the kernel refuses to open it
mark_log "$C.log"
sed -i "s|$T/conf.d|$T/outside.d|" "$C"
kill -HUP "$TLSWRAP_PID"
check "the process cannot open a directory outside its allowed set (include on reload)" wait_log_since_mark "$C.log" \
	"reload failed, still serving the previous configuration: .*include $T/outside.d: Permission denied \(the sandbox set at start"

# reload: a certificate outside
mark_log "$C.log"
conf "$C" yes "$T/outside" "$R" "$T/conf.d"
kill -HUP "$TLSWRAP_PID"
check "a reload with a certificate outside is refused, naming it" wait_log_since_mark "$C.log" \
	"reload failed, still serving the previous configuration: .*on.conf:[0-9]+: \[[a-z]+\] cert $T/outside/server.crt is outside the sandbox set at start \(sandbox = yes\); restart tlswrap to use it"
check "... and the previous configuration serves on" test "$(peer_cn "$S")" = wrong.example

# reload: a new accept port
if [ "$net" = 1 ]; then
	mark_log "$C.log"
	conf "$C" yes "$T/certs" "$NEWP" "$T/conf.d"
	kill -HUP "$TLSWRAP_PID"
	check "a reload that binds a new port is refused, naming it" wait_log_since_mark "$C.log" \
		"reload failed, still serving the previous configuration: .*on.conf:[0-9]+: \[relay\] accept port $NEWP is outside the sandbox set at start"
	check "... and the old port serves on" test "$(relay "$R")" = ping
	check "... and the new one is not bound" closed "$NEWP"
fi

# reload: the certificate directory deleted and made again (Landlock's rule stays on the one it saw): refused
# in words, not with a bare "Permission denied", and the previous configuration serves on
mark_log "$C.log"
conf "$C" yes "$T/certs" "$R" "$T/conf.d"
rm -rf "$T/certs"; mkdir "$T/certs"
cp "$PKI"/server.crt "$PKI"/server.key "$PKI"/wrong.crt "$PKI"/wrong.key "$T/certs/"
kill -HUP "$TLSWRAP_PID"
check "a reload from a directory made again since start is refused, saying so" wait_log_since_mark "$C.log" \
	"reload failed, still serving the previous configuration: .*on.conf:[0-9]+: \[[a-z]+\] cert $T/certs/server.crt: directory $T/certs was replaced since start; the sandbox \(sandbox = yes\) keeps the one it saw: restart tlswrap to use the new one"
check "... and the previous configuration serves on" test "$(peer_cn "$S")" = wrong.example

# reload: the include directory deleted and made again: the configuration cannot be read, and the hint says why
mark_log "$C.log"
rm -rf "$T/conf.d"; mkdir "$T/conf.d"; cp "$T/outside.d/inc.conf" "$T/conf.d/"
kill -HUP "$TLSWRAP_PID"
check "an include directory made again since start: the hint names that case" wait_log_since_mark "$C.log" \
	"include $T/conf.d: Permission denied \(the sandbox set at start allows reading only the directories the configuration named then, as they were then: not one deleted and made again since"
stop_checked "$C.log"

# -- certbot and Kubernetes renewals inside the sandbox: files and links replaced in directories that stay ----------
LE=$T/le K8S=$T/k8s
mkdir -p "$LE/live/site" "$LE/archive/site" "$K8S/..2026_01_01" "$K8S/..2026_02_01"
cp "$PKI/server.crt" "$LE/archive/site/cert1.pem"; cp "$PKI/server.key" "$LE/archive/site/privkey1.pem"
ln -s ../../archive/site/cert1.pem "$LE/live/site/cert.pem"; ln -s ../../archive/site/privkey1.pem "$LE/live/site/privkey.pem"
cp "$PKI/server.crt" "$K8S/..2026_01_01/tls.crt"; cp "$PKI/server.key" "$K8S/..2026_01_01/tls.key"
cp "$PKI/wrong.crt" "$K8S/..2026_02_01/tls.crt"; cp "$PKI/wrong.key" "$K8S/..2026_02_01/tls.key"
ln -s ..2026_01_01 "$K8S/..data"; ln -s ..data/tls.crt "$K8S/tls.crt"; ln -s ..data/tls.key "$K8S/tls.key"
C=$T/conf/renew.conf
cat >"$C" <<CONF
foreground = yes
[le]
accept = 127.0.0.1:$S
connect = 127.0.0.1:$E
cert = $LE/live/site/cert.pem
key = $LE/live/site/privkey.pem
[k8s]
accept = 127.0.0.1:$R
connect = 127.0.0.1:$E
cert = $K8S/tls.crt
key = $K8S/tls.key
CONF
start_tlswrap "$C" || { not_ok "tlswrap starts with certbot and Kubernetes layouts"; finish; }
mark_log "$C.log"
cp "$PKI/wrong.crt" "$LE/archive/site/cert2.pem"; cp "$PKI/wrong.key" "$LE/archive/site/privkey2.pem"
ln -sfn ../../archive/site/cert2.pem "$LE/live/site/cert.pem"; ln -sfn ../../archive/site/privkey2.pem "$LE/live/site/privkey.pem"
ln -s ..2026_02_01 "$K8S/..data_tmp"; mv -T "$K8S/..data_tmp" "$K8S/..data"; rm -rf "$K8S/..2026_01_01"
kill -HUP "$TLSWRAP_PID"
check "certbot and Kubernetes renewals reload inside the sandbox" wait_log_since_mark "$C.log" 'SIGHUP: configuration reloaded'
check "... certbot's new certificate serves" eventually test "$(peer_cn "$S")" = wrong.example
check "... the Kubernetes secret's new certificate serves" eventually test "$(peer_cn "$R")" = wrong.example
stop_checked "$C.log"

# -- exec programs inherit the sandbox: no filesystem rules, the network rules ----------------------------------
C=$T/conf/exec.conf
cat >"$C" <<CONF
foreground = yes
cert = $T/certs/server.crt
key = $T/certs/server.key
[probe]
accept = 127.0.0.1:$S
exec = $T/bin/probe.sh
[relay]
accept = 127.0.0.1:$R
connect = 127.0.0.1:$E
CONF
start_tlswrap "$C" || { not_ok "tlswrap starts with an exec service"; finish; }
check "with exec: the log line says the filesystem is not restricted, and why" has "$C.log" \
	'sandbox: Landlock ABI [0-9]+: filesystem not restricted \(\[probe\] runs exec programs, which inherit the sandbox\)'
out=$(probe "$S")
echo "# probe: $(tr '\n' ';' <<<"$out")"
check "with exec: the program reads what it needs" grep -qx "outside: read" <<<"$out"
if [ "$net" = 1 ]; then
	check "with exec: the program reaches tlswrap's connect ports" grep -qx "connect port: reached" <<<"$out"
	check "with exec: and no other port" grep -qx "other port: Permission denied" <<<"$out"
fi
stop_checked "$C.log"

# -- sandbox = no: nothing restricted ---------------------------------------------------------------------------
C=$T/conf/off.conf
conf "$C" no "$T/certs" "$R" "$T/conf.d"
printf '[probe]\naccept = 127.0.0.1:%s\nexec = %s\n' "$X2" "$T/bin/probe.sh" >>"$C"
start_tlswrap "$C" || { not_ok "tlswrap starts with sandbox = no"; finish; }
check "sandbox = no: the log line says so" has "$C.log" 'sandbox: not applied \(sandbox = no\)'
out=$(probe "$X2")
[ "$net" = 1 ] && check "sandbox = no: any port can be reached" grep -qx "other port: reached" <<<"$out"
mark_log "$C.log"
conf "$C" no "$T/outside" "$NEWP" "$T/outside.d"
kill -HUP "$TLSWRAP_PID"
check "sandbox = no: a reload with files elsewhere and a new port works" wait_log_since_mark "$C.log" 'configuration reloaded'
check "... and binds the new port" wait_port "$NEWP" 5
stop_checked "$C.log"

# --check does not apply or mention the sandbox
out=$("$TLSWRAP" --check "$T/conf/on.conf" 2>&1)
check "--check is unaffected" test "$(grep -c sandbox <<<"$out")" = 0
finish
