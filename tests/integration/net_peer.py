#!/usr/bin/env python3
"""Peers for test_compat_net.sh. An ADDR is HOST:PORT or a Unix socket path (starting with '/').

  named NAME ADDR...         backend: on each connection send "NAME PEER-ADDRESS\\n", then wait for the
                             client to close (Unix peers are shown as "unix")
  ask ADDR N [CAFILE]        N connections one after the other (TLS, verifying localhost against CAFILE,
                             when given); print each one's first line, or "ERR reason"
  hold ADDR CAFILE           TLS-connect, send a line, read its echo, print "held", then keep the
                             connection open until killed
  hammer PATH STOPFILE       connect to the Unix socket PATH and close, again and again until STOPFILE
                             exists; print "started" after the first connection, at the end "ok=N failed=M"
                             (M: connections refused or socket missing)
  stale PATH                 leave a socket file at PATH that nobody listens on
  blackhole HOST:PORT        a listener whose accept queue is full, so that new connections to it
                             time out (their SYNs are dropped)
"""
import os
import socket
import ssl
import sys
import threading
import time


def connect(addr, timeout=10):
    if addr.startswith("/"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect(addr)
        return s
    host, port = addr.rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=timeout)


def listen(addr):
    if addr.startswith("/"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(addr)
    else:
        host, port = addr.rsplit(":", 1)
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, int(port)))
    s.listen(128)
    return s


def named(name, addrs):
    def serve(conn, peer):
        with conn:
            who = peer[0] if isinstance(peer, tuple) else "unix"
            try:
                conn.sendall(f"{name} {who}\n".encode())
                conn.settimeout(30)
                while conn.recv(4096):
                    pass
            except OSError:
                pass

    def loop(srv):
        while True:
            conn, peer = srv.accept()
            threading.Thread(target=serve, args=(conn, peer), daemon=True).start()

    servers = [listen(a) for a in addrs]
    for srv in servers[1:]:
        threading.Thread(target=loop, args=(srv,), daemon=True).start()
    loop(servers[0])


def first_line(s):
    data = b""
    while not data.endswith(b"\n"):
        chunk = s.recv(200)
        if not chunk:
            break
        data += chunk
    return data.decode(errors="replace").strip() or "<nothing>"


def ask(addr, n, cafile=None):
    ctx = ssl.create_default_context(cafile=cafile) if cafile else None
    for _ in range(n):
        try:
            s = connect(addr)
            if ctx:
                s = ctx.wrap_socket(s, server_hostname="localhost")
            print(first_line(s), flush=True)
            s.close()
        except (OSError, ssl.SSLError) as e:
            print(f"ERR {e}", flush=True)
    return 0


def hold(addr, cafile):
    ctx = ssl.create_default_context(cafile=cafile)
    s = ctx.wrap_socket(connect(addr), server_hostname="localhost")
    s.sendall(b"hold me\n")
    line = first_line(s)
    print("held" if line == "hold me" else f"got {line!r}", flush=True)
    while True:
        time.sleep(60)


def hammer(path, stopfile):
    ok = failed = 0
    while not os.path.exists(stopfile):
        try:
            connect(path, timeout=5).close()
            ok += 1
            if ok == 1:
                print("started", flush=True)
        except OSError as e:
            failed += 1
            print(f"# {e}", flush=True)
        time.sleep(0.005)
    print(f"ok={ok} failed={failed}", flush=True)
    return 0


def stale(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(1)
    s.close()
    return 0


def blackhole(addr):
    host, port = addr.rsplit(":", 1)
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((host, int(port)))
    srv.listen(0)
    filler = socket.create_connection((host, int(port)), timeout=5)  # fills the queue: never accepted
    print("full", flush=True)
    while True:
        time.sleep(60)
    filler.close()


def main():
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "named":
        return named(args[0], args[1:])
    if mode == "ask":
        return ask(args[0], int(args[1]), args[2] if len(args) > 2 else None)
    if mode == "hold":
        return hold(args[0], args[1])
    if mode == "hammer":
        return hammer(args[0], args[1])
    if mode == "blackhole":
        return blackhole(args[0])
    if mode == "stale":
        return stale(args[0])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
