# A PKI for OCSP tests, made with `openssl ca` so that `openssl ocsp -index` can answer for it (EC P-256).
# make_ocsp_pki DIR [AIA_URL]: in DIR,
#   ca.crt/.key, ca.db/index.txt   the CA; with AIA_URL its leaf certificates carry that OCSP URI (AIA)
#   server     CN=localhost, DNS:localhost, IP:127.0.0.1, serverAuth                  good
#   client     CN=client, clientAuth                                                   good
#   rserver    CN=localhost as server, revoked (keyCompromise)
#   rclient    CN=rclient, clientAuth, revoked (keyCompromise)
#   userver    CN=localhost as server, its line taken out of the index: unknown
#   responder  EKU OCSPSigning, issued by ca: a delegated responder
#   norole     issued by ca, EKU serverAuth and anyExtendedKeyUsage, not OCSPSigning: not authorised to answer
#   other-ca, other-responder (EKU OCSPSigning, issued by other-ca): not authorised either
make_ocsp_pki() {
	(
		cd "$1" || exit 1
		set -e
		aia=${2:+authorityInfoAccess=OCSP;URI:$2}
		key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null; }
		mkca() {
			key "$1"
			openssl req -x509 -new -key "$1.key" -out "$1.crt" -days 3650 -subj "/CN=tlswrap ocsp test $1" \
				-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
			mkdir -p "$1.db/new"
			: >"$1.db/index.txt"
			echo 1000 >"$1.db/serial"
			cat >"$1.cnf" <<EOC
[ca]
default_ca = this
[this]
database = $PWD/$1.db/index.txt
new_certs_dir = $PWD/$1.db/new
serial = $PWD/$1.db/serial
certificate = $PWD/$1.crt
private_key = $PWD/$1.key
default_md = sha256
default_days = 3650
unique_subject = no
policy = any
[any]
commonName = supplied
EOC
		}
		issue() { # NAME CA SUBJECT EXTENSIONS ('|'-separated)
			key "$1"
			openssl req -new -key "$1.key" -out "$1.csr" -subj "$3" 2>/dev/null
			printf '%s\n' "$4" | tr '|' '\n' >"$1.ext"
			openssl ca -batch -notext -config "$2.cnf" -in "$1.csr" -out "$1.crt" -extfile "$1.ext" 2>"$1.err" ||
				{ cat "$1.err" >&2; return 1; }
		}
		mkca ca
		mkca other-ca
		srv="subjectAltName=DNS:localhost,IP:127.0.0.1|extendedKeyUsage=serverAuth|$aia"
		issue server ca /CN=localhost "$srv"
		issue client ca /CN=client "extendedKeyUsage=clientAuth|$aia"
		issue rserver ca /CN=localhost "$srv"
		issue rclient ca /CN=rclient "extendedKeyUsage=clientAuth|$aia"
		issue userver ca /CN=localhost "$srv"
		issue responder ca /CN=responder "extendedKeyUsage=OCSPSigning"
		issue norole ca /CN=norole "extendedKeyUsage=serverAuth,anyExtendedKeyUsage"
		issue other-responder other-ca /CN=responder "extendedKeyUsage=OCSPSigning"
		openssl ca -config ca.cnf -revoke rserver.crt -crl_reason keyCompromise 2>/dev/null
		openssl ca -config ca.cnf -revoke rclient.crt -crl_reason keyCompromise 2>/dev/null
		userial=$(openssl x509 -in userver.crt -noout -serial | cut -d= -f2)
		grep -v "	$userial	" ca.db/index.txt >ca.db/index.new
		mv ca.db/index.new ca.db/index.txt
	)
}
