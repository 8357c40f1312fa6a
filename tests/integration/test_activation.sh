#!/usr/bin/env bash
# Socket activation: listeners inherited from the service manager (LISTEN_FDS), matched to services by
# name or by address; connections made before tlswrap started are served.
. "$(dirname "$0")/lib.sh"
make_pki
E=$(free_port); S1=$(free_port); S2=$(free_port); S3=$(free_port); X=$(free_port)
echo_server "$E"
cat >"$T/act.conf" <<CONF
foreground = yes
cert = $PKI/server.crt
key = $PKI/server.key
[web]
accept = 127.0.0.1:$S1
connect = 127.0.0.1:$E
[by-address]
accept = 127.0.0.1:$S2
connect = 127.0.0.1:$E
[own]
accept = 127.0.0.1:$S3
connect = 127.0.0.1:$E
CONF
# socket "web" is bound on another port than the configuration says: only its name can match it
python3 "$TESTS_SRCDIR/integration/activate.py" --name web "127.0.0.1:$X" "127.0.0.1:$S2" --name stray "127.0.0.1:$(free_port)" \
	-- "$TLSWRAP" -f "$T/act.conf" >"$T/act.log" 2>&1 &
PIDS+=($!)
wait_port "$X"
# connect as soon as the socket exists, likely before tlswrap is up: the kernel queues it
python3 "$TESTS_SRCDIR/integration/tls_client.py" tls "$X" "$PKI/ca.crt" >"$T/early.out" 2>&1 &
EARLY=$!
check "tlswrap starts with inherited sockets" wait_log "$T/act.log" 'started, pid'
check "a connection made before start is served" wait "$EARLY"
check "matched by name (FileDescriptorName = section name)" grep -q '\[web\] #[0-9]* .*established' "$T/act.log"
check "matched by address" python3 "$TESTS_SRCDIR/integration/tls_client.py" tls "$S2" "$PKI/ca.crt"
check "a service with no inherited socket binds its own" python3 "$TESTS_SRCDIR/integration/tls_client.py" tls "$S3" "$PKI/ca.crt"
check "a socket matching no service is closed with a warning" grep -q 'inherited socket 5 named stray matches no service: closed' "$T/act.log"
# the same through systemd's own activator, where installed
if command -v systemd-socket-activate >/dev/null; then
	Y=$(free_port)
	cat >"$T/sd.conf" <<CONF
foreground = yes
[https]
accept = 127.0.0.1:$(free_port)
connect = 127.0.0.1:$E
cert = $PKI/server.crt
key = $PKI/server.key
CONF
	systemd-socket-activate -l "127.0.0.1:$Y" --fdname=https "$TLSWRAP" -f "$T/sd.conf" >"$T/sd.log" 2>&1 &
	PIDS+=($!)
	wait_port "$Y"
	check "systemd-socket-activate: the named socket serves [https]" \
		python3 "$TESTS_SRCDIR/integration/tls_client.py" tls "$Y" "$PKI/ca.crt"
	check "systemd-socket-activate: logged under [https]" wait_log "$T/sd.log" '\[https\] #[0-9]+ .*established'
else
	echo "# systemd-socket-activate not installed: skipped"
fi
finish
