#!/usr/bin/env bash
# systemd's notify protocol, captured on a test NOTIFY_SOCKET: READY, STATUS, WATCHDOG, RELOADING with
# MONOTONIC_USEC then READY around a reload, STOPPING on SIGTERM.
. "$(dirname "$0")/lib.sh"
make_pki
E=$(free_port); S=$(free_port)
echo_server "$E"
bg python3 -c "
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind('$T/notify.sock')
with open('$T/notify.log', 'a', buffering=1) as out:
    while True:
        out.write(s.recv(4096).decode().replace('\n', '|') + '\n')
"
wait_file() { local i; for i in $(seq 100); do [ -S "$1" ] && return 0; sleep 0.05; done; return 1; }
wait_file "$T/notify.sock"
cat >"$T/n.conf" <<CONF
foreground = yes
[srv]
accept = 127.0.0.1:$S
connect = 127.0.0.1:$E
cert = $PKI/server.crt
key = $PKI/server.key
CONF
NOTIFY_SOCKET=$T/notify.sock WATCHDOG_USEC=400000 "$TLSWRAP" -f "$T/n.conf" >"$T/n.log" 2>&1 &
P=$!; PIDS+=("$P")
check "READY=1 once serving" wait_log "$T/notify.log" '^READY=1$'
check "STATUS= with service and connection counts" wait_log "$T/notify.log" '^STATUS=1 service, 0 connections$'
check "WATCHDOG=1 within the watchdog interval" wait_log "$T/notify.log" '^WATCHDOG=1$' 3
kill -HUP "$P"
check "RELOADING=1 with MONOTONIC_USEC around a reload" wait_log "$T/notify.log" '^RELOADING=1\|MONOTONIC_USEC=[0-9]+$'
ready_after_reload() { grep -A50 RELOADING "$T/notify.log" | grep -q '^READY=1$'; }
check "READY=1 again after the reload" eventually ready_after_reload
kill -TERM "$P"
check "STOPPING=1 on SIGTERM" wait_log "$T/notify.log" '^STOPPING=1$'
wait "$P"
check "exit 0" test $? -eq 0
# chroot: the notifications still reach the service manager (its socket is opened before the chroot)
if [ "$(id -u)" -eq 0 ]; then
	S2=$(free_port); mkdir -p "$T/jail"
	sed -e "s/:$S\$/:$S2/" -e "s|^foreground = yes|foreground = yes\nchroot = $T/jail|" "$T/n.conf" >"$T/n2.conf"
	: >"$T/notify.log"
	NOTIFY_SOCKET=$T/notify.sock "$TLSWRAP" -f "$T/n2.conf" >"$T/n2.log" 2>&1 &
	P2=$!; PIDS+=("$P2")
	check "chroot: READY=1 still arrives" wait_log "$T/notify.log" '^READY=1$'
	kill -TERM "$P2"
	check "chroot: STOPPING=1 still arrives" wait_log "$T/notify.log" '^STOPPING=1$'
fi
finish
