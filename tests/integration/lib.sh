# Shared helpers for integration tests. Source it; every test runs in its own temp dir, with ports
# chosen at run time and every process it starts killed on exit.
#   TLSWRAP        path to the built binary (set by make check; defaults to the build tree)
#   TESTS_SRCDIR   the tests/ directory of the source tree
set -u
: "${TLSWRAP:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/src/tlswrap}"
: "${TESTS_SRCDIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
export TLSWRAP TESTS_SRCDIR
T=$(mktemp -d /tmp/tlswrap-test.XXXXXX)
PIDS=()
PASSED=0
FAILED=0
TEST_NAME=$(basename "$0" .sh)

cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	if [ "$FAILED" -eq 0 ] && [ -z "${KEEP:-}" ]; then rm -rf "$T"; else echo "# kept $T" >&2; fi
}
trap cleanup EXIT

# bg CMD...: start CMD in the background (its output in $T/<n>.out), remember its pid in $LAST_PID
bg() {
	local n=${#PIDS[@]}
	"$@" >"$T/bg$n.out" 2>&1 &
	LAST_PID=$!
	PIDS+=("$LAST_PID")
}

ok() { PASSED=$((PASSED + 1)); echo "ok - $*"; }
not_ok() { FAILED=$((FAILED + 1)); echo "not ok - $*"; }
# check NAME CMD...: pass when CMD succeeds
check() {
	local name=$1; shift
	if "$@"; then ok "$name"; else not_ok "$name"; fi
}
# finish: print the closing line and exit with the status
finish() {
	echo "$TEST_NAME: $PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ]
	exit $?
}
skip_all() { echo "# SKIP $TEST_NAME: $*"; trap - EXIT; rm -rf "$T"; exit 77; }

# free_ports N: N distinct TCP ports nobody listens on right now, on one line. One python run for all of them
# (a python start costs a noticeable part of a second here); the sockets stay bound until every port is
# picked, so none comes twice.
# - No port is handed out twice within an hour, to this test or to any other running beside it (make check
#   -j2): a test may pick its ports long before it binds them, and another test's pick in between would
#   take them. The record is one file for all tests, under a lock: $PORTS_RECORD (port and time per line).
# - The ports are drawn below the kernel's ephemeral range (net.ipv4.ip_local_port_range): a port from that
#   range can be taken by the source port of any outgoing connection between the pick and the bind.
# - And below 30000: test_dropin.sh rewrites its corpus's placeholder ports 30000-30999 into chosen ones,
#   which must not look like them.
PORTS_RECORD=${PORTS_RECORD:-${TMPDIR:-/tmp}/tlswrap-test-ports}
free_ports() {
	python3 - "$1" "$PORTS_RECORD" <<-'PY'
	import fcntl, os, random, socket, sys, time
	n, rec = int(sys.argv[1]), sys.argv[2]
	now = time.time()
	with open(rec, "a+") as f:
	    fcntl.flock(f, fcntl.LOCK_EX)
	    f.seek(0)
	    recent = {}
	    for line in f:
	        w = line.split()
	        if len(w) == 2 and w[0].isdigit() and now - float(w[1]) < 3600:
	            recent[w[0]] = w[1]
	    try:
	        low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
	    except (OSError, ValueError, IndexError):
	        low = 32768
	    low = max(min(low, 30000), 12000)
	    held, ports = [], []
	    while len(ports) < n:
	        p = str(random.randrange(10000, low))
	        if p in recent:
	            continue
	        s = socket.socket()
	        try:
	            s.bind(("127.0.0.1", int(p)))
	        except OSError:
	            s.close()
	            continue
	        held.append(s)
	        recent[p] = "%.0f" % now
	        ports.append(p)
	    f.seek(0)
	    f.truncate()
	    f.write("".join("%s %s\n" % kv for kv in recent.items()))
	print(" ".join(ports))
	PY
}

# free_port: one such port
free_port() { free_ports 1; }

# wait_port PORT [SECONDS]: until something accepts on 127.0.0.1:PORT
wait_port() {
	local port=$1 deadline=$((SECONDS + ${2:-10}))
	while [ $SECONDS -le "$deadline" ]; do
		if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$port),0.5).close()" 2>/dev/null; then
			return 0
		fi
		sleep 0.05
	done
	echo "# port $port never opened" >&2
	return 1
}

# wait_log FILE PATTERN [SECONDS]: until FILE has a line matching the extended regex PATTERN
wait_log() {
	local file=$1 pat=$2 deadline=$((SECONDS + ${3:-10}))
	while [ $SECONDS -le "$deadline" ]; do
		grep -Eq -- "$pat" "$file" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "# no line matching '$pat' in $file:" >&2
	tail -n 20 "$file" >&2 2>/dev/null
	return 1
}

# eventually COMMAND...: until COMMAND succeeds (10 s), for state that arrives asynchronously
eventually() {
	local deadline=$((SECONDS + 10))
	until "$@"; do
		[ $SECONDS -le "$deadline" ] || return 1
		sleep 0.05
	done
}

# mark_log FILE, then wait_log_since_mark FILE PATTERN: as wait_log, for lines written after the mark
mark_log() { LOG_MARK=$(wc -l <"$1"); }
since_mark() { tail -n +$((LOG_MARK + 1)) "$1" | grep -Eq -- "$2"; }
wait_log_since_mark() {
	eventually since_mark "$1" "$2" && return 0
	echo "# no line matching '$2' in $1 after line $LOG_MARK" >&2
	return 1
}

# make_pki: a test CA and certificates in $T/pki (EC P-256):
#   ca.crt/key, server.crt/key (localhost, 127.0.0.1), client.crt/key (CN=client),
#   other-ca.crt with other.crt/key (an untrusted chain for localhost), wrong.crt/key (CN=wrong.example)
make_pki() {
	local d=$T/pki
	mkdir -p "$d"
	(
		cd "$d" || exit 1
		gen() { openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" -out "$1.csr" -subj "$2" 2>/dev/null; }
		sign() { # name ca ext
			printf '%s\n' "$3" >"$1.ext"
			openssl x509 -req -in "$1.csr" -CA "$2.crt" -CAkey "$2.key" -CAcreateserial -out "$1.crt" -days 30 -extfile "$1.ext" 2>/dev/null
		}
		for ca in ca other-ca; do
			openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$ca.key" -out "$ca.crt" \
				-days 30 -subj "/CN=tlswrap test $ca" 2>/dev/null
		done
		gen server "/CN=localhost" && sign server ca "subjectAltName=DNS:localhost,IP:127.0.0.1"
		gen client "/CN=client/O=tlswrap tests" && sign client ca "extendedKeyUsage=clientAuth"
		gen other "/CN=localhost" && sign other other-ca "subjectAltName=DNS:localhost,IP:127.0.0.1"
		gen wrong "/CN=wrong.example" && sign wrong ca "subjectAltName=DNS:wrong.example"
	) || { echo "# PKI generation failed" >&2; exit 1; }
	PKI=$d
}

# start_tlswrap CONF: run tlswrap in the foreground on CONF, log in $CONF.log; waits until it started
start_tlswrap() {
	local conf=$1
	# emptied here, not by the background job's redirection: that may run after wait_log has read a
	# previous run's 'started' line from the same file
	: >"$conf.log"
	"$TLSWRAP" -f "$conf" >>"$conf.log" 2>&1 &
	TLSWRAP_PID=$!
	PIDS+=("$TLSWRAP_PID")
	wait_log "$conf.log" 'started, pid' 10
}

# echo_server PORT: a threaded TCP echo server on 127.0.0.1:PORT (half-close aware)
echo_server() {
	bg python3 "$TESTS_SRCDIR/integration/echo_server.py" "$1"
	wait_port "$1"
}

# has FILE ERE: FILE has a line matching ERE
has() { grep -Eq -- "$2" "$1" 2>/dev/null; }

# stop_checked LOG [SECONDS]: SIGTERM the tlswrap that start_tlswrap started last: within SECONDS (10) it must
# log "tlswrap stopped" and exit 0 with no connection left open, and LOG must hold no sanitizer report
stop_checked() {
	local log=$1 rc p keep=()
	kill -TERM "$TLSWRAP_PID"
	if wait_log "$log" 'tlswrap stopped' "${2:-10}"; then
		wait "$TLSWRAP_PID"
		rc=$?
	else
		kill -KILL "$TLSWRAP_PID" 2>/dev/null
		wait "$TLSWRAP_PID"
		rc="hung after SIGTERM"
	fi
	for p in "${PIDS[@]}"; do [ "$p" = "$TLSWRAP_PID" ] || keep+=("$p"); done
	PIDS=("${keep[@]}")
	check "SIGTERM: tlswrap exits 0 (exit $rc)" [ "$rc" = 0 ]
	check "SIGTERM: no connection was left open" has "$log" 'shutting down \(0 connections open\)'
	check "no sanitizer report in the tlswrap log" eval "! has '$log' 'AddressSanitizer|LeakSanitizer|ThreadSanitizer|runtime error:'"
}
