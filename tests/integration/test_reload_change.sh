#!/usr/bin/env bash
# reloadOnChange = yes: a certificate renewed by renaming new files over the old ones, a Kubernetes-style
# "..data" symbolic link flip and an edited configuration file each reload tlswrap after 2 s of quiet, as
# SIGHUP does: new handshakes present the new certificate while a slow transfer that started before goes
# on to its end. A half-written or broken key keeps the running configuration serving, with the reason
# in the log, until the file is whole. Without the option nothing is reloaded.
. "$(dirname "$0")/lib.sh"
make_pki
E=$(free_port); S=$(free_port); C=$(free_port); K=$(free_port); X=$(free_port)
echo_server "$E"
LIVE=$T/live K8S=$T/k8s
mkdir -p "$LIVE" "$K8S/..2026_01_01" "$K8S/..2026_02_01"
cp "$PKI/server.crt" "$PKI/server.key" "$LIVE/"
cp "$PKI/server.crt" "$K8S/..2026_01_01/tls.crt"
cp "$PKI/server.key" "$K8S/..2026_01_01/tls.key"
cp "$PKI/wrong.crt" "$K8S/..2026_02_01/tls.crt"
cp "$PKI/wrong.key" "$K8S/..2026_02_01/tls.key"
ln -s ..2026_01_01 "$K8S/..data"
ln -s ..data/tls.crt "$K8S/tls.crt"
ln -s ..data/tls.key "$K8S/tls.key"
write_conf() { # write_conf [reloadOnChange value] [extra lines]
	cat >"$T/rc.conf" <<CONF
foreground = yes
reloadOnChange = ${1:-yes}
[srv]
accept = 127.0.0.1:$S
connect = 127.0.0.1:$E
cert = $LIVE/server.crt
key = $LIVE/server.key
[k8s]
accept = 127.0.0.1:$K
connect = 127.0.0.1:$E
cert = ${KC:-$K8S/tls.crt}
key = ${KK:-$K8S/tls.key}
[cli]
client = yes
accept = 127.0.0.1:$C
connect = 127.0.0.1:$S
CAfile = $PKI/ca.crt
checkHost = localhost
${2:-}
CONF
}
write_conf yes
LOG=$T/rc.conf.log
start_tlswrap "$T/rc.conf" || { not_ok "tlswrap starts"; finish; }
check "start: the directories are watched" has "$LOG" 'reloadOnChange: watching [0-9]+ director'
subject() { timeout 10 openssl s_client -connect "127.0.0.1:$1" </dev/null 2>/dev/null | sed -n 's/^subject=//p'; }
check "before: [srv] presents CN=localhost" test "$(subject "$S")" = "CN = localhost"
check "before: [k8s] presents CN=localhost" test "$(subject "$K")" = "CN = localhost"

# a slow transfer through [cli] and [srv] that spans the renewal (one thread, select: never blocks on a write
# while the echo waits to be read)
python3 - "$C" >"$T/slow.out" 2>&1 <<'PY' &
import hashlib, select, socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=60)
s.setblocking(False)
data = b"".join(hashlib.sha256(str(i).encode()).digest() * 1024 for i in range(160))  # 160 x 32 KiB
sent, got, next_at, done_sending = 0, bytearray(), time.monotonic(), False
print("started", flush=True)
while True:
    want_w = [s] if not done_sending and time.monotonic() >= next_at else []
    r, w, _ = select.select([s], want_w, [], 0.05)
    if r:
        chunk = s.recv(65536)
        if not chunk:
            break
        got.extend(chunk)
    if w:
        n = s.send(data[sent:sent + 32768])
        sent += n
        next_at = time.monotonic() + 0.05  # some 5 s in all
        if sent == len(data):
            s.shutdown(socket.SHUT_WR)
            done_sending = True
print("identical" if bytes(got) == data else "DIFFERENT %d of %d" % (len(got), len(data)), flush=True)
PY
SLOW=$!
PIDS+=("$SLOW")
wait_log "$T/slow.out" started

# 1. certbot-style renewal: new files renamed over the old ones
mark_log "$LOG"
cp "$PKI/wrong.key" "$LIVE/.server.key.new"
cp "$PKI/wrong.crt" "$LIVE/.server.crt.new"
mv "$LIVE/.server.key.new" "$LIVE/server.key"
mv "$LIVE/.server.crt.new" "$LIVE/server.crt"
check "rename: the change is noticed" wait_log_since_mark "$LOG" "reloadOnChange: $LIVE/server\.(crt|key) changed"
check "rename: reloaded as SIGHUP does, while the slow transfer is open" wait_log_since_mark "$LOG" 'reloadOnChange: configuration reloaded \(3 services; [1-9][0-9]* connections carry on\)'
check "rename: new handshakes present the new certificate" test "$(subject "$S")" = "CN = wrong.example"
check "rename: one reload for the two files (2 s of quiet)" test "$(tail -n +$((LOG_MARK + 1)) "$LOG" | grep -c 'configuration reloaded')" = 1
wait "$SLOW"
check "rename: the slow transfer that spanned it completed byte-identical" has "$T/slow.out" '^identical$'

# 2. Kubernetes secret volume: ..data flipped to a new timestamped directory, the old one removed
mark_log "$LOG"
ln -s ..2026_02_01 "$K8S/..data_tmp"
mv -T "$K8S/..data_tmp" "$K8S/..data"
rm -rf "$K8S/..2026_01_01"
check "symlink flip: reloaded" wait_log_since_mark "$LOG" 'reloadOnChange: configuration reloaded'
check "symlink flip: [k8s] presents the new certificate" test "$(subject "$K")" = "CN = wrong.example"

# 3. a key written half-way, in place: the reload fails and the running configuration serves on; once whole, it loads
mark_log "$LOG"
cp "$PKI/server.crt" "$LIVE/server.crt"
head -c 100 "$PKI/server.key" >"$LIVE/server.key"
check "half-written key: the reload fails, naming the key" \
	wait_log_since_mark "$LOG" "reload failed, still serving the previous configuration: $T/rc.conf:[0-9]+: \[srv\] (key|cert) $LIVE/server"
check "half-written key: the old certificate still serves" test "$(subject "$S")" = "CN = wrong.example"
mark_log "$LOG"
cat "$PKI/server.key" >"$LIVE/server.key"
check "whole key: reloaded" wait_log_since_mark "$LOG" 'reloadOnChange: configuration reloaded'
check "whole key: the new certificate serves" test "$(subject "$S")" = "CN = localhost"

# 4. the configuration file itself, edited by renaming (sed -i): [k8s] takes another certificate (a new
# service on a new port would be refused by the sandbox, test_sandbox.sh)
mark_log "$LOG"
KC=$PKI/server.crt KK=$PKI/server.key write_conf yes
cp "$T/rc.conf" "$T/rc.conf.tmp"
sed -i 's/^foreground = yes$/foreground = yes/' "$T/rc.conf.tmp"
mv "$T/rc.conf.tmp" "$T/rc.conf"
check "config edit: reloaded" wait_log_since_mark "$LOG" 'reloadOnChange: configuration reloaded \(3 services'
check "config edit: [k8s] presents the certificate the edit names" test "$(subject "$K")" = "CN = localhost"

# 5. reloadOnChange = no (a reload turns it off): changes are no longer acted on
mark_log "$LOG"
write_conf no
kill -HUP "$TLSWRAP_PID"
check "off: SIGHUP reloads" wait_log_since_mark "$LOG" 'SIGHUP: configuration reloaded'
check "off: the watches are dropped" wait_log_since_mark "$LOG" 'reloadOnChange is off'
mark_log "$LOG"
cp "$PKI/wrong.crt" "$LIVE/server.crt.new" && mv "$LIVE/server.crt.new" "$LIVE/server.crt"
cp "$PKI/wrong.key" "$LIVE/server.key.new" && mv "$LIVE/server.key.new" "$LIVE/server.key"
sleep 3.5 # the quiet time (2 s) and some: a reload would have started by now
check "off: a renewed certificate is not loaded" eval "! since_mark '$LOG' 'reload'"
check "off: the old certificate still serves" test "$(subject "$S")" = "CN = localhost"
stop_checked "$LOG"

# 6. without the option (the default) nothing is watched
sed -i '/^reloadOnChange/d' "$T/rc.conf"
sed -i "s/:$S\$/:$X/" "$T/rc.conf"
start_tlswrap "$T/rc.conf" || { not_ok "tlswrap starts without reloadOnChange"; finish; }
check "default: nothing is watched" eval "! has '$T/rc.conf.log' 'reloadOnChange'"
mark_log "$LOG"
cp "$PKI/server.crt" "$LIVE/server.crt.new" && mv "$LIVE/server.crt.new" "$LIVE/server.crt"
cp "$PKI/server.key" "$LIVE/server.key.new" && mv "$LIVE/server.key.new" "$LIVE/server.key"
sleep 3.5
check "default: a renewed certificate is not loaded" eval "! since_mark '$LOG' 'reload'"
check "default: the old certificate still serves" test "$(subject "$X")" = "CN = wrong.example"
stop_checked "$LOG"
finish
