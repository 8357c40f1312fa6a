#!/usr/bin/env python3
"""Test client helpers, run as: tls_client.py MODE ARGS...

  bulk PORT MBYTES          send MBYTES of random data to a plain port, read the echo concurrently,
                            exit 0 when what came back is byte-identical
  tls PORT CAFILE [NAME]    TLS-connect (verifying against CAFILE for NAME), send a line, expect it echoed
  line PORT                 plain: send a line, exit 0 when it comes back echoed
  idle PORT SECONDS         connect, wait until the peer closes; print how long that took
  sniserver PORT CERT KEY OUT   TLS echo server recording each client's SNI name in OUT
  garbage PORT              send random non-TLS bytes, expect the connection closed
"""
import hashlib
import os
import socket
import ssl
import sys
import threading
import time


def bulk(port, mbytes):
    total = mbytes << 20
    seed = os.urandom(1 << 20)
    want = hashlib.sha256()
    got = hashlib.sha256()
    received = 0
    s = socket.create_connection(("127.0.0.1", port), timeout=60)

    def sender():
        for i in range(mbytes):
            block = hashlib.sha256(seed + i.to_bytes(4, "big")).digest() * (1 << 15)
            want.update(block)
            s.sendall(block)
        s.shutdown(socket.SHUT_WR)

    t = threading.Thread(target=sender)
    t.start()
    while True:
        chunk = s.recv(1 << 16)
        if not chunk:
            break
        got.update(chunk)
        received += len(chunk)
    t.join()
    ok = received == total and got.digest() == want.digest()
    print(f"sent {total} received {received} {'identical' if ok else 'DIFFERENT'}")
    return 0 if ok else 1


def tls(port, cafile, name="localhost"):
    ctx = ssl.create_default_context(cafile=cafile)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname=name) as s:
            s.sendall(b"ping over tls\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = s.recv(100)
                if not chunk:
                    break
                data += chunk
            print(s.version(), data)
            return 0 if data == b"ping over tls\n" else 1


def line(port):
    """Plain: send a line, print what comes back before the connection closes (or 10 s pass)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"hello through the tunnel\n")
    data = b""
    try:
        while not data.endswith(b"\n"):
            chunk = s.recv(100)
            if not chunk:
                break
            data += chunk
    except (ConnectionResetError, socket.timeout):
        pass
    print(data.decode(errors="replace").strip() or "<nothing>")
    return 0 if data == b"hello through the tunnel\n" else 1


def idle(port, seconds):
    s = socket.create_connection(("127.0.0.1", port), timeout=float(seconds))
    t0 = time.time()
    try:
        data = s.recv(100)
    except socket.timeout:
        print("still open")
        return 1
    print(f"closed after {time.time() - t0:.1f}s ({len(data)} bytes)")
    return 0


def sniserver(port, cert, key, out):
    """A TLS echo server that appends each client's SNI name (or <none>) to OUT."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)

    def record(sock, name, _ctx):
        with open(out, "a") as f:
            f.write(f"{name or '<none>'}\n")

    ctx.sni_callback = record
    srv = socket.create_server(("127.0.0.1", port))
    while True:
        raw, _ = srv.accept()
        try:
            with ctx.wrap_socket(raw, server_side=True) as s:
                while data := s.recv(65536):
                    s.sendall(data)
        except (OSError, ssl.SSLError):
            pass


def garbage(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"GET / HTTP/1.0\r\n\r\n" + os.urandom(4096))
    try:
        while s.recv(4096):
            pass
    except ConnectionResetError:
        pass
    print("closed by peer")
    return 0


if __name__ == "__main__":
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "bulk":
        sys.exit(bulk(int(args[0]), int(args[1])))
    if mode == "tls":
        sys.exit(tls(int(args[0]), *args[1:]))
    if mode == "line":
        sys.exit(line(int(args[0])))
    if mode == "idle":
        sys.exit(idle(int(args[0]), args[1]))
    if mode == "sniserver":
        sys.exit(sniserver(int(args[0]), *args[1:]))
    if mode == "garbage":
        sys.exit(garbage(int(args[0])))
    sys.exit(f"unknown mode {mode}")
