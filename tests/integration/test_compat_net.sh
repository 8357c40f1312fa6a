#!/usr/bin/env bash
# stunnel's network options: failover = rr | prio over every address of every connect line, Unix domain
# sockets on both sides (modes, owners, stale and live files, removal, reloads), delay = yes (lookups per
# connection, names that change), local, socket = a|l|r:OPTION=VALUE seen with ss, and exec+connect in
# client mode (retry, pty). Backends answer "NAME PEER-ADDRESS" (net_peer.py named).
. "$(dirname "$0")/lib.sh"
# python3 may be a wrapper script (a pyenv shim costs 0.4 s a start): run the interpreter itself, here
# and in lib.sh's helpers
mkdir "$T/bin" && ln -s "$(python3 -c 'import sys; print(sys.executable)')" "$T/bin/python3" && PATH=$T/bin:$PATH
NP=(python3 "$TESTS_SRCDIR/integration/net_peer.py")
make_pki
CA=$PKI/ca.crt

# bg_out: the output file of the last process started with bg
bg_out() { echo "$T/bg$((${#PIDS[@]} - 1)).out"; }
# wait_addr HOST PORT: until something accepts on HOST:PORT (wait_port knows only 127.0.0.1)
wait_addr() {
	eventually python3 -c "import socket; socket.create_connection(('$1', $2), 0.5).close()" 2>/dev/null ||
		{ echo "# $1:$2 never opened" >&2; return 1; }
}
# line_of FILE TEXT: the number of the first line of FILE holding TEXT
line_of() { grep -nF -- "$2" "$1" | head -n 1 | cut -d: -f1; }
# firsts: the first word of each line of stdin, on one line
firsts() { awk '{ printf "%s ", $1 }'; }
# rotates OUTPUT NAME...: OUTPUT's first words go round NAME... in this order, from any starting point
rotates() {
	local out=$1 seq cycle="" i
	shift
	seq=$(firsts <<<"$out")
	for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17; do cycle+="$* "; done
	[[ $cycle == *"$seq"* ]] || { echo "# got: $seq" >&2; return 1; }
}
# count OUTPUT NAME: how many of OUTPUT's lines come from backend NAME
count() { grep -c "^$2 " <<<"$1"; }
# all_are OUTPUT LINE: OUTPUT has lines, and every one is LINE
all_are() { [ -n "$1" ] && ! grep -qvxF -- "$2" <<<"$1" || { echo "# got: $(tr '\n' '|' <<<"$1")" >&2; return 1; }; }
# failed_naming STATUS OUTPUT PATTERN: a start that failed (status not 0) with a message matching PATTERN
failed_naming() { [ "$1" -ne 0 ] && grep -q -- "$3" <<<"$2" || { echo "# status $1: $2" >&2; return 1; }; }
# stops PID LOG: SIGTERM, then the process ends (logged) with status 0
stops() {
	kill -TERM "$1" && wait_log "$2" 'tlswrap stopped' 15 && wait "$1"
}

# -- backends ------------------------------------------------------------------------------------------------
A=$(free_port); B=$(free_port); C=$(free_port); DEAD=$(free_port); HOLE=$(free_port)
E=$(free_port); E_KA=$(free_port)
bg "${NP[@]}" named A "127.0.0.1:$A"
bg "${NP[@]}" named B "127.0.0.1:$B"
bg "${NP[@]}" named C "127.0.0.1:$C"
bg "${NP[@]}" named U "$T/back.sock"
bg "${NP[@]}" blackhole "127.0.0.1:$HOLE"
HOLE_OUT=$(bg_out)
echo_server "$E"
echo_server "$E_KA"
for p in "$A" "$B" "$C"; do wait_port "$p"; done
wait_log "$HOLE_OUT" '^full$'
eventually test -S "$T/back.sock"
"${NP[@]}" stale "$T/dead.sock" # a socket file nobody listens on: connecting is refused

for v in S_PRIO S_RR S_PDOWN S_RDOWN S_RR16 S_TMO S_DRR S_LOCAL S_KA S_NOKA S_LBAD S_ECHO C_UOUT S_UDOWN S_DUONLY; do
	eval "$v=$(free_port)"
done
rr16_lines() { # 16 connect lines: 7 down, A, 7 down, B
	local i
	for i in 1 2 3 4 5 6 7; do echo "connect = 127.0.0.1:$DEAD"; done
	echo "connect = 127.0.0.1:$A"
	for i in 1 2 3 4 5 6 7; do echo "connect = 127.0.0.1:$DEAD"; done
	echo "connect = 127.0.0.1:$B"
}
conf=$T/net.conf
cat >"$conf" <<CONF
foreground = yes
debug = info
cert = $PKI/server.crt
key = $PKI/server.key

[prio]
accept = 127.0.0.1:$S_PRIO
connect = 127.0.0.1:$A
connect = 127.0.0.1:$B
[rr]
accept = 127.0.0.1:$S_RR
failover = rr
connect = 127.0.0.1:$A
connect = 127.0.0.1:$B
connect = 127.0.0.1:$C
[prio-down]
accept = 127.0.0.1:$S_PDOWN
failover = prio
connect = 127.0.0.1:$DEAD
connect = 127.0.0.1:$A
[rr-down]
accept = 127.0.0.1:$S_RDOWN
failover = rr
connect = 127.0.0.1:$DEAD
connect = 127.0.0.1:$A
[rr16]
accept = 127.0.0.1:$S_RR16
failover = rr
$(rr16_lines)
[timeout-next]
accept = 127.0.0.1:$S_TMO
TIMEOUTconnect = 1
connect = 127.0.0.1:$HOLE
connect = 127.0.0.1:$A
[delay-rr]
accept = 127.0.0.1:$S_DRR
delay = yes
failover = rr
connect = 127.0.0.1:$A
connect = 127.0.0.1:$B

[local]
accept = 127.0.0.1:$S_LOCAL
connect = 127.0.0.1:$A
local = 127.0.0.2

[unix-srv]
accept = $T/srv.sock
connect = $T/back.sock
[unix-down]
accept = 127.0.0.1:$S_UDOWN
connect = $T/dead.sock
connect = $T/missing.sock
connect = 127.0.0.1:$A
[delay-unix-only]
accept = 127.0.0.1:$S_DUONLY
delay = yes
connect = $T/back.sock
[unix-cli-in]
client = yes
accept = $T/cli.sock
connect = 127.0.0.1:$S_PRIO
CAfile = $CA
[unix-cli-out]
client = yes
accept = 127.0.0.1:$C_UOUT
connect = $T/srv.sock
CAfile = $CA
checkHost = localhost
[unix-owned]
client = yes
accept = $T/owned.sock
connect = 127.0.0.1:$S_PRIO
CAfile = $CA
setuid = daemon
setgid = bin
[unix-group]
client = yes
accept = $T/group.sock
connect = 127.0.0.1:$S_PRIO
CAfile = $CA
setgid = bin

[ka]
accept = 127.0.0.1:$S_KA
connect = 127.0.0.1:$E_KA
socket = l:SO_KEEPALIVE=yes
socket = l:TCP_KEEPIDLE=7
socket = r:SO_KEEPALIVE=yes
socket = r:TCP_KEEPIDLE=9
socket = a:SO_RCVBUF=32768
[no-ka]
accept = 127.0.0.1:$S_NOKA
connect = 127.0.0.1:$E
[l-baddev]
accept = 127.0.0.1:$S_LBAD
connect = 127.0.0.1:$A
socket = l:SO_BINDTODEVICE=nosuchdev0
CONF
LOG=$conf.log
quiet() { "$@" >/dev/null; }
check "--check accepts the configuration (16 connect lines, Unix sockets, socket options)" quiet "$TLSWRAP" --check "$conf"
umask_was=$(umask)
umask 027
start_tlswrap "$conf" || { not_ok "tlswrap starts"; finish; }
MAIN_PID=$TLSWRAP_PID
umask "$umask_was"

# -- exec+connect (client mode): its own instance, started now, checked further down ------------------------------
cat >"$T/prog.sh" <<'SH'
#!/bin/sh
# exec+connect program: say hello through TLS, read it back from the echo server, record what it saw
if [ -t 0 ]; then tty=tty; stty raw -echo; else tty=notty; fi
echo "hello from $1"
read -r line
echo "$(date +%s.%N) $1 $tty got=$line" >>"$2"
SH
chmod 755 "$T/prog.sh"
: >"$T/exec.out"
exec_section() { # NAME OPTION...
	local name=$1
	shift
	printf '[%s]\nclient = yes\nexec = %s\nexecArgs = prog.sh %s %s\nconnect = 127.0.0.1:%s\nCAfile = %s\n' \
		"$name" "$T/prog.sh" "$name" "$T/exec.out" "$S_ECHO" "$CA"
	printf '%s\n' "$@"
}
econf=$T/exec.conf
{
	printf 'foreground = yes\ndebug = info\n'
	printf '[echo]\naccept = 127.0.0.1:%s\nconnect = 127.0.0.1:%s\ncert = %s\nkey = %s\n' "$S_ECHO" "$E" "$PKI/server.crt" "$PKI/server.key"
	exec_section again "retry = yes"
	exec_section once "retry = no"
	exec_section pty "pty = yes"
	printf '[down]\nclient = yes\nexec = /bin/cat\nconnect = 127.0.0.1:%s\nretry = yes\n' "$DEAD"
} >"$econf"
start_tlswrap "$econf" || not_ok "exec+connect instance starts"
EXEC_PID=$TLSWRAP_PID

# -- failover -------------------------------------------------------------------------------------------------
out=$("${NP[@]}" ask "127.0.0.1:$S_PRIO" 6 "$CA")
check "failover = prio (default): every connection goes to the first address" all_are "$out" "A 127.0.0.1"
out=$("${NP[@]}" ask "127.0.0.1:$S_RR" 9 "$CA")
check "failover = rr: 9 connections over 3 backends, 3 each (A=$(count "$out" A) B=$(count "$out" B) C=$(count "$out" C))" \
	test "$(count "$out" A)$(count "$out" B)$(count "$out" C)" = 333
check "failover = rr: each connection starts one address further, in connect order" rotates "$out" A B C
out=$("${NP[@]}" ask "127.0.0.1:$S_PDOWN" 4 "$CA")
check "prio, first backend down: every connection reaches the second" all_are "$out" "A 127.0.0.1"
check "prio, first backend down: each connection tries the first address again (4 refusals logged)" \
	test "$(grep -c "\[prio-down\] #[0-9]* connect 127.0.0.1:$DEAD: Connection refused; trying the next address" "$LOG")" = 4
out=$("${NP[@]}" ask "127.0.0.1:$S_RDOWN" 4 "$CA")
check "rr, first backend down: every connection reaches the second" all_are "$out" "A 127.0.0.1"
check "rr, first backend down: the failed attempt is logged, naming the address" \
	grep -q "\[rr-down\] #[0-9]* connect 127.0.0.1:$DEAD: Connection refused; trying the next address" "$LOG"
out=$("${NP[@]}" ask "127.0.0.1:$S_RR16" 16 "$CA")
check "rr over 16 connect lines (14 down), wrapping round: A and B get 8 of 16 each (A=$(count "$out" A) B=$(count "$out" B))" \
	test "$(count "$out" A):$(count "$out" B)" = 8:8
out=$("${NP[@]}" ask "127.0.0.1:$S_TMO" 1 "$CA")
check "an address that times out (TIMEOUTconnect): the next one is tried" all_are "$out" "A 127.0.0.1"
check "the timeout is logged, naming the address" \
	grep -q "\[timeout-next\] #[0-9]* connect 127.0.0.1:$HOLE: timed out after 1s (TIMEOUTconnect)" "$LOG"
out=$("${NP[@]}" ask "127.0.0.1:$S_DRR" 6 "$CA")
check "delay = yes with failover = rr still alternates (A=$(count "$out" A) B=$(count "$out" B))" rotates "$out" A B
cfg17=$T/c17.conf
{
	printf 'foreground = yes\n[x]\nclient = yes\naccept = 127.0.0.1:%s\n' "$DEAD" # --check binds nothing
	for i in $(seq 17); do echo "connect = 127.0.0.1:$DEAD"; done
} >"$cfg17"
out=$("$TLSWRAP" --check "$cfg17" 2>&1)
check "a 17th connect line is refused, naming its line" grep -q "c17.conf:$(grep -n '^connect' "$cfg17" | sed -n '17s/:.*//p'): connect" <<<"$out"

# -- local ------------------------------------------------------------------------------------------------------
out=$("${NP[@]}" ask "127.0.0.1:$S_LOCAL" 2 "$CA")
check "local = 127.0.0.2: the backend sees connections from 127.0.0.2" all_are "$out" "A 127.0.0.2"

# -- Unix domain sockets -----------------------------------------------------------------------------------------
out=$("${NP[@]}" ask "$T/srv.sock" 2 "$CA")
check "server mode: accept = /path and connect = /path carry a connection" all_are "$out" "U unix"
check "server mode: the log shows the Unix peer as 'unix socket' and the target as its path" \
	grep -Eq "\[unix-srv\] #[0-9]+ unix socket: established .* to $T/back\.sock" "$LOG"
out=$("${NP[@]}" ask "127.0.0.1:$S_UDOWN" 1 "$CA")
check "connect = /path down (refused, missing): failover goes on to the next address" all_are "$out" "A 127.0.0.1"
check "the failed Unix targets are logged by path" bash -c 'grep -q "\[unix-down\] #[0-9]* connect $1/dead.sock: Connection refused" "$2" &&
	grep -q "\[unix-down\] #[0-9]* connect $1/missing.sock: No such file or directory" "$2"' _ "$T" "$LOG"
out=$("${NP[@]}" ask "127.0.0.1:$S_DUONLY" 1 "$CA")
check "delay = yes with only Unix connect lines: the connection reaches the socket" all_are "$out" "U unix"
check "delay = yes with only Unix connect lines: no lookup (nothing logged as 'no addresses')" \
	bash -c '! grep -q "\[delay-unix-only\] .*no addresses" "$1"' _ "$LOG"
check "delay = yes with only Unix connect lines: the start-up line does not say 'looked up per connection'" \
	bash -c 'grep "\[delay-unix-only\] server mode: accepting" "$1" | grep -qv "looked up per connection"' _ "$LOG"
out=$("${NP[@]}" ask "$T/cli.sock" 1)
check "client mode: accept = /path takes plaintext clients" all_are "$out" "A 127.0.0.1"
out=$("${NP[@]}" ask "127.0.0.1:$C_UOUT" 1)
check "client mode: connect = /path reaches a TLS server on a Unix socket" all_are "$out" "U unix"
check "client mode: the log names the Unix target by its path" \
	grep -Eq "\[unix-cli-out\] #[0-9]+ 127\.0\.0\.1:[0-9]+: established .* to $T/srv\.sock" "$LOG"
check "the socket file's mode is 0777 & ~umask (umask 027: srwxr-x---)" test "$(stat -c %A "$T/srv.sock")" = srwxr-x---
check "setuid/setgid in the section own the socket file (daemon:bin)" test "$(stat -c %U:%G "$T/owned.sock")" = daemon:bin
check "setgid alone in the section: group bin, owner unchanged" test "$(stat -c %U:%G "$T/group.sock")" = root:bin
check "no section setuid/setgid and none global: owned by tlswrap's user" test "$(stat -c %U:%G "$T/cli.sock")" = root:root

# a symbolic link put at the socket's path between bind and the owner change (a race a local user may win in a
# directory it can write to): the change must not follow the link to the file it names. A preloaded bind()
# makes the swap at that moment.
if command -v cc >/dev/null; then
	cat >"$T/swap.c" <<'C'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
int bind(int fd, const struct sockaddr *sa, socklen_t len)
{
	int (*real)(int, const struct sockaddr *, socklen_t) = (int (*)(int, const struct sockaddr *, socklen_t))dlsym(RTLD_NEXT, "bind");
	const char *path = getenv("SWAP_PATH"), *target = getenv("SWAP_TARGET");
	int rc = real(fd, sa, len);
	if (rc == 0 && sa->sa_family == AF_UNIX && path && target && strcmp(((const struct sockaddr_un *)sa)->sun_path, path) == 0 &&
	    unlink(path) == 0 && symlink(target, path) < 0)
		return -1;
	return rc;
}
C
	cc -shared -fPIC -o "$T/swap.so" "$T/swap.c" -ldl
	: >"$T/victim"
	sconf=$T/swap.conf
	printf 'foreground = yes\n[swap]\nclient = yes\naccept = %s\nconnect = 127.0.0.1:%s\nCAfile = %s\nsetuid = daemon\nsetgid = bin\n' \
		"$T/swap.sock" "$S_PRIO" "$CA" >"$sconf"
	if SWAP_PATH=$T/swap.sock SWAP_TARGET=$T/victim LD_PRELOAD=$T/swap.so \
		ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 start_tlswrap "$sconf"; then
		check "a symbolic link swapped in after bind: the file it names keeps its owner (root:root)" \
			test "$(stat -c %U:%G "$T/victim")" = root:root
		check "a symbolic link swapped in after bind: the link itself is what changes owner" \
			test "$(stat -c %U:%G "$T/swap.sock")" = daemon:bin
		check "symbolic link instance: SIGTERM, status 0" stops "$TLSWRAP_PID" "$sconf.log"
	else
		not_ok "tlswrap starts with a bind() that swaps in a symbolic link"
	fi
else
	echo "# SKIP the symbolic link check: no C compiler"
fi

# -- socket options, seen with ss ---------------------------------------------------------------------------------
# keepalive_left FILTER: seconds left on the keepalive timer of the established socket matching the ss FILTER
# ("none" without one; ss writes 5.056ms for 5 s in some versions, 5.056sec or 119min in others)
keepalive_left() {
	local t
	t=$(ss -tnoH state established "$1" | grep -o 'timer:(keepalive,[^,]*' | head -n 1)
	t=${t#timer:(keepalive,}
	case $t in
	"") echo none ;;
	*min* | *h*) echo 9999 ;;
	*.*) echo "${t%%.*}" ;;
	*ms) echo 0 ;;
	*) echo "${t%%[a-z]*}" ;;
	esac
}
keepalive_within() { local left; left=$(keepalive_left "$1"); [ "$left" != none ] && [ "$left" -le "$2" ]; }
bg "${NP[@]}" hold "127.0.0.1:$S_KA" "$CA"
KA_OUT=$(bg_out)
KA_PID=$LAST_PID
bg "${NP[@]}" hold "127.0.0.1:$S_NOKA" "$CA"
NOKA_OUT=$(bg_out)
NOKA_PID=$LAST_PID
wait_log "$KA_OUT" '^held$' && wait_log "$NOKA_OUT" '^held$'
check "l:SO_KEEPALIVE + l:TCP_KEEPIDLE=7: keepalive timer (<= 7 s) on the accepted connection" \
	eventually keepalive_within "( sport = :$S_KA )" 7
check "r:SO_KEEPALIVE + r:TCP_KEEPIDLE=9: keepalive timer (<= 9 s) on the outgoing connection" \
	eventually keepalive_within "( dport = :$E_KA )" 9
check "control: an accepted connection without socket options has no keepalive timer" \
	test "$(ss -tnoH state established "( sport = :$S_NOKA )" | wc -l):$(keepalive_left "( sport = :$S_NOKA )")" = 1:none
check "a:SO_RCVBUF=32768 on the listener (ss -ltm: rb65536)" grep -q 'rb65536,' <<<"$(ss -ltmH "( sport = :$S_KA )")"
check "control: the listener without it has another receive buffer" bash -c "! ss -ltmH '( sport = :$S_NOKA )' | grep -q 'rb65536,'"
kill "$KA_PID" "$NOKA_PID" # the held connections end
out=$("${NP[@]}" ask "127.0.0.1:$S_LBAD" 1 "$CA")
check "l: option that fails when applied: the connection goes on" all_are "$out" "A 127.0.0.1"
check "l: option that fails when applied: a warning names it" \
	grep -Eq 'WARN \[l-baddev\] #[0-9]+ socket l:SO_BINDTODEVICE=nosuchdev0: No such device' "$LOG"
bad=$T/badopt.conf
printf 'foreground = yes\n[x]\nclient = yes\naccept = 127.0.0.1:%s\nconnect = 127.0.0.1:%s\nsocket = l:SO_KEEPALIVE=maybe\n' \
	"$DEAD" "$A" >"$bad" # --check binds nothing
out=$("$TLSWRAP" --check "$bad" 2>&1)
check "a bad socket option value is refused at load, naming the line of socket" \
	grep -q "badopt.conf:$(line_of "$bad" 'socket =')"': socket: SO_KEEPALIVE' <<<"$out"
bad=$T/baddev.conf
printf 'foreground = yes\n[x]\nclient = yes\naccept = 127.0.0.1:%s\nconnect = 127.0.0.1:%s\nsocket = a:SO_RCVBUF=32768\nsocket = a:SO_BINDTODEVICE=nosuchdev0\nsocket = l:SO_KEEPALIVE=yes\n' \
	"$(free_port)" "$A" >"$bad"
out=$(timeout 10 "$TLSWRAP" -f "$bad" 2>&1)
rc=$?
check "a: option that fails when applied: start-up fails (status $rc), naming its socket line (of three)" \
	failed_naming "$rc" "$out" "baddev.conf:$(line_of "$bad" 'SO_BINDTODEVICE')"': .*socket a:SO_BINDTODEVICE=nosuchdev0: No such device'

# -- exec+connect results ------------------------------------------------------------------------------------------
runs() { grep -c " $1 " "$T/exec.out"; } # how many times program NAME ran to its end
three_runs() { [ "$(runs again)" -ge 3 ]; }
check "exec+connect: tlswrap survives starting the programs" kill -0 "$EXEC_PID"
check "exec+connect, retry = yes: the program is started again after it ends (3 runs)" eventually three_runs
check "exec+connect: the program talked through the TLS connection" grep -q ' again notty got=hello from again$' "$T/exec.out"
gaps_ok() { # about 1 s between the end of one run and the next (each run takes a few ms)
	grep ' again ' "$T/exec.out" | awk 'NR > 1 { d = $1 - prev; if (d < 0.9 || d > 5) { print "# gap " d > "/dev/stderr"; bad = 1 } }
		{ prev = $1 } END { exit bad }'
}
check "retry = yes: restarted about 1 s after the program ended" gaps_ok
check "retry = no: run once" test "$(runs once)" = 1
check "retry = no: logged as not restarted" wait_log "$econf.log" '\[once\] exec\+connect ended; not restarted \(retry = no\)'
check "without pty the program's stdin is not a terminal" grep -q ' once notty got=hello from once$' "$T/exec.out"
check "pty = yes: the program's stdin is a terminal, and it talks through it" grep -q ' pty tty got=hello from pty$' "$T/exec.out"
down_attempts() { [ "$(grep -c "\[down\] #[0-9]* .*connect failed: 127.0.0.1:$DEAD: Connection refused" "$econf.log")" -ge 3 ]; }
check "retry = yes with the target down: it keeps trying, each attempt logged" eventually down_attempts
check "retry = yes with the target down: SIGTERM stops it (status 0)" stops "$EXEC_PID" "$econf.log"

# -- Unix sockets: stale, live and regular files; reloads ---------------------------------------------------------
"${NP[@]}" stale "$T/keep.sock"
rconf=$T/reload.conf
unix_conf() { # the reload instance (server mode: a bare connect and close costs it no backend connection):
	# [keep] always, [drop] when $1 = with-drop
	printf 'foreground = yes\ndebug = info\ncert = %s\nkey = %s\n' "$PKI/server.crt" "$PKI/server.key"
	printf '[keep]\naccept = %s\nconnect = 127.0.0.1:%s\n' "$T/keep.sock" "$A"
	[ "${1:-}" = with-drop ] && printf '[drop]\naccept = %s\nconnect = 127.0.0.1:%s\n' "$T/drop.sock" "$A"
	return 0
}
unix_conf with-drop >"$rconf"
check "a stale socket file (nobody listening) is replaced at start" start_tlswrap "$rconf"
RELOAD_PID=$TLSWRAP_PID
out=$("${NP[@]}" ask "$T/keep.sock" 1 "$CA")
check "and the new listener serves" all_are "$out" "A 127.0.0.1"
bg "${NP[@]}" hammer "$T/keep.sock" "$T/stop-hammer"
HAMMER_OUT=$(bg_out)
wait_log "$HAMMER_OUT" '^started$'
inode=$(stat -c %i "$T/keep.sock")
for i in 1 2 3; do
	mark_log "$rconf.log"
	kill -HUP "$RELOAD_PID"
	wait_log_since_mark "$rconf.log" 'SIGHUP: configuration reloaded \(2 services' || not_ok "SIGHUP reload $i (same configuration) completes"
done
touch "$T/stop-hammer"
wait_log "$HAMMER_OUT" '^ok=' 15
check "reload keeping the path keeps the listener: no client refused ($(tail -n 1 "$HAMMER_OUT"))" \
	grep -Eq '^ok=[1-9][0-9]* failed=0$' "$HAMMER_OUT"
check "reload keeping the path keeps the listener: the same socket file (inode)" test "$(stat -c %i "$T/keep.sock")" = "$inode"
unix_conf >"$rconf"
mark_log "$rconf.log"
kill -HUP "$RELOAD_PID"
wait_log_since_mark "$rconf.log" 'SIGHUP: configuration reloaded \(1 service'
check "a reload that drops the service removes its socket file" eventually test ! -e "$T/drop.sock"
out=$("${NP[@]}" ask "$T/keep.sock" 1 "$CA")
check "the kept service still serves after the reloads" all_are "$out" "A 127.0.0.1"
check "reload instance: SIGTERM, status 0" stops "$RELOAD_PID" "$rconf.log"
check "SIGTERM removes the socket file" test ! -e "$T/keep.sock"

bg "${NP[@]}" named live "$T/live.sock"
eventually test -S "$T/live.sock"
: >"$T/regular"
for what in live.sock regular; do
	bad=$T/$what.conf
	printf 'foreground = yes\n[x]\nclient = yes\naccept = %s\nconnect = 127.0.0.1:%s\n' "$T/$what" "$A" >"$bad"
	out=$(timeout 10 "$TLSWRAP" -f "$bad" 2>&1)
	rc=$?
	case $what in
	live.sock) check "a live socket file (another listener): start fails (status $rc) with 'Address already in use' naming the accept line" \
		failed_naming "$rc" "$out" "live.sock.conf:$(line_of "$bad" 'accept =')"": \[x\] accept $T/live.sock: Address already in use" ;;
	regular) check "a regular file at the path: start fails (status $rc), naming the accept line" \
		failed_naming "$rc" "$out" "regular.conf:$(line_of "$bad" 'accept =')"': \[x\] accept ' ;;
	esac
done
check "the regular file is left alone" test -f "$T/regular" -a ! -S "$T/regular"
check "the other process's socket is left alone" all_are "$("${NP[@]}" ask "$T/live.sock" 1)" "live unix"

# global setuid/setgid: tlswrap runs as daemon, so the socket goes in a directory daemon may write to
chmod 711 "$T"
mkdir "$T/gdir" && chown daemon:bin "$T/gdir"
gconf=$T/global-owner.conf
printf 'foreground = yes\ndebug = info\nsetuid = daemon\nsetgid = bin\n[g]\nclient = yes\naccept = %s\nconnect = 127.0.0.1:%s\nCAfile = %s\n' \
	"$T/gdir/global.sock" "$S_PRIO" "$CA" >"$gconf"
if start_tlswrap "$gconf"; then
	check "no setuid/setgid in the section: the global ones own the socket file (daemon:bin)" \
		test "$(stat -c %U:%G "$T/gdir/global.sock")" = daemon:bin
	out=$("${NP[@]}" ask "$T/gdir/global.sock" 1)
	check "global setuid: the socket serves" all_are "$out" "A 127.0.0.1"
	check "global setuid: SIGTERM, status 0" stops "$TLSWRAP_PID" "$gconf.log"
	check "global setuid: SIGTERM removes the socket file (as daemon)" test ! -e "$T/gdir/global.sock"
else
	not_ok "tlswrap starts with a global setuid/setgid"
fi

# delay = yes with a Unix connect line among the names (its own instance: it has crashed tlswrap)
S_DU=$(free_port)
duconf=$T/delay-unix.conf
printf 'foreground = yes\ndebug = info\ncert = %s\nkey = %s\n[delay-unix]\naccept = 127.0.0.1:%s\ndelay = yes\nconnect = %s\nconnect = 127.0.0.1:%s\n' \
	"$PKI/server.crt" "$PKI/server.key" "$S_DU" "$T/back.sock" "$A" >"$duconf"
if start_tlswrap "$duconf"; then
	DU_PID=$TLSWRAP_PID
	out=$("${NP[@]}" ask "127.0.0.1:$S_DU" 1 "$CA")
	check "delay = yes with a Unix connect line first: the connection reaches that socket" all_are "$out" "U unix"
	check "delay = yes with a Unix connect line: tlswrap still running" kill -0 "$DU_PID"
else
	not_ok "tlswrap starts with delay = yes and a Unix connect line"
fi

# -- delay = yes: names looked up per connection, in a mount namespace with a private /etc/hosts --------------------
P=$(free_port)
bg "${NP[@]}" named one "127.0.0.1:$P"
bg "${NP[@]}" named two "127.0.0.2:$P"
wait_addr 127.0.0.1 "$P" && wait_addr 127.0.0.2 "$P"
hosts() { # hosts LINE...: the private hosts file, rewritten in place (the bind mount follows the inode)
	printf '# tlswrap test hosts\n127.0.0.1 localhost\n127.0.0.1 multi.tlswrap-test\n127.0.0.2 multi.tlswrap-test\n' >"$T/hosts.new"
	printf '%s\n' "$@" >>"$T/hosts.new"
	cat "$T/hosts.new" >"$T/hosts"
}
hosts
# only the hosts file answers in there: no DNS, so a missing name fails at once, the same everywhere
sed 's/^hosts:.*/hosts: files/' /etc/nsswitch.conf >"$T/nsswitch.conf" 2>/dev/null
# shellcheck disable=SC2016 # expanded by the inner sh
NS_SH='mount --bind "$0/hosts" /etc/hosts && { [ ! -e /etc/nsswitch.conf ] || mount --bind "$0/nsswitch.conf" /etc/nsswitch.conf; } && exec "$@"'
IN_NS=(unshare --mount -- sh -c "$NS_SH" "$T") # then the command
S_D=$(free_port); S_DMULTI=$(free_port)
dconf=$T/delay.conf
cat >"$dconf" <<CONF
foreground = yes
debug = info
cert = $PKI/server.crt
key = $PKI/server.key
[delayed]
accept = 127.0.0.1:$S_D
delay = yes
connect = backend.tlswrap-test:$P
[delayed-rr]
accept = 127.0.0.1:$S_DMULTI
delay = yes
failover = rr
connect = multi.tlswrap-test:$P
CONF
S_ND=$(free_port)
ndconf=$T/nodelay.conf
printf 'foreground = yes\ndebug = info\ncert = %s\nkey = %s\n[nodelay]\naccept = 127.0.0.1:%s\nconnect = 127.0.0.1:%s\nconnect = nosuch.tlswrap-test:%s\nconnect = 127.0.0.1:%s\n' \
	"$PKI/server.crt" "$PKI/server.key" "$S_ND" "$A" "$P" "$B" >"$ndconf"
# nodelay_checks [PREFIX...]: without delay, a name that does not resolve at start (it does not exist) engages
# delay, as stunnel does, with a warning naming its line; PREFIX runs tlswrap (in the private namespace)
nodelay_checks() {
	local warn="WARN [^ ]*/nodelay\.conf:$(line_of "$ndconf" nosuch): \[nodelay\] connect nosuch\.tlswrap-test:$P: .*; looking it up for each connection instead \(as delay = yes\)"
	out=$(timeout 10 "$@" "$TLSWRAP" --check "$ndconf" 2>&1)
	rc=$?
	check "without delay, a name that does not resolve: --check passes (status $rc)" test "$rc" = 0
	check "without delay, a name that does not resolve: --check warns, naming its connect line (the 2nd of 3)" \
		grep -Eq -- "$warn" <<<"$out"
	bg "$@" "$TLSWRAP" -f "$ndconf"
	local log pid=$LAST_PID
	log=$(bg_out)
	if wait_log "$log" 'started, pid'; then
		ok "without delay, a name that does not resolve: tlswrap starts"
		check "the start logs the warning, naming the connect line" has "$log" "$warn"
		check "the start-up line says the names are looked up per connection" \
			has "$log" '\[nodelay\] server mode: accepting on 127\.0\.0\.1:[0-9]+, connecting to 127\.0\.0\.1:[0-9]+ \(and more\) \(looked up per connection\)'
		out=$("${NP[@]}" ask "127.0.0.1:$S_ND" 2 "$CA")
		check "connections go to the first line's address, looking the names up each time" all_are "$out" "A 127.0.0.1"
		check "nodelay instance: SIGTERM, status 0" stops "$pid" "$log"
	else
		not_ok "without delay, a name that does not resolve: tlswrap starts"
	fi
}
if ! "${IN_NS[@]}" grep -q 'tlswrap test hosts' /etc/hosts 2>/dev/null; then
	echo "# SKIP delay = yes name checks: cannot bind-mount a private /etc/hosts (unshare --mount)"
	nodelay_checks
else
	nodelay_checks "${IN_NS[@]}"
	check "delay = yes: --check passes while the name does not resolve" quiet "${IN_NS[@]}" "$TLSWRAP" --check "$dconf"
	bg "${IN_NS[@]}" "$TLSWRAP" -f "$dconf"
	DLOG=$(bg_out)
	D_PID=$LAST_PID
	if wait_log "$DLOG" 'started, pid'; then
		ok "delay = yes: tlswrap starts while the name does not resolve"
		out=$("${NP[@]}" ask "127.0.0.1:$S_D" 1 "$CA")
		check "delay = yes, name unknown: the connection gets nothing" \
			bash -c '[ "$(wc -l <<<"$1")" = 1 ] && grep -Eq "^(<nothing>|ERR )" <<<"$1"' _ "$out"
		check "delay = yes, name unknown: the lookup error is logged" \
			wait_log "$DLOG" '\[delayed\] #[0-9]+ .*connect failed: backend\.tlswrap-test.*(Name or service not known|No address associated)'
		hosts "127.0.0.1 backend.tlswrap-test"
		out=$("${NP[@]}" ask "127.0.0.1:$S_D" 1 "$CA")
		check "delay = yes: once the name resolves, connections succeed" all_are "$out" "one 127.0.0.1"
		hosts "127.0.0.2 backend.tlswrap-test"
		out=$("${NP[@]}" ask "127.0.0.1:$S_D" 1 "$CA")
		check "delay = yes: connections follow the name to its new address" all_are "$out" "two 127.0.0.1"
		out=$("${NP[@]}" ask "127.0.0.1:$S_DMULTI" 6 "$CA")
		check "delay = yes + rr over the addresses of one name: alternates" rotates "$out" one two
		check "delay instance: SIGTERM, status 0" stops "$D_PID" "$DLOG"
	else
		not_ok "delay = yes: tlswrap starts while the name does not resolve"
	fi
fi

# -- the main instance stops and cleans up -------------------------------------------------------------------------
check "main instance alive after all of the above" kill -0 "$MAIN_PID"
check "SIGTERM: status 0" stops "$MAIN_PID" "$LOG"
check "SIGTERM removes the listening socket files" \
	bash -c '! ls -d "$1"/srv.sock "$1"/cli.sock "$1"/owned.sock "$1"/group.sock 2>/dev/null | grep .' _ "$T"
check "and leaves the backend's socket file alone" test -S "$T/back.sock"
finish
