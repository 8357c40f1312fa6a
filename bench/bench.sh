#!/usr/bin/env bash
# bench/bench.sh: tlswrap and stunnel side by side, with the same certificates, TLS version, cipher suite and
# backend. This is a benchmark, not a test: it prints figures and ratios, and fails only when it cannot measure.
#
#   bash bench/bench.sh           full run (about a minute)
#   bash bench/bench.sh --quick   smoke run (about 20 s): short durations, N=200 idle connections
#
# Environment: TLSWRAP (default: build/src/tlswrap of this tree), STUNNEL (default: stunnel4), KEEP=1 keeps the
# temp dir (configs, logs). The table goes to stdout and, as Markdown, to bench/out/latest.md.
#
# What runs (all on 127.0.0.1, ports chosen at run time):
#   backend   nginx, daemon off, 1 worker, serving /small (64 bytes) and /big (100 MiB) from the temp dir
#   chain     one process of the tool with a client-mode service -> its own server-mode service -> nginx;
#             curl and wrk speak plain HTTP into the client-mode port
#   server    one process with a server-mode service only (-> nginx for handshakes, -> an idle backend for memory)
# TLS 1.3 only, TLS_AES_128_GCM_SHA256 (mbedTLS: TLS1-3-AES-128-GCM-SHA256), EC P-256 certificates, the client
# service verifying the chain and the host name (localhost) in both tools. Both tools log at notice to a file.
set -u -o pipefail

usage() { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; }
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
	BULK_RUNS=1 HS_SECS=3 WRK_SECS=3 N_IDLE=200 MODE=quick
else
	BULK_RUNS=3 HS_SECS=10 WRK_SECS=10 N_IDLE=1000 MODE=full
fi
WRK_CONNS=32
BIG_BYTES=$((100 * 1024 * 1024))
SUITE_MBEDTLS=TLS1-3-AES-128-GCM-SHA256
SUITE_OPENSSL=TLS_AES_128_GCM_SHA256

for tool in "$TLSWRAP" "$STUNNEL" nginx openssl curl wrk python3 ss timeout; do
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

# stop PID: end one process we started and forget it
stop() {
	local pid=$1 p keep=()
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	for p in "${PIDS[@]}"; do [ "$p" != "$pid" ] && keep+=("$p"); done
	PIDS=("${keep[@]}")
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
# cpu_ticks PID: user+system clock ticks of the whole process (all threads)
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
CLK_TCK=$(getconf CLK_TCK)
now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.${2:-1}f\", $1 }"; }

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
			-extfile server.ext 2>/dev/null
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

# Idle backend for the memory test: accepts, sends one byte ('!'), then keeps the connection open and silent.
cat >"$T/idle_backend.py" <<'EOF'
import socket, sys
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", int(sys.argv[1])))
ls.listen(4096)
keep = []
while True:
    c, _ = ls.accept()
    try:
        c.sendall(b"!")
    except OSError:
        pass
    keep.append(c)
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

# ---------------------------------------------------------------- configurations
# conf_TOOL FILE LOG [client CPORT SPORT] [server SPORT BACKEND_PORT]...: the tool's globals, then the services,
# which are the same text for both tools (stunnel's syntax) except for the suite's name
conf_services() { # conf_services FILE SUITE [client CPORT SPORT] [server SPORT BACKEND_PORT]...
	local f=$1 suite=$2; shift 2
	while [ $# -gt 0 ]; do
		case $1 in
		client)
			printf '\n[client]\nclient = yes\naccept = 127.0.0.1:%s\nconnect = 127.0.0.1:%s\nCAfile = %s\nverifyChain = yes\ncheckHost = localhost\n' \
				"$2" "$3" "$PKI/ca.crt" >>"$f" ;;
		server)
			printf '\n[server]\naccept = 127.0.0.1:%s\nconnect = 127.0.0.1:%s\ncert = %s\nkey = %s\n' \
				"$2" "$3" "$PKI/server.crt" "$PKI/server.key" >>"$f" ;;
		esac
		printf 'sslVersion = %s\nciphersuites = %s\n' "${BENCH_TLS:-TLSv1.3}" "$suite" >>"$f"
		shift 3
	done
}
conf_tlswrap() {
	local f=$1 log=$2; shift 2
	printf 'foreground = yes\nsyslog = no\ndebug = %s\noutput = %s\n' "${TLSWRAP_DEBUG:-notice}" "$log" >"$f"
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
	tlswrap) start "$T/$tool-$name.stderr" "$TLSWRAP" "$conf" ;;
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
TOOLS=(tlswrap stunnel)

# ---------------------------------------------------------------- 1 + 3: chain (bulk, small requests)
for tool in "${TOOLS[@]}"; do
	read -r CP SP <<<"$(free_ports 2)"
	run_tool "$tool" chain client "$CP" "$SP" server "$SP" "$NGINX_PORT" || { FAILED=1; continue; }
	# bulk: best of BULK_RUNS downloads of /big
	best=0 bytes_total=0
	c0=$(cpu_ticks "$TOOL_PID") t0=$(now)
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
	t1=$(now) c1=$(cpu_ticks "$TOOL_PID")
	if [ "$bytes_total" -gt 0 ] && alive "$tool"; then
		R[$tool.bulk]=$(calc "$best / 1e6")
		R[$tool.bulk_cpu]=$(calc "($c1 - $c0) * 1000 / $CLK_TCK / ($bytes_total / 1e6)" 2)
		R[$tool.bulk_util]=$(calc "($c1 - $c0) * 100 / $CLK_TCK / ($t1 - $t0)" 0)
	else
		FAILED=1
	fi
	# small requests over kept-alive connections
	c0=$(cpu_ticks "$TOOL_PID") t0=$(now)
	out=$(timeout $((WRK_SECS + 60)) wrk -t1 -c"$WRK_CONNS" -d"${WRK_SECS}s" "http://127.0.0.1:$CP/small" 2>&1)
	t1=$(now) c1=$(cpu_ticks "$TOOL_PID")
	rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
	reqs=$(awk '/requests in/ { print $1 }' <<<"$out")
	errs=$(grep -E 'Socket errors|Non-2xx' <<<"$out")
	[ -n "$errs" ] && note "$tool wrk: $errs"
	if [ -n "$rps" ] && alive "$tool"; then
		R[$tool.rps]=$(calc "$rps" 0)
		R[$tool.rps_cpu]=$(calc "($c1 - $c0) * 1e6 / $CLK_TCK / $reqs" 0)
		R[$tool.rps_util]=$(calc "($c1 - $c0) * 100 / $CLK_TCK / ($t1 - $t0)" 0)
		echo "# $tool wrk: $rps requests/s, $(calc "$reqs") requests, tool CPU ${R[$tool.rps_util]}%" >&2
	else
		warn "$tool wrk output: $out"
		FAILED=1
	fi
	stop "$TOOL_PID"
done

# ---------------------------------------------------------------- 2: full handshakes (server mode)
for tool in "${TOOLS[@]}"; do
	read -r SP <<<"$(free_ports 1)"
	run_tool "$tool" handshake server "$SP" "$NGINX_PORT" || { FAILED=1; continue; }
	c0=$(cpu_ticks "$TOOL_PID") t0=$(now)
	out=$(timeout $((HS_SECS + 60)) openssl s_time -connect "127.0.0.1:$SP" -new -time "$HS_SECS" -tls1_3 \
		-ciphersuites "$SUITE_OPENSSL" 2>&1)
	t1=$(now) c1=$(cpu_ticks "$TOOL_PID")
	n=$(sed -n 's/^\([0-9]*\) connections in [0-9]* real seconds.*/\1/p' <<<"$out")
	if [ -n "$n" ] && [ "$n" -gt 0 ] && alive "$tool"; then
		R[$tool.hs]=$(calc "$n / ($t1 - $t0)" 0)
		R[$tool.hs_cpu]=$(calc "($c1 - $c0) * 1000 / $CLK_TCK / $n" 2)
		R[$tool.hs_util]=$(calc "($c1 - $c0) * 100 / $CLK_TCK / ($t1 - $t0)" 0)
		echo "# $tool s_time: $n handshakes in $(calc "$t1 - $t0" 2) s, tool CPU ${R[$tool.hs_util]}%" >&2
	else
		warn "$tool s_time output: $out"
		FAILED=1
	fi
	stop "$TOOL_PID"
done

# ---------------------------------------------------------------- 2a: resumed handshakes (server mode)
for tool in "${TOOLS[@]}"; do
	read -r SP <<<"$(free_ports 1)"
	# TLS 1.2: openssl s_time never reads a TLS 1.3 ticket, so with TLS 1.3 it would not resume at all
	BENCH_TLS=TLSv1.2 run_tool "$tool" resume server "$SP" "$NGINX_PORT" || { FAILED=1; continue; }
	c0=$(cpu_ticks "$TOOL_PID") t0=$(now)
	out=$(timeout $((HS_SECS + 60)) openssl s_time -connect "127.0.0.1:$SP" -reuse -time "$HS_SECS" -tls1_2 2>&1)
	t1=$(now) c1=$(cpu_ticks "$TOOL_PID")
	n=$(sed -n 's/^\([0-9]*\) connections in [0-9]* real seconds.*/\1/p' <<<"$out")
	if [ -n "$n" ] && [ "$n" -gt 0 ] && alive "$tool"; then
		R[$tool.resume]=$(calc "$n / ($t1 - $t0)" 0)
		R[$tool.resume_cpu]=$(calc "($c1 - $c0) * 1000 / $CLK_TCK / $n" 2)
		echo "# $tool s_time -reuse: $n handshakes in $(calc "$t1 - $t0" 2) s" >&2
	else
		warn "$tool s_time -reuse output: $out"
		FAILED=1
	fi
	stop "$TOOL_PID"
done

# ---------------------------------------------------------------- 2b: what logging costs tlswrap's handshakes
# The same handshake run with debug = err (no per-connection lines) beside the notice run above: the
# per-handshake CPU difference is the cost of the two log lines per connection.
read -r SP <<<"$(free_ports 1)"
if TLSWRAP_DEBUG=err run_tool tlswrap handshake-quiet server "$SP" "$NGINX_PORT"; then
	c0=$(cpu_ticks "$TOOL_PID") t0=$(now)
	out=$(timeout $((HS_SECS + 60)) openssl s_time -connect "127.0.0.1:$SP" -new -time "$HS_SECS" -tls1_3 \
		-ciphersuites "$SUITE_OPENSSL" 2>&1)
	t1=$(now) c1=$(cpu_ticks "$TOOL_PID")
	n=$(sed -n 's/^\([0-9]*\) connections in [0-9]* real seconds.*/\1/p' <<<"$out")
	if [ -n "$n" ] && [ "$n" -gt 0 ] && [ -n "${R[tlswrap.hs_cpu]:-}" ]; then
		R[tlswrap.hs_quiet]=$(calc "$n / ($t1 - $t0)" 0)
		R[tlswrap.hs_quiet_cpu]=$(calc "($c1 - $c0) * 1000 / $CLK_TCK / $n" 3)
		echo "# tlswrap s_time at debug = err: $n handshakes, ${R[tlswrap.hs_quiet_cpu]} ms CPU each" >&2
	else
		warn "tlswrap (debug = err) s_time output: $out"
		FAILED=1
	fi
	stop "$TOOL_PID"
else
	FAILED=1
fi

# ---------------------------------------------------------------- 4: memory per idle established connection
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
	start "$T/$tool-idle-client.log" python3 "$T/idle_client.py" "$SP" "$N_IDLE" "$T/$tool-idle.ready" hold
	CLIENT_PID=$LAST_PID
	if wait_file "$T/$tool-idle.ready" $((N_IDLE / 20 + 60)) && alive "$tool"; then
		after=$(rss_kib "$TOOL_PID") th1=$(threads "$TOOL_PID") est=$(established "$SP")
		[ "$est" -ne "$N_IDLE" ] && note "$tool memory: $est established connections on the service port, expected $N_IDLE"
		R[$tool.mem]=$(calc "($after - $before) / $N_IDLE" 1)
		echo "# $tool memory: VmRSS $before -> $after KiB over $N_IDLE connections, threads $th0 -> $th1" >&2
		R[$tool.threads]="$th0 -> $th1"
	else
		warn "$tool memory: the idle client did not finish: $(tail -n 5 "$T/$tool-idle-client.log")"
		FAILED=1
	fi
	stop "$CLIENT_PID"
	stop "$TOOL_PID"
done

# ---------------------------------------------------------------- log sanity
# Per-connection error-level lines (informative: s_time and the idle client close without close_notify, and
# wrk stops with requests in flight). stunnel's own [ui] lines at shutdown are not counted.
for tool in "${TOOLS[@]}"; do
	for f in "$T/$tool"-*.log; do
		[ -f "$f" ] || continue
		case $tool in
		tlswrap) bad=$(grep -cE ' (EMERG|ALERT|CRIT|ERROR) ' "$f") ;;
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
# `stunnel -version` first prints "Initializing inetd mode configuration": take the version line itself
STUNNEL_VER=$("$STUNNEL" -version 2>&1 | grep -m1 '^stunnel ')
STUNNEL_SSL=$("$STUNNEL" -version 2>&1 | grep -m1 '^Running' | sed 's/  */ /g')
CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
MACHINE="$(nproc) cores ($CPU), $(. /etc/os-release && echo "$PRETTY_NAME")"
LOAD="$LOAD0 at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end"

# rows: key|label|unit|better (higher/lower)
ROWS=(
	"bulk|chain bulk, best of $BULK_RUNS|MB/s|higher"
	"hs|full handshakes (server mode)|conn/s|higher"
	"resume|resumed handshakes (server, TLS 1.2, s_time -reuse)|conn/s|higher"
	"rps|small requests, kept alive (chain, $WRK_CONNS conns)|req/s|higher"
	"mem|RSS per idle TLS connection (server mode, N=$N_IDLE)|KiB|lower"
	"bulk_cpu|  tool CPU per MB through the chain|ms/MB|lower"
	"hs_cpu|  tool CPU per full handshake|ms|lower"
	"resume_cpu|  tool CPU per resumed handshake|ms|lower"
	"rps_cpu|  tool CPU per small request (chain)|us|lower"
)
ratio() {
	local a=${R[tlswrap.$1]:-} b=${R[stunnel.$1]:-}
	if [ -n "$a" ] && [ -n "$b" ] && awk -v b="$b" 'BEGIN { exit !(b > 0) }'; then calc "$a / $b" 2; else echo n/a; fi
}
MD=$TOP/bench/out/latest.md
mkdir -p "$TOP/bench/out"
{
	echo "| metric | unit | tlswrap | stunnel | ratio tlswrap/stunnel | better |"
	echo "|---|---|---:|---:|---:|---|"
	for row in "${ROWS[@]}"; do
		IFS='|' read -r key label unit better <<<"$row"
		echo "| ${label# } | $unit | ${R[tlswrap.$key]:-n/a} | ${R[stunnel.$key]:-n/a} | $(ratio "$key") | $better |"
	done
} >"$T/table.md"

echo
echo "tlswrap vs stunnel ($MODE run): commit $COMMIT, $DATE"
echo "  $TLSWRAP_VER, $MBEDTLS; $STUNNEL_VER, $STUNNEL_SSL"
echo "  $MACHINE; load average $LOAD"
echo "  TLS 1.3, $SUITE_OPENSSL, EC P-256; backend nginx 1 worker; debug = notice in both"
echo
printf '%-52s %-7s %10s %10s %8s  %s\n' metric unit tlswrap stunnel ratio better
for row in "${ROWS[@]}"; do
	IFS='|' read -r key label unit better <<<"$row"
	printf '%-52s %-7s %10s %10s %8s  %s\n' "$label" "$unit" "${R[tlswrap.$key]:-n/a}" "${R[stunnel.$key]:-n/a}" \
		"$(ratio "$key")" "$better is better"
done
echo
echo "tool CPU use: bulk tlswrap ${R[tlswrap.bulk_util]:-?}% / stunnel ${R[stunnel.bulk_util]:-?}%," \
	"handshakes tlswrap ${R[tlswrap.hs_util]:-?}% / stunnel ${R[stunnel.hs_util]:-?}%," \
	"small requests tlswrap ${R[tlswrap.rps_util]:-?}% / stunnel ${R[stunnel.rps_util]:-?}% (100% = one core)"
echo "threads during the memory test: tlswrap ${R[tlswrap.threads]:-?}, stunnel ${R[stunnel.threads]:-?}" \
	"(stunnel as configured by default: a thread per connection)"
LOGCOST="tlswrap logging at notice (two lines per connection) vs err (none): handshakes ${R[tlswrap.hs]:-?} vs ${R[tlswrap.hs_quiet]:-?} conn/s, CPU per handshake ${R[tlswrap.hs_cpu]:-?} vs ${R[tlswrap.hs_quiet_cpu]:-?} ms"
if [ -n "${R[tlswrap.hs_quiet_cpu]:-}" ] && [ -n "${R[tlswrap.hs_cpu]:-}" ]; then
	LOGCOST="$LOGCOST: logging costs $(calc "(${R[tlswrap.hs_cpu]} - ${R[tlswrap.hs_quiet_cpu]}) * 100 / ${R[tlswrap.hs_quiet_cpu]}" 1)% of handshake CPU"
fi
echo "$LOGCOST"
for n in "${NOTES[@]}"; do echo "note: $n"; done

{
	echo "# tlswrap vs stunnel: bench/bench.sh ($MODE run)"
	echo
	echo "- commit: $COMMIT; date: $DATE"
	echo "- tlswrap: $TLSWRAP_VER, $MBEDTLS"
	echo "- stunnel: $STUNNEL_VER, $STUNNEL_SSL (default threading: a thread per connection)"
	echo "- machine: $MACHINE; load average $LOAD"
	echo "- TLS 1.3, $SUITE_OPENSSL, EC P-256 certificates; backend nginx (1 worker); both tools at debug = notice"
	echo
	cat "$T/table.md"
	echo
	echo "Tool CPU use (100% = one core): bulk tlswrap ${R[tlswrap.bulk_util]:-?}%, stunnel ${R[stunnel.bulk_util]:-?}%;" \
		"handshakes tlswrap ${R[tlswrap.hs_util]:-?}%, stunnel ${R[stunnel.hs_util]:-?}%;" \
		"small requests tlswrap ${R[tlswrap.rps_util]:-?}%, stunnel ${R[stunnel.rps_util]:-?}%."
	echo "Threads during the memory test (before -> after): tlswrap ${R[tlswrap.threads]:-?}, stunnel ${R[stunnel.threads]:-?}."
	echo
	echo "$LOGCOST."
	for n in "${NOTES[@]}"; do echo "- note: $n"; done
} >"$MD"
echo "(Markdown: $MD)"
exit "$FAILED"
