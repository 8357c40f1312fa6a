#!/usr/bin/env bash
# CRLs that do not silently go stale: a CRL (CRLfile or CRLpath) past its nextUpdate is logged at load (start,
# reload) as "CRL from <issuer> (<file>) expired on <date>", and /metrics has each CRL's nextUpdate as
# tlswrap_crl_next_update_seconds beside the certificate expiry gauges. Fresh CRLs give no warning.
. "$(dirname "$0")/lib.sh"
make_pki
D=$T/ca
mkdir -p "$D/db" "$D/crls" "$D/fresh"
: >"$D/db/index.txt"
echo 01 >"$D/db/crlnumber"
cat >"$D/ca.cnf" <<CNF
[ca]
default_ca = this
[this]
database = $D/db/index.txt
crlnumber = $D/db/crlnumber
certificate = $PKI/ca.crt
private_key = $PKI/ca.key
default_md = sha256
default_crl_days = 30
CNF
gencrl() { openssl ca -config "$D/ca.cnf" -gencrl -out "$1" "${@:2}" 2>"$T/gencrl.err" || cat "$T/gencrl.err" >&2; }
# already past nextUpdate (openssl 3 sets both dates), and a fresh one
gencrl "$D/stale.crl" -crl_lastupdate 20200101000000Z -crl_nextupdate 20200201120000Z
gencrl "$D/crls/stale-in-dir.pem" -crl_lastupdate 20210101000000Z -crl_nextupdate 20210301000000Z
gencrl "$D/fresh.crl"
cp "$D/fresh.crl" "$D/fresh/fresh.pem"
check "openssl made the stale CRL" eval "openssl crl -in '$D/stale.crl' -noout -nextupdate | grep -q 'Feb  1 12:00:00 2020'"
FRESH_NEXT=$(date -u -d "$(openssl crl -in "$D/fresh.crl" -noout -nextupdate | cut -d= -f2)" +%s)

S1=$(free_port); S2=$(free_port); S3=$(free_port); M=$(free_port)
service() { # service NAME PORT CRL-OPTION: a server service that verifies clients against ca.crt
	printf '[%s]\naccept = 127.0.0.1:%s\nconnect = 127.0.0.1:1\ncert = %s\nkey = %s\nCAfile = %s\nverifyChain = yes\n%s\n' \
		"$1" "$2" "$PKI/server.crt" "$PKI/server.key" "$PKI/ca.crt" "$3"
}
write_conf() { # write_conf CRLFILE-OF-[file] CRLPATH-OF-[dir]
	{
		printf 'foreground = yes\nstatus = 127.0.0.1:%s\n' "$M"
		service file "$S1" "CRLfile = $1"
		service dir "$S2" "CRLpath = $2"
		service fresh "$S3" "CRLfile = $D/fresh.crl"
	} >"$T/crl.conf"
}
write_conf "$D/stale.crl" "$D/crls"
LOG=$T/crl.conf.log
start_tlswrap "$T/crl.conf" || { not_ok "tlswrap starts"; finish; }
ISSUER='CN=tlswrap test ca'
check "start: CRLfile past nextUpdate is logged" \
	has "$LOG" "WARN \[file\] CRL from $ISSUER \($D/stale.crl\) expired on 2020-02-01 12:00:00 UTC"
check "start: CRLpath file past nextUpdate is logged" \
	has "$LOG" "WARN \[dir\] CRL from $ISSUER \($D/crls/stale-in-dir.pem\) expired on 2021-03-01 00:00:00 UTC"
check "start: a fresh CRL is not logged" eval "! has '$LOG' '\[fresh\] CRL from'"

scrape() { python3 -c "
import socket, sys
s = socket.create_connection(('127.0.0.1', $M), 5)
s.sendall(b'GET /metrics HTTP/1.0\r\n\r\n')
d = b''
while True:
    c = s.recv(65536)
    if not c: break
    d += c
sys.stdout.write(d.decode())
"; }
scrape >"$T/metrics.out"
check "metrics: the gauge family is declared" has "$T/metrics.out" '^# TYPE tlswrap_crl_next_update_seconds gauge$'
check "metrics: CRLfile's nextUpdate (2020-02-01 12:00 UTC)" \
	has "$T/metrics.out" "^tlswrap_crl_next_update_seconds\{service=\"file\",issuer=\"$ISSUER\",file=\"$D/stale.crl\"\} 1580558400$"
check "metrics: CRLpath's file's nextUpdate (2021-03-01 UTC)" \
	has "$T/metrics.out" "^tlswrap_crl_next_update_seconds\{service=\"dir\",issuer=\"$ISSUER\",file=\"$D/crls/stale-in-dir.pem\"\} 1614556800$"
check "metrics: the fresh CRL's nextUpdate" \
	has "$T/metrics.out" "^tlswrap_crl_next_update_seconds\{service=\"fresh\",issuer=\"$ISSUER\",file=\"$D/fresh.crl\"\} $FRESH_NEXT$"
check "metrics: the format is valid Prometheus text" \
	eval "python3 '$TESTS_SRCDIR/integration/status_client.py' $M >'$T/status_client.out' 2>&1"

# a reload with fresh CRLs: no warning any more, and the gauge follows
write_conf "$D/fresh.crl" "$D/fresh"
mark_log "$LOG"
kill -HUP "$TLSWRAP_PID"
check "reload: done" wait_log_since_mark "$LOG" 'configuration reloaded'
check "reload: no stale CRL is logged" eval "! since_mark '$LOG' 'CRL from'"
scrape >"$T/metrics2.out"
check "reload: the gauge follows the new CRLfile" \
	has "$T/metrics2.out" "^tlswrap_crl_next_update_seconds\{service=\"file\",issuer=\"$ISSUER\",file=\"$D/fresh.crl\"\} $FRESH_NEXT$"
check "reload: the stale CRL's gauge is gone" eval "! has '$T/metrics2.out' stale"
# ... and back to a stale one: logged again at the reload
write_conf "$D/stale.crl" "$D/fresh"
mark_log "$LOG"
kill -HUP "$TLSWRAP_PID"
check "reload: a stale CRL is logged at load" wait_log_since_mark "$LOG" "\[file\] CRL from $ISSUER \($D/stale.crl\) expired on 2020-02-01"
stop_checked "$LOG"
finish
