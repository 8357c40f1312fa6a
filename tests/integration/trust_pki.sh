# Certificates for test_trust.sh, made at test time with openssl (EC P-256). Source after lib.sh.
#
# make_trust_pki: in $T/tp (exported as $TP), two CAs run with `openssl ca`:
#   ca.crt           the trusted CA (basicConstraints CA, keyUsage keyCertSign+cRLSign)
#   other-ca.crt     a CA nobody trusts
#   crls.pem         two CRLs: other-ca's (revoking stranger, serial 1000) then ca's (revoking revoked)
# and certificates NAME.crt/NAME.key:
#   server      CN=localhost, DNS:localhost, IP:127.0.0.1, EKU serverAuth          (ca)
#   client      O=tlswrap tests, OU=ops, CN=client, EKU clientAuth, serial 1000   (ca)
#   revoked     CN=revoked, clientAuth, on ca's CRL                                 (ca)
#   expired     CN=expired, valid 2020-01-01 .. 2020-01-02                          (ca)
#   future      CN=future, valid from 2090                                         (ca)
#   payments    OU=payments, CN=pay-client                                         (ca)
#   dns-a       CN=svc-a, DNS:a.example.org                                        (ca)
#   dns-ab      CN=svc-ab, DNS:a.b.example.org                                     (ca)
#   spiffe-api  CN=api, URI:spiffe://example.org/ns/prod/sa/api                    (ca)
#   spiffe-web  CN=web, URI:spiffe://example.org/ns/prod/sa/web                    (ca)
#   ip          CN=ip-client, IP:10.9.8.7                                          (ca)
#   alice       CN=alice, email:alice@example.org                                  (ca)
#   mailsrv     CN=mail.example.org, DNS:mail.example.org, email:ops@example.org   (ca)
#   clientonly  CN=localhost, DNS:localhost, IP:127.0.0.1, EKU clientAuth only     (ca)
#   serveronly  CN=serveronly, EKU serverAuth only (a client certificate of the wrong usage) (ca)
#   stranger    CN=client, clientAuth, serial 1000, on other-ca's CRL              (other-ca)
#   stranger2   CN=client, clientAuth                                              (other-ca)
#   selfsigned  CN=localhost, DNS:localhost, self-signed, trusted by nobody
# pin NAME: prints the pinSHA256 value (sha256//BASE64 of the SubjectPublicKeyInfo) of NAME.crt.

pin() {
	printf 'sha256//%s\n' "$(openssl x509 -in "$TP/$1.crt" -pubkey -noout | openssl pkey -pubin -outform der |
		openssl dgst -sha256 -binary | base64)"
}

make_trust_pki() {
	TP=$T/tp
	mkdir -p "$TP"
	(
		cd "$TP" || exit 1
		set -e
		key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null; }
		mkca() { # NAME: a self-signed CA with an `openssl ca` database in NAME.db/
			key "$1"
			openssl req -x509 -new -key "$1.key" -out "$1.crt" -days 30 -subj "/CN=tlswrap trust test $1" \
				-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
				-addext "subjectKeyIdentifier=hash" 2>/dev/null
			mkdir -p "$1.db/new"
			: >"$1.db/index.txt"
			echo 1000 >"$1.db/serial"
			echo 01 >"$1.db/crlnumber"
			cat >"$1.cnf" <<EOF
[ca]
default_ca = this
[this]
database = $TP/$1.db/index.txt
new_certs_dir = $TP/$1.db/new
serial = $TP/$1.db/serial
crlnumber = $TP/$1.db/crlnumber
certificate = $TP/$1.crt
private_key = $TP/$1.key
default_md = sha256
default_days = 30
default_crl_days = 30
unique_subject = no
preserve = yes
email_in_dn = no
policy = any
[any]
organizationName = optional
organizationalUnitName = optional
commonName = supplied
EOF
		}
		issue() { # NAME CA SUBJECT EXTENSIONS [openssl ca options]
			local name=$1 ca=$2 subj=$3 ext=$4
			shift 4
			key "$name"
			openssl req -new -key "$name.key" -out "$name.csr" -subj "$subj" 2>/dev/null
			printf '%s\n' "$ext" | tr ';' '\n' >"$name.ext"
			openssl ca -batch -notext -config "$ca.cnf" -in "$name.csr" -out "$name.crt" -extfile "$name.ext" \
				"$@" 2>"$name.ca.err" || { cat "$name.ca.err" >&2; return 1; }
		}
		CLI="extendedKeyUsage=clientAuth"
		mkca ca
		mkca other-ca
		# the first certificate of each CA gets serial 1000: other-ca's CRL revokes a serial that ca's
		# good client also carries, which must not count against it (the CRL is for another issuer)
		issue client ca "/O=tlswrap tests/OU=ops/CN=client" "$CLI"
		issue stranger other-ca "/CN=client" "$CLI"
		issue stranger2 other-ca "/CN=client" "$CLI"
		issue server ca "/CN=localhost" "subjectAltName=DNS:localhost,IP:127.0.0.1;extendedKeyUsage=serverAuth"
		issue revoked ca "/CN=revoked" "$CLI"
		issue expired ca "/CN=expired" "$CLI" -startdate 20200101000000Z -enddate 20200102000000Z
		issue future ca "/CN=future" "$CLI" -startdate 20900101000000Z -enddate 20910101000000Z
		issue payments ca "/OU=payments/CN=pay-client" "$CLI"
		issue dns-a ca "/CN=svc-a" "subjectAltName=DNS:a.example.org;$CLI"
		issue dns-ab ca "/CN=svc-ab" "subjectAltName=DNS:a.b.example.org;$CLI"
		issue spiffe-api ca "/CN=api" "subjectAltName=URI:spiffe://example.org/ns/prod/sa/api;$CLI"
		issue spiffe-web ca "/CN=web" "subjectAltName=URI:spiffe://example.org/ns/prod/sa/web;$CLI"
		issue ip ca "/CN=ip-client" "subjectAltName=IP:10.9.8.7;$CLI"
		issue alice ca "/CN=alice" "subjectAltName=email:alice@example.org;$CLI"
		issue mailsrv ca "/CN=mail.example.org" \
			"subjectAltName=DNS:mail.example.org,email:ops@example.org;extendedKeyUsage=serverAuth"
		issue clientonly ca "/CN=localhost" "subjectAltName=DNS:localhost,IP:127.0.0.1;$CLI"
		issue serveronly ca "/CN=serveronly" "extendedKeyUsage=serverAuth"
		openssl ca -config ca.cnf -revoke revoked.crt 2>/dev/null
		openssl ca -config other-ca.cnf -revoke stranger.crt 2>/dev/null
		openssl ca -config ca.cnf -gencrl -out ca.crl 2>/dev/null
		openssl ca -config other-ca.cnf -gencrl -out other-ca.crl 2>/dev/null
		cat other-ca.crl ca.crl >crls.pem
		key selfsigned
		openssl req -x509 -new -key selfsigned.key -out selfsigned.crt -days 30 -subj "/CN=localhost" \
			-addext "subjectAltName=DNS:localhost" 2>/dev/null
		# sanity: what the tests rely on
		[ "$(openssl x509 -in client.crt -noout -serial)" = "serial=1000" ]
		[ "$(openssl x509 -in stranger.crt -noout -serial)" = "serial=1000" ]
		openssl crl -in ca.crl -noout -text | grep -q "Serial Number: $(openssl x509 -in revoked.crt -noout -serial | cut -d= -f2)"
	) || { echo "# trust PKI generation failed" >&2; exit 1; }
}
