#!/usr/bin/env bash
# ./quickstart demo: a throwaway CA, a local backend, and tlswrap chaining a client service into a
# server service in front of it; data goes through both ways and the log tells what happened.
set -euo pipefail
TLSWRAP=$(realpath "${1:?usage: demo.sh path/to/tlswrap}")
here=$(cd "$(dirname "$0")" && pwd)
d=$(mktemp -d /tmp/tlswrap-demo.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$d"; }
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

echo "== 1. a throwaway CA and certificates (EC P-256) in $d"
cd "$d"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.crt -days 90 \
	-subj "/CN=tlswrap demo CA" 2>/dev/null
for who in server client; do
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $who.key -out $who.csr \
		-subj "/CN=demo-$who" 2>/dev/null
done
echo "subjectAltName=DNS:localhost,IP:127.0.0.1" >server.ext
echo "extendedKeyUsage=clientAuth" >client.ext
for who in server client; do
	openssl x509 -req -in $who.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 90 -out $who.crt \
		-extfile $who.ext 2>/dev/null
done

backend=$(port) tls=$(port) plain=$(port)
echo "== 2. a plaintext echo backend on 127.0.0.1:$backend"
python3 "$here/integration/echo_server.py" "$backend" &
pids+=($!)

cat >demo.conf <<CONF
; client app -> [demo-client] plain :$plain -> TLS -> [demo-server] :$tls -> plain backend :$backend
foreground = yes
debug = notice

[demo-server]
accept = 127.0.0.1:$tls
connect = 127.0.0.1:$backend
cert = $d/server.crt
key = $d/server.key
CAfile = $d/ca.crt
; mutual TLS: the client must present a certificate from our CA
verifyChain = yes

[demo-client]
client = yes
accept = 127.0.0.1:$plain
connect = localhost:$tls
; verify the server's chain and its name (localhost) against our CA
CAfile = $d/ca.crt
cert = $d/client.crt
key = $d/client.key
CONF
echo "== 3. tlswrap with this configuration:"
sed 's/^/     /' demo.conf
"$TLSWRAP" --check demo.conf
"$TLSWRAP" demo.conf 2>tlswrap.log &
pids+=($!)
for _ in $(seq 100); do grep -q 'started, pid' tlswrap.log 2>/dev/null && break; sleep 0.05; done

echo "== 4. pushing 1 MiB through client -> TLS -> server -> backend and back"
python3 - "$plain" <<'PY'
import hashlib, os, socket, sys, time
data = os.urandom(1 << 20)
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
t0 = time.time()
s.sendall(data)
s.shutdown(socket.SHUT_WR)
got = bytearray()
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    got += chunk
ok = hashlib.sha256(got).digest() == hashlib.sha256(data).digest()
print(f"     sent {len(data)} bytes, received {len(got)} bytes back in {time.time()-t0:.2f}s: "
      f"{'identical' if ok else 'MISMATCH'}")
sys.exit(0 if ok else 1)
PY
for _ in $(seq 100); do [ "$(grep -c 'closed (' tlswrap.log)" -ge 2 ] && break; sleep 0.05; done

echo "== 5. what tlswrap logged"
sed 's/^/     /' tlswrap.log
echo "== 6. report"
est=$(grep 'demo-client.*established' tlswrap.log | head -1)
srv=$(grep 'demo-server.*established' tlswrap.log | head -1)
closed=$(grep 'demo-client.*closed' tlswrap.log | head -1)
[ -n "$est" ] && [ -n "$srv" ] && [ -n "$closed" ] || { echo "demo FAILED: no connection logged"; exit 1; }
read -r version suite <<<"$(sed -E 's/.*established ([^ ]+) ([^ ]+) .*/\1 \2/' <<<"$est")"
echo "     TLS version:             $version"
echo "     cipher suite:            $suite"
echo "     server verified by client: $(sed -E 's/.*peer="([^"]*)".*/\1/' <<<"$est")"
echo "     client verified by server: $(sed -E 's/.*peer="([^"]*)".*/\1/' <<<"$srv")"
echo "     bytes (client service):  $(sed -E 's/.*; (to_tls=[0-9]+ to_plain=[0-9]+) bytes.*/\1/' <<<"$closed")"
echo "demo OK"
