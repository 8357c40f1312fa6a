#!/usr/bin/env bash
# Hostile and broken peers cost one connection each, never the process: a few hundred connections
# that send noise, mutated or truncated handshakes, forged records and resets, against a server-mode
# service, and a TLS server that answers a client-mode service with broken flights. Afterwards
# tlswrap must still serve, hold no more descriptors than before, and (under ASan) have reported
# nothing. The rounds are random but seeded: a failure names its seed, and HOSTILE_SEED repeats it.
. "$(dirname "$0")/lib.sh"
ROUNDS=${HOSTILE_ROUNDS:-200}
SEED=${HOSTILE_SEED:-$RANDOM}
echo "# seed $SEED, $ROUNDS rounds each way (HOSTILE_SEED=$SEED to repeat)"
make_pki
E=$(free_port); S=$(free_port); H=$(free_port); C=$(free_port)
echo_server "$E"
bg python3 "$TESTS_SRCDIR/integration/hostile_peer.py" server "$H" "$PKI/server.crt" "$PKI/server.key" "$SEED"
wait_port "$H"
cat >"$T/hostile.conf" <<CONF
foreground = yes
TIMEOUTbusy = 3
[srv]
accept = 127.0.0.1:$S
connect = 127.0.0.1:$E
cert = $PKI/server.crt
key = $PKI/server.key
[cli]
client = yes
accept = 127.0.0.1:$C
connect = 127.0.0.1:$H
CAfile = $PKI/ca.crt
CONF
start_tlswrap "$T/hostile.conf" || { not_ok "tlswrap starts"; finish; }
fds() { ls /proc/"$TLSWRAP_PID"/fd | wc -l; }
fd0=$(fds)
check "server mode: $ROUNDS hostile clients, each one connection" \
	timeout 600 python3 "$TESTS_SRCDIR/integration/hostile_peer.py" client "$S" "$ROUNDS" "$SEED"
check "client mode: $ROUNDS connections to a server that answers with broken flights" \
	timeout 600 python3 "$TESTS_SRCDIR/integration/hostile_peer.py" plain "$C" "$ROUNDS"
check "the process survived" kill -0 "$TLSWRAP_PID"
check "still serving a well-behaved client" python3 "$TESTS_SRCDIR/integration/tls_client.py" tls "$S" "$PKI/ca.crt"
fds_back() { [ "$(fds)" -le "$fd0" ]; }
check "every descriptor given back ($fd0 at the start)" eventually fds_back
check "refusals logged with reasons" wait_log "$T/hostile.conf.log" '\[srv\] #[0-9]+ .*closed \(TLS handshake failed: '
check "client-mode refusals logged with reasons" wait_log "$T/hostile.conf.log" '\[cli\] #[0-9]+ .*closed \((TLS handshake failed|TLS read|TLS peer)'
# what the rounds came to, for whoever reads the log
sed -n 's/.*\] #[0-9]* [^ ]*: closed (\([^:;(]*\).*/\1/p' "$T/hostile.conf.log" | sort | uniq -c | sort -rn | sed 's/^/# /'
kill -TERM "$TLSWRAP_PID"
check "exits 0 (no leak or error reports under ASan)" wait "$TLSWRAP_PID"
finish
