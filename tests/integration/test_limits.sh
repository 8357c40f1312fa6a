#!/usr/bin/env bash
# Limits and floods: maxConnections per service and global (the next client waits in the backlog, unanswered,
# and is served when a connection ends; one log line when the limit is reached and one when accepting
# resumes; /metrics shows the limit, the count and the time at the limit), with one worker and with two, and
# across a reload; maxHandshakes (the oldest stalled connection is pushed out); and the log's rate limit
# under a flood of plain-TCP clients (the lines and the summaries add up to the flood).
. "$(dirname "$0")/lib.sh"
make_pki
C=$T/lc.py
cp "$TESTS_SRCDIR/integration/limits_client.py" "$C"
read -r E S1 S2 M G1 G2 H F F2 <<<"$(free_ports 9)"
echo_server "$E"
metric() { python3 "$TESTS_SRCDIR/integration/status_client.py" "$M" 2>/dev/null | grep -E "^$1 " | awk '{print $2}'; }
svc() { # svc NAME PORT [OPTIONS]: a server section
	printf '[%s]\naccept = 127.0.0.1:%s\nconnect = 127.0.0.1:%s\ncert = %s\nkey = %s\n%s\n' "$1" "$2" "$E" \
		"$PKI/server.crt" "$PKI/server.key" "${3:-}"
}

# hold_one_more NAME PORT N LOG: N clients hold [NAME]'s places, the next one waits and is served after one ends
hold_one_more() {
	local name=$1 port=$2 n=$3 log=$4 d
	d=$(mktemp -d "$T/hold.XXXX")
	mark_log "$log"
	python3 "$C" hold "$port" "$PKI/ca.crt" "$n" "$d" >"$d/out" 2>&1 &
	local pid=$!
	eventually test -e "$d/waiting"
	check "$name: the client after $n connects into the backlog and gets no TLS answer" grep -qx nothing "$d/waiting"
	HOLD_DIR=$d
	HOLD_PID=$pid
}
release() { # release NAME: one held client ends; the waiting one must be served
	touch "$HOLD_DIR/go"
	wait "$HOLD_PID"
	check "$1: the waiting client is served once a connection ends ($(cat "$HOLD_DIR/out"))" test $? -eq 0
}

# ---- a service's limit, one worker ----
{
	echo "foreground = yes"; echo "status = 127.0.0.1:$M"; echo "workers = 1"
	svc lim "$S1" "maxConnections = 3"; svc free "$S2"
} >"$T/a.conf"
start_tlswrap "$T/a.conf" || { not_ok "tlswrap starts"; finish; }
L=$T/a.conf.log
check "metrics: the limit of [lim]" test "$(metric 'tlswrap_max_connections\{service="lim"\}')" = 3
check "metrics: [free] has none (0)" test "$(metric 'tlswrap_max_connections\{service="free"\}')" = 0
hold_one_more lim "$S1" 3 "$L"
check "log: the limit reached, once" test "$(grep -c '\[lim\] maxConnections = 3 reached' "$L")" = 1
check "metrics: 3 connections counted against it" test "$(metric 'tlswrap_limited_connections\{service="lim"\}')" = 3
check "[free] still serves while [lim] is full" python3 "$TESTS_SRCDIR/integration/tls_client.py" tls "$S2" "$PKI/ca.crt"
sleep 0.3 # time at the limit must show, in whole milliseconds
release "[lim]"
check "log: accepting again, with how long it lasted" has "$L" '\[lim\] accepting again after [0-9]+\.[0-9]{3}s at maxConnections = 3'
check "log: one line per episode (one reached, one resumed)" test "$(grep -c '\[lim\] \(maxConnections = 3 reached\|accepting again\)' "$L")" = 2
t=$(metric 'tlswrap_max_connections_reached_seconds_total\{service="lim"\}')
check "metrics: seconds spent at the limit ($t) counted" python3 -c "import sys; sys.exit(not 0.25 <= float('$t') < 60)"
eventually test "$(metric 'tlswrap_limited_connections\{service="lim"\}')" = 0
check "metrics: the count is back to 0 when every client has gone" test "$(metric 'tlswrap_limited_connections\{service="lim"\}')" = 0

# ---- a limit that hovers full: a new episode with each connection, and the log rate-limits their lines ----
mark_log "$L"
check "churn: 25 clients in turn wait for a place and are served" python3 "$C" churn "$S1" "$PKI/ca.crt" 3 25
tail -n +$((LOG_MARK + 1)) "$L" >"$T/churn.log"
wait_log "$L" '\[lim\] maxConnections = 3 reached: [0-9]+ more like this in the last 10 s' 25
check "churn: at most 10 'reached' lines in the window, the rest summarised" \
	test "$(grep -c '\[lim\] maxConnections = 3 reached: not accepting' "$T/churn.log")" -le 10
eventually test "$(metric 'tlswrap_limited_connections\{service="lim"\}')" = 0

# ---- a reload: connections of the old configuration count against the service of the same name ----
hold_one_more "after a reload" "$S1" 3 "$L"
mark_log "$L"
kill -HUP "$TLSWRAP_PID"
wait_log_since_mark "$L" 'configuration reloaded'
check "reload: the old configuration's 3 connections still count" test "$(metric 'tlswrap_limited_connections\{service="lim"\}')" = 3
python3 -c "import select,socket,sys; s=socket.create_connection(('127.0.0.1',$S1)); s.send(b'\x16\x03\x01\x00\x05hello'); r,_,_=select.select([s],[],[],1.0); sys.exit(1 if r else 0)"
check "reload: a new client still gets no answer" test $? -eq 0
release "reload"
stop_checked "$L"

# ---- the global limit, two workers ----
{
	echo "foreground = yes"; echo "status = 127.0.0.1:$M"; echo "workers = 2"; echo "maxConnections = 2"
	svc g1 "$G1"; svc g2 "$G2" "maxConnections = 1"
} >"$T/g.conf"
start_tlswrap "$T/g.conf" || { not_ok "tlswrap starts (global limit)"; finish; }
L=$T/g.conf.log
check "metrics: the global limit" test "$(metric 'tlswrap_max_connections_all')" = 2
hold_one_more "[g1], 2 workers, global limit 2" "$G1" 2 "$L"
check "log: the global limit reached" has "$L" 'global maxConnections = 2 reached'
python3 -c "import select,socket,sys; s=socket.create_connection(('127.0.0.1',$G2)); s.send(b'\x16\x03\x01\x00\x05hello'); r,_,_=select.select([s],[],[],1.0); sys.exit(1 if r else 0)"
check "global limit: [g2] gets no answer either" test $? -eq 0
release "global limit"
check "log: accepting again (global)" has "$L" 'accepting again after [0-9.]+s at the global maxConnections = 2'
t=$(metric 'tlswrap_max_connections_all_reached_seconds_total')
check "metrics: seconds at the global limit ($t) counted" python3 -c "import sys; sys.exit(not 0 < float('$t') < 60)"
eventually test "$(metric 'tlswrap_limited_connections_all')" = 0
hold_one_more "[g2], 2 workers, its own limit 1" "$G2" 1 "$L"
check "log: [g2]'s own limit reached" has "$L" '\[g2\] maxConnections = 1 reached'
release "[g2] limit 1 with 2 workers"
stop_checked "$L"

# ---- maxHandshakes: stalled clients are pushed out, oldest first, and a real client is served ----
{
	echo "foreground = yes"; echo "status = 127.0.0.1:$M"; echo "workers = 1"; echo "maxHandshakes = 4"
	svc hs "$H"
} >"$T/h.conf"
start_tlswrap "$T/h.conf" || { not_ok "tlswrap starts (maxHandshakes)"; finish; }
L=$T/h.conf.log
d=$(mktemp -d "$T/stall.XXXX")
python3 "$C" stall "$H" 6 "$d" >"$d/out" 2>&1 &
sp=$!
eventually test -e "$d/stalled"
eventually test "$(grep -c 'pushed out by a newer connection' "$L")" -ge 2
check "maxHandshakes = 4: 6 stalled clients push out the 2 oldest" test "$(grep -c 'pushed out by a newer connection' "$L")" = 2
check "metrics: 4 handshakes pending" test "$(metric 'tlswrap_handshakes_pending')" = 4
check "metrics: the bound" test "$(metric 'tlswrap_max_handshakes')" = 4
check "a real client is served (pushing out another)" python3 "$TESTS_SRCDIR/integration/tls_client.py" tls "$H" "$PKI/ca.crt"
check "metrics: pushed-out connections counted" test "$(metric 'tlswrap_handshake_failures_total\{service="hs",reason="pushed_out"\}')" = 3
touch "$d/go"
wait "$sp"
check "the 3 oldest stalled clients were closed by tlswrap" test "$(cat "$d/out")" = 3
stop_checked "$L"

# ---- the log's rate limit: a flood of plain-TCP clients ----
{ echo "foreground = yes"; svc flood "$F"; svc verbose "$F2" "debug = info"; } >"$T/f.conf"
start_tlswrap "$T/f.conf" || { not_ok "tlswrap starts (flood)"; finish; }
L=$T/f.conf.log
N=60
python3 "$C" garbage "$F" "$N"
python3 "$C" garbage "$F2" 30
# the summary comes when the window ends, with no further message needed
wait_log "$L" 'more like this in the last 10 s' 25
shown=$(grep -c '\[flood\] #[0-9]* .*closed (' "$L")
held=$(grep -o '\[flood\] connections [a-z (]*): [0-9]* more like this' "$L" | grep -o '[0-9]* more' | awk '{s += $1} END {print s + 0}')
check "flood: $shown lines of $N written (at most the burst per window)" test "$shown" -le 20 -a "$shown" -ge 10
check "flood: the summaries count the rest ($shown + $held = $N)" test $((shown + held)) = "$N"
wait_log "$L" '\[verbose\] connections failed \(handshake\): 20 more like this' 25
check "debug = info: every record is there, 10 at their level and 20 at info" \
	test "$(grep -c 'WARN \[verbose\] #[0-9]* .*closed (' "$L") $(grep -c 'INFO \[verbose\] #[0-9]* .*closed (' "$L")" = "10 20"
stop_checked "$L"
finish
