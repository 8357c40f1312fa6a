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
cp "$T/rc.conf" "$T/rc.conf.tmp"
sed -i "s|^cert = $K8S/tls.crt\$|cert = $PKI/server.crt|; s|^key = $K8S/tls.key\$|key = $PKI/server.key|" "$T/rc.conf.tmp"
check "config edit: the edited copy names the other certificate" has "$T/rc.conf.tmp" "^cert = $PKI/server.crt\$"
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

# 6. without the option (the default) nothing is watched (a configuration and log of their own: nothing the
# first process may still write as it exits can be read as this one's)
mkdir -p "$T/c6"
sed -e '/^reloadOnChange/d' -e "s/:$S\$/:$X/" "$T/rc.conf" >"$T/c6/rc.conf"
LOG=$T/c6/rc.conf.log
start_tlswrap "$T/c6/rc.conf" || { not_ok "tlswrap starts without reloadOnChange"; finish; }
check "default: nothing is watched" eval "! has '$LOG' 'reloadOnChange'"
mark_log "$LOG"
cp "$PKI/server.crt" "$LIVE/server.crt.new" && mv "$LIVE/server.crt.new" "$LIVE/server.crt"
cp "$PKI/server.key" "$LIVE/server.key.new" && mv "$LIVE/server.key.new" "$LIVE/server.key"
sleep 3.5
check "default: a renewed certificate is not loaded" eval "! since_mark '$LOG' 'reload'"
check "default: the old certificate still serves" test "$(subject "$X")" = "CN = wrong.example"
stop_checked "$LOG"

# 7. a certificate directory deleted, then made again (the reload in between fails: the watch waits in its
# parent), and a chain of symbolic links a/cert.pem -> b/cert.pem -> c/one.crt with b's link re-pointed
# (sandbox = no: the sandbox keeps the directory it saw at start, 8.)
read -r G H <<<"$(free_ports 2)"
mkdir -p "$T/c7" "$T/g7/certs" "$T/ch/a" "$T/ch/b" "$T/ch/c"
cp "$PKI/server.crt" "$PKI/server.key" "$T/g7/certs/"
cp "$PKI/server.crt" "$T/ch/c/one.crt"; cp "$PKI/server.key" "$T/ch/c/one.key"
cp "$PKI/wrong.crt" "$T/ch/c/two.crt"; cp "$PKI/wrong.key" "$T/ch/c/two.key"
ln -s ../c/one.crt "$T/ch/b/cert.pem"; ln -s ../b/cert.pem "$T/ch/a/cert.pem"
ln -s ../c/one.key "$T/ch/b/key.pem"; ln -s ../b/key.pem "$T/ch/a/key.pem"
cat >"$T/c7/rc.conf" <<CONF
foreground = yes
reloadOnChange = yes
sandbox = ${SB7:-no}
[gone]
accept = 127.0.0.1:$G
connect = 127.0.0.1:$E
cert = $T/g7/certs/server.crt
key = $T/g7/certs/server.key
[chain]
accept = 127.0.0.1:$H
connect = 127.0.0.1:$E
cert = $T/ch/a/cert.pem
key = $T/ch/a/key.pem
CONF
LOG=$T/c7/rc.conf.log
start_tlswrap "$T/c7/rc.conf" || { not_ok "tlswrap starts (sandbox = no)"; finish; }
mark_log "$LOG"
rm -rf "$T/g7/certs"
check "directory deleted: the reload fails, naming the certificate" wait_log_since_mark "$LOG" "reload failed, still serving the previous configuration: .*\[gone\] cert $T/g7/certs/server.crt"
mark_log "$LOG"
mkdir "$T/g7/certs"
cp "$PKI/wrong.crt" "$PKI/wrong.key" "$T/g7/certs/"
mv "$T/g7/certs/wrong.key" "$T/g7/certs/server.key"; mv "$T/g7/certs/wrong.crt" "$T/g7/certs/server.crt"
check "directory made again: reloaded" wait_log_since_mark "$LOG" 'reloadOnChange: configuration reloaded'
check "directory made again: the new certificate serves" test "$(subject "$G")" = "CN = wrong.example"
mark_log "$LOG"
ln -s ../c/two.key "$T/ch/b/.key.new"; mv -T "$T/ch/b/.key.new" "$T/ch/b/key.pem"
ln -s ../c/two.crt "$T/ch/b/.cert.new"; mv -T "$T/ch/b/.cert.new" "$T/ch/b/cert.pem"
check "link chain: the middle link re-pointed is noticed" wait_log_since_mark "$LOG" "reloadOnChange: $T/ch/b/(cert|key)\.pem changed"
check "link chain: reloaded" wait_log_since_mark "$LOG" 'reloadOnChange: configuration reloaded'
check "link chain: the certificate it now leads to serves" test "$(subject "$H")" = "CN = wrong.example"
stop_checked "$LOG"

# 8. the same with the sandbox (the default): the directory made again is not the one Landlock allows; the
# reload says so and the old certificate serves on
rm -rf "$T/g7/certs"; mkdir -p "$T/g7/certs"
cp "$PKI/server.crt" "$PKI/server.key" "$T/g7/certs/"
sed -i '/^sandbox = /d' "$T/c7/rc.conf"
start_tlswrap "$T/c7/rc.conf" || { not_ok "tlswrap starts (sandbox = yes)"; finish; }
if has "$LOG" 'sandbox: Landlock ABI [0-9]+: filesystem read-only'; then
	mark_log "$LOG"
	rm -rf "$T/g7/certs"
	check "sandbox: directory deleted: the reload fails" wait_log_since_mark "$LOG" "reload failed, still serving the previous configuration: .*\[gone\] cert $T/g7/certs/server.crt"
	mark_log "$LOG"
	mkdir "$T/g7/certs"
	cp "$PKI/wrong.crt" "$PKI/wrong.key" "$T/g7/certs/"
	mv "$T/g7/certs/wrong.key" "$T/g7/certs/server.key"; mv "$T/g7/certs/wrong.crt" "$T/g7/certs/server.crt"
	check "sandbox: directory made again: noticed, and the reload says the sandbox keeps the old one" wait_log_since_mark "$LOG" \
		"reload failed, still serving the previous configuration: $T/c7/rc.conf:[0-9]+: \[gone\] cert $T/g7/certs/server.crt: directory $T/g7/certs was replaced since start; the sandbox \(sandbox = yes\) keeps the one it saw: restart tlswrap to use the new one"
	check "sandbox: the old certificate serves on" test "$(subject "$G")" = "CN = localhost"
	mark_log "$LOG"
	cp "$PKI/wrong.crt" "$T/g7/certs/.new.crt"; mv "$T/g7/certs/.new.crt" "$T/g7/certs/server.crt"
	check "sandbox: the directory made again is watched (Landlock does not mediate inotify)" \
		wait_log_since_mark "$LOG" "reloadOnChange: $T/g7/certs/server.crt changed"
else
	echo "# the kernel offers no Landlock: 8. skipped"
fi
stop_checked "$LOG"
finish
