#!/usr/bin/env bash
# OCSP = URL and OCSPaia against `openssl ocsp` as the responder: good, revoked and unknown certificates, a responder
# that is down (OCSPrequire yes and no), a stale answer (no nextUpdate), a signer the issuer did not
# authorise, a replayed answer under OCSPnonce = yes, the cache (a second handshake does not ask again),
# both modes (a client service checking its server, a server service checking its client), the log line
# of each decision and the metrics. PKI made at test time (ocsp_pki.sh).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ocsp_pki.sh"
read -r E R RSTALE RNOROLE RREPLAY DEAD P1 P2 P3 P4 C1 C2 C3 C4 C5 C6 C7 C8 C9 C10 C11 ST <<<"$(free_ports 22)"
OP=$T/op
mkdir -p "$OP"
# the leaf certificates name $R in their AIA, by name (looked up by the worker's resolver)
make_ocsp_pki "$OP" "http://localhost:$R/" || exit 1
echo_server "$E"
PING="ping through tlswrap $$"

# responder PORT SIGNER [options]: openssl ocsp answering for ca from its index; it logs each request
# ("Received request"), so requests PORT counts them
responder() {
	local port=$1 signer=$2
	shift 2
	bg openssl ocsp -index "$OP/ca.db/index.txt" -CA "$OP/ca.crt" -rsigner "$OP/$signer.crt" \
		-rkey "$OP/$signer.key" -port "$port" -timeout 5 "$@"
	eval "LOG_$port=$T/bg$((${#PIDS[@]} - 1)).out"
	# not wait_port: openssl ocsp serves one connection at a time, and waits on one that sends nothing
	wait_log "$T/bg$((${#PIDS[@]} - 1)).out" 'waiting for OCSP client connections'

}
responder "$R" responder -ndays 1
responder "$RSTALE" ca # no -ndays: no nextUpdate
responder "$RNOROLE" norole -ndays 1
requests() { local v="LOG_$1"; grep -c 'Received request' "${!v}"; }

# A responder that answers every request with the first answer it got from $R (a replay).
cat >"$T/replay.py" <<'PY'
import http.server, sys, urllib.request
saved = []
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers['Content-Length']))
        if not saved:
            req = urllib.request.Request(sys.argv[2], body, {'Content-Type': 'application/ocsp-request'})
            saved.append(urllib.request.urlopen(req).read())
        self.send_response(200)
        self.send_header('Content-Type', 'application/ocsp-response')
        self.send_header('Content-Length', str(len(saved[0])))
        self.end_headers()
        self.wfile.write(saved[0])
    def log_message(self, *a):
        pass
http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), H).serve_forever()
PY
bg python3 "$T/replay.py" "$RREPLAY" "http://127.0.0.1:$R/"
wait_port "$RREPLAY"

client() { # NAME PORT CONNECT OCSP-URL ("": none) [more lines]
	printf '[%s]\nclient = yes\naccept = 127.0.0.1:%s\nconnect = 127.0.0.1:%s\nCAfile = %s/ca.crt\n' "$1" "$2" "$3" "$OP"
	[ -z "$4" ] || printf 'OCSP = %s\n' "$4"
	shift 4
	printf '%s\n' "$@"
}
server() { # NAME PORT CERT [more lines]
	printf '[%s]\naccept = 127.0.0.1:%s\nconnect = 127.0.0.1:%s\ncert = %s/%s.crt\nkey = %s/%s.key\n' \
		"$1" "$2" "$E" "$OP" "$3" "$OP" "$3"
	shift 3
	printf '%s\n' "$@"
}
URL=http://127.0.0.1:$R/
{
	printf 'foreground = yes\ndebug = info\nstatus = 127.0.0.1:%s\n' "$ST"
	server good "$P1" server
	server revoked "$P2" rserver
	server unknown "$P3" userver
	server mtls "$P4" server "CAfile = $OP/ca.crt" "verifyChain = yes" "OCSP = $URL"
	client c-good "$C1" "$P1" "$URL"
	client c-revoked "$C2" "$P2" "$URL"
	client c-unknown "$C3" "$P3" "$URL"
	client c-down "$C4" "$P1" "http://127.0.0.1:$DEAD/" "TIMEOUTocsp = 3"
	client c-down-let-in "$C5" "$P1" "http://127.0.0.1:$DEAD/" "OCSPrequire = no"
	client c-stale "$C6" "$P1" "http://127.0.0.1:$RSTALE/"
	client c-norole "$C7" "$P1" "http://127.0.0.1:$RNOROLE/"
	client c-replay1 "$C8" "$P1" "http://127.0.0.1:$RREPLAY/" "OCSPnonce = yes"
	client c-replay2 "$C9" "$P2" "http://127.0.0.1:$RREPLAY/" "OCSPnonce = yes"
	client c-aia "$C10" "$P1" "" "OCSPaia = yes"
	client c-aia-revoked "$C11" "$P2" "" "OCSPaia = yes"
} >"$T/ocsp.conf"
start_tlswrap "$T/ocsp.conf" || exit 1
LOG=$T/ocsp.conf.log

# through PORT: $PING through the tlswrap client service on PORT comes back (0) or not (1)
through() {
	python3 - "$1" "$PING" <<-'PY'
	import socket, sys
	s = socket.create_connection(('127.0.0.1', int(sys.argv[1])), 5)
	s.settimeout(10)
	s.sendall(sys.argv[2].encode() + b'\n')
	got = b''
	try:
	    while not got.endswith(b'\n'):
	        d = s.recv(4096)
	        if not d:
	            break
	        got += d
	except OSError:
	    pass
	sys.exit(0 if got == sys.argv[2].encode() + b'\n' else 1)
	PY
}
# sclient PORT NAME: $PING through the server service on PORT with client certificate NAME comes back
sclient() {
	local out
	out=$(printf '%s\n' "$PING" | timeout 10 openssl s_client -connect "127.0.0.1:$1" -quiet -CAfile "$OP/ca.crt" \
		-cert "$OP/$2.crt" -key "$OP/$2.key" 2>/dev/null)
	[ "$out" = "$PING" ]
}
refused() { ! "$@"; }
re() { printf '%s' "$1" | sed 's/[][\.*^$+?(){}|]/\\&/g'; }

# -- client mode: the server's certificate --------------------------------------------------------------
mark_log "$LOG"
check "good: relayed" through "$C1"
check "good: logged" wait_log_since_mark "$LOG" '\[c-good\] #[0-9]+ OCSP: certificate serial 10:00 good$'
check "good: the responder was asked once" [ "$(requests "$R")" = 1 ]
mark_log "$LOG"
check "good again: relayed" through "$C1"
check "good again: from the cache" wait_log_since_mark "$LOG" '\[c-good\] #[0-9]+ OCSP: certificate serial 10:00 good \(cached\)$'
check "good again: the responder was not asked again" [ "$(requests "$R")" = 1 ]

mark_log "$LOG"
check "revoked: refused" refused through "$C2"
check "revoked: logged with reason and time" wait_log_since_mark "$LOG" \
	'\[c-revoked\] .*peer refused: OCSP: certificate serial 10:02 revoked \(keyCompromise\) at [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8}Z'
mark_log "$LOG"
check "unknown: refused (OCSPrequire = yes by default)" refused through "$C3"
check "unknown: logged" wait_log_since_mark "$LOG" \
	'\[c-unknown\] .*peer refused: OCSP: certificate serial 10:04 unknown to the responder \(OCSPrequire = yes\)'

mark_log "$LOG"
check "responder down: refused" refused through "$C4"
check "responder down: logged" wait_log_since_mark "$LOG" \
	"\\[c-down\\] .*peer refused: OCSP: certificate serial 10:00: no answer: $(re "http://127.0.0.1:$DEAD/"): connect: Connection refused \\(OCSPrequire = yes\\)"
mark_log "$LOG"
check "responder down, OCSPrequire = no: let in" through "$C5"
check "responder down, OCSPrequire = no: logged" wait_log_since_mark "$LOG" \
	'\[c-down-let-in\] #[0-9]+ OCSP: certificate serial 10:00: no answer: .*Connection refused; let in \(OCSPrequire = no\)'

mark_log "$LOG"
check "stale answer (no nextUpdate): refused" refused through "$C6"
check "stale answer: logged" wait_log_since_mark "$LOG" '\[c-stale\] .*no answer: .*stale response \(no nextUpdate\)'
check "stale answer: the responder was asked" [ "$(requests "$RSTALE")" -ge 1 ]
mark_log "$LOG"
check "signer not authorised: refused" refused through "$C7"
check "signer not authorised: logged" wait_log_since_mark "$LOG" '\[c-norole\] .*response signed by a certificate the issuer did not authorise'

mark_log "$LOG"
check "nonce: the first answer passes" through "$C8"
check "nonce: logged good" wait_log_since_mark "$LOG" '\[c-replay1\] #[0-9]+ OCSP: certificate serial 10:00 good$'
mark_log "$LOG"
check "nonce: a replayed answer is refused" refused through "$C9"
check "nonce: logged" wait_log_since_mark "$LOG" '\[c-replay2\] .*no answer: .*nonce mismatch'

# -- OCSPaia: the responder the certificate names -------------------------------------------------------
before=$(requests "$R")
mark_log "$LOG"
check "AIA: good, relayed" through "$C10"
check "AIA: logged" wait_log_since_mark "$LOG" '\[c-aia\] #[0-9]+ OCSP: certificate serial 10:00 good$'
check "AIA: the responder the certificate names was asked" [ "$(requests "$R")" = $((before + 1)) ]
mark_log "$LOG"
check "AIA: revoked, refused" refused through "$C11"
check "AIA: revoked, logged" wait_log_since_mark "$LOG" '\[c-aia-revoked\] .*revoked \(keyCompromise\)'

# -- server mode: the client's certificate ---------------------------------------------------------------
mark_log "$LOG"
check "server mode, good client: relayed" sclient "$P4" client
check "server mode, good client: logged" wait_log_since_mark "$LOG" '\[mtls\] #[0-9]+ OCSP: certificate serial 10:01 good$'
mark_log "$LOG"
check "server mode, revoked client: refused" refused sclient "$P4" rclient
check "server mode, revoked client: logged" wait_log_since_mark "$LOG" \
	'\[mtls\] .*peer refused: OCSP: certificate serial 10:03 revoked \(keyCompromise\)'

# -- metrics ---------------------------------------------------------------------------------------------
M=$(curl -s "http://127.0.0.1:$ST/metrics")
metric() { grep -qxF -- "$1" <<<"$M" || { echo "# missing: $1" >&2; return 1; }; }
check "metrics: good, and the cache hit" metric 'tlswrap_ocsp_answers_total{service="c-good",status="good"} 2'
check "metrics: cache hits" metric 'tlswrap_ocsp_cache_hits_total{service="c-good"} 1'
check "metrics: revoked" metric 'tlswrap_ocsp_answers_total{service="c-revoked",status="revoked"} 1'
check "metrics: unknown" metric 'tlswrap_ocsp_answers_total{service="c-unknown",status="unknown"} 1'
check "metrics: no answer" metric 'tlswrap_ocsp_answers_total{service="c-down",status="none"} 1'
check "metrics: server mode" metric 'tlswrap_ocsp_answers_total{service="mtls",status="revoked"} 1'

stop_checked "$LOG"
finish
