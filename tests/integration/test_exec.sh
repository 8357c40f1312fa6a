#!/usr/bin/env bash
# exec = PROGRAM (server mode): each TLS client gets its own child process on a socketpair, told who the
# client is; its exit closes the TLS side cleanly, and no zombie is left behind.
. "$(dirname "$0")/lib.sh"
make_pki
S=$(free_port); S2=$(free_port)
cat >"$T/greet.sh" <<'SH'
#!/bin/sh
echo "hello $REMOTE_HOST:$REMOTE_PORT [$1]"
exec cat
SH
printf '#!/bin/sh\necho "one line and gone"\n' >"$T/once.sh"
chmod 755 "$T/greet.sh" "$T/once.sh"
cat >"$T/exec.conf" <<CONF
foreground = yes
debug = info
cert = $PKI/server.crt
key = $PKI/server.key
[greet]
accept = 127.0.0.1:$S
exec = $T/greet.sh
execArgs = greet.sh first-arg
[once]
accept = 127.0.0.1:$S2
exec = $T/once.sh
CONF
start_tlswrap "$T/exec.conf" || { not_ok "tlswrap starts"; finish; }
out=$(python3 - "$S" "$PKI/ca.crt" <<'PY'
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
raw = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
me = raw.getsockname()[1]
s = ctx.wrap_socket(raw, server_hostname="localhost")
s.sendall(b"echo me\n")
data = b""
while data.count(b"\n") < 2:
    data += s.recv(100)
print(me)
print(data.decode(), end="")
PY
)
me=$(head -1 <<<"$out")
check "the program greets with the client's address and its execArgs" grep -qx "hello 127.0.0.1:$me \[first-arg\]" <<<"$out"
check "and relays through it both ways" grep -qx "echo me" <<<"$out"
tls_read_all() { # tls_read_all PORT: everything the server sends until it closes, and how it closed
	python3 - "$1" "$PKI/ca.crt" <<'PY'
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10), server_hostname="localhost")
data = b""
while True:
    try:
        chunk = s.recv(100)
    except ssl.SSLEOFError:
        print(data.decode(), end=""); print("EOF without close_notify"); sys.exit(0)
    if not chunk:
        break
    data += chunk
print(data.decode(), end=""); print("close_notify")
PY
}
out=$(tls_read_all "$S2")
check "a program that exits closes the TLS connection, with close_notify" test "$out" = "one line and gone
close_notify"
check "the program's output counted in the close line" wait_log "$T/exec.conf.log" '\[once\] #[0-9]+ .*closed .*to_tls=18 to_plain=0 bytes'
for i in 1 2 3; do tls_read_all "$S2" >/dev/null; done
check "children are reaped (logged)" wait_log "$T/exec.conf.log" 'exec child [0-9]+ exited with status 0'
zombies() { ps --ppid "$TLSWRAP_PID" -o stat= | grep -c Z; }
nozombie() { local i; for i in $(seq 50); do [ "$(zombies)" -eq 0 ] && return 0; sleep 0.1; done; return 1; }
check "no zombie processes" nozombie
out=$(printf 'foreground = yes\n[x]\naccept = 1\nexec = relative/prog\ncert = %s\n' "$PKI/server.crt" >"$T/bad.conf"; "$TLSWRAP" --check "$T/bad.conf" 2>&1)
check "exec needs an absolute path" grep -q "exec needs an absolute path" <<<"$out"
finish
