#!/usr/bin/env bash
# The drop-in corpus (tests/dropin/, see its README): stunnel.conf files in the shapes real deployments
# use. Each file gets a test PKI, a run directory and run-time ports; 01-30 must pass --check (or be
# refused for the deliberate reason listed below), 9x must be refused, in one line with file:line, with
# the reason their first line names. Every file that passed is started for real (all at once, -f), must
# log "started" (or, when its debug level or syslog hides that, write its pid file and listen) and no
# ERROR, and must stop on SIGTERM with status 0, removing its pid file; the inetd-mode files are run by
# a small inetd. The redis pair, both PSK pairs, the include directory, the failover pool, the mTLS
# pair with its CRLs and a few more carry traffic. Check names start with the file's name or number.
. "$(dirname "$0")/lib.sh"
DROPIN=$TESTS_SRCDIR/dropin
[ -d "$DROPIN" ] || skip_all "no $DROPIN"
# pyenv-style shims cost ~0.3 s per python3 start and the helpers start many: use the interpreter directly
PATH=$(dirname "$(python3 -c 'import sys; print(sys.executable)')"):$PATH
SAN=${TLSWRAP_SANITIZED:+1}
STOP_S=${SAN:+10}; STOP_S=${STOP_S:-5} # how long a SIGTERM may take
START_S=${SAN:+40}; START_S=${START_S:-20} # ~25 processes start at once on 2 cores
ROOT=; [ "$(id -u)" -eq 0 ] && ROOT=1
phase() { echo "# ${SECONDS}s: $*"; }

# Refusals that stay on purpose (features not implemented): NN-name.conf -> the message after FILE:
declare -A DELIBERATE=(
	[06-postgres-client-pgsql.conf]='7: protocol = pgsql is not implemented yet'
	[17-socks-vpn-pair.conf]='7: protocol = socks is not implemented yet'
)

# ---- the PKI the files name under @PKI@: an RSA and an EC server certificate (localhost, 127.0.0.1 and
# the names 28 uses for SNI), a client certificate and a revoked one, all from one test CA; server.pem
# (cert + key), server-chain.crt, a CRL as a file and in a hashed directory, a hashed CA directory, psk.txt
PKI=$T/pki
mkdir -p "$PKI/crldir" "$PKI/capath" "$PKI/db"
(
	set -e
	cd "$PKI"
	ec() { openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "$@" 2>/dev/null; }
	ec -x509 -keyout ca.key -out ca.crt -days 365 -subj "/CN=tlswrap dropin test CA" \
		-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
	cat >ext.cnf <<-'EOF'
	[srv]
	basicConstraints = CA:FALSE
	keyUsage = critical,digitalSignature,keyEncipherment
	extendedKeyUsage = serverAuth
	subjectAltName = DNS:localhost,DNS:server.test,DNS:*.internal.test,IP:127.0.0.1
	[cli]
	basicConstraints = CA:FALSE
	keyUsage = critical,digitalSignature
	extendedKeyUsage = clientAuth
	EOF
	sign() { openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 365 \
		-extfile ext.cnf -extensions "$2" -out "$1.crt" 2>/dev/null; }
	openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=localhost 2>/dev/null
	sign server srv
	ec -keyout server-ec.key -out server-ec.csr -subj /CN=localhost
	sign server-ec srv
	ec -keyout client.key -out client.csr -subj "/CN=client/O=tlswrap tests"
	sign client cli
	ec -keyout revoked.key -out revoked.csr -subj "/CN=revoked/O=tlswrap tests"
	sign revoked cli
	(umask 077 && cat server.crt server.key >server.pem)
	cat server.crt ca.crt >server-chain.crt
	printf '[ca]\ndefault_ca = d\n[d]\ndatabase = db/index.txt\ncrlnumber = db/crlnumber\ndefault_md = sha256\ndefault_crl_days = 365\n' >ca.cnf
	: >db/index.txt
	echo 01 >db/crlnumber
	openssl ca -config ca.cnf -keyfile ca.key -cert ca.crt -revoke revoked.crt 2>/dev/null
	openssl ca -config ca.cnf -keyfile ca.key -cert ca.crt -gencrl -out crl.pem 2>/dev/null
	cp crl.pem crldir/
	ln -s crl.pem "crldir/$(openssl crl -hash -noout -in crl.pem).r0"
	cp ca.crt capath/
	ln -s ca.crt "capath/$(openssl x509 -hash -noout -in ca.crt).0"
	(umask 077 && printf 'id:%s\n' "$(openssl rand -hex 16)" >psk.txt)
) || { not_ok "test PKI generated"; finish; }

# ---- @RUN@: logs, pid files, sockets, the chroot jail, conf.d (21's include directory)
RUN=$T/run
mkdir -p "$RUN/jail" "$RUN/conf.d" "$T/conf"
if [ -n "$ROOT" ]; then
	# the files drop to nobody: like /run/stunnel4 and /var/lib/stunnel4, the run directory and the jail
	# belong to that user (so the pid files can be removed at exit), and $T must be searchable
	chmod 755 "$T"
	chown nobody "$RUN" "$RUN/jail"
fi

# ---- ports: every number 30000-30999 in the corpus becomes one port chosen now, the same in every file
# (14, 15 and 16 are one VPN), except that two clients are pointed at servers of the corpus: 01's TLS
# Redis provider is 02's terminator (the redis pair), and 20's first rsync server is 19
declare -A PORT=([30002]=30010 [30201]=30190)
mapfile -t nums < <(cat "$DROPIN"/*.conf "$DROPIN"/include.d/*.conf | grep -oE '\b30[0-9]{3}\b' | sort -u)
fresh=()
for n in "${nums[@]}"; do [ -n "${PORT[$n]:-}" ] || fresh+=("$n"); done
read -r -a got <<<"$(free_ports ${#fresh[@]})"
[ ${#got[@]} -eq ${#fresh[@]} ] || { not_ok "ports chosen"; finish; }
for i in "${!fresh[@]}"; do PORT[${fresh[$i]}]=${got[$i]}; done
for n in "${!PORT[@]}"; do
	v=${PORT[$n]}
	[ "$v" -ge 30000 ] && [ "$v" -le 30999 ] && v=${PORT[$v]}
	PORT[$n]=$v
	echo "s/\\b$n\\b/$v/g"
done >"$T/ports.sed"
p() { echo "${PORT[$1]}"; } # p 30001: the port that stands for 30001

# ---- instantiate: conf/NN-*.conf and run/conf.d/*.conf
inst() { sed -e "s#@PKI@#$PKI#g" -e "s#@RUN@#$RUN#g" -f "$T/ports.sed" "$1" >"$2"; }
for f in "$DROPIN"/include.d/*.conf; do inst "$f" "$RUN/conf.d/${f##*/}"; done
FILES=()
for f in "$DROPIN"/*.conf; do
	inst "$f" "$T/conf/${f##*/}"
	FILES+=("${f##*/}")
done
check "the corpus: 30 patterns and 5 refusals" test ${#FILES[@]} -ge 35
# pppd: check the files as they are when it is installed, but never run it (as root it would configure
# PPP interfaces): /bin/cat stands in, on the pty tlswrap gives it
PPPD_FILES=$(grep -l '^exec = /usr/sbin/pppd' "$T"/conf/*.conf)
no_pppd() {
	local f
	for f in $PPPD_FILES; do sed -i -e 's#^exec = /usr/sbin/pppd$#exec = /bin/cat#' -e 's#^execArgs = pppd.*#execArgs = cat#' "$f"; done
}
[ -x /usr/sbin/pppd ] || no_pppd

# ---- --check: one line of verdict per file
phase "--check"
declare -A OKAY INETD
for b in "${FILES[@]}"; do
	conf=$T/conf/$b n=${b%%-*}
	out=$(timeout 20 "$TLSWRAP" --check "$conf" 2>&1 </dev/null)
	rc=$?
	want=
	if [ "$n" -ge 90 ]; then
		want=$(sed -n '1s/.*Expected: "FILE:\([^"]*\)".*/\1/p' "$conf")
		[ -n "$want" ] || { not_ok "$b: its first line names the expected refusal (Expected: \"FILE:...\")"; continue; }
	elif [ -n "${DELIBERATE[$b]:-}" ]; then
		want=${DELIBERATE[$b]}
	fi
	if [ -n "$want" ]; then
		if [ "$rc" -eq 1 ] && [ "$(wc -l <<<"$out")" -eq 1 ] && [[ "$out" == "tlswrap: $conf:$want"* ]]; then
			ok "$b: --check refuses it: $want"
		else
			not_ok "$b: --check should refuse with 'FILE:$want' in one line, exit 1; exit $rc, said: $out"
		fi
		# and starting it is refused the same way, leaving nothing behind
		out=$(timeout 20 "$TLSWRAP" -f "$conf" 2>&1 </dev/null)
		rc=$?
		if [ "$rc" -eq 1 ] && [ "$(wc -l <<<"$out")" -eq 1 ] && [[ "$out" == "tlswrap: $conf:$want"* ]]; then
			ok "$b: -f refuses it the same way"
		else
			not_ok "$b: -f should refuse with 'FILE:$want' in one line, exit 1; exit $rc, said: $out"
		fi
		continue
	fi
	if [ "$rc" -eq 0 ] && grep -Eq "^$conf: OK \\([0-9]+ services?(, inetd mode)?\\)\$" <<<"$out"; then
		ok "$b: --check OK"
		OKAY[$b]=1
		grep -q 'inetd mode)$' <<<"$out" && INETD[$b]=1
	else
		not_ok "$b: --check should say OK; exit $rc, said: $out"
	fi
done
[ -x /usr/sbin/pppd ] && no_pppd
if [ -z "$ROOT" ]; then
	# not root: the privilege drop cannot happen, the rest of these files can still run
	echo "# not root: the files run without their setuid/setgid lines"
	sed -i -E 's/^(setuid|setgid) *=/; not root: &/' "$T"/conf/*.conf
fi

phase "peers"
# ---- peers: plaintext echo backends (redis and the others), TLS echo servers (the include directory's
# ingest points, the pool's second backend), a Unix-socket backend (08)
for n in 30011 30031 30041 30191 30271 30282; do bg python3 "$TESTS_SRCDIR/integration/echo_server.py" "$(p $n)"; done
for n in 30211 30213 30222; do
	bg python3 "$TESTS_SRCDIR/integration/tls_client.py" sniserver "$(p $n)" "$PKI/server.crt" "$PKI/server.key" "$T/sni-$n.txt"
done
bg python3 -c "
import os, socket, sys, threading
def handle(c):
    with c:
        while data := c.recv(65536):
            c.sendall(data)
srv = socket.socket(socket.AF_UNIX)
srv.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o777)
srv.listen()
while True:
    threading.Thread(target=handle, args=(srv.accept()[0],), daemon=True).start()
" "$RUN/mysqld.sock"
# inetd NN-name.conf PORT: a minimal inetd; each connection to PORT runs tlswrap on the file with the
# socket as stdin, stdout and stderr, and its exit status is printed to ${INETD_OUT[NN-name.conf]}
# (SIGTERM to it ends them); returns when it listens. A sanitizer writes to $T/san-inetd.PID: stderr is
# the client's socket there.
declare -A INETD_OUT
inetd() {
	local b=$1 port=$2
	bg env ${SAN:+ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$T/san-inetd} \
		${SAN:+UBSAN_OPTIONS=${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$T/san-inetd} python3 -c "
import signal, socket, subprocess, sys, threading
kids = []
def stop(*_):
    for k in kids:
        k.kill()
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
srv = socket.create_server(('127.0.0.1', $port))
print('listening', flush=True)
while True:
    c, _ = srv.accept()
    kids.append(subprocess.Popen(sys.argv[1:], stdin=c, stdout=c, stderr=c))
    c.close()
    threading.Thread(target=lambda k: print('exit', k.wait(), flush=True), args=(kids[-1],), daemon=True).start()
" "$TLSWRAP" "$T/conf/$b"
	INETD_OUT[$b]=$T/bg$((${#PIDS[@]} - 1)).out
	wait_log "${INETD_OUT[$b]}" '^listening$'
}

# ---- start every file that passed, all at once (14 first: 15 and 16 dial it)
conf_global() { # conf_global FILE NAME: the value of a global option (before the first section)
	awk -v k="$2" 'tolower($0) ~ /^[ \t]*\[/ {exit} { l = $0; sub(/^[ \t]+/, "", l) }
		tolower(l) ~ "^" tolower(k) "[ \t]*=" { sub(/^[^=]*=[ \t]*/, "", l); sub(/[ \t\r]+$/, "", l); v = l } END { print v }' "$1"
}
level_of() { # level_of FILE: the file's debug level as a number (notice when not given)
	local v
	v=$(conf_global "$1" debug)
	v=${v##*.}
	case "${v,,}" in
	"") echo 5 ;; [0-7]) echo "$v" ;; emerg) echo 0 ;; alert) echo 1 ;; crit) echo 2 ;; err | error) echo 3 ;;
	warning | warn) echo 4 ;; notice) echo 5 ;; info) echo 6 ;; debug) echo 7 ;; *) echo 5 ;;
	esac
}
declare -A PID LOG PIDFILE LEVEL
STARTED=()
start() { # start NN-name.conf
	local b=$1 conf=$T/conf/$1 out
	out=$(conf_global "$conf" output)
	case "$out" in
	/dev/stdout | /dev/stderr) LOG[$b]=$conf.out ;;
	"") if [ "$(conf_global "$conf" syslog)" = yes ]; then LOG[$b]=; else LOG[$b]=$conf.out; fi ;;
	*) LOG[$b]=$out ;;
	esac
	PIDFILE[$b]=$(conf_global "$conf" pid)
	LEVEL[$b]=$(level_of "$conf")
	if [ -n "$SAN" ] && grep -q '^chroot *=' "$conf"; then
		# LeakSanitizer reads /proc at exit, which the jail has not
		ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 "$TLSWRAP" -f "$conf" >"$conf.out" 2>&1 </dev/null &
	else
		"$TLSWRAP" -f "$conf" >"$conf.out" 2>&1 </dev/null &
	fi
	PID[$b]=$!
	PIDS+=("$!")
	STARTED+=("$b")
}
runnable() { # runnable NN-name.conf: passed --check, not inetd, and the machine has what it needs
	local conf=$T/conf/$1 g
	[ -n "${OKAY[$1]:-}" ] && [ -z "${INETD[$1]:-}" ] || return 1
	if grep -q '^chroot *=' "$conf" && [ -z "$ROOT" ]; then
		echo "# SKIP running $1: chroot needs root"
		return 1
	fi
	g=$(conf_global "$conf" setgid)
	if [ -n "$g" ] && ! getent group "$g" >/dev/null; then
		echo "# SKIP running $1: no group $g on this machine"
		return 1
	fi
	return 0
}
listening() { # listening PORT: a TCP listener on it (read from /proc: connecting would make a client dial out)
	awk -v p=":$(printf '%04X' "$1")" '$4 == "0A" && substr($2, length($2) - 4) == p { f = 1 } END { exit !f }' \
		/proc/net/tcp /proc/net/tcp6 2>/dev/null
}
quiet_ready() { # quiet_ready NN-name.conf: alive, its pid file written, its TCP accept ports listening
	local b=$1 port
	kill -0 "${PID[$b]}" 2>/dev/null || return 2
	[ -z "${PIDFILE[$b]}" ] || [ -s "${PIDFILE[$b]}" ] || return 1
	for port in $(sed -n 's/^accept *= *\([^/].*:\)\{0,1\}\([0-9][0-9]*\)$/\2/p' "$T/conf/$b"); do
		listening "$port" || return 1
	done
}
started() { # started NN-name.conf
	local b=$1 t0=$SECONDS rc
	if [ -n "${LOG[$b]}" ] && [ "${LEVEL[$b]}" -ge 5 ]; then
		wait_log "${LOG[$b]}" ' started, pid [0-9]+$' "$START_S"
		return
	fi
	# debug below notice, or syslog only: the log cannot say it
	while [ $((SECONDS - t0)) -le "$START_S" ]; do
		quiet_ready "$b"
		rc=$?
		[ $rc -eq 0 ] && return 0
		[ $rc -eq 2 ] && { echo "# $b exited:" >&2; cat "$T/conf/$b.out" >&2; return 1; }
		sleep 0.05
	done
	return 1
}
check_started() {
	local b=$1
	if [ -z "${LOG[$b]}" ]; then
		check "$b: started (it logs to syslog only: pid file written, ports listening)" started "$b"
	elif [ "${LEVEL[$b]}" -lt 5 ]; then
		check "$b: started (debug = $(conf_global "$T/conf/$b" debug) hides the notice: pid file written, ports listening)" started "$b"
	else
		check "$b: started" started "$b"
	fi
}
phase "starting"
# a test that ends early must not wait for draining tlswrap processes
trap 'for p in "${PID[@]}"; do kill -KILL "$p" 2>/dev/null; done; cleanup' EXIT
declare -A FIRST
for b in "${FILES[@]}"; do
	if grep -q '^exec = ' "$T/conf/$b" && ! grep -q '^client = yes' "$T/conf/$b" && runnable "$b"; then
		start "$b"
		FIRST[$b]=1
		check_started "$b"
	fi
done
for b in "${FILES[@]}"; do
	[ -z "${FIRST[$b]:-}" ] && runnable "$b" && start "$b"
done
for b in "${STARTED[@]}"; do
	[ -n "${FIRST[$b]:-}" ] || check_started "$b"
done

# ---- traffic
phase "traffic"
is_started() { [ -n "${PID[$1]:-}" ]; }
fails() { ! "$@" 2>/dev/null; }
line() { python3 "$TESTS_SRCDIR/integration/tls_client.py" line "$1" >/dev/null; }
tls() { python3 "$TESTS_SRCDIR/integration/tls_client.py" tls "$1" "$PKI/ca.crt" >/dev/null; }
if is_started 01-redis-client-managed.conf && is_started 02-redis-server-container.conf; then
	check "01+02: redis client -> TLS -> redis terminator -> redis (echo)" line "$(p 30001)"
	check "01: verified the terminator (chain and host name)" \
		grep -q "\\[redis-primary\\].*established TLSv1\\.3 .* to 127\\.0\\.0\\.1:$(p 30010) .*rule=\"verifyChain\"" "$RUN/redis-client.log"
fi
if is_started 04-psk-client-server-pair.conf; then
	check "04: PSK client -> PSK server -> backend (echo)" line "$(p 30032)"
	check "04: the server knew the client by its PSK identity" \
		grep -q '\[beanstalk-server\].*established .*rule="PSK identity=id"' "$T/conf/04-psk-client-server-pair.conf.out"
fi
if is_started 05-psk-tls13-pair.conf; then
	check "05: TLS 1.3 PSK client -> server -> backend (echo)" line "$(p 30042)"
	check "05: the pair used TLS 1.3 with TLS_AES_128_GCM_SHA256 and the PSK" \
		grep -Eq '\[psk13-server\].*established TLSv1\.3 TLS1-3-AES-128-GCM-SHA256 .*PSK identity=id' "$T/conf/05-psk-tls13-pair.conf.out"
fi
is_started 08-mysql-unix-socket-backend.conf && check "08: TLS client -> Unix-socket backend (echo)" tls "$(p 30070)"
if is_started 21-include-dir-main.conf; then
	check "21: include.d/10-rtmps-live.conf carries traffic (unverified ingest)" line "$(p 30210)"
	check "21: include.d/20-rtmps-backup.conf carries traffic (verified with CApath)" line "$(p 30212)"
	check "21: ... and verified its ingest" grep -q "\\[rtmps-backup\\].*established .*rule=\"verifyChain\"" "$RUN/include-main.log"
fi
if is_started 22-delay-failover-pool.conf; then
	check "22: first backend down, second up: failover = prio reaches the second" line "$(p 30220)"
	check "22: ... the connection went to the second backend" \
		grep -q "\\[api-pool\\].*established .* to 127\\.0\\.0\\.1:$(p 30222) " "$T/conf/22-delay-failover-pool.conf.out"
fi
if is_started 19-mtls-server-crlfile.conf; then
	mtls() { # mtls NAME: a TLS client with PKI/NAME.crt to 19; the line comes back or the exit status is 1
		python3 - "$(p 30190)" "$PKI" "$1" <<-'PY'
		import socket, ssl, sys
		port, pki, name = int(sys.argv[1]), sys.argv[2], sys.argv[3]
		ctx = ssl.create_default_context(cafile=pki + "/ca.crt")
		ctx.load_cert_chain(f"{pki}/{name}.crt", f"{pki}/{name}.key")
		data = b""
		try:
		    with ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10), server_hostname="localhost") as s:
		        s.sendall(b"rsync\n")
		        while not data.endswith(b"\n") and (chunk := s.recv(100)):
		            data += chunk
		except (OSError, ssl.SSLError) as e:
		    print(e, file=sys.stderr)
		sys.exit(data != b"rsync\n")
		PY
	}
	check "19: a client certificate from the CA gets through (verify = 2)" mtls client
	check "19: a revoked client certificate is refused (CRLfile)" fails mtls revoked
	check "19: ... because it is on the CRL" grep -q '\[rsync-mtls\].*closed (TLS handshake failed: .*revoked' "$T/conf/19-mtls-server-crlfile.conf.out"
	is_started 20-mtls-client-crlpath-failover.conf &&
		check "20+19: the SIMP client (client cert, CRLpath, failover = rr) reaches 19 and its backend" line "$(p 30200)"
fi
is_started 27-openssl-cipher-expressions.conf &&
	check "27: client (AESGCM:CHACHA20:!aNULL:!RSA:!PSK) -> server (HIGH:-SSLv2) -> backend" line "$(p 30272)"
if is_started 28-sni-virtual-hosts.conf; then
	check "28: SNI server.test reaches [app-one] and its backend" line "$(p 30284)"
	check "28: ... routed by SNI" grep -q '\[virtual\].*established .*sni=server\.test route=\[app-one\]' "$T/conf/28-sni-virtual-hosts.conf.out"
fi
if is_started 14-vpn-pppd-server-exec-pty.conf && is_started 15-vpn-pppd-client-exec-retry.conf; then
	check "15: the VPN client dialled the VPN server (14) at start and verified it" \
		wait_log "$T/conf/15-vpn-pppd-client-exec-retry.conf.out" '\[vpn-uplink\].*established TLSv1\.3 .*rule="verifyChain"' "$START_S"
fi
# the inetd files: 30 serves a TLS client through exec; 16 is pppd's TLS link to 14 (exec on a pty there)
if [ -n "${OKAY[30-inetd-mode-exec.conf]:-}" ]; then
	I30=$(free_port)
	inetd 30-inetd-mode-exec.conf "$I30"
	check "30: inetd mode: a TLS client is served by exec = /bin/cat" tls "$I30"
	check "30: ... logged to its output file" wait_log "$RUN/inetd.log" 'established TLSv1\.3'
fi
if [ -n "${OKAY[16-vpn-inetd-client-for-pppd-pty.conf]:-}" ] && is_started 14-vpn-pppd-server-exec-pty.conf; then
	I16=$(free_port)
	inetd 16-vpn-inetd-client-for-pppd-pty.conf "$I16"
	# the program on 14's pty is cat on a terminal in its default mode: the line comes back (echoed twice)
	check "16: inetd client mode: plaintext on stdin -> TLS -> 14 -> its program on a pty, and back" python3 -c "
import socket, sys, time
s = socket.create_connection(('127.0.0.1', $I16), timeout=10)
s.sendall(b'hello vpn\n')
data, end = b'', time.time() + 10
while b'hello vpn' not in data and time.time() < end:
    chunk = s.recv(100)
    if not chunk:
        break
    data += chunk
sys.exit(b'hello vpn' not in data)"
	check "16: ... verified 14 (verify = 2)" wait_log "$RUN/vpn-inetd.log" 'established TLSv1\.3 .*rule="verifyChain"'
	# stunnel closes an exec'd program's pty when its TLS peer closes; so must tlswrap (or every VPN
	# client that disconnects leaves its pppd and its session behind)
	check "14: the session of the client that closed ends too (its pty program is hung up)" \
		wait_log "$T/conf/14-vpn-pppd-server-exec-pty.conf.out" '\[vpn\] #[0-9]+ .*closed' 5
fi

# ---- stop: SIGTERM, in the reverse order (the clients before the servers they dial)
# 15's link to 14 is meant to last: SIGTERM waits for it to finish (TIMEOUTclose) and, as documented,
# a second SIGTERM exits now
phase "stopping"
declare -A LINKED=([15-vpn-pppd-client-exec-retry.conf]=1)
gone() { local s; s=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null); [ -z "$s" ] || [ "$s" = Z ]; }
wait_gone() { local t0=$SECONDS; while ! gone "$1" && [ $((SECONDS - t0)) -lt "$2" ]; do sleep 0.02; done; gone "$1"; }
log_levels_ok() { # log_levels_ok LOG LEVEL: no line above LEVEL, none at ERROR or worse
	awk -v max="$2" 'BEGIN { split("EMERG ALERT CRIT ERROR WARN NOTICE INFO DEBUG", n); for (i in n) r[n[i]] = i - 1 }
		$1 ~ /^[0-9]{4}-[0-9][0-9]-[0-9][0-9]T/ && ($2 in r) && (r[$2] > max || r[$2] <= 3) { print; bad = 1 }
		END { exit bad }' "$1" >&2
}
for ((i = ${#STARTED[@]} - 1; i >= 0; i--)); do
	b=${STARTED[$i]}
	pid=${PID[$b]} conf=$T/conf/$b log=${LOG[$b]} pidfile=${PIDFILE[$b]}
	[ -n "$pidfile" ] && check "$b: its pid file holds its pid" test "$(cat "$pidfile" 2>/dev/null)" = "$pid"
	kill -TERM "$pid" 2>/dev/null
	if [ -n "${LINKED[$b]:-}" ] && [ -n "$log" ]; then
		t0=$SECONDS
		until gone "$pid" || grep -q 'waiting up to [0-9]*s for 1 connections' "$log" || [ $((SECONDS - t0)) -gt "$STOP_S" ]; do
			sleep 0.02
		done
		kill -TERM "$pid" 2>/dev/null
	fi
	if wait_gone "$pid" "$STOP_S"; then
		wait "$pid"
		rc=$?
		check "$b: SIGTERM: exits with status 0 (got $rc)" test "$rc" -eq 0
	else
		not_ok "$b: SIGTERM: still running after ${STOP_S}s: $(tail -n 1 "${log:-$conf.out}")"
		kill -TERM "$pid" 2>/dev/null # again: exit now
		wait_gone "$pid" "$STOP_S" || kill -KILL "$pid" 2>/dev/null
		wait "$pid"
	fi
	[ -n "$pidfile" ] && check "$b: its pid file is removed" test ! -e "$pidfile"
	for s in $(sed -n 's/^accept *= *\(\/.*\)$/\1/p' "$conf"); do
		check "$b: its Unix socket $s is removed" test ! -e "$s"
	done
	if [ -n "$log" ]; then
		check "$b: logged no ERROR (nor anything above debug = ${LEVEL[$b]})" log_levels_ok "$log" "${LEVEL[$b]}"
		[ "${LEVEL[$b]}" -ge 5 ] && check "$b: logged its stop" grep -q ' tlswrap stopped$' "$log"
	fi
	if [ "$log" != "$conf.out" ]; then
		check "$b: wrote nothing to stderr (its log goes to ${log:-syslog})" bash -c "! grep . '$conf.out' >&2"
	elif [ -n "$SAN" ]; then
		check "$b: no sanitizer report" bash -c "! grep -E 'runtime error|Sanitizer' '$conf.out' >&2"
	fi
done
# the inetd-mode processes (one connection each) end with their connections, with status 0
for b in "${!INETD_OUT[@]}"; do
	check "$b: the inetd-mode process exited when its connection ended" eventually grep -q '^exit ' "${INETD_OUT[$b]}"
	check "$b: ... with status 0" test "$(grep '^exit ' "${INETD_OUT[$b]}")" = "exit 0"
	l=$(conf_global "$T/conf/$b" output)
	check "$b: logged no ERROR (nor anything above its debug level)" log_levels_ok "$l" "$(level_of "$T/conf/$b")"
done
[ -n "$SAN" ] && check "16, 30: no sanitizer report from the inetd-mode processes" \
	bash -c "! cat '$T'/san-inetd.* 2>/dev/null | grep . >&2"
finish
