#!/usr/bin/env bash
# Encrypted private keys: PKCS#8 (PBES2 and the older PKCS#12 PBE) and traditional PEM, EC and RSA, decrypted
# with a passphrase from keyPasswordFile, from systemd's credentials ($CREDENTIALS_DIRECTORY) or typed at the
# terminal; a wrong passphrase, a passphrase file others can read and a missing passphrase are refused with
# file:line; the passphrase is never logged; a reload keeps a key whose passphrase was typed while its file
# is unchanged, and refuses (keeping the running configuration) once it changed.
. "$(dirname "$0")/lib.sh"
make_pki
PW='correct horse battery'
K=$T/keys
mkdir -p "$K"
(
	cd "$K" || exit 1
	openssl pkey -in "$PKI/server.key" -aes-256-cbc -passout "pass:$PW" -out ec-p8.key &&
	openssl ec -in "$PKI/server.key" -aes256 -passout "pass:$PW" -out ec-trad.key 2>/dev/null &&
	openssl pkcs8 -topk8 -in "$PKI/server.key" -v1 PBE-SHA1-3DES -passout "pass:$PW" -out ec-pbe.key 2>/dev/null &&
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -aes-256-cbc -pass "pass:$PW" -out rsa-p8.key 2>/dev/null &&
	openssl rsa -in rsa-p8.key -passin "pass:$PW" -aes256 -traditional -passout "pass:$PW" -out rsa-trad.key 2>/dev/null &&
	openssl rsa -in rsa-p8.key -passin "pass:$PW" -des3 -traditional -passout "pass:$PW" -out rsa-3des.key 2>/dev/null &&
	openssl req -x509 -key rsa-p8.key -passin "pass:$PW" -out rsa.crt -subj /CN=localhost -days 2 2>/dev/null &&
	openssl pkey -in "$PKI/other.key" -aes-256-cbc -passout "pass:$PW" -out other-p8.key
) || { not_ok "openssl makes the encrypted keys"; finish; }
check "the keys are encrypted" grep -q 'ENCRYPTED' "$K/ec-p8.key" "$K/ec-trad.key" "$K/rsa-trad.key"
printf '%s\n' "$PW" >"$K/pw"
chmod 600 "$K/pw"
S=$(free_port)
conf() { # conf CERT KEY [extra lines]
	cat >"$T/k.conf" <<CONF
foreground = yes
[srv]
accept = 127.0.0.1:$S
connect = 127.0.0.1:1
cert = $1
key = $2
${3:-}
CONF
}
run_check() { "$TLSWRAP" --check "$T/k.conf" </dev/null >"$T/check.out" 2>&1; }

# every kind of encryption openssl makes by default, through keyPasswordFile
for k in ec-p8 ec-trad ec-pbe rsa-p8 rsa-trad rsa-3des; do
	crt=$PKI/server.crt
	case $k in rsa-*) crt=$K/rsa.crt ;; esac
	conf "$crt" "$K/$k.key" "keyPasswordFile = $K/pw"
	check "$k: decrypted with keyPasswordFile" run_check
done

# the key serves: a handshake presents the certificate
conf "$PKI/server.crt" "$K/ec-p8.key" "keyPasswordFile = $K/pw"
start_tlswrap "$T/k.conf" || { not_ok "tlswrap starts with an encrypted key"; finish; }
check "a handshake with the decrypted key" eval "timeout 10 openssl s_client -connect 127.0.0.1:$S -CAfile '$PKI/ca.crt' \
	-verify_return_error </dev/null 2>&1 | grep -q 'Verify return code: 0'"
stop_checked "$T/k.conf.log"

# a global keyPasswordFile (before the first section) applies to every service
{ echo "keyPasswordFile = $K/pw"; conf "$PKI/server.crt" "$K/ec-trad.key"; cat "$T/k.conf"; } >"$T/g.conf"
check "keyPasswordFile before the first section applies to the services" \
	eval "'$TLSWRAP' --check '$T/g.conf' </dev/null >/dev/null 2>&1"

# a wrong passphrase: refused at the keyPasswordFile line, non-zero exit, the passphrase nowhere
printf 'not the passphrase\n' >"$K/bad"
chmod 600 "$K/bad"
conf "$PKI/server.crt" "$K/ec-p8.key" "keyPasswordFile = $K/bad"
check "wrong passphrase: refused" eval "! run_check"
check "wrong passphrase: file:line and the reason" has "$T/check.out" "k.conf:7: \[srv\] keyPasswordFile $K/bad: wrong passphrase for key $K/ec-p8.key"
check "wrong passphrase: not echoed in the message" eval "! grep -q 'not the passphrase' '$T/check.out'"
conf "$PKI/server.crt" "$K/rsa-trad.key" "keyPasswordFile = $K/bad"
check "wrong passphrase (traditional RSA): refused" eval "! run_check && has '$T/check.out' 'wrong passphrase'"

# a passphrase file group or others can read is refused
chmod 640 "$K/pw"
conf "$PKI/server.crt" "$K/ec-p8.key" "keyPasswordFile = $K/pw"
check "passphrase file readable by its group: refused" eval "! run_check"
check "passphrase file readable: file:line, mode and fix" has "$T/check.out" "k.conf:7: .*keyPasswordFile $K/pw: readable by its group \(mode 0640\).*chmod go-rwx"
chmod 604 "$K/pw"
check "passphrase file readable by others: refused" eval "! run_check && has '$T/check.out' 'readable by others'"
chmod 600 "$K/pw"
printf '\n' >"$K/empty"
chmod 600 "$K/empty"
conf "$PKI/server.crt" "$K/ec-p8.key" "keyPasswordFile = $K/empty"
check "empty first line: refused" eval "! run_check && has '$T/check.out' 'k.conf:7: .*first line is empty'"
conf "$PKI/server.crt" "$K/ec-p8.key" "keyPasswordFile = $K/missing"
check "missing passphrase file: refused" eval "! run_check && has '$T/check.out' 'k.conf:7: .*$K/missing: No such file'"

# no passphrase anywhere and no terminal: a clear refusal at the key's line
conf "$PKI/server.crt" "$K/ec-p8.key"
check "no passphrase: refused" eval "! run_check"
check "no passphrase: file:line and what to do" has "$T/check.out" "k.conf:6: \[srv\] key $K/ec-p8.key is encrypted: give its passphrase in keyPasswordFile"

# systemd credentials: the default credential name, and keyPasswordFile naming one
mkdir -p "$T/creds"
printf '%s' "$PW" >"$T/creds/tlswrap.keypass" # systemd's credentials need not end in a newline
printf '%s\n' "$PW" >"$T/creds/web-key"
chmod 400 "$T/creds/tlswrap.keypass" "$T/creds/web-key"
conf "$PKI/server.crt" "$K/ec-p8.key"
check "credential tlswrap.keypass in \$CREDENTIALS_DIRECTORY" eval "CREDENTIALS_DIRECTORY='$T/creds' run_check"
conf "$PKI/server.crt" "$K/rsa-trad.key" "keyPasswordFile = web-key"
sed -i "s#cert = .*#cert = $K/rsa.crt#" "$T/k.conf"
check "keyPasswordFile = NAME is a credential under \$CREDENTIALS_DIRECTORY" eval "CREDENTIALS_DIRECTORY='$T/creds' run_check"
check "keyPasswordFile = NAME without \$CREDENTIALS_DIRECTORY is a relative file" \
	eval "! run_check && has '$T/check.out' 'keyPasswordFile web-key: No such file'"
chmod 440 "$T/creds/web-key"
check "a credential readable by the group: refused" \
	eval "! CREDENTIALS_DIRECTORY='$T/creds' run_check && has '$T/check.out' 'keyPasswordFile $T/creds/web-key: readable by its group'"

# systemd credential and setuid: the credentials directory is root's only (0500, as systemd makes it), so
# once tlswrap runs as nobody a reload cannot read the passphrase. The start warns, and the reload says why
# (not that no passphrase was given).
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	U=$T/suid
	mkdir -p "$U/creds"
	cp "$PKI/server.crt" "$K/ec-p8.key" "$U/"
	chown nobody "$U/server.crt" "$U/ec-p8.key"
	printf '%s' "$PW" >"$U/creds/tlswrap.keypass"
	chmod 400 "$U/creds/tlswrap.keypass"
	chmod 500 "$U/creds"
	chmod 711 "$T" "$U"
	printf 'foreground = yes\nsetuid = nobody\n[srv]\naccept = 127.0.0.1:%s\nconnect = 127.0.0.1:1\ncert = %s\nkey = %s\n' \
		"$S" "$U/server.crt" "$U/ec-p8.key" >"$U/k.conf"
	chmod 644 "$U/k.conf"
	CREDENTIALS_DIRECTORY=$U/creds start_tlswrap "$U/k.conf" || not_ok "setuid and a credential: tlswrap starts"
	check "setuid and a credential: the start warns that a reload cannot read it" \
		has "$U/k.conf.log" "\\[srv\\] the passphrase of key $U/ec-p8.key, read from $U/creds/tlswrap.keypass at start, cannot be read after setuid \\(Permission denied\\): a reload will fail"
	kill -HUP "$TLSWRAP_PID"
	check "setuid and a credential: the reload fails saying the credential cannot be read, and why" \
		wait_log "$U/k.conf.log" "reload failed, still serving the previous configuration: .*cannot read the credential $U/creds/tlswrap.keypass: Permission denied \\(tlswrap runs as nobody now, after setuid"
	kill -TERM "$TLSWRAP_PID"
	chmod 700 "$T"
else
	echo "# skip: setuid and a credential (needs root and the user nobody)"
fi

# typed at the terminal: no echo, the prompt names the key; a reload keeps the key while its file is unchanged
cp "$K/ec-p8.key" "$K/typed.key"
conf "$PKI/server.crt" "$K/typed.key"
python3 "$TESTS_SRCDIR/integration/tty_run.py" "$T/tty.out" "Enter pass phrase for $K/typed.key: " "$PW" \
	"$TLSWRAP" -f "$T/k.conf" &
TTY_RUN=$!
PIDS+=("$TTY_RUN")
if wait_log "$T/tty.out" 'started, pid' 15; then
	ok "terminal: the prompt is answered and tlswrap starts"
	TPID=$(cat "$T/tty.out.pid")
	check "terminal: the passphrase is not echoed" eval "! grep -q '$PW' '$T/tty.out'"
	subject() { timeout 10 openssl s_client -connect "127.0.0.1:$S" -CAfile "$PKI/ca.crt" </dev/null 2>/dev/null | sed -n 's/^subject=//p'; }
	check "terminal: the key serves" test "$(subject)" = "CN = localhost"
	kill -HUP "$TPID"
	check "terminal: a reload keeps the typed key while its file is unchanged" \
		wait_log "$T/tty.out" "key $K/typed.key: unchanged since its passphrase was typed"
	check "terminal: ... and the reload succeeds" wait_log "$T/tty.out" 'configuration reloaded'
	sed -i "s#cert = .*#cert = $PKI/other.crt#" "$T/k.conf"
	cp "$K/other-p8.key" "$K/typed.key"
	kill -HUP "$TPID"
	check "terminal: a changed key file cannot be reloaded without a passphrase" \
		wait_log "$T/tty.out" "reload failed, still serving the previous configuration: .*k.conf:6: \[srv\] key $K/typed.key is encrypted, its passphrase was typed at start and the file has changed since"
	check "terminal: ... and the old key still serves" test "$(subject)" = "CN = localhost"
	kill -TERM "$TPID"
	wait "$TTY_RUN"
	check "terminal: tlswrap exits 0" [ $? = 0 ]
else
	not_ok "terminal: the prompt is answered and tlswrap starts"
fi
check "terminal: the passphrase is in no log line" eval "! grep -rq '$PW' '$T'/*.log '$T/tty.out' '$T/check.out'"
finish
