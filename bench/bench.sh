#!/usr/bin/env bash
# bench/bench.sh: tlswrap and stunnel side by side, with the same certificates, TLS version, cipher suite and
# backend. This is a benchmark, not a test: it prints figures and ratios, and fails only when it cannot measure.
#
#   bash bench/bench.sh           full run (about 5 minutes)
#   bash bench/bench.sh --quick   smoke run (about 2 minutes): short durations, N=200 idle connections
#
# Environment: TLSWRAP (default: build/src/tlswrap of this tree), STUNNEL (default: stunnel4), KEEP=1 keeps the
# temp dir (configs, logs). The table goes to stdout and, as Markdown, to bench/out/latest.md.
#
# Three contenders, each run the same way: tlswrap as configured by default (workers = auto: one event loop per
# online CPU), tlswrap with `workers = 1` (the single event loop it had before), and stunnel with its default
# thread per connection. Ratios are default/stunnel and default/workers=1.
#
# What runs (all on 127.0.0.1, ports chosen at run time):
#   backend   nginx, daemon off, 1 worker, serving /small (64 bytes) and /big (100 MiB) from the temp dir
#   chain     one process of the tool with a client-mode service -> its own server-mode service -> nginx;
#             curl and wrk speak plain HTTP into the client-mode port
#   server    one process with a server-mode service only (-> nginx for handshakes, -> an idle backend for memory);
#             for resumption with client certificates the service has CAfile, verifyChain and requireCert
# Loads: wrk -t2 -c32 with "Connection: close" for full handshakes (through bench/wrk_new_session.c, which stops
# wrk from resuming), 4 curl downloads at once for bulk, wrk -c32 kept alive for small requests,
# bench/resume_load.py (8 processes) for resumed handshakes with a client certificate, and the single-client
# openssl s_time rows of earlier runs. TLS 1.3 with TLS_AES_128_GCM_SHA256 (mbedTLS: TLS1-3-AES-128-GCM-SHA256)
# except where a row says TLS 1.2, EC P-256 certificates, the client service verifying the chain and the host name
# (localhost) in both tools. Both tools log at notice to a file.
set -u -o pipefail

usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; }
QUICK=0
for arg in "$@"; do
	case $arg in
	--quick) QUICK=1 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "bench.sh: unknown argument '$arg'" >&2; usage >&2; exit 2 ;;
	esac
done

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/.." && pwd)
: "${TLSWRAP:=$TOP/build/src/tlswrap}"
: "${STUNNEL:=$(command -v stunnel4 || command -v stunnel || echo stunnel4)}"

if [ "$QUICK" = 1 ]; then
	BULK_RUNS=1 HS_SECS=3 WRK_SECS=3 RESUME_SECS=3 N_IDLE=200 MODE=quick
else
	BULK_RUNS=3 HS_SECS=10 WRK_SECS=10 RESUME_SECS=10 N_IDLE=1000 MODE=full
fi
WRK_CONNS=32     # concurrent connections of both wrk loads
BULK_PARALLEL=4  # concurrent downloads of /big in the parallel bulk row
RESUME_PROCS=8   # processes of resume_load.py, one connection at a time each
MEM_TARGET_KIB=43.3 # RSS per idle connection recorded before workers (BENCHMARKS.md, commit 1e600ae): not to grow
BIG_BYTES=$((100 * 1024 * 1024))
SUITE_MBEDTLS=TLS1-3-AES-128-GCM-SHA256
SUITE_OPENSSL=TLS_AES_128_GCM_SHA256

for tool in "$TLSWRAP" "$STUNNEL" nginx openssl curl wrk python3 ss timeout "${CC:=cc}"; do
	command -v "$tool" >/dev/null 2>&1 || { echo "bench.sh: '$tool' not found" >&2; exit 2; }
done

# ---------------------------------------------------------------- processes, ports, waiting
T=$(mktemp -d /tmp/tlswrap-bench.XXXXXX)
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	if [ -n "${KEEP:-}" ]; then echo "# kept $T" >&2; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start LOG CMD...: CMD in the background, its output in LOG; pid in $LAST_PID
start() {
	local log=$1; shift
	"$@" >"$log" 2>&1 &
	LAST_PID=$!
	PIDS+=("$LAST_PID")
}

# forget PID: the cleanup no longer needs to end it
forget() {
	local p keep=()
	for p in "${PIDS[@]}"; do [ "$p" != "$1" ] && keep+=("$p"); done
	PIDS=("${keep[@]}")
}

# stop PID: end one process we started and forget it
stop() {
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	forget "$1"
}

# finish PID: wait for one process we started to end by itself, then forget it
finish() {
	wait "$1" 2>/dev/null
	forget "$1"
}

# free_ports N: N distinct TCP ports nobody listens on right now (bound together, then released)
free_ports() {
	python3 -c '
import socket, sys
ss = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))' "$1"
}

# wait_listen PID PORT [SECONDS]: until PORT is in LISTEN state (no test connection), while PID lives
wait_listen() {
	local pid=$1 port=$2 deadline=$((SECONDS + ${3:-15}))
	while [ $SECONDS -le $deadline ]; do
		kill -0 "$pid" 2>/dev/null || { echo "# process $pid exited before listening on $port" >&2; return 1; }
		[ -n "$(ss -Hltn "sport = :$port" 2>/dev/null)" ] && return 0
		sleep 0.05
	done
	echo "# port $port never opened" >&2
	return 1
}

# established PORT: number of established TCP connections whose local port is PORT
established() { ss -Htn state established "( sport = :$1 )" 2>/dev/null | wc -l; }

# wait_file FILE SECONDS: until FILE exists and is not empty
wait_file() {
	local deadline=$((SECONDS + $2))
	while [ $SECONDS -le $deadline ]; do
		[ -s "$1" ] && return 0
		sleep 0.05
	done
	return 1
}

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
threads() { awk '/^Threads:/ { print $2 }' "/proc/$1/status"; }
# cpu_ticks PID: user+system clock ticks of the whole process (all threads); 0 once it is gone (alive says so)
cpu_ticks() { { sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null || echo; } | awk '{ print $12 + $13 }'; }
CLK_TCK=$(getconf CLK_TCK)
now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.${2:-1}f\", $1 }"; }

# mark, then spent: the tool's CPU seconds (CPU_S) and the wall seconds (WALL_S) between the two calls, and the
# tool's CPU use in percent of one core (UTIL). Every row's cost comes from these, so all are measured alike.
mark() { M_C0=$(cpu_ticks "$TOOL_PID") M_T0=$(now); }
spent() {
	local t1 c1
	t1=$(now) c1=$(cpu_ticks "$TOOL_PID")
	CPU_S=$(calc "($c1 - $M_C0) / $CLK_TCK" 3)
	WALL_S=$(calc "$t1 - $M_T0" 3)
	UTIL=$(calc "$CPU_S * 100 / $WALL_S" 0)
}

FAILED=0
warn() { echo "# $*" >&2; }
NOTES=()
note() { NOTES+=("$*"); echo "# $*" >&2; }
if [ "$TLSWRAP" -ef "$TOP/build/src/tlswrap" ] && ! make -s -C "$TOP/build/src" -q tlswrap >/dev/null 2>&1; then
	note "$TLSWRAP may be older than its sources (cd build && make -j2)"
fi

# ---------------------------------------------------------------- PKI, backend, helper scripts
echo "# temp dir $T ($MODE run)" >&2
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
chmod 711 "$T" # nginx's worker (nobody, when run as root) must reach $T/www
PKI=$T/pki
mkdir -p "$PKI" && chmod 700 "$PKI"
(
	cd "$PKI" || exit 1
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.crt -days 7 \
		-subj "/CN=tlswrap bench CA" 2>/dev/null &&
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key -out server.csr \
			-subj "/CN=localhost" 2>/dev/null &&
		printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >server.ext &&
		openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 7 \
			-extfile server.ext 2>/dev/null &&
		# the client certificate of the resumption rows, from the same CA the server-mode service trusts
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout client.key -out client.csr \
			-subj "/CN=tlswrap bench client" 2>/dev/null &&
		printf 'extendedKeyUsage=clientAuth\n' >client.ext &&
		openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out client.crt -days 7 \
			-extfile client.ext 2>/dev/null
) || { echo "bench.sh: PKI generation failed" >&2; exit 1; }

mkdir -p "$T/www" "$T/nginx"
chmod 755 "$T/www"
head -c 63 /dev/zero | tr '\0' 'x' >"$T/www/small" && echo >>"$T/www/small" # 64 bytes
truncate -s "$BIG_BYTES" "$T/www/big"
chmod 644 "$T/www/small" "$T/www/big"

read -r NGINX_PORT IDLE_PORT <<<"$(free_ports 2)"
cat >"$T/nginx/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $T/nginx/nginx.pid;
error_log $T/nginx/error.log warn;
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path $T/nginx/client_body;
	proxy_temp_path $T/nginx/proxy;
	fastcgi_temp_path $T/nginx/fastcgi;
	uwsgi_temp_path $T/nginx/uwsgi;
	scgi_temp_path $T/nginx/scgi;
	default_type application/octet-stream;
	sendfile on;
	tcp_nopush on;
	# wrk keeps its connections: never make it reconnect (each reconnect would be a handshake through the chain)
	keepalive_requests 100000000;
	keepalive_timeout 600s;
	server {
		listen 127.0.0.1:$NGINX_PORT;
		root $T/www;
		location / { }
	}
}
EOF
start "$T/nginx/stdout.log" nginx -p "$T/nginx" -c "$T/nginx/nginx.conf" -e "$T/nginx/error.log"
NGINX_PID=$LAST_PID
wait_listen "$NGINX_PID" "$NGINX_PORT" || { cat "$T/nginx/error.log" "$T/nginx/stdout.log" >&2; exit 1; }
got=$(curl -s -o /dev/null -w '%{http_code} %{size_download}' "http://127.0.0.1:$NGINX_PORT/small")
[ "$got" = "200 64" ] || { echo "bench.sh: nginx backend answers '$got'" >&2; exit 1; }

# Idle backend for the memory test: accepts, sends one byte ('!'), then keeps the connection open and silent
# until the tool passes on its client's end (EOF), and closes then. Without that close, tlswrap would hold each
# half-closed connection for TIMEOUTclose (60 s) and its graceful stop would wait for them.
cat >"$T/idle_backend.py" <<'EOF'
import selectors, socket, sys
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", int(sys.argv[1])))
ls.listen(4096)
sel = selectors.DefaultSelector()
sel.register(ls, selectors.EVENT_READ)
while True:
    for key, _ in sel.select():
        if key.fileobj is ls:
            c, _ = ls.accept()
            try:
                c.sendall(b"!")
            except OSError:
                c.close()
                continue
            sel.register(c, selectors.EVENT_READ)
            continue
        try:
            data = key.fileobj.recv(4096)
        except OSError:
            data = b""
        if not data:
            sel.unregister(key.fileobj)
            key.fileobj.close()
EOF
start "$T/idle_backend.log" python3 "$T/idle_backend.py" "$IDLE_PORT"
wait_listen "$LAST_PID" "$IDLE_PORT" || exit 1

# Idle client: N TLS 1.3 connections, each with the handshake done and the backend's '!' read through the tunnel
# (so the server-side backend connection exists), then idle. Writes the count to READY_FILE; "hold" keeps them.
cat >"$T/idle_client.py" <<'EOF'
import socket, ssl, sys, time
port, n, ready, mode = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.minimum_version = ssl.TLSVersion.TLSv1_3
conns = []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    t = ctx.wrap_socket(s, server_hostname="localhost")
    b = t.recv(1)
    if b != b"!":
        sys.exit("connection %d: expected the backend's '!', got %r" % (i, b))
    conns.append(t)
with open(ready + ".tmp", "w") as f:
    f.write("%d\n" % len(conns))
import os
os.rename(ready + ".tmp", ready)
if mode == "hold":
    time.sleep(3600)
EOF

# wrk resumes sessions across its reconnects; this shim makes each of them a full handshake (see the file)
WRK_SHIM=$T/wrk_new_session.so
if ! "$CC" -shared -fPIC -O2 -o "$WRK_SHIM" "$HERE/wrk_new_session.c" -ldl 2>"$T/wrk_shim.err"; then
	warn "cannot build the wrk shim, no full-handshake rows for 32 clients: $(head -n 3 "$T/wrk_shim.err")"
	WRK_SHIM=
fi

# ---------------------------------------------------------------- configurations
# conf_TOOL FILE LOG SERVICE...: the tool's globals, then the services, which are the same text for every tool
# (stunnel's syntax) except for the suite's name. A SERVICE is three words:
#   client CPORT SPORT          client mode: plain on CPORT -> TLS to SPORT, verifying the chain and localhost
#   server SPORT BACKEND_PORT   server mode: TLS on SPORT -> plain to BACKEND_PORT
#   mtls SPORT BACKEND_PORT     server mode that verifies and requires a client certificate from the bench CA
# BENCH_TLS (default TLSv1.3) is every service's sslVersion.
conf_services() { # conf_services FILE SUITE SERVICE...
	local f=$1 suite=$2; shift 2
	while [ $# -gt 0 ]; do
		case $1 in
		client)
			printf '\n[client]\nclient = yes\naccept = 127.0.0.1:%s\nconnect = 127.0.0.1:%s\nCAfile = %s\nverifyChain = yes\ncheckHost = localhost\n' \
				"$2" "$3" "$PKI/ca.crt" >>"$f" ;;
		server | mtls)
			printf '\n[%s]\naccept = 127.0.0.1:%s\nconnect = 127.0.0.1:%s\ncert = %s\nkey = %s\n' \
				"$1" "$2" "$3" "$PKI/server.crt" "$PKI/server.key" >>"$f" ;;&
		mtls)
			printf 'CAfile = %s\nverifyChain = yes\nrequireCert = yes\n' "$PKI/ca.crt" >>"$f" ;;
		esac
		printf 'sslVersion = %s\n' "${BENCH_TLS:-TLSv1.3}" >>"$f"
		[ -n "${DEFAULT_SUITES:-}" ] || printf 'ciphersuites = %s\n' "$suite" >>"$f"
		shift 3
	done
}
conf_tlswrap() { # the default: no workers line, so workers = auto
	local f=$1 log=$2; shift 2
	printf 'foreground = yes\nsyslog = no\ndebug = %s\noutput = %s\n' "${TLSWRAP_DEBUG:-notice}" "$log" >"$f"
	conf_services "$f" "$SUITE_MBEDTLS" "$@"
}
conf_tlswrap1() { # the single event loop
	local f=$1 log=$2; shift 2
	printf 'foreground = yes\nsyslog = no\ndebug = %s\noutput = %s\nworkers = 1\n' "${TLSWRAP_DEBUG:-notice}" "$log" >"$f"
	conf_services "$f" "$SUITE_MBEDTLS" "$@"
}
conf_stunnel() {
	local f=$1 log=$2; shift 2
	# quiet: stay in the foreground but log only to 'output' (yes would copy every line to stderr as well);
	# syslog = no: stunnel's default syslog = yes costs ~1 ms per connection here (no /dev/log on this VM)
	printf 'foreground = quiet\npid =\nsyslog = no\ndebug = notice\noutput = %s\n' "$log" >"$f"
	conf_services "$f" "$SUITE_OPENSSL" "$@"
}

# run_tool TOOL NAME PORT-TO-WAIT-ON ARGS...: write the config, start the tool, wait for its ports; sets TOOL_PID
run_tool() {
	local tool=$1 name=$2; shift 2
	local conf=$T/$tool-$name.conf log=$T/$tool-$name.log p
	"conf_$tool" "$conf" "$log" "$@"
	case $tool in
	tlswrap | tlswrap1) start "$T/$tool-$name.stderr" "$TLSWRAP" "$conf" ;;
	stunnel) start "$T/$tool-$name.stderr" "$STUNNEL" "$conf" ;;
	esac
	TOOL_PID=$LAST_PID
	TOOL_LOG=$log
	while [ $# -gt 0 ]; do
		if ! wait_listen "$TOOL_PID" "$2"; then
			warn "$tool ($name) did not start:"
			tail -n 20 "$T/$tool-$name.stderr" "$log" >&2 2>/dev/null
			stop "$TOOL_PID"
			return 1
		fi
		shift 3
	done
}

# alive TOOL: is the tool still running? (complains when not)
alive() {
	kill -0 "$TOOL_PID" 2>/dev/null && return 0
	warn "$1 exited during the measurement:"
	tail -n 20 "$TOOL_LOG" >&2 2>/dev/null
	return 1
}

declare -A R # R[tool.metric] = value
# tlswrap: as configured by default (workers = auto); tlswrap1: workers = 1; stunnel: its default threading
TOOLS=(tlswrap tlswrap1 stunnel)

# kv KEY LINE: the value of KEY=value in a line of such pairs (resume_load.py's output)
kv() { tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p"; }
# s_time_count OUTPUT: the number of connections an openssl s_time run completed
s_time_count() { sed -n 's/^\([0-9]*\) connections in [0-9]* real seconds.*/\1/p' <<<"$1"; }
# wrk_errors OUTPUT: wrk's error lines (it prints them only when there were errors)
wrk_errors() { grep -E 'Socket errors|Non-2xx' <<<"$1" | sed 's/^ *//' | paste -sd ';' -; }

# bulk_parallel TOOL KEY CPORT: BULK_PARALLEL transfers of /big at once through the chain on CPORT; a round's
# aggregate bytes over its wall time, best of BULK_RUNS rounds, in R[TOOL.KEY] (and KEY_cpu, KEY_util)
bulk_parallel() {
	local tool=$1 key=$2 CP=$3 best=0 bytes_total=0 i j p pids round t0 t1 code size speed
	mark
	for i in $(seq "$BULK_RUNS"); do
		pids=() round=0 t0=$(now)
		for j in $(seq "$BULK_PARALLEL"); do
			start "$T/$tool-$key-$i-$j.out" timeout 300 curl -s -o /dev/null -w '%{http_code} %{size_download}' \
				"http://127.0.0.1:$CP/big"
			pids+=("$LAST_PID")
		done
		for p in "${pids[@]}"; do finish "$p"; done
		t1=$(now)
		for j in $(seq "$BULK_PARALLEL"); do
			read -r code size <"$T/$tool-$key-$i-$j.out"
			if [ "${code:-}" != 200 ] || [ "${size:-0}" != "$BIG_BYTES" ]; then
				warn "$tool $key round $i, transfer $j: curl got '$(cat "$T/$tool-$key-$i-$j.out")' (want 200 $BIG_BYTES)"
				round=0
				break
			fi
			round=$((round + size))
		done
		[ "$round" -gt 0 ] || continue
		bytes_total=$((bytes_total + round))
		speed=$(calc "$round / ($t1 - $t0)" 0)
		echo "# $tool $key round $i: $BULK_PARALLEL x /big, $(calc "$speed / 1e6") MB/s in all" >&2
		best=$(awk -v a="$best" -v b="$speed" 'BEGIN { print (b > a) ? b : a }')
	done
	spent
	if [ "$bytes_total" -gt 0 ] && alive "$tool"; then
		R[$tool.$key]=$(calc "$best / 1e6")
		R[$tool.${key}_cpu]=$(calc "$CPU_S * 1000 / ($bytes_total / 1e6)" 2)
		R[$tool.${key}_util]=$UTIL
	else
		FAILED=1
	fi
}

# wrk_row TOOL KEY SCALE DECIMALS WHAT WRK-ARGS...: one wrk run against TOOL; requests/s in R[TOOL.KEY], the tool's
# CPU per request times SCALE (1e6: us, 1000: ms) in R[TOOL.KEY_cpu], its CPU use in R[TOOL.KEY_util].
# WRK_PRELOAD, when set, is LD_PRELOADed into wrk.
wrk_row() {
	local tool=$1 key=$2 scale=$3 dec=$4 what=$5 out rps reqs errs
	shift 5
	mark
	out=$(timeout $((WRK_SECS + 60)) env ${WRK_PRELOAD:+LD_PRELOAD="$WRK_PRELOAD"} wrk "$@" 2>&1)
	spent
	rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
	reqs=$(awk '/requests in/ { print $1 }' <<<"$out")
	errs=$(wrk_errors "$out")
	[ -n "$errs" ] && note "$tool wrk ($what): $errs"
	if [ -n "$rps" ] && [ "${reqs:-0}" -gt 0 ] && alive "$tool"; then
		R[$tool.$key]=$(calc "$rps" 0)
		R[$tool.${key}_cpu]=$(calc "$CPU_S * $scale / $reqs" "$dec")
		R[$tool.${key}_util]=$UTIL
		echo "# $tool wrk ($what): $rps requests/s, $reqs requests, tool CPU $UTIL%" >&2
	else
		warn "$tool wrk ($what) output: $out"
		FAILED=1
	fi
}

# ---------------------------------------------------------------- chain: bulk (1 and 4 transfers), small requests
for tool in "${TOOLS[@]}"; do
	read -r CP SP <<<"$(free_ports 2)"
	run_tool "$tool" chain client "$CP" "$SP" server "$SP" "$NGINX_PORT" || { FAILED=1; continue; }
	# one transfer at a time: best of BULK_RUNS downloads of /big
	best=0 bytes_total=0
	mark
	for i in $(seq "$BULK_RUNS"); do
		out=$(timeout 300 curl -s -o /dev/null -w '%{http_code} %{size_download} %{speed_download}' \
			"http://127.0.0.1:$CP/big")
		read -r code size speed <<<"$out"
		if [ "${code:-}" != 200 ] || [ "${size:-0}" != "$BIG_BYTES" ]; then
			warn "$tool bulk run $i: curl got '$out' (want 200 $BIG_BYTES)"
			continue
		fi
		bytes_total=$((bytes_total + size))
		echo "# $tool bulk run $i: $(calc "$speed / 1e6") MB/s" >&2
		best=$(awk -v a="$best" -v b="$speed" 'BEGIN { print (b > a) ? b : a }')
	done
	spent
	if [ "$bytes_total" -gt 0 ] && alive "$tool"; then
		R[$tool.bulk]=$(calc "$best / 1e6")
		R[$tool.bulk_cpu]=$(calc "$CPU_S * 1000 / ($bytes_total / 1e6)" 2)
	else
		FAILED=1
	fi

	bulk_parallel "$tool" bulk4 "$CP"

	# small requests over kept-alive connections
	wrk_row "$tool" rps 1e6 0 "small requests" -t1 -c"$WRK_CONNS" -d"${WRK_SECS}s" "http://127.0.0.1:$CP/small"
	stop "$TOOL_PID"
done

# the same 4 transfers with each tool's default suites (no ciphersuites line): tlswrap then negotiates
# ChaCha20-Poly1305 between its two ends, stunnel (OpenSSL) AES-256-GCM
for tool in tlswrap stunnel; do
	read -r CP SP <<<"$(free_ports 2)"
	DEFAULT_SUITES=1 run_tool "$tool" chaind client "$CP" "$SP" server "$SP" "$NGINX_PORT" || { FAILED=1; continue; }
	bulk_parallel "$tool" bulk4d "$CP"
	stop "$TOOL_PID"
done

# ---------------------------------------------------------------- full handshakes, 32 clients (server mode)
# wrk -t2 -c32 with "Connection: close": nginx closes after each response and wrk reconnects, so every request
# is a new connection; the shim makes each one a full handshake (tlswrap's log says which ones resumed: none
# should). wrk counts a failed handshake as a connect error in its "Socket errors" line.
for tool in "${TOOLS[@]}"; do
	[ -n "$WRK_SHIM" ] || { FAILED=1; break; }
	read -r SP <<<"$(free_ports 1)"
	run_tool "$tool" handshake32 server "$SP" "$NGINX_PORT" || { FAILED=1; continue; }
	WRK_PRELOAD=$WRK_SHIM wrk_row "$tool" hs32 1000 2 "full handshakes" -t2 -c"$WRK_CONNS" -d"${WRK_SECS}s" \
		-H 'Connection: close' "https://127.0.0.1:$SP/small"
	stop "$TOOL_PID"
	case $tool in
	tlswrap*)
		est=$(grep -c ': established ' "$TOOL_LOG")
		res=$(grep -c ': established .* resumed$' "$TOOL_LOG")
		echo "# $tool log: $est connections established, $res of them resumed" >&2
		[ "$res" -gt 0 ] && note "$tool: $res of $est wrk handshakes resumed a session (the shim did not take)"
		;;
	esac
done

# The same load from 32 openssl s_time processes (-new -www /small: a full handshake, a GET, a close, one at a
# time each). wrk drives a TLS handshake by waiting for its socket to be writable, which it always is, so it spins
# while the server computes (a whole core here however slow or fast the server): on two cores that takes from the
# tool the core a second worker needs. s_time blocks in read() instead.
for tool in "${TOOLS[@]}"; do
	read -r SP <<<"$(free_ports 1)"
	run_tool "$tool" stime32 server "$SP" "$NGINX_PORT" || { FAILED=1; continue; }
	mark
	pids=()
	for j in $(seq "$WRK_CONNS"); do
		start "$T/$tool-stime32-$j.out" timeout $((HS_SECS + 60)) openssl s_time -connect "127.0.0.1:$SP" -new \
			-time "$HS_SECS" -www /small -tls1_3 -ciphersuites "$SUITE_OPENSSL"
		pids+=("$LAST_PID")
	done
	for p in "${pids[@]}"; do finish "$p"; done
	spent
	n=0
	for j in $(seq "$WRK_CONNS"); do n=$((n + $(s_time_count "$(cat "$T/$tool-stime32-$j.out")" | grep . || echo 0))); done
	if [ "$n" -gt 0 ] && alive "$tool"; then
		R[$tool.st32]=$(calc "$n / $WALL_S" 0)
		R[$tool.st32_cpu]=$(calc "$CPU_S * 1000 / $n" 2)
		R[$tool.st32_util]=$UTIL
		echo "# $tool 32 x s_time: $n handshakes in $WALL_S s, tool CPU $UTIL%" >&2
	else
		warn "$tool 32 x s_time: no handshake counted ($(head -c 300 "$T/$tool-stime32-1.out"))"
		FAILED=1
	fi
	stop "$TOOL_PID"
done

# ---------------------------------------------------------------- one client: full and resumed handshakes
# The single-client rows of earlier runs, kept for continuity: openssl s_time, one connection at a time.
for tool in "${TOOLS[@]}"; do
	read -r SP <<<"$(free_ports 1)"
	run_tool "$tool" handshake server "$SP" "$NGINX_PORT" || { FAILED=1; continue; }
	mark
	out=$(timeout $((HS_SECS + 60)) openssl s_time -connect "127.0.0.1:$SP" -new -time "$HS_SECS" -tls1_3 \
		-ciphersuites "$SUITE_OPENSSL" 2>&1)
	spent
	n=$(s_time_count "$out")
	if [ "${n:-0}" -gt 0 ] && alive "$tool"; then
		R[$tool.hs]=$(calc "$n / $WALL_S" 0)
		R[$tool.hs_cpu]=$(calc "$CPU_S * 1000 / $n" 2)
		echo "# $tool s_time: $n handshakes in $WALL_S s, tool CPU $UTIL%" >&2
	else
		warn "$tool s_time output: $out"
		FAILED=1
	fi
	stop "$TOOL_PID"
done
for tool in "${TOOLS[@]}"; do
	read -r SP <<<"$(free_ports 1)"
	# TLS 1.2: openssl s_time never reads a TLS 1.3 ticket, so with TLS 1.3 it would not resume at all
	BENCH_TLS=TLSv1.2 run_tool "$tool" resume server "$SP" "$NGINX_PORT" || { FAILED=1; continue; }
	mark
	out=$(timeout $((HS_SECS + 60)) openssl s_time -connect "127.0.0.1:$SP" -reuse -time "$HS_SECS" -tls1_2 2>&1)
	spent
	n=$(s_time_count "$out")
	if [ "${n:-0}" -gt 0 ] && alive "$tool"; then
		R[$tool.resume]=$(calc "$n / $WALL_S" 0)
		R[$tool.resume_cpu]=$(calc "$CPU_S * 1000 / $n" 2)
		echo "# $tool s_time -reuse: $n handshakes in $WALL_S s" >&2
	else
		warn "$tool s_time -reuse output: $out"
		FAILED=1
	fi
	stop "$TOOL_PID"
done

# ---------------------------------------------------------------- resumed handshakes with a client certificate
# Server mode with CAfile + verifyChain + requireCert, TLS 1.2 and TLS 1.3 apart: resume_load.py's processes each
# loop over connect, handshake offering the last session with the client certificate, GET /small, read to EOF.
# Each process's first connection is a full handshake; after that nearly all should resume.
for tls in 1.2 1.3; do
	key=res${tls/./}
	for tool in "${TOOLS[@]}"; do
		read -r SP <<<"$(free_ports 1)"
		BENCH_TLS=TLSv$tls run_tool "$tool" "mtls$key" mtls "$SP" "$NGINX_PORT" || { FAILED=1; continue; }
		mark
		out=$(timeout $((RESUME_SECS + 60)) python3 "$HERE/resume_load.py" --port "$SP" --tls "$tls" \
			--ca "$PKI/ca.crt" --cert "$PKI/client.crt" --key "$PKI/client.key" \
			--procs "$RESUME_PROCS" --secs "$RESUME_SECS" 2>"$T/$tool-$key.err")
		spent
		n=$(kv connections "$out") errs=$(kv errors "$out") frac=$(kv resumed_fraction "$out")
		if [ "${n:-0}" -gt 0 ] && alive "$tool"; then
			R[$tool.$key]=$(kv rate "$out")
			R[$tool.${key}_cpu]=$(calc "$CPU_S * 1000 / $n" 2)
			R[$tool.${key}_frac]=$(calc "$frac * 100" 1)
			R[$tool.${key}_util]=$UTIL
			echo "# $tool TLS $tls resumption with a client certificate: $out, tool CPU $UTIL%" >&2
			[ "${errs:-0}" -gt 0 ] &&
				note "$tool TLS $tls resumption: $errs of $((n + errs)) connections failed, first: $(head -n 1 "$T/$tool-$key.err")"
			awk -v f="$frac" 'BEGIN { exit !(f < 0.9) }' &&
				note "$tool TLS $tls with a client certificate: only ${R[$tool.${key}_frac]}% of connections resumed (resumption is not working)"
		else
			warn "$tool TLS $tls resumption: resume_load.py printed '$out': $(head -n 5 "$T/$tool-$key.err")"
			FAILED=1
		fi
		stop "$TOOL_PID"
	done
done

# ---------------------------------------------------------------- what logging costs tlswrap's handshakes
# The same single-client handshake run with debug = err (no per-connection lines) beside the notice run above:
# the per-handshake CPU difference is the cost of the two log lines per connection.
read -r SP <<<"$(free_ports 1)"
if TLSWRAP_DEBUG=err run_tool tlswrap handshake-quiet server "$SP" "$NGINX_PORT"; then
	mark
	out=$(timeout $((HS_SECS + 60)) openssl s_time -connect "127.0.0.1:$SP" -new -time "$HS_SECS" -tls1_3 \
		-ciphersuites "$SUITE_OPENSSL" 2>&1)
	spent
	n=$(s_time_count "$out")
	if [ "${n:-0}" -gt 0 ] && [ -n "${R[tlswrap.hs_cpu]:-}" ]; then
		R[tlswrap.hs_quiet]=$(calc "$n / $WALL_S" 0)
		R[tlswrap.hs_quiet_cpu]=$(calc "$CPU_S * 1000 / $n" 3)
		echo "# tlswrap s_time at debug = err: $n handshakes, ${R[tlswrap.hs_quiet_cpu]} ms CPU each" >&2
	else
		warn "tlswrap (debug = err) s_time output: $out"
		FAILED=1
	fi
	stop "$TOOL_PID"
else
	FAILED=1
fi

# ---------------------------------------------------------------- memory per idle established connection
for tool in "${TOOLS[@]}"; do
	read -r SP <<<"$(free_ports 1)"
	run_tool "$tool" idle server "$SP" "$IDLE_PORT" || { FAILED=1; continue; }
	# warm up (code pages, one-time allocations), then wait until those connections are gone
	if ! timeout 60 python3 "$T/idle_client.py" "$SP" 10 "$T/$tool-warm.ready" close 2>"$T/$tool-warm.err"; then
		warn "$tool warm-up failed: $(cat "$T/$tool-warm.err")"
		stop "$TOOL_PID"
		FAILED=1
		continue
	fi
	deadline=$((SECONDS + 15))
	while [ "$(established "$SP")" -gt 0 ] && [ $SECONDS -le $deadline ]; do sleep 0.05; done
	before=$(rss_kib "$TOOL_PID") th0=$(threads "$TOOL_PID")
	start "$T/$tool-idle-client.out" python3 "$T/idle_client.py" "$SP" "$N_IDLE" "$T/$tool-idle.ready" hold
	CLIENT_PID=$LAST_PID
	if wait_file "$T/$tool-idle.ready" $((N_IDLE / 20 + 60)) && alive "$tool"; then
		after=$(rss_kib "$TOOL_PID") th1=$(threads "$TOOL_PID") est=$(established "$SP")
		[ "$est" -ne "$N_IDLE" ] && note "$tool memory: $est established connections on the service port, expected $N_IDLE"
		R[$tool.mem]=$(calc "($after - $before) / $N_IDLE" 1)
		echo "# $tool memory: VmRSS $before -> $after KiB over $N_IDLE connections, threads $th0 -> $th1" >&2
		R[$tool.threads]="$th0 -> $th1"
	else
		warn "$tool memory: the idle client did not finish: $(tail -n 5 "$T/$tool-idle-client.out")"
		FAILED=1
	fi
	stop "$CLIENT_PID"
	stop "$TOOL_PID"
done

# ---------------------------------------------------------------- log sanity
# Per-connection error-level lines (informative: s_time and the idle client close without close_notify, and
# wrk stops with requests and handshakes in flight). stunnel's own [ui] lines are not counted.
for tool in "${TOOLS[@]}"; do
	for f in "$T/$tool"-*.log; do
		[ -f "$f" ] || continue
		case $tool in
		tlswrap*) bad=$(grep -cE ' (EMERG|ALERT|CRIT|ERROR) ' "$f") ;;
		stunnel) bad=$(grep -cE 'LOG[0-3]\[[0-9]+\]' "$f") ;;
		esac
		[ "${bad:-0}" -gt 0 ] && note "$(basename "$f"): $bad per-connection error-level log lines (KEEP=1 keeps the logs)"
	done
done

# ---------------------------------------------------------------- table
COMMIT=$(git -C "$TOP" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$TOP" diff --quiet HEAD -- src 2>/dev/null || COMMIT="$COMMIT (src/ modified)"
DATE=$(date -u +%F)
MBEDTLS=$("$TLSWRAP" --version 2>&1 | grep -i 'mbed' | head -1)
TLSWRAP_VER=$("$TLSWRAP" --version 2>&1 | head -1)
# what auto meant: tlswrap's start line says "(Mbed TLS x.y.z, N workers) started"
AUTO_WORKERS=$(cat "$T"/tlswrap-*.log 2>/dev/null | sed -n 's/.*, \([0-9]*\) workers\{0,1\}) started.*/\1/p' | head -n 1)
: "${AUTO_WORKERS:=?}"
# `stunnel -version` first prints "Initializing inetd mode configuration": take the version line itself
STUNNEL_VER=$("$STUNNEL" -version 2>&1 | grep -m1 '^stunnel ')
STUNNEL_SSL=$("$STUNNEL" -version 2>&1 | grep -m1 '^Running' | sed 's/  */ /g')
CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
MACHINE="$(nproc) cores ($CPU), $(. /etc/os-release && echo "$PRETTY_NAME")"
LOAD="$LOAD0 at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end"

# rows: key|label|unit|better (higher, lower, or info: no ratio)
ROWS=(
	"hs32|full handshakes, $WRK_CONNS clients (server, wrk)|conn/s|higher"
	"st32|full handshakes, $WRK_CONNS clients (server, s_time x $WRK_CONNS)|conn/s|higher"
	"bulk4|chain bulk, $BULK_PARALLEL transfers at once, best of $BULK_RUNS|MB/s|higher"
	"bulk4d|  the same, each tool's default suites (ChaCha20 / AES-256-GCM)|MB/s|higher"
	"rps|small requests, kept alive (chain, $WRK_CONNS conns)|req/s|higher"
	"res12|resumed + client cert, TLS 1.2 ($RESUME_PROCS clients)|conn/s|higher"
	"res13|resumed + client cert, TLS 1.3 ($RESUME_PROCS clients)|conn/s|higher"
	"mem|RSS per idle TLS connection (server, N=$N_IDLE)|KiB|lower"
	"hs|full handshakes, 1 client (server, s_time -new)|conn/s|higher"
	"resume|resumed, 1 client (server, TLS 1.2, s_time -reuse)|conn/s|higher"
	"bulk|chain bulk, 1 transfer, best of $BULK_RUNS|MB/s|higher"
	"hs32_cpu|  tool CPU per full handshake ($WRK_CONNS clients)|ms|lower"
	"st32_cpu|  tool CPU per full handshake ($WRK_CONNS s_time clients)|ms|lower"
	"bulk4_cpu|  tool CPU per MB, chain ($BULK_PARALLEL transfers)|ms/MB|lower"
	"bulk4d_cpu|  tool CPU per MB, chain ($BULK_PARALLEL transfers, default suites)|ms/MB|lower"
	"rps_cpu|  tool CPU per small request (chain)|us|lower"
	"res12_cpu|  tool CPU per resumption + client cert, TLS 1.2|ms|lower"
	"res13_cpu|  tool CPU per resumption + client cert, TLS 1.3|ms|lower"
	"hs_cpu|  tool CPU per full handshake (1 client)|ms|lower"
	"resume_cpu|  tool CPU per resumed handshake (1 client)|ms|lower"
	"bulk_cpu|  tool CPU per MB, chain (1 transfer)|ms/MB|lower"
	"res12_frac|  connections resumed, TLS 1.2 + client cert|%|info"
	"res13_frac|  connections resumed, TLS 1.3 + client cert|%|info"
)
# ratio KEY A B: R[A.KEY] / R[B.KEY], or n/a
ratio() {
	local a=${R[$2.$1]:-} b=${R[$3.$1]:-}
	if [ -n "$a" ] && [ -n "$b" ] && awk -v b="$b" 'BEGIN { exit !(b > 0) }'; then calc "$a / $b" 2; else echo n/a; fi
}
# row_ratios KEY BETTER: the two ratio cells, default/stunnel and default/workers=1 ("-" for info rows)
row_ratios() {
	if [ "$2" = info ]; then echo "- -"; else echo "$(ratio "$1" tlswrap stunnel) $(ratio "$1" tlswrap tlswrap1)"; fi
}
MD=$TOP/bench/out/latest.md
mkdir -p "$TOP/bench/out"
{
	echo "| metric | unit | tlswrap (auto: $AUTO_WORKERS workers) | tlswrap workers = 1 | stunnel | default/stunnel | default/workers=1 | better |"
	echo "|---|---|---:|---:|---:|---:|---:|---|"
	for row in "${ROWS[@]}"; do
		IFS='|' read -r key label unit better <<<"$row"
		read -r r_st r_w1 <<<"$(row_ratios "$key" "$better")"
		echo "| ${label# } | $unit | ${R[tlswrap.$key]:-n/a} | ${R[tlswrap1.$key]:-n/a} | ${R[stunnel.$key]:-n/a} | $r_st | $r_w1 | ${better/info/-} |"
	done
} >"$T/table.md"

# scaling: the same tlswrap at one worker and at auto, from the rows above
SCALING="tlswrap scaling, workers = 1 -> auto ($AUTO_WORKERS): CPU per full handshake (32 clients) ${R[tlswrap1.hs32_cpu]:-?} -> ${R[tlswrap.hs32_cpu]:-?} ms, per MB (4 transfers) ${R[tlswrap1.bulk4_cpu]:-?} -> ${R[tlswrap.bulk4_cpu]:-?} ms; full handshakes ${R[tlswrap1.hs32]:-?} -> ${R[tlswrap.hs32]:-?} conn/s ($(ratio hs32 tlswrap tlswrap1)x; s_time ${R[tlswrap1.st32]:-?} -> ${R[tlswrap.st32]:-?}, $(ratio st32 tlswrap tlswrap1)x), bulk ${R[tlswrap1.bulk4]:-?} -> ${R[tlswrap.bulk4]:-?} MB/s ($(ratio bulk4 tlswrap tlswrap1)x)"
# the memory target, for both tlswrap settings (a figure to read, not a test)
mem_verdict() {
	local v=${R[$1.mem]:-}
	[ -n "$v" ] || { echo "n/a"; return; }
	if awk -v v="$v" -v t="$MEM_TARGET_KIB" 'BEGIN { exit !(v <= t) }'; then echo "$v KiB (within)"; else echo "$v KiB (over)"; fi
}
MEMTARGET="RSS per idle connection against the target of at most $MEM_TARGET_KIB KiB: default $(mem_verdict tlswrap), workers = 1 $(mem_verdict tlswrap1)"
# util KEY: a row's tool CPU use for the three, "default% / workers=1% / stunnel%"
util() { echo "${R[tlswrap.$1_util]:-?}% / ${R[tlswrap1.$1_util]:-?}% / ${R[stunnel.$1_util]:-?}%"; }
CPUUSE="tool CPU use (100% = one core; tlswrap default / workers = 1 / stunnel): full handshakes (32 clients) $(util hs32), with s_time $(util st32), bulk (4 transfers) $(util bulk4), small requests $(util rps), resumption + client cert TLS 1.2 $(util res12), TLS 1.3 $(util res13)"
THREADS="threads during the memory test (before -> after): tlswrap default ${R[tlswrap.threads]:-?}, workers = 1 ${R[tlswrap1.threads]:-?}, stunnel ${R[stunnel.threads]:-?} (stunnel as configured by default: a thread per connection)"
LOGCOST="tlswrap logging at notice (two lines per connection) vs err (none), 1 client: handshakes ${R[tlswrap.hs]:-?} vs ${R[tlswrap.hs_quiet]:-?} conn/s, CPU per handshake ${R[tlswrap.hs_cpu]:-?} vs ${R[tlswrap.hs_quiet_cpu]:-?} ms"
if [ -n "${R[tlswrap.hs_quiet_cpu]:-}" ] && [ -n "${R[tlswrap.hs_cpu]:-}" ]; then
	LOGCOST="$LOGCOST: logging costs $(calc "(${R[tlswrap.hs_cpu]} - ${R[tlswrap.hs_quiet_cpu]}) * 100 / ${R[tlswrap.hs_quiet_cpu]}" 1)% of handshake CPU"
fi

echo
echo "tlswrap (default: workers = auto, $AUTO_WORKERS here), tlswrap workers = 1, stunnel ($MODE run): commit $COMMIT, $DATE"
echo "  $TLSWRAP_VER, $MBEDTLS; $STUNNEL_VER, $STUNNEL_SSL"
echo "  $MACHINE; load average $LOAD"
echo "  TLS 1.3 (unless a row says 1.2), $SUITE_OPENSSL, EC P-256; backend nginx 1 worker; debug = notice in all"
echo
FMT='%-52s %-6s %10s %11s %10s %15s %17s  %s\n'
# shellcheck disable=SC2059 # FMT is ours
printf "$FMT" metric unit tlswrap "tlswrap w=1" stunnel default/stunnel default/workers=1 better
for row in "${ROWS[@]}"; do
	IFS='|' read -r key label unit better <<<"$row"
	read -r r_st r_w1 <<<"$(row_ratios "$key" "$better")"
	# shellcheck disable=SC2059
	printf "$FMT" "$label" "$unit" "${R[tlswrap.$key]:-n/a}" "${R[tlswrap1.$key]:-n/a}" "${R[stunnel.$key]:-n/a}" \
		"$r_st" "$r_w1" "${better/info/-}"
done
echo
echo "$SCALING"
echo "$MEMTARGET"
echo "$CPUUSE"
echo "$THREADS"
echo "$LOGCOST"
for n in "${NOTES[@]}"; do echo "note: $n"; done

{
	echo "# tlswrap vs stunnel: bench/bench.sh ($MODE run)"
	echo
	echo "- commit: $COMMIT; date: $DATE"
	echo "- tlswrap: $TLSWRAP_VER, $MBEDTLS; default = workers auto ($AUTO_WORKERS workers here), beside workers = 1"
	echo "- stunnel: $STUNNEL_VER, $STUNNEL_SSL (default threading: a thread per connection)"
	echo "- machine: $MACHINE; load average $LOAD"
	echo "- TLS 1.3 unless a row says 1.2, $SUITE_OPENSSL, EC P-256 certificates; backend nginx (1 worker); all at debug = notice"
	echo
	cat "$T/table.md"
	echo
	echo "- $SCALING."
	echo "- $MEMTARGET."
	echo "- $CPUUSE."
	echo "- $THREADS."
	echo "- $LOGCOST."
	for n in "${NOTES[@]}"; do echo "- note: $n"; done
} >"$MD"
echo "(Markdown: $MD)"
exit "$FAILED"
